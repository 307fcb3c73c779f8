/** PEM helpers: split bundles, fingerprint certificates. No I/O. */
import { createHash, X509Certificate } from "node:crypto";

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every PEM block of the given label in a text, normalized to end with a newline. */
export function splitPem(text: string, label = "CERTIFICATE"): string[] {
  const blocks: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] === label) blocks.push(`${match[0].trim()}\n`);
  }
  return blocks;
}

/** Labels of every PEM block present (e.g. to detect a private key where a certificate is expected). */
export function pemLabels(text: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => m[1] ?? "");
}

/** Lowercase hex SHA-256 of the certificate's DER encoding. */
export function fingerprintOf(certificate: X509Certificate): string {
  return createHash("sha256").update(certificate.raw).digest("hex");
}

/**
 * Lowercase hex SHA-256 of the certificate's public key (its DER SubjectPublicKeyInfo): a CA's identity.
 * Two certificates of one CA key (a CA certificate renewed with its key) share it; a CA re-keyed under the
 * same name does not.
 */
export function keyFingerprintOf(certificate: X509Certificate): string {
  return createHash("sha256")
    .update(certificate.publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Parse a certificate, or undefined when the text is not a certificate. */
export function tryParseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}
