/**
 * The ACM stand-in, driven by the real `@aws-sdk/client-acm` over loopback HTTP: every import check ACM
 * makes (key matches, one certificate, parseable key, not expired, chain leads from the leaf, key algorithm
 * of the signing CA's family), the 1/s
 * ImportCertificate pace, re-import semantics, what DescribeCertificate and ListCertificates answer, and
 * the rule that a certificate CloudFront uses cannot be deleted.
 */
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  type ImportCertificateCommandInput,
  ListCertificatesCommand,
  type ListCertificatesCommandInput,
  paginateListCertificates,
  SearchCertificatesCommand,
} from "@aws-sdk/client-acm";
import {
  CreateDistributionCommand,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToPem } from "../../functions/crypto/keys.ts";
import { x509 } from "../../functions/crypto/x509.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  signLeaf,
} from "../../standins/pki.ts";
import { buildDistributionConfig, originId, withOriginCertificate } from "../support/distribution-config.ts";
import { refusedByModel } from "../support/model-checks.ts";

const DAY = 86_400_000;
const ARN = /^arn:aws:acm:us-east-1:111122223333:certificate\/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;
const UNKNOWN_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000";

let root: CertificateAuthority;
let issuing: CertificateAuthority;
/** An RSA issuing CA under the same root: RSA leaves come from it (ACM imports a leaf of its CA's family). */
let issuingRsa: CertificateAuthority;
let unrelated: CertificateAuthority;
let ec: IssuedCredential;
let ecNext: IssuedCredential;
let rsa: IssuedCredential;
const started: Standins[] = [];

