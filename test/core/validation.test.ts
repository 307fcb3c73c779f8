import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, splitPem } from "../../functions/core/pem.ts";
import {
  assertValidClientCertificate,
  type CertificateUnderTest,
  CertificateValidationError,
  ORIGIN_MTLS_LIMITS,
  type ValidationPolicy,
  ValidationReason,
  validateClientCertificate,
} from "../../functions/core/validation.ts";
import {
  badCredentials,
  CLIENT_SUBJECT,
  type FixturePki,
  goodP256,
  goodRsa2048,
  HOUR,
  MINUTE,
  msFromNow,
  NOW,
  pemBody,
  pemBodyLines,
  pki,
  rsaIssuing,
} from "../support/pki-fixtures.ts";

const GARBAGE_CERTIFICATE =
  "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
const GARBAGE_KEY = "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n";

let ca: FixturePki;
let good: CertificateUnderTest;

beforeAll(async () => {
  ca = await pki();
  good = await goodP256();
});

/** The configured Private CA hierarchy as trust anchors (the root). */
function policy(overrides: Partial<ValidationPolicy> = {}): ValidationPolicy {
  return { now: NOW, trustAnchorsPem: ca.root.certificatePem, ...overrides };
}

interface FailureCase {
  name: string;
  reason: ValidationReason;
  credential: () => Promise<CertificateUnderTest>;
  policy?: () => Partial<ValidationPolicy>;
  message: RegExp;
}

