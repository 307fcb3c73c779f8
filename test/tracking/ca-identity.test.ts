/**
 * Issue 11, defect 2: CAs are known by their keys in the scan, the inventory and trust reconciliation.
 * Real certificates in the ACM stand-in, the real scan and inventory (dynalite), reconciliation in process.
 * A CA re-keyed under the same name (the answer to a compromised CA key) must leave the bundle once nothing
 * its old key signed is in service; a certificate that merely names a configured CA is managed by no one.
 */
import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { managedAuthorityOf } from "../../functions/core/tracking.ts";
import { type ScanDeps, scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { reconcileTrust } from "../../functions/trust/reconcile.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { type CertificateAuthority, createRootCa, issueClientCredential } from "../../standins/pki.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";
import { memoryTrustTarget } from "../support/memory-trust-target.ts";

const DAY = 86_400_000;
const NAME = "CN=Acme Origin Client CA, O=Acme";

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let table = 0;

beforeAll(async () => {
  standins = await startStandins({ acmImportsPerSecond: 10_000 });
  dynamo = await startDynamoDb();
});

afterAll(async () => {
  await standins?.close();
  await dynamo?.close();
});

async function presented(ca: CertificateAuthority, name: string, daysLeft = 80): Promise<string> {
  const credential = await issueClientCredential(ca, {
    subject: `CN=${name}, O=Acme`,
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() + daysLeft * DAY),
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

/** A scan over the stand-ins, a fresh table, and reconciliation against `configured` (the first is next). */
async function scanner(
  configured: CertificateAuthority[],
  options: { failReads?: boolean; readBudget?: number } = {},
) {
  const client = dynamoDbClient(dynamo.endpoint);
  const tableName = `ca-identity-${table++}`;
  await createRotationTable(client, tableName);
  const inventory = new InventoryStore(client, { tableName });
  const target = memoryTrustTarget();
  const acm = new AcmAdapter(standins.clients().acm);
  const reads: string[] = [];
  const deps = (): ScanDeps => ({
    listCertificates: (o) => acm.searchClientCertificates(o),
    readCertificate: async (arn) => {
      reads.push(arn);
      if (options.failReads) throw new Error("ThrottlingException: Rate exceeded");
      return (await acm.getCertificate(arn)).certificatePem;
    },
    indexUsage: () => new CloudFrontAdapter(standins.clients().cloudfront).indexOriginCertificates(),
    inventory,
    ...(options.readBudget !== undefined ? { readBudget: options.readBudget } : {}),
    startRotation: async () => ({ rotationId: "rot", started: false }),
    notify: async () => undefined,
    reconcileTrust: (records) =>
      reconcileTrust({
        targets: [target],
        authorities: configured.map((ca, i) => ({ chainPem: ca.certificatePem, next: i === 0 })),
        inventory: records,
        clock: inventory.retirementClock,
        graceSeconds: 0,
        now: new Date(),
      }),
    policy: {
      managedAuthorities: configured.map((ca) => managedAuthorityOf(new X509Certificate(ca.certificatePem))),
    },
    now: () => new Date(),
  });
  const bundle = () =>
    new Set(splitPem(target.published.at(-1) ?? "").map((p) => fingerprintOf(new X509Certificate(p))));
  return { deps, inventory, reads, bundle };
}

const fp = (ca: CertificateAuthority) => fingerprintOf(new X509Certificate(ca.certificatePem));
const key = (ca: CertificateAuthority) => keyFingerprintOf(new X509Certificate(ca.certificatePem));

describe("CAs known by their keys", () => {
  it("a CA re-keyed under the same name: its old key leaves the bundle once nothing it signed is in service", async () => {
    const compromised = await createRootCa({ name: NAME });
    const rekeyed = await createRootCa({ name: NAME });
    const oldCert = await presented(compromised, "old-key");
    const newCert = await presented(rekeyed, "new-key");
    const { deps, inventory, bundle } = await scanner([rekeyed, compromised]);

    const during = await scanFleet(deps());
    expect(during.errors).toEqual([]);
    expect(bundle()).toEqual(new Set([fp(rekeyed), fp(compromised)]));
    const records = await inventory.loadAll();
    expect(records.get(oldCert)).toMatchObject({ managed: true, authorityKey: key(compromised) });
    expect(records.get(newCert)).toMatchObject({ managed: true, authorityKey: key(rekeyed) });

    // The last certificate of the old key is replaced: by name, the re-keyed CA's certificates would keep
    // the compromised key trusted for good.
    await inventory.markRetired(oldCert);
    const after = await scanFleet(deps());
    expect(after.errors).toEqual([]);
    expect(after.trust?.retiredFingerprints).toEqual([fp(compromised)]);
    expect(bundle()).toEqual(new Set([fp(rekeyed)]));
  });

  it("a certificate that only names a configured CA is managed by no one and keeps nothing trusted; verified serials are not read again", async () => {
    const configured = await createRootCa({ name: NAME });
    const impostor = await createRootCa({ name: NAME });
    const genuine = await presented(configured, "genuine");
    const forged = await presented(impostor, "forged");
    const { deps, inventory, reads, bundle } = await scanner([configured]);

    const first = await scanFleet(deps());
    expect(first.errors).toEqual([]);
    const records = await inventory.loadAll();
    expect(records.get(genuine)).toMatchObject({ managed: true, authorityKey: key(configured) });
    expect(records.get(forged)?.managed).toBe(false);
    expect(records.get(forged)?.authorityKey).toBeUndefined();
    expect(first.drift).toContainEqual(
      expect.objectContaining({ kind: "unmanaged-certificate", certificateArn: forged }),
    );
    expect(bundle()).toEqual(new Set([fp(configured)]));
    expect(reads.filter((a) => a === genuine || a === forged).sort()).toEqual([genuine, forged].sort());

    // Known serials are not read again: the verified one keeps its key; the forged one, managed by no one,
    // is read again (it names a configured CA, so each scan looks whether a configured key signed it).
    reads.length = 0;
    await scanFleet(deps());
    expect(reads).not.toContain(genuine);
    expect(reads).toContain(forged);
  });

  it("records from before CAs were known by key: the scan verifies them, and reconciles only when every one is known", async () => {
    const previous = await createRootCa({ name: "CN=Acme Origin Client CA 2024, O=Acme" });
    const next = await createRootCa({ name: NAME });
    const legacy = await presented(previous, "legacy");
    const { deps, inventory, bundle } = await scanner([next, previous]);
    await scanFleet(deps());
    // The stored record as an earlier version wrote it: managed, no authorityKey.
    const stored = (await inventory.loadAll()).get(legacy)!;
    const { authorityKey: _, ...old } = stored;
    await inventory.putMany([old]);

    // Reads failing: nothing is decided without the key, the old record stays, and no CA may leave.
    const failing = await scanner([next, previous], { failReads: true });
    await failing.inventory.putMany([old]);
    const deferred = await scanFleet(failing.deps());
    expect(deferred.errors).toContainEqual({
      certificateArn: legacy,
      error: expect.stringContaining("could not read the certificate to verify its CA"),
    });
    expect(deferred.trustDeferred).toMatch(/^\d+ certificate\(s\) naming a configured CA not yet verified/);
    expect(deferred.trust).toBeUndefined();
    expect(failing.bundle()).toEqual(new Set());
    expect((await failing.inventory.loadAll()).get(legacy)).toEqual(old);

    // Reads working: verified, recorded with its key, and its CA stays.
    const report = await scanFleet(deps());
    expect(report.errors).toEqual([]);
    expect((await inventory.loadAll()).get(legacy)).toMatchObject({ authorityKey: key(previous) });
    expect(report.trust?.retiredFingerprints).toEqual([]);
    expect(bundle()).toEqual(new Set([fp(next), fp(previous)]));
  });

  it("reads at most its budget of bodies, soonest expiry first; the rest wait for the next scan, undecided", async () => {
    const ca = await createRootCa({ name: "CN=Budget CA, O=Acme" });
    const later = await presented(ca, "later", 300);
    const sooner = await presented(ca, "sooner", 25);
    const { deps, inventory, reads, bundle } = await scanner([ca], { readBudget: 1 });

    const first = await scanFleet(deps());
    expect(reads).toEqual([sooner]);
    expect(first.verificationsDeferred).toBe(1);
    expect(first.errors).toEqual([]);
    expect(first.trust).toBeUndefined();
    expect(first.trustDeferred).toMatch(/^1 certificate/);
    const stored = await inventory.loadAll();
    expect(stored.get(sooner)).toMatchObject({ managed: true, authorityKey: key(ca) });
    expect(stored.has(later)).toBe(false);
    // Undecided is not unmanaged: no drift about the certificate left for the next scan.
    expect(first.drift.map((d) => d.certificateArn)).not.toContain(later);

    const second = await scanFleet(deps());
    expect(reads).toEqual([sooner, later]);
    expect(second.verificationsDeferred).toBe(0);
    expect((await inventory.loadAll()).get(later)).toMatchObject({ managed: true, authorityKey: key(ca) });
    expect(second.trust).toBeDefined();
    expect(bundle()).toEqual(new Set([fp(ca)]));
  });
});
