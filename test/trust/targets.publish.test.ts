/**
 * One publishTrustBundle run over every kind of target at once, as a rotation configures them: the versioned
 * S3 object (bundle of record, read back for the union), an ALB trust store, a signed webhook to a custom
 * origin and the EventBridge announcement last. Then the incoming CA is added, then the same bundle again.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeTrustBundle } from "../../functions/core/trust-bundle.ts";
import {
  publishTrustBundle,
  S3BundleTarget,
  type TrustTarget,
} from "../../functions/trust/publish-bundle.ts";
import { AlbTrustStoreTarget } from "../../functions/trust/targets/alb-trust-store.ts";
import { EventBridgeTarget } from "../../functions/trust/targets/eventbridge.ts";
import { WebhookTarget } from "../../functions/trust/targets/webhook.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, NOW, smallCa } from "../support/pki-fixtures.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const BUCKET = "trust-bundles-all";
const SECRET = "whsec-publish-all-0123456789abcdef";

let s: Standins;
let clients: AwsClients;
let receiver: WebhookReceiver;
let current: CertificateAuthority;
let incoming: CertificateAuthority;

beforeAll(async () => {
  s = await startStandins();
  clients = s.clients({ maxAttempts: 1 });
  s.s3.createBucket(BUCKET, { versioned: true });
  s.eventbridge.createEventBus("mtls-rotator");
  receiver = await startWebhookReceiver({ secret: SECRET });
  [current, incoming] = await Promise.all([
    smallCa("CN=Current Client CA"),
    smallCa("CN=Incoming Client CA"),
  ]);
});

afterAll(async () => {
  await receiver?.close();
  await s?.close();
});

describe("publishTrustBundle over S3, ALB, webhook and EventBridge together", () => {
  it("publishes the same bundle everywhere, grows it with the incoming CA, and is a no-op when repeated", async () => {
    await clients.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "alb/edge.pem", Body: current.certificatePem }),
    );
    const trustStoreArn = s.elbv2.createTrustStore("edge", { bucket: BUCKET, key: "alb/edge.pem" });
    const s3 = new S3BundleTarget(clients.s3, BUCKET, "bundle.pem");
    const targets: TrustTarget[] = [
      s3,
      new AlbTrustStoreTarget({
        elbv2: clients.elbv2,
        s3: clients.s3,
        trustStoreArn,
        bucket: BUCKET,
        key: "alb/edge.pem",
      }),
      new WebhookTarget({ url: receiver.url, secret: SECRET }),
      new EventBridgeTarget({
        client: clients.eventbridge,
        eventBusName: "mtls-rotator",
        location: () => `s3://${BUCKET}/bundle.pem`,
      }),
    ];

    // 1. The CA in service only (no incoming CA yet: the same chain twice).
    const first = await publishTrustBundle({
      targets,
      currentChainPem: current.certificatePem,
      incomingChainPem: current.certificatePem,
      now: NOW,
    });
    const onlyCurrent = computeTrustBundle({ current: [current.certificatePem], now: NOW });
    expect(first.bundleSha256).toBe(onlyCurrent.sha256);
    expect(first.targets.map((t) => [t.target, t.changed])).toEqual([
      [`s3://${BUCKET}/bundle.pem`, true],
      [`alb-trust-store:${trustStoreArn}`, true],
      [`webhook:${new URL(receiver.url).origin}/mtls/trust-bundle`, true],
      ["eventbridge:mtls-rotator", true],
    ]);

    // 2. Trust before swap: the incoming CA joins; the S3 object (read back) keeps the current one.
    const grown = await publishTrustBundle({
      targets,
      currentChainPem: "",
      incomingChainPem: incoming.certificatePem,
      now: NOW,
    });
    const both = computeTrustBundle({ current: [current.certificatePem, incoming.certificatePem], now: NOW });
    expect(grown.bundleSha256).toBe(both.sha256);
    expect(grown.certificates).toBe(2);
    expect(grown.targets.every((t) => t.changed)).toBe(true);

    expect(await s3.read()).toBe(both.pem);
    expect(s.elbv2.trustStore(trustStoreArn)).toMatchObject({ numberOfCaCertificates: 2 });
    expect(s.elbv2.trustStore(trustStoreArn)?.certificates.join("")).toBe(both.pem);
    expect(receiver.current()?.pem).toBe(both.pem);
    expect(receiver.refusals).toEqual([]);
    const events = s.eventbridge.events("mtls-rotator").map((e) => JSON.parse(e.detail));
    expect(events.map((e) => [e.version, e.bundleSha256, e.certificates.length])).toEqual([
      [1, onlyCurrent.sha256, 1],
      [2, both.sha256, 2],
    ]);
    expect(events[1].location).toBe(`s3://${BUCKET}/bundle.pem`);

    // 3. The same inputs again: nothing changes anywhere.
    const writesBefore =
      s.server.count("s3", "PutObject") +
      s.server.count("elasticloadbalancing", "ModifyTrustStore") +
      s.server.count("events", "PutEvents");
    const again = await publishTrustBundle({
      targets,
      currentChainPem: "",
      incomingChainPem: incoming.certificatePem,
      now: NOW,
    });
    expect(again.bundleSha256).toBe(both.sha256);
    expect(again.targets.map((t) => t.changed)).toEqual([false, false, false, false]);
    expect(
      s.server.count("s3", "PutObject") +
        s.server.count("elasticloadbalancing", "ModifyTrustStore") +
        s.server.count("events", "PutEvents"),
    ).toBe(writesBefore);
    expect(receiver.installs).toHaveLength(2);

    const credential = await goodP256();
    expectNoKeyMaterial(s.eventbridge.events(), [credential.privateKeyPem]);
    expectNoKeyMaterial(
      receiver.requests.map((r) => r.body.toString("utf8")),
      [credential.privateKeyPem],
    );
  });
});
