/**
 * Issue 13: the full scan tracks the CA certificates the service relies on — each tracked Private CA's own
 * certificate and the chain above it — for their own expiry. Real CA chains served by the Private CA stand-in
 * (GetCertificateAuthorityCertificate through the real adapter), the real inventory on dynalite, SNS through
 * the real notifier; leaves in the ACM stand-in beside them, to show the scan of the fleet goes on as before.
 */
import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { Notifier } from "../../functions/adapters/notifier.ts";
import { PrivateCaAdapter } from "../../functions/adapters/private-ca.ts";
import { listCertificates } from "../../functions/api/certificates.ts";
import { fingerprintOf } from "../../functions/core/pem.ts";
import { managedAuthorityOf } from "../../functions/core/tracking.ts";
import { type ScanDeps, scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { finishScan, ScanIncompleteError } from "../../functions/tracking/scan-outcome.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
} from "../../standins/pki.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";

const DAY = 86_400_000;
// Whole seconds: X.509 validity has second precision.
const NOW = Math.floor(Date.now() / 1000) * 1000;

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let topicArn: string;
let table = 0;
/** The root expires in 40 days, before CA A (700 days) it signed; CA B expires in 20. */
let root: CertificateAuthority;
let caA: CertificateAuthority;
let caB: CertificateAuthority;
let arnA: string;
let arnB: string;
/** A managed leaf from CA A, presented by a distribution. */
let leafArn: string;

const fingerprint = (ca: CertificateAuthority) => fingerprintOf(new X509Certificate(ca.certificatePem));

beforeAll(async () => {
  standins = await startStandins({ acmImportsPerSecond: 10_000 });
  topicArn = standins.sns.createTopic("mtls-rotator");
  dynamo = await startDynamoDb();
  root = await createRootCa({ name: "CN=Acme Root CA, O=Acme", notAfter: new Date(NOW + 40 * DAY) });
  caA = await createSubordinateCa(root, {
    name: "CN=Acme Client CA A, O=Acme",
    notAfter: new Date(NOW + 700 * DAY),
  });
  caB = await createSubordinateCa(root, {
    name: "CN=Acme Client CA B, O=Acme",
    notAfter: new Date(NOW + 20 * DAY),
  });
  arnA = standins.privateCa.addAuthority(caA);
  arnB = standins.privateCa.addAuthority(caB, "eu-west-1");

  const credential = await issueClientCredential(caA, {
    subject: "CN=edge-to-origin, O=Acme",
    notBefore: new Date(NOW - 10 * DAY),
    notAfter: new Date(NOW + 80 * DAY),
  });
  leafArn = await new AcmAdapter(standins.clients().acm).importCertificate({
    ...credential,
    lineage: { rotationId: "fixture", credential: "edge" },
  });
  await standins.clients().cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: buildDistributionConfig({ origins: 1, mtlsArns: [leafArn] }),
    }),
  );
});

afterAll(async () => {
  await standins?.close();
  await dynamo?.close();
});

/** A scan over the stand-ins and a fresh table, tracking `tracked`; `failNotify` refuses those events once each. */
async function scanner(tracked: () => string[], options: { failNotify?: string[] } = {}) {
  const client = dynamoDbClient(dynamo.endpoint);
  const tableName = `ca-expiry-${table++}`;
  await createRotationTable(client, tableName);
  const inventory = new InventoryStore(client, { tableName });
  const clients = standins.clients();
  const notifier = new Notifier(clients.sns, topicArn);
  const refuse = new Set(options.failNotify);
  const metrics: Array<Record<string, number>> = [];
  const deps = (at: number): ScanDeps => ({
    listCertificates: (o) => new AcmAdapter(clients.acm).searchClientCertificates(o),
    readCertificate: async (arn) => (await new AcmAdapter(clients.acm).getCertificate(arn)).certificatePem,
    indexUsage: () => new CloudFrontAdapter(clients.cloudfront).indexOriginCertificates(),
    inventory,
    startRotation: async () => ({ rotationId: "rot", started: false }),
    notify: async (n) => {
      if (refuse.delete(n.event)) throw new Error("InternalError: SNS answered 500");
      return notifier.publish(n);
    },
    authorityCertificates: {
      trackedAuthorityArns: tracked(),
      // As the wiring reads them: the Private CA client of the CA's own region.
      readChain: (arn) =>
        new PrivateCaAdapter(standins.clients({ region: arn.split(":")[3] }).privateCa).authorityChainPem(
          arn,
        ),
      records: inventory.authorityCertificates,
    },
    emitMetrics: (m) => metrics.push(m),
    policy: {
      managedAuthorities: [caA, caB].map((ca) => managedAuthorityOf(new X509Certificate(ca.certificatePem))),
    },
    now: () => new Date(at),
  });
  return { deps, inventory, metrics };
}

