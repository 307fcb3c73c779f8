/**
 * ACM's "Approaching Expiration" event handler over in-memory dependencies: events of another shape are
 * ignored before anything is built or read; a valid one scans that certificate alone.
 */
import { describe, expect, it, vi } from "vitest";
import type { InventoryRecord, ListedCertificate } from "../../functions/core/tracking.ts";
import {
  ACM_EXPIRY_DETAIL_TYPE,
  acmExpiryHandler,
  parseAcmExpiryEvent,
} from "../../functions/handlers/acm-expiry-event.ts";
import { ScanIncompleteError } from "../../functions/handlers/scan.ts";
import type { ScanDeps } from "../../functions/tracking/scan-fleet.ts";
import { memoryAlertClaims } from "../support/alert-claims.ts";
import { managedAuthorityFixture } from "../support/managed-authority.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-03-01T00:00:00Z");
const MANAGED = await managedAuthorityFixture();
const MANAGED_CA = MANAGED.authority.issuer;
const ID = "0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";
const ARN = `arn:aws:acm:us-east-1:123456789012:certificate/${ID}`;
const OTHER_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-4333-8444-555555555555";

function acmEvent(resources: unknown[] = [ARN], overrides: Record<string, unknown> = {}) {
  return {
    version: "0",
    id: "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
    "detail-type": ACM_EXPIRY_DETAIL_TYPE,
    source: "aws.acm",
    account: "123456789012",
    time: "2026-03-01T06:00:00Z",
    region: "us-east-1",
    resources,
    detail: { DaysToExpiry: 20, CommonName: "client.internal" },
    ...overrides,
  };
}

/** 90-day certificates with 20 days left (due); `issuer` decides whether they are managed. */
function certificate(arn: string, issuer = MANAGED_CA): ListedCertificate {
  return {
    arn,
    serial: "0a1b2c3d",
    subject: "CN=client.internal, O=Acme",
    issuer,
    keyAlgorithm: "EC_prime256v1",
    notBefore: new Date(NOW.getTime() - 70 * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + 20 * DAY).toISOString(),
    imported: true,
    clientAuth: true,
  };
}

/** The account holds `fleet`; listing honours onlyArn as SearchCertificates' ARN filter does. */
function fakeDeps(fleet: ListedCertificate[], options: { failRotation?: boolean } = {}) {
  const listed: Array<string | undefined> = [];
  const rotations: Array<{ certificateArn: string; actor: string }> = [];
  const records = new Map<string, InventoryRecord>();
  const driftState = vi.fn(async () => ({ findings: [], notified: [] }));
  const deps: ScanDeps = {
    listCertificates: async (o) => {
      listed.push(o?.onlyArn);
      return fleet.filter((c) => o?.onlyArn === undefined || c.arn === o.onlyArn);
    },
    // Only certificates naming the managed CA are read: each is one its key signed.
    readCertificate: async () => MANAGED.leafPem,
    indexUsage: async () =>
      new Map(fleet.map((c) => [c.arn, [{ distributionId: "E2QWRUHAPOMQZL", originIds: ["o1"] }]])),
    inventory: {
      loadAll: async () => new Map(records),
      putMany: async (changed) => {
        for (const record of changed) records.set(record.arn, record);
      },
      driftState,
      saveDriftState: async () => {},
      alertClaims: memoryAlertClaims(),
    },
    startRotation: async (request) => {
      if (options.failRotation) throw new Error("ServiceException: Lambda was unable to start");
      rotations.push({ certificateArn: request.certificateArn, actor: request.actor });
      return { rotationId: "rot-1", started: true };
    },
    notify: async () => undefined,
    policy: { managedAuthorities: [MANAGED.authority] },
    now: () => NOW,
  };
  return { deps, listed, rotations, records, driftState };
}

