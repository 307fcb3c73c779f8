/**
 * CloudFront KeyValueStore data plane (service `cloudfront-keyvaluestore`, REST-JSON): DescribeKeyValueStore,
 * GetKey, ListKeys, PutKey, DeleteKey, UpdateKeys on stores created with `createStore` (the control plane,
 * CreateKeyValueStore, belongs to CloudFront's own API and is not served here). The edge reads the same
 * in-memory stores through `edgeReader`, which is what a connection function's `cf.kvs()` sees in the tests
 * (test/support/connection-function.ts).
 *
 * Routing: it claims every path under `/key-value-stores/` (no other stand-in serves one). It does not check
 * signatures, so it accepts the SigV4A requests AWS wants as well as the SigV4 ones the tests send.
 *
 * Rules enforced beyond the model (docs/aws-behaviour.md, "CloudFront KeyValueStore"):
 * - Every write (PutKey, DeleteKey, UpdateKeys) needs `If-Match` (required by the model) equal to the
 *   store's current ETag, else 409 ConflictException and nothing changes; every accepted write yields a new
 *   ETag, answered in the `ETag` header (also by DescribeKeyValueStore).
 * - Keys at most 512 bytes and values at most 1,024 bytes (UTF-8) -> 400 ValidationException; a store at
 *   most 5 MB of keys and values -> 402 ServiceQuotaExceededException, nothing changes.
 * - UpdateKeys applies its puts and deletes all or nothing; a key both put and deleted -> 400.
 * - An unknown store, and GetKey / DeleteKey of a key the store does not hold -> 404
 *   ResourceNotFoundException.
 * - ListKeys pages in key order, `MaxResults` (1..50, the model's) defaulting to 10 (assumed).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ACCOUNT_ID, AwsError, notImplemented, restJsonError } from "./protocol.ts";
import type { WireRequest, WireResponse, WireService } from "./server.ts";

/** Documented limits of key-value pairs (the import file's, applied to every write). */
export const KVS_MAX_KEY_BYTES = 512;
export const KVS_MAX_VALUE_BYTES = 1024;
export const KVS_MAX_STORE_BYTES = 5 * 1024 * 1024;
const LIST_DEFAULT_MAX_RESULTS = 10;

const STORE_PATH = /^\/key-value-stores\/([^/]+)(\/keys(?:\/([^/]+))?)?\/?$/;

interface Store {
  arn: string;
  name: string;
  created: Date;
  lastModified: Date;
  etag: string;
  items: Map<string, string>;
}

/** What the edge sees of a store: the `cf.kvs()` handle of the cloudfront-js-2.0 runtime. */
export interface EdgeKeyValueReader {
  exists(key: string): Promise<boolean>;
  get(key: string): Promise<string>;
}

export interface KeyValueStoreStandinOptions {
  now?: () => Date;
}

export class KeyValueStoreStandin implements WireService {
  readonly service = "cloudfront-keyvaluestore";
  readonly #stores = new Map<string, Store>();
  readonly #now: () => Date;

