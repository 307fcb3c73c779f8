/**
 * `origin-sync --ack-id <id>`: after the bundle is installed and the server reloaded with it, prove locally
 * that it works and tell the rotator, for origins the rotator's preflight cannot reach (they accept
 * connections from CloudFront only). core/acknowledgement.ts has the protocol.
 *
 * The local check: the rotator publishes, next to the bundle, the public certificates of the client
 * certificates it depends on (`trust/probe-certificates.pem`, tied to the bundle's SHA-256 by its `bundle-sha256`
 * metadata); every one of them must verify against the INSTALLED file (OpenSSL's chain rules: signatures,
 * validity, a self-signed root in the file). Only then is `acks/<id>.json` written to the bundle bucket,
 * with the host's own AWS credentials: bundle hash, host, install/reload/acknowledgement times, the CA key
 * fingerprints in the file and the probe certificates that verified. No key material exists in any of it.
 *
 * What the host can attest and what it cannot: it proves that the file the server reads holds exactly the
 * published bundle, that the reload command succeeded after it was written, and that a certificate from each
 * CA the rotation needs verifies against that file. It does not prove what the server process did on reload
 * beyond the command's success (`--verify-url` adds a real local handshake when the operator has a client
 * credential for one).
 *
 * A small record next to the live file (`.<name>.origin-sync-ack`) remembers when the installed bundle was
 * installed and reloaded, and the last acknowledgement written, so a cron run with nothing new writes nothing.
 */
import type { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { awsErrorName } from "../adapters/errors.ts";
import {
  type Acknowledgement,
  ackKey,
  PROBE_CERTIFICATES_KEY,
  PROBES_BUNDLE_METADATA,
  parseCertificates,
  unprobedCaKeys,
  type VerifiedProbe,
  verifyAgainstBundle,
} from "../core/acknowledgement.ts";
import { fingerprintOf, keyFingerprintOf, sha256Hex } from "../core/pem.ts";
import { writeAtomically } from "./live-file.ts";

/** When the installed bundle was installed and the server reloaded with it, and the last acknowledgement. */
export interface InstallRecord {
  bundleSha256: string;
  installedAt: string;
  reloadedAt: string;
  /** SHA-256 of the last acknowledgement written, without its `acknowledgedAt`. */
  lastAck?: string;
}

export function recordPath(livePath: string): string {
  return join(dirname(livePath), `.${basename(livePath)}.origin-sync-ack`);
}

/** The record of the installed bundle, or undefined (none, or unreadable: treated as none). */
export async function readInstallRecord(livePath: string): Promise<InstallRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(recordPath(livePath), "utf8")) as Partial<InstallRecord>;
    if (
      typeof value.bundleSha256 !== "string" ||
      typeof value.installedAt !== "string" ||
      typeof value.reloadedAt !== "string"
    ) {
      return undefined;
    }
    return {
      bundleSha256: value.bundleSha256,
      installedAt: value.installedAt,
      reloadedAt: value.reloadedAt,
      ...(typeof value.lastAck === "string" ? { lastAck: value.lastAck } : {}),
    };
  } catch {
    return undefined;
  }
}

export async function writeInstallRecord(livePath: string, record: InstallRecord): Promise<void> {
  await writeAtomically({ path: recordPath(livePath), mode: 0o644 }, `${JSON.stringify(record)}\n`);
}

export interface AcknowledgeInput {
  ackId: string;
  bucket: string;
  s3: S3Client;
  /** The live file's path (symlinks resolved) and its content as read back after the reload. */
  livePath: string;
  installedPem: string;
  record: InstallRecord;
  now: Date;
  host?: string;
}

export type AcknowledgeOutcome =
  | { ok: true; written: boolean; acknowledgement: Acknowledgement; key: string }
  | { ok: false; message: string };

