/**
 * The tracking wiring: what it reads from the linked resources (every problem named at once), the managed
 * issuers it derives from the CAs' own certificates, and the deployed shape end to end — buildScanDeps from
 * linked resources and the environment, against the AWS stand-ins and dynalite, driving the scan handler.
 */
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { workflow } from "sst/aws/workflow";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import type { WorkflowSdk } from "../../functions/dispatch/start-rotation.ts";
import { scanHandler } from "../../functions/handlers/scan.ts";
import {
  buildScanDeps,
  managedIssuersOf,
  oncePerColdStart,
  TRACKING_LINKS,
  trackingConfig,
  WiringError,
} from "../../functions/handlers/wiring.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { type CertificateAuthority, createRootCa, issueClientCredential } from "../../standins/pki.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";

const DAY = 86_400_000;
const ACCOUNT = "123456789012";
const AUTHORITY = `arn:aws:acm-pca:eu-west-1:${ACCOUNT}:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`;
const PREVIOUS = `arn:aws:acm-pca:us-east-1:${ACCOUNT}:certificate-authority/11111111-2222-4333-8444-555555555555`;
const WORKFLOW = { name: "mtls-rotator-production-RotationWorkflowHandler", qualifier: "3" };

function linked(overrides: Record<string, unknown> = {}) {
  return {
    [TRACKING_LINKS.table]: { name: "mtls-rotator-production-RotationsTable" },
    [TRACKING_LINKS.topic]: { arn: `arn:aws:sns:eu-west-1:${ACCOUNT}:mtls-rotator-notifications` },
    [TRACKING_LINKS.workflow]: WORKFLOW,
    [TRACKING_LINKS.settings]: {
      authorityArn: AUTHORITY,
      previousAuthorityArns: [PREVIOUS],
      renewBefore: { fractionOfLifetime: 1 / 3 },
      thresholdsDays: [30, 14, 7, 1],
    },
    ...overrides,
  };
}

describe("trackingConfig", () => {
  it("reads the linked resources: the configured CA first, then the previous ones", () => {
    expect(trackingConfig({ resource: linked(), env: { AWS_REGION: "eu-west-1" } })).toEqual({
      region: "eu-west-1",
      tableName: "mtls-rotator-production-RotationsTable",
      topicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:mtls-rotator-notifications`,
      workflow: WORKFLOW,
      authorityArns: [AUTHORITY, PREVIOUS],
      renewBefore: { fractionOfLifetime: 1 / 3 },
      thresholdsDays: [30, 14, 7, 1],
    });
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
      "linked resource RotationWorkflowStarter is missing (link it to the function in infra/)",
      "linked resource TrackingSettings is missing (link it to the function in infra/)",
    ]);
  });

  it("names every malformed setting at once", () => {
    const resource = linked({
      [TRACKING_LINKS.workflow]: { name: WORKFLOW.name },
      [TRACKING_LINKS.settings]: {
        authorityArn: "arn:aws:acm:us-east-1:123456789012:certificate/x",
        previousAuthorityArns: ["not-an-arn"],
        renewBefore: { fractionOfLifetime: 2 },
        thresholdsDays: [30, -1],
      },
    });
    expect(() => trackingConfig({ resource, env: { AWS_REGION: "eu-west-1" } })).toThrow(
      expect.objectContaining({
        problems: [
          "RotationWorkflowStarter.qualifier is missing",
          'TrackingSettings.authorityArn is malformed: "arn:aws:acm:us-east-1:123456789012:certificate/x"',
          'TrackingSettings.previousAuthorityArns has a malformed ARN: "not-an-arn"',
          expect.stringMatching(/^TrackingSettings\.renewBefore: .*fractionOfLifetime/),
          expect.stringMatching(/^TrackingSettings\.thresholdsDays: .*-1/),
        ],
      }),
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

describe("managedIssuersOf", () => {
  it("names each CA as the certificates it issued name their issuer", async () => {
    const current = await createRootCa({ name: "CN=Acme Origin Client CA G2, O=Acme" });
    const previous = await createRootCa({ name: "CN=Acme Origin Client CA, O=Acme, C=DE" });
    const chains: Record<string, string> = {
      [AUTHORITY]: current.certificatePem,
      [PREVIOUS]: previous.certificatePem,
    };
    expect(await managedIssuersOf([AUTHORITY, PREVIOUS], async (arn) => chains[arn]!)).toEqual([
      "CN=Acme Origin Client CA G2, O=Acme",
      "CN=Acme Origin Client CA, O=Acme",
    ]);
  });

  it("fails when a CA answers no certificate it can name", async () => {
    await expect(managedIssuersOf([AUTHORITY], async () => "")).rejects.toThrow(AUTHORITY);
  });
});

describe("buildScanDeps, deployed shape", () => {
  let standins: Standins;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let topicArn: string;
  let current: CertificateAuthority;
  let previous: CertificateAuthority;
  let authorityArn: string;
  let previousArn: string;

  beforeAll(async () => {
    standins = await startStandins({ acmImportsPerSecond: 10_000 });
    dynamo = await startDynamoDb();
    await createRotationTable(dynamoDbClient(dynamo.endpoint), "mtls-rotator");
    topicArn = standins.sns.createTopic("mtls-rotator", "eu-west-1");
    current = await createRootCa({ name: "CN=Acme Origin Client CA G2, O=Acme" });
    previous = await createRootCa({ name: "CN=Acme Origin Client CA, O=Acme" });
    // The CA being migrated away from lives in another region than the current one.
    authorityArn = standins.privateCa.addAuthority(current, "eu-west-1");
    previousArn = standins.privateCa.addAuthority(previous, "us-east-1");
  });

  afterAll(async () => {
    await standins?.close();
    await dynamo?.close();
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

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

    // Only the SDK's default credential chain knows the stand-ins' credentials, as in Lambda.
    vi.stubEnv("AWS_ACCESS_KEY_ID", STANDIN_CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", STANDIN_CREDENTIALS.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", "");
    const started: Array<{ resource: workflow.Resource; name: string }> = [];
    const sdk: WorkflowSdk = {
      start: async (resource, input) => {
        started.push({ resource, name: input.name });
        return { arn: `arn:exec/${input.name}`, statusCode: 202 };
      },
      StartError: workflow.StartError,
    };
    const emf: string[] = [];
    const resource = linked({
      [TRACKING_LINKS.table]: { name: "mtls-rotator" },
      [TRACKING_LINKS.topic]: { arn: topicArn },
      [TRACKING_LINKS.settings]: {
        authorityArn,
        previousAuthorityArns: [previousArn],
        renewBefore: { fractionOfLifetime: 1 / 3 },
        thresholdsDays: [30, 14, 7, 1],
      },
    });
    const env = {
      AWS_REGION: "eu-west-1",
      MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
      MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
    };
    standins.server.calls.length = 0;
    const deps = await buildScanDeps(
      { resource, env },
      { workflowSdk: sdk, writeMetrics: (l) => emf.push(l) },
    );

    expect(deps.policy).toEqual({
      managedIssuers: ["CN=Acme Origin Client CA G2, O=Acme", "CN=Acme Origin Client CA, O=Acme"],
      renewBefore: { fractionOfLifetime: 1 / 3 },
      thresholdsDays: [30, 14, 7, 1],
    });
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
  });
});
