/**
 * The DynamoDB stand-in (dynalite in-process) through the real `@aws-sdk/client-dynamodb`: it starts on a
 * loopback port, the rotation table comes up ACTIVE with its index, conditional writes are refused with
 * ConditionalCheckFailedException, transactions are not served, and close() really stops it.
 */
import {
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { awsErrorName } from "../../functions/adapters/errors.ts";
import { ROTATION_TABLE } from "../../functions/adapters/rotation-reads.ts";
import {
  createRotationTable,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";

const opened: Array<{ standin: DynamoDbStandin; client: DynamoDBClient }> = [];

async function start(): Promise<{ standin: DynamoDbStandin; client: DynamoDBClient }> {
  const standin = await startDynamoDb();
  const client = dynamoDbClient(standin.endpoint, { maxAttempts: 1 });
  opened.push({ standin, client });
  return { standin, client };
}

afterAll(async () => {
  for (const { standin, client } of opened) {
    client.destroy();
    await standin.close();
  }
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("DynamoDB stand-in", () => {
  it("listens on 127.0.0.1 with an OS-chosen port; two instances do not share a port or data", async () => {
    const a = await start();
    const b = await start();
    expect(a.standin.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(a.standin.endpoint).not.toBe(b.standin.endpoint);
    await createRotationTable(a.client, "only-in-a");
    const error = await errorOf(b.client.send(new DescribeTableCommand({ TableName: "only-in-a" })));
    expect(awsErrorName(error)).toBe("ResourceNotFoundException");
  });

  it("creates the rotation table ACTIVE with the store's key schema and its list index", async () => {
    const { client } = await start();
    await createRotationTable(client, "rotations");
    const table = (await client.send(new DescribeTableCommand({ TableName: "rotations" }))).Table!;
    expect(table.TableStatus).toBe("ACTIVE");
    expect(table.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(table.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    const index = table.GlobalSecondaryIndexes?.[0];
    expect(index?.IndexName).toBe(ROTATION_TABLE.listIndex.name);
    expect(index?.IndexStatus).toBe("ACTIVE");
    expect(index?.KeySchema).toEqual([
      { AttributeName: "gsi1pk", KeyType: "HASH" },
      { AttributeName: "gsi1sk", KeyType: "RANGE" },
    ]);
    expect(index?.Projection?.ProjectionType).toBe("INCLUDE");
  });

  it("[dynamodb.conditional-write] refuses a conditional write whose condition fails and keeps the item as it was", async () => {
    const { client } = await start();
    await createRotationTable(client, "conditions");
    const put = (owner: string) =>
      client.send(
        new PutItemCommand({
          TableName: "conditions",
          Item: { pk: { S: "CERT#a" }, sk: { S: "LOCK" }, owner: { S: owner } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await put("first");
    const error = await errorOf(put("second"));
    expect(awsErrorName(error)).toBe("ConditionalCheckFailedException");
    const item = await client.send(
      new GetItemCommand({ TableName: "conditions", Key: { pk: { S: "CERT#a" }, sk: { S: "LOCK" } } }),
    );
    expect(item.Item?.owner).toEqual({ S: "first" });
  });

  it("[dynamodb.no-transact-write] does not serve TransactWriteItems (the store must not need it)", async () => {
    const { client } = await start();
    await createRotationTable(client, "transactions");
    const error = await errorOf(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: "transactions", Item: { pk: { S: "a" }, sk: { S: "b" } } } }],
        }),
      ),
    );
    expect(awsErrorName(error)).toBe("UnknownOperationException");
  });

  it("close() stops the server: later calls cannot connect, and closing again is harmless", async () => {
    const standin = await startDynamoDb();
    const client = dynamoDbClient(standin.endpoint, { maxAttempts: 1 });
    try {
      await createRotationTable(client, "closing");
      await standin.close();
      await standin.close();
      const fresh = dynamoDbClient(standin.endpoint, { maxAttempts: 1 });
      try {
        const error = await errorOf(fresh.send(new DescribeTableCommand({ TableName: "closing" })));
        expect((error as { code?: string }).code).toBe("ECONNREFUSED");
      } finally {
        fresh.destroy();
      }
    } finally {
      client.destroy();
    }
  });
});
