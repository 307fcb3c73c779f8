/**
 * The tracking wiring: what it reads from the linked resources (every problem named at once), the managed
 * issuers and trust authorities it derives from the CAs' own certificates, and the deployed shape end to
 * end — buildScanDeps from linked resources and the environment, against the AWS stand-ins and dynalite,
 * driving the scan handler, its trust reconciliation publishing through the workflow's own targets.
 */
import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { workflow } from "sst/aws/workflow";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { WiringError } from "../../functions/config/links.ts";
import { DEFAULT_CA_RETIREMENT_GRACE_SECONDS } from "../../functions/config/settings.ts";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../../functions/core/pem.ts";
import type { WorkflowSdk } from "../../functions/dispatch/start-rotation.ts";
import { acmExpiryHandler } from "../../functions/handlers/acm-expiry-event.ts";
import { scanHandler } from "../../functions/handlers/scan.ts";
import { publishTrustBundle } from "../../functions/trust/publish-bundle.ts";
import {
  authorityChainsOf,
  configuredAuthorities,
  managedAuthoritiesOf,
} from "../../functions/wiring/authorities.ts";
import { oncePerColdStart } from "../../functions/wiring/cold-start.ts";
import { buildScanDeps } from "../../functions/wiring/scan.ts";
import { trackingConfig } from "../../functions/wiring/tracking.ts";
import { reconciliationConfig, trustReconcilerFrom } from "../../functions/wiring/trust-reconciliation.ts";
import { rotationDepsFrom, wiringConfig } from "../../functions/wiring/workflow.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { type CertificateAuthority, createRootCa, issueClientCredential } from "../../standins/pki.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";

const DAY = 86_400_000;
const ACCOUNT = "123456789012";
const AUTHORITY = `arn:aws:acm-pca:eu-west-1:${ACCOUNT}:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`;
const PREVIOUS = `arn:aws:acm-pca:us-east-1:${ACCOUNT}:certificate-authority/11111111-2222-4333-8444-555555555555`;
const WORKFLOW = { name: "mtls-rotator-production-RotationWorkflowHandler", qualifier: "3" };
const BUCKET = "mtls-rotator-production-trustbundlesbucket-abcdef";
const TRUST = {
  bucketKey: "trust/origin-client-ca.pem",
  bundleSecretName: "mtls-rotator/production/trust/origin-client-ca",
};

function trackingSettings(overrides: Record<string, unknown> = {}) {
  return {
    authorityArn: AUTHORITY,
    previousAuthorityArns: [PREVIOUS],
    renewBefore: { fractionOfLifetime: 1 / 3 },
    thresholdsDays: [30, 14, 7, 1],
    trust: TRUST,
    caRetirementGraceSeconds: 3 * 86_400,
    ...overrides,
  };
}

function linked(overrides: Record<string, unknown> = {}) {
  return {
    RotationTable: { name: "mtls-rotator-production-RotationsTable" },
    NotificationTopic: { arn: `arn:aws:sns:eu-west-1:${ACCOUNT}:mtls-rotator-notifications` },
    TrustBundleBucket: { name: BUCKET },
    RotationWorkflowStarter: WORKFLOW,
    TrackingSettings: trackingSettings(),
    // The scheduled scan's only: the function it invokes to reconcile the trust bundle.
    TrustReconciliationFunction: { name: "mtls-rotator-production-TrustReconciliation" },
    ...overrides,
  };
}