beforeAll(async () => {
  root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
  issuing = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
  issuingRsa = await createSubordinateCa(root, {
    name: "CN=Acme Origin Client RSA CA, O=Acme",
    keyAlgorithm: "RSA_2048",
  });
  unrelated = await createSubordinateCa(await createRootCa({ name: "CN=Other Root CA, O=Other" }), {
    name: "CN=Other Issuing CA, O=Other",
  });
  ec = await credential();
  ecNext = await credential();
  rsa = await issueClientCredential(issuingRsa, {
    subject: "CN=edge-to-origin.acme.example, O=Acme",
    dnsNames: ["edge-to-origin.acme.example", "edge.acme.example"],
    keyAlgorithm: "RSA_2048",
  });
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

function credential(options: Partial<Parameters<typeof issueClientCredential>[1]> = {}) {
  return issueClientCredential(issuing, {
    subject: "CN=edge-to-origin.acme.example, O=Acme",
    dnsNames: ["edge-to-origin.acme.example", "edge.acme.example"],
    ...options,
  });
}

/** A stand-in set of its own; imports unpaced unless the test is about pacing. */
async function start(acmImportsPerSecond = 1000): Promise<Standins> {
  const standins = await startStandins({ acmImportsPerSecond });
  started.push(standins);
  return standins;
}

function importInput(
  c: { certificatePem: string; privateKeyPem: string; chainPem?: string },
  extra: Partial<ImportCertificateCommandInput> = {},
): ImportCertificateCommandInput {
  return {
    Certificate: Buffer.from(c.certificatePem),
    PrivateKey: Buffer.from(c.privateKeyPem),
    ...(c.chainPem ? { CertificateChain: Buffer.from(c.chainPem) } : {}),
    ...extra,
  };
}

async function importCertificate(acm: ACMClient, input: ImportCertificateCommandInput): Promise<string> {
  const out = await acm.send(new ImportCertificateCommand(input));
  if (!out.CertificateArn) throw new Error("ImportCertificate answered without an ARN");
  return out.CertificateArn;
}

function colonSerial(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase().match(/../g)?.join(":") ?? "";
}

describe("ImportCertificate", () => {
  let s: Standins;
  let acm: ACMClient;
  beforeAll(async () => {
    s = await start();
    acm = s.clients({ maxAttempts: 1 }).acm;
  });

  it("accepts a matching certificate, key and chain and answers a us-east-1 ARN", async () => {
    const arn = await importCertificate(acm, importInput(ec));
    expect(arn).toMatch(ARN);
    expect(s.acm.arns()).toContain(arn);
    expect(s.acm.certificatePemOf(arn)).toBe(ec.certificatePem);
    expect(s.server.calls.at(-1)).toMatchObject({ operation: "ImportCertificate", region: "us-east-1" });

    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    expect(got.Certificate).toBe(ec.certificatePem.trim());
    expect(got.CertificateChain).toBe(ec.chainPem.trim());
  });

  it("[acm.import-region-from-endpoint] takes the ARN's region from the SigV4 credential scope", async () => {
    const eu = new ACMClient({
      region: "eu-west-1",
      endpoint: s.endpoint,
      credentials: STANDIN_CREDENTIALS,
      maxAttempts: 1,
    });
    const arn = await importCertificate(eu, importInput(ec));
    expect(arn).toMatch(/^arn:aws:acm:eu-west-1:111122223333:certificate\//);
    expect(s.acm.describeForCloudFront(arn)?.region).toBe("eu-west-1");
    eu.destroy();
  });

  it("accepts a certificate without a chain", async () => {
    const arn = await importCertificate(acm, importInput({ ...ec, chainPem: "" }));
    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    expect(got.CertificateChain).toBeUndefined();
  });

  const refused: Array<[string, () => Promise<ImportCertificateCommandInput>]> = [
    [
      "a private key that does not match the certificate",
      async () => importInput({ ...ec, privateKeyPem: ecNext.privateKeyPem }),
    ],
    [
      "two certificates in the Certificate field",
      async () => importInput({ ...ec, certificatePem: ec.certificatePem + issuing.certificatePem }),
    ],
    [
      "an encrypted private key",
      async () =>
        importInput({
          ...ec,
          privateKeyPem: generateKeyPairSync("ec", {
            namedCurve: "P-256",
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" },
          }).privateKey,
        }),
    ],
    [
      "a private key that is not a key",
      async () =>
        importInput({
          ...ec,
          privateKeyPem: "-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END PRIVATE KEY-----\n",
        }),
    ],
    [
      "an expired certificate",
      async () =>
        importInput(
          await credential({
            notBefore: new Date(Date.now() - 30 * DAY),
            notAfter: new Date(Date.now() - DAY),
          }),
        ),
    ],
    [
      "a certificate that is not yet valid",
      async () =>
        importInput(
          await credential({
            notBefore: new Date(Date.now() + DAY),
            notAfter: new Date(Date.now() + 30 * DAY),
          }),
        ),
    ],
    [
      "a chain of an unrelated CA",
      async () => importInput({ ...ec, chainPem: unrelated.certificatePem + unrelated.chainPem }),
    ],
    [
      "a chain in the wrong order",
      async () => importInput({ ...ec, chainPem: root.certificatePem + issuing.certificatePem }),
    ],
    ["a chain that does not parse", async () => importInput({ ...ec, chainPem: "not a certificate chain" })],
    ["a key algorithm ACM cannot import (Ed25519)", async () => importInput(await ed25519Credential())],
  ];

  it.each(refused)(
    "[acm.import-key-matches-certificate] [acm.import-one-certificate] [acm.import-private-key-unencrypted] [acm.import-validity-window] [acm.import-chain-valid] [acm.import-key-algorithms] refuses %s with ValidationException",
    async (_, input) => {
      const before = s.acm.arns();
      await expect(acm.send(new ImportCertificateCommand(await input()))).rejects.toMatchObject({
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
      });
      expect(s.acm.arns()).toEqual(before);
    },
  );

  it("[acm.reimport-keeps-arn] [acm.reimport-key-algorithm-fixed] [acm.reimport-no-tags] keeps the ARN on re-import and refuses a key-type change", async () => {
    const arn = await importCertificate(acm, importInput(ec));
    const count = s.acm.arns().length;

    const again = await importCertificate(acm, importInput(ecNext, { CertificateArn: arn }));
    expect(again).toBe(arn);
    expect(s.acm.arns().length).toBe(count);
    expect(s.acm.certificatePemOf(arn)).toBe(ecNext.certificatePem);
    const described = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    expect(described.Certificate?.Serial).toBe(colonSerial(ecNext.certificatePem));

    await expect(
      acm.send(new ImportCertificateCommand(importInput(rsa, { CertificateArn: arn }))),
    ).rejects.toMatchObject({ name: "ValidationException", message: expect.stringMatching(/key algorithm/) });
    expect(s.acm.certificatePemOf(arn)).toBe(ecNext.certificatePem);

    await expect(
      acm.send(new ImportCertificateCommand(importInput(ec, { CertificateArn: arn, Tags: [{ Key: "a" }] }))),
    ).rejects.toMatchObject({ name: "ValidationException", message: expect.stringMatching(/Tags/) });
    await expect(
      acm.send(new ImportCertificateCommand(importInput(ec, { CertificateArn: UNKNOWN_ARN }))),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    expect(s.acm.arns().length).toBe(count);
  });
});

describe("[acm.import-key-algorithm-matches-ca] ImportCertificate refuses a leaf whose key family is not its signing CA's", () => {
  // ACM API reference, ImportCertificate: "The cryptographic algorithm of an imported certificate must match
  // the algorithm of the signing CA. For example, if the signing CA key type is RSA, then the certificate
  // key type must also be RSA." The rule is about the key type (RSA or EC), not its size or curve.
  let s: Standins;
  let acm: ACMClient;
  let rsa4096Ca: CertificateAuthority;
  let p384Ca: CertificateAuthority;
  beforeAll(async () => {
    s = await start();
    acm = s.clients({ maxAttempts: 1 }).acm;
    [rsa4096Ca, p384Ca] = await Promise.all([
      createSubordinateCa(root, { name: "CN=Acme RSA-4096 CA, O=Acme", keyAlgorithm: "RSA_4096" }),
      createSubordinateCa(root, { name: "CN=Acme P-384 CA, O=Acme", keyAlgorithm: "EC_secp384r1" }),
    ]);
  });

  const leafOf = (ca: () => CertificateAuthority, keyAlgorithm: "RSA_2048" | "EC_prime256v1") => () =>
    issueClientCredential(ca(), { subject: "CN=edge-to-origin.acme.example, O=Acme", keyAlgorithm });

  const mismatched: Array<[string, () => Promise<IssuedCredential>, { withChain: boolean }]> = [
    [
      "an RSA-2048 leaf signed by a P-256 CA, with its chain",
      leafOf(() => issuing, "RSA_2048"),
      { withChain: true },
    ],
    [
      "an RSA-2048 leaf signed by a P-256 CA, without a chain",
      leafOf(() => issuing, "RSA_2048"),
      { withChain: false },
    ],
    [
      "a P-256 leaf signed by an RSA-2048 CA, with its chain",
      leafOf(() => issuingRsa, "EC_prime256v1"),
      { withChain: true },
    ],
    [
      "a P-256 leaf signed by an RSA-4096 CA, without a chain",
      leafOf(() => rsa4096Ca, "EC_prime256v1"),
      { withChain: false },
    ],
    [
      "an RSA-2048 leaf signed by a P-384 CA, with its chain",
      leafOf(() => p384Ca, "RSA_2048"),
      { withChain: true },
    ],
  ];

  it.each(mismatched)(
    "[acm.import-key-algorithm-matches-ca] refuses %s with ValidationException, importing nothing",
    async (_, leaf, { withChain }) => {
      const c = await leaf();
      const before = s.acm.arns();
      await expect(
        acm.send(new ImportCertificateCommand(importInput(withChain ? c : { ...c, chainPem: "" }))),
      ).rejects.toMatchObject({
        name: "ValidationException",
        message: expect.stringMatching(/key algorithm .* does not match .*signing CA/),
        $metadata: { httpStatusCode: 400 },
      });
      expect(s.acm.arns()).toEqual(before);
    },
  );

  const matching: Array<[string, () => Promise<IssuedCredential>, string]> = [
    ["a P-256 leaf of a P-256 CA", leafOf(() => issuing, "EC_prime256v1"), "EC_prime256v1"],
    ["an RSA-2048 leaf of an RSA-2048 CA", leafOf(() => issuingRsa, "RSA_2048"), "RSA_2048"],
    [
      "an RSA-2048 leaf of an RSA-4096 CA (same family, other size)",
      leafOf(() => rsa4096Ca, "RSA_2048"),
      "RSA_2048",
    ],
    [
      "a P-256 leaf of a P-384 CA (same family, other curve)",
      leafOf(() => p384Ca, "EC_prime256v1"),
      "EC_prime256v1",
    ],
  ];

  it.each(matching)("imports %s, with or without its chain", async (_, leaf, keyAlgorithm) => {
    const c = await leaf();
    for (const input of [importInput(c), importInput({ ...c, chainPem: "" })]) {
      const arn = await importCertificate(acm, input);
      const described = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
      expect(described.Certificate?.KeyAlgorithm).toBe(keyAlgorithm);
    }
  });

  it("imports a self-signed leaf of either family (it is its own signing CA)", async () => {
    for (const keyAlgorithm of ["RSA_2048", "EC_prime256v1"] as const) {
      const selfSigned = await createRootCa({ name: "CN=self-signed.acme.example", keyAlgorithm });
      const privateKeyPem = await privateKeyToPem(selfSigned.keys.privateKey);
      const arn = await importCertificate(
        acm,
        importInput({ certificatePem: selfSigned.certificatePem, privateKeyPem, chainPem: "" }),
      );
      expect(s.acm.describeForCloudFront(arn)?.keyAlgorithm).toBe(keyAlgorithm);
    }
  });
});

describe("ImportCertificate pacing (1 per second)", () => {
  it("[acm.import-rate-1-per-second] throttles a second import within one second; SDK retries and a 1 s wait get through", async () => {
    const s = await start(1);
    const raw = s.clients({ maxAttempts: 1 }).acm;
    const retrying = s.clients().acm;

    await importCertificate(raw, importInput(ec));
    await expect(raw.send(new ImportCertificateCommand(importInput(ec)))).rejects.toMatchObject({
      name: "ThrottlingException",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.acm.arns()).toHaveLength(1);

    const retried = await retrying.send(new ImportCertificateCommand(importInput(ec)));
    expect(retried.CertificateArn).toMatch(ARN);
    expect(retried.$metadata.attempts).toBeGreaterThanOrEqual(2);
    expect(s.acm.arns()).toHaveLength(2);

    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await importCertificate(raw, importInput(ec));
    expect(s.acm.arns()).toHaveLength(3);
    expect(s.server.calls.filter((c) => c.error === "ThrottlingException").length).toBeGreaterThanOrEqual(2);
  });
});

describe("DescribeCertificate", () => {
  it("[acm.serial-colon-hex] answers the fields ACM answers for an imported certificate", async () => {
    const s = await start();
    const { acm, cloudfront } = s.clients({ maxAttempts: 1 });
    const before = Date.now();
    const arn = await importCertificate(acm, importInput(ec));
    const leaf = new X509Certificate(ec.certificatePem);

    const out = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    const d = out.Certificate;
    expect(d?.Serial).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    expect(d?.Serial?.replaceAll(":", "")).toBe(leaf.serialNumber.toLowerCase());
    expect(d).toMatchObject({
      CertificateArn: arn,
      DomainName: "edge-to-origin.acme.example",
      SubjectAlternativeNames: ["edge-to-origin.acme.example", "edge.acme.example"],
      KeyAlgorithm: "EC_prime256v1",
      Type: "IMPORTED",
      Status: "ISSUED",
      InUseBy: [],
      ExtendedKeyUsages: [{ Name: "TLS_WEB_CLIENT_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.2" }],
      NotBefore: new Date(leaf.validFrom),
      NotAfter: new Date(leaf.validTo),
    });
    expect(d?.Issuer).toContain("CN=Acme Origin Client CA");
    expect(d?.ImportedAt?.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

    const rsaArn = await importCertificate(acm, importInput(rsa));
    const rsaOut = await acm.send(new DescribeCertificateCommand({ CertificateArn: rsaArn }));
    expect(rsaOut.Certificate?.KeyAlgorithm).toBe("RSA_2048");
    expect(rsaOut.Certificate?.Serial).toBe(colonSerial(rsa.certificatePem));

    const created = await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: buildDistributionConfig({ mtlsArns: [arn] }) }),
    );
    const inUse = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    expect(inUse.Certificate?.InUseBy).toEqual([created.Distribution?.ARN]);
  });
});

describe("[acm.domain-name-fqdn] DomainName is a fully qualified domain name, or absent", () => {
  it.each([
    {
      case: "a CN that is no domain name, a DNS SAN",
      subject: "CN=edge-to-origin, O=Acme",
      dnsNames: ["edge.acme.example"],
      domainName: "edge.acme.example",
    },
    {
      case: "a CN that is no domain name, no SAN",
      subject: "CN=edge-to-origin, O=Acme",
      dnsNames: [],
      domainName: undefined,
    },
    {
      case: "a CN that is a domain name",
      subject: "CN=origin.acme.example, O=Acme",
      dnsNames: ["other.acme.example"],
      domainName: "origin.acme.example",
    },
  ])("[acm.domain-name-fqdn] $case: DomainName $domainName", async (c) => {
    const s = await start();
    const { acm } = s.clients({ maxAttempts: 1 });
    const arn = await importCertificate(
      acm,
      importInput(await credential({ subject: c.subject, dnsNames: c.dnsNames })),
    );
    const described = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    expect(described.Certificate?.DomainName).toBe(c.domainName);
    const listed = await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["EC_prime256v1"] } }));
    expect(listed.CertificateSummaryList?.find((x) => x.CertificateArn === arn)?.DomainName).toBe(
      c.domainName,
    );
  });
});

