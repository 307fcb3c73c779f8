/**
 * The KeyValueStore data-plane stand-in over loopback HTTP, in the REST-JSON bindings of AWS's model
 * (botocore cloudfront-keyvaluestore 2022-07-26), every call model-checked. No SDK client is installed for
 * this service (AWS signs it with SigV4A), so the calls are plain requests as the model binds them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KeyValueStoreStandin,
  KVS_MAX_KEY_BYTES,
  KVS_MAX_STORE_BYTES,
  KVS_MAX_VALUE_BYTES,
} from "../../standins/cloudfront-keyvaluestore.ts";
import { StandinServer } from "../../standins/server.ts";
import { refusedByModel } from "../support/model-checks.ts";

let server: StandinServer;
let stores: KeyValueStoreStandin;
let endpoint: string;

beforeAll(async () => {
  stores = new KeyValueStoreStandin();
  server = new StandinServer([stores]);
  endpoint = await server.listen();
});

afterAll(async () => {
  await server.close();
});

interface Answer {
  status: number;
  etag: string | null;
  error: string | null;
  json: Record<string, unknown>;
}

async function call(
  method: string,
  arn: string,
  options: { key?: string; keys?: boolean; ifMatch?: string; body?: unknown; query?: string } = {},
): Promise<Answer> {
  let path = `/key-value-stores/${encodeURIComponent(arn)}`;
  if (options.keys || options.key !== undefined) path += "/keys";
  if (options.key !== undefined) path += `/${encodeURIComponent(options.key)}`;
  const headers: Record<string, string> = {};
  if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${endpoint}${path}${options.query ?? ""}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    etag: response.headers.get("etag"),
    error: response.headers.get("x-amzn-errortype"),
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function put(arn: string, key: string, value: string): Promise<Answer> {
  const { etag } = await call("GET", arn);
  return call("PUT", arn, { key, ifMatch: etag ?? "", body: { Value: value } });
}

describe("CloudFront KeyValueStore stand-in", () => {
  it("[cloudfront-keyvaluestore.if-match] refuses a write with a stale ETag (409 ConflictException) and changes nothing", async () => {
    const arn = stores.createStore("if-match");
    const first = await call("GET", arn);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ ItemCount: 0, TotalSizeInBytes: 0, KvsARN: arn });
    const written = await call("PUT", arn, { key: "a1", ifMatch: first.etag ?? "", body: { Value: "x" } });
    expect(written.status).toBe(200);
    expect(written.etag).not.toBe(first.etag);
    expect(written.json).toEqual({ ItemCount: 1, TotalSizeInBytes: 3 });
    const stale = await call("PUT", arn, { key: "b2", ifMatch: first.etag ?? "", body: { Value: "y" } });
    expect(stale).toMatchObject({ status: 409, error: "ConflictException" });
    const staleDelete = await call("DELETE", arn, { key: "a1", ifMatch: first.etag ?? "" });
    expect(staleDelete).toMatchObject({ status: 409, error: "ConflictException" });
    expect(stores.keys(arn)).toEqual(["a1"]);
    expect(stores.etag(arn)).toBe(written.etag);
  });

  it("a write without If-Match is refused by AWS's model (required header)", async () => {
    const arn = stores.createStore("no-if-match");
    const { error } = await refusedByModel(async () => {
      const answer = await call("PUT", arn, { key: "a1", body: { Value: "x" } });
      if (answer.status >= 400) throw new Error(answer.error ?? String(answer.status));
    });
    expect(error.message).toBe("ValidationException");
    expect(stores.keys(arn)).toEqual([]);
  });

  it("[cloudfront-keyvaluestore.item-limits] refuses a key over 512 bytes or a value over 1 KB (400), a store over 5 MB (402)", async () => {
    const arn = stores.createStore("limits");
    expect(await put(arn, "k".repeat(KVS_MAX_KEY_BYTES + 1), "v")).toMatchObject({
      status: 400,
      error: "ValidationException",
    });
    expect(await put(arn, "k", "v".repeat(KVS_MAX_VALUE_BYTES + 1))).toMatchObject({
      status: 400,
      error: "ValidationException",
    });
    expect((await put(arn, "k".repeat(KVS_MAX_KEY_BYTES), "v".repeat(KVS_MAX_VALUE_BYTES))).status).toBe(200);
    // Fill to just under 5 MB with one batch of 1,024-byte values, then one more pair passes the quota.
    const pairBytes = 8 + KVS_MAX_VALUE_BYTES;
    const room = KVS_MAX_STORE_BYTES - (KVS_MAX_KEY_BYTES + KVS_MAX_VALUE_BYTES);
    const puts = Array.from({ length: Math.floor(room / pairBytes) }, (_, i) => ({
      Key: String(i).padStart(8, "0"),
      Value: "v".repeat(KVS_MAX_VALUE_BYTES),
    }));
    const { etag } = await call("GET", arn);
    expect((await call("POST", arn, { keys: true, ifMatch: etag ?? "", body: { Puts: puts } })).status).toBe(
      200,
    );
    const over = await put(arn, "zzzzzzzz", "v".repeat(KVS_MAX_VALUE_BYTES));
    expect(over).toMatchObject({ status: 402, error: "ServiceQuotaExceededException" });
    expect(stores.keys(arn)).not.toContain("zzzzzzzz");
  });

  it("[cloudfront-keyvaluestore.update-keys-atomic] applies UpdateKeys all or nothing", async () => {
    const arn = stores.createStore("atomic");
    await put(arn, "keep", "1");
    const { etag } = await call("GET", arn);
    const refused = await call("POST", arn, {
      keys: true,
      ifMatch: etag ?? "",
      body: { Puts: [{ Key: "new", Value: "2" }], Deletes: [{ Key: "missing" }] },
    });
    expect(refused).toMatchObject({ status: 404, error: "ResourceNotFoundException" });
    expect(stores.keys(arn)).toEqual(["keep"]);
    const both = await call("POST", arn, {
      keys: true,
      ifMatch: etag ?? "",
      body: { Puts: [{ Key: "keep", Value: "2" }], Deletes: [{ Key: "keep" }] },
    });
    expect(both).toMatchObject({ status: 400, error: "ValidationException" });
    const applied = await call("POST", arn, {
      keys: true,
      ifMatch: etag ?? "",
      body: { Puts: [{ Key: "new", Value: "2" }], Deletes: [{ Key: "keep" }] },
    });
    expect(applied.status).toBe(200);
    expect(stores.keys(arn)).toEqual(["new"]);
  });

  it("[cloudfront-keyvaluestore.not-found] answers 404 ResourceNotFoundException for an unknown store or key", async () => {
    const arn = stores.createStore("not-found");
    expect(await call("GET", `${arn}-other`)).toMatchObject({
      status: 404,
      error: "ResourceNotFoundException",
    });
    expect(await call("GET", arn, { key: "absent" })).toMatchObject({
      status: 404,
      error: "ResourceNotFoundException",
    });
    const { etag } = await call("GET", arn);
    expect(await call("DELETE", arn, { key: "absent", ifMatch: etag ?? "" })).toMatchObject({
      status: 404,
      error: "ResourceNotFoundException",
    });
    expect(stores.etag(arn)).toBe(etag);
  });

  it("[cloudfront-keyvaluestore.list-order] lists keys in order, in pages of MaxResults with NextToken", async () => {
    const arn = stores.createStore("list");
    for (const key of ["c", "a", "b"]) await put(arn, key, key.toUpperCase());
    const first = await call("GET", arn, { keys: true, query: "?MaxResults=2" });
    expect(first.json).toEqual({
      Items: [
        { Key: "a", Value: "A" },
        { Key: "b", Value: "B" },
      ],
      NextToken: "b",
    });
    const second = await call("GET", arn, { keys: true, query: `?MaxResults=2&NextToken=b` });
    expect(second.json).toEqual({ Items: [{ Key: "c", Value: "C" }] });
    expect((await call("GET", arn, { key: "b" })).json).toEqual({
      Key: "b",
      Value: "B",
      ItemCount: 3,
      TotalSizeInBytes: 6,
    });
  });

  it("[cloudfront-keyvaluestore.edge-reads-store] the edge's cf.kvs() sees a write as soon as it is answered", async () => {
    const arn = stores.createStore("edge");
    const edge = stores.edgeReader(arn);
    expect(await edge.exists("a1")).toBe(false);
    await put(arn, "a1", "revoked");
    expect(await edge.exists("a1")).toBe(true);
    expect(await edge.get("a1")).toBe("revoked");
    await expect(edge.get("b2")).rejects.toThrow(/not found/);
  });
});
