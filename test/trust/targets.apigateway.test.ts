/**
 * The API Gateway custom-domain target through `publishTrustBundle`, alongside the S3, Secrets Manager and
 * CloudFront trust-store targets, with the real SDK clients against the stand-ins: a new S3 version then
 * UpdateDomainName naming it, idempotence from what the domain names, refusals before anything is written,
 * and a truststore API Gateway warns about never replacing the one in effect.
 */
import {
  CreateDomainNameCommand,
  GetDomainNameCommand,
  UpdateDomainNameCommand,
} from "@aws-sdk/client-apigatewayv2";
import { CreateTrustStoreCommand } from "@aws-sdk/client-cloudfront";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeTrustBundle, type TrustBundle } from "../../functions/core/trust-bundle.ts";
import {
  publishTrustBundle,
  S3BundleTarget,
  SecretBundleTarget,
} from "../../functions/trust/publish-bundle.ts";
import {
  API_GATEWAY_TRUSTSTORE_LIMITS,
  ApiGatewayDomainTarget,
  type ApiGatewayDomainTargetOptions,
  ApiGatewayTruststoreError,
} from "../../functions/trust/targets/apigateway-domain.ts";
import { CloudFrontTrustStoreTarget } from "../../functions/trust/targets/cloudfront-trust-store.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { fiveDeepChain, pemOf } from "../support/ca-bundles.ts";
import { manySmallCas, NOW, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "mtls-rotator-api-trust";
const CERT_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-1111-2222-3333-444455556666";

let s: Standins;
let clients: AwsClients;
let counter = 0;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let charlie: CertificateAuthority;

beforeAll(async () => {
  s = await startStandins({ now: () => NOW });
  clients = s.clients({ maxAttempts: 1 });
  s.s3.createBucket(BUCKET, { versioned: true });
  [alpha, bravo, charlie] = await Promise.all([
    smallCa("CN=Alpha API Client CA"),
    smallCa("CN=Bravo API Client CA"),
    smallCa("CN=Charlie API Client CA"),
  ]);
});

afterAll(async () => {
  await s?.close();
});

function bundleOf(...pems: string[]): TrustBundle {
  return computeTrustBundle({ current: pems, now: NOW });
}

/**
 * A domain with mutual TLS that "infrastructure" created on an initial truststore under the target's key
 * (pinned to that version unless `followLatest`), and a target on it with S3 and secret targets of its own.
 */
async function setup(
  options: {
    initialPem?: string;
    followLatest?: boolean;
    mtls?: boolean;
  } & Partial<ApiGatewayDomainTargetOptions> = {},
) {
  counter += 1;
  const domainName = `api-${counter}.example.com`;
  const key = `api-trust/domain-${counter}.pem`;
  const put = await clients.s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: options.initialPem ?? alpha.certificatePem }),
  );
  await clients.apigateway.send(
    new CreateDomainNameCommand({
      DomainName: domainName,
      DomainNameConfigurations: [
        { CertificateArn: CERT_ARN, EndpointType: "REGIONAL", SecurityPolicy: "TLS_1_2" },
      ],
      MutualTlsAuthentication:
        options.mtls === false
          ? undefined
          : {
              TruststoreUri: `s3://${BUCKET}/${key}`,
              TruststoreVersion: options.followLatest ? undefined : put.VersionId,
            },
    }),
  );
  const apigateway = new ApiGatewayDomainTarget({
    apigateway: clients.apigateway,
    s3: clients.s3,
    domainName,
    bucket: BUCKET,
    key,
    ...options,
  });
  const s3Key = `bundles/domain-${counter}.pem`;
  return {
    domainName,
    key,
    uri: `s3://${BUCKET}/${key}`,
    initialVersion: put.VersionId!,
    apigateway,
    s3: new S3BundleTarget(clients.s3, BUCKET, s3Key),
    s3Key,
    secret: new SecretBundleTarget(clients.secrets, `mtls-rotator/trust/domain-${counter}`),
    versions: () => s.s3.versions(BUCKET, key),
    inEffect: () => s.apigateway.truststore(domainName),
  };
}

function writes() {
  return {
    s3: s.server.count("s3", "PutObject"),
    secrets:
      s.server.count("secretsmanager", "PutSecretValue") + s.server.count("secretsmanager", "CreateSecret"),
    domains: s.server.count("apigateway", "UpdateDomainName"),
    trustStores: s.server.count("cloudfront", "UpdateTrustStore"),
  };
}

