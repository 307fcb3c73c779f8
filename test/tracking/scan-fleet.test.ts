import { X509Certificate } from "node:crypto";
import { DeleteCertificateCommand } from "@aws-sdk/client-acm";
import {
  CreateDistributionCommand,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { Notifier } from "../../functions/adapters/notifier.ts";
import { managedAuthorityOf } from "../../functions/core/tracking.ts";
import { startRotation, type WorkflowStarter } from "../../functions/dispatch/start-rotation.ts";
import { type ScanDeps, scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { metricsDocument } from "../../functions/wiring/observability.ts";
import type { RotationInput } from "../../functions/workflow/contract.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
} from "../../standins/pki.ts";
import { buildDistributionConfig, withOriginCertificate } from "../support/distribution-config.ts";

const DAY = 86_400_000;
// Whole seconds: X.509 validity has second precision.
const NOW = Math.floor(Date.now() / 1000) * 1000;

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let inventory: InventoryStore;
let managedCa: CertificateAuthority;
let topicArn: string;
const arns: Record<string, string> = {};
const distributions: Record<string, string> = {};
const started = new Set<string>();
/** What each start was given, by execution name. */
const payloads = new Map<string, RotationInput>();
const metrics: string[] = [];

async function importCertificate(
  ca: CertificateAuthority,
  name: string,
  notBeforeDays: number,
  notAfterDays: number,
) {
  const credential = await issueClientCredential(ca, {
    subject: `CN=${name}, O=Acme`,
    notBefore: new Date(NOW + notBeforeDays * DAY),
    notAfter: new Date(NOW + notAfterDays * DAY),
  });
  return new AcmAdapter(standins.clients().acm).importCertificate({
    ...credential,
    lineage: { rotationId: "fixture", credential: name },
  });
}

async function distributionPresenting(arn: string): Promise<string> {
  const out = await standins.clients().cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: buildDistributionConfig({ origins: 1, mtlsArns: [arn] }),
    }),
  );
  return out.Distribution!.Id!;
}

function deps(at: number): ScanDeps {
  const clients = standins.clients();
  const acm = new AcmAdapter(clients.acm);
  const cloudfront = new CloudFrontAdapter(clients.cloudfront);
  const notifier = new Notifier(clients.sns, topicArn);
  // The real dispatcher, with a starter that dedupes by execution name as Lambda does.
  const starter: WorkflowStarter = {
    start: async (name, payload) => {
      payloads.set(name, payload);
      const fresh = !started.has(name);
      started.add(name);
      return { started: fresh };
    },
  };
  return {
    listCertificates: (options) => acm.searchClientCertificates({ pageSize: 2, ...options }),
    readCertificate: async (arn) => (await acm.getCertificate(arn)).certificatePem,
    indexUsage: () => cloudfront.indexOriginCertificates({ pageSize: 2 }),
    inventory,
    // As the wiring does (functions/wiring/tracking.ts): the listing hint beside the validated request.
    startRotation: ({ presentedBy, ...request }) =>
      startRotation(starter, request, undefined, { presentedBy }),
    notify: (n) => notifier.publish(n),
    emitMetrics: (m) => metrics.push(metricsDocument(m, new Date(at))),
    policy: { managedAuthorities: [managedAuthorityOf(new X509Certificate(managedCa.certificatePem))] },
    now: () => new Date(at),
  };
}

beforeAll(async () => {
  standins = await startStandins({ acmImportsPerSecond: 10_000 });
  topicArn = standins.sns.createTopic("mtls-rotator");
  dynamo = await startDynamoDb();
  const client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, "mtls-rotator");
  inventory = new InventoryStore(client, { tableName: "mtls-rotator" });

  const root = await createRootCa({ name: "CN=Acme Root, O=Acme" });
  managedCa = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
  const foreignCa = await createRootCa({ name: "CN=Someone Else CA, O=Other" });

  arns.fresh = await importCertificate(managedCa, "fresh", -100, 265); // renews at 121 d left: not yet
  arns.due = await importCertificate(managedCa, "due", -70, 20); // 90 d lifetime, 20 d left: due
  arns.unused = await importCertificate(managedCa, "unused", -70, 20); // due, but nothing presents it
  arns.foreign = await importCertificate(foreignCa, "foreign", -10, 80);
  arns.retired = await importCertificate(managedCa, "retired", -30, 60);
  distributions.fresh = await distributionPresenting(arns.fresh);
  distributions.due = await distributionPresenting(arns.due);
  distributions.foreign = await distributionPresenting(arns.foreign);
  distributions.retired = await distributionPresenting(arns.retired);
});

afterAll(async () => {
  await standins?.close();
  await dynamo?.close();
});

