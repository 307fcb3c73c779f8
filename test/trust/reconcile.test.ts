import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { type InventoryRecord, issuerKeyOfSubject } from "../../functions/core/tracking.ts";
import { type RetirementClock, reconcileTrust } from "../../functions/trust/reconcile.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../standins/pki.ts";
import { memoryTrustTarget } from "../support/memory-trust-target.ts";

const MINUTE = 60_000;
let root: CertificateAuthority;
let caA: CertificateAuthority;
let caB: CertificateAuthority;

beforeAll(async () => {
  root = await createRootCa({ name: "CN=Shared Root, O=Acme" });
  caA = await createSubordinateCa(root, { name: "CN=Client CA A, O=Acme" });
  caB = await createSubordinateCa(root, { name: "CN=Client CA B, O=Acme" });
});

function memoryClock(): RetirementClock & { state: Record<string, string> } {
  const clock = {
    state: {} as Record<string, string>,
    load: async () => ({ ...clock.state }),
    save: async (next: Record<string, string>) => {
      clock.state = { ...next };
    },
  };
  return clock;
}

function record(ca: CertificateAuthority, overrides: Partial<InventoryRecord> = {}): InventoryRecord {
  return {
    arn: `arn:aws:acm:us-east-1:111122223333:certificate/${ca.name}`,
    serial: "01",
    subject: "CN=edge",
    issuer: issuerKeyOfSubject(new X509Certificate(ca.certificatePem).subject),
    authorityKey: key(ca),
    keyAlgorithm: "EC_prime256v1",
    notBefore: new Date(Date.now() - 86_400_000).toISOString(),
    notAfter: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    managed: true,
    usage: [],
    decision: { reason: "Fresh", message: "" },
    alerted: [],
    lastSeenAt: new Date().toISOString(),
    ...overrides,
  };
}

const fp = (pem: string) => fingerprintOf(new X509Certificate(pem));
/** A CA's identity: the SHA-256 of its public key. */
const key = (ca: CertificateAuthority) => keyFingerprintOf(new X509Certificate(ca.certificatePem));
const fingerprints = (pem: string | undefined) => new Set(splitPem(pem ?? "").map(fp));

