/** Assertions that no private key material leaked into something that is logged, stored or answered. */
import { expect } from "vitest";

/** The base64 body of a PEM, without armour and line breaks. */
function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
}

export function expectNoKeyMaterial(value: unknown, privateKeyPems: string[] = []): void {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  expect(text).not.toContain("PRIVATE KEY");
  const flat = text.replace(/\\n|\s+/g, "");
  for (const pem of privateKeyPems) {
    const body = pemBody(pem);
    // Any 40-character window of the key body would be a leak.
    for (let i = 0; i + 40 <= body.length; i += 40) {
      expect(flat.includes(body.slice(i, i + 40)), "private key bytes leaked").toBe(false);
    }
  }
}
