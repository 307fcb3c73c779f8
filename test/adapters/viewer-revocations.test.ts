/**
 * The revocation list adapter against the KeyValueStore stand-in over loopback HTTP (every call checked
 * against AWS's model). Competing writers are real: a second adapter writes through the same API just before
 * the first one's write arrives (the server's interceptor), so the first one's ETag is stale.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidKeyValueStoreArnError,
  KeyValueStoreError,
  type KeyValueStoreSend,
  keyValueStoreEndpoint,
  keyValueStoreHttpSend,
  keyValueStoreSigner,
  ViewerRevocations,
} from "../../functions/adapters/viewer-revocations.ts";
import { InvalidViewerSerialError } from "../../functions/core/viewer-serial.ts";
import { KeyValueStoreStandin } from "../../standins/cloudfront-keyvaluestore.ts";
import { StandinServer } from "../../standins/server.ts";
import { checkSigV4a } from "../support/sigv4a-verify.ts";

const NOW = new Date("2026-12-04T12:00:00Z");

let server: StandinServer;
let stores: KeyValueStoreStandin;
let send: KeyValueStoreSend;
let endpoint: string;

beforeAll(async () => {
  stores = new KeyValueStoreStandin();
  server = new StandinServer([stores]);
  endpoint = await server.listen();
  // The stand-in checks no signatures; the production SigV4A signer is checked below, by its own verifier.
  send = keyValueStoreHttpSend({ endpoint, sign: async () => ({}) });
});

afterAll(async () => {
  await server.close();
});

function revocationsOn(storeArn: string, maxAttempts?: number): ViewerRevocations {
  return new ViewerRevocations({ send, storeArn, now: () => NOW, maxAttempts });
}

/** Before each of the next `times` PutKey calls, another writer revokes another serial first. */
function competingWriter(storeArn: string, times: number): { stop: () => void; wrote: () => number } {
  const other = revocationsOn(storeArn);
  let wrote = 0;
  let busy = false;
  const stop = server.intercept(async ({ operation }) => {
    if (operation !== "PutKey" || busy || wrote >= times) return;
    busy = true;
    try {
      await other.revoke(`ff${String(wrote).padStart(4, "0")}`, "competing writer");
      wrote++;
    } finally {
      busy = false;
    }
  });
  return { stop, wrote: () => wrote };
}

describe("ViewerRevocations", () => {
  it("revokes a serial under its normal form with the reason and time; revoking again changes nothing", async () => {
    const arn = stores.createStore("revoke");
    const revocations = revocationsOn(arn);
    const record = { reason: "key lost", revokedAt: NOW.toISOString() };
    expect(await revocations.revoke("00:4A:3F:5C", "key lost")).toEqual({
      serial: "4a3f5c",
      alreadyRevoked: false,
      record,
    });
    expect(stores.keys(arn)).toEqual(["4a3f5c"]);
    expect(await revocations.record("4a3f5c")).toEqual({ reason: "key lost", revokedAt: NOW.toISOString() });
    const etag = stores.etag(arn);
    const puts = server.count("cloudfront-keyvaluestore", "PutKey");
    // The earlier record is kept and answered.
    expect(await revocations.revoke("4a3f5c", "again")).toEqual({
      serial: "4a3f5c",
      alreadyRevoked: true,
      record,
    });
    expect(stores.etag(arn)).toBe(etag);
    expect(server.count("cloudfront-keyvaluestore", "PutKey")).toBe(puts);
    expect((await revocations.record("4a3f5c"))?.reason).toBe("key lost");
  });

  it("refuses bad input before any call: no hex serial, a serial over 20 octets, a reason too long", async () => {
    const arn = stores.createStore("bad-input");
    const revocations = revocationsOn(arn);
    const calls = server.calls.length;
    await expect(revocations.revoke("not-a-serial")).rejects.toThrow(InvalidViewerSerialError);
    await expect(revocations.revoke("")).rejects.toThrow(/required/);
    await expect(revocations.revoke("1".repeat(41))).rejects.toThrow(/20 octets/);
    await expect(revocations.revoke("4a", "x".repeat(257))).rejects.toThrow(/at most 256/);
    await expect(revocations.reinstate("zz")).rejects.toThrow(InvalidViewerSerialError);
    expect(server.calls.length).toBe(calls);
    expect(stores.keys(arn)).toEqual([]);
  });

  it("reads the ETag again after losing a race to another writer, and writes", async () => {
    const arn = stores.createStore("race");
    const revocations = revocationsOn(arn);
    const competitor = competingWriter(arn, 1);
    try {
      const describes = server.count("cloudfront-keyvaluestore", "DescribeKeyValueStore");
      expect(await revocations.revoke("0abc")).toMatchObject({ serial: "abc", alreadyRevoked: false });
      expect(competitor.wrote()).toBe(1);
      // Its own describe, the competitor's, and its second one after the ConflictException.
      expect(server.count("cloudfront-keyvaluestore", "DescribeKeyValueStore") - describes).toBe(3);
      expect(server.calls.filter((c) => c.error === "ConflictException")).toHaveLength(1);
    } finally {
      competitor.stop();
    }
    expect(stores.keys(arn)).toEqual(["abc", "ff0000"]);
  });

  it("gives up after maxAttempts lost races with a retryable error, having written nothing of its own", async () => {
    const arn = stores.createStore("busy");
    const revocations = revocationsOn(arn, 3);
    const competitor = competingWriter(arn, 100);
    const conflicts = server.calls.filter((c) => c.error === "ConflictException").length;
    try {
      const error = await revocations.revoke("beef").catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "AdapterError", retryable: true });
      expect(String((error as Error).message)).toMatch(/3 conditional writes lost/);
    } finally {
      competitor.stop();
    }
    expect(server.calls.filter((c) => c.error === "ConflictException").length - conflicts).toBe(3);
    expect(stores.keys(arn)).not.toContain("beef");
  });

  it("reinstates a revoked serial however it is spelled; reinstating one not revoked changes nothing", async () => {
    const arn = stores.createStore("reinstate");
    const revocations = revocationsOn(arn);
    await revocations.revoke("4a3f");
    expect(await revocations.reinstate("4A:3F")).toBe(true);
    expect(stores.keys(arn)).toEqual([]);
    const etag = stores.etag(arn);
    expect(await revocations.reinstate("4a3f")).toBe(false);
    expect(stores.etag(arn)).toBe(etag);
  });

  it("records who revoked, and answers the record a reinstatement took off the list", async () => {
    const arn = stores.createStore("actor");
    const revocations = revocationsOn(arn);
    const actor = "arn:aws:sts::111122223333:assumed-role/operator/alice";
    const revoked = await revocations.revoke("c0:ff:ee", "laptop stolen", actor);
    const record = { reason: "laptop stolen", revokedAt: NOW.toISOString(), revokedBy: actor };
    expect(revoked).toEqual({ serial: "c0ffee", alreadyRevoked: false, record });
    expect(await revocations.record("c0ffee")).toEqual(record);
    expect(await revocations.withdraw("C0FFEE")).toEqual(record);
    expect(stores.keys(arn)).toEqual([]);
    const etag = stores.etag(arn);
    expect(await revocations.withdraw("c0ffee")).toBeUndefined();
    expect(stores.etag(arn)).toBe(etag);
  });

  it("refuses a record over the store's 1 KB value limit before any call", async () => {
    const arn = stores.createStore("too-large");
    const revocations = revocationsOn(arn);
    const calls = server.calls.length;
    // 256 characters of 3 UTF-8 bytes each (within the reason's length) and a long session name.
    const actor = `arn:aws:sts::111122223333:assumed-role/operator/${"s".repeat(300)}`;
    await expect(revocations.revoke("4a", "€".repeat(256), actor)).rejects.toThrow(/at most 1024 bytes/);
    expect(server.calls.length).toBe(calls);
    expect(stores.keys(arn)).toEqual([]);
    // Without the long actor the same reason fits.
    expect(await revocations.revoke("4a", "€".repeat(256))).toMatchObject({ alreadyRevoked: false });
    expect(stores.keys(arn)).toEqual(["4a"]);
  });

  it("passes AWS's errors on by name: an unknown store, a service fault", async () => {
    const missing = revocationsOn("arn:aws:cloudfront::111122223333:key-value-store/absent");
    const notFound = await missing.revoke("1").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(KeyValueStoreError);
    expect(notFound).toMatchObject({ name: "ResourceNotFoundException", retryable: false, status: 404 });
    const arn = stores.createStore("faults");
    server.faults.inject({ service: "cloudfront-keyvaluestore", operation: "PutKey", kind: "server-error" });
    const fault = await revocationsOn(arn)
      .revoke("1")
      .catch((e: unknown) => e);
    expect(fault).toMatchObject({ name: "ServiceUnavailable", retryable: true, status: 503 });
    expect(stores.keys(arn)).toEqual([]);
  });
});

