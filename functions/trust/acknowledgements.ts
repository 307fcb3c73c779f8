/**
 * The bundle bucket's side of acknowledgements (core/acknowledgement.ts): the probe certificates the trust
 * phase publishes next to the bundle, and the acknowledgements origin hosts write with their own IAM identity
 * under `acks/`, which the preflight reads. The workflow's role may read `acks/*` and write only the probe
 * certificates object (infra/rotation.ts); it never writes an acknowledgement.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { awsErrorName } from "../adapters/errors.ts";
import { ackKey, PROBE_CERTIFICATES_KEY, PROBES_BUNDLE_METADATA } from "../core/acknowledgement.ts";
import { sha256Hex } from "../core/pem.ts";

/** An acknowledgement bigger than this is not one (a real one is well under 4 KB). */
const MAX_ACK_BYTES = 64 * 1024;

const missing = (error: unknown) => ["NoSuchKey", "NotFound"].includes(awsErrorName(error) ?? "");

/**
 * A conditional write that lost to another writer: 412 (the ETag or the absence it was conditioned on no
 * longer holds), 409 ConditionalRequestConflict (a conflicting write during the upload: "you should fetch the
 * object's ETag and retry"), 404 (an If-Match on an object deleted meanwhile). Each means: read again.
 */
const lostRace = (error: unknown) =>
  ["PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"].includes(awsErrorName(error) ?? "");

/** How many times a probe-certificates update reads again after losing to another writer. */
export const PROBE_UPDATE_ATTEMPTS = 8;

/** The probe certificates object as read: its text, ETag and the bundle it was chosen for. */
interface ProbeObject {
  pem: string;
  etag: string;
  sha256?: string;
  bundleSha256?: string;
}

export class AcknowledgementStore {
  readonly #client: S3Client;
  readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.bucket = bucket;
  }

  /**
   * Publishes the probe certificates for the bundle `bundleSha256`: `choose` gets what is published now (the
   * PEM, or undefined) and answers what to publish — the caller keeps the earlier probes it still wants, so
   * the object is read, merged and written as one step. The write is conditional on the object read (S3
   * `If-Match` its ETag, or `If-None-Match: *` when there was none): when another writer (a concurrent
   * rotation's trust phase, the reconciliation) wrote in between, it is read and merged again, so no writer's
   * certificates are lost. The same content for the same bundle writes nothing.
   */
  async publishProbeCertificates<T extends { pem: string }>(
    bundleSha256: string,
    choose: (previousPem: string | undefined) => T,
  ): Promise<{ changed: boolean; chosen: T }> {
    const result = await this.#update(bundleSha256, choose, false);
    return result as { changed: boolean; chosen: T };
  }

  /**
   * The reconciliation's side: the bundle changed, so the probe certificates published (those that still
   * verify, as `choose` keeps them) are published again for the new bundle — origin-sync acknowledges a
   * bundle only with probe certificates published for it. Nothing when no rotation has published any.
   */
  async republishProbeCertificates(
    bundleSha256: string,
    choose: (previousPem: string) => { pem: string },
  ): Promise<{ changed: boolean }> {
    const { changed } = await this.#update(bundleSha256, (previous) => choose(previous ?? ""), true);
    return { changed };
  }

  async #update<T extends { pem: string }>(
    bundleSha256: string,
    choose: (previousPem: string | undefined) => T,
    onlyIfPublished: boolean,
  ): Promise<{ changed: boolean; chosen?: T }> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.#readProbeObject();
      if (!current && onlyIfPublished) return { changed: false };
      const chosen = choose(current?.pem);
      const sha256 = sha256Hex(chosen.pem);
      if (current?.sha256 === sha256 && current.bundleSha256 === bundleSha256)
        return { changed: false, chosen };
      try {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: PROBE_CERTIFICATES_KEY,
            Body: chosen.pem,
            ContentType: "application/x-pem-file",
            Metadata: { sha256, [PROBES_BUNDLE_METADATA]: bundleSha256 },
            ...(current ? { IfMatch: current.etag } : { IfNoneMatch: "*" }),
          }),
        );
        return { changed: true, chosen };
      } catch (error) {
        if (!lostRace(error) || attempt >= PROBE_UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  async #readProbeObject(): Promise<ProbeObject | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: PROBE_CERTIFICATES_KEY }),
      );
      return {
        pem: (await out.Body?.transformToString("utf8")) ?? "",
        etag: out.ETag ?? "",
        ...(out.Metadata?.sha256 ? { sha256: out.Metadata.sha256 } : {}),
        ...(out.Metadata?.[PROBES_BUNDLE_METADATA]
          ? { bundleSha256: out.Metadata[PROBES_BUNDLE_METADATA] }
          : {}),
      };
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  /** An origin's acknowledgement as written (parsed JSON; a string when it is not JSON), or undefined. */
  async read(ackId: string): Promise<unknown | undefined> {
    let text: string | undefined;
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: ackKey(ackId) }));
      text = await out.Body?.transformToString("utf8");
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
    if (text === undefined || text.length > MAX_ACK_BYTES) return "";
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
}
