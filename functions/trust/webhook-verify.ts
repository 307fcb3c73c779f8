/**
 * Signed trust-bundle webhooks, the receiver's side (custom origins, origin-sync): is this request from the
 * rotator, unaltered, recent, and not seen before? Also the signing primitive the sender uses, so both sides
 * compute the same canonical string.
 *
 * Scheme (v1): `x-mtls-rotator-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, with
 * `x-mtls-rotator-timestamp` (unix seconds) and `x-mtls-rotator-delivery` (unique per HTTP request, retries
 * included). The body is signed as the exact bytes received: verify before parsing.
 *
 * Checks, first failure wins: headers present -> well-formed -> signature (constant-time compare against
 * every accepted secret) -> timestamp within the tolerance either way -> delivery id not seen before. A
 * delivery id is remembered only once the request is authentic, so forged requests cannot fill the log or
 * pre-empt a real delivery's id.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const WEBHOOK_HEADERS = {
  timestamp: "x-mtls-rotator-timestamp",
  signature: "x-mtls-rotator-signature",
  delivery: "x-mtls-rotator-delivery",
} as const;

export const SIGNATURE_VERSION = "v1";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const WebhookReason = {
  MissingTimestamp: "MissingTimestamp",
  MissingSignature: "MissingSignature",
  MissingDeliveryId: "MissingDeliveryId",
  MalformedTimestamp: "MalformedTimestamp",
  MalformedSignature: "MalformedSignature",
  MalformedDeliveryId: "MalformedDeliveryId",
  BadSignature: "BadSignature",
  StaleTimestamp: "StaleTimestamp",
  FutureTimestamp: "FutureTimestamp",
  ReplayedDelivery: "ReplayedDelivery",
} as const;
export type WebhookReason = (typeof WebhookReason)[keyof typeof WebhookReason];

/** Delivery ids already accepted. A `Set<string>` will do; `DeliveryLog` forgets ids that can no longer replay. */
export interface SeenDeliveries {
  has(id: string): boolean;
  add(id: string): unknown;
}

export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookInput {
  /** Request headers (Node's IncomingHttpHeaders, a plain record with any case, or a fetch `Headers`). */
  headers: WebhookHeaders;
  /** The raw body exactly as received. */
  body: string | Uint8Array;
  /** The shared secret; several while the secret itself is being rotated (any one may sign). */
  secret: string | readonly string[];
  now: Date;
  toleranceSeconds?: number;
  seenDeliveries: SeenDeliveries;
}

export type WebhookVerification =
  | { ok: true; deliveryId: string; timestamp: number }
  | { ok: false; reason: WebhookReason; message: string };

const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v1=([0-9a-fA-F]{64})$/;
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `v1=<hex>` for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string | Uint8Array): string {
  return `${SIGNATURE_VERSION}=${mac(secret, timestamp, body).toString("hex")}`;
}

export function verifyWebhook(input: VerifyWebhookInput): WebhookVerification {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const secrets = typeof input.secret === "string" ? [input.secret] : [...input.secret];
  if (secrets.length === 0 || secrets.some((s) => s === "")) {
    throw new Error("verifyWebhook: no webhook secret configured");
  }
  const fail = (reason: WebhookReason, message: string): WebhookVerification => ({
    ok: false,
    reason,
    message,
  });

  const timestampText = header(input.headers, WEBHOOK_HEADERS.timestamp);
  const signatureText = header(input.headers, WEBHOOK_HEADERS.signature);
  const deliveryId = header(input.headers, WEBHOOK_HEADERS.delivery);
  if (timestampText === undefined) return fail("MissingTimestamp", `no ${WEBHOOK_HEADERS.timestamp} header`);
  if (signatureText === undefined) return fail("MissingSignature", `no ${WEBHOOK_HEADERS.signature} header`);
  if (deliveryId === undefined) return fail("MissingDeliveryId", `no ${WEBHOOK_HEADERS.delivery} header`);
  if (timestampText === null || !TIMESTAMP.test(timestampText)) {
    return fail("MalformedTimestamp", "the timestamp is not one unix time in seconds");
  }
  const signature = signatureText === null ? undefined : SIGNATURE.exec(signatureText)?.[1];
  if (signature === undefined) {
    return fail("MalformedSignature", `the signature is not one '${SIGNATURE_VERSION}=<64 hex digits>'`);
  }
  if (deliveryId === null || !DELIVERY_ID.test(deliveryId)) {
    return fail("MalformedDeliveryId", "the delivery id is not 1-128 characters of A-Z a-z 0-9 . _ : -");
  }

  const timestamp = Number(timestampText);
  const sent = Buffer.from(signature, "hex");
  // Every secret is compared (no early exit), each in constant time.
  let authentic = false;
  for (const secret of secrets) {
    if (timingSafeEqual(sent, mac(secret, timestamp, input.body))) authentic = true;
  }
  if (!authentic) return fail("BadSignature", "the signature does not match the body and timestamp");

  const age = Math.floor(input.now.getTime() / 1000) - timestamp;
  if (age > tolerance) return fail("StaleTimestamp", `signed ${age} s ago; tolerance ${tolerance} s`);
  if (-age > tolerance) return fail("FutureTimestamp", `signed ${-age} s ahead; tolerance ${tolerance} s`);

  if (input.seenDeliveries.has(deliveryId)) {
    return fail("ReplayedDelivery", `delivery ${deliveryId} was already accepted`);
  }
  input.seenDeliveries.add(deliveryId);
  return { ok: true, deliveryId, timestamp };
}

