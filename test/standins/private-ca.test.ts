/**
 * The Private CA stand-in, driven by the real `@aws-sdk/client-acm-pca` over loopback HTTP: asynchronous
 * issuance, real signatures with the client-auth template's extensions, idempotency tokens, the input
 * checks AWS makes, the 25/s IssueCertificate quota, CA certificates and revocation.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import {
  type ACMPCAClient,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  type IssueCertificateCommandInput,
  RevokeCertificateCommand,
} from "@aws-sdk/client-acm-pca";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../functions/crypto/keys.ts";
import { x509 } from "../../functions/crypto/x509.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa, EKU } from "../../standins/pki.ts";
import { refusedByModel } from "../support/model-checks.ts";

const DAY = 86_400_000;
const CLIENT_AUTH_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1";
const SERVER_AUTH_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1";
const SUBJECT = "CN=edge-to-origin.acme.example, O=Acme, C=US";
const SANS = [
  { type: "dns" as const, value: "edge-to-origin.acme.example" },
  { type: "uri" as const, value: "spiffe://acme.example/edge" },
];

let root: CertificateAuthority;
let issuing: CertificateAuthority;
let csrPem: string;
let standins: Standins;
let pca: ACMPCAClient;
let authorityArn: string;
const started: Standins[] = [];

beforeAll(async () => {
  root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
  issuing = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
  csrPem = (
    await generateKeyAndCsr({ keyAlgorithm: "EC_prime256v1", subject: { name: SUBJECT }, sans: SANS })
  ).csrPem;
  // Unpaced: only the request-rate tests run at the AWS quotas.
  standins = await start({ pendingPolls: 2, issuePerSecond: 1000 });
  authorityArn = standins.privateCa.addAuthority(issuing);
  pca = standins.clients({ maxAttempts: 1 }).privateCa;
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

async function start(privateCa: NonNullable<Parameters<typeof startStandins>[0]>["privateCa"] = {}) {
  const s = await startStandins({ privateCa });
  started.push(s);
  return s;
}

function issueInput(overrides: Partial<IssueCertificateCommandInput> = {}): IssueCertificateCommandInput {
  return {
    CertificateAuthorityArn: authorityArn,
    Csr: Buffer.from(csrPem),
    SigningAlgorithm: "SHA256WITHECDSA",
    TemplateArn: CLIENT_AUTH_TEMPLATE,
    Validity: { Type: "DAYS", Value: 30 },
    ...overrides,
  };
}

async function issue(overrides: Partial<IssueCertificateCommandInput> = {}, client = pca): Promise<string> {
  const out = await client.send(new IssueCertificateCommand(issueInput(overrides)));
  if (!out.CertificateArn) throw new Error("IssueCertificate answered without an ARN");
  return out.CertificateArn;
}

/** The certificate the stand-in signed under an ARN (read without spending a GetCertificate poll). */
function issuedPem(certificateArn: string): string {
  const pem = standins.privateCa.issuedCertificates().find((c) => c.arn === certificateArn)?.certificatePem;
  if (!pem) throw new Error(`no certificate ${certificateArn}`);
  return pem;
}

function spki(key: Parameters<typeof createPublicKey>[0]): Buffer {
  return createPublicKey(key).export({ type: "spki", format: "der" });
}

/** A CSR whose signature no longer matches its content: one byte of the subject changed after signing. */
function tamperedCsr(pem: string): string {
  const der = Buffer.from(x509.PemConverter.decode(pem)[0]!);
  const at = der.indexOf(Buffer.from("edge-to-origin"));
  if (at < 0) throw new Error("subject not found in the CSR");
  der[at] = "x".charCodeAt(0);
  const tampered = x509.PemConverter.encode(der, "CERTIFICATE REQUEST");
  // Still a well-formed CSR: only the signature check can catch it.
  expect(new x509.Pkcs10CertificateRequest(tampered).subject).toContain("xdge-to-origin");
  return tampered;
}

