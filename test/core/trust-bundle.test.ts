import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf, sha256Hex, splitPem } from "../../functions/core/pem.ts";
import {
  type BundleInput,
  type BundleReason,
  computeTrustBundle,
  TRUST_TARGET_LIMITS,
  TrustBundleError,
} from "../../functions/core/trust-bundle.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { daysFromNow, goodP256, manySmallCas, NOW, paddedCa, pki, smallCa } from "../support/pki-fixtures.ts";

function fingerprint(pem: string): string {
  return fingerprintOf(new X509Certificate(pem));
}

/** The reason computeTrustBundle refused with, or a failure when it did not refuse. */
function refusal(input: BundleInput): { reason: BundleReason; message: string } {
  try {
    computeTrustBundle(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TrustBundleError);
    const e = error as TrustBundleError;
    return { reason: e.reason, message: e.message };
  }
  throw new Error("expected computeTrustBundle to refuse");
}

let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let charlie: CertificateAuthority;
/** 26 distinct small CAs, for the 25-certificate limit. */
let fleet: CertificateAuthority[];
/** About 18 KB each: over ALB's 16 KB per certificate; four of them are over CloudFront's 64 KB. */
let big: CertificateAuthority[];
/** About 12.6 KB: under ALB's per-certificate limit. */
let medium: CertificateAuthority;

beforeAll(async () => {
  [alpha, bravo, charlie] = await Promise.all([
    smallCa("CN=Alpha CA"),
    smallCa("CN=Bravo CA"),
    smallCa("CN=Charlie CA"),
  ]);
  fleet = await manySmallCas(26);
  big = await Promise.all([1, 2, 3, 4].map((i) => paddedCa(`CN=Big CA ${i}`, 210)));
  medium = await paddedCa("CN=Medium CA", 150);
});

