/**
 * The API Gateway v2 stand-in (custom domain names with mutual TLS), driven by the real
 * `@aws-sdk/client-apigatewayv2` over loopback HTTP, loading truststores from the S3 stand-in: each rule the
 * stand-in enforces is proved here through the SDK's own serialization and error parsing.
 */
import {
  type ApiGatewayV2Client,
  BadRequestException,
  ConflictException,
  CreateDomainNameCommand,
  type CreateDomainNameCommandInput,
  type DomainNameConfiguration,
  GetDomainNameCommand,
  NotFoundException,
  UpdateDomainNameCommand,
  type UpdateDomainNameCommandInput,
} from "@aws-sdk/client-apigatewayv2";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRUSTSTORE_MAX_BYTES, TRUSTSTORE_MAX_CERTIFICATES } from "../../standins/apigateway.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { caChain, fiveDeepChain, pemOf } from "../support/ca-bundles.ts";
import { daysFromNow, goodP256, NOW, paddedCa, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "apigw-truststores";
const CERT_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-1111-2222-3333-444455556666";

let s: Standins;
let apigateway: ApiGatewayV2Client;
let s3: S3Client;
let counter = 0;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;

beforeAll(async () => {
  s = await startStandins({ now: () => NOW });
  const clients = s.clients({ maxAttempts: 1 });
  apigateway = clients.apigateway;
  s3 = clients.s3;
  s.s3.createBucket(BUCKET, { versioned: true });
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha API CA"), smallCa("CN=Bravo API CA")]);
});

afterAll(async () => {
  await s?.close();
});

function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

async function putBundle(key: string, body: string | Buffer): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))).VersionId!;
}

function configurations(overrides: Partial<DomainNameConfiguration> = {}): DomainNameConfiguration[] {
  return [{ CertificateArn: CERT_ARN, EndpointType: "REGIONAL", SecurityPolicy: "TLS_1_2", ...overrides }];
}

/** A domain with mutual TLS on a truststore of its own (alpha unless told), pinned to its first version. */
async function mtlsDomain(pem = alpha.certificatePem) {
  const domainName = `${unique("api")}.example.com`;
  const key = unique("truststores/api");
  const version = await putBundle(key, pem);
  await apigateway.send(
    new CreateDomainNameCommand({
      DomainName: domainName,
      DomainNameConfigurations: configurations(),
      MutualTlsAuthentication: { TruststoreUri: `s3://${BUCKET}/${key}`, TruststoreVersion: version },
    }),
  );
  return { domainName, key, version, uri: `s3://${BUCKET}/${key}` };
}

function update(input: UpdateDomainNameCommandInput) {
  return apigateway.send(new UpdateDomainNameCommand(input));
}