  constructor(options: KeyValueStoreStandinOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  /** Creates an empty store (as CloudFront's CreateKeyValueStore would) and answers its ARN. */
  createStore(name: string): string {
    const arn = `arn:aws:cloudfront::${ACCOUNT_ID}:key-value-store/${randomUUID()}`;
    const now = this.#now();
    this.#stores.set(arn, { arn, name, created: now, lastModified: now, etag: newEtag(), items: new Map() });
    return arn;
  }

  /** The store's keys, sorted. */
  keys(arn: string): string[] {
    return [...this.#get(arn).items.keys()].sort();
  }

  etag(arn: string): string {
    return this.#get(arn).etag;
  }

  /** The store as an edge location reads it (a connection function's `cf.kvs()`). */
  edgeReader(arn: string): EdgeKeyValueReader {
    const store = this.#get(arn);
    return {
      exists: async (key) => store.items.has(key),
      get: async (key) => {
        const value = store.items.get(key);
        if (value === undefined) throw new Error(`Key ${key} not found`);
        return value;
      },
    };
  }

  // ---- WireService --------------------------------------------------------------------------------------

  operationFor(request: WireRequest): string | undefined {
    const match = STORE_PATH.exec(request.path);
    if (!match) return undefined;
    const [, , keys, key] = match;
    if (!keys) return request.method === "GET" ? "DescribeKeyValueStore" : "Unsupported";
    if (key === undefined) {
      if (request.method === "GET") return "ListKeys";
      return request.method === "POST" ? "UpdateKeys" : "Unsupported";
    }
    if (request.method === "GET") return "GetKey";
    if (request.method === "PUT") return "PutKey";
    return request.method === "DELETE" ? "DeleteKey" : "Unsupported";
  }

  handle(operation: string, request: WireRequest): WireResponse {
    const match = STORE_PATH.exec(request.path);
    const store = this.#get(decodeURIComponent(match?.[1] ?? ""));
    const key = match?.[3] === undefined ? "" : decodeURIComponent(match[3]);
    switch (operation) {
      case "DescribeKeyValueStore":
        return answer(
          {
            ItemCount: store.items.size,
            TotalSizeInBytes: sizeOf(store.items),
            KvsARN: store.arn,
            Created: store.created.getTime() / 1000,
            LastModified: store.lastModified.getTime() / 1000,
            Status: "READY",
          },
          store.etag,
        );
      case "GetKey": {
        const value = store.items.get(key);
        if (value === undefined) throw notFound(`Key ${key} not found`);
        return answer({
          Key: key,
          Value: value,
          ItemCount: store.items.size,
          TotalSizeInBytes: sizeOf(store.items),
        });
      }
      case "ListKeys":
        return answer(listPage(store, request.query));
      case "PutKey": {
        const value = parseBody(request).Value;
        return this.#write(store, request, [[key, typeof value === "string" ? value : ""]], []);
      }
      case "DeleteKey":
        if (!store.items.has(key)) throw notFound(`Key ${key} not found`);
        return this.#write(store, request, [], [key]);
      case "UpdateKeys": {
        const body = parseBody(request);
        const puts = listOf(body.Puts).map((p): [string, string] => [String(p.Key), String(p.Value)]);
        const deletes = listOf(body.Deletes).map((d) => String(d.Key));
        const putKeys = new Set(puts.map(([k]) => k));
        const both = deletes.find((k) => putKeys.has(k));
        if (both !== undefined) throw validation(`Key ${both} is both put and deleted`);
        return this.#write(store, request, puts, deletes);
      }
      default:
        throw notImplemented(request);
    }
  }

  /** REST-JSON errors: the code in `x-amzn-errortype`, the message in the body. */
  errorResponse(error: AwsError): WireResponse {
    return restJsonError(error, { Message: error.message });
  }

  // ---- internals ----------------------------------------------------------------------------------------

  /** One conditional write: checked whole against the ETag and the limits before anything changes. */
  #write(store: Store, request: WireRequest, puts: [string, string][], deletes: string[]): WireResponse {
    const ifMatch = request.headers["if-match"];
    if (ifMatch !== store.etag) {
      throw new AwsError(
        "ConflictException",
        "The ETag does not match the key value store's current ETag",
        409,
      );
    }
    for (const [key, value] of puts) {
      if (Buffer.byteLength(key) > KVS_MAX_KEY_BYTES) {
        throw validation(`A key is at most ${KVS_MAX_KEY_BYTES} bytes`);
      }
      if (Buffer.byteLength(value) > KVS_MAX_VALUE_BYTES) {
        throw validation(`A value is at most ${KVS_MAX_VALUE_BYTES} bytes`);
      }
    }
    for (const key of deletes) if (!store.items.has(key)) throw notFound(`Key ${key} not found`);
    const next = new Map(store.items);
    for (const key of deletes) next.delete(key);
    for (const [key, value] of puts) next.set(key, value);
    if (sizeOf(next) > KVS_MAX_STORE_BYTES) {
      throw new AwsError(
        "ServiceQuotaExceededException",
        `A key value store holds at most ${KVS_MAX_STORE_BYTES} bytes`,
        402,
      );
    }
    store.items = next;
    store.etag = newEtag();
    store.lastModified = this.#now();
    return answer({ ItemCount: next.size, TotalSizeInBytes: sizeOf(next) }, store.etag);
  }

  #get(arn: string): Store {
    const store = this.#stores.get(arn);
    if (!store) throw notFound(`Key value store ${arn} not found`);
    return store;
  }
}

function listPage(store: Store, query: URLSearchParams): Record<string, unknown> {
  const max = Number(query.get("MaxResults") ?? LIST_DEFAULT_MAX_RESULTS);
  const after = query.get("NextToken");
  const keys = [...store.items.keys()].sort().filter((k) => after === null || k > after);
  const page = keys.slice(0, max);
  const more = keys.length > page.length;
  return {
    Items: page.map((Key) => ({ Key, Value: store.items.get(Key) })),
    ...(more ? { NextToken: page.at(-1) } : {}),
  };
}

/** Keys and values in UTF-8 bytes (assumed to be how AWS counts TotalSizeInBytes). */
function sizeOf(items: Map<string, string>): number {
  let total = 0;
  for (const [key, value] of items) total += Buffer.byteLength(key) + Buffer.byteLength(value);
  return total;
}

function answer(body: Record<string, unknown>, etag?: string): WireResponse {
  return {
    status: 200,
    headers: { "content-type": "application/json", ...(etag ? { etag } : {}) },
    body: JSON.stringify(body),
  };
}

function parseBody(request: WireRequest): Record<string, unknown> {
  try {
    const parsed: unknown = request.body ? JSON.parse(request.body) : {};
    if (parsed && typeof parsed === "object") return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw validation("The request body is not a JSON object");
}

function listOf(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
}

function newEtag(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

function notFound(message: string): AwsError {
  return new AwsError("ResourceNotFoundException", message, 404);
}

function validation(message: string): AwsError {
  return new AwsError("ValidationException", message, 400);
}