describe("computeTrustBundle: content and order", () => {
  it("holds each CA once, sorted by subject, with its facts", () => {
    const bundle = computeTrustBundle({
      current: [charlie.certificatePem, alpha.certificatePem],
      incoming: [bravo.certificatePem],
      now: NOW,
    });
    expect(bundle.entries).toEqual([
      {
        fingerprint: fingerprint(alpha.certificatePem),
        keyFingerprint: keyFingerprintOf(new X509Certificate(alpha.certificatePem)),
        subject: "CN=Alpha CA",
        notAfter: daysFromNow(335).toISOString(),
      },
      {
        fingerprint: fingerprint(bravo.certificatePem),
        keyFingerprint: keyFingerprintOf(new X509Certificate(bravo.certificatePem)),
        subject: "CN=Bravo CA",
        notAfter: daysFromNow(335).toISOString(),
      },
      {
        fingerprint: fingerprint(charlie.certificatePem),
        keyFingerprint: keyFingerprintOf(new X509Certificate(charlie.certificatePem)),
        subject: "CN=Charlie CA",
        notAfter: daysFromNow(335).toISOString(),
      },
    ]);
    expect(bundle.pem).toBe(alpha.certificatePem + bravo.certificatePem + charlie.certificatePem);
    expect(bundle.sha256).toBe(sha256Hex(bundle.pem));
    expect(bundle.bytes).toBe(Buffer.byteLength(bundle.pem));
  });

  it("dedupes the same CA given twice (in current, and in current and incoming)", () => {
    const once = computeTrustBundle({ current: [alpha.certificatePem], now: NOW });
    const twice = computeTrustBundle({ current: [alpha.certificatePem, alpha.certificatePem], now: NOW });
    const both = computeTrustBundle({
      current: [alpha.certificatePem],
      incoming: [alpha.certificatePem],
      now: NOW,
    });
    expect(once.entries).toHaveLength(1);
    expect(twice).toEqual(once);
    expect(both).toEqual(once);
    expect(splitPem(twice.pem)).toHaveLength(1);
  });

  it("dedupes inside one multi-certificate PEM source", () => {
    const bundle = computeTrustBundle({
      current: [alpha.certificatePem + bravo.certificatePem + alpha.certificatePem],
      now: NOW,
    });
    expect(bundle.entries.map((e) => e.subject)).toEqual(["CN=Alpha CA", "CN=Bravo CA"]);
  });

  it("is byte-identical whatever the input order (same sha256)", () => {
    const all = [alpha.certificatePem, bravo.certificatePem, charlie.certificatePem];
    const digests = new Set(
      [
        [0, 1, 2],
        [2, 1, 0],
        [1, 2, 0],
      ].map((order) => computeTrustBundle({ current: order.map((i) => all[i]!), now: NOW }).sha256),
    );
    expect(digests.size).toBe(1);
    const split = computeTrustBundle({
      current: [charlie.certificatePem],
      incoming: [bravo.certificatePem, alpha.certificatePem],
      now: NOW,
    });
    expect(digests.has(split.sha256)).toBe(true);
  });

  it("is byte-identical when the same CA arrives in different PEM spellings (CRLF, no final newline)", () => {
    const crlf = alpha.certificatePem.replaceAll("\n", "\r\n");
    const bare = alpha.certificatePem.trimEnd();
    const reference = computeTrustBundle({ current: [alpha.certificatePem], now: NOW });
    for (const current of [[crlf], [bare], [crlf, alpha.certificatePem], [alpha.certificatePem, crlf]]) {
      const bundle = computeTrustBundle({ current, now: NOW });
      expect(bundle.pem).toBe(reference.pem);
      expect(bundle.sha256).toBe(reference.sha256);
    }
    expect(reference.pem.includes("\r")).toBe(false);
  });

  it("orders two CAs with the same subject by fingerprint", async () => {
    const [twinA, twinB] = await Promise.all([smallCa("CN=Twin CA"), smallCa("CN=Twin CA")]);
    const forward = computeTrustBundle({ current: [twinA!.certificatePem, twinB!.certificatePem], now: NOW });
    const backward = computeTrustBundle({
      current: [twinB!.certificatePem, twinA!.certificatePem],
      now: NOW,
    });
    const prints = [fingerprint(twinA!.certificatePem), fingerprint(twinB!.certificatePem)].sort();
    expect(forward.entries.map((e) => e.fingerprint)).toEqual(prints);
    expect(backward.sha256).toBe(forward.sha256);
  });
});

describe("computeTrustBundle: CA migration", () => {
  it("trusts old and new issuing CAs during the overlap, then drops the retired old one", async () => {
    const { root, issuing } = await pki();
    const next = await smallCa("CN=Next Issuing CA");
    const oldChain = issuing.certificatePem + root.certificatePem;

    const before = computeTrustBundle({ current: [oldChain], now: NOW });
    expect(before.entries.map((e) => e.subject)).toEqual([
      "CN=Fixture Issuing CA, O=mtls-rotator tests",
      "CN=Fixture Root CA, O=mtls-rotator tests",
    ]);

    const overlap = computeTrustBundle({ current: [oldChain], incoming: [next.certificatePem], now: NOW });
    expect(overlap.entries.map((e) => e.subject)).toEqual([
      "CN=Fixture Issuing CA, O=mtls-rotator tests",
      "CN=Fixture Root CA, O=mtls-rotator tests",
      "CN=Next Issuing CA",
    ]);
    expect(overlap.sha256).not.toBe(before.sha256);

    const retired = computeTrustBundle({
      current: [oldChain, next.certificatePem],
      retiredFingerprints: [fingerprint(issuing.certificatePem), fingerprint(root.certificatePem)],
      now: daysFromNow(30),
    });
    expect(retired.entries.map((e) => e.subject)).toEqual(["CN=Next Issuing CA"]);
    expect(retired.pem).toBe(next.certificatePem);
  });

  it("retiring an unknown fingerprint changes nothing", () => {
    const plain = computeTrustBundle({ current: [alpha.certificatePem], now: NOW });
    const retired = computeTrustBundle({
      current: [alpha.certificatePem],
      retiredFingerprints: ["00".repeat(32)],
      now: NOW,
    });
    expect(retired).toEqual(plain);
  });
});

