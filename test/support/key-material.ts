/** Assertions that no private key material leaked into something that is logged, stored or answered. */
import { createPrivateKey } from "node:crypto";
import { expect } from "vitest";

/** The base64 body of a PEM, without armour and line breaks. */
function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
}

/** JWK members that are private (RFC 7518 §6.2.2 EC `d`, §6.3.2 RSA `d p q dp dq qi`; RFC 8037 OKP `d`). */
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"] as const;

/**
 * The key's secret values (base64url, as the JWK gives them) and the byte ranges of its DER that hold them.
 * A PKCS#8 key also carries public values (an RSA modulus and exponent, an EC public point), which every
 * certificate of the key repeats: those are no leak, and checking them made the assertion fail by chance
 * whenever a certificate's base64 happened to line up with the key's.
 */
function secretsOf(pem: string): { ranges: Array<[number, number]>; values: string[] } {
  // The PEM's own DER, whatever its format (PKCS#8, PKCS#1, SEC1): its body is what would leak.
  const der = Buffer.from(pemBody(pem), "base64");
  let jwk: Record<string, string | undefined>;
  try {
    jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, string | undefined>;
  } catch {
    // Not a key Node reads (an encrypted one, say): every byte of it counts as secret.
    return { ranges: [[0, der.length]], values: [] };
  }
  const values = PRIVATE_JWK_MEMBERS.flatMap((member) => (jwk[member] ? [jwk[member]!] : []));
  const ranges: Array<[number, number]> = [];
  for (const value of values) {
    const bytes = Buffer.from(value, "base64url");
    const at = der.indexOf(bytes);
    if (at < 0) throw new Error("key-material: a private value is not in the PEM's DER");
    ranges.push([at, at + bytes.length]);
  }
  return { ranges, values };
}

export function expectNoKeyMaterial(value: unknown, privateKeyPems: string[] = []): void {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  expect(text).not.toContain("PRIVATE KEY");
  const flat = text.replace(/\\n|\s+/g, "");
  for (const given of privateKeyPems) {
    // A PEM found inside JSON text keeps its line breaks escaped.
    const pem = given.replaceAll("\\n", "\n");
    const body = pemBody(pem);
    const { ranges, values } = secretsOf(pem);
    // Any 40-character window of the PEM body (30 bytes of DER) that holds secret bytes would be a leak.
    for (let i = 0; i + 40 <= body.length; i += 40) {
      const [from, to] = [(i / 4) * 3, ((i + 40) / 4) * 3];
      if (!ranges.some(([start, end]) => start < to && end > from)) continue;
      expect(flat.includes(body.slice(i, i + 40)), "private key bytes leaked").toBe(false);
    }
    // So would a secret value itself, as a JWK (base64url) or hex would spell it.
    for (const secret of values) {
      expect(flat.includes(secret), "private key value leaked (base64url)").toBe(false);
      const hex = Buffer.from(secret, "base64url").toString("hex");
      expect(flat.toLowerCase().includes(hex), "private key value leaked (hex)").toBe(false);
    }
  }
}