describe("parseAcmExpiryEvent", () => {
  it.each([
    ["not an object", "event", "not an object"],
    ["a list", [ARN], "not an object"],
    ["another source", acmEvent([ARN], { source: "aws.health" }), 'source is "aws.health"'],
    ["another detail-type", acmEvent([ARN], { "detail-type": "ACM Certificate Expired" }), "detail-type"],
    ["no resources", acmEvent([ARN], { resources: undefined }), "resources[0]"],
    ["empty resources", acmEvent([]), "resources[0]"],
    ["a Private CA ARN", acmEvent([ARN.replace(":acm:", ":acm-pca:")]), "resources[0]"],
    ["a truncated ARN", acmEvent([ARN.slice(0, -4)]), "resources[0]"],
    ["a number", acmEvent([42]), "resources[0]"],
    ["a certificate in another region", acmEvent([ARN.replace("us-east-1", "eu-west-1")]), "eu-west-1"],
  ])("ignores %s", (_name, event, reason) => {
    const parsed = parseAcmExpiryEvent(event);
    expect(parsed).toEqual({ ignored: expect.stringContaining(reason) });
  });

  it("takes the certificate from resources[0]", () => {
    expect(parseAcmExpiryEvent(acmEvent())).toEqual({ certificateArn: ARN });
  });
});

describe("the ACM expiry event handler", () => {
  it("logs and returns without building anything for an event of another shape", async () => {
    const deps = vi.fn(async (): Promise<ScanDeps> => {
      throw new Error("must not be built");
    });
    const lines: string[] = [];
    const handler = acmExpiryHandler({
      deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    });

    expect(await handler(acmEvent(["arn:aws:s3:::bucket"]))).toBeUndefined();
    expect(await handler({ hello: "world" })).toBeUndefined();

    expect(deps).not.toHaveBeenCalled();
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { level: "WARN", message: "acm expiry event ignored", reason: expect.stringContaining("resources[0]") },
      { level: "WARN", message: "acm expiry event ignored", reason: expect.stringContaining("source") },
    ]);
  });

  it("scans the named certificate alone and starts its rotation as the ACM expiry event", async () => {
    const { deps, listed, rotations, driftState } = fakeDeps([certificate(ARN), certificate(OTHER_ARN)]);
    const lines: string[] = [];

    const report = await acmExpiryHandler({
      deps: async () => deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    })(acmEvent());

    expect(listed).toEqual([ARN]);
    expect(report).toMatchObject({ certificates: 1, managed: 1, due: 1, errors: [] });
    expect(rotations).toEqual([{ certificateArn: ARN, actor: "acm-expiry-event" }]);
    // Drift is the scheduled scan's business: one certificate says nothing about the fleet.
    expect(driftState).not.toHaveBeenCalled();
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "scan finished",
        trigger: "acm-expiry-event",
        certificateArn: ARN,
        managed: 1,
        rotationsStarted: 1,
        errors: 0,
      }),
    ]);
  });

  it("ignores a certificate the service does not manage, with a log line", async () => {
    const { deps, rotations } = fakeDeps([certificate(ARN, "CN=Someone Else CA, O=Other")]);
    const lines: string[] = [];

    const report = await acmExpiryHandler({
      deps: async () => deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    })(acmEvent());

    expect(report).toMatchObject({ certificates: 1, managed: 0, due: 0, rotations: [], alerts: [] });
    expect(rotations).toEqual([]);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "INFO",
      message: "acm expiry event for an unmanaged certificate ignored",
      certificateArn: ARN,
      found: true,
    });
  });

  it("says so when the certificate is not an imported client certificate at all", async () => {
    const { deps } = fakeDeps([]);
    const lines: string[] = [];
    const report = await acmExpiryHandler({
      deps: async () => deps,
      log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
    })(acmEvent());
    expect(report).toMatchObject({ certificates: 0, managed: 0 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ certificateArn: ARN, found: false });
  });

  it("throws after the summary when the certificate could not be handled", async () => {
    const { deps } = fakeDeps([certificate(ARN)], { failRotation: true });
    const lines: string[] = [];
    await expect(
      acmExpiryHandler({
        deps: async () => deps,
        log: (level, message, data) => lines.push(JSON.stringify({ level, message, ...data })),
      })(acmEvent()),
    ).rejects.toBeInstanceOf(ScanIncompleteError);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: "ERROR", certificateArn: ARN, errors: 1 });
  });
});
