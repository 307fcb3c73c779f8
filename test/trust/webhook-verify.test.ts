/**
 * The receiver's check of signed trust-bundle webhooks: a table of requests, each wrong in one way, with the
 * reason it is refused; delivery ids remembered only for authentic requests and only as long as they could
 * replay; the body parser that refuses a PEM that is not the bundle it claims.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  DeliveryLog,
  parseTrustBundleDelivery,
  signWebhook,
  type VerifyWebhookInput,
  verifyWebhook,
  WEBHOOK_HEADERS,
  type WebhookReason,
} from "../../functions/trust/webhook-verify.ts";

const SECRET = "whsec-0123456789abcdef-trust";
const NOW = new Date("2026-06-01T00:00:00Z");
const T = Math.floor(NOW.getTime() / 1000);
const BODY = JSON.stringify({ bundleSha256: "ab".repeat(32), pem: "", certificates: [], publishedAt: NOW });

function signed(options: { timestamp?: number; body?: string; secret?: string; id?: string } = {}) {
  const timestamp = options.timestamp ?? T;
  return {
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: signWebhook(options.secret ?? SECRET, timestamp, options.body ?? BODY),
    [WEBHOOK_HEADERS.delivery]: options.id ?? "delivery-1",
  } as Record<string, string | string[] | undefined>;
}

function verify(overrides: Partial<VerifyWebhookInput> = {}) {
  return verifyWebhook({
    headers: signed(),
    body: BODY,
    secret: SECRET,
    now: NOW,
    seenDeliveries: new Set<string>(),
    ...overrides,
  });
}

const without = (name: string) => ({ ...signed(), [name]: undefined });
const withHeader = (name: string, value: string | string[]) => ({ ...signed(), [name]: value });

describe("verifyWebhook: reasons", () => {
  it.each<[string, Partial<VerifyWebhookInput>, WebhookReason]>([
    ["no timestamp header", { headers: without(WEBHOOK_HEADERS.timestamp) }, "MissingTimestamp"],
    ["no signature header", { headers: without(WEBHOOK_HEADERS.signature) }, "MissingSignature"],
    ["no delivery header", { headers: without(WEBHOOK_HEADERS.delivery) }, "MissingDeliveryId"],
    [
      "a fractional timestamp",
      { headers: withHeader(WEBHOOK_HEADERS.timestamp, "1780272000.5") },
      "MalformedTimestamp",
    ],
    ["a negative timestamp", { headers: withHeader(WEBHOOK_HEADERS.timestamp, "-1") }, "MalformedTimestamp"],
    [
      "an ISO date as timestamp",
      { headers: withHeader(WEBHOOK_HEADERS.timestamp, NOW.toISOString()) },
      "MalformedTimestamp",
    ],
    [
      "the timestamp header twice",
      { headers: withHeader(WEBHOOK_HEADERS.timestamp, [String(T), String(T)]) },
      "MalformedTimestamp",
    ],
    [
      "a signature without the v1= prefix",
      { headers: withHeader(WEBHOOK_HEADERS.signature, "ab".repeat(32)) },
      "MalformedSignature",
    ],
    [
      "an unknown signature version",
      { headers: withHeader(WEBHOOK_HEADERS.signature, `v2=${"ab".repeat(32)}`) },
      "MalformedSignature",
    ],
    [
      "a truncated signature",
      { headers: withHeader(WEBHOOK_HEADERS.signature, `v1=${"ab".repeat(31)}`) },
      "MalformedSignature",
    ],
    [
      "a delivery id with spaces",
      { headers: withHeader(WEBHOOK_HEADERS.delivery, "delivery one") },
      "MalformedDeliveryId",
    ],
    [
      "a delivery id of 129 characters",
      { headers: withHeader(WEBHOOK_HEADERS.delivery, "d".repeat(129)) },
      "MalformedDeliveryId",
    ],
    ["a tampered body", { body: BODY.replace('"pem":""', '"pem":"x"') }, "BadSignature"],
    ["a body with one byte appended", { body: `${BODY} ` }, "BadSignature"],
    [
      "a signature made with another secret",
      { headers: signed({ secret: "another-secret-0123456789" }) },
      "BadSignature",
    ],
    [
      "a timestamp changed after signing",
      { headers: withHeader(WEBHOOK_HEADERS.timestamp, String(T + 1)) },
      "BadSignature",
    ],
    [
      "a signature that is valid hex of the wrong value",
      { headers: withHeader(WEBHOOK_HEADERS.signature, `v1=${"0".repeat(64)}`) },
      "BadSignature",
    ],
    ["a request signed 301 s ago", { headers: signed({ timestamp: T - 301 }) }, "StaleTimestamp"],
    ["a request signed 301 s ahead", { headers: signed({ timestamp: T + 301 }) }, "FutureTimestamp"],
    [
      "a request signed an hour ago with a 1-hour-minus-1-s tolerance",
      { headers: signed({ timestamp: T - 3600 }), toleranceSeconds: 3599 },
      "StaleTimestamp",
    ],
    ["a delivery id already accepted", { seenDeliveries: new Set(["delivery-1"]) }, "ReplayedDelivery"],
  ])("refuses %s: %s", (_, overrides, reason) => {
    const result = verify(overrides);
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.message).not.toContain(SECRET);
  });

  it.each<[string, Partial<VerifyWebhookInput>]>([
    ["a fresh request", {}],
    ["a request signed exactly 300 s ago", { headers: signed({ timestamp: T - 300 }) }],
    ["a request signed exactly 300 s ahead", { headers: signed({ timestamp: T + 300 }) }],
    ["the body as bytes", { body: Buffer.from(BODY) }],
    [
      "header names in any case",
      { headers: Object.fromEntries(Object.entries(signed()).map(([k, v]) => [k.toUpperCase(), v])) },
    ],
    ["fetch Headers", { headers: new Headers(signed() as Record<string, string>) }],
    ["the old secret while the secret rotates", { secret: ["the-new-secret-0123456789", SECRET] }],
  ])("accepts %s", (_, overrides) => {
    expect(verify(overrides)).toMatchObject({ ok: true, deliveryId: "delivery-1" });
  });

  it("checks the signature before the clock and the replay log: a forged request learns nothing else", () => {
    const forged = { headers: signed({ timestamp: T - 3600, secret: "not-the-secret-0123456789" }) };
    expect(verify(forged)).toMatchObject({ reason: "BadSignature" });
  });

  it("remembers a delivery id only when the request is authentic, so a forgery cannot burn a real id", () => {
    const seen = new Set<string>();
    expect(verify({ body: `${BODY}tampered`, seenDeliveries: seen })).toMatchObject({
      reason: "BadSignature",
    });
    expect(verify({ headers: signed({ timestamp: T - 301 }), seenDeliveries: seen })).toMatchObject({
      reason: "StaleTimestamp",
    });
    expect(seen.size).toBe(0);
    expect(verify({ seenDeliveries: seen })).toMatchObject({ ok: true });
    expect([...seen]).toEqual(["delivery-1"]);
    expect(verify({ seenDeliveries: seen })).toMatchObject({ ok: false, reason: "ReplayedDelivery" });
  });

  it("refuses to run without a secret (configuration error, not a verdict)", () => {
    expect(() => verify({ secret: "" })).toThrow(/no webhook secret/);
    expect(() => verify({ secret: [] })).toThrow(/no webhook secret/);
  });
});

describe("DeliveryLog", () => {
  it("forgets an id after twice the tolerance: by then no request carrying it can pass the clock check", () => {
    let now = NOW;
    const log = new DeliveryLog({ toleranceSeconds: 300, now: () => now });
    log.add("a");
    now = new Date(NOW.getTime() + 599_000);
    log.add("b");
    expect(log.has("a")).toBe(true);
    now = new Date(NOW.getTime() + 600_001);
    expect(log.has("a")).toBe(false);
    expect(log.has("b")).toBe(true);
    expect(log.size).toBe(1);
  });

  it("blocks a replay inside the window when used by verifyWebhook", () => {
    const log = new DeliveryLog({ now: () => NOW });
    expect(verify({ seenDeliveries: log })).toMatchObject({ ok: true });
    expect(verify({ seenDeliveries: log })).toMatchObject({ reason: "ReplayedDelivery" });
  });
});

describe("parseTrustBundleDelivery", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const sha = createHash("sha256").update(pem).digest("hex");
  const delivery = { bundleSha256: sha, pem, certificates: [], publishedAt: NOW.toISOString() };

  it("answers the delivery when the PEM hashes to bundleSha256", () => {
    expect(parseTrustBundleDelivery(JSON.stringify(delivery))).toEqual(delivery);
  });

  it("refuses a PEM that is not the bundle it claims, a missing field, and a private key", () => {
    expect(() =>
      parseTrustBundleDelivery(JSON.stringify({ ...delivery, bundleSha256: "00".repeat(32) })),
    ).toThrow(/does not hash/);
    expect(() => parseTrustBundleDelivery(JSON.stringify({ ...delivery, pem: undefined }))).toThrow(
      /required/,
    );
    const keyPem = `${pem}-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n`;
    const withKey = {
      ...delivery,
      pem: keyPem,
      bundleSha256: createHash("sha256").update(keyPem).digest("hex"),
    };
    expect(() => parseTrustBundleDelivery(JSON.stringify(withKey))).toThrow(/private key/);
  });
});