/** Verifies the probe certificates against the installed file and writes the acknowledgement. */
export async function acknowledge(input: AcknowledgeInput): Promise<AcknowledgeOutcome> {
  const where = `s3://${input.bucket}/${PROBE_CERTIFICATES_KEY}`;
  let probesPem: string | undefined;
  let probesBundle: string | undefined;
  try {
    const out = await input.s3.send(
      new GetObjectCommand({ Bucket: input.bucket, Key: PROBE_CERTIFICATES_KEY }),
    );
    probesPem = await out.Body?.transformToString("utf8");
    probesBundle = out.Metadata?.[PROBES_BUNDLE_METADATA];
  } catch (error) {
    const name = awsErrorName(error);
    return {
      ok: false,
      message:
        name === "NoSuchKey" || name === "NotFound"
          ? `${where} does not exist (the rotator publishes it with each rotation's bundle)`
          : `cannot read ${where}: ${name ?? (error as Error).message}`,
    };
  }
  const installedSha = input.record.bundleSha256;
  if (probesBundle !== installedSha) {
    return {
      ok: false,
      message: `${where} is for bundle ${probesBundle ?? "(not named)"}, not for the installed one (SHA-256 ${installedSha}): the rotator has not published probe certificates for this bundle`,
    };
  }
  let anchors: X509Certificate[];
  let probes: X509Certificate[];
  try {
    anchors = parseCertificates(input.installedPem);
    probes = parseCertificates(probesPem ?? "");
  } catch {
    return { ok: false, message: `${where} or the installed file holds a certificate that does not parse` };
  }
  if (probes.length === 0) return { ok: false, message: `${where} holds no certificate` };
  const verified: VerifiedProbe[] = [];
  const failures: string[] = [];
  for (const probe of probes) {
    const verdict = verifyAgainstBundle(probe, anchors, input.now);
    const name = `${fingerprintOf(probe).slice(0, 16)}… (${probe.subject.replace(/\n/g, ", ")})`;
    if (verdict.verified) {
      verified.push({ certificateSha256: fingerprintOf(probe), issuerKeySha256: verdict.issuerKeySha256 });
    } else {
      failures.push(`${name}: ${verdict.reason}`);
    }
  }
  if (failures.length > 0) {
    return {
      ok: false,
      message: `probe certificate(s) do not verify against the installed file:\n${failures.map((f) => `  - ${f}`).join("\n")}`,
    };
  }
  const body: Omit<Acknowledgement, "acknowledgedAt"> = {
    version: 1,
    originId: input.ackId,
    host: input.host ?? hostname(),
    bundleSha256: installedSha,
    installedAt: input.record.installedAt,
    reloadedAt: input.record.reloadedAt,
    caKeyFingerprints: [...new Set(anchors.map(keyFingerprintOf))].sort(),
    probes: verified.sort((a, b) => a.certificateSha256.localeCompare(b.certificateSha256)),
    unprobedCaKeyFingerprints: unprobedCaKeys(
      anchors,
      verified.map((p) => p.issuerKeySha256),
    ),
    checks: { verified: true, reloaded: true },
  };
  const digest = sha256Hex(JSON.stringify(body));
  const acknowledgement: Acknowledgement = { ...body, acknowledgedAt: input.now.toISOString() };
  const key = ackKey(input.ackId);
  if (input.record.lastAck === digest) return { ok: true, written: false, acknowledgement, key };
  try {
    await input.s3.send(
      new PutObjectCommand({
        Bucket: input.bucket,
        Key: key,
        Body: `${JSON.stringify(acknowledgement, null, 2)}\n`,
        ContentType: "application/json",
      }),
    );
  } catch (error) {
    return {
      ok: false,
      message: `cannot write s3://${input.bucket}/${key}: ${awsErrorName(error) ?? (error as Error).message}`,
    };
  }
  await writeInstallRecord(input.livePath, { ...input.record, lastAck: digest });
  return { ok: true, written: true, acknowledgement, key };
}