describe("IssueCertificate and GetCertificate", () => {
  it("[acm-pca.request-in-progress] [acm-pca.get-certificate-chain] answers RequestInProgressException pendingPolls times, then the certificate and its chain", async () => {
    const arn = await issue();
    expect(arn).toMatch(new RegExp(`^${authorityArn.replace(/[/.]/g, "\\$&")}/certificate/[0-9a-f]+$`));
    const get = () =>
      pca.send(new GetCertificateCommand({ CertificateAuthorityArn: authorityArn, CertificateArn: arn }));

    for (let poll = 0; poll < 2; poll++) {
      await expect(get()).rejects.toMatchObject({ name: "RequestInProgressException" });
    }
    const out = await get();
    expect(out.Certificate).toBe(issuedPem(arn).trim());
    expect(out.CertificateChain).toBe((issuing.certificatePem + root.certificatePem).trim());
    // Chain = issuing CA then root, each certificate complete.
    const chain = (out.CertificateChain ?? "").match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    );
    expect(chain?.map((c) => new X509Certificate(c).subject)).toEqual([
      new X509Certificate(issuing.certificatePem).subject,
      new X509Certificate(root.certificatePem).subject,
    ]);
    // Ready stays ready.
    expect((await get()).Certificate).toBe(out.Certificate);
  });

  it("[acm-pca.client-auth-template-eku] [acm-pca.backdate-60-minutes] signs the CSR's key, subject and SANs with the client-auth template's extensions", async () => {
    const issuedAt = Date.now();
    const pem = issuedPem(await issue());
    const node = new X509Certificate(pem);
    const cert = new x509.X509Certificate(pem);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);

    // A real signature by the issuing CA's key, and by no other.
    expect(node.verify(new X509Certificate(issuing.certificatePem).publicKey)).toBe(true);
    expect(node.verify(new X509Certificate(root.certificatePem).publicKey)).toBe(false);
    expect(node.checkIssued(new X509Certificate(issuing.certificatePem))).toBe(true);
    expect(spki(pem)).toEqual(Buffer.from(csr.publicKey.rawData));

    expect(cert.subject).toBe(csr.subject);
    expect(node.subjectAltName).toBe("DNS:edge-to-origin.acme.example, URI:spiffe://acme.example/edge");

    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.usages).toEqual([EKU.clientAuth]);
    const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
    expect(keyUsage?.critical).toBe(true);
    expect(keyUsage?.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(node.ca).toBe(false);

    // Validity: backdated an hour for clock skew, ending 30 days from issuance.
    expect(Math.abs(cert.notBefore.getTime() - (issuedAt - 60 * 60_000))).toBeLessThan(5_000);
    expect(Math.abs(cert.notAfter.getTime() - (issuedAt + 30 * DAY))).toBeLessThan(5_000);
  });

  it("[acm-pca.default-template] signs with EndEntityCertificate/V1 (serverAuth and clientAuth) when no template is named", async () => {
    const pem = issuedPem(await issue({ TemplateArn: undefined }));
    expect(new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      EKU.serverAuth,
      EKU.clientAuth,
    ]);
  });

  it("[acm-pca.client-auth-template-eku] follows the template it is given", async () => {
    const pem = issuedPem(await issue({ TemplateArn: SERVER_AUTH_TEMPLATE }));
    expect(new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      EKU.serverAuth,
    ]);
  });

  it.each([
    ["ABSOLUTE (seconds since the epoch)", "ABSOLUTE", (end: Date) => end.getTime() / 1000],
    ["END_DATE as GeneralizedTime (YYYYMMDDHHMMSS)", "END_DATE", (end: Date) => Number(generalizedTime(end))],
    ["END_DATE as UTCTime (YYMMDDHHMMSS)", "END_DATE", (end: Date) => Number(generalizedTime(end).slice(2))],
  ] as const)("reads a Validity of type %s", async (_, type, value) => {
    const end = new Date(Math.floor((Date.now() + 10 * DAY) / 1000) * 1000);
    const pem = issuedPem(await issue({ Validity: { Type: type, Value: value(end) } }));
    expect(new x509.X509Certificate(pem).notAfter).toEqual(end);
  });

  it("[acm-pca.validity-types] reads a UTCTime END_DATE's two-digit year as 20YY below 50 (AWS's own sample, 491231235959)", async () => {
    const longLived = await createRootCa({
      name: "CN=Long-lived Root CA",
      notAfter: new Date("2060-01-01Z"),
    });
    const arn = standins.privateCa.addAuthority(longLived);
    const validity = (Value: number) => ({
      CertificateAuthorityArn: arn,
      Validity: { Type: "END_DATE" as const, Value },
    });
    for (const value of [491231235959, 20491231235959]) {
      const pem = issuedPem(await issue(validity(value)));
      expect(new x509.X509Certificate(pem).notAfter).toEqual(new Date("2049-12-31T23:59:59Z"));
    }

    // Read as 2049, not 1949: beyond a CA that ends at noon that day.
    const endsAtNoon = await createRootCa({
      name: "CN=Noon Root CA",
      notAfter: new Date("2049-12-31T12:00:00Z"),
    });
    const noonArn = standins.privateCa.addAuthority(endsAtNoon);
    await expect(
      pca.send(
        new IssueCertificateCommand(
          issueInput({ ...validity(491231235959), CertificateAuthorityArn: noonArn }),
        ),
      ),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });
});