/** The ca-expiring messages published since `from`, with their parsed bodies. */
function caAlerts(from: number) {
  return standins.sns
    .messages(topicArn)
    .slice(from)
    .filter((m) => m.attributes.event === "ca-expiring")
    .map((m) => ({ ...m, body: JSON.parse(m.message) as Record<string, unknown> }));
}

describe("the full scan tracks the CA certificates the service relies on", () => {
  it("reads each CA once, tracks the root they share once naming both, alerts, and keeps CA records apart from the leaves", async () => {
    const { deps, inventory, metrics } = await scanner(() => [arnA, arnB, arnA]);
    const sent = standins.sns.messages(topicArn).length;
    standins.server.calls.length = 0;

    const report = await scanFleet(deps(NOW));

    expect(report.errors).toEqual([]);
    // One GetCertificateAuthorityCertificate per CA, however often it is listed.
    expect(standins.server.count("acm-pca", "GetCertificateAuthorityCertificate")).toBe(2);
    // The leaves are scanned as before.
    expect(report.managed).toBe(1);
    expect(report.caCertificates).toEqual({
      tracked: 3,
      alerts: [
        {
          fingerprint: fingerprint(caB),
          subject: "CN=Acme Client CA B, O=Acme",
          thresholdDays: 30,
          daysLeft: 20,
        },
      ],
      unreadable: [],
      inventoryWrites: 3,
    });

    // The alert: which CA certificate, when, who relies on it, root or intermediate, and the advice.
    const [alert, ...more] = caAlerts(sent);
    expect(more).toEqual([]);
    expect(alert?.attributes).toEqual({ event: "ca-expiring", severity: "warning", certificateArn: arnB });
    expect(alert?.subject).toBe(
      "[mtls-rotator] intermediate CA certificate expires in 20 days: CN=Acme Client CA B, O=Acme",
    );
    expect(alert?.body).toMatchObject({
      caCertificate: {
        subject: "CN=Acme Client CA B, O=Acme",
        role: "intermediate",
        fingerprint: fingerprint(caB),
        notAfter: new Date(NOW + 20 * DAY).toISOString(),
      },
      daysLeft: 20,
      thresholdDays: 30,
      authorityArns: [arnB],
      advice: expect.stringMatching(/^plan a CA migration/),
    });
    expect(alert?.message).not.toContain("BEGIN CERTIFICATE");

    // The records: one per CA certificate by fingerprint, the shared root naming both CAs.
    const records = await inventory.authorityCertificates.loadAll();
    expect([...records.keys()].sort()).toEqual(
      [fingerprint(root), fingerprint(caA), fingerprint(caB)].sort(),
    );
    expect(records.get(fingerprint(root))).toMatchObject({
      role: "root",
      authorityArns: [arnA, arnB].sort(),
      alerted: [],
    });
    expect(records.get(fingerprint(caB))?.alerted).toEqual([30]);
    // ... and never among the leaves: the leaf listing and GET /certificates show the one leaf only.
    expect([...(await inventory.loadAll()).keys()]).toEqual([leafArn]);
    const listed = await listCertificates({ inventory, now: () => new Date(NOW) }, {});
    expect(listed.certificates.map((c) => c.arn)).toEqual([leafArn]);

    // Metrics: the CA certificates' beside the leaves'.
    expect(metrics.at(-1)).toMatchObject({
      ManagedCertificates: 1,
      MinDaysToExpiry: 80,
      CaCertificates: 3,
      CaExpiryAlerts: 1,
      CaCertificatesUnreadable: 0,
      MinCaDaysToExpiry: 20,
    });

    // The same day again: nothing alerted, nothing written, the CAs read again (once per scan).
    standins.server.calls.length = 0;
    const again = await scanFleet(deps(NOW + 60_000));
    expect(again.caCertificates).toMatchObject({ tracked: 3, alerts: [], inventoryWrites: 0 });
    expect(standins.server.count("acm-pca", "GetCertificateAuthorityCertificate")).toBe(2);
  });

  it("alerts each threshold once as days pass; a scan that missed days alerts only the most urgent; a root expiring before its intermediate is alerted as the root", async () => {
    const { deps, inventory, metrics } = await scanner(() => [arnA, arnB]);
    await scanFleet(deps(NOW)); // B: 30
    const sent = standins.sns.messages(topicArn).length;

    const week = await scanFleet(deps(NOW + 7 * DAY)); // B 13 days left, the root 33
    expect(week.caCertificates?.alerts.map((a) => [a.subject, a.thresholdDays, a.daysLeft])).toEqual([
      ["CN=Acme Client CA B, O=Acme", 14, 13],
    ]);
    expect((await scanFleet(deps(NOW + 8 * DAY))).caCertificates?.alerts).toEqual([]);

    // Missed eleven days: B crossed 7 and 1 (only 1 is alerted), the root crossed 30.
    const late = await scanFleet(deps(NOW + 19 * DAY + 3_600_000));
    expect(late.caCertificates?.alerts.map((a) => [a.subject, a.thresholdDays, a.daysLeft])).toEqual([
      ["CN=Acme Client CA B, O=Acme", 1, 0],
      ["CN=Acme Root CA, O=Acme", 30, 20],
    ]);
    const records = await inventory.authorityCertificates.loadAll();
    expect(records.get(fingerprint(caB))?.alerted).toEqual([30, 14, 7, 1]);
    expect(records.get(fingerprint(root))?.alerted).toEqual([30]);
    expect(records.get(fingerprint(caA))?.alerted).toEqual([]);
    expect(metrics.at(-1)?.MinCaDaysToExpiry).toBe(0);

    const alerts = caAlerts(sent);
    expect(
      alerts.map((a) => [a.attributes.severity, (a.body.caCertificate as { role: string }).role]),
    ).toEqual([
      ["warning", "intermediate"],
      ["critical", "intermediate"],
      ["warning", "root"],
    ]);
    expect(alerts.at(-1)?.body.authorityArns).toEqual([arnA, arnB].sort());
    // Nothing more for the rest of the day.
    expect((await scanFleet(deps(NOW + 19 * DAY + 7_200_000))).caCertificates?.alerts).toEqual([]);
  });

  it("a CA that cannot be read (AccessDenied, not found) is reported and failed, and stops nothing: the leaves and the other CAs are tracked", async () => {
    const denied = standins.privateCa.addAuthority(
      await createSubordinateCa(root, { name: "CN=Acme Shared-away CA, O=Acme" }),
    );
    standins.privateCa.denyAccess(denied);
    // A CA of a well-formed ARN that does not exist (deleted, or never in this account).
    const missing =
      "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-0000000000ff";
    const { deps, inventory, metrics } = await scanner(() => [denied, arnA, missing]);

    const report = await scanFleet(deps(NOW));

    expect(report.caCertificates?.unreadable).toEqual(
      [
        { authorityArn: denied, error: expect.stringMatching(/^AccessDeniedException: /) },
        { authorityArn: missing, error: expect.stringMatching(/^ResourceNotFoundException: /) },
      ].sort((a, b) => (a.authorityArn < b.authorityArn ? -1 : 1)),
    );
    expect(report.errors.map((e) => e.certificateArn).sort()).toEqual([denied, missing].sort());
    expect(report.errors[0]?.error).toMatch(/^could not read the CA certificate to track its expiry: /);
    // CA A and its root are tracked; the leaves were scanned.
    expect(report.caCertificates?.tracked).toBe(2);
    expect([...(await inventory.authorityCertificates.loadAll()).keys()].sort()).toEqual(
      [fingerprint(root), fingerprint(caA)].sort(),
    );
    expect(report.managed).toBe(1);
    expect(metrics.at(-1)).toMatchObject({ CaCertificates: 2, CaCertificatesUnreadable: 2 });

    // The invocation ends failed (so it is seen: Errors metric, dead-letter queue) only after all of that,
    // its summary counting the unreadable CAs.
    const lines: Array<Record<string, unknown>> = [];
    expect(() =>
      finishScan(report, { trigger: "scheduled-scan" }, (_level, _message, data) => lines.push(data ?? {})),
    ).toThrow(ScanIncompleteError);
    expect(lines).toEqual([expect.objectContaining({ caCertificates: 2, caUnreadable: 2, errors: 2 })]);
  });

  it("the CA records' store failing is an error of the scan, not its end: the leaves, reconciliation and metrics go on", async () => {
    const { deps, inventory, metrics } = await scanner(() => [arnA]);
    const wired = deps(NOW);
    let reconciled = 0;
    const report = await scanFleet({
      ...wired,
      authorityCertificates: {
        ...wired.authorityCertificates!,
        records: {
          loadAll: async () => {
            throw new Error("ProvisionedThroughputExceededException: the CA records' partition is busy");
          },
          putMany: async () => {},
        },
      },
      reconcileTrust: async () => {
        reconciled += 1;
        return { bundleSha256: "00", retiredFingerprints: [] };
      },
    });
    expect(report.errors).toEqual([
      { certificateArn: "ca-certificates", error: expect.stringContaining("ProvisionedThroughputExceeded") },
    ]);
    expect(report.caCertificates).toBeUndefined();
    expect(reconciled).toBe(1);
    expect([...(await inventory.loadAll()).keys()]).toEqual([leafArn]);
    expect(metrics.at(-1)).toMatchObject({ ManagedCertificates: 1 });
    expect(metrics.at(-1)).not.toHaveProperty("MinCaDaysToExpiry");
  });

  it("an alert SNS did not take is not recorded as sent: the next scan sends it", async () => {
    const { deps, inventory } = await scanner(() => [arnB], { failNotify: ["ca-expiring"] });
    const sent = standins.sns.messages(topicArn).length;

    const failed = await scanFleet(deps(NOW));
    expect(failed.errors).toEqual([
      { certificateArn: arnB, error: expect.stringContaining("InternalError: SNS answered 500") },
    ]);
    expect(failed.caCertificates?.alerts).toEqual([]);
    // B's record is not written (its root's is): its alert is not remembered as sent.
    expect((await inventory.authorityCertificates.loadAll()).has(fingerprint(caB))).toBe(false);

    // The claim of the failed send is taken over once its lease ran out (inventory-store.ts), as a leaf's.
    const retried = await scanFleet(deps(NOW + 16 * 60_000));
    expect(retried.errors).toEqual([]);
    expect(retried.caCertificates?.alerts.map((a) => a.thresholdDays)).toEqual([30]);
    expect(caAlerts(sent)).toHaveLength(1);
    expect((await inventory.authorityCertificates.loadAll()).get(fingerprint(caB))?.alerted).toEqual([30]);
  });

  it("a single certificate's decision (an ACM expiry event) reads no CA and writes no CA record", async () => {
    const { deps, inventory } = await scanner(() => [arnA, arnB]);
    standins.server.calls.length = 0;
    const report = await scanFleet(deps(NOW), { onlyArn: leafArn, actor: "acm-event" });
    expect(report.caCertificates).toBeUndefined();
    expect(standins.server.count("acm-pca")).toBe(0);
    expect((await inventory.authorityCertificates.loadAll()).size).toBe(0);
  });
});
