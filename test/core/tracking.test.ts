import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  assessCertificate,
  authorityKeysInService,
  type DriftFinding,
  findDrift,
  type InventoryRecord,
  issuingAuthorityKey,
  type ListedCertificate,
  type ManagedAuthority,
  type Management,
  type ManagementFacts,
  managedAuthorityOf,
  managementFactsOf,
  managementOf,
  mayBeManaged,
  withDrift,
} from "../../functions/core/tracking.ts";
import { createRootCa, EKU, issueClientCredential } from "../../standins/pki.ts";

const authorityOf = async (name: string) =>
  managedAuthorityOf(
    new X509Certificate((await createRootCa({ name, keyAlgorithm: "EC_prime256v1" })).certificatePem),
  );
const ACME = await authorityOf("CN=Acme Origin Client CA, O=Acme");

const NOW = new Date("2026-11-21T06:00:00Z");
const ARN = "arn:aws:acm:us-east-1:111122223333:certificate/11111111-2222-3333-4444-555555555555";
const OTHER = "arn:aws:acm:us-east-1:111122223333:certificate/66666666-7777-8888-9999-000000000000";

const listed: ListedCertificate = {
  arn: ARN,
  serial: "0a1b",
  subject: "CN=origin-client",
  issuer: ACME.issuer,
  keyAlgorithm: "EC_prime256v1",
  notBefore: "2026-10-01T00:00:00.000Z",
  notAfter: "2027-01-01T00:00:00.000Z",
  imported: true,
  clientAuth: true,
};
const policy = { managedAuthorities: [ACME] };
const signed = { authorityKey: ACME.key };

function finding(kind: DriftFinding["kind"], arn: string, distributionId: string): DriftFinding {
  return { kind, distributionId, originId: "origin-1", certificateArn: arn, detail: `presents ${arn}` };
}

function record(overrides: Partial<InventoryRecord> = {}): InventoryRecord {
  return {
    ...assessCertificate({ certificate: listed, ...signed, usage: [], policy, now: NOW }).record,
    ...overrides,
  };
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
    const again = assessCertificate({
      certificate: listed,
      ...signed,
      usage: [],
      previous: drifted,
      policy,
      now: NOW,
    });
    expect(again.record.drift).toEqual(drifted.drift);
    expect(again.changed).toBe(false);
    const reimported = assessCertificate({
      certificate: { ...listed, serial: "0c2d" },
      ...signed,
      usage: [],
      previous: drifted,
      policy,
      now: NOW,
    });
    expect(reimported.record.drift).toBeUndefined();
  });
});