describe("IdempotencyToken", () => {
  it("[acm-pca.idempotency-token-5-minutes] answers the same certificate for the same token, signing it once", async () => {
    const before = standins.privateCa.issuedCount;
    const token = "rotation-42-certificate";
    const first = await issue({ IdempotencyToken: token });
    expect(standins.privateCa.issuedCount).toBe(before + 1);

    const again = await issue({ IdempotencyToken: token });
    expect(again).toBe(first);
    expect(standins.privateCa.issuedCount).toBe(before + 1);

    const other = await issue({ IdempotencyToken: "rotation-43-certificate" });
    expect(other).not.toBe(first);
    expect(standins.privateCa.issuedCount).toBe(before + 2);
  });

  it("accepts 36 characters and refuses 37 with ValidationException", async () => {
    await issue({ IdempotencyToken: "a".repeat(36) });
    const before = standins.privateCa.issuedCount;
    // IdempotencyToken is 1..36 characters in AWS's model: the model check refuses 37 as Private CA does,
    // before the stand-in sees it.
    const { error } = await refusedByModel(() =>
      pca.send(new IssueCertificateCommand(issueInput({ IdempotencyToken: "b".repeat(37) }))),
    );
    expect(error).toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
      message: `1 validation error detected: Value '${"b".repeat(37)}' at 'idempotencyToken' failed to satisfy constraint: Member must have length less than or equal to 36`,
    });
    expect(standins.privateCa.issuedCount).toBe(before);
  });
});

describe("IssueCertificate signing algorithm: the family of the CA's key (RSA or ECDSA), any hash", () => {
  it("a P-384 CA signs with SHA256WITHECDSA or SHA384WITHECDSA, refuses SHA256WITHRSA; describes its key", async () => {
    const p384 = await createSubordinateCa(root, {
      name: "CN=Acme P-384 CA, O=Acme",
      keyAlgorithm: "EC_secp384r1",
    });
    const arn = standins.privateCa.addAuthority(p384);
    const described = await pca.send(
      new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }),
    );
    expect(described.CertificateAuthority?.CertificateAuthorityConfiguration).toMatchObject({
      KeyAlgorithm: "EC_secp384r1",
      SigningAlgorithm: "SHA384WITHECDSA",
    });
    for (const SigningAlgorithm of ["SHA256WITHECDSA", "SHA384WITHECDSA"] as const) {
      const certificateArn = await issue({ CertificateAuthorityArn: arn, SigningAlgorithm });
      const leaf = new X509Certificate(issuedPem(certificateArn));
      expect(leaf.verify(new X509Certificate(p384.certificatePem).publicKey)).toBe(true);
    }
    const before = standins.privateCa.issuedCount;
    await expect(
      pca.send(
        new IssueCertificateCommand(
          issueInput({ CertificateAuthorityArn: arn, SigningAlgorithm: "SHA256WITHRSA" }),
        ),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgsException" });
    expect(standins.privateCa.issuedCount).toBe(before);
  });
});