/**
 * Accepted delivery ids, forgotten once they cannot replay: a request is refused when its timestamp is more
 * than the tolerance away from now, and its timestamp was within the tolerance when first seen, so an id
 * needs remembering for twice the tolerance. Only authentic deliveries are added, so legitimate traffic
 * bounds its size.
 */
export class DeliveryLog implements SeenDeliveries {
  readonly #ids = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #now: () => Date;

  constructor(options: { toleranceSeconds?: number; now?: () => Date } = {}) {
    this.#retentionMs = 2 * (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS) * 1000;
    this.#now = options.now ?? (() => new Date());
  }

  has(id: string): boolean {
    this.#prune();
    return this.#ids.has(id);
  }

  add(id: string): this {
    this.#prune();
    this.#ids.set(id, this.#now().getTime());
    return this;
  }

  get size(): number {
    this.#prune();
    return this.#ids.size;
  }

  #prune(): void {
    const oldest = this.#now().getTime() - this.#retentionMs;
    for (const [id, seen] of this.#ids) {
      if (seen > oldest) break; // insertion order is time order
      this.#ids.delete(id);
    }
  }
}

/** The body of a trust-bundle delivery. */
export interface TrustBundleDelivery {
  bundleSha256: string;
  pem: string;
  /** `keyFingerprint` (SHA-256 of the CA's public key) is absent from deliveries of earlier versions. */
  certificates: Array<{ fingerprint: string; keyFingerprint?: string; subject: string; notAfter: string }>;
  publishedAt: string;
}

/**
 * Parses a verified delivery's body and checks that the PEM is the bundle it claims to be (SHA-256 of the PEM
 * text equals `bundleSha256`). Throws on anything else: a receiver must not install a bundle it cannot vouch for.
 */
export function parseTrustBundleDelivery(body: string | Uint8Array): TrustBundleDelivery {
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  const value = JSON.parse(text) as Partial<TrustBundleDelivery>;
  if (
    typeof value !== "object" ||
    value === null ||
    typeof value.bundleSha256 !== "string" ||
    typeof value.pem !== "string" ||
    !Array.isArray(value.certificates) ||
    typeof value.publishedAt !== "string"
  ) {
    throw new Error(
      "not a trust-bundle delivery: bundleSha256, pem, certificates and publishedAt are required",
    );
  }
  if (createHash("sha256").update(value.pem).digest("hex") !== value.bundleSha256) {
    throw new Error("the delivered PEM does not hash to bundleSha256");
  }
  if (/PRIVATE KEY/.test(value.pem)) throw new Error("the delivered bundle holds a private key");
  return value as TrustBundleDelivery;
}

// ---- helpers --------------------------------------------------------------------------------------------

function mac(secret: string, timestamp: number, body: string | Uint8Array): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
}

/** The header's single value; undefined when absent, null when repeated. */
function header(headers: WebhookHeaders, name: string): string | null | undefined {
  if (typeof (headers as Headers).get === "function" && typeof (headers as Headers).has === "function") {
    // fetch joins a repeated header with ", ": none of the three formats admits a comma, so it is refused.
    return (headers as Headers).get(name)?.trim() ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const values: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (typeof value === "string") values.push(value);
    else values.push(...value);
  }
  if (values.length === 0) return undefined;
  return values.length === 1 ? (values[0] ?? "").trim() : null;
}