describe("trust reconciliation during a CA change", () => {
  const authorities = () => [
    { chainPem: caA.certificatePem + root.certificatePem, next: false },
    { chainPem: caB.certificatePem + root.certificatePem, next: true },
  ];

  it("keeps A while a managed certificate chains to it, and always keeps the next CA B", async () => {
    const target = memoryTrustTarget();
    const result = await reconcileTrust({
      targets: [target],
      authorities: authorities(),
      inventory: [record(caA)],
      clock: memoryClock(),
      graceSeconds: 3600,
      now: new Date(),
    });
    expect(result.kept.sort()).toEqual([key(caA), key(caB)].sort());
    expect(fingerprints(target.published.at(-1))).toEqual(
      new Set([fp(caA.certificatePem), fp(caB.certificatePem), fp(root.certificatePem)]),
    );
  });

  it("an unused A stays for its grace period, then leaves; the shared root never does", async () => {
    const target = memoryTrustTarget();
    const clock = memoryClock();
    const t0 = Date.now();
    const run = (at: number, inventory: InventoryRecord[]) =>
      reconcileTrust({
        targets: [target],
        authorities: authorities(),
        inventory,
        clock,
        graceSeconds: 3600,
        now: new Date(at),
      });

    const first = await run(t0, [record(caB)]);
    expect(first.inGrace).toEqual([key(caA)]);
    expect(first.retiredFingerprints).toEqual([]);
    expect(fingerprints(target.published.at(-1)).has(fp(caA.certificatePem))).toBe(true);

    const stillInGrace = await run(t0 + 59 * MINUTE, [record(caB)]);
    expect(stillInGrace.retiredFingerprints).toEqual([]);

    const after = await run(t0 + 61 * MINUTE, [record(caB)]);
    expect(after.retiredFingerprints).toEqual([fp(caA.certificatePem)]);
    const bundle = fingerprints(target.published.at(-1));
    expect(bundle.has(fp(caA.certificatePem))).toBe(false);
    expect(bundle.has(fp(caB.certificatePem))).toBe(true);
    expect(bundle.has(fp(root.certificatePem))).toBe(true);
  });

  it("retired or expired certificates from A do not keep A", async () => {
    const target = memoryTrustTarget();
    const result = await reconcileTrust({
      targets: [target],
      authorities: authorities(),
      inventory: [
        record(caA, { retired: true }),
        record(caA, { arn: "arn:old", notAfter: new Date(Date.now() - 1000).toISOString() }),
        record(caA, { arn: "arn:unmanaged", managed: false }),
        record(caB),
      ],
      clock: memoryClock(),
      graceSeconds: 0,
      now: new Date(),
    });
    expect(result.retiredFingerprints).toEqual([fp(caA.certificatePem)]);
  });

  it("A used again after being unused starts a new grace period", async () => {
    const clock = memoryClock();
    const target = memoryTrustTarget();
    const t0 = Date.now();
    const run = (at: number, inventory: InventoryRecord[]) =>
      reconcileTrust({
        targets: [target],
        authorities: authorities(),
        inventory,
        clock,
        graceSeconds: 3600,
        now: new Date(at),
      });
    await run(t0, [record(caB)]);
    await run(t0 + 30 * MINUTE, [record(caA), record(caB)]); // a rollback put A back in service
    expect(clock.state[fp(caA.certificatePem)]).toBeUndefined();
    const later = await run(t0 + 70 * MINUTE, [record(caB)]);
    expect(later.retiredFingerprints).toEqual([]);
    expect(later.inGrace).toEqual([key(caA)]);
  });

  it("a CA is its key: A re-keyed under the same name leaves the bundle once nothing A's old key signed is in service", async () => {
    // The usual answer to a compromised CA key: a new CA, same subject, new key (A2), then every
    // certificate re-issued from it. By name, A2's certificates would keep A's old key trusted for good.
    const rekeyed = await createSubordinateCa(root, { name: "CN=Client CA A, O=Acme" });
    expect(new X509Certificate(rekeyed.certificatePem).subject).toBe(
      new X509Certificate(caA.certificatePem).subject,
    );
    const target = memoryTrustTarget();
    const run = (inventory: InventoryRecord[]) =>
      reconcileTrust({
        targets: [target],
        authorities: [
          { chainPem: caA.certificatePem + root.certificatePem, next: false },
          { chainPem: rekeyed.certificatePem + root.certificatePem, next: true },
        ],
        inventory,
        clock: memoryClock(),
        graceSeconds: 0,
        now: new Date(),
      });

    const during = await run([record(caA), record(rekeyed, { arn: "arn:new" })]);
    expect(during.retiredFingerprints).toEqual([]);
    expect(during.kept.sort()).toEqual([key(caA), key(rekeyed)].sort());

    const after = await run([record(rekeyed), record(caA, { arn: "arn:replaced", retired: true })]);
    expect(after.kept).toEqual([key(rekeyed)]);
    expect(after.retiredFingerprints).toEqual([fp(caA.certificatePem)]);
    const bundle = fingerprints(target.published.at(-1));
    expect(bundle.has(fp(caA.certificatePem))).toBe(false);
    expect(bundle.has(fp(rekeyed.certificatePem))).toBe(true);
    expect(bundle.has(fp(root.certificatePem))).toBe(true);
  });

  it("records from before CAs were known by key (no authorityKey) keep no CA by name", async () => {
    const result = await reconcileTrust({
      targets: [memoryTrustTarget()],
      authorities: authorities(),
      inventory: [record(caA, { authorityKey: undefined }), record(caB)],
      clock: memoryClock(),
      graceSeconds: 3600,
      now: new Date(),
    });
    // The scan never reconciles with such records in service (it defers: tracking/scan-fleet.ts); here,
    // reconciliation alone, A is merely unused and starts its grace period.
    expect(result.kept).toEqual([key(caB)]);
    expect(result.inGrace).toEqual([key(caA)]);
  });
});
