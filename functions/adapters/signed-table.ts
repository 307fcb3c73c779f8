/**
 * TableReads over DynamoDB's JSON API (AWS JSON 1.0: `POST /`, `X-Amz-Target: DynamoDB_20120810.<Operation>`,
 * `Content-Type: application/x-amz-json-1.0`; DynamoDB developer guide, "DynamoDB low-level API"), signed
 * with SigV4 by the SDK's own signer (sigv4.ts) and sent with node:https (keep-alive). The read-only API
 * routes read the table with it, so they bundle no SDK client: about 100 KB instead of about 300 KB, and an
 * import about twice an empty handler's instead of three times (reports/bench-lambdas.md). Not `fetch`:
 * Node loads its fetch implementation (undici) on first use, about 20 ms of every cold start.
 *
 * What the SDK client did for those routes and this module does the same way:
 * - values are converted with `@aws-sdk/util-dynamodb` (`marshall` with removeUndefinedValues, `unmarshall`
 *   to JS numbers, refusing numbers JS cannot hold exactly): the document client's own converters;
 * - retries: at most `maxAttempts` attempts (default 5, as clientConfig) on throttling codes, 5xx, 429,
 *   network errors and timeouts, with full-jitter exponential backoff (100 ms base, 500 ms when throttled,
 *   20 s cap: the SDK's standard retry strategy);
 * - each attempt is aborted after `requestTimeoutMs` (default 10 s);
 * - an error answer becomes an error whose `name` is DynamoDB's code (`ValidationException`, ...), as an SDK
 *   error's is, so the stores read it the same way. DynamoDB answers errors as `{"__type":
 *   "com.amazonaws.dynamodb.v20120810#<Code>", "message": ...}` and names the codes that are OK to retry
 *   (ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException, LimitExceededException,
 *   InternalServerError, ServiceUnavailable): "Error handling with DynamoDB",
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 * Credentials: the execution role's, from the environment Lambda sets (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), read on each call; tests pass the stand-ins'.
 */
import type { Agent, IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AdapterError } from "./errors.ts";
import { type AwsCredentials, signedHeaders } from "./sigv4.ts";
import type { Item, TablePage, TableQuery, TableReads, TableWrites } from "./table-reads.ts";

export interface SignedTableOptions {
  tableName: string;
  region: string;
  /** Another endpoint than `https://dynamodb.<region>.amazonaws.com` (the local stand-in). */
  endpoint?: string;
  /** The environment's (Lambda's execution role) when absent. */
  credentials?: AwsCredentials;
  /** Attempts per call, the first included. Default 5. */
  maxAttempts?: number;
  /** Per attempt. Default 10 s. */
  requestTimeoutMs?: number;
  /** Backoff between attempts; `setTimeout` when absent (tests pass their own). */
  sleep?: (ms: number) => Promise<void>;
}

/** DynamoDB refused a read, or could not be reached: `name` is DynamoDB's error code. */
export class TableReadError extends AdapterError {
  override name: string;
  /** The HTTP status of DynamoDB's answer; absent when none came. */
  readonly status: number | undefined;
  constructor(
    code: string,
    message: string,
    options: { status?: number; retryable: boolean; cause?: unknown },
  ) {
    super(message, { retryable: options.retryable, cause: options.cause });
    this.name = code;
    this.status = options.status;
  }
}

/** Error codes DynamoDB answers when the same call may succeed later (besides any 5xx). */
const THROTTLING_CODES = new Set([
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "ThrottlingException",
  "LimitExceededException",
  "Throttling",
  "TooManyRequestsException",
]);
const TRANSIENT_CODES = new Set(["InternalServerError", "ServiceUnavailable", "RequestTimeout"]);

const BASE_DELAY_MS = 100;
const THROTTLED_BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

const CONVERT = { removeUndefinedValues: true } as const;

