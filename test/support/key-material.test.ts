/** The key-leak assertion itself: it must catch a leaked key in any spelling, and only the secret parts. */
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectNoKeyMaterial } from "./key-material.ts";

const keys = {
  "RSA-2048 (PKCS#8)": generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string,
  "RSA-2048 (PKCS#1)": generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs1",
    format: "pem",
  }) as string,
  "P-256 (PKCS#8)": generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string,
  "P-256 (SEC1)": generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "sec1",
    format: "pem",
  }) as string,
};

const body = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");

describe.each(Object.entries(keys))("expectNoKeyMaterial, %s", (_, pem) => {
  const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, string>;

  it("fails on the PEM in JSON, on its body alone, on a piece of it, and on the secret as JWK or hex", () => {
    expect(() => expectNoKeyMaterial({ log: pem }, [pem])).toThrow();
    // The PEM as found inside JSON text (line breaks escaped), leaked with its armour removed.
    expect(() => expectNoKeyMaterial(body(pem), [JSON.stringify(pem).slice(1, -1)])).toThrow(/leaked/);
    expect(() => expectNoKeyMaterial({ value: body(pem) }, [pem])).toThrow(/leaked/);
    // A piece of the body around the secret (as a truncated log line would keep it).
    const der = Buffer.from(body(pem), "base64");
    const at = der.indexOf(Buffer.from(jwk.d!, "base64url"));
    const start = Math.floor(at / 3) * 4;
    expect(() => expectNoKeyMaterial(`…${body(pem).slice(start, start + 80)}…`, [pem])).toThrow(/leaked/);
    expect(() => expectNoKeyMaterial({ d: jwk.d }, [pem])).toThrow(/leaked/);
    expect(() => expectNoKeyMaterial({ d: Buffer.from(jwk.d!, "base64url").toString("hex") }, [pem])).toThrow(
      /leaked \(hex\)/,
    );
  });

  it("passes on the key's public values, whatever base64 alignment a certificate gives them", () => {
    // Every byte of the DER except the secret ones: the modulus / public point a certificate repeats.
    const der = Buffer.from(body(pem), "base64");
    const publicOnly = Buffer.from(der);
    for (const member of ["d", "p", "q", "dp", "dq", "qi"]) {
      if (!jwk[member]) continue;
      const secret = Buffer.from(jwk[member]!, "base64url");
      const at = der.indexOf(secret);
      publicOnly.fill(0, at, at + secret.length);
    }
    for (const shift of [0, 1, 2]) {
      const text = Buffer.concat([Buffer.alloc(shift), publicOnly]).toString("base64");
      expect(() => expectNoKeyMaterial({ certificate: text }, [pem])).not.toThrow();
    }
  });
});
