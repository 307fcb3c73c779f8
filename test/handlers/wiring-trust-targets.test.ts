/**
 * The optional trust targets as a deployment configures them: linked settings (what infra/settings.ts puts
 * under trust.targets) -> trackingConfig/wiringConfig -> trustTargetsFrom -> publishTrustBundle, against the
 * stand-ins of every service (CloudFront trust stores, ALB trust stores, API Gateway domains, EventBridge),
 * a real signed-webhook receiver, and dynalite for the announcement memory.
 */

import { CreateDomainNameCommand } from "@aws-sdk/client-apigatewayv2";
import { CreateTrustStoreCommand } from "@aws-sdk/client-cloudfront";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { publishTrustBundle } from "../../functions/trust/publish-bundle.ts";
import { trackingConfig } from "../../functions/wiring/tracking.ts";
import { trustTargetsFrom } from "../../functions/wiring/trust-targets.ts";
import { wiringConfig } from "../../functions/wiring/workflow.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { smallCa } from "../support/pki-fixtures.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const AUTHORITY = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`;
const BUCKET = "mtls-rotator-production-trustbundlesbucket-abcdef";
const TABLE = "mtls-rotator-production-RotationsTable";
const WEBHOOK_SECRET_NAME = "mtls-rotator/production/webhook-hmac";
const HMAC_KEY = "whsec-0123456789abcdef0123456789abcdef";
const BUS = "origin-trust";
const DOMAIN = "api.origin.example.com";
const TRUST = {
  bucketKey: "trust/origin-client-ca.pem",
  bundleSecretName: "mtls-rotator/production/trust/origin-client-ca",
};

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let receiver: WebhookReceiver;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let trustStoreId: string;
let albArn: string;

beforeAll(async () => {
  [standins, dynamo, receiver, alpha, bravo] = await Promise.all([
    startStandins(),
    startDynamoDb(),
    startWebhookReceiver({ secret: HMAC_KEY }),
    smallCa("CN=Alpha Origin Client CA"),
    smallCa("CN=Bravo Origin Client CA"),
  ]);
  await createRotationTable(dynamoDbClient(dynamo.endpoint), TABLE);
  const clients = standins.clients();
  standins.s3.createBucket(BUCKET, { versioned: true });
  // What "infrastructure" created beforehand, each from a seed bundle under its own key.
  const seed = async (key: string) =>
    (await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: alpha.certificatePem })))
      .VersionId;
  const cfVersion = await seed("seed/cloudfront.pem");
  const created = await clients.cloudfront.send(
    new CreateTrustStoreCommand({
      Name: "viewers",
      CaCertificatesBundleSource: {
        CaCertificatesBundleS3Location: {
          Bucket: BUCKET,
          Key: "seed/cloudfront.pem",
          Region: REGION,
          Version: cfVersion,
        },
      },
    }),
  );
  trustStoreId = created.TrustStore!.Id!;
  await seed("seed/alb.pem");
  albArn = standins.elbv2.createTrustStore("origin-alb", { bucket: BUCKET, key: "seed/alb.pem" });
  const apiVersion = await seed("seed/api.pem");
  await clients.apigateway.send(
    new CreateDomainNameCommand({
      DomainName: DOMAIN,
      DomainNameConfigurations: [
        {
          CertificateArn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`,
          EndpointType: "REGIONAL",
          SecurityPolicy: "TLS_1_2",
        },
      ],
      MutualTlsAuthentication: {
        TruststoreUri: `s3://${BUCKET}/seed/api.pem`,
        TruststoreVersion: apiVersion,
      },
    }),
  );
  standins.eventbridge.createEventBus(BUS);
  await clients.secrets.send(new CreateSecretCommand({ Name: WEBHOOK_SECRET_NAME }));
  await clients.secrets.send(
    new PutSecretValueCommand({ SecretId: WEBHOOK_SECRET_NAME, SecretString: HMAC_KEY }),
  );
});

afterAll(async () => {
  await Promise.all([standins?.close(), dynamo?.close(), receiver?.close()]);
});

function targetsSettings(overrides: Record<string, unknown> = {}) {
  return {
    cloudFrontTrustStoreIds: [trustStoreId],
    albTrustStoreArns: [albArn],
    apiGatewayDomainNames: [DOMAIN],
    webhook: { url: receiver.url, secretName: WEBHOOK_SECRET_NAME },
    eventBus: BUS,
    ...overrides,
  };
}

function trackingLinks(targets: unknown) {
  return {
    RotationTable: { name: TABLE },
    NotificationTopic: { arn: `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-notifications` },
    TrustBundleBucket: { name: BUCKET },
    RotationWorkflowStarter: { name: "mtls-rotator-production-RotationWorkflowHandler", qualifier: "3" },
    TrackingSettings: { authorityArn: AUTHORITY, trust: { ...TRUST, targets } },
  };
}

/** The targets one cold start builds (fresh objects, nothing remembered but what is stored). */
function coldStartTargets() {
  const config = trackingConfig({ resource: trackingLinks(targetsSettings()), env: { AWS_REGION: REGION } });
  const inventory = new InventoryStore(dynamoDbClient(dynamo.endpoint), { tableName: TABLE });
  return trustTargetsFrom(config, standins.clients(), { announcements: inventory.announcements(BUS) });
}

