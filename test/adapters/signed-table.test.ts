/**
 * The read routes' DynamoDB transport (signed-table.ts). Against dynalite behind its model-checking
 * front (every request and answer checked against AWS's DynamoDB model): the stores' reads through the
 * signed transport answer exactly what they answer through the SDK's document client, over the same items.
 * Against a loopback server of the test's own: the signature's scope and signed headers, DynamoDB's error
 * codes as error names, which answers are retried and how often, the per-attempt timeout, credentials.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InventoryReads } from "../../functions/adapters/inventory-reads.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { InvalidNextTokenError, RotationReads } from "../../functions/adapters/rotation-reads.ts";
import {
  documentTableWrites,
  RotationStore,
  toDocumentClient,
} from "../../functions/adapters/rotation-store.ts";
import {
  environmentCredentials,
  SignedTable,
  TableReadError,
} from "../../functions/adapters/signed-table.ts";
import type { RotationEvent } from "../../functions/core/rotation.ts";
import type { InventoryRecord } from "../../functions/core/tracking.ts";
import {
  createRotationTable,
  DYNAMODB_STANDIN_CREDENTIALS,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";
import { recordAll } from "../support/rotation-history.ts";

const TABLE = "rotations";
const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-origin-mtls";

let dynamo: DynamoDbStandin;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 });
  await createRotationTable(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

function signedReads(options: { tableName?: string } = {}): SignedTable {
  return new SignedTable({
    tableName: options.tableName ?? TABLE,
    region: "us-east-1",
    endpoint: dynamo.endpoint,
    credentials: DYNAMODB_STANDIN_CREDENTIALS,
    maxAttempts: 1,
  });
}

function events(n: number, certificateArn: string, day: number): RotationEvent[] {
  const at = (minute: number) => new Date(Date.UTC(2026, 2, day, 9, minute)).toISOString();
  const started: RotationEvent = {
    type: "started",
    at: at(0),
    request: { certificateArn, serial: "0a:1b:2c", reason: `renewal ${n} — ünïcode ✓`, actor: "scheduler" },
  };
  if (n % 3 === 0) return [started, { type: "failed", at: at(1), reason: "Unexpected", detail: "boom" }];
  return [started];
}

function inventoryRecord(i: number): InventoryRecord {
  return {
    arn: `arn:aws:acm:us-east-1:111122223333:certificate/${String(i).padStart(4, "0")}`,
    serial: `0${i}:ab`,
    subject: `CN=origin-${i}`,
    issuer: "CN=Issuing CA",
    keyAlgorithm: "EC_prime256v1",
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2026-07-01T00:00:00.000Z",
    managed: i % 2 === 0,
    usage: [{ distributionId: `E${i}`, originId: "api" }],
    decision: { reason: "Fresh", message: "renews in 60 days" },
    alerted: i % 4 === 0 ? [30, 7] : [],
    lastSeenAt: "2026-03-01T00:00:00.000Z",
  };
}

describe("the stores' reads through signed requests, next to the SDK's document client", () => {
  const sdk = () => new RotationStore(client, { tableName: TABLE, historyPageSize: 2 });
  const signed = () => new RotationReads(signedReads(), { historyPageSize: 2 });

  beforeAll(async () => {
    const store = sdk();
    for (let n = 1; n <= 7; n += 1) await recordAll(store, `rot-${n}`, events(n, `${CERT}-${n}`, n));
    await store.setControl("rot-2", { callbackId: "cb-2", kind: "approval", wave: 1 });
    await store.acquireLock(`${CERT}-2`, "rot-2");
    await new InventoryStore(client, { tableName: TABLE }).putMany(
      Array.from({ length: 30 }, (_, i) => inventoryRecord(i)),
    );
  });

  it("a rotation, its history (paged), its control item, its status; and what is not there", async () => {
    for (const id of ["rot-2", "rot-3", "rot-missing"]) {
      expect(await signed().get(id)).toEqual(await sdk().get(id));
      expect(await signed().history(id)).toEqual(await sdk().history(id));
      expect(await signed().getControl(id)).toEqual(await sdk().getControl(id));
      expect(await signed().statusOf(id)).toEqual(await sdk().statusOf(id));
    }
    expect((await signed().history("rot-3")).map((e) => e.type)).toEqual(["started", "failed"]);
    expect(await signed().getControl("rot-2")).toEqual({ callbackId: "cb-2", kind: "approval", wave: 1 });
    expect(await signed().activeRotationFor(`${CERT}-2`)).toBe("rot-2");
    expect(await signed().activeRotationFor(`${CERT}-1`)).toBeUndefined();
  });

  it("the listing, page by page with its tokens, with and without a status filter", async () => {
    for (const status of [undefined, "failed", "started"] as const) {
      const pages: unknown[][] = [[], []];
      for (const [k, reads] of [sdk(), signed()].entries()) {
        let nextToken: string | undefined;
        do {
          const page = await reads.list({
            limit: 2,
            ...(status ? { status } : {}),
            ...(nextToken ? { nextToken } : {}),
          });
          pages[k]!.push(page.rotations);
          nextToken = page.nextToken;
        } while (nextToken);
      }
      expect(pages[1]).toEqual(pages[0]);
      expect(pages[1]!.flat().length).toBe(status === "failed" ? 2 : status === "started" ? 5 : 7);
    }
    // A token from the SDK-backed listing is good for the signed one: same position, same encoding.
    const first = await sdk().list({ limit: 3 });
    expect(await signed().list({ limit: 3, nextToken: first.nextToken! })).toEqual(
      await sdk().list({ limit: 3, nextToken: first.nextToken! }),
    );
  });

  it("a start key that belongs to no index position: DynamoDB's ValidationException, read as a bad token", async () => {
    const foreign = Buffer.from(
      // Well-formed, but a sort key over DynamoDB's 1,024 bytes: DynamoDB refuses the start key.
      JSON.stringify({ gsi1pk: "ROTATION", gsi1sk: "x".repeat(2_000), pk: "ROT#x", sk: "STATE" }),
    ).toString("base64url");
    await expect(signed().list({ nextToken: foreign })).rejects.toBeInstanceOf(InvalidNextTokenError);
  });

  it("the whole inventory", async () => {
    const viaSdk = await new InventoryStore(client, { tableName: TABLE }).loadAll();
    const viaSigned = await new InventoryReads(signedReads()).loadAll();
    expect(viaSigned.size).toBe(30);
    expect([...viaSigned]).toEqual([...viaSdk]);
  });

  it("a table that does not exist: DynamoDB's code as the error's name, not retried", async () => {
    const error = await signedReads({ tableName: "no-such-table" })
      .getItem({ pk: "x", sk: "y" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TableReadError);
    expect((error as TableReadError).name).toBe("ResourceNotFoundException");
    expect((error as TableReadError).status).toBe(400);
    expect((error as TableReadError).retryable).toBe(false);
  });
});

/** A loopback server answering each request with the next of `answers` (the last one repeats). */
interface Seen {
  headers: IncomingMessage["headers"];
  body: string;
}
type Answer = { status: number; body: string } | "hang";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(answers: Answer[]): Promise<{ endpoint: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      if (answer === "hang") return;
      res.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0" });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

const error = (code: string, message = "refused") =>
  JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, message });