describe("publishing to an API Gateway domain alongside S3 and Secrets Manager", () => {
  it("writes a new S3 version and points the domain's truststore at it", async () => {
    const t = await setup();
    const result = await publishTrustBundle({
      targets: [t.apigateway, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });

    const expected = bundleOf(alpha.certificatePem, bravo.certificatePem);
    const newest = t.versions()[0]!;
    expect(result.targets.map((r) => [r.target, r.changed])).toEqual([
      [`apigateway-domain:${t.domainName}`, true],
      [t.s3.name, true],
      [t.secret.name, true],
    ]);
    expect(result.targets[0]!.version).toBe(newest.versionId);
    expect(t.versions()).toHaveLength(2);
    expect(newest.metadata).toMatchObject({ sha256: expected.sha256 });
    expect(t.inEffect()).toMatchObject({
      truststoreUri: t.uri,
      truststoreVersion: newest.versionId,
      pem: expected.pem,
      warnings: [],
    });
    const domain = await clients.apigateway.send(new GetDomainNameCommand({ DomainName: t.domainName }));
    expect(domain.MutualTlsAuthentication).toEqual({
      TruststoreUri: t.uri,
      TruststoreVersion: newest.versionId,
    });
    expect(await t.apigateway.read()).toBe(expected.pem);
  });

  it("the same bundle again writes nothing: no S3 version, no UpdateDomainName", async () => {
    const t = await setup();
    const input = {
      targets: [t.apigateway, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    };
    const first = await publishTrustBundle(input);
    const before = writes();

    const again = await publishTrustBundle(input);

    expect(again.targets.map((r) => r.changed)).toEqual([false, false, false]);
    expect(again.targets[0]!.version).toBe(first.targets[0]!.version);
    expect(writes()).toEqual(before);
    expect(t.versions()).toHaveLength(2);
  });

  it("reads the truststore in effect as the base, even one outside its own key, and takes the domain over", async () => {
    const t = await setup();
    const foreignKey = `elsewhere/${t.domainName}.pem`;
    await clients.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: foreignKey, Body: charlie.certificatePem }),
    );
    await clients.apigateway.send(
      new UpdateDomainNameCommand({
        DomainName: t.domainName,
        MutualTlsAuthentication: { TruststoreUri: `s3://${BUCKET}/${foreignKey}` },
      }),
    );
    expect(await t.apigateway.read()).toBe(charlie.certificatePem);

    await publishTrustBundle({
      targets: [t.apigateway],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });
    expect(t.inEffect()?.truststoreUri).toBe(t.uri);
    expect(t.inEffect()?.pem).toBe(
      bundleOf(alpha.certificatePem, bravo.certificatePem, charlie.certificatePem).pem,
    );
  });

  it("repairs a crash between the S3 put and the update: the version is reused", async () => {
    const t = await setup();
    const bundle = bundleOf(alpha.certificatePem, charlie.certificatePem);
    const orphan = await clients.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: t.key,
        Body: bundle.pem,
        Metadata: { sha256: bundle.sha256, certificates: "2" },
      }),
    );
    const puts = writes().s3;
    expect(await t.apigateway.write(bundle)).toEqual({ changed: true, version: orphan.VersionId });
    expect(writes().s3).toBe(puts);
    expect(t.inEffect()?.loadedVersion).toBe(orphan.VersionId);
  });

  it("refuses a domain without mutual TLS before writing anything", async () => {
    const t = await setup({ mtls: false });
    const before = writes();
    await expect(t.apigateway.write(bundleOf(alpha.certificatePem))).rejects.toMatchObject({
      name: "ApiGatewayTruststoreError",
      code: "NoMutualTls",
    });
    expect(writes()).toEqual(before);
    expect(t.inEffect()).toBeUndefined();
  });
});