describe("CreateDomainName / GetDomainName / UpdateDomainName", () => {
  it("creates a domain with mutual TLS on an exact truststore version and answers it back", async () => {
    const domainName = `${unique("api")}.example.com`;
    const key = unique("truststores/api");
    const version = await putBundle(key, alpha.certificatePem + bravo.certificatePem);
    const created = await apigateway.send(
      new CreateDomainNameCommand({
        DomainName: domainName,
        DomainNameConfigurations: configurations(),
        MutualTlsAuthentication: { TruststoreUri: `s3://${BUCKET}/${key}`, TruststoreVersion: version },
        Tags: { team: "api" },
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: domainName }));
    expect(got.MutualTlsAuthentication).toEqual({
      TruststoreUri: `s3://${BUCKET}/${key}`,
      TruststoreVersion: version,
    });
    expect(got.DomainNameArn).toBe(`arn:aws:apigateway:us-east-1::/domainnames/${domainName}`);
    expect(got.DomainNameConfigurations?.[0]).toMatchObject({
      CertificateArn: CERT_ARN,
      DomainNameStatus: "AVAILABLE",
      EndpointType: "REGIONAL",
      SecurityPolicy: "TLS_1_2",
    });
    expect(got.DomainNameConfigurations?.[0]?.CertificateUploadDate).toEqual(NOW);
    expect(got.Tags).toEqual({ team: "api" });
    expect(s.apigateway.truststore(domainName)).toEqual({
      truststoreUri: `s3://${BUCKET}/${key}`,
      truststoreVersion: version,
      loadedVersion: version,
      pem: alpha.certificatePem + bravo.certificatePem,
      warnings: [],
    });
  });

  it("[apigateway.truststore-cached] without a version loads the latest one, and keeps it until the domain is updated (cached)", async () => {
    const domainName = `${unique("api")}.example.com`;
    const key = unique("truststores/api");
    const first = await putBundle(key, alpha.certificatePem);
    await apigateway.send(
      new CreateDomainNameCommand({
        DomainName: domainName,
        DomainNameConfigurations: configurations(),
        MutualTlsAuthentication: { TruststoreUri: `s3://${BUCKET}/${key}` },
      }),
    );
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: domainName }));
    expect(got.MutualTlsAuthentication).toEqual({ TruststoreUri: `s3://${BUCKET}/${key}` });
    expect(s.apigateway.truststore(domainName)?.loadedVersion).toBe(first);

    const second = await putBundle(key, bravo.certificatePem);
    expect(s.apigateway.truststore(domainName)?.loadedVersion).toBe(first);
    await update({
      DomainName: domainName,
      MutualTlsAuthentication: { TruststoreUri: `s3://${BUCKET}/${key}` },
    });
    expect(s.apigateway.truststore(domainName)?.loadedVersion).toBe(second);
  });

  it("[apigateway.patch-semantics] moves a domain to a new truststore version; members left out keep their values (PATCH)", async () => {
    const d = await mtlsDomain();
    const v2 = await putBundle(d.key, alpha.certificatePem + bravo.certificatePem);
    const out = await update({
      DomainName: d.domainName,
      MutualTlsAuthentication: { TruststoreUri: d.uri, TruststoreVersion: v2 },
    });
    expect(out.MutualTlsAuthentication).toEqual({ TruststoreUri: d.uri, TruststoreVersion: v2 });
    expect(out.DomainNameConfigurations?.[0]?.CertificateArn).toBe(CERT_ARN);
    expect(s.apigateway.truststore(d.domainName)?.pem).toBe(alpha.certificatePem + bravo.certificatePem);

    // A version alone keeps the URI; a configuration alone keeps the truststore.
    await update({ DomainName: d.domainName, MutualTlsAuthentication: { TruststoreVersion: d.version } });
    expect(s.apigateway.truststore(d.domainName)).toMatchObject({
      truststoreUri: d.uri,
      loadedVersion: d.version,
    });
    const other = CERT_ARN.replace("0b1c2d3e", "99999999");
    await update({
      DomainName: d.domainName,
      DomainNameConfigurations: configurations({ CertificateArn: other }),
    });
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: d.domainName }));
    expect(got.DomainNameConfigurations?.[0]?.CertificateArn).toBe(other);
    expect(got.MutualTlsAuthentication).toEqual({ TruststoreUri: d.uri, TruststoreVersion: d.version });
  });

  it("[apigateway.not-found] answers an unknown domain with 404 NotFoundException, also from another region", async () => {
    await expect(
      apigateway.send(new GetDomainNameCommand({ DomainName: "nobody.example.com" })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await expect(update({ DomainName: "nobody.example.com" })).rejects.toMatchObject({
      name: "NotFoundException",
      $metadata: { httpStatusCode: 404 },
    });
    const d = await mtlsDomain();
    const eu = s.clients({ region: "eu-west-1", maxAttempts: 1 }).apigateway;
    await expect(eu.send(new GetDomainNameCommand({ DomainName: d.domainName }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
  });

  it("[apigateway.domain-conflict] refuses to create an existing domain (409 ConflictException)", async () => {
    const d = await mtlsDomain();
    await expect(
      apigateway.send(
        new CreateDomainNameCommand({ DomainName: d.domainName, DomainNameConfigurations: configurations() }),
      ),
    ).rejects.toBeInstanceOf(ConflictException);
  });

  it("[apigateway.too-many-requests] answers injected throttling as 429 TooManyRequestsException", async () => {
    const d = await mtlsDomain();
    s.server.faults.inject({ service: "apigateway", operation: "GetDomainName", kind: "throttle" });
    await expect(
      apigateway.send(new GetDomainNameCommand({ DomainName: d.domainName })),
    ).rejects.toMatchObject({
      name: "TooManyRequestsException",
      $metadata: { httpStatusCode: 429 },
    });
  });
});

describe("refusals: 400 BadRequestException, nothing created or changed", () => {
  /** A truststore key holding `pem`, and its version. */
  async function truststore(pem: string | Buffer) {
    const key = unique("truststores/api");
    return { key, version: await putBundle(key, pem), uri: `s3://${BUCKET}/${key}` };
  }

  const domainRefusals: Array<{ name: string; input: () => Promise<Partial<CreateDomainNameCommandInput>> }> =
    [
      { name: "a domain name that is not one", input: async () => ({ DomainName: "Not A Domain" }) },
      { name: "no domain name configuration", input: async () => ({ DomainNameConfigurations: [] }) },
      {
        name: "two domain name configurations",
        input: async () => ({ DomainNameConfigurations: [...configurations(), ...configurations()] }),
      },
      {
        name: "a certificate ARN that is not an ACM one",
        input: async () => ({
          DomainNameConfigurations: configurations({ CertificateArn: "arn:aws:iam::1:x" }),
        }),
      },
      {
        name: "an ACM certificate of another region",
        input: async () => ({
          DomainNameConfigurations: configurations({
            CertificateArn: CERT_ARN.replace("us-east-1", "eu-west-1"),
          }),
        }),
      },
      {
        name: "mutual TLS on an EDGE endpoint",
        input: async () => ({
          DomainNameConfigurations: configurations({ EndpointType: "EDGE" }),
          MutualTlsAuthentication: { TruststoreUri: (await truststore(alpha.certificatePem)).uri },
        }),
      },
      {
        name: "mutual TLS with the TLS_1_0 security policy",
        input: async () => ({
          DomainNameConfigurations: configurations({ SecurityPolicy: "TLS_1_0" }),
          MutualTlsAuthentication: { TruststoreUri: (await truststore(alpha.certificatePem)).uri },
        }),
      },
    ];

  it.each(domainRefusals)(
    "[apigateway.certificate-region] [apigateway.mtls-regional-tls12] create with $name",
    async ({ input }) => {
      const domainName = `${unique("api")}.example.com`;
      const request = {
        DomainName: domainName,
        DomainNameConfigurations: configurations(),
        ...(await input()),
      };
      await expect(apigateway.send(new CreateDomainNameCommand(request))).rejects.toBeInstanceOf(
        BadRequestException,
      );
      expect(s.apigateway.domainNames()).not.toContain(domainName);
    },
  );

  it("accepts EDGE and TLS_1_0 without mutual TLS (the refusals above are about mutual TLS)", async () => {
    const domainName = `${unique("api")}.example.com`;
    await apigateway.send(
      new CreateDomainNameCommand({
        DomainName: domainName,
        DomainNameConfigurations: configurations({ EndpointType: "EDGE", SecurityPolicy: "TLS_1_0" }),
      }),
    );
    expect(s.apigateway.truststore(domainName)).toBeUndefined();
  });

  const truststoreRefusals: Array<{
    name: string;
    mtls: () => Promise<{ TruststoreUri: string; TruststoreVersion?: string }>;
    message: RegExp;
  }> = [
    {
      name: "a URI that is not s3://bucket/key",
      mtls: async () => ({ TruststoreUri: `https://${BUCKET}.s3.amazonaws.com/key` }),
      message: /not of the form s3:\/\/bucket-name\/key-name/,
    },
    {
      name: "a key that does not exist",
      mtls: async () => ({ TruststoreUri: `s3://${BUCKET}/${unique("missing")}` }),
      message: /does not exist/,
    },
    {
      name: "a version that does not exist",
      mtls: async () => ({
        TruststoreUri: (await truststore(alpha.certificatePem)).uri,
        TruststoreVersion: "nope",
      }),
      message: /does not exist/,
    },
    {
      name: "text holding no certificate",
      mtls: async () => ({ TruststoreUri: (await truststore("nothing here")).uri }),
      message: /holds no PEM-encoded certificate/,
    },
    {
      name: "a private key",
      mtls: async () => ({
        TruststoreUri: (await truststore(alpha.certificatePem + (await goodP256()).privateKeyPem)).uri,
      }),
      message: /PEM block 2 is a PRIVATE KEY/,
    },
    {
      name: "a block that does not parse",
      mtls: async () => ({
        TruststoreUri: (
          await truststore("-----BEGIN CERTIFICATE-----\nTUlJQm9ndXM=\n-----END CERTIFICATE-----\n")
        ).uri,
      }),
      message: /does not parse/,
    },
    {
      name: `${TRUSTSTORE_MAX_CERTIFICATES + 1} certificates`,
      mtls: async () => ({
        TruststoreUri: (await truststore(alpha.certificatePem.repeat(TRUSTSTORE_MAX_CERTIFICATES + 1))).uri,
      }),
      message: /1001 certificates; at most 1000/,
    },
    {
      name: "more than 1 MB",
      mtls: async () => {
        const big = (await paddedCa("CN=Padded API CA", 800)).certificatePem;
        const body = big.repeat(Math.ceil(TRUSTSTORE_MAX_BYTES / Buffer.byteLength(big)) + 1);
        return { TruststoreUri: (await truststore(body)).uri };
      },
      message: /bytes; at most 1048576/,
    },
  ];

  it.each(truststoreRefusals)(
    "[apigateway.truststore-readable] [apigateway.truststore-limits] create with $name",
    async ({ mtls, message }) => {
      const domainName = `${unique("api")}.example.com`;
      const request = {
        DomainName: domainName,
        DomainNameConfigurations: configurations(),
        MutualTlsAuthentication: await mtls(),
      };
      await expect(apigateway.send(new CreateDomainNameCommand(request))).rejects.toMatchObject({
        name: "BadRequestException",
        message: expect.stringMatching(message),
        $metadata: { httpStatusCode: 400 },
      });
      expect(s.apigateway.domainNames()).not.toContain(domainName);
    },
  );

  it.each(truststoreRefusals)("update with $name: the domain keeps its truststore", async ({ mtls }) => {
    const d = await mtlsDomain();
    await expect(
      update({ DomainName: d.domainName, MutualTlsAuthentication: await mtls() }),
    ).rejects.toBeInstanceOf(BadRequestException);
    expect(s.apigateway.truststore(d.domainName)).toMatchObject({
      truststoreUri: d.uri,
      loadedVersion: d.version,
      pem: alpha.certificatePem,
    });
  });

  it("[apigateway.mtls-regional-tls12] update moving a mutual-TLS domain to an EDGE endpoint is refused and changes nothing", async () => {
    const d = await mtlsDomain();
    await expect(
      update({
        DomainName: d.domainName,
        DomainNameConfigurations: configurations({ EndpointType: "EDGE" }),
      }),
    ).rejects.toBeInstanceOf(BadRequestException);
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: d.domainName }));
    expect(got.DomainNameConfigurations?.[0]?.EndpointType).toBe("REGIONAL");
  });
});

