import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  factsOf,
  isSupportedKeyAlgorithm,
  keyAlgorithmOf,
  keyTypeOf,
  oneLineName,
  ReplacementKeyReason,
  replacementKeyFor,
  SUPPORTED_KEY_ALGORITHMS,
  sansOf,
} from "../../functions/core/certificate.ts";
import {
  buildLeaf,
  CLIENT_SUBJECT,
  daysFromNow,
  type FixtureKeyKind,
  ISSUING_NAME,
  issuingFor,
  pki,
  ROOT_NAME,
} from "../support/pki-fixtures.ts";

/** A leaf from the issuing CA of its key type (RSA leaves from the RSA issuing CA). */
async function leafWith(options: Parameters<typeof buildLeaf>[1] = {}): Promise<X509Certificate> {
  const issuing = await issuingFor(options.key ?? "P-256");
  return new X509Certificate((await buildLeaf(issuing, options)).certificatePem);
}

/** Node's colon-separated uppercase SHA-256 fingerprint, in factsOf's spelling. */
function nodeFingerprint(certificate: X509Certificate): string {
  return certificate.fingerprint256.replaceAll(":", "").toLowerCase();
}

describe("keyAlgorithmOf", () => {
  const cases: Array<{ name: string; key: FixtureKeyKind; expected: string; supported: boolean }> = [
    { name: "ECDSA P-256", key: "P-256", expected: "EC_prime256v1", supported: true },
    { name: "RSA 2048", key: "RSA-2048", expected: "RSA_2048", supported: true },
    { name: "ECDSA P-384", key: "P-384", expected: "EC_secp384r1", supported: false },
  ];
  it.each(cases)("$name -> $expected", async ({ key, expected, supported }) => {
    const certificate = await leafWith({ key });
    expect(keyAlgorithmOf(certificate)).toBe(expected);
    expect(isSupportedKeyAlgorithm(keyAlgorithmOf(certificate))).toBe(supported);
  });

  it("reads the CA key too (the fixture root is P-256)", async () => {
    const { root } = await pki();
    expect(keyAlgorithmOf(new X509Certificate(root.certificatePem))).toBe("EC_prime256v1");
  });
});

describe("isSupportedKeyAlgorithm", () => {
  it.each([
    ["RSA_2048", true],
    ["EC_prime256v1", true],
    ["RSA_4096", false],
    ["RSA_1024", false],
    ["EC_secp384r1", false],
    ["ec_prime256v1", false],
    ["", false],
  ] as const)("%s -> %s", (value, expected) => {
    expect(isSupportedKeyAlgorithm(value)).toBe(expected);
  });

  it("lists exactly the two algorithms CloudFront presents", () => {
    expect([...SUPPORTED_KEY_ALGORITHMS].sort()).toEqual(["EC_prime256v1", "RSA_2048"]);
  });
});

describe("keyTypeOf", () => {
  it.each([
    ["RSA_2048", "RSA"],
    ["RSA_4096", "RSA"],
    ["EC_prime256v1", "EC"],
    ["EC_secp521r1", "EC"],
    ["ML_DSA_44", undefined],
    ["SM2", undefined],
    ["RSA_unknown", undefined],
    ["rsa_2048", undefined],
    ["", undefined],
  ] as const)("%s -> %s", (keyAlgorithm, expected) => {
    expect(keyTypeOf(keyAlgorithm)).toBe(expected);
  });
});

