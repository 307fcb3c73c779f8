/**
 * The signed webhook target against a real receiver on 127.0.0.1 that verifies with `verifyWebhook`: what is
 * sent, what the receiver refuses (tampered body, wrong secret, stale timestamp, replayed delivery), retries
 * of 503 / 429 / timeouts / refused connections within bounds, no retry of a refusal, idempotence by the
 * receiver's de-duplication, and a secret that never shows up anywhere.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { computeTrustBundle, type TrustBundle } from "../../functions/core/trust-bundle.ts";
import {
  type WebhookAttemptLog,
  WebhookConfigError,
  WebhookDeliveryError,
  WebhookTarget,
  type WebhookTargetOptions,
} from "../../functions/trust/targets/webhook.ts";
import { parseTrustBundleDelivery, WEBHOOK_HEADERS } from "../../functions/trust/webhook-verify.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, NOW, smallCa } from "../support/pki-fixtures.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const SECRET = "whsec-target-tests-0123456789abcdef";

let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let one: TrustBundle;
let two: TrustBundle;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha Webhook CA"), smallCa("CN=Bravo Webhook CA")]);
  one = computeTrustBundle({ current: [alpha.certificatePem], now: NOW });
  two = computeTrustBundle({ current: [alpha.certificatePem, bravo.certificatePem], now: NOW });
});

let receivers: WebhookReceiver[] = [];
async function freshReceiver(secret: string | string[] = SECRET): Promise<WebhookReceiver> {
  receiver = await startWebhookReceiver({ secret });
  receivers.push(receiver);
  return receiver;
}

afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});

/** A target with instant, recorded backoff and recorded attempt logs. */
function target(url: string, options: Partial<WebhookTargetOptions> = {}) {
  const sleeps: number[] = [];
  const logs: WebhookAttemptLog[] = [];
  const t = new WebhookTarget({
    url,
    secret: SECRET,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    log: (event) => logs.push(event),
    ...options,
  });
  return { t, sleeps, logs };
}