const failures: FailureCase[] = [
  {
    name: "certificate is not PEM",
    reason: "MalformedCertificate",
    credential: async () => ({ ...(await goodP256()), certificatePem: "hello" }),
    message: /expected exactly one PEM CERTIFICATE block/,
  },
  {
    name: "two certificates where one is expected",
    reason: "MalformedCertificate",
    credential: async () => {
      const g = await goodP256();
      return { ...g, certificatePem: g.certificatePem + g.certificatePem };
    },
    message: /expected exactly one PEM CERTIFICATE block/,
  },
  {
    name: "the private key given as the certificate",
    reason: "MalformedCertificate",
    credential: async () => {
      const g = await goodP256();
      return { ...g, certificatePem: g.privateKeyPem };
    },
    message: /expected exactly one PEM CERTIFICATE block/,
  },
  {
    name: "the private key bundled next to the certificate",
    reason: "MalformedCertificate",
    credential: async () => {
      const g = await goodP256();
      return { ...g, certificatePem: g.certificatePem + g.privateKeyPem };
    },
    message: /exactly one PEM CERTIFICATE block and nothing else/,
  },
  {
    name: "the private key bundled into the chain",
    reason: "MalformedChain",
    credential: async () => {
      const g = await goodP256();
      return { ...g, chainPem: g.chainPem + g.privateKeyPem };
    },
    message: /chain holds a PEM block that is not a certificate/,
  },
  {
    name: "certificate block with garbage inside",
    reason: "MalformedCertificate",
    credential: async () => ({ ...(await goodP256()), certificatePem: GARBAGE_CERTIFICATE }),
    message: /^certificate does not parse/,
  },
  {
    name: "chain is not PEM",
    reason: "MalformedChain",
    credential: async () => ({ ...(await goodP256()), chainPem: "not a chain" }),
    message: /chain does not parse/,
  },
  {
    name: "chain block with garbage inside",
    reason: "MalformedChain",
    credential: async () => ({ ...(await goodP256()), chainPem: GARBAGE_CERTIFICATE }),
    message: /chain does not parse/,
  },
  {
    name: "private key is garbage",
    reason: "MalformedPrivateKey",
    credential: async () => ({ ...(await goodP256()), privateKeyPem: GARBAGE_KEY }),
    message: /private key does not parse/,
  },
  {
    name: "certificate over 96 KB",
    reason: "TooLarge",
    credential: badCredentials.oversizeCertificate,
    message: /^certificate is \d+ bytes; CloudFront allows at most 98304$/,
  },
  {
    name: "chain over 64 KB",
    reason: "TooLarge",
    credential: badCredentials.oversizeChain,
    message: /^chain is \d+ bytes; CloudFront allows at most 65536$/,
  },
  {
    name: "P-384 key",
    reason: "UnsupportedKey",
    credential: () => badCredentials.unsupportedKey("P-384"),
    message: /^key algorithm EC_secp384r1 is not accepted/,
  },
  {
    name: "RSA-4096 key",
    reason: "UnsupportedKey",
    credential: () => badCredentials.unsupportedKey("RSA-4096"),
    message: /^key algorithm RSA_4096 is not accepted/,
  },
  {
    name: "P-256 certificate where RSA_2048 is expected",
    reason: "KeyAlgorithmChanged",
    credential: goodP256,
    policy: () => ({ expectedKeyAlgorithm: "RSA_2048" }),
    message: /^key algorithm EC_prime256v1 differs from the planned RSA_2048$/,
  },
  {
    name: "private key of another certificate",
    reason: "KeyMismatch",
    credential: badCredentials.mismatchedKey,
    message: /^the private key does not belong to the certificate$/,
  },
  {
    name: "CA certificate as the client certificate",
    reason: "IsCA",
    credential: badCredentials.caAsLeaf,
    message: /is a CA certificate/,
  },
  {
    name: "serverAuth only",
    reason: "NotClientAuth",
    credential: badCredentials.serverAuthOnly,
    message: /lacks clientAuth \(1\.3\.6\.1\.5\.5\.7\.3\.2\); found 1\.3\.6\.1\.5\.5\.7\.3\.1$/,
  },
  {
    name: "no extended key usage",
    reason: "NotClientAuth",
    credential: badCredentials.noEku,
    message: /found none$/,
  },
  {
    name: "not valid before tomorrow",
    reason: "NotYetValid",
    credential: badCredentials.notYetValid,
    message: /^not valid before 2026-06-02T00:00:00.000Z$/,
  },
  {
    name: "expired yesterday",
    reason: "Expired",
    credential: badCredentials.expired,
    message: /^expired at 2026-05-31T00:00:00.000Z$/,
  },
  {
    name: "valid for only one more hour (default minimum 1 day)",
    reason: "ValidityTooShort",
    credential: badCredentials.oneHourLeft,
    message: /^valid only until 2026-06-01T01:00:00.000Z; at least 24 hours are required$/,
  },
  {
    name: "chain of 4 CA certificates",
    reason: "ChainTooDeep",
    credential: badCredentials.chainOfFourCas,
    message: /^chain has 4 CA certificates; CloudFront allows 3$/,
  },
  {
    name: "chain in the wrong order",
    reason: "ChainBroken",
    credential: badCredentials.chainOutOfOrder,
    message: /^certificate 0 is not signed by chain certificate 1$/,
  },
  {
    name: "a client certificate inside the chain",
    reason: "ChainBroken",
    credential: async () => {
      const g = await goodP256();
      return { ...g, chainPem: g.certificatePem };
    },
    message: /^chain certificate 1 \(CN=origin-client\.example\.com, O=mtls-rotator tests\) is not a CA$/,
  },
  {
    name: "chain omits the issuing CA",
    reason: "ChainBroken",
    credential: async () => ({ ...(await goodP256()), chainPem: ca.root.certificatePem }),
    message: /^certificate 0 is not signed by chain certificate 1$/,
  },
  {
    name: "leaf naming the issuing CA but signed by another key",
    reason: "ChainBroken",
    credential: badCredentials.forgedLeaf,
    message: /^certificate 0 is not signed by chain certificate 1$/,
  },
  {
    name: "issuing CA naming the root but signed by another key, root in the chain",
    reason: "ChainBroken",
    credential: badCredentials.forgedIssuer,
    message: /^certificate 1 is not signed by chain certificate 2$/,
  },
  {
    name: "issuing CA naming the root but signed by another key, root only as the anchor",
    reason: "UntrustedIssuer",
    credential: async () => {
      const forged = await badCredentials.forgedIssuer();
      return { ...forged, chainPem: splitPem(forged.chainPem)[0]! };
    },
    message:
      /^the chain does not lead to a configured trust anchor \(issuer: CN=Fixture Forged Issuing CA\)$/,
  },
  {
    name: "the leaf itself pinned as the only anchor, no chain",
    reason: "UntrustedIssuer",
    credential: async () => ({ ...(await goodP256()), chainPem: "" }),
    policy: () => ({ trustAnchorsPem: good.certificatePem }),
    message: /^the chain does not lead to a configured trust anchor/,
  },
  {
    name: "issuing CA expired",
    reason: "ChainBroken",
    credential: badCredentials.expiredIssuer,
    message: /^chain certificate 1 \(CN=Fixture Expired Issuing CA\) is outside its validity window$/,
  },
  {
    name: "issued by an unrelated CA",
    reason: "UntrustedIssuer",
    credential: badCredentials.unrelatedIssuer,
    message:
      /^the chain does not lead to a configured trust anchor \(issuer: CN=Unrelated Root CA, O=Somebody Else\)$/,
  },
  {
    name: "issued by a sibling CA when only the issuing CA is the anchor",
    reason: "UntrustedIssuer",
    credential: badCredentials.siblingIssued,
    policy: () => ({ trustAnchorsPem: ca.issuing.certificatePem }),
    message: /issuer: CN=Fixture Sibling CA, O=mtls-rotator tests/,
  },
  {
    name: "no trust anchors configured",
    reason: "UntrustedIssuer",
    credential: goodP256,
    policy: () => ({ trustAnchorsPem: "" }),
    message: /^no trust anchors configured for validation$/,
  },
];