describe("replacementKeyFor: the replacement's key follows the issuing CA's key", () => {
  const { SameAsCa, RsaCaOtherSize, EcCaOtherCurve } = ReplacementKeyReason;
  it.each([
    // CA key,        in service,       replacement,     reason,         message
    [
      "EC_prime256v1",
      "EC_prime256v1",
      "EC_prime256v1",
      SameAsCa,
      "EC_prime256v1 (follows CA key EC_prime256v1; unchanged)",
    ],
    ["RSA_2048", "RSA_2048", "RSA_2048", SameAsCa, "RSA_2048 (follows CA key RSA_2048; unchanged)"],
    // A CA migration to a CA of the other key type: the replacement changes type with it.
    [
      "EC_prime256v1",
      "RSA_2048",
      "EC_prime256v1",
      SameAsCa,
      "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)",
    ],
    [
      "RSA_2048",
      "EC_prime256v1",
      "RSA_2048",
      SameAsCa,
      "RSA_2048 (follows CA key RSA_2048; was EC_prime256v1)",
    ],
    // A CA of a size or curve CloudFront does not present: its type, at the size/curve CloudFront presents.
    [
      "RSA_4096",
      "RSA_2048",
      "RSA_2048",
      RsaCaOtherSize,
      "RSA_2048 (follows CA key RSA_4096: RSA, at the one RSA size CloudFront presents; unchanged)",
    ],
    [
      "RSA_3072",
      "EC_prime256v1",
      "RSA_2048",
      RsaCaOtherSize,
      "RSA_2048 (follows CA key RSA_3072: RSA, at the one RSA size CloudFront presents; was EC_prime256v1)",
    ],
    [
      "EC_secp384r1",
      "RSA_2048",
      "EC_prime256v1",
      EcCaOtherCurve,
      "EC_prime256v1 (follows CA key EC_secp384r1: EC, on the one curve CloudFront presents; was RSA_2048)",
    ],
    [
      "EC_secp521r1",
      "EC_prime256v1",
      "EC_prime256v1",
      EcCaOtherCurve,
      "EC_prime256v1 (follows CA key EC_secp521r1: EC, on the one curve CloudFront presents; unchanged)",
    ],
    // A certificate in service with a key CloudFront does not present moves to one it does, of the CA's type.
    [
      "EC_prime256v1",
      "RSA_4096",
      "EC_prime256v1",
      SameAsCa,
      "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_4096)",
    ],
    [
      "RSA_2048",
      "EC_secp384r1",
      "RSA_2048",
      SameAsCa,
      "RSA_2048 (follows CA key RSA_2048; was EC_secp384r1)",
    ],
  ] as const)(
    "CA %s, in service %s -> %s (%s)",
    (caKeyAlgorithm, inServiceKeyAlgorithm, keyAlgorithm, reason, message) => {
      expect(replacementKeyFor({ caKeyAlgorithm, inServiceKeyAlgorithm })).toEqual({
        keyAlgorithm,
        reason,
        caKeyAlgorithm,
        inServiceKeyAlgorithm,
        message,
      });
    },
  );

  it.each(["ML_DSA_65", "SM2", "unreadable", ""])(
    "CA key %s: no key CloudFront presents would import into ACM (NoPresentableKey, no keyAlgorithm)",
    (caKeyAlgorithm) => {
      const choice = replacementKeyFor({ caKeyAlgorithm, inServiceKeyAlgorithm: "EC_prime256v1" });
      expect(choice.reason).toBe(ReplacementKeyReason.NoPresentableKey);
      expect(choice.keyAlgorithm).toBeUndefined();
      expect(choice.message).toBe(
        `no replacement key for CA key ${caKeyAlgorithm}: ACM imports a certificate only with its signing ` +
          "CA's key type (RSA or EC), and CloudFront presents RSA_2048 or EC_prime256v1 only",
      );
    },
  );

  it("always answers a key CloudFront presents, of the CA's key type (never the key in service for its own sake)", () => {
    const caKeys = ["RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"];
    const inService = [...caKeys, "RSA_1024", "EC_unknown"];
    for (const caKeyAlgorithm of caKeys)
      for (const inServiceKeyAlgorithm of inService) {
        const { keyAlgorithm } = replacementKeyFor({ caKeyAlgorithm, inServiceKeyAlgorithm });
        expect(isSupportedKeyAlgorithm(keyAlgorithm ?? "")).toBe(true);
        expect(keyTypeOf(keyAlgorithm ?? "")).toBe(keyTypeOf(caKeyAlgorithm));
      }
  });
});