describe("delivery", () => {
  it("POSTs the bundle as signed JSON that the receiver verifies and installs", async () => {
    const r = await freshReceiver();
    const { t } = target(r.url, { now: () => new Date() });
    const before = Math.floor(Date.now() / 1000);
    const result = await t.write(two);

    expect(result).toEqual({ changed: true, version: two.sha256.slice(0, 12) });
    expect(r.refusals).toEqual([]);
    expect(r.requests).toHaveLength(1);
    const [request] = r.requests;
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(Number(request!.headers[WEBHOOK_HEADERS.timestamp])).toBeGreaterThanOrEqual(before);
    expect(request!.headers[WEBHOOK_HEADERS.signature]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(request!.headers[WEBHOOK_HEADERS.delivery]).toMatch(/^[0-9a-f-]{36}$/);
    const body = JSON.parse(request!.body.toString("utf8"));
    expect(Object.keys(body).sort()).toEqual(["bundleSha256", "certificates", "pem", "publishedAt"]);
    expect(body).toMatchObject({ bundleSha256: two.sha256, pem: two.pem, certificates: two.entries });
    expect(new Date(body.publishedAt).getTime()).toBeGreaterThan(0);
    expect(parseTrustBundleDelivery(request!.body)).toEqual(body);
    expect(r.current()?.pem).toBe(two.pem);
  });

  it("the same bundle twice: sent again, the receiver keeps it (changed false), no second install", async () => {
    const r = await freshReceiver();
    const { t } = target(r.url);
    expect((await t.write(one)).changed).toBe(true);
    expect((await t.write(one)).changed).toBe(false);
    expect(r.installs).toHaveLength(1);
    // Two deliveries, two distinct ids: re-sending is a new delivery, not a replay.
    const ids = r.requests.map((q) => q.headers[WEBHOOK_HEADERS.delivery]);
    expect(new Set(ids).size).toBe(2);
    expect((await t.write(two)).changed).toBe(true);
    expect(r.installs.map((i) => i.bundleSha256)).toEqual([one.sha256, two.sha256]);
  });

  it("sends public CA material only", async () => {
    const credential = await goodP256();
    const r = await freshReceiver();
    await target(r.url).t.write(two);
    expectNoKeyMaterial(r.requests[0]!.body.toString("utf8"), [credential.privateKeyPem]);
  });

  it("read() answers undefined: a push target cannot be read back", async () => {
    const r = await freshReceiver();
    await expect(target(r.url).t.read()).resolves.toBeUndefined();
    expect(r.requests).toHaveLength(0);
  });

  it("loads the secret through a loader on each write (a rotated secret is picked up)", async () => {
    const r = await freshReceiver(["second-secret-0123456789abcdef", SECRET]);
    let current = SECRET;
    const { t } = target(r.url, { secret: async () => current });
    await t.write(one);
    current = "second-secret-0123456789abcdef";
    await t.write(two);
    expect(r.refusals).toEqual([]);
    expect(r.installs).toHaveLength(2);
  });
});

describe("the receiver refuses what it must", () => {
  it("a tampered body with the original headers: 401 BadSignature", async () => {
    const r = await freshReceiver();
    await target(r.url).t.write(one);
    const original = r.requests[0]!;
    const tampered = original.body.toString("utf8").replace(one.sha256, "0".repeat(64));
    const answer = await r.send({
      headers: { ...original.headers, [WEBHOOK_HEADERS.delivery]: "tampered-1" },
      body: tampered,
    });
    expect(answer).toEqual({ status: 401, body: { reason: "BadSignature" } });
  });

  it("a replayed delivery, byte for byte: 401 ReplayedDelivery, nothing installed again", async () => {
    const r = await freshReceiver();
    await target(r.url).t.write(one);
    const answer = await r.send(r.requests[0]!);
    expect(answer).toEqual({ status: 401, body: { reason: "ReplayedDelivery" } });
    expect(r.installs).toHaveLength(1);
  });

  it("a target with the wrong secret: refused once (401 BadSignature), not retried", async () => {
    const r = await freshReceiver();
    const { t, sleeps } = target(r.url, { secret: "wrong-secret-0123456789abcdef" });
    const error = await t.write(one).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect(error).toMatchObject({ status: 401, reason: "BadSignature", attempts: 1 });
    expect(r.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(r.installs).toEqual([]);
  });

  it("a target whose clock is 301 s behind: 401 StaleTimestamp, not retried", async () => {
    const r = await freshReceiver();
    const { t } = target(r.url, { now: () => new Date(Date.now() - 301_000) });
    await expect(t.write(one)).rejects.toMatchObject({ status: 401, reason: "StaleTimestamp", attempts: 1 });
    expect(r.refusals).toEqual(["StaleTimestamp"]);
  });

  it("a target whose clock is 301 s ahead: 401 FutureTimestamp", async () => {
    const r = await freshReceiver();
    const { t } = target(r.url, { now: () => new Date(Date.now() + 301_000) });
    await expect(t.write(one)).rejects.toMatchObject({ reason: "FutureTimestamp" });
  });
});

describe("retries", () => {
  it("503 then 200: retried once with a fresh delivery id and timestamp, after a backoff", async () => {
    const r = await freshReceiver();
    r.script({ kind: "status", status: 503 });
    const { t, sleeps, logs } = target(r.url);
    expect(await t.write(one)).toMatchObject({ changed: true });
    expect(r.requests).toHaveLength(2);
    const [first, second] = r.requests.map((q) => q.headers[WEBHOOK_HEADERS.delivery]);
    expect(first).not.toBe(second);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(logs.map((l) => [l.attempt, l.status])).toEqual([
      [1, 503],
      [2, 200],
    ]);
  });

  it("a 503 that persists: gives up after maxAttempts with the last status; backoff doubles and is capped", async () => {
    const r = await freshReceiver();
    r.script(...Array.from({ length: 6 }, () => ({ kind: "status" as const, status: 503 })));
    const { t, sleeps } = target(r.url, { maxAttempts: 6, backoffBaseMs: 100, backoffMaxMs: 300 });
    await expect(t.write(one)).rejects.toMatchObject({
      name: "WebhookDeliveryError",
      status: 503,
      attempts: 6,
      message: expect.stringContaining("after 6 attempts"),
    });
    expect(r.requests).toHaveLength(6);
    expect(sleeps).toHaveLength(5);
    // Equal jitter: each delay lies in [d/2, d] for d = min(cap, base * 2^(n-1)).
    for (const [i, ms] of sleeps.entries()) {
      const d = Math.min(300, 100 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(d / 2);
      expect(ms).toBeLessThanOrEqual(d);
    }
    expect(r.installs).toEqual([]);
  });

  it("429 with Retry-After is retried, waiting as asked but never longer than the cap", async () => {
    const r = await freshReceiver();
    r.script({ kind: "status", status: 429, headers: { "retry-after": "30" } });
    const { t, sleeps } = target(r.url, { backoffMaxMs: 1_000 });
    await t.write(one);
    expect(sleeps).toEqual([1_000]);
  });

  it("a receiver that does not answer: the attempt times out and the retry succeeds", async () => {
    const r = await freshReceiver();
    r.script({ kind: "hang" });
    const { t, logs } = target(r.url, { timeoutMs: 200 });
    const started = Date.now();
    expect(await t.write(one)).toMatchObject({ changed: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logs[0]).toMatchObject({ attempt: 1, error: "timed out" });
    expect(logs[1]).toMatchObject({ attempt: 2, status: 200 });
  });

  it("a refused connection is retried, then reported with its cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { t, logs } = target(`http://127.0.0.1:${port}/hook`, { maxAttempts: 3 });
    const error = await t.write(one).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect((error as WebhookDeliveryError).attempts).toBe(3);
    expect((error as WebhookDeliveryError).status).toBeUndefined();
    expect((error as Error).message).toContain("ECONNREFUSED");
    expect((error as Error).cause).toBeDefined();
    expect(logs.map((l) => l.error)).toEqual(["ECONNREFUSED", "ECONNREFUSED", "ECONNREFUSED"]);
  });

  it.each([400, 404, 422])("HTTP %i is a refusal: not retried", async (status) => {
    const r = await freshReceiver();
    r.script({ kind: "status", status });
    const { t, sleeps } = target(r.url);
    await expect(t.write(one)).rejects.toMatchObject({ status, attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  it("does not follow a redirect (the bundle goes only where it was configured to)", async () => {
    const r = await freshReceiver();
    r.script({ kind: "status", status: 307, headers: { location: "http://127.0.0.1:1/elsewhere" } });
    await expect(target(r.url).t.write(one)).rejects.toMatchObject({ status: 307, attempts: 1 });
    expect(r.requests).toHaveLength(1);
  });
});

describe("the secret stays secret", () => {
  it("appears in no log event, error, JSON or inspect output, nor in the target's name", async () => {
    const r = await freshReceiver();
    r.script({ kind: "status", status: 503 }, { kind: "status", status: 401 });
    const { t, logs } = target(`${r.url}?token=query-token-0123456789`);
    const error = await t.write(one).catch((e: unknown) => e as Error);
    const signatures = r.requests.map((q) => String(q.headers[WEBHOOK_HEADERS.signature]));
    const surfaces = [
      JSON.stringify(logs),
      String(error),
      (error as Error).stack ?? "",
      inspect(error, { depth: 5 }),
      JSON.stringify(t),
      inspect(t, { depth: 5 }),
      t.name,
    ].join("\n");
    expect(surfaces).not.toContain(SECRET);
    for (const signature of signatures) expect(surfaces).not.toContain(signature.slice(3));
    expect(surfaces).not.toContain("query-token-0123456789");
    expect(t.name).toBe(`webhook:${new URL(r.url).origin}/mtls/trust-bundle`);
  });

  it("a failing secret loader surfaces as a configuration error without the loader's secret", async () => {
    const r = await freshReceiver();
    const { t } = target(r.url, {
      secret: async () => {
        throw new Error("AccessDenied for secret mtls-rotator/webhook");
      },
    });
    await expect(t.write(one)).rejects.toBeInstanceOf(WebhookConfigError);
    expect(r.requests).toHaveLength(0);
  });
});

describe("configuration", () => {
  it.each([
    ["plain http to a remote host", "http://origin.example.com/hook"],
    ["credentials in the URL", "https://user:pass@origin.example.com/hook"],
    ["ftp", "ftp://origin.example.com/hook"],
  ])("refuses %s", (_, url) => {
    expect(() => new WebhookTarget({ url, secret: SECRET })).toThrow(WebhookConfigError);
  });

  it("accepts https anywhere and http on loopback; refuses a short secret and unbounded attempts", () => {
    expect(new WebhookTarget({ url: "https://origin.example.com/hook", secret: SECRET }).name).toBe(
      "webhook:https://origin.example.com/hook",
    );
    expect(() => new WebhookTarget({ url: "http://127.0.0.1:9/hook", secret: SECRET })).not.toThrow();
    expect(() => new WebhookTarget({ url: "https://o.example.com", secret: "short" })).toThrow(
      /16 characters/,
    );
    expect(
      () => new WebhookTarget({ url: "https://o.example.com", secret: SECRET, maxAttempts: 11 }),
    ).toThrow(/1 to 10/);
  });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});