describe("ListCertificates", () => {
  let s: Standins;
  let acm: ACMClient;
  let rsaArns: string[];
  let ecArn: string;
  beforeAll(async () => {
    s = await start();
    acm = s.clients({ maxAttempts: 1 }).acm;
    rsaArns = [];
    for (let i = 0; i < 5; i++) rsaArns.push(await importCertificate(acm, importInput(rsa)));
    ecArn = await importCertificate(acm, importInput(ec));
  });

  const listed = async (input: ListCertificatesCommandInput) =>
    ((await acm.send(new ListCertificatesCommand(input))).CertificateSummaryList ?? []).map(
      (c) => c.CertificateArn,
    );

  it("[acm.list-default-key-types] returns only RSA_1024 and RSA_2048 certificates by default, as ACM does", async () => {
    const arns = await listed({});
    expect(arns).toEqual(rsaArns);
    expect(arns).not.toContain(ecArn);
  });

  it("lists an EC_prime256v1 certificate only when Includes.keyTypes asks for it", async () => {
    expect(await listed({ Includes: { keyTypes: ["EC_prime256v1"] } })).toEqual([ecArn]);
    expect(await listed({ Includes: { keyTypes: ["EC_prime256v1", "RSA_2048"] } })).toEqual([
      ...rsaArns,
      ecArn,
    ]);
    const summary = (
      await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["EC_prime256v1"] } }))
    ).CertificateSummaryList?.[0];
    expect(summary).toMatchObject({
      CertificateArn: ecArn,
      DomainName: "edge-to-origin.acme.example",
      KeyAlgorithm: "EC_prime256v1",
      Type: "IMPORTED",
      Status: "ISSUED",
      InUse: false,
      ExtendedKeyUsages: ["TLS_WEB_CLIENT_AUTHENTICATION"],
    });
  });

  it("[acm.list-eku-filter] lists only certificates carrying every EKU that Includes.extendedKeyUsage names", async () => {
    const ekus = async (extendedKeyUsage: string[]) =>
      listed({ Includes: { keyTypes: ["EC_prime256v1"], extendedKeyUsage: extendedKeyUsage as never } });
    expect(await ekus(["TLS_WEB_CLIENT_AUTHENTICATION"])).toEqual([ecArn]);
    expect(await ekus(["TLS_WEB_SERVER_AUTHENTICATION"])).toEqual([]);
    expect(await ekus(["TLS_WEB_CLIENT_AUTHENTICATION", "TLS_WEB_SERVER_AUTHENTICATION"])).toEqual([]);
  });

  it("pages with MaxItems and NextToken", async () => {
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const out = await acm.send(new ListCertificatesCommand({ MaxItems: 2, NextToken: token }));
      pages.push((out.CertificateSummaryList ?? []).map((c) => c.CertificateArn ?? ""));
      token = out.NextToken;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(rsaArns);

    const viaPaginator: string[] = [];
    for await (const page of paginateListCertificates(
      { client: acm, pageSize: 4 },
      { Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] } },
    )) {
      viaPaginator.push(...(page.CertificateSummaryList ?? []).map((c) => c.CertificateArn ?? ""));
    }
    expect(viaPaginator).toEqual([...rsaArns, ecArn]);
  });

  it("rejects a MaxItems out of range", async () => {
    // MaxItems is 1..1000 in AWS's model: the model check refuses 0 and 1001 as ACM does (ValidationException
    // naming `maxItems`), before the stand-in sees them.
    for (const [value, constraint] of [
      [0, "Member must have value greater than or equal to 1"],
      [1001, "Member must have value less than or equal to 1000"],
    ] as const) {
      const { error } = await refusedByModel(() =>
        acm.send(new ListCertificatesCommand({ MaxItems: value })),
      );
      expect(error).toMatchObject({
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
        message: `1 validation error detected: Value '${value}' at 'maxItems' failed to satisfy constraint: ${constraint}`,
      });
    }
  });
});