describe("managementOf: the one rule of a managed certificate", async () => {
  const CA = ACME;
  const OLD_CA = await authorityOf("CN=Acme Origin Client CA 2019, O=Acme");
  const managed = { authorityKey: CA.key, clientAuth: true, imported: true };
  const cases: Array<{
    name: string;
    facts: ManagementFacts;
    authorities?: ManagedAuthority[];
    expected: Management;
  }> = [
    {
      name: "a client certificate ACM imported, signed by the configured CA's key",
      facts: managed,
      expected: { managed: true },
    },
    {
      name: "signed by the key of a CA being migrated away from",
      facts: { ...managed, authorityKey: OLD_CA.key },
      authorities: [CA, OLD_CA],
      expected: { managed: true },
    },
    {
      name: "whether ACM imported it not known (the certificate alone): the rest decides",
      facts: { authorityKey: CA.key, clientAuth: true },
      expected: { managed: true },
    },
    {
      name: "no configured CA's key signed it",
      facts: { ...managed, authorityKey: undefined },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "signed by a key no longer configured (a CA re-keyed away from)",
      facts: { ...managed, authorityKey: OLD_CA.key },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "no configured CA at all",
      facts: managed,
      authorities: [],
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
      name: "another CA and no clientAuth: the CA is the reason (checked first)",
      facts: { authorityKey: undefined, clientAuth: false, imported: false },
      expected: { managed: false, reason: "OtherIssuer" },
    },
    {
      name: "no clientAuth and not imported: clientAuth is the reason",
      facts: { ...managed, clientAuth: false, imported: false },
      expected: { managed: false, reason: "NotClientAuth" },
    },
  ];
  for (const { name, facts, authorities, expected } of cases) {
    it(name, () => expect(managementOf(facts, authorities ?? [CA])).toEqual(expected));
  }

  it("reads the facts off a certificate: the configured CA key that signed it and the clientAuth EKU", async () => {
    const ca = await createRootCa({
      name: "CN=Acme Origin Client CA, O=Acme, C=DE",
      keyAlgorithm: "EC_prime256v1",
    });
    const authorities = [managedAuthorityOf(new X509Certificate(ca.certificatePem))];
    expect(authorities[0]!.issuer).toBe("CN=Acme Origin Client CA, O=Acme");
    const leaf = async (extendedKeyUsages: string[]) =>
      new X509Certificate(
        (await issueClientCredential(ca, { subject: "CN=origin-client", profile: { extendedKeyUsages } }))
          .certificatePem,
      );
    const client = managementFactsOf(await leaf([EKU.clientAuth]), authorities);
    expect(client).toEqual({ authorityKey: authorities[0]!.key, clientAuth: true });
    expect(managementOf(client, authorities)).toEqual({ managed: true });
    expect(managementOf(managementFactsOf(await leaf([EKU.serverAuth]), authorities), authorities)).toEqual({
      managed: false,
      reason: "NotClientAuth",
    });
    expect(managementOf(managementFactsOf(await leaf([]), authorities), authorities)).toEqual({
      managed: false,
      reason: "NotClientAuth",
    });
  });

  it("a CA is its key: a CA re-keyed under the same name is another CA, and a look-alike name is nobody's", async () => {
    const name = "CN=Acme Origin Client CA, O=Acme";
    const before = await createRootCa({ name, keyAlgorithm: "EC_prime256v1" });
    const rekeyed = await createRootCa({ name, keyAlgorithm: "EC_prime256v1" });
    const lookalike = await createRootCa({ name, keyAlgorithm: "RSA_2048" });
    const [a, b] = [before, rekeyed].map((ca) => managedAuthorityOf(new X509Certificate(ca.certificatePem)));
    expect(a!.issuer).toBe(b!.issuer);
    expect(a!.key).not.toBe(b!.key);
    const leafOf = async (ca: typeof before) =>
      new X509Certificate((await issueClientCredential(ca, { subject: "CN=origin-client" })).certificatePem);
    const [fromBefore, fromRekeyed, fromLookalike] = await Promise.all(
      [before, rekeyed, lookalike].map(leafOf),
    );
    expect(issuingAuthorityKey(fromBefore!, [a!, b!])).toBe(a!.key);
    expect(issuingAuthorityKey(fromRekeyed!, [a!, b!])).toBe(b!.key);
    // The look-alike names the configured CA exactly, but no configured key signed it.
    expect(fromLookalike!.issuer).toBe(fromBefore!.issuer);
    expect(issuingAuthorityKey(fromLookalike!, [a!, b!])).toBeUndefined();
    expect(managementOf(managementFactsOf(fromLookalike!, [a!, b!]), [a!, b!])).toEqual({
      managed: false,
      reason: "OtherIssuer",
    });
    // Only the re-keyed CA configured: the old key's certificates are no longer managed.
    expect(managementOf(managementFactsOf(fromBefore!, [b!]), [b!])).toEqual({
      managed: false,
      reason: "OtherIssuer",
    });
  });

  it("mayBeManaged narrows by the listing alone: a configured CA's name, clientAuth, imported", () => {
    expect(mayBeManaged(listed, [CA])).toBe(true);
    expect(mayBeManaged({ ...listed, issuer: "CN=Acme Origin Client CA, O=Mallory" }, [CA])).toBe(false);
    expect(mayBeManaged({ ...listed, clientAuth: false }, [CA])).toBe(false);
    expect(mayBeManaged({ ...listed, imported: false }, [CA])).toBe(false);
    expect(mayBeManaged(listed, [])).toBe(false);
  });

  it("is what the scan records: a listed certificate is managed exactly when managementOf says so", () => {
    for (const { facts, authorities, expected } of cases) {
      if (facts.imported === undefined) continue; // the listing always says
      const { authorityKey, ...listedFacts } = facts;
      const certificate = { ...listed, ...listedFacts } as ListedCertificate;
      const { record } = assessCertificate({
        certificate,
        authorityKey,
        usage: [],
        policy: { managedAuthorities: authorities ?? [CA] },
        now: NOW,
      });
      expect(record.managed, JSON.stringify(facts)).toBe(expected.managed);
      // The CA a managed certificate keeps in the bundle is the key that signed it.
      expect(record.authorityKey).toBe(expected.managed ? authorityKey : undefined);
    }
  });

  it("authorityKeysInService: keys of managed certificates in service, never names, never unverified records", () => {
    const inService = (overrides: Partial<InventoryRecord>) => record({ authorityKey: CA.key, ...overrides });
    expect(
      authorityKeysInService(
        [
          inService({}),
          inService({ arn: OTHER, authorityKey: OLD_CA.key }),
          inService({ arn: `${OTHER}-retired`, authorityKey: "f".repeat(64), retired: true }),
          inService({
            arn: `${OTHER}-expired`,
            authorityKey: "e".repeat(64),
            notAfter: "2026-01-01T00:00:00Z",
          }),
          inService({ arn: `${OTHER}-unmanaged`, authorityKey: "d".repeat(64), managed: false }),
          inService({ arn: `${OTHER}-legacy`, authorityKey: undefined }),
        ],
        NOW,
      ),
    ).toEqual([CA.key, OLD_CA.key].sort());
  });
});
