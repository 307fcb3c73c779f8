/**
 * Trust target: a signed HTTPS push of the bundle to a custom / on-prem origin (nginx, envoy, haproxy behind
 * a small receiver, or origin-sync), which installs it and reloads.
 *
 * Request: `POST <url>`, `content-type: application/json`, body
 * `{ bundleSha256, pem, certificates: [{ fingerprint, keyFingerprint, subject, notAfter }], publishedAt }` (public CA material
 * only), signed as `webhook-verify.ts` describes (`x-mtls-rotator-timestamp`, `x-mtls-rotator-signature`,
 * `x-mtls-rotator-delivery`). The receiver verifies with `verifyWebhook` and answers 401 when it refuses.
 *
 * Idempotency (chosen): the receiver is the only one who knows what it has installed, so the target always
 * sends and the receiver de-duplicates by `bundleSha256`: it answers 2xx `{"changed": false}` when it already
 * holds that bundle (no reload), 2xx `{"changed": true}` when it installed it. A 2xx without a `changed`
 * field counts as changed. Sending the same bundle again is therefore harmless, which is also what makes a
 * retry after a lost answer safe. A push target cannot be read back: `read()` answers undefined (the
 * versioned S3 object is the bundle of record).
 *
 * Delivery: every HTTP request, retries included, carries a fresh delivery id and timestamp (the receiver
 * refuses a repeated id as a replay). 5xx, 408, 429, timeouts and connection errors are retried with
 * exponential backoff (jittered, capped; `Retry-After` honoured up to the cap) for at most `maxAttempts`;
 * any other answer (4xx, 3xx: redirects are not followed) fails at once.
 *
 * The HMAC secret is configuration (a string or a loader, e.g. from Secrets Manager). It is held in a private
 * field, never put in an error, a log event, `JSON.stringify` or `inspect` output; the URL's query string
 * is left out of the target's name for the same reason.
 */
import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { webhookUrlProblem } from "../../config/rules.ts";
import type { TrustBundle } from "../../core/trust-bundle.ts";
import type { TrustTarget } from "../publish-bundle.ts";
import { trustTargetName } from "../target-names.ts";
import { signWebhook, WEBHOOK_HEADERS } from "../webhook-verify.ts";

export interface WebhookAttemptLog {
  target: string;
  deliveryId: string;
  attempt: number;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** Transport failure (timeout, connection refused), when none did. */
  error?: string;
  /** Delay before the next attempt, when there is one. */
  retryInMs?: number;
}

export interface WebhookTargetOptions {
  /** https:// — or http:// on a loopback address, for tests. */
  url: string | URL;
  /** The HMAC secret, or a loader for it (called on each write, so a rotated secret is picked up). */
  secret: string | (() => Promise<string>);
  name?: string;
  now?: () => Date;
  /** Attempts per write, the first included. Default 4, at most 10. */
  maxAttempts?: number;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  /** First backoff delay; doubles each retry. Default 250 ms. */
  backoffBaseMs?: number;
  /** Backoff cap (also caps Retry-After). Default 4 s. */
  backoffMaxMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** One event per attempt; never carries the secret, the signature or the body. */
  log?: (event: WebhookAttemptLog) => void;
}

export class WebhookConfigError extends Error {
  override name = "WebhookConfigError";
  readonly retryable = false;
}

