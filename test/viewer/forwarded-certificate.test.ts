import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { privateKeyToPem } from "../../functions/crypto/keys.ts";
import { x509 } from "../../functions/crypto/x509.ts";
import {
  FORWARDED_LIMITS,
  ForwardedCertificateError,
  type ForwardedCertificateInput,
  formatClientCertHeaders,
  type HeaderSource,
  loadViewerBundle,
  type OriginConnection,
  parseClientCertHeaders,
  ViewerBundleError,
  type ViewerRefusal,
  type ViewerVerdict,
  verifyForwardedClientCertificate,
} from "../../functions/viewer/forwarded-certificate.ts";
import { type CertificateAuthority, createSubordinateCa, signLeaf } from "../../standins/pki.ts";
import {
  badCredentials,
  buildLeaf,
  CLIENT_SUBJECT,
  DAY,
  daysFromNow,
  type FixturePki,
  goodP256,
  NOW,
  newFixtureKey,
  pki,
  smallCa,
} from "../support/pki-fixtures.ts";

/** CloudFront's origin-mTLS side: its certificate and the CA the origin-client bundle trusts. */
let originClientCa: CertificateAuthority;
let cloudFront: OriginConnection;
let ca: FixturePki;
/** The viewer CA bundle: the viewer hierarchy's root only (intermediates come from the viewer). */
let rootBundle: string;

beforeAll(async () => {
  ca = await pki();
  originClientCa = await smallCa("CN=Origin Client CA, O=mtls-rotator tests");
  const cloudFrontCredential = await buildLeaf(originClientCa, {
    subject: "CN=cloudfront-origin, O=Example",
  });
  cloudFront = {
    clientCertificateVerified: true,
    clientCertificate: new X509Certificate(cloudFrontCredential.certificatePem),
    clientCertificateIssuers: [new X509Certificate(originClientCa.certificatePem)],
  };
  rootBundle = ca.root.certificatePem;
});

/** The headers CloudFront forwards for a viewer presenting `credential` (leaf + its chain). */
function forwarded(credential: { certificatePem: string; chainPem: string }): HeaderSource {
  return { ...formatClientCertHeaders(credential.certificatePem, [credential.chainPem]) };
}

function verify(overrides: Partial<ForwardedCertificateInput> & { headers: HeaderSource }): ViewerVerdict {
  return verifyForwardedClientCertificate({
    connection: cloudFront,
    viewerBundle: rootBundle,
    now: NOW,
    ...overrides,
  });
}

function refusalOf(verdict: ViewerVerdict): { code: string; reason: string } {
  if (verdict.ok) throw new Error(`expected a refusal, got viewer ${verdict.viewer.subject}`);
  expect(verdict.status).toBe(403);
  return { code: verdict.code, reason: verdict.reason };
}

function parseError(headers: HeaderSource): ForwardedCertificateError {
  try {
    parseClientCertHeaders(headers);
  } catch (error) {
    if (error instanceof ForwardedCertificateError) return error;
    throw error;
  }
  throw new Error("expected the headers to be refused");
}

const b64 = (pem: string) => new X509Certificate(pem).raw.toString("base64");