/** The execution role's credentials as Lambda sets them in the environment. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    const missing = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].filter((name) => !env[name]);
    throw new TableReadError(
      "CredentialsMissing",
      `no AWS credentials in the environment (${missing.join(", ")} unset): Lambda sets them from the ` +
        "execution role",
      { retryable: false },
    );
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

export class SignedTable implements TableReads, TableWrites {
  readonly #options: SignedTableOptions;
  readonly #url: string;

  constructor(options: SignedTableOptions) {
    if (!options.tableName)
      throw new TableReadError("InvalidConfiguration", "no table name", { retryable: false });
    if (!options.region) throw new TableReadError("InvalidConfiguration", "no region", { retryable: false });
    this.#options = options;
    this.#url = new URL("/", options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com`).href;
  }

  async getItem(key: Item, options: { consistentRead?: boolean } = {}): Promise<Item | undefined> {
    const answer = await this.#call("GetItem", {
      TableName: this.#options.tableName,
      Key: marshall(key, CONVERT),
      ...(options.consistentRead !== undefined ? { ConsistentRead: options.consistentRead } : {}),
    });
    return isObject(answer.Item) ? unmarshall(answer.Item as never) : undefined;
  }

  async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.#call("PutItem", {
        TableName: this.#options.tableName,
        Item: marshall(item, CONVERT),
        ConditionExpression: "attribute_not_exists(pk)",
      });
      return true;
    } catch (error) {
      if (error instanceof TableReadError && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  async deleteIfHeld(key: Item, name: string, value: string): Promise<boolean> {
    try {
      await this.#call("DeleteItem", {
        TableName: this.#options.tableName,
        Key: marshall(key, CONVERT),
        ConditionExpression: "#held = :value",
        ExpressionAttributeNames: { "#held": name },
        ExpressionAttributeValues: marshall({ ":value": value }, CONVERT),
      });
      return true;
    } catch (error) {
      if (error instanceof TableReadError && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  async query(query: TableQuery): Promise<TablePage> {
    const { ExpressionAttributeValues, ExclusiveStartKey, ...rest } = query;
    const answer = await this.#call("Query", {
      TableName: this.#options.tableName,
      ...rest,
      ...(ExpressionAttributeValues
        ? { ExpressionAttributeValues: marshall(ExpressionAttributeValues, CONVERT) }
        : {}),
      ...(ExclusiveStartKey ? { ExclusiveStartKey: marshall(ExclusiveStartKey, CONVERT) } : {}),
    });
    const items = Array.isArray(answer.Items) ? answer.Items.map((item) => unmarshall(item as never)) : [];
    return {
      items,
      ...(isObject(answer.LastEvaluatedKey) ? { lastKey: unmarshall(answer.LastEvaluatedKey as never) } : {}),
    };
  }

  /** One operation, with retries; its answer's JSON object. */
  async #call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const attempts = Math.max(1, this.#options.maxAttempts ?? 5);
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt += 1) {
      let failure: TableReadError;
      try {
        return await this.#attempt(operation, body);
      } catch (error) {
        if (!(error instanceof TableReadError)) throw error;
        failure = error;
      }
      if (!failure.retryable || attempt >= attempts) throw failure;
      const base = THROTTLING_CODES.has(failure.name) ? THROTTLED_BASE_DELAY_MS : BASE_DELAY_MS;
      await (this.#options.sleep ?? delay)(Math.random() * Math.min(MAX_DELAY_MS, base * 2 ** (attempt - 1)));
    }
  }

  async #attempt(operation: string, body: string): Promise<Record<string, unknown>> {
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    const headers = await signedHeaders(
      {
        method: "POST",
        url: this.#url,
        body,
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": `DynamoDB_20120810.${operation}`,
        },
      },
      {
        service: "dynamodb",
        region: this.#options.region,
        credentials: this.#options.credentials ?? environmentCredentials(),
      },
    );
    let answer: { status: number; text: string };
    try {
      answer = await post(this.#url, headers, body, timeoutMs);
    } catch (error) {
      const timedOut = error instanceof RequestTimeout;
      throw new TableReadError(
        timedOut ? "RequestTimeout" : "NetworkingError",
        timedOut
          ? `DynamoDB ${operation} did not answer within ${timeoutMs} ms`
          : `DynamoDB ${operation} could not be reached: ${error instanceof Error ? error.message : String(error)}`,
        { retryable: true, cause: error },
      );
    }
    const { status, text } = answer;
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch (error) {
      throw new TableReadError(
        "MalformedAnswer",
        `DynamoDB ${operation} answered ${status} with a body that is not JSON`,
        { status, retryable: status >= 500, cause: error },
      );
    }
    const document = isObject(parsed) ? parsed : {};
    if (status >= 200 && status < 300) return document;
    // `__type` is "<namespace>#<Code>"; the message is `message` or `Message`.
    const type = typeof document.__type === "string" ? document.__type : "";
    const code = type.slice(type.lastIndexOf("#") + 1) || `Http${status}`;
    const message =
      typeof document.message === "string"
        ? document.message
        : typeof document.Message === "string"
          ? document.Message
          : "";
    throw new TableReadError(code, `DynamoDB ${operation}: ${code}${message ? `: ${message}` : ""}`, {
      status,
      retryable: status >= 500 || status === 429 || THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code),
    });
  }
}

/** Connections kept open between invocations of a warm function. */
const HTTPS_AGENT = new HttpsAgent({ keepAlive: true });

/**
 * Plain HTTP, for a local stand-in's endpoint only: loaded on first use, because importing node:http loads
 * Node's fetch implementation (undici) too, about 20 ms of every cold start (the SDK defers it the same way).
 */
let plainHttp: Promise<{ request: typeof httpsRequest; agent: Agent }> | undefined;
function loadPlainHttp(): Promise<{ request: typeof httpsRequest; agent: Agent }> {
  plainHttp ??= import("node:http").then((http) => ({
    request: http.request,
    agent: new http.Agent({ keepAlive: true }),
  }));
  return plainHttp;
}

class RequestTimeout extends Error {
  override name = "RequestTimeout";
}

/** One POST, connection to last byte within `timeoutMs`: its status and body. */
async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const { request: send, agent } =
    target.protocol === "http:" ? await loadPlainHttp() : { request: httpsRequest, agent: HTTPS_AGENT };
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, agent },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
        response.on("end", () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    const timer = setTimeout(
      () => request.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