export class WebhookDeliveryError extends Error {
  override name = "WebhookDeliveryError";
  readonly target: string;
  readonly attempts: number;
  /** The last HTTP status, when an answer arrived. */
  readonly status?: number;
  /** The receiver's reason (`{"reason": ...}` in its answer), e.g. BadSignature. */
  readonly reason?: string;
  /** No answer, or one a later attempt may change; a refusal is final. */
  readonly retryable: boolean;
  constructor(
    message: string,
    details: { target: string; attempts: number; status?: number; reason?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.target = details.target;
    this.attempts = details.attempts;
    this.status = details.status;
    this.reason = details.reason;
    this.retryable = details.status === undefined || isRetryableStatus(details.status);
  }
}

const RETRYABLE_STATUS = new Set([408, 429]);

/** An answer a later attempt may change: a server error, a timeout, too many requests. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_STATUS.has(status);
}

export { webhookUrlProblem };

export class WebhookTarget implements TrustTarget {
  readonly name: string;
  readonly #url: URL;
  readonly #secret: string | (() => Promise<string>);
  readonly #now: () => Date;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #log: ((event: WebhookAttemptLog) => void) | undefined;

  constructor(options: WebhookTargetOptions) {
    const url = new URL(options.url);
    const problem = webhookUrlProblem(url);
    if (problem) throw new WebhookConfigError(problem);
    if (typeof options.secret === "string" && options.secret.length < 16) {
      throw new WebhookConfigError("webhook secret must be at least 16 characters");
    }
    const maxAttempts = options.maxAttempts ?? 4;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
      throw new WebhookConfigError("webhook maxAttempts must be an integer from 1 to 10");
    }
    this.#url = url;
    this.#secret = options.secret;
    this.name = options.name ?? trustTargetName.webhook(url);
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = maxAttempts;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#backoffBaseMs = options.backoffBaseMs ?? 250;
    this.#backoffMaxMs = options.backoffMaxMs ?? 4_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#log = options.log;
  }

  /** A push target has no readable state; the S3 object is the bundle of record. */
  async read(): Promise<string | undefined> {
    return undefined;
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const secret = await this.#resolveSecret();
    const body = JSON.stringify({
      bundleSha256: bundle.sha256,
      pem: bundle.pem,
      certificates: bundle.entries.map((e) => ({
        fingerprint: e.fingerprint,
        keyFingerprint: e.keyFingerprint,
        subject: e.subject,
        notAfter: e.notAfter,
      })),
      publishedAt: this.#now().toISOString(),
    });
    let last: { status?: number; reason?: string; error?: unknown } = {};
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const deliveryId = randomUUID();
      const timestamp = Math.floor(this.#now().getTime() / 1000);
      let response: Response;
      try {
        response = await fetch(this.#url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "mtls-rotator-webhook/1",
            [WEBHOOK_HEADERS.timestamp]: String(timestamp),
            [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, body),
            [WEBHOOK_HEADERS.delivery]: deliveryId,
          },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        last = { error };
        const retryInMs = attempt < this.#maxAttempts ? this.#backoff(attempt) : undefined;
        this.#log?.({ target: this.name, deliveryId, attempt, error: describe(error), retryInMs });
        if (retryInMs !== undefined) await this.#sleep(retryInMs);
        continue;
      }
      const answer = await readAnswer(response);
      if (response.ok) {
        this.#log?.({ target: this.name, deliveryId, attempt, status: response.status });
        return {
          changed: answer.changed !== false,
          ...(typeof answer.version === "string" ? { version: answer.version } : {}),
        };
      }
      const reason = typeof answer.reason === "string" ? answer.reason : undefined;
      last = { status: response.status, reason };
      const retryable = isRetryableStatus(response.status);
      const retryInMs =
        retryable && attempt < this.#maxAttempts
          ? this.#backoff(attempt, response.headers.get("retry-after"))
          : undefined;
      this.#log?.({ target: this.name, deliveryId, attempt, status: response.status, retryInMs });
      if (!retryable) {
        throw new WebhookDeliveryError(
          `${this.name} refused the trust bundle: HTTP ${response.status}${reason ? ` (${reason})` : ""}`,
          { target: this.name, attempts: attempt, status: response.status, reason },
        );
      }
      if (retryInMs !== undefined) await this.#sleep(retryInMs);
    }
    const what =
      last.status !== undefined
        ? `HTTP ${last.status}${last.reason ? ` (${last.reason})` : ""}`
        : describe(last.error);
    throw new WebhookDeliveryError(
      `${this.name} did not take the trust bundle after ${this.#maxAttempts} attempts: ${what}`,
      { target: this.name, attempts: this.#maxAttempts, status: last.status, reason: last.reason },
      last.error === undefined ? undefined : { cause: last.error },
    );
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }

  [inspect.custom](): string {
    return `WebhookTarget { name: '${this.name}' }`;
  }

  async #resolveSecret(): Promise<string> {
    let secret: string;
    try {
      secret = typeof this.#secret === "string" ? this.#secret : await this.#secret();
    } catch (error) {
      // The loader's error may describe the secret store, not the secret; keep it as the cause.
      throw new WebhookConfigError(`${this.name}: the webhook secret could not be loaded`, { cause: error });
    }
    if (typeof secret !== "string" || secret.length < 16) {
      throw new WebhookConfigError(`${this.name}: the webhook secret must be at least 16 characters`);
    }
    return secret;
  }

  /** Exponential backoff with equal jitter, capped; a Retry-After in seconds is honoured up to the cap. */
  #backoff(attempt: number, retryAfter?: string | null): number {
    const exponential = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** (attempt - 1));
    const jittered = Math.round(exponential / 2 + (Math.random() * exponential) / 2);
    const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    return Math.min(this.#backoffMaxMs, Math.max(jittered, asked));
  }
}

async function readAnswer(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text().catch(() => "");
  if (!(response.headers.get("content-type") ?? "").includes("json")) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string } }).cause;
  if (error.name === "TimeoutError") return "timed out";
  return cause?.code ? `${cause.code}` : `${error.name}: ${error.message}`;
}