describe("refusals leave the domain's truststore untouched", () => {
  it("a 26-certificate bundle is refused before anything is written (the CloudFront target's limit)", async () => {
    const t = await setup();
    counter += 1;
    const cfKey = `viewer-trust/with-api-${counter}.pem`;
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: cfKey, Body: alpha.certificatePem }));
    const store = await clients.cloudfront.send(
      new CreateTrustStoreCommand({
        Name: `with-api-${counter}`,
        CaCertificatesBundleSource: {
          CaCertificatesBundleS3Location: { Bucket: BUCKET, Key: cfKey, Region: "us-east-1" },
        },
      }),
    );
    const cloudfront = new CloudFrontTrustStoreTarget({
      cloudfront: clients.cloudfront,
      s3: clients.s3,
      trustStoreId: store.TrustStore!.Id!,
      bucket: BUCKET,
      key: cfKey,
      bucketRegion: "us-east-1",
    });
    const cas = await manySmallCas(26);
    const before = writes();
    const inEffect = t.inEffect();

    await expect(
      publishTrustBundle({
        targets: [t.apigateway, t.s3, t.secret, cloudfront],
        currentChainPem: pemOf(cas.slice(0, 25)),
        incomingChainPem: cas[25]!.certificatePem,
        now: NOW,
      }),
    ).rejects.toMatchObject({ name: "TrustBundleError", reason: "TooManyCertificates" });

    expect(writes()).toEqual(before);
    expect(t.inEffect()).toEqual(inEffect);
    expect(t.versions()).toHaveLength(1);
    // API Gateway alone takes far more.
    expect(API_GATEWAY_TRUSTSTORE_LIMITS.maxCertificates).toBe(1000);
    const alone = await publishTrustBundle({
      targets: [t.apigateway],
      currentChainPem: pemOf(cas.slice(0, 25)),
      incomingChainPem: cas[25]!.certificatePem,
      now: NOW,
    });
    expect(alone.certificates).toBe(27); // the 26 plus alpha, already in effect
  });

  it("an invalid incoming chain is refused by the core before anything is written", async () => {
    const t = await setup();
    const before = writes();
    await expect(
      publishTrustBundle({
        targets: [t.apigateway, t.s3, t.secret],
        currentChainPem: alpha.certificatePem,
        incomingChainPem: "-----BEGIN CERTIFICATE-----\nTUlJQm9ndXM=\n-----END CERTIFICATE-----\n",
        now: NOW,
      }),
    ).rejects.toMatchObject({ name: "TrustBundleError", reason: "Malformed" });
    expect(writes()).toEqual(before);
    expect(t.inEffect()?.loadedVersion).toBe(t.initialVersion);
  });
});

describe("truststore warnings: a warned bundle never replaces the one in effect", () => {
  it("puts the domain back on its pinned version and throws, listing the warnings", async () => {
    const t = await setup();
    const error = await publishTrustBundle({
      targets: [t.apigateway, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: pemOf(await fiveDeepChain()),
      now: NOW,
    }).catch((e) => e);

    expect(error).toBeInstanceOf(ApiGatewayTruststoreError);
    expect(error).toMatchObject({ code: "TruststoreWarnings", domainName: t.domainName });
    expect(error.warnings).toEqual([expect.stringMatching(/maximum chain length is 4/)]);
    expect(t.inEffect()).toMatchObject({
      truststoreUri: t.uri,
      truststoreVersion: t.initialVersion,
      pem: alpha.certificatePem,
      warnings: [],
    });
    // The targets after it were never written.
    expect(s.s3.versions(BUCKET, t.s3Key)).toEqual([]);
    expect(await t.apigateway.read()).toBe(alpha.certificatePem);
  });

  it("a domain that followed the latest version is pinned to the version that was latest before", async () => {
    const t = await setup({ followLatest: true });
    await expect(
      t.apigateway.write(
        bundleOf(alpha.certificatePem, ...(await fiveDeepChain()).map((ca) => ca.certificatePem)),
      ),
    ).rejects.toBeInstanceOf(ApiGatewayTruststoreError);
    expect(t.inEffect()).toMatchObject({
      truststoreVersion: t.initialVersion,
      loadedVersion: t.initialVersion,
      pem: alpha.certificatePem,
    });
  });

  it("with acceptWarnings the warned truststore is kept", async () => {
    const t = await setup({ acceptWarnings: true });
    const bundle = bundleOf(alpha.certificatePem, pemOf(await fiveDeepChain()));
    const out = await t.apigateway.write(bundle);
    expect(out.changed).toBe(true);
    expect(t.inEffect()).toMatchObject({ loadedVersion: out.version, pem: bundle.pem });
    expect(t.inEffect()?.warnings).toHaveLength(1);
  });
});
