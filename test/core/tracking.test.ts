import { describe, expect, it } from "vitest";
import {
  assessCertificate,
  type DriftFinding,
  findDrift,
  type InventoryRecord,
  type ListedCertificate,
  withDrift,
} from "../../functions/core/tracking.ts";

const NOW = new Date("2026-11-21T06:00:00Z");
const ARN = "arn:aws:acm:us-east-1:111122223333:certificate/11111111-2222-3333-4444-555555555555";
const OTHER = "arn:aws:acm:us-east-1:111122223333:certificate/66666666-7777-8888-9999-000000000000";

const listed: ListedCertificate = {
  arn: ARN,
  serial: "0a1b",
  subject: "CN=origin-client",
  issuer: "Acme Origin Client CA",
  keyAlgorithm: "EC_prime256v1",
  notBefore: "2026-10-01T00:00:00.000Z",
  notAfter: "2027-01-01T00:00:00.000Z",
  imported: true,
  clientAuth: true,
};
const policy = { managedIssuers: ["Acme Origin Client CA"] };

function finding(kind: DriftFinding["kind"], arn: string, distributionId: string): DriftFinding {
  return { kind, distributionId, originId: "origin-1", certificateArn: arn, detail: `presents ${arn}` };
}

function record(overrides: Partial<InventoryRecord> = {}): InventoryRecord {
  return { ...assessCertificate({ certificate: listed, usage: [], policy, now: NOW }).record, ...overrides };
}

describe("drift on inventory records", () => {
  it("findDrift reports unmanaged and retired certificates in service, nothing for managed ones", () => {
    const usage = new Map([
      [ARN, [{ distributionId: "E1", originIds: ["origin-1"] }]],
      [OTHER, [{ distributionId: "E2", originIds: ["origin-1"] }]],
    ]);
    expect(findDrift(usage, new Map([[ARN, record()]]))).toEqual([
      expect.objectContaining({ kind: "unmanaged-certificate", certificateArn: OTHER, distributionId: "E2" }),
    ]);
    expect(findDrift(usage, new Map([[ARN, record({ retired: true })]])).map((f) => f.kind)).toEqual([
      "retired-certificate",
      "unmanaged-certificate",
    ]);
  });

  const cases: Array<{ name: string; before?: DriftFinding[]; findings: DriftFinding[]; after?: string[] }> =
    [
      { name: "no drift before or now: unchanged", findings: [] },
      {
        name: "a finding about this certificate is recorded",
        findings: [finding("retired-certificate", ARN, "E1")],
        after: ["retired-certificate E1"],
      },
      {
        name: "findings about other certificates are not",
        findings: [finding("unmanaged-certificate", OTHER, "E2")],
      },
      {
        name: "the same finding again: unchanged",
        before: [finding("retired-certificate", ARN, "E1")],
        findings: [finding("retired-certificate", ARN, "E1")],
      },
      {
        name: "drift put right: the field goes",
        before: [finding("retired-certificate", ARN, "E1")],
        findings: [],
        after: [],
      },
    ];
  it.each(cases)("withDrift: $name", ({ before, findings, after }) => {
    const start = before ? withDrift(record(), before)! : record();
    const next = withDrift(start, findings);
    if (after === undefined) {
      expect(next).toBeUndefined();
      return;
    }
    expect(next).toBeDefined();
    expect((next!.drift ?? []).map((d) => `${d.kind} ${d.distributionId}`)).toEqual(after);
    if (after.length === 0) expect("drift" in next!).toBe(false);
    expect(JSON.stringify(next)).not.toContain("certificateArn");
  });

  it("a decision for the same certificate generation keeps its drift; a re-imported one starts clean", () => {
    const drifted = withDrift(record(), [finding("retired-certificate", ARN, "E1")])!;
    const again = assessCertificate({ certificate: listed, usage: [], previous: drifted, policy, now: NOW });
    expect(again.record.drift).toEqual(drifted.drift);
    expect(again.changed).toBe(false);
    const reimported = assessCertificate({
      certificate: { ...listed, serial: "0c2d" },
      usage: [],
      previous: drifted,
      policy,
      now: NOW,
    });
    expect(reimported.record.drift).toBeUndefined();
  });
});