describe("IssueCertificate refusals", () => {
  const refusals: Array<[string, string, () => Partial<IssueCertificateCommandInput>]> = [
    [
      "a SigningAlgorithm that does not match the CA key",
      "InvalidArgsException",
      () => ({ SigningAlgorithm: "SHA256WITHRSA" }),
    ],
    [
      "a CSR whose signature does not verify",
      "MalformedCSRException",
      () => ({ Csr: Buffer.from(tamperedCsr(csrPem)) }),
    ],
    ["a CSR that is not a CSR", "MalformedCSRException", () => ({ Csr: Buffer.from("garbage, not a CSR") })],
    [
      "a certificate in place of a CSR",
      "MalformedCSRException",
      () => ({ Csr: Buffer.from(issuing.certificatePem) }),
    ],
    [
      "a validity beyond the CA certificate's notAfter",
      "ValidationException",
      () => ({ Validity: { Type: "DAYS", Value: 5 * 365 + 30 } }),
    ],
    // Month 13, 30 February, hour 24, minute 60, second 60, and seconds since the epoch (that is ABSOLUTE).
    ...[20301301000000, 20300230000000, 20300615240000, 20300615126000, 20300615120060, 1_800_000_000].map(
      (value): [string, string, () => Partial<IssueCertificateCommandInput>] => [
        `an END_DATE that is not a date (${value})`,
        "ValidationException",
        () => ({ Validity: { Type: "END_DATE", Value: value } }),
      ],
    ),
    [
      "an unknown template",
      "InvalidArgsException",
      () => ({ TemplateArn: "arn:aws:acm-pca:::template/NoSuchTemplate/V1" }),
    ],
    [
      "an unknown CA",
      "ResourceNotFoundException",
      () => ({ CertificateAuthorityArn: authorityArn.replace(/[0-9a-f]{12}$/, "000000000000") }),
    ],
  ];

  it.each(refusals)(
    "[acm-pca.signing-algorithm-matches-ca] [acm-pca.csr-verified] [acm-pca.validity-within-ca] [acm-pca.unknown-template] refuses %s with %s",
    async (_, name, overrides) => {
      const before = standins.privateCa.issuedCount;
      await expect(pca.send(new IssueCertificateCommand(issueInput(overrides())))).rejects.toMatchObject({
        name,
        $metadata: { httpStatusCode: 400 },
      });
      expect(standins.privateCa.issuedCount).toBe(before);
    },
  );

  // Requests AWS's model does not allow: the model check refuses them as Private CA does (ValidationException
  // naming the member), before the stand-in sees them. The malformed CA ARN was the stand-in's own
  // InvalidArnException; it does not match the model's Arn pattern, so the model check answers first now.
  const modelRefusals: Array<[string, string, string, () => Partial<IssueCertificateCommandInput>]> = [
    ["a missing Validity", "validity", "Member must not be null", () => ({ Validity: undefined })],
    [
      "a malformed CA ARN",
      "certificateAuthorityArn",
      "Member must satisfy regular expression pattern: ",
      () => ({ CertificateAuthorityArn: "arn:aws:acm-pca:nope" }),
    ],
  ];

  it.each(modelRefusals)(
    "refuses %s with ValidationException naming %s, signing nothing",
    async (_, member, constraint, overrides) => {
      const before = standins.privateCa.issuedCount;
      const { error } = await refusedByModel(() =>
        pca.send(new IssueCertificateCommand(issueInput(overrides()))),
      );
      expect(error).toMatchObject({
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
        message: expect.stringContaining(`at '${member}' failed to satisfy constraint: ${constraint}`),
      });
      expect(error.message).toMatch(/^1 validation error detected: /);
      expect(standins.privateCa.issuedCount).toBe(before);
    },
  );

  it("[acm-pca.ca-must-be-active] refuses a disabled CA with InvalidStateException", async () => {
    const disabled = standins.privateCa.addAuthority(issuing);
    await issue({ CertificateAuthorityArn: disabled });
    standins.privateCa.disableAuthority(disabled);
    const before = standins.privateCa.issuedCount;
    await expect(
      pca.send(new IssueCertificateCommand(issueInput({ CertificateAuthorityArn: disabled }))),
    ).rejects.toMatchObject({ name: "InvalidStateException" });
    expect(standins.privateCa.issuedCount).toBe(before);
    const described = await pca.send(
      new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: disabled }),
    );
    expect(described.CertificateAuthority?.Status).toBe("DISABLED");
  });

  it("[acm-pca.last-state-change] dates a CA's creation and its last status change (LastStateChangeAt)", async () => {
    const before = Date.now();
    const arn = standins.privateCa.addAuthority(issuing);
    const describe = async () =>
      (await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn })))
        .CertificateAuthority!;
    const created = await describe();
    expect(created.Status).toBe("ACTIVE");
    expect(created.CreatedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(created.LastStateChangeAt?.getTime()).toBe(created.CreatedAt!.getTime());
    await new Promise((resolve) => setTimeout(resolve, 1100));
    standins.privateCa.disableAuthority(arn);
    const disabled = await describe();
    expect(disabled.Status).toBe("DISABLED");
    expect(disabled.LastStateChangeAt!.getTime()).toBeGreaterThan(created.LastStateChangeAt!.getTime());
    expect(disabled.CreatedAt!.getTime()).toBe(created.CreatedAt!.getTime());
  });
});