describe("sansOf", () => {
  it("reads DNS and URI names in certificate order", async () => {
    const certificate = await leafWith({
      sans: [
        { type: "dns", value: "origin-a.example.com" },
        { type: "uri", value: "spiffe://acme.example/ns/edge/sa/cloudfront" },
        { type: "dns", value: "origin-b.example.com" },
      ],
    });
    expect(sansOf(certificate)).toEqual([
      { type: "dns", value: "origin-a.example.com" },
      { type: "uri", value: "spiffe://acme.example/ns/edge/sa/cloudfront" },
      { type: "dns", value: "origin-b.example.com" },
    ]);
  });

  it("reads email and IP address names", async () => {
    const certificate = await leafWith({
      sans: [
        { type: "email", value: "ops@example.com" },
        { type: "ip", value: "192.0.2.10" },
      ],
    });
    expect(sansOf(certificate)).toEqual([
      { type: "email", value: "ops@example.com" },
      { type: "ip", value: "192.0.2.10" },
    ]);
  });

  it("is empty for a certificate without a SAN extension", async () => {
    const certificate = await leafWith({ sans: [] });
    expect(certificate.subjectAltName).toBeUndefined();
    expect(sansOf(certificate)).toEqual([]);
  });
});

describe("oneLineName", () => {
  it.each([
    ["CN=a\nO=b\n", "CN=a, O=b"],
    ["CN=only", "CN=only"],
    ["", ""],
  ])("%j -> %j", (input, expected) => {
    expect(oneLineName(input)).toBe(expected);
  });
});

describe("factsOf", () => {
  it("reads every fact of a client certificate", async () => {
    const serial = "7fabcdef0123456789abcdef01234567";
    const certificate = await leafWith({
      serial,
      notBefore: new Date("2026-05-31T12:00:00Z"),
      notAfter: new Date("2026-08-29T12:00:00Z"),
      sans: [
        { type: "dns", value: "origin-client.example.com" },
        { type: "uri", value: "spiffe://acme.example/edge" },
      ],
    });
    expect(certificate.serialNumber).toBe(serial.toUpperCase());
    expect(factsOf(certificate)).toEqual({
      serial,
      subject: CLIENT_SUBJECT,
      issuer: ISSUING_NAME,
      sans: [
        { type: "dns", value: "origin-client.example.com" },
        { type: "uri", value: "spiffe://acme.example/edge" },
      ],
      keyAlgorithm: "EC_prime256v1",
      notBefore: new Date("2026-05-31T12:00:00Z"),
      notAfter: new Date("2026-08-29T12:00:00Z"),
      fingerprint: nodeFingerprint(certificate),
      isCA: false,
    });
  });

  it("keeps a leading zero nibble of the serial, lowercase, no separators", async () => {
    const certificate = await leafWith({ serial: "0a1b2c3d4e5f" });
    expect(factsOf(certificate).serial).toBe("0a1b2c3d4e5f");
  });

  it("marks CA certificates and reads their (self-)issuer", async () => {
    const { root, issuing } = await pki();
    const rootFacts = factsOf(new X509Certificate(root.certificatePem));
    const issuingFacts = factsOf(new X509Certificate(issuing.certificatePem));
    expect(rootFacts).toMatchObject({ isCA: true, subject: ROOT_NAME, issuer: ROOT_NAME, sans: [] });
    expect(issuingFacts).toMatchObject({ isCA: true, subject: ISSUING_NAME, issuer: ROOT_NAME });
    expect(issuingFacts.notBefore).toEqual(daysFromNow(-180));
    expect(issuingFacts.notAfter).toEqual(daysFromNow(1000));
    expect(rootFacts.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(rootFacts.fingerprint).not.toBe(issuingFacts.fingerprint);
  });
});
