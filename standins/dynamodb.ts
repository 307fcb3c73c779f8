/**
 * DynamoDB for tests: dynalite (an in-memory DynamoDB engine) in this process on 127.0.0.1, OS-chosen port.
 * Conditional writes and ConditionalCheckFailedException behave as on AWS; TransactWriteItems is not served,
 * so the code under test must not need it. Tables become ACTIVE at once.
 *
 * dynalite is not ours, but what reaches it is: a model-checking front on its own loopback port reads every
 * request and answer against AWS's DynamoDB model (standins/model/), as the other stand-ins do, refuses a
 * request the model does not allow with DynamoDB's ValidationException, and forwards the rest to dynalite.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { rotationTableDefinition } from "../functions/adapters/rotation-store.ts";
import { serviceCheck } from "./model/checks.ts";
import type { Violation } from "./model/validate.ts";
import { AwsError, jsonError } from "./protocol.ts";

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
  const engine = await startDynaliteThread();
  const front = modelCheckingFront(engine.port);
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(0, "127.0.0.1", () => {
      front.off("error", reject);
      resolve();
    });
  });
  const { port: frontPort } = front.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const stop = (s: Server) =>
    new Promise<void>((resolve, reject) => {
      s.close((error?: Error) => (error ? reject(error) : resolve()));
      // Keep-alive sockets of SDK clients would hold the server open.
      s.closeIdleConnections();
    });
  return {
    endpoint: `http://127.0.0.1:${frontPort}`,
    close() {
      closed ??= stop(front).then(() => engine.close());
      return closed;
    },
  };
}

/**
 * dynalite on a thread of its own, listening on loopback. It answers through setImmediate callbacks, and
 * the durable test runner's time skipping installs fake timers on the main thread that run those only at
 * its 20 ms ticks (every table call took 40-60 ms there, 1-2 ms here); a worker's timers are its own.
 */
async function startDynaliteThread(): Promise<{ port: number; close(): Promise<void> }> {
  const worker = new Worker(DYNALITE_THREAD, {
    eval: true,
    workerData: { dynalite: createRequire(import.meta.url).resolve("dynalite") },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (message: { port?: number; error?: string }) => {
      worker.off("error", reject);
      if (message.port) resolve(message.port);
      else reject(new Error(`dynalite did not start: ${message.error}`));
    });
  });
  return {
    port,
    async close() {
      const closed = new Promise<void>((resolve) => worker.once("message", () => resolve()));
      worker.postMessage("close");
      await closed;
      await worker.terminate();
    },
  };
}

/** The worker's code (CommonJS, as dynalite is): start it, say the port, close on request. */
const DYNALITE_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const dynalite = require(workerData.dynalite);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once("error", (error) => parentPort.postMessage({ error: String(error) }));
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (message) => {
  if (message !== "close") return;
  server.close(() => parentPort.postMessage("closed"));
  // Keep-alive sockets of the front would hold the server open.
  server.closeIdleConnections();
});
`;

/**
 * Where dynalite's answers differ from AWS's model in table management only (the service never creates or
 * describes tables at run time: infra does), counted as known deviations rather than failures:
 * - TableId is not a UUID (dynalite's own format);
 * - ProvisionedThroughput.NumberOfDecreasesToday is 0 where the model says min 1 (AWS answers 0 too);
 * - TableThroughputModeSummary is a member dynalite sends that the model does not define.
 * Everything our code sends, and every item-level answer, is checked strictly.
 */
function isDynaliteQuirk(operation: string, violation: Violation): boolean {
  if (operation !== "CreateTable" && operation !== "DescribeTable") return false;
  return /(^|\.)(TableId|NumberOfDecreasesToday|TableThroughputModeSummary)$/.test(violation.path);
}

/** The model-checking front of dynalite: check, forward, check the answer. */
function modelCheckingFront(dynalitePort: number): Server {
  const check = serviceCheck("dynamodb");
  return createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.slice(target.lastIndexOf(".") + 1);
      const url = new URL(req.url ?? "/", "http://dynamodb");
      try {
        check.checkRequest(operation, "json", {
          method: req.method ?? "POST",
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: body.toString("utf8"),
        });
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        // DynamoDB names its validation error with the Coral namespace.
        const answer = jsonError(error);
        const type = `com.amazon.coral.validate#${error.code}`;
        res.writeHead(answer.status, { ...answer.headers, "x-amzn-errortype": type });
        res.end(JSON.stringify({ __type: type, message: error.message }));
        return;
      }
      const answer = await forward(dynalitePort, req, body);
      const text = answer.body.toString("utf8");
      if (answer.status === 200) {
        check.checkResponse(
          operation,
          "json",
          { status: 200, body: text },
          req.method ?? "POST",
          isDynaliteQuirk,
        );
      } else {
        const type = /"__type"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? "";
        check.checkError(operation, type.slice(type.indexOf("#") + 1), answer.status);
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(
  port: number,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = httpRequest(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        readAll(answer).then(
          (data) =>
            resolve({
              status: answer.statusCode ?? 500,
              headers: answer.headers as Record<string, string | string[]>,
              body: data,
            }),
          reject,
        );
      },
    );
    out.on("error", reject);
    out.end(body);
  });
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