describe("the fleet scan", () => {
  it("decides from listing pages alone, starts the due rotation, alerts, and reports drift", async () => {
    // A rotation already replaced `retired`; the inventory says so.
    await scanFleet(deps(NOW - 20 * DAY)); // 40 days left: nothing to alert yet
    await inventory.markRetired(arns.retired!);
    standins.server.calls.length = 0;
    started.clear();

    const report = await scanFleet(deps(NOW));

    // Calls: ceil(5 / 2) SearchCertificates pages + ceil(4 / 2) ListDistributions pages, nothing per item.
    expect(standins.server.callsByOperation()).toEqual({
      "acm:SearchCertificates": 3,
      "cloudfront:ListDistributions": 2,
      "sns:Publish": 3, // two expiry alerts + the new retired-certificate drift (the other was reported earlier)
    });
    expect(report.certificates).toBe(5);
    expect(report.managed).toBe(4);
    expect(report.rotations).toEqual([
      { certificateArn: arns.due, rotationId: expect.stringMatching(/^rot-/), started: true, reason: "Due" },
    ]);
    // The rotation gets this scan's listing of its distributions, so its plan does not list the account again.
    expect(payloads.get(report.rotations[0]!.rotationId)?.presentedBy).toEqual({
      listedAt: new Date(NOW).toISOString(),
      targets: [{ distributionId: distributions.due, originIds: ["origin-1"] }],
    });
    // Both expiring managed certificates alert, including the one nothing presents (nothing to rotate).
    expect(report.alerts).toEqual(
      expect.arrayContaining([
        { certificateArn: arns.due, thresholdDays: 30, daysLeft: 20 },
        { certificateArn: arns.unused, thresholdDays: 30, daysLeft: 20 },
      ]),
    );
    expect(report.alerts).toHaveLength(2);
    expect(report.drift.map((d) => `${d.kind} ${d.distributionId}`).sort()).toEqual(
      [
        `retired-certificate ${distributions.retired}`,
        `unmanaged-certificate ${distributions.foreign}`,
      ].sort(),
    );
    expect(report.newDrift).toBe(1);

    const messages = standins.sns.messages(topicArn).slice(-3);
    expect(messages.map((m) => m.attributes.event).sort()).toEqual([
      "certificate-expiring",
      "certificate-expiring",
      "drift-found",
    ]);
    expect(JSON.parse(messages.find((m) => m.attributes.event === "drift-found")!.message)).toMatchObject({
      kind: "retired-certificate",
      distributionId: distributions.retired,
    });
    const expiring = messages.find(
      (m) => m.attributes.event === "certificate-expiring" && m.attributes.certificateArn === arns.due,
    )!;
    expect(expiring.attributes).toMatchObject({ severity: "warning", certificateArn: arns.due });
    expect(JSON.parse(expiring.message)).toMatchObject({ thresholdDays: 30, daysLeft: 20 });

    const stored = await inventory.loadAll();
    expect(stored.get(arns.due!)).toMatchObject({
      managed: true,
      alerted: [30],
      decision: { reason: "Due" },
    });
    expect(stored.get(arns.due!)?.usage).toEqual([
      { distributionId: distributions.due, originId: "origin-1" },
    ]);
    expect(stored.get(arns.foreign!)?.managed).toBe(false);
    expect(stored.get(arns.unused!)?.usage).toEqual([]);
    // Drift in the inventory: on each certificate's own record, and the whole list in the drift state.
    expect(stored.get(arns.retired!)?.drift).toEqual([
      {
        kind: "retired-certificate",
        distributionId: distributions.retired,
        originId: "origin-1",
        detail: expect.stringContaining("already replaced"),
      },
    ]);
    expect(stored.get(arns.foreign!)?.drift).toEqual([
      expect.objectContaining({ kind: "unmanaged-certificate", distributionId: distributions.foreign }),
    ]);
    expect(stored.get(arns.due!)?.drift).toBeUndefined();
    const driftState = await inventory.driftState();
    expect(driftState.findings).toEqual(report.drift);
    expect(driftState.notified).toHaveLength(2);

    const emf = JSON.parse(metrics.at(-1)!);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe("mtls-rotator");
    expect(emf).toMatchObject({
      ManagedCertificates: 4,
      DueCertificates: 1,
      RotationsStarted: 1,
      ExpiryAlerts: 2,
    });
  });

  it("a second scan the same day converges on the running rotation, alerts nothing and writes nothing", async () => {
    const report = await scanFleet(deps(NOW + 60_000));
    expect(report.rotations).toEqual([expect.objectContaining({ certificateArn: arns.due, started: false })]);
    expect(report.alerts).toEqual([]);
    expect(report.inventoryWrites).toBe(0);
    // Drift is still reported, but notified only once.
    expect(report.drift).toHaveLength(2);
    expect(report.newDrift).toBe(0);
  });

  it("alerts once per threshold as days pass, the most urgent when several are crossed at once", async () => {
    const week = await scanFleet(deps(NOW + 7 * DAY)); // 13 days left: crosses 14
    expect(week.alerts.filter((a) => a.certificateArn === arns.due)).toEqual([
      { certificateArn: arns.due, thresholdDays: 14, daysLeft: 13 },
    ]);
    expect((await scanFleet(deps(NOW + 8 * DAY))).alerts).toEqual([]);
    const late = await scanFleet(deps(NOW + 19 * DAY + 3_600_000)); // missed a week: 7 and 1 crossed together
    expect(late.alerts.filter((a) => a.certificateArn === arns.due)).toEqual([
      { certificateArn: arns.due, thresholdDays: 1, daysLeft: 0 },
    ]);
    expect((await inventory.loadAll()).get(arns.due!)?.alerted).toEqual([30, 14, 7, 1]);
    const critical = standins.sns.messages(topicArn).at(-1)!;
    expect(critical.attributes).toMatchObject({ event: "certificate-expiring", severity: "critical" });
  });

  it("a single-certificate decision keeps the drift the full scans found", async () => {
    await scanFleet(deps(NOW + 19 * DAY + 3_700_000), { onlyArn: arns.retired!, actor: "acm-event" });
    const stored = await inventory.loadAll();
    expect(stored.get(arns.retired!)?.drift).toEqual([
      expect.objectContaining({ kind: "retired-certificate", distributionId: distributions.retired }),
    ]);
  });

  it("an ACM expiry event decides for that one certificate only", async () => {
    standins.server.calls.length = 0;
    const report = await scanFleet(deps(NOW + 19 * DAY + 7_200_000), {
      onlyArn: arns.unused!,
      actor: "acm-event",
    });
    expect(report.certificates).toBe(1);
    expect(report.rotations).toEqual([]); // due, but nothing presents it: nothing to rotate
    expect(report.drift).toEqual([]);
    expect(standins.server.count("acm", "SearchCertificates")).toBe(1);
  });

  it("drift that is put right leaves the certificate's record and the drift state", async () => {
    // The retired certificate's distribution is moved to the managed `fresh` certificate.
    const cloudfront = standins.clients().cloudfront;
    const id = distributions.retired!;
    const current = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    const config = withOriginCertificate(current.DistributionConfig!, "origin-1", arns.fresh!);
    await cloudfront.send(
      new UpdateDistributionCommand({ Id: id, IfMatch: current.ETag!, DistributionConfig: config }),
    );

    const report = await scanFleet(deps(NOW + 19 * DAY + 10_800_000));
    expect(report.drift.map((d) => d.kind)).toEqual(["unmanaged-certificate"]);
    const stored = await inventory.loadAll();
    expect(stored.get(arns.retired!)?.drift).toBeUndefined();
    expect(stored.get(arns.foreign!)?.drift).toHaveLength(1);
    expect((await inventory.driftState()).findings).toEqual(report.drift);
    // Nothing changed since: the next scan writes no record.
    expect((await scanFleet(deps(NOW + 19 * DAY + 10_900_000))).inventoryWrites).toBe(0);
  });

  it("a certificate deleted from ACM is retired in the inventory by the next full scan, not by a single one", async () => {
    await standins.clients().acm.send(new DeleteCertificateCommand({ CertificateArn: arns.unused! }));
    await scanFleet(deps(NOW + 19 * DAY + 11_000_000), { onlyArn: arns.fresh!, actor: "acm-event" });
    expect((await inventory.loadAll()).get(arns.unused!)?.retired).toBeUndefined();

    const report = await scanFleet(deps(NOW + 19 * DAY + 11_100_000));
    expect(report.inventoryWrites).toBe(1);
    const stored = await inventory.loadAll();
    expect(stored.get(arns.unused!)).toMatchObject({ retired: true, managed: true });
    // Retired for good: the next scan writes nothing, and nothing rotates or alerts for it.
    const next = await scanFleet(deps(NOW + 19 * DAY + 11_200_000));
    expect(next.inventoryWrites).toBe(0);
    expect(next.rotations.map((r) => r.certificateArn)).not.toContain(arns.unused);
  });

  it("a scan and an ACM expiry event deciding at the same moment send the expiry alert once", async () => {
    const arn = await importCertificate(managedCa, "racing", -60, 45);
    const at = NOW + 20 * DAY; // 25 days left: the 30-day threshold is crossed
    const alertsFor = () =>
      standins.sns
        .messages(topicArn)
        .filter((m) => m.message.includes(arn) && m.attributes.event === "certificate-expiring");
    const before = alertsFor().length;
    const [scan, event] = await Promise.all([
      scanFleet(deps(at)),
      scanFleet(deps(at), { onlyArn: arn, actor: "acm-event" }),
    ]);
    expect(alertsFor().length - before).toBe(1);
    // Exactly one of them reports having sent it; both record the threshold as alerted.
    const reported = [...scan.alerts, ...event.alerts].filter((a) => a.certificateArn === arn);
    expect(reported).toEqual([{ certificateArn: arn, thresholdDays: 30, daysLeft: 25 }]);
    expect((await inventory.loadAll()).get(arn)?.alerted).toEqual([30]);
    // And later scans do not send it again either.
    await scanFleet(deps(at + 60_000));
    expect(alertsFor().length - before).toBe(1);
  });
});
