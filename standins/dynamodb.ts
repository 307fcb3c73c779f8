/**
 * DynamoDB for tests: dynalite (an in-memory DynamoDB engine) in this process on 127.0.0.1, OS-chosen port.
 * Conditional writes and ConditionalCheckFailedException behave as on AWS; TransactWriteItems is not served,
 * so the code under test must not need it. Tables become ACTIVE at once.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { rotationTableDefinition } from "../functions/adapters/rotation-store.ts";

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
  /** A LevelDB directory; in memory when absent. */
  path?: string;
}

// dynalite is CommonJS without type declarations: load it through require with the one signature used here.
const dynalite = createRequire(import.meta.url)("dynalite") as (options: DynaliteOptions) => Server;

/** The stand-ins' credentials (STANDIN_CREDENTIALS in ./index.ts, repeated to keep this module standalone). */
export const DYNAMODB_STANDIN_CREDENTIALS = {
  accessKeyId: "AKIASTANDIN000000000",
  secretAccessKey: "standin-secret",
};

export interface DynamoDbStandin {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  close(): Promise<void>;
}

export async function startDynamoDb(): Promise<DynamoDbStandin> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets of SDK clients would hold the server open.
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

/** A real DynamoDB client for the stand-in, configured as the stand-ins' other clients are. */
export function dynamoDbClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    region: "us-east-1",
    endpoint,
    credentials: DYNAMODB_STANDIN_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  });
}

/** Create the rotation table (the key schema the store and the infra share) and wait until it is ACTIVE. */
export async function createRotationTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(rotationTableDefinition(tableName)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const table = out.Table;
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
    if (table?.TableStatus === "ACTIVE" && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is not ACTIVE after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