describe("trackingConfig", () => {
  it("reads the linked resources: the configured CA first, then the previous ones; the bundle's targets", () => {
    expect(trackingConfig({ resource: linked(), env: { AWS_REGION: "eu-west-1" } })).toEqual({
      region: "eu-west-1",
      tableName: "mtls-rotator-production-RotationsTable",
      topicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:mtls-rotator-notifications`,
      bucketName: BUCKET,
      bundleKey: TRUST.bucketKey,
      bundleSecretName: TRUST.bundleSecretName,
      // None configured: the bundle object and secret only.
      targets: { cloudFrontTrustStoreIds: [], albTrustStoreArns: [], apiGatewayDomainNames: [] },
      workflow: WORKFLOW,
      authorityArns: [AUTHORITY, PREVIOUS],
      // Whose certificates' own expiry the full scan tracks: the managed CAs.
      trackedAuthorityArns: [AUTHORITY, PREVIOUS],
      renewBefore: { fractionOfLifetime: 1 / 3 },
      thresholdsDays: [30, 14, 7, 1],
      caRetirementGraceSeconds: 3 * 86_400,
    });
  });

  it("retires an unused CA after 7 days unless configured; 0 retires it at once", () => {
    const read = (settings: Record<string, unknown>) =>
      trackingConfig({
        resource: linked({ TrackingSettings: settings }),
        env: { AWS_REGION: "eu-west-1" },
      }).caRetirementGraceSeconds;
    const { caRetirementGraceSeconds: _, ...unset } = trackingSettings();
    expect(DEFAULT_CA_RETIREMENT_GRACE_SECONDS).toBe(7 * 86_400);
    expect(read(unset)).toBe(DEFAULT_CA_RETIREMENT_GRACE_SECONDS);
    expect(read(trackingSettings({ caRetirementGraceSeconds: 0 }))).toBe(0);
    expect(read(trackingSettings({ caRetirementGraceSeconds: 366 * 86_400 }))).toBe(366 * 86_400);
  });

  it("refuses a grace that is not whole seconds from 0 to 366 days", () => {
    for (const bad of [-1, 1.5, 366 * 86_400 + 1, "7 days", Number.NaN]) {
      const resource = linked({
        TrackingSettings: trackingSettings({ caRetirementGraceSeconds: bad }),
      });
      expect(() => trackingConfig({ resource, env: { AWS_REGION: "eu-west-1" } }), String(bad)).toThrow(
        expect.objectContaining({
          problems: [
            expect.stringMatching(
              /^TrackingSettings\.caRetirementGraceSeconds must be a whole number of seconds from 0 to 31622400, got /,
            ),
          ],
        }),
      );
    }
  });

  it("names every missing link at once", () => {
    const error = (() => {
      try {
        trackingConfig({ resource: {}, env: {} });
      } catch (e) {
        return e as WiringError;
      }
      throw new Error("expected a WiringError");
    })();
    expect(error).toBeInstanceOf(WiringError);
    expect(error.problems).toEqual([
      "environment variable AWS_REGION is missing",
      "linked resource RotationTable is missing (link it to the function in infra/)",
      "linked resource NotificationTopic is missing (link it to the function in infra/)",
      "linked resource TrustBundleBucket is missing (link it to the function in infra/)",
      "linked resource RotationWorkflowStarter is missing (link it to the function in infra/)",
      "linked resource TrackingSettings is missing (link it to the function in infra/)",
    ]);
  });

  it("names every malformed setting at once", () => {
    const resource = linked({
      TrustBundleBucket: { name: "Not_A_Bucket" },
      RotationWorkflowStarter: { name: WORKFLOW.name },
      TrackingSettings: {
        authorityArn: "arn:aws:acm:us-east-1:123456789012:certificate/x",
        previousAuthorityArns: ["not-an-arn"],
        renewBefore: { fractionOfLifetime: 2 },
        thresholdsDays: [30, -1],
        trust: { bucketKey: "/trust/origin-client-ca.pem" },
        caRetirementGraceSeconds: -1,
      },
    });
    expect(() => trackingConfig({ resource, env: { AWS_REGION: "eu-west-1" } })).toThrow(
      expect.objectContaining({
        // Links in TRACKING_LINKS order; within TrackingSettings, the schema's field order (links.ts).
        problems: [
          'TrustBundleBucket.name must be an S3 bucket name, got "Not_A_Bucket"',
          "RotationWorkflowStarter.qualifier is missing",
          "TrackingSettings.thresholdsDays[1] must be a whole number of days from 0 to 3650, got -1",
          'TrackingSettings.previousAuthorityArns[0] must be a Private CA ARN, got "not-an-arn"',
          "TrackingSettings.caRetirementGraceSeconds must be a whole number of seconds from 0 to 31622400, got -1",
          'TrackingSettings.authorityArn must be a Private CA ARN, got "arn:aws:acm:us-east-1:123456789012:certificate/x"',
          "TrackingSettings.renewBefore.fractionOfLifetime must be between 0 and 1 (exclusive), got 2",
          'TrackingSettings.trust.bucketKey must be an S3 object key, got "/trust/origin-client-ca.pem"',
          "TrackingSettings.trust.bundleSecretName is missing",
        ],
      }),
    );
  });

  it("needs the trust bundle's settings", () => {
    const { trust: _, ...withoutTrust } = trackingSettings();
    const resource = linked({ TrackingSettings: withoutTrust });
    expect(() => trackingConfig({ resource, env: { AWS_REGION: "eu-west-1" } })).toThrow(
      expect.objectContaining({ problems: ["TrackingSettings.trust is missing"] }),
    );
  });
});

describe("oncePerColdStart", () => {
  it("builds once, and again only after a failed build", async () => {
    let builds = 0;
    const deps = oncePerColdStart(async () => {
      builds += 1;
      if (builds === 1) throw new Error("ThrottlingException");
      return { build: builds };
    });
    await expect(deps()).rejects.toThrow("ThrottlingException");
    expect(await deps()).toEqual({ build: 2 });
    expect(await deps()).toEqual({ build: 2 });
    expect(builds).toBe(2);
  });
});

describe("managedAuthoritiesOf", () => {
  it("knows each CA by the name its certificates carry as issuer and by its key", async () => {
    const current = await createRootCa({ name: "CN=Acme Origin Client CA G2, O=Acme" });
    const previous = await createRootCa({ name: "CN=Acme Origin Client CA, O=Acme, C=DE" });
    const chains: Record<string, string> = {
      [AUTHORITY]: current.certificatePem,
      [PREVIOUS]: previous.certificatePem,
    };
    const authorities = await managedAuthoritiesOf([AUTHORITY, PREVIOUS], async (arn) => chains[arn]!);
    expect(authorities.map((a) => a.issuer)).toEqual([
      "CN=Acme Origin Client CA G2, O=Acme",
      "CN=Acme Origin Client CA, O=Acme",
    ]);
    expect(authorities.map((a) => a.key)).toEqual(
      [current, previous].map((ca) => keyFingerprintOf(new X509Certificate(ca.certificatePem))),
    );
  });

  it("a CA re-keyed under the same name is a second CA; one CA configured twice is one", async () => {
    const name = "CN=Acme Origin Client CA, O=Acme";
    const [before, after] = await Promise.all([createRootCa({ name }), createRootCa({ name })]);
    const chains: Record<string, string> = {
      [AUTHORITY]: after.certificatePem,
      [PREVIOUS]: before.certificatePem,
      [`${PREVIOUS}-again`]: before.certificatePem,
    };
    const authorities = await managedAuthoritiesOf(
      [AUTHORITY, PREVIOUS, `${PREVIOUS}-again`],
      async (arn) => chains[arn]!,
    );
    expect(authorities).toHaveLength(2);
    expect(new Set(authorities.map((a) => a.issuer))).toEqual(new Set([name]));
  });

  it("fails when a CA answers no certificate it can name", async () => {
    await expect(managedAuthoritiesOf([AUTHORITY], async () => "")).rejects.toThrow(AUTHORITY);
  });
});

describe("authorityChainsOf and configuredAuthorities", () => {
  it("reads each CA's chain once; the configured CA is the next one, the previous ones are not", async () => {
    const reads: string[] = [];
    const chains = await authorityChainsOf([AUTHORITY, PREVIOUS, AUTHORITY], async (arn) => {
      reads.push(arn);
      return `chain of ${arn}`;
    });
    expect(reads).toEqual([AUTHORITY, PREVIOUS]);
    expect(configuredAuthorities([AUTHORITY, PREVIOUS], chains)).toEqual([
      { chainPem: `chain of ${AUTHORITY}`, next: true },
      { chainPem: `chain of ${PREVIOUS}`, next: false },
    ]);
    expect(() => configuredAuthorities([AUTHORITY, "arn:unread"], chains)).toThrow(WiringError);
  });
});

describe("buildScanDeps, deployed shape", () => {
  const REGION = "eu-west-1";
  const TABLE = "mtls-rotator";
  const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6`;
  const WORKFLOW_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-test-RotationWorkflowRole`;
  let standins: Standins;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let topicArn: string;
  let current: CertificateAuthority;
  let previous: CertificateAuthority;
  let authorityArn: string;
  let previousArn: string;

  beforeAll(async () => {
    current = await createRootCa({ name: "CN=Acme Origin Client CA G2, O=Acme" });
    previous = await createRootCa({ name: "CN=Acme Origin Client CA, O=Acme" });
  });

  // A fresh account per test: what ACM holds decides which CAs are in service.
  beforeEach(async () => {
    standins = await startStandins({ acmImportsPerSecond: 10_000 });
    dynamo = await startDynamoDb();
    await createRotationTable(dynamoDbClient(dynamo.endpoint), TABLE);
    topicArn = standins.sns.createTopic("mtls-rotator", REGION);
    standins.s3.createBucket(BUCKET, { versioned: true, region: REGION });
    // The CA being migrated away from lives in another region than the current one.
    authorityArn = standins.privateCa.addAuthority(current, REGION);
    previousArn = standins.privateCa.addAuthority(previous, "us-east-1");
    // Only the SDK's default credential chain knows the stand-ins' credentials, as in Lambda.
    vi.stubEnv("AWS_ACCESS_KEY_ID", STANDIN_CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", STANDIN_CREDENTIALS.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", "");
  });

  afterEach(async () => {
    vi.unstubAllEnvs();
    await standins?.close();
    await dynamo?.close();
  });

  const env = () => ({
    AWS_REGION: REGION,
    MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
    MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
  });

  /** What infra/tracking.ts links to the tracking functions. */
  const trackingLinks = (settings: Record<string, unknown> = {}) =>
    linked({
      RotationTable: { name: TABLE },
      NotificationTopic: { arn: topicArn },
      TrackingSettings: trackingSettings({
        authorityArn,
        previousAuthorityArns: [previousArn],
        ...settings,
      }),
    });

  /** What infra/rotation.ts links to the workflow: the same bucket, key and secret. */
  const workflowLinks = () => ({
    RotationTable: { name: TABLE },
    TrustBundleBucket: { name: BUCKET },
    NotificationTopic: { arn: topicArn },
    RotationSettings: {
      rotation: { authorityArn },
      trust: TRUST,
      credentialsKeyArn: KEY_ARN,
      workflowRoleArn: WORKFLOW_ROLE_ARN,
    },
  });

  const fingerprint = (ca: CertificateAuthority) => fingerprintOf(new X509Certificate(ca.certificatePem));
  const fingerprints = (pem: string) => splitPem(pem).map((p) => fingerprintOf(new X509Certificate(p)));
  const publishedS3 = () => standins.s3.object(BUCKET, TRUST.bucketKey)?.body.toString("utf8") ?? "";
  const publishedSecret = async () =>
    (
      await standins
        .clients({ region: REGION })
        .secrets.send(new GetSecretValueCommand({ SecretId: TRUST.bundleSecretName }))
    ).SecretString ?? "";

  async function presented(ca: CertificateAuthority, name: string, daysLeft: number) {
    const now = Date.now();
    const credential = await issueClientCredential(ca, {
      subject: `CN=${name}, O=Acme`,
      notBefore: new Date(now - (90 - daysLeft) * DAY),
      notAfter: new Date(now + daysLeft * DAY),
    });
    const arn = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...credential,
      lineage: { rotationId: "fixture", credential: name },
    });
    await standins.clients().cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: buildDistributionConfig({ origins: 1, mtlsArns: [arn] }),
      }),
    );
    return arn;
  }

  it("manages what either CA issued, starts rotations on the linked workflow, writes EMF to its sink", async () => {
    const dueCurrent = await presented(current, "due-current", 20);
    const duePrevious = await presented(previous, "due-previous", 10);
    const foreign = await presented(await createRootCa({ name: "CN=Other CA, O=Other" }), "foreign", 10);

    const started: Array<{ resource: workflow.Resource; name: string }> = [];
    const sdk: WorkflowSdk = {
      start: async (resource, input) => {
        started.push({ resource, name: input.name });
        return { arn: `arn:exec/${input.name}`, statusCode: 202 };
      },
      StartError: workflow.StartError,
    };
    const emf: string[] = [];
    // Trust reconciliation in process, as its function runs it (built first: it reads the CA chains too).
    const reconcile = await trustReconcilerFrom(
      reconciliationConfig({ resource: trackingLinks(), env: env() }),
      {
        log: () => {},
      },
    );
    standins.server.calls.length = 0;
    const deps = await buildScanDeps(
      { resource: trackingLinks(), env: env() },
      { workflowSdk: sdk, writeMetrics: (l) => emf.push(l), log: () => {}, reconcile },
    );

    expect(deps.policy).toEqual({
      managedAuthorities: [current, previous].map((ca) => ({
        issuer: expect.any(String),
        key: keyFingerprintOf(new X509Certificate(ca.certificatePem)),
        certificate: expect.any(X509Certificate),
      })),
      renewBefore: { fractionOfLifetime: 1 / 3 },
      thresholdsDays: [30, 14, 7, 1],
    });
    expect(deps.policy.managedAuthorities.map((a) => a.issuer)).toEqual([
      "CN=Acme Origin Client CA G2, O=Acme",
      "CN=Acme Origin Client CA, O=Acme",
    ]);
    expect(standins.server.callsByOperation()).toEqual({ "acm-pca:GetCertificateAuthorityCertificate": 2 });

    const report = await scanHandler({ deps: async () => deps, log: () => {} })({});

    expect(report.rotations.map((r) => r.certificateArn).sort()).toEqual([dueCurrent, duePrevious].sort());
    expect(report.rotations.every((r) => r.started)).toBe(true);
    expect(started.map((s) => s.resource)).toEqual([WORKFLOW, WORKFLOW]);
    expect(started.map((s) => s.name).sort()).toEqual(report.rotations.map((r) => r.rotationId).sort());
    expect(report.drift).toEqual([
      expect.objectContaining({ kind: "unmanaged-certificate", certificateArn: foreign }),
    ]);
    expect(emf).toHaveLength(1);
    expect(JSON.parse(emf[0]!)).toMatchObject({
      ManagedCertificates: 2,
      DueCertificates: 2,
      RotationsStarted: 2,
    });

    // Both CAs are in service: the reconciled bundle carries both, on both targets, and retires nothing.
    expect(report.trust).toEqual({ bundleSha256: expect.any(String), retiredFingerprints: [] });
    for (const bundle of [publishedS3(), await publishedSecret()])
      expect(fingerprints(bundle).sort()).toEqual([fingerprint(current), fingerprint(previous)].sort());
    // The CA chains were read once when the deps were built (the managed CAs, by key), and once more by the
    // scan, which tracks each CA certificate's own expiry (a CA certificate renewed since the cold start is
    // seen). The bodies of the certificates naming a configured CA were read once each (which CA key signed
    // them), not the foreign one.
    expect(standins.server.count("acm-pca", "GetCertificateAuthorityCertificate")).toBe(4);
    expect(standins.server.count("acm-pca")).toBe(4);
    expect(report.caCertificates).toEqual({ tracked: 2, alerts: [], unreadable: [], inventoryWrites: 2 });
    expect(standins.server.callsByOperation()["acm:GetCertificate"]).toBe(2);
  });

  it("reconciles the trust bundle on the workflow's own targets: an unused previous CA leaves it (grace 0)", async () => {
    // After a migration: the workflow published both CAs (trust before swap); the fleet is on the current CA.
    const workflowDeps = rotationDepsFrom(wiringConfig({ resource: workflowLinks(), env: env() }));
    await publishTrustBundle({
      targets: workflowDeps.trustTargets,
      currentChainPem: previous.certificatePem,
      incomingChainPem: current.certificatePem,
      now: new Date(),
    });
    expect(fingerprints(publishedS3()).sort()).toEqual([fingerprint(current), fingerprint(previous)].sort());
    const inService = await presented(current, "in-service", 60);

    const logged: Array<{ message: string; data?: Record<string, unknown> }> = [];
    const log = (message: string, data?: Record<string, unknown>) =>
      logged.push({ message, ...(data ? { data } : {}) });
    const links = trackingLinks({ caRetirementGraceSeconds: 0 });
    const deps = await buildScanDeps(
      { resource: links, env: env() },
      {
        workflowSdk: { start: async () => ({ arn: "", statusCode: 202 }), StartError: workflow.StartError },
        writeMetrics: () => {},
        log,
        reconcile: await trustReconcilerFrom(reconciliationConfig({ resource: links, env: env() }), { log }),
      },
    );

    // The ACM expiry event scans one certificate: it never reconciles, never touches the bundle.
    standins.server.calls.length = 0;
    const event = {
      source: "aws.acm",
      "detail-type": "ACM Certificate Approaching Expiration",
      resources: [inService],
    };
    const single = await acmExpiryHandler({ deps: async () => deps, log: () => {} })(event);
    expect(single?.trust).toBeUndefined();
    expect(standins.server.count("s3") + standins.server.count("secretsmanager")).toBe(0);

    const report = await scanHandler({ deps: async () => deps, log: () => {} })({});

    expect(report.errors).toEqual([]);
    expect(report.managed).toBe(1);
    expect(report.trust?.retiredFingerprints).toEqual([fingerprint(previous)]);
    const s3Bundle = publishedS3();
    expect(fingerprints(s3Bundle)).toEqual([fingerprint(current)]);
    expect(fingerprints(await publishedSecret())).toEqual([fingerprint(current)]);
    // A new version of the versioned object, the bundle before it still retrievable.
    expect(standins.s3.versions(BUCKET, TRUST.bucketKey)).toHaveLength(2);
    // And what the workflow reads as published is that same bundle.
    expect(await workflowDeps.trustTargets[0]!.read()).toBe(s3Bundle);
    expect(logged).toContainEqual({
      message: "trust bundle reconciled",
      data: expect.objectContaining({
        kept: [keyFingerprintOf(new X509Certificate(current.certificatePem))],
        retiredFingerprints: [fingerprint(previous)],
        changedTargets: [`s3://${BUCKET}/${TRUST.bucketKey}`, `secretsmanager:${TRUST.bundleSecretName}`],
      }),
    });
  });
});
