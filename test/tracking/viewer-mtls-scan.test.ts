/**
 * The full scan keeps the viewer mTLS inventory: from the same ListDistributions pass as the origin
 * certificates' usage, one GetOriginRequestPolicy per distinct policy of passthrough behaviours, ListTrustStores;
 * drift notified once through SNS (real SDK clients against the stand-ins, the inventory in dynalite), a
 * finding put right and broken again notified again, a notification not delivered tried again, and a single
 * certificate's decision never touching any of it.
 */

import { ImportCertificateCommand } from "@aws-sdk/client-acm";
import {
  type CloudFrontClient,
  CreateDistributionCommand,
  CreateOriginRequestPolicyCommand,
  type DistributionConfig,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
  type ViewerMtlsConfig,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { Notifier } from "../../functions/adapters/notifier.ts";
import type { Notification } from "../../functions/core/notifications.ts";
import {
  changedDistributionRecords,
  splitViewerInventory,
  ViewerDriftKind,
} from "../../functions/core/viewer-inventory.ts";
import { type ScanDeps, scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { issueClientCredential } from "../../standins/pki.ts";
import { buildDistributionConfig, clientCertOriginRequestPolicy } from "../support/distribution-config.ts";
import { smallCa } from "../support/pki-fixtures.ts";
import { createTrustStore, UNLOADABLE_BUNDLE } from "../support/viewer-trust-stores.ts";

const BUCKET = "viewer-bundles";
const NOW = new Date("2026-12-05T06:00:00.000Z");

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let inventory: InventoryStore;
let cloudfront: CloudFrontClient;
let topicArn: string;
let forwarding: string;
let leafOnly: string;
let goodStore: string;
let failedStore: string;
const ids: Record<string, string> = {};

async function trustStore(name: string, body: string): Promise<string> {
  return (await createTrustStore({ s3: standins.clients().s3, cloudfront }, BUCKET, name, body)).id;
}

/** CloudFront's origin-mTLS certificate (imported in ACM), which passthrough origins must be reached with. */
let originCertificate: string;

async function distribution(
  viewerMtls: ViewerMtlsConfig,
  edit?: (c: DistributionConfig) => void,
  options: { originMtls?: boolean } = {},
) {
  const config = buildDistributionConfig({
    origins: 2,
    ...(options.originMtls ? { mtlsArns: [originCertificate, originCertificate] } : {}),
  });
  config.ViewerMtlsConfig = viewerMtls;
  edit?.(config);
  const out = await cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
  return out.Distribution!.Id!;
}

/** Every behaviour of a passthrough distribution on `policy`, but /api/* on `apiPolicy`. */
function policies(policy: string, apiPolicy: string) {
  return (config: DistributionConfig) => {
    config.DefaultCacheBehavior!.OriginRequestPolicyId = policy;
    config.CacheBehaviors!.Items![0]!.OriginRequestPolicyId = apiPolicy;
  };
}

async function repoint(id: string, apiPolicy: string) {
  const { DistributionConfig: config, ETag } = await cloudfront.send(
    new GetDistributionConfigCommand({ Id: id }),
  );
  config!.CacheBehaviors!.Items![0]!.OriginRequestPolicyId = apiPolicy;
  await cloudfront.send(new UpdateDistributionCommand({ Id: id, DistributionConfig: config, IfMatch: ETag }));
}

function deps(options: { notify?: (n: Notification) => Promise<unknown> } = {}): ScanDeps {
  const clients = standins.clients();
  const adapter = new CloudFrontAdapter(clients.cloudfront);
  const notifier = new Notifier(clients.sns, topicArn);
  return {
    // No certificates: this test is about viewer mTLS alone.
    listCertificates: async () => [],
    readCertificate: async () => {
      throw new Error("no certificate is read");
    },
    indexUsage: () => adapter.indexOriginCertificates({ pageSize: 2 }),
    inventory,
    startRotation: async () => {
      throw new Error("no rotation is started");
    },
    notify: options.notify ?? ((n) => notifier.publish(n)),
    // As functions/wiring/tracking.ts wires it.
    viewerMtls: {
      listFleet: () => adapter.listFleet({ pageSize: 2 }),
      readOriginRequestPolicies: (policyIds) => adapter.readOriginRequestPolicies(policyIds),
      listTrustStores: () => adapter.listTrustStores(),
      store: inventory.viewerMtls,
    },
    policy: { managedAuthorities: [] },
    now: () => NOW,
  };
}

const driftMessages = (since: number) =>
  standins.sns
    .messages(topicArn)
    .slice(since)
    .filter((m) => m.attributes.event === "viewer-mtls-drift");

beforeAll(async () => {
  standins = await startStandins();
  cloudfront = standins.clients().cloudfront;
  topicArn = standins.sns.createTopic("mtls-rotator");
  dynamo = await startDynamoDb();
  const client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, "mtls-rotator");
  inventory = new InventoryStore(client, { tableName: "mtls-rotator" });
  standins.s3.createBucket(BUCKET, { versioned: true });

  goodStore = await trustStore("partners", (await smallCa("CN=Partners viewer CA")).certificatePem);
  failedStore = await trustStore("broken", UNLOADABLE_BUNDLE);
  const create = async (name: string, headers: string[]) => {
    const config = clientCertOriginRequestPolicy(name);
    config.HeadersConfig!.Headers = { Quantity: headers.length, Items: headers };
    const out = await cloudfront.send(
      new CreateOriginRequestPolicyCommand({ OriginRequestPolicyConfig: config }),
    );
    return out.OriginRequestPolicy!.Id!;
  };
  forwarding = await create("forward-viewer-certificate", ["Client-Cert", "Client-Cert-Chain"]);
  leafOnly = await create("forward-leaf-only", ["Client-Cert"]);

  ids.required = await distribution({ Mode: "required", TrustStoreConfig: { TrustStoreId: goodStore } });
  ids.optional = await distribution({ Mode: "optional", TrustStoreConfig: { TrustStoreId: failedStore } });
  const issuer = await smallCa("CN=Origin client CA");
  const credential = await issueClientCredential(issuer, { subject: "CN=edge-to-origin" });
  originCertificate = (
    await standins.clients().acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(credential.certificatePem),
        PrivateKey: Buffer.from(credential.privateKeyPem),
        CertificateChain: Buffer.from(credential.chainPem),
      }),
    )
  ).CertificateArn!;
  const originMtls = { originMtls: true };
  ids.passthrough = await distribution({ Mode: "passthrough" }, policies(forwarding, leafOnly), originMtls);
  ids.fine = await distribution({ Mode: "passthrough" }, policies(forwarding, forwarding), originMtls);
  ids.plain = (
    await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: buildDistributionConfig({ origins: 1 }) }),
    )
  ).Distribution!.Id!;
});

