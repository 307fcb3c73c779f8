/**
 * The bundle bucket's side of acknowledgements (core/acknowledgement.ts): the probe certificates the trust
 * phase publishes next to the bundle, and the acknowledgements origin hosts write with their own IAM identity
 * under `acks/`, which the preflight reads. The workflow's role may read `acks/*` and write only the probe
 * certificates object (infra/rotation.ts); it never writes an acknowledgement.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { awsErrorName } from "../adapters/errors.ts";
import { ackKey, PROBE_CERTIFICATES_KEY, PROBES_BUNDLE_METADATA } from "../core/acknowledgement.ts";
import { sha256Hex } from "../core/pem.ts";

/** An acknowledgement bigger than this is not one (a real one is well under 4 KB). */
const MAX_ACK_BYTES = 64 * 1024;

const missing = (error: unknown) => ["NoSuchKey", "NotFound"].includes(awsErrorName(error) ?? "");

export class AcknowledgementStore {
  readonly #client: S3Client;
  readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.bucket = bucket;
  }

  /** The probe certificates published now (PEM), or undefined. */
  async readProbeCertificates(): Promise<string | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: PROBE_CERTIFICATES_KEY }),
      );
      return await out.Body?.transformToString("utf8");
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  /**
   * Publishes the probe certificates chosen for the bundle `bundleSha256`; the same content for the same
   * bundle writes nothing (idempotent, like the bundle object).
   */
  async publishProbeCertificates(pem: string, bundleSha256: string): Promise<{ changed: boolean }> {
    const sha256 = sha256Hex(pem);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: PROBE_CERTIFICATES_KEY }),
      );
      if (head.Metadata?.sha256 === sha256 && head.Metadata?.[PROBES_BUNDLE_METADATA] === bundleSha256) {
        return { changed: false };
      }
    } catch (error) {
      if (!missing(error)) throw error;
    }
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: PROBE_CERTIFICATES_KEY,
        Body: pem,
        ContentType: "application/x-pem-file",
        Metadata: { sha256, [PROBES_BUNDLE_METADATA]: bundleSha256 },
      }),
    );
    return { changed: true };
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
