/**
 * Trust target: an EventBridge event announcing a published bundle, for anything that wants to react (a
 * pull-based origin agent, an audit trail, a chat notification):
 *
 *   Source "mtls-rotator", DetailType "TrustBundlePublished",
 *   Detail { bundleSha256, version, certificates: [{ subject, fingerprint, keyFingerprint, notAfter }], location? }
 *
 * Only metadata travels: fingerprints, subjects and expiry, never PEM (the bundle is public CA material, but
 * the event has no need for it and must never be a place key material could ride along; `location` says where
 * to fetch the bundle). `version` is a sequence number, one higher for each distinct bundle this target
 * announced: EventBridge neither orders nor de-duplicates deliveries, so consumers keep the highest version
 * (and may de-duplicate by bundleSha256).
 *
 * Idempotency (chosen): it is a notification, so `changed` says whether the bundle differs from the last one
 * this target announced. That last announcement is kept in an injected `AnnouncementStore` (in memory by
 * default; a durable one — a DynamoDB item, an S3 object — keeps the sequence across cold starts). The store
 * is written after PutEvents succeeded: a crash in between re-announces the same bundle with the same
 * version, which consumers de-duplicate. `read()` answers undefined: an event cannot be read back.
 *
 * PutEvents answers 200 even when an entry failed, so the entry result is checked (retryable entry codes
 * InternalFailure and ThrottlingException are retried, boundedly). PutEvents to an event bus that does not
 * exist is silently dropped by EventBridge, so the bus is checked once with DescribeEventBus.
 */
import {
  DescribeEventBusCommand,
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import { awsErrorName } from "../../adapters/errors.ts";
import type { TrustBundle } from "../../core/trust-bundle.ts";
import type { TrustTarget } from "../publish-bundle.ts";
import { trustTargetName } from "../target-names.ts";

export const EVENT_SOURCE = "mtls-rotator";
export const EVENT_DETAIL_TYPE = "TrustBundlePublished";

export interface TrustBundlePublishedDetail {
  bundleSha256: string;
  version: number;
  /** `keyFingerprint`: SHA-256 of the CA's public key, its identity (same name, new key: another CA). */
  certificates: Array<{ subject: string; fingerprint: string; keyFingerprint: string; notAfter: string }>;
  location?: string;
}

/** The last bundle this target announced. */
export interface Announcement {
  bundleSha256: string;
  version: number;
  eventId: string;
}

export interface AnnouncementStore {
  load(): Promise<Announcement | undefined>;
  save(announcement: Announcement): Promise<void>;
}

/** An in-memory store: enough within one process (tests, one warm Lambda). */
export function memoryAnnouncementStore(initial?: Announcement): AnnouncementStore {
  let current = initial && { ...initial };
  return {
    load: async () => current && { ...current },
    save: async (announcement) => {
      current = { ...announcement };
    },
  };
}

export interface EventBridgeTargetOptions {
  client: EventBridgeClient;
  /** Bus name or ARN. Default "default". */
  eventBusName?: string;
  source?: string;
  store?: AnnouncementStore;
  /** Where consumers fetch the bundle (e.g. the versioned S3 object's URI). */
  location?: (bundle: TrustBundle) => string | undefined | Promise<string | undefined>;
  /** ARNs the event concerns (e.g. trust stores), counted toward the entry size. */
  resources?: string[];
  now?: () => Date;
  /** PutEvents attempts for retryable entry failures. Default 3. */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class EventBridgeTargetError extends Error {
  override name = "EventBridgeTargetError";
  readonly errorCode?: string;
  /** Only an entry error EventBridge calls transient: a refusal, a missing bus or PEM in an event is final. */
  readonly retryable: boolean;
  constructor(message: string, errorCode?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.errorCode = errorCode;
    this.retryable = RETRYABLE_ENTRY_ERRORS.has(errorCode ?? "");
  }
}

const RETRYABLE_ENTRY_ERRORS = new Set(["InternalFailure", "ThrottlingException"]);

export class EventBridgeTarget implements TrustTarget {
  readonly name: string;
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #source: string;
  readonly #store: AnnouncementStore;
  readonly #location: EventBridgeTargetOptions["location"];
  readonly #resources: string[];
  readonly #now: () => Date;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  #busChecked = false;

  constructor(options: EventBridgeTargetOptions) {
    this.#client = options.client;
    this.#bus = options.eventBusName ?? "default";
    this.#source = options.source ?? EVENT_SOURCE;
    this.#store = options.store ?? memoryAnnouncementStore();
    this.#location = options.location;
    this.#resources = options.resources ?? [];
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.name = trustTargetName.eventBus(this.#bus);
  }

  async read(): Promise<string | undefined> {
    return undefined;
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const last = await this.#store.load();
    if (last?.bundleSha256 === bundle.sha256) return { changed: false, version: last.eventId };
    await this.#checkBus();
    const location = await this.#location?.(bundle);
    const detail: TrustBundlePublishedDetail = {
      bundleSha256: bundle.sha256,
      version: (last?.version ?? 0) + 1,
      certificates: bundle.entries.map((e) => ({
        subject: e.subject,
        fingerprint: e.fingerprint,
        keyFingerprint: e.keyFingerprint,
        notAfter: e.notAfter,
      })),
      ...(location ? { location } : {}),
    };
    const text = JSON.stringify(detail);
    if (text.includes("-----BEGIN") || /PRIVATE KEY/.test(text)) {
      throw new EventBridgeTargetError(`${this.name}: refusing to put PEM material into an event`);
    }
    const eventId = await this.#put(text);
    await this.#store.save({ bundleSha256: bundle.sha256, version: detail.version, eventId });
    return { changed: true, version: eventId };
  }

  async #checkBus(): Promise<void> {
    if (this.#busChecked) return;
    try {
      await this.#client.send(new DescribeEventBusCommand({ Name: this.#bus }));
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") {
        throw new EventBridgeTargetError(
          `${this.name}: event bus ${this.#bus} does not exist (PutEvents would drop the event silently)`,
          "ResourceNotFoundException",
          { cause: error },
        );
      }
      throw error;
    }
    this.#busChecked = true;
  }

  async #put(detail: string): Promise<string> {
    let result: PutEventsResultEntry | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const out = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: this.#source,
              DetailType: EVENT_DETAIL_TYPE,
              Detail: detail,
              EventBusName: this.#bus,
              Time: this.#now(),
              ...(this.#resources.length > 0 ? { Resources: this.#resources } : {}),
            },
          ],
        }),
      );
      result = out.Entries?.[0];
      if (!out.FailedEntryCount && result?.EventId) return result.EventId;
      if (!RETRYABLE_ENTRY_ERRORS.has(result?.ErrorCode ?? "") || attempt === this.#maxAttempts) break;
      await this.#sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)));
    }
    throw new EventBridgeTargetError(
      `${this.name}: PutEvents refused the event: ${result?.ErrorCode ?? "no result"}${result?.ErrorMessage ? ` (${result.ErrorMessage})` : ""}`,
      result?.ErrorCode,
    );
  }
}