describe("DeleteCertificate", () => {
  it("[acm.delete-in-use] refuses to delete a certificate a CloudFront distribution uses, and deletes it once unused", async () => {
    const s = await start();
    const { acm, cloudfront } = s.clients({ maxAttempts: 1 });
    const arn = await importCertificate(acm, importInput(ec));
    const created = await cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: buildDistributionConfig({ origins: 2, mtlsArns: [undefined, arn] }),
      }),
    );
    const id = created.Distribution?.Id ?? "";

    await expect(acm.send(new DeleteCertificateCommand({ CertificateArn: arn }))).rejects.toMatchObject({
      name: "ResourceInUseException",
      message: expect.stringContaining(`distribution/${id}`),
    });
    expect(s.acm.arns()).toContain(arn);

    const read = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    if (!read.DistributionConfig) throw new Error("no config");
    await cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: read.ETag,
        DistributionConfig: withOriginCertificate(read.DistributionConfig, originId(1), undefined),
      }),
    );

    await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
    expect(s.acm.arns()).not.toContain(arn);
    await expect(acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});

describe("behaviour over time", () => {
  it("[acm.in-use-includes-deploying-config] keeps a certificate in use while edges still present it (InProgress)", async () => {
    let clock = Date.now();
    const s = await startStandins({
      now: () => new Date(clock),
      deployDelayMs: 60_000,
      acmImportsPerSecond: 1000,
    });
    started.push(s);
    const { acm, cloudfront } = s.clients({ maxAttempts: 1 });
    const old = await importCertificate(acm, importInput(ec));
    const next = await importCertificate(acm, importInput(ecNext));
    const created = await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: buildDistributionConfig({ mtlsArns: [old] }) }),
    );
    const id = created.Distribution?.Id ?? "";
    clock += 61_000;
    const read = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    if (!read.DistributionConfig) throw new Error("no config");
    await cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: read.ETag,
        DistributionConfig: withOriginCertificate(read.DistributionConfig, originId(0), next),
      }),
    );

    // The swap is InProgress: the edges still present the old certificate.
    await expect(acm.send(new DeleteCertificateCommand({ CertificateArn: old }))).rejects.toMatchObject({
      name: "ResourceInUseException",
    });
    clock += 61_000;
    await acm.send(new DeleteCertificateCommand({ CertificateArn: old }));
    expect(s.acm.arns()).toEqual([next]);
  });

  it("[acm.describe-expired-status] answers Status EXPIRED once NotAfter has passed", async () => {
    let clock = Date.now();
    const s = await startStandins({ now: () => new Date(clock) });
    started.push(s);
    const { acm } = s.clients({ maxAttempts: 1 });
    const arn = await importCertificate(acm, importInput(ec));
    const status = async () =>
      (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate?.Status;
    expect(await status()).toBe("ISSUED");
    clock = new Date(new X509Certificate(ec.certificatePem).validTo).getTime() + 1_000;
    expect(await status()).toBe("EXPIRED");
  });
});