describe("formatClientCertHeaders / parseClientCertHeaders", () => {
  it("round-trips a leaf and its chain as RFC 9440 byte sequences, in the viewer's order", async () => {
    const good = await goodP256();
    const headers = formatClientCertHeaders(good.certificatePem, [good.chainPem]);
    expect(headers["client-cert"]).toBe(`:${b64(good.certificatePem)}:`);
    expect(headers["client-cert-chain"]).toBe(
      `:${b64(ca.issuing.certificatePem)}:, :${b64(ca.root.certificatePem)}:`,
    );
    const parsed = parseClientCertHeaders(headers);
    expect(parsed.leaf.raw.equals(new X509Certificate(good.certificatePem).raw)).toBe(true);
    expect(parsed.chain.map(fingerprintOf)).toEqual(
      splitPem(good.chainPem).map((pem) => fingerprintOf(new X509Certificate(pem))),
    );
  });

  it("omits Client-Cert-Chain when the viewer sent only its leaf", async () => {
    const good = await goodP256();
    const headers = formatClientCertHeaders(good.certificatePem);
    expect(Object.keys(headers)).toEqual(["client-cert"]);
    expect(parseClientCertHeaders(headers).chain).toEqual([]);
  });

  it("refuses to format anything but exactly one leaf", async () => {
    const good = await goodP256();
    expect(() => formatClientCertHeaders(good.certificatePem + ca.issuing.certificatePem)).toThrow(
      /exactly one PEM certificate; found 2/,
    );
    expect(() => formatClientCertHeaders("not a pem")).toThrow(/found 0/);
  });

  it("reads header names in any case, repeated chain lines as one list, and optional whitespace", async () => {
    const good = await goodP256();
    const parsed = parseClientCertHeaders({
      "Client-Cert": ` :${b64(good.certificatePem)}:\t`,
      "CLIENT-CERT-CHAIN": [`:${b64(ca.issuing.certificatePem)}:`, ` :${b64(ca.root.certificatePem)}: `],
    });
    expect(parsed.chain.map(fingerprintOf)).toEqual([
      fingerprintOf(new X509Certificate(ca.issuing.certificatePem)),
      fingerprintOf(new X509Certificate(ca.root.certificatePem)),
    ]);
  });

  it("accepts base64 without its = padding (RFC 8941: parsers should not fail on it)", async () => {
    const good = await goodP256();
    const unpadded = b64(good.certificatePem).replace(/=+$/, "");
    expect(
      parseClientCertHeaders({ "client-cert": `:${unpadded}:` }).leaf.raw.equals(
        new X509Certificate(good.certificatePem).raw,
      ),
    ).toBe(true);
  });

  it.each<[string, () => Promise<HeaderSource>, ViewerRefusal, RegExp]>([
    ["no header at all", async () => ({}), "MissingClientCert", /^no Client-Cert header$/],
    [
      "a chain without its leaf",
      async () => ({ "client-cert-chain": `:${b64(ca.issuing.certificatePem)}:` }),
      "MissingClientCert",
      /Client-Cert-Chain without Client-Cert/,
    ],
    [
      "Client-Cert without colons (a raw base64 or PEM value)",
      async () => ({ "client-cert": b64((await goodP256()).certificatePem) }),
      "MalformedHeader",
      /Client-Cert is not a structured-field byte sequence/,
    ],
    [
      "characters outside base64",
      async () => ({ "client-cert": ":MIIB$$$$:" }),
      "MalformedHeader",
      /Client-Cert is not valid base64/,
    ],
    [
      "padding in the middle",
      async () => ({ "client-cert": ":MI==IB:" }),
      "MalformedHeader",
      /not valid base64/,
    ],
    [
      "an empty byte sequence",
      async () => ({ "client-cert": "::" }),
      "MalformedHeader",
      /Client-Cert is empty/,
    ],
    [
      "base64 of something that is not a certificate",
      async () => ({ "client-cert": `:${Buffer.from("hello, origin").toString("base64")}:` }),
      "MalformedHeader",
      /Client-Cert is not an X.509 certificate/,
    ],
    [
      "a certificate followed by extra bytes",
      async () => {
        const der = new X509Certificate((await goodP256()).certificatePem).raw;
        return { "client-cert": `:${Buffer.concat([der, Buffer.from([0, 0])]).toString("base64")}:` };
      },
      "MalformedHeader",
      /bytes after the certificate/,
    ],
    [
      "Client-Cert sent twice",
      async () => {
        const value = `:${b64((await goodP256()).certificatePem)}:`;
        return { "client-cert": [value, value] };
      },
      "MalformedHeader",
      /Client-Cert appears more than once/,
    ],
    [
      "Client-Cert holding a list (two lines a proxy joined)",
      async () => {
        const value = `:${b64((await goodP256()).certificatePem)}:`;
        return { "client-cert": `${value}, ${value}` };
      },
      "MalformedHeader",
      /Client-Cert holds more than one value/,
    ],
    [
      "an empty chain member",
      async () => ({
        "client-cert": `:${b64((await goodP256()).certificatePem)}:`,
        "client-cert-chain": `:${b64(ca.issuing.certificatePem)}:,,:${b64(ca.root.certificatePem)}:`,
      }),
      "MalformedHeader",
      /Client-Cert-Chain item 2 is empty/,
    ],
    [
      "a chain item with bad base64",
      async () => ({
        "client-cert": `:${b64((await goodP256()).certificatePem)}:`,
        "client-cert-chain": `:${b64(ca.issuing.certificatePem)}:, :%%%:`,
      }),
      "MalformedHeader",
      /Client-Cert-Chain item 2 is not valid base64/,
    ],
    [
      `more than ${FORWARDED_LIMITS.chainCertificates} chain certificates`,
      async () => ({
        "client-cert": `:${b64((await goodP256()).certificatePem)}:`,
        "client-cert-chain": Array(FORWARDED_LIMITS.chainCertificates + 1)
          .fill(`:${b64(ca.issuing.certificatePem)}:`)
          .join(", "),
      }),
      "ChainTooDeep",
      /Client-Cert-Chain holds 5 certificates; at most 4 accepted/,
    ],
    [
      "a header over the size limit",
      async () => ({ "client-cert": `:${"A".repeat(FORWARDED_LIMITS.headerBytes)}:` }),
      "HeaderTooLarge",
      /Client-Cert is 32770 bytes; at most 32768 accepted/,
    ],
  ])("refuses %s", async (_name, headers, reason, message) => {
    const error = parseError(await headers());
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
  });
});