describe("validateClientCertificate: every refusal has a named reason", () => {
  it.each(failures)("$name -> $reason", async (c) => {
    const credential = await c.credential();
    const result = validateClientCertificate(credential, policy(c.policy?.()));
    expect(result).toMatchObject({ valid: false, reason: c.reason });
    if (result.valid) return;
    expect(result.message).toMatch(c.message);

    // The private key never leaks into a message, neither its PEM label nor any line of its body.
    expect(result.message.includes("PRIVATE KEY")).toBe(false);
    expect(result.message.includes(pemBody(credential.privateKeyPem))).toBe(false);
    for (const line of pemBodyLines(credential.privateKeyPem)) {
      if (line.length >= 16) expect(result.message.includes(line)).toBe(false);
    }

    // The throwing form carries the same reason.
    let thrown: unknown;
    try {
      assertValidClientCertificate(credential, policy(c.policy?.()));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CertificateValidationError);
    expect((thrown as CertificateValidationError).reason).toBe(c.reason);
    expect((thrown as Error).message).toBe(`${c.reason}: ${result.message}`);
  });

  it("covers every reason the validator defines", () => {
    expect(new Set(failures.map((c) => c.reason))).toEqual(new Set(Object.values(ValidationReason)));
  });
});

describe("validateClientCertificate: good credentials", () => {
  it.each([
    { name: "P-256", credential: goodP256, keyAlgorithm: "EC_prime256v1", issuing: async () => ca.issuing },
    // RSA leaves come from an RSA issuing CA (ACM imports a certificate only with its CA's key type).
    { name: "RSA-2048", credential: goodRsa2048, keyAlgorithm: "RSA_2048", issuing: rsaIssuing },
  ])("$name credential is valid", async ({ credential, keyAlgorithm, issuing }) => {
    const c = await credential();
    const issuer = await issuing();
    const result = validateClientCertificate(c, policy({ expectedKeyAlgorithm: keyAlgorithm }));
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.facts).toMatchObject({
      subject: CLIENT_SUBJECT,
      issuer: issuer.name,
      keyAlgorithm,
      isCA: false,
      sans: [{ type: "dns", value: "origin-client.example.com" }],
    });
    expect(result.chainFingerprints).toEqual([
      fingerprintOf(new X509Certificate(issuer.certificatePem)),
      fingerprintOf(new X509Certificate(ca.root.certificatePem)),
    ]);
    expect(assertValidClientCertificate(c, policy()).serial).toBe(result.facts.serial);
  });

  const anchors: Array<{ name: string; chain: () => string; anchors: () => string }> = [
    { name: "root anchor, full chain", chain: () => good.chainPem, anchors: () => ca.root.certificatePem },
    {
      name: "issuing CA as the only anchor",
      chain: () => good.chainPem,
      anchors: () => ca.issuing.certificatePem,
    },
    {
      name: "root anchor, chain without the root",
      chain: () => ca.issuing.certificatePem,
      anchors: () => ca.root.certificatePem,
    },
    {
      name: "issuing anchor, empty chain",
      chain: () => "",
      anchors: () => ca.issuing.certificatePem,
    },
    {
      name: "unrelated root and our root both configured",
      chain: () => good.chainPem,
      anchors: () => ca.unrelated.certificatePem + ca.root.certificatePem,
    },
  ];
  it.each(anchors)("anchored: $name", ({ chain, anchors }) => {
    const result = validateClientCertificate(
      { ...good, chainPem: chain() },
      policy({ trustAnchorsPem: anchors() }),
    );
    expect(result).toMatchObject({ valid: true });
  });

  it("refuses the good credential when only a sibling or unrelated CA is trusted", () => {
    for (const anchor of [ca.sibling.certificatePem, ca.unrelated.certificatePem]) {
      expect(validateClientCertificate(good, policy({ trustAnchorsPem: anchor }))).toMatchObject({
        valid: false,
        reason: "UntrustedIssuer",
      });
    }
  });

  it("accepts the sibling's leaf when the root is the anchor", async () => {
    expect(validateClientCertificate(await badCredentials.siblingIssued(), policy())).toMatchObject({
      valid: true,
    });
  });

  it("expectedKeyAlgorithm mismatch the other way round: RSA where P-256 is expected", async () => {
    expect(
      validateClientCertificate(await goodRsa2048(), policy({ expectedKeyAlgorithm: "EC_prime256v1" })),
    ).toMatchObject({
      valid: false,
      reason: "KeyAlgorithmChanged",
      message: "key algorithm RSA_2048 differs from the planned EC_prime256v1",
    });
  });
});