describe("computeTrustBundle: refusals", () => {
  it("a leaf certificate -> NotCA", async () => {
    const leaf = await goodP256();
    expect(refusal({ current: [alpha.certificatePem], incoming: [leaf.certificatePem], now: NOW })).toEqual({
      reason: "NotCA",
      message: "NotCA: CN=origin-client.example.com, O=mtls-rotator tests is not a CA certificate",
    });
  });

  it("a private key inside a source -> Malformed, and nothing of it is echoed", async () => {
    const leaf = await goodP256();
    expect(refusal({ current: [alpha.certificatePem + leaf.privateKeyPem], now: NOW })).toEqual({
      reason: "Malformed",
      message: "Malformed: input holds a PEM block that is not a certificate (a key?)",
    });
  });

  it("an expired CA can still be retired: retirement wins over the expiry check", async () => {
    const expired = await smallCa("CN=Expired Old CA", {
      notBefore: daysFromNow(-400),
      notAfter: daysFromNow(-1),
    });
    const bundle = computeTrustBundle({
      current: [alpha.certificatePem, expired.certificatePem],
      retiredFingerprints: [fingerprintOf(new X509Certificate(expired.certificatePem))],
      now: NOW,
    });
    expect(bundle.entries.map((e) => e.fingerprint)).toEqual([
      fingerprintOf(new X509Certificate(alpha.certificatePem)),
    ]);
  });

  it("an expired CA -> ExpiredCA", async () => {
    const expired = await smallCa("CN=Expired CA", {
      notBefore: daysFromNow(-400),
      notAfter: daysFromNow(-1),
    });
    expect(refusal({ current: [alpha.certificatePem, expired.certificatePem], now: NOW })).toEqual({
      reason: "ExpiredCA",
      message: `ExpiredCA: CN=Expired CA expired at ${daysFromNow(-1).toISOString()}`,
    });
  });

  it("a CA expiring exactly now -> ExpiredCA; one ms later it was still fine", async () => {
    const edge = await smallCa("CN=Edge CA", { notBefore: daysFromNow(-10), notAfter: NOW });
    expect(refusal({ current: [edge.certificatePem], now: NOW }).reason).toBe("ExpiredCA");
    expect(
      computeTrustBundle({ current: [edge.certificatePem], now: new Date(NOW.getTime() - 1000) }).entries,
    ).toHaveLength(1);
  });

  it.each([
    { name: "text without PEM", source: "this is not a certificate" },
    {
      name: "a CERTIFICATE block with garbage",
      source: "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    },
    { name: "a private key only", source: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
  ])("malformed input ($name) -> Malformed", ({ source }) => {
    expect(refusal({ current: [alpha.certificatePem, source], now: NOW }).reason).toBe("Malformed");
  });

  it.each([
    { name: "no sources", input: { current: [] } },
    { name: "blank sources", input: { current: ["", "  \n"], incoming: [""] } },
  ])("$name -> Empty", ({ input }) => {
    expect(refusal({ ...input, now: NOW })).toEqual({
      reason: "Empty",
      message: "Empty: the bundle would trust no CA at all",
    });
  });

  it("every CA retired -> Empty", () => {
    expect(
      refusal({
        current: [alpha.certificatePem],
        retiredFingerprints: [fingerprint(alpha.certificatePem)],
        now: NOW,
      }).reason,
    ).toBe("Empty");
  });
});

describe("computeTrustBundle: limits of each trust target", () => {
  it("publishes the limits of aws-facts.md", () => {
    expect(TRUST_TARGET_LIMITS).toEqual({
      cloudfrontTrustStore: { maxCertificates: 25, maxBytes: 65_536 },
      albTrustStore: { maxCertificates: 25, maxCertificateBytes: 16_384 },
      unlimited: {},
    });
  });

  it("the fixtures have the sizes the limit cases rely on", () => {
    for (const ca of big) expect(Buffer.byteLength(ca.certificatePem)).toBeGreaterThan(16 * 1024);
    expect(big.reduce((sum, ca) => sum + Buffer.byteLength(ca.certificatePem), 0)).toBeGreaterThan(64 * 1024);
    expect(big.slice(0, 3).reduce((sum, ca) => sum + Buffer.byteLength(ca.certificatePem), 0)).toBeLessThan(
      64 * 1024,
    );
    expect(Buffer.byteLength(medium.certificatePem)).toBeLessThan(16 * 1024);
  });

  const pems = (cas: CertificateAuthority[]) => cas.map((ca) => ca.certificatePem);

  const cases: Array<{
    name: string;
    sources: () => string[];
    limits: keyof typeof TRUST_TARGET_LIMITS;
    retired?: () => string[];
    reason?: BundleReason;
    message?: RegExp;
    certificates?: number;
  }> = [
    {
      name: "CloudFront: 25 CAs fit",
      sources: () => pems(fleet.slice(0, 25)),
      limits: "cloudfrontTrustStore",
      certificates: 25,
    },
    {
      name: "CloudFront: 26 CAs are too many",
      sources: () => pems(fleet),
      limits: "cloudfrontTrustStore",
      reason: "TooManyCertificates",
      message: /^TooManyCertificates: bundle has 26 CA certificates; the target allows 25$/,
    },
    {
      name: "CloudFront: 26 CAs with one retired fit",
      sources: () => pems(fleet),
      limits: "cloudfrontTrustStore",
      retired: () => [fingerprint(fleet[7]!.certificatePem)],
      certificates: 25,
    },
    {
      name: "ALB: 26 CAs are too many",
      sources: () => pems(fleet),
      limits: "albTrustStore",
      reason: "TooManyCertificates",
      message: /allows 25$/,
    },
    { name: "unlimited: 26 CAs fit", sources: () => pems(fleet), limits: "unlimited", certificates: 26 },
    {
      name: "CloudFront: three 18 KB CAs fit in 64 KB",
      sources: () => pems(big.slice(0, 3)),
      limits: "cloudfrontTrustStore",
      certificates: 3,
    },
    {
      name: "CloudFront: four 18 KB CAs exceed 64 KB",
      sources: () => pems(big),
      limits: "cloudfrontTrustStore",
      reason: "TooLarge",
      message: /^TooLarge: bundle is \d+ bytes; the target allows 65536$/,
    },
    {
      name: "ALB: an 18 KB CA exceeds 16 KB per certificate",
      sources: () => [alpha.certificatePem, big[0]!.certificatePem],
      limits: "albTrustStore",
      reason: "CertificateTooLarge",
      message: /^CertificateTooLarge: CN=Big CA 1 is \d+ bytes; the target allows 16384 per certificate$/,
    },
    {
      name: "ALB: a 12.6 KB CA fits, and the total is not limited",
      sources: () => [medium.certificatePem, ...pems(fleet.slice(0, 20))],
      limits: "albTrustStore",
      certificates: 21,
    },
    { name: "unlimited: four 18 KB CAs fit", sources: () => pems(big), limits: "unlimited", certificates: 4 },
  ];

  it.each(cases)("$name", ({ sources, limits, retired, reason, message, certificates }) => {
    const input: BundleInput = {
      current: sources(),
      now: NOW,
      limits: TRUST_TARGET_LIMITS[limits],
      retiredFingerprints: retired?.(),
    };
    if (reason) {
      const r = refusal(input);
      expect(r.reason).toBe(reason);
      expect(r.message).toMatch(message!);
    } else {
      expect(computeTrustBundle(input).entries).toHaveLength(certificates!);
    }
  });
});
