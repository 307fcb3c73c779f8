import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { type InventoryRecord, issuerKeyOfSubject } from "../../functions/core/tracking.ts";
import { type RetirementClock, reconcileTrust } from "../../functions/trust/reconcile.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
} from "../../standins/pki.ts";
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

describe("the probe certificates, republished with the reconciled bundle (acknowledgements)", () => {
  /** The probe certificates object, in memory, with the store's republish semantics. */
  function memoryProbes(initial?: { pem: string; bundleSha256: string }) {
    const probes = {
      object: initial,
      republishProbeCertificates: async (
        bundleSha256: string,
        choose: (previous: string) => { pem: string },
      ) => {
        if (!probes.object) return { changed: false };
        const { pem } = choose(probes.object.pem);
        const changed = pem !== probes.object.pem || bundleSha256 !== probes.object.bundleSha256;
        probes.object = { pem, bundleSha256 };
        return { changed };
      },
    };
    return probes;
  }

  it("publishes again, for the reconciled bundle, the probes that still verify against it; none of a retired CA", async () => {
    const leafA = await issueClientCredential(caA, { subject: "CN=edge-a, O=Acme" });
    const leafB = await issueClientCredential(caB, { subject: "CN=edge-b, O=Acme" });
    const probes = memoryProbes({
      pem: leafA.certificatePem + leafB.certificatePem,
      bundleSha256: "0".repeat(64),
    });
    const target = memoryTrustTarget();
    const clock = memoryClock();
    const authorities = [
      { chainPem: caA.certificatePem + root.certificatePem, next: false },
      { chainPem: caB.certificatePem + root.certificatePem, next: true },
    ];
    const t0 = Date.now();
    const run = (at: number) =>
      reconcileTrust({
        targets: [target],
        authorities,
        inventory: [record(caB)],
        clock,
        graceSeconds: 60,
        now: new Date(at),
        probes,
      });
    const first = await run(t0);
    expect(first.probesRepublished).toBe(true);
    expect(probes.object?.bundleSha256).toBe(first.bundleSha256);
    expect(fingerprints(probes.object?.pem)).toEqual(
      new Set([fp(leafA.certificatePem), fp(leafB.certificatePem)]),
    );

    // A leaves the bundle after its grace: its leaf no longer verifies, so it is no probe of the new bundle.
    const after = await run(t0 + 2 * MINUTE);
    expect(after.retiredFingerprints).toEqual([fp(caA.certificatePem)]);
    expect(after.bundleSha256).not.toBe(first.bundleSha256);
    expect(probes.object?.bundleSha256).toBe(after.bundleSha256);
    expect(fingerprints(probes.object?.pem)).toEqual(new Set([fp(leafB.certificatePem)]));

    // The same bundle again: nothing changes.
    expect((await run(t0 + 3 * MINUTE)).probesRepublished).toBe(false);
  });

  it("publishes none when no rotation has published probe certificates", async () => {
    const probes = memoryProbes();
    const result = await reconcileTrust({
      targets: [memoryTrustTarget()],
      authorities: [{ chainPem: caB.certificatePem + root.certificatePem, next: true }],
      inventory: [],
      clock: memoryClock(),
      graceSeconds: 60,
      now: new Date(),
      probes,
    });
    expect(result.probesRepublished).toBe(false);
    expect(probes.object).toBeUndefined();
  });
});