function readsAt(endpoint: string, options: { maxAttempts?: number; requestTimeoutMs?: number } = {}) {
  const sleeps: number[] = [];
  const reads = new SignedTable({
    tableName: "t",
    region: "eu-west-1",
    endpoint,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session-token" },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { reads, sleeps };
}

describe("deleteIfHeld: a conditional delete, signed and through the document client alike", () => {
  it("deletes only while the attribute holds the value; false (nothing deleted) otherwise", async () => {
    for (const [name, writes] of [
      ["signed", signedReads()],
      ["document client", documentTableWrites(toDocumentClient(client), TABLE)],
    ] as const) {
      const key = { pk: `VDOM#held-${name.replace(" ", "-")}`, sk: "LOCK" };
      expect(await signedReads().putIfAbsent({ ...key, migrationId: "m-1" })).toBe(true);
      expect(await writes.deleteIfHeld(key, "migrationId", "m-2"), name).toBe(false);
      expect(await signedReads().getItem(key, { consistentRead: true }), name).toMatchObject({
        migrationId: "m-1",
      });
      expect(await writes.deleteIfHeld(key, "migrationId", "m-1"), name).toBe(true);
      expect(await signedReads().getItem(key, { consistentRead: true }), name).toBeUndefined();
      // Nothing there any more: nothing held, nothing deleted.
      expect(await writes.deleteIfHeld(key, "migrationId", "m-1"), name).toBe(false);
    }
  });
});

describe("requests and answers", () => {
  it("signs for dynamodb in the table's region, the target, content type and session token included", async () => {
    const { endpoint, seen } = await serve([
      { status: 200, body: JSON.stringify({ Item: { pk: { S: "a" }, n: { N: "7" } } }) },
    ]);
    const { reads } = readsAt(endpoint);
    expect(await reads.getItem({ pk: "a", sk: "b" }, { consistentRead: true })).toEqual({ pk: "a", n: 7 });
    const { headers, body } = seen[0]!;
    expect(headers["x-amz-target"]).toBe("DynamoDB_20120810.GetItem");
    expect(headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(headers["x-amz-security-token"]).toBe("session-token");
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[^,]*\bcontent-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target\b[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(body)).toEqual({
      TableName: "t",
      Key: { pk: { S: "a" }, sk: { S: "b" } },
      ConsistentRead: true,
    });
  });

  it("retries 5xx, 429 and throttling with growing backoff, then answers", async () => {
    const { endpoint, seen } = await serve([
      { status: 500, body: error("InternalServerError") },
      { status: 400, body: error("ThrottlingException") },
      { status: 400, body: error("ProvisionedThroughputExceededException") },
      { status: 429, body: "" },
      { status: 200, body: JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }) },
    ]);
    const { reads, sleeps } = readsAt(endpoint);
    expect(
      await reads.query({ KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": "x" } }),
    ).toEqual({
      items: [],
    });
    expect(seen).toHaveLength(5);
    expect(sleeps).toHaveLength(4);
    // Full jitter under a cap that doubles: 100 ms, then 500 ms bases for throttling.
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(1000);
    expect(sleeps[2]).toBeLessThanOrEqual(2000);
  });

  it("gives up after maxAttempts with the last error, still marked retryable", async () => {
    const { endpoint, seen } = await serve([{ status: 503, body: error("ServiceUnavailable", "later") }]);
    const { reads } = readsAt(endpoint, { maxAttempts: 3 });
    const failure = await reads.getItem({ pk: "a" }).catch((e: unknown) => e);
    expect(seen).toHaveLength(3);
    expect(failure).toMatchObject({ name: "ServiceUnavailable", status: 503, retryable: true });
    expect((failure as Error).message).toBe("DynamoDB GetItem: ServiceUnavailable: later");
  });

  it("does not retry a refusal (ValidationException, AccessDenied, expired credentials)", async () => {
    for (const code of ["ValidationException", "AccessDeniedException", "ExpiredTokenException"]) {
      const { endpoint, seen } = await serve([{ status: 400, body: error(code) }]);
      const failure = await readsAt(endpoint)
        .reads.getItem({ pk: "a" })
        .catch((e: unknown) => e);
      expect(seen, code).toHaveLength(1);
      expect(failure, code).toMatchObject({ name: code, retryable: false });
      server!.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it("an answer that is not JSON: MalformedAnswer, retried only when it is a 5xx", async () => {
    const { endpoint, seen } = await serve([
      { status: 502, body: "<html>bad gateway</html>" },
      { status: 200, body: "{}" },
    ]);
    expect(await readsAt(endpoint).reads.getItem({ pk: "a" })).toBeUndefined();
    expect(seen).toHaveLength(2);
  });

  it("aborts an attempt after requestTimeoutMs and retries it; a network failure too", async () => {
    const { endpoint, seen } = await serve(["hang"]);
    const started = Date.now();
    const failure = await readsAt(endpoint, { requestTimeoutMs: 150, maxAttempts: 2 })
      .reads.getItem({ pk: "a" })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: "RequestTimeout", retryable: true });
    expect(seen).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_000);

    const refused = await readsAt("http://127.0.0.1:9", { maxAttempts: 2 })
      .reads.getItem({ pk: "a" })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "NetworkingError", retryable: true });
  });
});

describe("credentials", () => {
  it("are the execution role's from the environment, the session token included", () => {
    expect(
      environmentCredentials({
        AWS_ACCESS_KEY_ID: "AKID",
        AWS_SECRET_ACCESS_KEY: "s",
        AWS_SESSION_TOKEN: "t",
      }),
    ).toEqual({ accessKeyId: "AKID", secretAccessKey: "s", sessionToken: "t" });
  });

  it("without credentials given, each call signs with the environment's, as Lambda sets them", async () => {
    const { endpoint, seen } = await serve([{ status: 200, body: "{}" }]);
    const reads = new SignedTable({ tableName: "t", region: "eu-west-1", endpoint });
    try {
      vi.stubEnv("AWS_ACCESS_KEY_ID", "ASIAFROMTHEROLE");
      vi.stubEnv("AWS_SECRET_ACCESS_KEY", "role-secret");
      vi.stubEnv("AWS_SESSION_TOKEN", "role-session");
      await reads.getItem({ pk: "a" });
      vi.stubEnv("AWS_ACCESS_KEY_ID", "ASIAREFRESHED");
      await reads.getItem({ pk: "a" });
      vi.stubEnv("AWS_SECRET_ACCESS_KEY", "");
      await expect(reads.getItem({ pk: "a" })).rejects.toMatchObject({ name: "CredentialsMissing" });
    } finally {
      vi.unstubAllEnvs();
    }
    expect(seen.map((r) => /Credential=(\w+)\//.exec(String(r.headers.authorization))?.[1])).toEqual([
      "ASIAFROMTHEROLE",
      "ASIAREFRESHED",
    ]);
    expect(seen[0]!.headers["x-amz-security-token"]).toBe("role-session");
  });

  it("missing ones are named, never retried, and nothing is sent", async () => {
    const failure = (() => {
      try {
        environmentCredentials({ AWS_ACCESS_KEY_ID: "AKID" });
      } catch (e) {
        return e;
      }
    })();
    expect(failure).toMatchObject({ name: "CredentialsMissing", retryable: false });
    expect((failure as Error).message).toContain("AWS_SECRET_ACCESS_KEY unset");
    expect((failure as Error).message).not.toContain("AKID");
  });
});
