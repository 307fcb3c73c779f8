import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  assessCertificate,
  type DriftFinding,
  findDrift,
  type InventoryRecord,
  issuerKeyOfSubject,
  type ListedCertificate,
  type Management,
  type ManagementFacts,
  managementFactsOf,
  managementOf,
  withDrift,
} from "../../functions/core/tracking.ts";
import { createRootCa, EKU, issueClientCredential } from "../../standins/pki.ts";

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

describe("managementOf: the one rule of a managed certificate", () => {
  const CA = "CN=Acme Origin Client CA, O=Acme";
  const OLD_CA = "CN=Acme Origin Client CA 2019, O=Acme";
  const managed = { issuer: CA, clientAuth: true, imported: true };
  const cases: Array<{ name: string; facts: ManagementFacts; issuers?: string[]; expected: Management }> = [
    {
      name: "a client certificate ACM imported, of the configured CA",
      facts: managed,
      expected: { managed: true },
    },
    {
      name: "of a CA being migrated away from",
      facts: { ...managed, issuer: OLD_CA },
      issuers: [CA, OLD_CA],
      expected: { managed: true },
    },
    {
      name: "whether ACM imported it not known (the certificate alone): the rest decides",
      facts: { issuer: CA, clientAuth: true },
      expected: { managed: true },
    },
    {
      name: "another issuer",
      facts: { ...managed, issuer: "CN=Someone Else CA, O=Other" },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "the same common name, another organization: another issuer",
      facts: { ...managed, issuer: "CN=Acme Origin Client CA, O=Mallory" },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "the configured CA's common name without its organization: another issuer",
      facts: { ...managed, issuer: "CN=Acme Origin Client CA" },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "no configured CA at all",
      facts: managed,
      issuers: [],
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "no clientAuth extended key usage",
      facts: { ...managed, clientAuth: false },
      expected: { managed: false, reason: "NotClientAuth" },
    },
    {
      name: "issued by ACM itself, not imported",
      facts: { ...managed, imported: false },
      expected: { managed: false, reason: "NotImported" },
    },
    {
      name: "another issuer and no clientAuth: the issuer is the reason (checked first)",
      facts: { issuer: "CN=Someone Else CA, O=Other", clientAuth: false, imported: false },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "no clientAuth and not imported: clientAuth is the reason",
      facts: { ...managed, clientAuth: false, imported: false },
      expected: { managed: false, reason: "NotClientAuth" },
    },
  ];
  for (const { name, facts, issuers, expected } of cases) {
    it(name, () => expect(managementOf(facts, issuers ?? [CA])).toEqual(expected));
  }

  it("reads the facts off a certificate: the issuer's issuerKey and the clientAuth EKU", async () => {
    const ca = await createRootCa({
      name: "CN=Acme Origin Client CA, O=Acme, C=DE",
      keyAlgorithm: "EC_prime256v1",
    });
    const issuers = [issuerKeyOfSubject(new X509Certificate(ca.certificatePem).subject)];
    expect(issuers).toEqual([CA]);
    const leaf = async (extendedKeyUsages: string[]) =>
      new X509Certificate(
        (await issueClientCredential(ca, { subject: "CN=origin-client", profile: { extendedKeyUsages } }))
          .certificatePem,
      );
    const client = managementFactsOf(await leaf([EKU.clientAuth]));
    expect(client).toEqual({ issuer: CA, clientAuth: true });
    expect(managementOf(client, issuers)).toEqual({ managed: true });
    expect(managementOf(managementFactsOf(await leaf([EKU.serverAuth])), issuers)).toEqual({
      managed: false,
      reason: "NotClientAuth",
    });
    expect(managementOf(managementFactsOf(await leaf([])), issuers)).toEqual({
      managed: false,
      reason: "NotClientAuth",
    });
  });

  it("is what the scan records: a listed certificate is managed exactly when managementOf says so", () => {
    for (const { facts, issuers, expected } of cases) {
      if (facts.imported === undefined) continue; // the listing always says
      const certificate = { ...listed, ...facts } as ListedCertificate;
      const { record } = assessCertificate({
        certificate,
        usage: [],
        policy: { managedIssuers: issuers ?? [CA] },
        now: NOW,
      });
      expect(record.managed, JSON.stringify(facts)).toBe(expected.managed);
    }
  });
});