describe("request rate", () => {
  it("[acm-pca.issue-rate-25] throttles IssueCertificate beyond 25 per second", async () => {
    const s = await start();
    const arn = s.privateCa.addAuthority(issuing);
    const client = s.clients({ maxAttempts: 1 }).privateCa;
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => issue({ CertificateAuthorityArn: arn }, client)),
    );
    const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as { name?: string }] : []));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(25);
    expect(rejected.map((e) => e.name)).toEqual(Array(5).fill("ThrottlingException"));
    expect(s.privateCa.issuedCount).toBe(25);
  });

  it("[acm-pca.get-rate-75] throttles GetCertificate beyond 75 per second", async () => {
    const s = await start({ pendingPolls: 0 });
    const arn = s.privateCa.addAuthority(issuing);
    const client = s.clients({ maxAttempts: 1 }).privateCa;
    const certificateArn = await issue({ CertificateAuthorityArn: arn }, client);
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, () =>
        client.send(
          new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn: certificateArn }),
        ),
      ),
    );
    const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as { name?: string }] : []));
    expect(results.length - rejected.length).toBe(75);
    expect(new Set(rejected.map((e) => e.name))).toEqual(new Set(["ThrottlingException"]));
  });
});

describe("GetCertificateAuthorityCertificate", () => {
  it("[acm-pca.ca-certificate-chain] answers the CA certificate and, for a subordinate CA, its chain", async () => {
    const out = await pca.send(
      new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: authorityArn }),
    );
    expect(out.Certificate).toBe(issuing.certificatePem.trim());
    expect(out.CertificateChain).toBe(root.certificatePem.trim());

    const rootArn = standins.privateCa.addAuthority(root);
    const rootOut = await pca.send(
      new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: rootArn }),
    );
    expect(rootOut.Certificate).toBe(root.certificatePem.trim());
    expect(rootOut.CertificateChain).toBeUndefined();
  });

  it("[acm-pca.access-denied] a CA the caller may no longer use answers AccessDeniedException; other CAs still answer", async () => {
    const denied = standins.privateCa.addAuthority(await createSubordinateCa(root, { name: "CN=Denied CA" }));
    const read = (arn: string) =>
      pca.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: arn }));
    expect((await read(denied)).Certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);

    standins.privateCa.denyAccess(denied);
    await expect(read(denied)).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining("acm-pca:GetCertificateAuthorityCertificate"),
    });
    await expect(
      pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: denied })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    expect((await read(authorityArn)).Certificate).toBe(issuing.certificatePem.trim());
  });
});

describe("RevokeCertificate", () => {
  it("[acm-pca.revoke-once] marks the certificate revoked, and a second revoke is RequestAlreadyProcessedException", async () => {
    const arn = await issue();
    const serial = new X509Certificate(issuedPem(arn)).serialNumber.toLowerCase();
    const revoked = () => standins.privateCa.issuedCertificates().find((c) => c.arn === arn)?.revoked;
    const revoke = (certificateSerial: string) =>
      pca.send(
        new RevokeCertificateCommand({
          CertificateAuthorityArn: authorityArn,
          CertificateSerial: certificateSerial,
          RevocationReason: "SUPERSEDED",
        }),
      );
    expect(revoked()).toBe(false);

    // As DescribeCertificate and openssl print it: colon-separated hex.
    await revoke(serial.match(/../g)?.join(":") ?? "");
    expect(revoked()).toBe(true);

    await expect(revoke(serial)).rejects.toMatchObject({ name: "RequestAlreadyProcessedException" });
    await expect(revoke("7f:00:00:00:00:00:00:01")).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});

function generalizedTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
