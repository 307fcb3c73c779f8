/**
 * The scheduled scan's Lambda entry over in-memory dependencies: one summary line of counts, the report as
 * the answer, and a throw only after the whole fleet was scanned when some certificates failed.
 */
import { describe, expect, it, vi } from "vitest";
import type { InventoryRecord, ListedCertificate } from "../../functions/core/tracking.ts";
import { ScanIncompleteError, scanHandler, scanSummary } from "../../functions/handlers/scan.ts";
import type { ScanDeps } from "../../functions/tracking/scan-fleet.ts";
import { memoryAlertClaims } from "../support/alert-claims.ts";
import { managedAuthorityFixture } from "../support/managed-authority.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-03-01T00:00:00Z");
const MANAGED = await managedAuthorityFixture();
const MANAGED_CA = MANAGED.authority.issuer;

const arn = (n: number) =>
  `arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-00000000000${n}`;

/** A 90-day client certificate with `daysLeft` to go (due at 30 days left, the default 1/3 of its life). */
function certificate(n: number, daysLeft: number, issuer = MANAGED_CA): ListedCertificate {
  return {
    arn: arn(n),
    serial: `0a1b2c${n}`,
    subject: `CN=client-${n}.internal, O=Acme`,
    issuer,
    keyAlgorithm: "RSA_2048",
    notBefore: new Date(NOW.getTime() - (90 - daysLeft) * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    imported: true,
    clientAuth: true,
  };
}

/** Every certificate is presented by one distribution; rotations of `failing` throw. */
function fakeDeps(certificates: ListedCertificate[], failing: string[] = []) {
  const records = new Map<string, InventoryRecord>();
  const rotations: Array<{ certificateArn: string; actor: string }> = [];
  const deps: ScanDeps = {
    listCertificates: async () => certificates,
    // Only certificates naming the managed CA are read: each is one its key signed.
    readCertificate: async () => MANAGED.leafPem,
    indexUsage: async () =>
      new Map(
        certificates.map((c, i) => [c.arn, [{ distributionId: `E2QWRUHAPOMQZ${i}`, originIds: ["o1"] }]]),
      ),
    inventory: {
      loadAll: async () => new Map(records),
      putMany: async (changed) => {
        for (const record of changed) records.set(record.arn, record);
      },
      driftState: async () => ({ findings: [], notified: [] }),
      saveDriftState: async () => {},
      alertClaims: memoryAlertClaims(),
    },
    startRotation: async (request) => {
      if (failing.includes(request.certificateArn))
        throw new Error("TooManyRequestsException: Rate exceeded");
      rotations.push({ certificateArn: request.certificateArn, actor: request.actor });
      return { rotationId: `rot-${rotations.length}`, started: true };
    },
    notify: async () => undefined,
    policy: { managedAuthorities: [MANAGED.authority] },
    now: () => NOW,
  };
  return { deps, records, rotations };
}

describe("the scheduled scan handler", () => {
  it("scans the fleet, logs one summary line of counts only, and answers the report", async () => {
    const fleet = [certificate(1, 20), certificate(2, 80), certificate(3, 50, "CN=Someone Else CA, O=Other")];
    const { deps, rotations } = fakeDeps(fleet);
    const lines: string[] = [];

    const report = await scanHandler({
      deps: async () => deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    })({});

    expect(report).toMatchObject({ certificates: 3, managed: 2, due: 1, errors: [] });
    expect(rotations).toEqual([{ certificateArn: arn(1), actor: "scheduled-scan" }]);
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!);
    expect(summary).toEqual({
      level: "INFO",
      message: "scan finished",
      trigger: "scheduled-scan",
      certificates: 3,
      managed: 2,
      due: 1,
      rotationsStarted: 1,
      rotationsConverged: 0,
      alerts: 1,
      drift: 1, // the foreign certificate presented by a distribution
      newDrift: 1,
      inventoryWrites: 3,
      errors: 0,
    });
    // Counts only: nothing that names or describes a certificate.
    for (const [key, value] of Object.entries(scanSummary(report))) expect(typeof value, key).toBe("number");
    for (const secretish of ["arn:", "CN=", "0a1b2c", "client-1", "E2QWRUHAPOMQZ"])
      expect(lines[0]).not.toContain(secretish);
  });

  it("finishes the whole fleet before it throws for the certificates that failed", async () => {
    const fleet = [certificate(1, 20), certificate(2, 10), certificate(3, 5)];
    const { deps, records, rotations } = fakeDeps(fleet, [arn(2)]);
    const lines: string[] = [];

    const failure = await scanHandler({
      deps: async () => deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    })({}).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(ScanIncompleteError);
    const error = failure as ScanIncompleteError;
    expect(error.message).toContain(arn(2));
    expect(error.message).toContain("1 failure(s)");
    expect(error.report.errors).toEqual([
      { certificateArn: arn(2), error: "TooManyRequestsException: Rate exceeded" },
    ]);
    // The certificates after the failing one were still handled.
    expect(rotations.map((r) => r.certificateArn)).toEqual([arn(1), arn(3)]);
    expect([...records.keys()].sort()).toEqual([arn(1), arn(3)]);
    // The summary went out before the throw.
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "ERROR", message: "scan finished with failures", due: 3, errors: 1 }),
    ]);
  });

  it("lets a failure before the fleet was read through, without a summary", async () => {
    const { deps } = fakeDeps([]);
    deps.listCertificates = vi.fn(async () => {
      throw new Error("AccessDeniedException: acm:SearchCertificates");
    });
    const lines: string[] = [];
    await expect(
      scanHandler({
        deps: async () => deps,
        log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
      })({}),
    ).rejects.toThrow("AccessDeniedException");
    expect(lines).toEqual([]);
  });
});
