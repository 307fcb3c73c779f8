/**
 * Validation of a client-CA bundle fetched for an origin, before it may replace the live file: every PEM
 * block must be a complete, parseable CA certificate that has not expired; a private key anywhere refuses
 * the whole bundle (and is never echoed). Each problem names the block it is about. The bundle that is
 * installed is the canonical one of `computeTrustBundle` (re-encoded, de-duplicated, stable order), so the
 * same CAs always give the same bytes and the same SHA-256 as the rotator publishes.
 */
import { X509Certificate } from "node:crypto";
import { factsOf } from "../core/certificate.ts";
import {
  computeTrustBundle,
  TRUST_TARGET_LIMITS,
  type TrustBundle,
  TrustBundleError,
} from "../core/trust-bundle.ts";

const MARKER = /-----(BEGIN|END) ([A-Z0-9 ]+)-----/g;

/** A PEM block as found in the text: its label, its text (armour included) and its 1-based position. */
export interface PemBlock {
  index: number;
  label: string;
  text: string;
}

export interface BundleValidation {
  /** The canonical bundle to install (only when `problems` is empty). */
  bundle?: TrustBundle;
  /** Every reason to refuse the bundle, one line each, naming the block concerned. */
  problems: string[];
  /** Reasons for concern that do not refuse the bundle (e.g. a CA not valid yet). */
  warnings: string[];
  /** True when a private key was found: the source itself must be cleaned up. */
  containsPrivateKey: boolean;
}

/**
 * Scans PEM armour strictly: every BEGIN needs its END with the same label before the next BEGIN. Text
 * between blocks (comments, `subject=` lines) is allowed, as OpenSSL and nginx allow it.
 */
export function scanPemBlocks(text: string): { blocks: PemBlock[]; problems: string[] } {
  const blocks: PemBlock[] = [];
  const problems: string[] = [];
  let open: { label: string; start: number; index: number } | undefined;
  let count = 0;
  for (const match of text.matchAll(MARKER)) {
    const [marker, kind, label = ""] = match;
    const at = match.index ?? 0;
    if (kind === "BEGIN") {
      count += 1;
      if (open)
        problems.push(`block ${open.index} (${describeLabel(open.label)}) has no END line (truncated?)`);
      open = { label, start: at, index: count };
      continue;
    }
    if (!open) {
      problems.push(`an END line (${describeLabel(label)}) has no BEGIN line (truncated?)`);
      continue;
    }
    if (open.label !== label) {
      problems.push(`block ${open.index} (${describeLabel(open.label)}) ends with a mismatched END line`);
    } else {
      blocks.push({ index: open.index, label, text: text.slice(open.start, at + marker.length) });
    }
    open = undefined;
  }
  if (open) problems.push(`block ${open.index} (${describeLabel(open.label)}) has no END line (truncated?)`);
  return { blocks, problems };
}

function isPrivateKeyLabel(label: string): boolean {
  return label.includes("PRIVATE");
}

/** A label safe to print: a private key's exact label is not repeated, only that it is one. */
function describeLabel(label: string): string {
  return isPrivateKeyLabel(label) ? "a private key" : label;
}

/**
 * Validates `text` as a client-CA bundle at `now`. Returns every problem found (not only the first), or the
 * canonical bundle.
 */
export function validateBundle(text: string, now: Date): BundleValidation {
  const warnings: string[] = [];
  if (text.trim() === "") return { problems: ["the bundle is empty"], warnings, containsPrivateKey: false };
  const { blocks, problems } = scanPemBlocks(text);
  // A key whose armour is damaged still counts as a key.
  const containsPrivateKey =
    blocks.some((block) => isPrivateKeyLabel(block.label)) || /-----BEGIN [A-Z0-9 ]*PRIVATE/.test(text);
  if (blocks.length === 0 && problems.length === 0) {
    problems.push("the source holds no PEM block at all (not a PEM bundle)");
  }
  const total = blocks.length;
  const certificates: string[] = [];
  for (const block of blocks) {
    const where = `block ${block.index} of ${total}`;
    if (isPrivateKeyLabel(block.label)) {
      problems.push(`${where} is a private key; a trust bundle holds CA certificates only`);
      continue;
    }
    if (block.label !== "CERTIFICATE") {
      problems.push(`${where} is a ${block.label}, not a CERTIFICATE`);
      continue;
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block.text);
    } catch {
      problems.push(`${where} does not parse as an X.509 certificate`);
      continue;
    }
    const facts = factsOf(cert);
    const name = `${where} (${facts.subject || "empty subject"}, SHA-256 ${facts.fingerprint.slice(0, 16)}…)`;
    if (!cert.ca) {
      problems.push(`${name} is not a CA certificate (basicConstraints CA:TRUE missing: a leaf?)`);
      continue;
    }
    if (facts.notAfter.getTime() <= now.getTime()) {
      problems.push(`${name} expired at ${facts.notAfter.toISOString()}`);
      continue;
    }
    if (facts.notBefore.getTime() > now.getTime()) {
      warnings.push(`${name} is not valid before ${facts.notBefore.toISOString()}`);
    }
    certificates.push(block.text);
  }
  if (containsPrivateKey && !problems.some((p) => p.includes("private key"))) {
    problems.push("the source holds a damaged private key block; a trust bundle holds CA certificates only");
  }
  if (problems.length > 0) return { problems, warnings, containsPrivateKey };
  try {
    const bundle = computeTrustBundle({
      current: [certificates.join("\n")],
      now,
      limits: TRUST_TARGET_LIMITS.unlimited,
    });
    return { bundle, problems, warnings, containsPrivateKey };
  } catch (error) {
    // Everything computeTrustBundle checks was checked above; keep its verdict all the same.
    if (error instanceof TrustBundleError) return { problems: [error.message], warnings, containsPrivateKey };
    throw error;
  }
}