describe("truststore warnings: accepted, mutual TLS stays on, warnings answered", () => {
  const warned: Array<{ name: string; pem: () => Promise<string>; warning: RegExp }> = [
    {
      name: "a certificate that is not a CA",
      pem: async () => alpha.certificatePem + (await goodP256()).certificatePem,
      warning: /is not a CA certificate/,
    },
    {
      name: "an expired CA",
      pem: async () =>
        (await smallCa("CN=Expired API CA", { notBefore: daysFromNow(-400), notAfter: daysFromNow(-1) }))
          .certificatePem,
      warning: /CN=Expired API CA has expired/,
    },
    {
      name: "a chain five certificates deep",
      pem: async () => pemOf(await fiveDeepChain()),
      warning: /5 certificates deep; the maximum chain length is 4/,
    },
  ];

  it.each(warned)("[apigateway.truststore-warnings] $name", async ({ pem, warning }) => {
    const d = await mtlsDomain();
    const v2 = await putBundle(d.key, await pem());
    const out = await update({
      DomainName: d.domainName,
      MutualTlsAuthentication: { TruststoreUri: d.uri, TruststoreVersion: v2 },
    });
    expect(out.MutualTlsAuthentication?.TruststoreWarnings).toEqual([expect.stringMatching(warning)]);
    expect(s.apigateway.truststore(d.domainName)?.loadedVersion).toBe(v2);
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: d.domainName }));
    expect(got.MutualTlsAuthentication?.TruststoreWarnings).toHaveLength(1);
  });

  it("a chain four deep draws no warning", async () => {
    const d = await mtlsDomain(pemOf(await caChain(4, "Four API")));
    const got = await apigateway.send(new GetDomainNameCommand({ DomainName: d.domainName }));
    expect(got.MutualTlsAuthentication?.TruststoreWarnings).toBeUndefined();
  });
});