describe("trust targets from the deployment's settings", () => {
  it("reads them for the scan and the workflow alike; none configured means bundle object and secret only", () => {
    const tracking = trackingConfig({
      resource: trackingLinks(targetsSettings()),
      env: { AWS_REGION: REGION },
    });
    const workflow = wiringConfig({
      resource: {
        RotationTable: { name: TABLE },
        TrustBundleBucket: { name: BUCKET },
        NotificationTopic: { arn: `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-notifications` },
        RotationSettings: {
          rotation: { authorityArn: AUTHORITY },
          trust: { ...TRUST, targets: targetsSettings() },
          credentialsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6`,
          workflowRoleArn: `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-test-RotationWorkflowRole`,
        },
      },
      env: { AWS_REGION: REGION },
    });
    expect(workflow.targets).toEqual(tracking.targets);
    expect(tracking.targets).toEqual(targetsSettings());

    const none = trackingConfig({ resource: trackingLinks(undefined), env: { AWS_REGION: REGION } });
    expect(trustTargetsFrom(none, standins.clients()).map((t) => t.name)).toEqual([
      `s3://${BUCKET}/${TRUST.bucketKey}`,
      `secretsmanager:${TRUST.bundleSecretName}`,
    ]);
  });

  it("names every malformed target setting at once", () => {
    const bad = {
      cloudFrontTrustStoreIds: ["ok-id", "has space"],
      albTrustStoreArns: ["arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/x/y"],
      apiGatewayDomainNames: "api.example.com",
      webhook: { url: "ftp://origin.example.com/hook", secretName: "" },
      eventBus: "arn:aws:sns:us-east-1:123456789012:topic",
    };
    expect(() => trackingConfig({ resource: trackingLinks(bad), env: { AWS_REGION: REGION } })).toThrow(
      expect.objectContaining({
        problems: [
          'TrackingSettings.trust.targets.cloudFrontTrustStoreIds[1] must be a trust store id, got "has space"',
          'TrackingSettings.trust.targets.albTrustStoreArns[0] must be an ALB trust store ARN (arn:aws:elasticloadbalancing:<region>:<account>:truststore/<name>/<id>), got "arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/x/y"',
          'TrackingSettings.trust.targets.apiGatewayDomainNames must be a list of domain names, got "api.example.com"',
          "TrackingSettings.trust.targets.webhook.url: webhook URL must be https:// (http:// only on a loopback address): ftp://origin.example.com/hook",
          `TrackingSettings.trust.targets.webhook.secretName must be a secret name (the secret holding the webhook's HMAC key), got ""`,
          'TrackingSettings.trust.targets.eventBus must be an event bus name or ARN, got "arn:aws:sns:us-east-1:123456789012:topic"',
        ],
      }),
    );
  });

  it("publishes to every configured target in order, announces last, and once per bundle across cold starts", async () => {
    const targets = coldStartTargets();
    expect(targets.map((t) => t.name)).toEqual([
      `s3://${BUCKET}/${TRUST.bucketKey}`,
      `secretsmanager:${TRUST.bundleSecretName}`,
      `cloudfront-trust-store:${trustStoreId}`,
      expect.stringContaining(albArn),
      expect.stringContaining(DOMAIN),
      expect.stringMatching(/^webhook:http:\/\/127\.0\.0\.1:\d+\//),
      `eventbridge:${BUS}`,
    ]);

    const first = await publishTrustBundle({
      targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: new Date(),
    });
    expect(first.certificates).toBe(2);
    expect(first.targets.map((t) => t.changed)).toEqual([true, true, true, true, true, true, true]);
    // Each service now holds both CAs, from its own object under trust/targets/.
    for (const target of targets.slice(0, 5)) {
      const published = (await target.read()) ?? "";
      expect(published, target.name).toContain(bravo.certificatePem.split("\n")[1]);
    }
    expect(standins.s3.versions(BUCKET, `trust/targets/cloudfront/${trustStoreId}.pem`)).toHaveLength(1);
    expect(standins.s3.versions(BUCKET, `trust/targets/apigateway/${DOMAIN}.pem`)).toHaveLength(1);
    expect(receiver.installs.map((i) => i.bundleSha256)).toEqual([first.bundleSha256]);
    const events = standins.eventbridge.events(BUS);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.detail)).toMatchObject({
      bundleSha256: first.bundleSha256,
      version: 1,
      location: `s3://${BUCKET}/${TRUST.bucketKey}`,
    });
    // The HMAC key went to the receiver as a signature only: never into an event or a target's name.
    expect(JSON.stringify(events)).not.toContain(HMAC_KEY);

    // Another cold start, the same bundle: nothing changes anywhere, no second announcement.
    const again = await publishTrustBundle({
      targets: coldStartTargets(),
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: new Date(),
    });
    expect(again.bundleSha256).toBe(first.bundleSha256);
    expect(again.targets.filter((t) => t.changed && !t.target.startsWith("webhook:"))).toEqual([]);
    expect(standins.eventbridge.events(BUS)).toHaveLength(1);
    expect(receiver.installs).toHaveLength(1);
  });
});
