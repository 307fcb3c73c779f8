/**
 * A leaf never outlives the CA certificates it chains to (issue 13): a client certificate valid after its
 * issuing CA's certificate (or the root above it) expired fails every origin's chain validation from that
 * moment, whatever its own notAfter says. So the validity issuance asks for is capped at the earliest notAfter
 * of the CA's chain (GetCertificateAuthorityCertificate: the CA's certificate and, for a subordinate, the chain
 * above it), in whole days from now; a chain that expires within a day leaves no leaf worth issuing.
 */
import { X509Certificate } from "node:crypto";
import { oneLineName } from "./certificate.ts";
import { splitPem } from "./pem.ts";

const DAY = 86_400_000;

export interface AuthorityValidity {
  /** Days to ask for: the requested ones, or fewer when the chain expires sooner. */
  days: number;
  /** The chain certificate that capped them (absent when nothing did). */
  cappedBy?: { subject: string; notAfter: string };
}

/** The earliest-expiring certificate of a PEM chain, or undefined when none parses. */
export function earliestExpiry(chainPem: string): { subject: string; notAfter: Date } | undefined {
  let earliest: { subject: string; notAfter: Date } | undefined;
  for (const pem of splitPem(chainPem)) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      continue;
    }
    const notAfter = new Date(certificate.validTo);
    if (!earliest || notAfter < earliest.notAfter) {
      earliest = { subject: oneLineName(certificate.subject), notAfter };
    }
  }
  return earliest;
}

/**
 * The validity (days) a leaf issued `now` may have under `chainPem`: `requestedDays`, or the whole days left
 * before the chain's earliest notAfter when fewer (0 when less than a day is left: issue nothing).
 */
export function validityWithinAuthority(
  requestedDays: number,
  chainPem: string,
  now: Date,
): AuthorityValidity {
  const earliest = earliestExpiry(chainPem);
  if (!earliest) return { days: requestedDays };
  const left = Math.floor((earliest.notAfter.getTime() - now.getTime()) / DAY);
  if (left >= requestedDays) return { days: requestedDays };
  return {
    days: Math.max(0, left),
    cappedBy: { subject: earliest.subject, notAfter: earliest.notAfter.toISOString() },
  };
}