describe("SearchCertificates", () => {
  it("[acm.search-filter-subset] refuses a filter the stand-in does not understand instead of ignoring it", async () => {
    const s = await start();
    const { acm } = s.clients({ maxAttempts: 1 });
    const arn = await importCertificate(acm, importInput(ec));
    const found = await acm.send(
      new SearchCertificatesCommand({
        FilterStatement: { Filter: { X509AttributeFilter: { KeyAlgorithm: "EC_prime256v1" } } },
      }),
    );
    expect(found.Results?.map((r) => r.CertificateArn)).toEqual([arn]);
    await expect(
      acm.send(
        new SearchCertificatesCommand({
          FilterStatement: { Filter: { X509AttributeFilter: { NotAfter: { Start: new Date() } } } },
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException", message: expect.stringMatching(/not supported/) });
  });
});

describe("unknown and malformed ARNs", () => {
  let s: Standins;
  let acm: ACMClient;
  beforeAll(async () => {
    s = await start();
    acm = s.clients({ maxAttempts: 1 }).acm;
    await importCertificate(acm, importInput(ec));
  });

  const operations: Array<[string, (arn: string) => Promise<unknown>]> = [
    ["DescribeCertificate", (arn) => acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))],
    ["GetCertificate", (arn) => acm.send(new GetCertificateCommand({ CertificateArn: arn }))],
    ["DeleteCertificate", (arn) => acm.send(new DeleteCertificateCommand({ CertificateArn: arn }))],
  ];

  it.each(operations)(
    "[acm.arn-errors] %s answers ResourceNotFoundException and InvalidArnException",
    async (_, call) => {
      await expect(call(UNKNOWN_ARN)).rejects.toMatchObject({
        name: "ResourceNotFoundException",
        $metadata: { httpStatusCode: 400 },
      });
      const before = s.acm.arns();
      // An ARN of the model's form whose certificate id is no certificate id: the stand-in's own check.
      await expect(call("arn:aws:acm:us-east-1:111122223333:certificate/NOT_AN_ID")).rejects.toMatchObject({
        name: "InvalidArnException",
        $metadata: { httpStatusCode: 400 },
      });
      // Not an ARN at all: shorter than 20 characters and not of the model's ARN pattern, so the model check
      // refuses it first, as ACM does, with ValidationException naming `certificateArn` (the stand-in, which
      // answered InvalidArnException here, no longer sees it).
      const { error } = await refusedByModel(() => call("not-an-arn"));
      expect(error).toMatchObject({
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
        message: expect.stringMatching(
          /^2 validation errors detected: Value 'not-an-arn' at 'certificateArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'not-an-arn' at 'certificateArn' failed to satisfy constraint: Member must satisfy regular expression pattern: /,
        ),
      });
      expect(s.acm.arns()).toEqual(before);
    },
  );
});

/** A leaf with an Ed25519 key, signed by the issuing CA: a key ACM does not import. */
async function ed25519Credential(): Promise<{
  certificatePem: string;
  privateKeyPem: string;
  chainPem: string;
}> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ type: "spki", format: "der" });
  const leaf = await signLeaf(issuing, {
    publicKey: new x509.PublicKey(spki),
    subject: "CN=ed25519.acme.example",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY),
  });
  return {
    certificatePem: `${leaf.toString("pem")}\n`,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    chainPem: issuing.certificatePem + issuing.chainPem,
  };
}