describe("validateClientCertificate: validity boundaries", () => {
  // The good credential: notBefore NOW - 1 day, notAfter NOW + 89 days.
  const notAfter = NOW.getTime() + 89 * 86_400_000;
  const cases: Array<{ name: string; now: Date; minimumRemainingMs?: number; reason?: ValidationReason }> = [
    { name: "now", now: NOW },
    { name: "one ms before notAfter, minimum 0+", now: new Date(notAfter - 1), minimumRemainingMs: 1 },
    { name: "exactly at notAfter", now: new Date(notAfter), reason: "Expired" },
    {
      name: "23 hours before notAfter (default minimum)",
      now: new Date(notAfter - 23 * HOUR),
      reason: "ValidityTooShort",
    },
    { name: "exactly one day before notAfter", now: new Date(notAfter - 24 * HOUR) },
    {
      name: "a 100-day minimum",
      now: NOW,
      minimumRemainingMs: 100 * 86_400_000,
      reason: "ValidityTooShort",
    },
    // notBefore is NOW - 1 day: 5 minutes of clock skew are tolerated, not more.
    { name: "notBefore 5 minutes in the future", now: msFromNow(-24 * HOUR - 5 * MINUTE) },
    {
      name: "notBefore 5 min 1 s in the future",
      now: msFromNow(-24 * HOUR - 5 * MINUTE - 1000),
      reason: "NotYetValid",
    },
  ];
  it.each(cases)("$name -> $reason", ({ now, minimumRemainingMs, reason }) => {
    const result = validateClientCertificate(good, policy({ now, minimumRemainingMs }));
    if (reason) expect(result).toMatchObject({ valid: false, reason });
    else expect(result).toMatchObject({ valid: true });
  });

  it("checks sizes against CloudFront's published limits", () => {
    expect(ORIGIN_MTLS_LIMITS).toEqual({
      certificateBytes: 98_304,
      chainBytes: 65_536,
      privateKeyBytes: 5_120,
      chainDepth: 3,
    });
  });
});