afterAll(async () => {
  await standins?.close();
  await dynamo?.close();
});

describe("the viewer mTLS inventory of a full scan", () => {
  it("lists distributions once for both concerns, reads each policy once, and notifies each finding", async () => {
    standins.server.calls.length = 0;
    const since = standins.sns.messages(topicArn).length;

    const report = await scanFleet(deps());

    expect(report.errors).toEqual([]);
    // 5 distributions, 2 a page: 3 ListDistributions pages, read for the usage and the viewer mTLS alike;
    // the two policies of passthrough behaviours (forwarding, leafOnly) once each; one ListTrustStores page.
    expect(standins.server.callsByOperation()).toMatchObject({
      "cloudfront:ListDistributions": 3,
      "cloudfront:GetOriginRequestPolicy": 2,
      "cloudfront:ListTrustStores": 1,
    });
    expect(standins.server.count("cloudfront")).toBe(6);
    expect(report.viewerMtls).toEqual({
      byMode: { none: 1, required: 1, optional: 1, passthrough: 2 },
      trustStores: 2,
      drift: 2,
      newDrift: 2,
    });

    const messages = driftMessages(since);
    expect(messages.map((m) => [m.attributes.severity, m.attributes.certificateArn])).toEqual([
      ["critical", expect.stringMatching(new RegExp(`:distribution/${ids.passthrough}$`))],
      ["critical", expect.stringMatching(new RegExp(`:trust-store/${failedStore}$`))],
    ]);
    const notForwarded = JSON.parse(messages[0]!.message) as Record<string, unknown>;
    expect(notForwarded).toMatchObject({
      kind: ViewerDriftKind.ClientCertNotForwarded,
      distributionId: ids.passthrough,
      pathPattern: "/api/*",
      originRequestPolicyId: leafOnly,
    });
    expect(messages[0]!.subject).toBe(
      `[mtls-rotator] viewer mTLS client-cert-not-forwarded: ${ids.passthrough}`,
    );

    const stored = await inventory.viewerInventory();
    expect(stored?.scannedAt).toBe(NOW.toISOString());
    expect(stored?.distributions.map((d) => [d.distributionId, d.mode, d.trustStoreId])).toEqual(
      [
        [ids.required, "required", goodStore],
        [ids.optional, "optional", failedStore],
        [ids.passthrough, "passthrough", undefined],
        [ids.fine, "passthrough", undefined],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    expect(stored?.trustStores.map((t) => [t.id, t.status, t.distributions])).toEqual(
      [
        [goodStore, "active", 1],
        [failedStore, "failed", 1],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    expect(stored?.notified).toHaveLength(2);
  });

  it("a second scan notifies nothing again and rewrites no distribution", async () => {
    const since = standins.sns.messages(topicArn).length;
    const writes: number[] = [];
    const store = inventory.viewerMtls;
    const counting = deps();
    counting.viewerMtls!.store = {
      load: store.load,
      save: async (next, previous) => {
        const items = (inventory?: typeof previous) =>
          inventory ? splitViewerInventory(inventory).distributions : [];
        writes.push(changedDistributionRecords(items(next), items(previous)).length);
        await store.save(next, previous);
      },
    };
    const report = await scanFleet(counting);
    expect(report.viewerMtls).toMatchObject({ drift: 2, newDrift: 0 });
    expect(driftMessages(since)).toEqual([]);
    expect(writes).toEqual([0]);
  });

  it("drift put right leaves the inventory; broken again, it is notified again", async () => {
    await repoint(ids.passthrough!, forwarding);
    let since = standins.sns.messages(topicArn).length;
    const fixed = await scanFleet(deps());
    expect(fixed.viewerMtls).toMatchObject({ drift: 1, newDrift: 0 });
    expect(driftMessages(since)).toEqual([]);
    expect((await inventory.viewerInventory())?.drift.map((f) => f.kind)).toEqual([
      ViewerDriftKind.TrustStoreFailed,
    ]);

    await repoint(ids.passthrough!, leafOnly);
    since = standins.sns.messages(topicArn).length;
    const broken = await scanFleet(deps());
    expect(broken.viewerMtls).toMatchObject({ drift: 2, newDrift: 1 });
    expect(driftMessages(since).map((m) => JSON.parse(m.message).distributionId)).toEqual([ids.passthrough]);
  });

  it("a finding whose notification was not delivered is an error now and notified by the next scan", async () => {
    const quota = [];
    for (let i = 0; i < 19; i++)
      quota.push(await distribution({ Mode: "required", TrustStoreConfig: { TrustStoreId: goodStore } }));
    const failing = await scanFleet(
      deps({
        notify: async () => {
          throw new Error("SNS is down");
        },
      }),
    );
    expect(failing.viewerMtls).toMatchObject({ newDrift: 1 });
    expect(failing.errors).toEqual([
      { certificateArn: expect.stringContaining(`:trust-store/${goodStore}`), error: "SNS is down" },
    ]);

    const since = standins.sns.messages(topicArn).length;
    const next = await scanFleet(deps());
    expect(next.errors).toEqual([]);
    const [message] = driftMessages(since);
    expect(message?.attributes.severity).toBe("warning");
    expect(JSON.parse(message!.message)).toMatchObject({
      kind: ViewerDriftKind.QuotaNear,
      quota: "distributions-per-trust-store",
      used: 20,
      limit: 25,
      trustStoreId: goodStore,
    });
    expect(driftMessages(since)).toHaveLength(1);
  });

  it("a viewer inventory failure is the scan's error, and stops nothing else", async () => {
    const broken = deps();
    broken.viewerMtls!.listTrustStores = async () => {
      throw new Error("AccessDenied: cloudfront:ListTrustStores");
    };
    const before = await inventory.viewerInventory();
    const report = await scanFleet(broken);
    expect(report.errors).toEqual([
      { certificateArn: "viewer-mtls", error: "AccessDenied: cloudfront:ListTrustStores" },
    ]);
    expect(report.viewerMtls).toBeUndefined();
    expect(await inventory.viewerInventory()).toEqual(before);
  });

  it("a single certificate's decision (an ACM expiry event) neither lists trust stores nor reads policies", async () => {
    standins.server.calls.length = 0;
    const report = await scanFleet(deps(), {
      onlyArn: "arn:aws:acm:us-east-1:123456789012:certificate/none",
    });
    expect(report.viewerMtls).toBeUndefined();
    expect(standins.server.count("cloudfront", "ListTrustStores")).toBe(0);
    expect(standins.server.count("cloudfront", "GetOriginRequestPolicy")).toBe(0);
  });
});
