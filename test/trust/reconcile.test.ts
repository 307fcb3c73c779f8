import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { type InventoryRecord, issuerKeyOfSubject } from "../../functions/core/tracking.ts";
import type { TrustBundle } from "../../functions/core/trust-bundle.ts";
import type { TrustTarget } from "../../functions/trust/publish-bundle.ts";
import { type RetirementClock, reconcileTrust } from "../../functions/trust/reconcile.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../standins/pki.ts";

const MINUTE = 60_000;
let root: CertificateAuthority;
let caA: CertificateAuthority;
let caB: CertificateAuthority;

beforeAll(async () => {
  root = await createRootCa({ name: "CN=Shared Root, O=Acme" });
  caA = await createSubordinateCa(root, { name: "CN=Client CA A, O=Acme" });
  caB = await createSubordinateCa(root, { name: "CN=Client CA B, O=Acme" });
});

/** An in-memory target that records what was published. */
function memoryTarget(): TrustTarget & { published: string[] } {
  const published: string[] = [];
  return {
    name: "memory",
    published,
    read: async () => published.at(-1),
    write: async (bundle: TrustBundle) => {
      if (published.at(-1) === bundle.pem) return { changed: false };
      published.push(bundle.pem);
      return { changed: true };
    },
  };
}

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
const fingerprints = (pem: string | undefined) => new Set(splitPem(pem ?? "").map(fp));

describe("trust reconciliation during a CA change", () => {
  const authorities = () => [
    { chainPem: caA.certificatePem + root.certificatePem, next: false },
    { chainPem: caB.certificatePem + root.certificatePem, next: true },
  ];

  it("keeps A while a managed certificate chains to it, and always keeps the next CA B", async () => {
    const target = memoryTarget();
    const result = await reconcileTrust({
      targets: [target],
      authorities: authorities(),
      inventory: [record(caA)],
      clock: memoryClock(),
      graceSeconds: 3600,
      now: new Date(),
    });
    expect(result.kept.sort()).toEqual(["CN=Client CA A, O=Acme", "CN=Client CA B, O=Acme"]);
    expect(fingerprints(target.published.at(-1))).toEqual(
      new Set([fp(caA.certificatePem), fp(caB.certificatePem), fp(root.certificatePem)]),
    );
  });

  it("an unused A stays for its grace period, then leaves; the shared root never does", async () => {
    const target = memoryTarget();
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
    expect(first.inGrace).toEqual(["CN=Client CA A, O=Acme"]);
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
    const target = memoryTarget();
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
    const target = memoryTarget();
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
    expect(later.inGrace).toEqual(["CN=Client CA A, O=Acme"]);
  });
});