describe("production signing and endpoint", () => {
  const credentials = { accessKeyId: "AKIDREVOKER", secretAccessKey: "revoker-secret-key-example" };

  it("every request the production signer signs carries a SigV4A signature an independent verifier accepts", async () => {
    const checks: Array<{ method: string; valid: boolean; service?: string; regionSet?: string }> = [];
    const verifyingFetch: typeof fetch = async (input, init) => {
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const check = checkSigV4a(
        { method: init?.method ?? "GET", url: String(input), headers, body: String(init?.body ?? "") },
        credentials,
      );
      checks.push({ method: init?.method ?? "GET", ...check });
      if (!check.valid) return new Response(JSON.stringify({ Message: check.problem }), { status: 403 });
      return fetch(input, init);
    };
    let resolved = 0;
    const signed = new ViewerRevocations({
      send: keyValueStoreHttpSend({
        endpoint,
        sign: keyValueStoreSigner(async () => {
          resolved += 1;
          return credentials;
        }),
        fetch: verifyingFetch,
      }),
      storeArn: stores.createStore("signed"),
      now: () => NOW,
    });
    expect(await signed.revoke("0a:bc", "key lost")).toMatchObject({ serial: "abc", alreadyRevoked: false });
    expect(await signed.reinstate("ABC")).toBe(true);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    expect(
      checks.every((c) => c.valid && c.service === "cloudfront-keyvaluestore" && c.regionSet === "*"),
    ).toBe(true);
    expect(new Set(checks.map((c) => c.method))).toEqual(new Set(["GET", "PUT", "DELETE"]));
    // Credentials are asked for at every call (a role's credentials rotate).
    expect(resolved).toBe(checks.length);
  });

  it("a store's endpoint follows AWS's endpoint rules; other ARNs are refused", () => {
    expect(
      keyValueStoreEndpoint(
        "arn:aws:cloudfront::111122223333:key-value-store/0f9c5e6a-1111-2222-3333-444455556666",
      ),
    ).toBe("https://111122223333.cloudfront-kvs.global.api.aws");
    for (const bad of [
      "arn:aws:cloudfront:us-east-1:111122223333:key-value-store/x",
      "arn:aws-cn:cloudfront::111122223333:key-value-store/x",
      "arn:aws:cloudfront::111122223333:distribution/E1",
      "arn:aws:s3:::bucket",
      "",
    ])
      expect(() => keyValueStoreEndpoint(bad)).toThrow(InvalidKeyValueStoreArnError);
  });
});