describe("loadViewerBundle", () => {
  it("loads CA certificates, keeping one that expired since (it anchors nothing later)", async () => {
    const stale = await smallCa("CN=Stale Viewer CA", {
      notBefore: daysFromNow(-400),
      notAfter: daysFromNow(-1),
    });
    const bundle = loadViewerBundle(ca.root.certificatePem + stale.certificatePem);
    expect(bundle.certificates).toHaveLength(2);
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ["an empty file", async () => "", /holds no certificate/],
    ["a leaf", async () => (await goodP256()).certificatePem, /block 1 is not a CA certificate/],
    ["a truncated block", async () => ca.root.certificatePem.slice(0, 200), /has no END line/],
    [
      "a private key next to a CA",
      async () => ca.root.certificatePem + (await privateKeyToPem(ca.root.keys.privateKey)),
      /block 2 is a private key, not a CA certificate/,
    ],
  ])("refuses %s, without echoing its content", async (_name, text, message) => {
    const pem = await text();
    let error: unknown;
    try {
      loadViewerBundle(pem);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ViewerBundleError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/[A-Za-z0-9+/]{40}/);
  });
});

describe("verifyForwardedClientCertificate", () => {
  it("believes a leaf + intermediate chain that ends at a bundle CA, and says who the viewer is", async () => {
    const good = await goodP256();
    const leaf = new X509Certificate(good.certificatePem);
    const verdict = verify({ headers: forwarded(good) });
    expect(verdict).toEqual({
      ok: true,
      viewer: {
        subject: CLIENT_SUBJECT,
        issuer: "CN=Fixture Issuing CA, O=mtls-rotator tests",
        serialNumber: leaf.serialNumber.toLowerCase(),
        sha256: fingerprintOf(leaf),
        notAfter: daysFromNow(89).toISOString(),
      },
    });
  });

  it("believes a leaf sent alone when the bundle holds its issuing CA", async () => {
    const good = await goodP256();
    const headers = formatClientCertHeaders(good.certificatePem);
    expect(verify({ headers, viewerBundle: ca.issuing.certificatePem + ca.root.certificatePem }).ok).toBe(
      true,
    );
    // The same leaf against the root alone: the intermediate is missing, nothing leads to a trusted CA.
    expect(refusalOf(verify({ headers }))).toEqual({
      code: "UntrustedIssuer",
      reason: "viewer certificate not issued by a trusted viewer CA",
    });
  });

  it("does not trust the forwarded order (root first, then the issuing CA)", async () => {
    expect(verify({ headers: forwarded(await badCredentials.chainOutOfOrder()) }).ok).toBe(true);
  });

  it("refuses forged headers: valid viewer headers on a connection without CloudFront's verified certificate", async () => {
    const headers = forwarded(await goodP256());
    const stranger = { clientCertificateVerified: false };
    expect(refusalOf(verify({ headers, connection: stranger }))).toEqual({
      code: "NotFromCloudFront",
      reason: "request did not arrive over CloudFront's origin-mTLS connection",
    });
    // A certificate the origin-client bundle did not verify is no better than none.
    const unverified = { ...cloudFront, clientCertificateVerified: false };
    expect(refusalOf(verify({ headers, connection: unverified })).code).toBe("NotFromCloudFront");
    // And no headers at all on such a connection: refused for the connection first.
    expect(refusalOf(verify({ headers: {}, connection: stranger })).code).toBe("NotFromCloudFront");
  });

  it("refuses a verified connection without Client-Cert", () => {
    expect(refusalOf(verify({ headers: {} }))).toEqual({
      code: "MissingClientCert",
      reason: "no Client-Cert header",
    });
  });

  describe("allow-list of CloudFront identities", () => {
    it.each<[string, () => ForwardedCertificateInput["originClientTrust"], boolean]>([
      ["its subject", () => ({ subjects: ["CN=cloudfront-origin, O=Example"] }), true],
      ["its SHA-256", () => ({ sha256: [fingerprintOf(cloudFront.clientCertificate!)] }), true],
      [
        "its issuer's key",
        () => ({ issuerKeySha256: [keyFingerprintOf(new X509Certificate(originClientCa.certificatePem))] }),
        true,
      ],
      ["another subject", () => ({ subjects: ["CN=someone-else"] }), false],
      [
        "another issuer key",
        () => ({ issuerKeySha256: [keyFingerprintOf(new X509Certificate(ca.root.certificatePem))] }),
        false,
      ],
    ])("matching %s: %s", async (_name, trust, allowed) => {
      const verdict = verify({ headers: forwarded(await goodP256()), originClientTrust: trust() });
      if (allowed) expect(verdict.ok).toBe(true);
      else expect(refusalOf(verdict).code).toBe("CloudFrontNotAllowed");
    });
  });

  it.each<[string, () => Promise<{ certificatePem: string; chainPem: string }>, ViewerRefusal, string]>([
    ["an expired viewer certificate", badCredentials.expired, "Expired", "viewer certificate expired"],
    [
      "a viewer certificate not valid yet",
      badCredentials.notYetValid,
      "NotYetValid",
      "viewer certificate is not valid yet",
    ],
    [
      "a viewer certificate for servers only",
      badCredentials.serverAuthOnly,
      "NotClientAuth",
      "viewer certificate is not for client authentication",
    ],
    [
      "a CA certificate as the viewer's",
      badCredentials.caAsLeaf,
      "LeafIsCA",
      "viewer certificate is a CA certificate",
    ],
    [
      "a viewer CA outside the bundle (another root)",
      badCredentials.unrelatedIssuer,
      "UntrustedIssuer",
      "viewer certificate not issued by a trusted viewer CA",
    ],
    [
      "a leaf signed by another key than its named issuer's",
      badCredentials.forgedLeaf,
      "UntrustedIssuer",
      "viewer certificate not issued by a trusted viewer CA",
    ],
    [
      "an intermediate signed by another key than the root's",
      badCredentials.forgedIssuer,
      "UntrustedIssuer",
      "viewer certificate not issued by a trusted viewer CA",
    ],
    [
      "an expired intermediate",
      badCredentials.expiredIssuer,
      "InvalidChain",
      "viewer chain certificate 1 is outside its validity window",
    ],
    [
      "a CA below a pathLen 0 intermediate",
      badCredentials.chainOfFourCas,
      "InvalidChain",
      "viewer chain certificate 2 allows 0 CA certificates below it",
    ],
  ])("refuses %s", async (_name, credential, code, reason) => {
    expect(refusalOf(verify({ headers: forwarded(await credential()) }))).toEqual({ code, reason });
  });

  it("accepts a viewer certificate without any EKU (only a present EKU must say clientAuth)", async () => {
    expect(verify({ headers: forwarded(await badCredentials.noEku()) }).ok).toBe(true);
  });

  it("refuses a wrong viewer CA: a sibling-issued viewer against a bundle of the issuing CA only", async () => {
    const sibling = await badCredentials.siblingIssued();
    const headers = formatClientCertHeaders(sibling.certificatePem, [ca.sibling.certificatePem]);
    expect(refusalOf(verify({ headers, viewerBundle: ca.issuing.certificatePem })).code).toBe(
      "UntrustedIssuer",
    );
  });

  it("refuses a non-CA issuer in the forwarded chain, even one with keyCertSign", async () => {
    // A leaf (CA:FALSE) allowed to sign certificates by its key usage, used as the viewer's issuer.
    const key = await newFixtureKey("P-256");
    const notCaCertificate = await signLeaf(ca.issuing, {
      publicKey: key.keys.publicKey,
      subject: "CN=Not A CA",
      notBefore: daysFromNow(-1),
      notAfter: daysFromNow(30),
      profile: { keyUsage: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature },
    });
    const notCa: CertificateAuthority = {
      name: "CN=Not A CA",
      keyAlgorithm: "EC_prime256v1",
      keys: key.keys,
      certificate: notCaCertificate,
      certificatePem: `${notCaCertificate.toString("pem")}\n`,
      chainPem: ca.issuing.certificatePem,
    };
    const viewer = await buildLeaf(notCa, { subject: "CN=viewer under a leaf" });
    expect(refusalOf(verify({ headers: forwarded(viewer) }))).toEqual({
      code: "InvalidChain",
      reason: "viewer chain certificate 1 is not a CA",
    });
  });

  it(`refuses a verified path more than ${FORWARDED_LIMITS.chainCertificates} CA certificates deep`, async () => {
    let issuer = ca.root;
    for (const level of [1, 2, 3, 4]) {
      issuer = await createSubordinateCa(issuer, {
        name: `CN=Deep Level ${level} CA`,
        notBefore: daysFromNow(-10),
        notAfter: daysFromNow(100),
      });
    }
    const deep = await buildLeaf(issuer);
    // Four forwarded CAs (the root left out, as RFC 9440 allows) pass the header limit; with the root the
    // path holds five.
    const headers = formatClientCertHeaders(deep.certificatePem, [
      splitPem(deep.chainPem).slice(0, 4).join(""),
    ]);
    expect(refusalOf(verify({ headers }))).toEqual({
      code: "ChainTooDeep",
      reason: "viewer chain is more than 4 CA certificates deep",
    });
  });

  it("refuses everything when the bundle is not a CA bundle (fail closed)", async () => {
    const headers = forwarded(await goodP256());
    for (const bad of ["", "garbage", (await goodP256()).certificatePem]) {
      expect(refusalOf(verify({ headers, viewerBundle: bad }))).toEqual({
        code: "BundleUnavailable",
        reason: "viewer CA bundle unavailable",
      });
    }
  });

  it("refuses a viewer whose issuing CA in the bundle has expired since the bundle was written", async () => {
    const later = new Date(ca.issuing.certificate.notAfter.getTime() + DAY);
    const viewer = await buildLeaf(ca.issuing, {
      notBefore: daysFromNow(-1),
      notAfter: new Date(later.getTime() + DAY),
    });
    const headers = formatClientCertHeaders(viewer.certificatePem);
    const viewerBundle = ca.issuing.certificatePem;
    expect(verify({ headers, viewerBundle }).ok).toBe(true);
    expect(refusalOf(verify({ headers, viewerBundle, now: later }))).toEqual({
      code: "InvalidChain",
      reason: "viewer chain certificate 1 is outside its validity window",
    });
  });

  it("keeps every refusal reason short, printable and free of quotes (nginx puts it in JSON verbatim)", async () => {
    const reasons = new Set<string>();
    const good = await goodP256();
    const inputs: Array<Partial<ForwardedCertificateInput> & { headers: HeaderSource }> = [
      { headers: forwarded(good), connection: { clientCertificateVerified: false } },
      { headers: forwarded(good), originClientTrust: { subjects: [] } },
      { headers: {} },
      { headers: { "client-cert": ":%:" } },
      { headers: { "client-cert": `:${"A".repeat(40_000)}:` } },
      { headers: forwarded(await badCredentials.expired()) },
      { headers: forwarded(await badCredentials.unrelatedIssuer()) },
      { headers: forwarded(await badCredentials.chainOfFourCas()) },
      { headers: forwarded(good), viewerBundle: "" },
    ];
    for (const input of inputs) reasons.add(refusalOf(verify(input)).reason);
    expect(reasons.size).toBe(inputs.length);
    for (const reason of reasons) {
      expect(reason).toMatch(/^[\x20-\x7e]{10,100}$/);
      expect(reason).not.toMatch(/["\\]|[A-Za-z0-9+/]{40}/);
    }
  });
});
