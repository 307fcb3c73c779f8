/**
 * The viewer mTLS inventory and its drift, pure: whether a policy forwards the Client-Cert pair, which
 * passthrough behaviours drifted, failed trust stores, quotas near (at their boundaries), and which
 * distribution records a store must write.
 */
import { describe, expect, it } from "vitest";
import {
  assessViewerInventory,
  CA_CERTIFICATES_PER_TRUST_STORE,
  changedDistributionRecords,
  clientCertForwarding,
  DISTRIBUTIONS_PER_TRUST_STORE,
  joinViewerInventory,
  type ListedTrustStore,
  type ListedViewerDistribution,
  legacyClientCertForwarding,
  type OriginRequestPolicyHeaders,
  splitViewerInventory,
  TRUST_STORES_PER_ACCOUNT,
  ViewerDriftKind,
  viewerDriftKey,
  viewerDriftSeverity,
} from "../../functions/core/viewer-inventory.ts";

const NOW = new Date("2026-12-05T06:00:00.000Z");
const arnOf = (id: string) => `arn:aws:cloudfront::111122223333:distribution/${id}`;
const storeArn = (id: string) => `arn:aws:cloudfront::111122223333:trust-store/${id}`;

function policy(id: string, headerBehavior: string, headers: string[] = []): OriginRequestPolicyHeaders {
  return { id, name: `policy-${id}`, headerBehavior, headers };
}

function store(id: string, over: Partial<ListedTrustStore> = {}): ListedTrustStore {
  return { id, arn: storeArn(id), name: `store-${id}`, status: "active", caCertificates: 2, ...over };
}

function passthrough(id: string, ...policyIds: (string | undefined)[]): ListedViewerDistribution {
  return {
    distributionId: id,
    arn: arnOf(id),
    mode: "passthrough",
    behaviours: policyIds.map((policyId, i) => ({
      pathPattern: i === 0 ? "*" : `/api${i}/*`,
      default: i === 0,
      ...(policyId ? { originRequestPolicyId: policyId } : {}),
    })),
  };
}

function verifying(
  id: string,
  mode: "required" | "optional",
  trustStoreId: string,
): ListedViewerDistribution {
  return { distributionId: id, arn: arnOf(id), mode, trustStoreId };
}

describe("clientCertForwarding", () => {
  it.each([
    ["whitelist of both", policy("p", "whitelist", ["client-cert", "client-cert-chain"]), "yes"],
    ["whitelist, any case", policy("p", "whitelist", ["Client-Cert", "CLIENT-CERT-CHAIN", "host"]), "yes"],
    [
      "allViewer and listed CloudFront headers",
      policy("p", "allViewerAndWhitelistCloudFront", ["client-cert", "client-cert-chain"]),
      "yes",
    ],
    ["whitelist of the leaf only", policy("p", "whitelist", ["client-cert"]), "no"],
    ["whitelist of the chain only", policy("p", "whitelist", ["client-cert-chain"]), "no"],
    ["whitelist of other headers", policy("p", "whitelist", ["host"]), "no"],
    ["no headers", policy("p", "none"), "no"],
    ["allExcept naming one of them", policy("p", "allExcept", ["client-cert-chain"]), "no"],
    ["no policy", undefined, "no"],
    ["allViewer (not documented)", policy("p", "allViewer"), "unknown"],
    ["allExcept others (not documented)", policy("p", "allExcept", ["host"]), "unknown"],
    [
      "allViewer and CloudFront headers not listing both (not documented)",
      policy("p", "allViewerAndWhitelistCloudFront", ["client-cert", "cloudfront-viewer-country"]),
      "unknown",
    ],
  ] as const)("%s: %s", (_name, p, expected) => {
    expect(clientCertForwarding(p)).toBe(expected);
  });
});

describe("legacyClientCertForwarding", () => {
  it.each([
    [["client-cert", "client-cert-chain"], "unknown"],
    [["*"], "unknown"],
    [["Client-Cert"], "no"],
    [["host"], "no"],
  ] as const)(
    "ForwardedValues headers %j: %s (AWS documents the pair for origin request policies only)",
    (headers, expected) => {
      expect(legacyClientCertForwarding(headers)).toBe(expected);
    },
  );
});

describe("assessViewerInventory", () => {
  const FORWARDS = policy("fwd", "whitelist", ["client-cert", "client-cert-chain"]);
  const LEAF_ONLY = policy("leaf", "whitelist", ["client-cert"]);
  const ALL_VIEWER = policy("all", "allViewer");
  const policies = new Map([FORWARDS, LEAF_ONLY, ALL_VIEWER].map((p) => [p.id, p]));

  it("counts every distribution by mode and keeps those with viewer mTLS, by id", () => {
    const inventory = assessViewerInventory({
      distributions: [
        { distributionId: "E9", arn: arnOf("E9"), mode: "none" },
        verifying("E2", "optional", "ts-1"),
        verifying("E1", "required", "ts-1"),
        passthrough("E3", "fwd"),
        { distributionId: "E0", arn: arnOf("E0"), mode: "none" },
      ],
      policies,
      trustStores: [store("ts-1")],
      now: NOW,
    });
    expect(inventory.scannedAt).toBe(NOW.toISOString());
    expect(inventory.byMode).toEqual({ none: 2, required: 1, optional: 1, passthrough: 1 });
    expect(inventory.distributions.map((d) => [d.distributionId, d.mode, d.trustStoreId])).toEqual([
      ["E1", "required", "ts-1"],
      ["E2", "optional", "ts-1"],
      ["E3", "passthrough", undefined],
    ]);
    expect(inventory.trustStores).toEqual([{ ...store("ts-1"), distributions: 2 }]);
    expect(inventory.drift).toEqual([]);
  });

  it("names the distribution, behaviour and policy of a passthrough behaviour that does not forward both headers", () => {
    const inventory = assessViewerInventory({
      distributions: [passthrough("EP", "fwd", "leaf", undefined, "all", "gone")],
      policies,
      unreadablePolicies: new Map([["gone", "NoSuchOriginRequestPolicy"]]),
      trustStores: [],
      now: NOW,
    });
    expect(
      inventory.drift.map((f) => [f.kind, f.distributionId, f.pathPattern, f.originRequestPolicyId]),
    ).toEqual([
      [ViewerDriftKind.ClientCertNotForwarded, "EP", "/api1/*", "leaf"],
      [ViewerDriftKind.ClientCertNotForwarded, "EP", "/api2/*", undefined],
      [ViewerDriftKind.ClientCertForwardingUnknown, "EP", "/api3/*", "all"],
      [ViewerDriftKind.ClientCertNotForwarded, "EP", "/api4/*", "gone"],
    ]);
    const [leaf, none, all, gone] = inventory.drift;
    expect(leaf?.detail).toContain("policy-leaf (leaf, headers whitelist)");
    expect(leaf?.resourceArn).toBe(arnOf("EP"));
    expect(none?.detail).toContain("has no origin request policy");
    expect(all?.detail).toContain("not documented");
    expect(gone?.detail).toContain("could not be read (NoSuchOriginRequestPolicy)");
    expect(inventory.distributions[0]?.behaviours?.map((b) => b.clientCertForwarding)).toEqual([
      "yes",
      "no",
      "no",
      "unknown",
      "no",
    ]);
  });

  it("judges a behaviour without a policy by its legacy forwarded headers, named in the finding", () => {
    const distribution = passthrough("EL", "fwd", undefined, undefined);
    distribution.behaviours![1]!.legacyForwardedHeaders = ["client-cert", "client-cert-chain"];
    distribution.behaviours![2]!.legacyForwardedHeaders = ["host"];
    const { drift, distributions } = assessViewerInventory({
      distributions: [distribution],
      policies,
      trustStores: [],
      now: NOW,
    });
    expect(drift.map((f) => [f.kind, f.pathPattern])).toEqual([
      [ViewerDriftKind.ClientCertForwardingUnknown, "/api1/*"],
      [ViewerDriftKind.ClientCertNotForwarded, "/api2/*"],
    ]);
    expect(drift[0]?.detail).toContain(
      "legacy cache settings forward headers client-cert, client-cert-chain",
    );
    expect(distributions[0]?.behaviours?.map((b) => b.clientCertForwarding)).toEqual([
      "yes",
      "unknown",
      "no",
    ]);
  });

  it("names each origin a passthrough behaviour reaches without origin mTLS (forged headers could pass), critical", () => {
    const distribution = passthrough("EP", "fwd", "fwd");
    distribution.behaviours![0]!.originsWithoutMtls = [];
    distribution.behaviours![1]!.originsWithoutMtls = ["legacy-api", "backup-api"];
    const { drift, distributions } = assessViewerInventory({
      distributions: [distribution],
      policies,
      trustStores: [],
      now: NOW,
    });
    expect(drift.map((d) => [d.kind, d.pathPattern, d.originId])).toEqual([
      [ViewerDriftKind.PassthroughOriginWithoutMtls, "/api1/*", "legacy-api"],
      [ViewerDriftKind.PassthroughOriginWithoutMtls, "/api1/*", "backup-api"],
    ]);
    expect(drift[0]?.detail).toMatch(/origin legacy-api, which presents no origin-mTLS certificate/);
    expect(viewerDriftSeverity(ViewerDriftKind.PassthroughOriginWithoutMtls)).toBe("critical");
    // Two origins of one behaviour are two findings (each notified once).
    expect(new Set(drift.map(viewerDriftKey)).size).toBe(2);
    expect(distributions[0]?.behaviours?.[1]?.originsWithoutMtls).toEqual(["legacy-api", "backup-api"]);
  });

  it("the default behaviour drifts like any other", () => {
    const { drift } = assessViewerInventory({
      distributions: [passthrough("EP", "leaf")],
      policies,
      trustStores: [],
      now: NOW,
    });
    expect(drift).toHaveLength(1);
    expect(drift[0]?.detail).toContain("default behaviour");
  });

  it("reports a failed trust store with its reason", () => {
    const { drift } = assessViewerInventory({
      distributions: [verifying("E1", "required", "ts-1")],
      policies,
      trustStores: [
        store("ts-1", { status: "failed", reason: "bundle holds a certificate that is not a CA" }),
      ],
      now: NOW,
    });
    expect(drift).toEqual([
      expect.objectContaining({
        kind: ViewerDriftKind.TrustStoreFailed,
        trustStoreId: "ts-1",
        resourceArn: storeArn("ts-1"),
        detail: expect.stringContaining("bundle holds a certificate that is not a CA"),
      }),
    ]);
  });

  it.each([
    ["pending", 0],
    ["active", 0],
    ["failed", 1],
  ])("a %s trust store: %i finding(s)", (status, findings) => {
    const { drift } = assessViewerInventory({
      distributions: [],
      policies,
      trustStores: [store("ts-1", { status })],
      now: NOW,
    });
    expect(drift).toHaveLength(findings);
  });

  const quota = (distributions: ListedViewerDistribution[], trustStores: ListedTrustStore[]) =>
    assessViewerInventory({ distributions, policies, trustStores, now: NOW }).drift.filter(
      (f) => f.kind === ViewerDriftKind.QuotaNear,
    );

  it.each([
    [19, 0],
    [20, 1],
    [25, 1],
  ])("%i distributions on one trust store: %i quota finding(s)", (count, findings) => {
    const distributions = Array.from({ length: count }, (_, i) => verifying(`E${i}`, "required", "ts-1"));
    const found = quota(distributions, [store("ts-1")]);
    expect(found).toHaveLength(findings);
    if (findings)
      expect(found[0]).toMatchObject({
        quota: "distributions-per-trust-store",
        used: count,
        limit: DISTRIBUTIONS_PER_TRUST_STORE,
        trustStoreId: "ts-1",
      });
  });

  it.each([
    [19, 0],
    [20, 1],
  ])("%i CA certificates in a trust store: %i quota finding(s)", (caCertificates, findings) => {
    const found = quota([], [store("ts-1", { caCertificates })]);
    expect(found).toHaveLength(findings);
    if (findings)
      expect(found[0]).toMatchObject({
        quota: "ca-certificates-per-trust-store",
        used: caCertificates,
        limit: CA_CERTIFICATES_PER_TRUST_STORE,
      });
  });

  it.each([
    [15, 0],
    [16, 1],
    [20, 1],
  ])("%i trust stores in the account: %i quota finding(s)", (count, findings) => {
    const found = quota(
      [],
      Array.from({ length: count }, (_, i) => store(`ts-${String(i).padStart(2, "0")}`)),
    );
    expect(found).toHaveLength(findings);
    if (findings)
      expect(found[0]).toMatchObject({
        quota: "trust-stores-per-account",
        used: count,
        limit: TRUST_STORES_PER_ACCOUNT,
      });
  });
});

describe("findings' identity and severity", () => {
  it("tells findings apart by kind, distribution, behaviour, policy, trust store and quota", () => {
    const base = { kind: ViewerDriftKind.ClientCertNotForwarded, resourceArn: arnOf("E1"), detail: "x" };
    const keys = new Set(
      [
        { ...base, distributionId: "E1", pathPattern: "*" },
        { ...base, distributionId: "E1", pathPattern: "/a/*" },
        { ...base, distributionId: "E1", pathPattern: "*", originRequestPolicyId: "p" },
        { ...base, distributionId: "E2", pathPattern: "*" },
        {
          ...base,
          kind: ViewerDriftKind.ClientCertForwardingUnknown,
          distributionId: "E1",
          pathPattern: "*",
        },
        {
          ...base,
          kind: ViewerDriftKind.QuotaNear,
          trustStoreId: "t",
          quota: "ca-certificates-per-trust-store" as const,
        },
        {
          ...base,
          kind: ViewerDriftKind.QuotaNear,
          trustStoreId: "t",
          quota: "distributions-per-trust-store" as const,
        },
      ].map(viewerDriftKey),
    );
    expect(keys.size).toBe(7);
    // The detail (counts, reasons) is not the identity: a quota still near is not notified again.
    expect(viewerDriftKey({ ...base, detail: "other" })).toBe(viewerDriftKey(base));
  });

  it("is critical for origins left without certificates and failed trust stores", () => {
    expect(viewerDriftSeverity(ViewerDriftKind.ClientCertNotForwarded)).toBe("critical");
    expect(viewerDriftSeverity(ViewerDriftKind.TrustStoreFailed)).toBe("critical");
    expect(viewerDriftSeverity(ViewerDriftKind.QuotaNear)).toBe("warning");
    expect(viewerDriftSeverity(ViewerDriftKind.ClientCertForwardingUnknown)).toBe("info");
  });
});

describe("changedDistributionRecords", () => {
  const r = (id: string, mode: "required" | "passthrough" = "required", trustStoreId?: string) => ({
    distributionId: id,
    arn: arnOf(id),
    mode,
    ...(trustStoreId ? { trustStoreId } : {}),
  });

  it("writes new and changed records, and marks those that left viewer mTLS as mode none", () => {
    const previous = [r("E1", "required", "ts-1"), r("E2"), r("E3")];
    const next = [r("E1", "required", "ts-2"), r("E2"), r("E4", "passthrough")];
    expect(changedDistributionRecords(next, previous)).toEqual([
      r("E1", "required", "ts-2"),
      r("E4", "passthrough"),
      { distributionId: "E3", arn: arnOf("E3"), mode: "none" },
    ]);
  });

  it("writes nothing when nothing changed, whatever the key order read back", () => {
    const previous = [{ mode: "required" as const, arn: arnOf("E1"), distributionId: "E1" }];
    expect(changedDistributionRecords([r("E1")], previous)).toEqual([]);
  });

  it("does not mark again a record already in mode none", () => {
    expect(
      changedDistributionRecords([], [{ distributionId: "E1", arn: arnOf("E1"), mode: "none" }]),
    ).toEqual([]);
  });
});

describe("splitViewerInventory / joinViewerInventory", () => {
  const LEAF_ONLY = policy("leaf", "whitelist", ["client-cert"]);

  function fleet(size: number) {
    const distributions = Array.from({ length: size }, (_, i) =>
      passthrough(`E${String(i).padStart(5, "0")}`, "leaf", "leaf", undefined),
    );
    const trustStores = Array.from({ length: 20 }, (_, i) =>
      store(`ts-${String(i).padStart(2, "0")}`, {
        status: i === 0 ? "failed" : "active",
        caCertificates: 24,
      }),
    );
    const inventory = assessViewerInventory({
      distributions: [...distributions, verifying("EREQ", "required", "ts-01")],
      policies: new Map([[LEAF_ONLY.id, LEAF_ONLY]]),
      trustStores,
      now: NOW,
    });
    // Every finding notified but one about a distribution and one about a trust store.
    const unnotified = new Set([
      viewerDriftKey(inventory.drift[0]!),
      viewerDriftKey(inventory.drift.at(-1)!),
    ]);
    const notified = inventory.drift
      .map(viewerDriftKey)
      .filter((k) => !unnotified.has(k))
      .sort();
    return { ...inventory, notified };
  }

  it("puts the inventory back together as it was", () => {
    const inventory = fleet(30);
    const { summary, distributions } = splitViewerInventory(inventory);
    expect(joinViewerInventory(summary, distributions)).toEqual(inventory);
  });

  it("keeps a distribution's findings and notified keys in its own item, the summary for the rest", () => {
    const { summary, distributions } = splitViewerInventory(fleet(3));
    const first = distributions.find((d) => d.distributionId === "E00000")!;
    expect(first.drift?.map((f) => f.pathPattern)).toEqual(["*", "/api1/*", "/api2/*"]);
    expect(first.notified).toHaveLength(2); // its first finding was not notified
    expect(distributions.find((d) => d.distributionId === "EREQ")).not.toHaveProperty("drift");
    expect(summary.drift.every((f) => f.distributionId === undefined)).toBe(true);
    expect(summary.drift.map((f) => f.kind)).toContain(ViewerDriftKind.TrustStoreFailed);
    expect(summary.notified).toHaveLength(summary.drift.length - 1);
  });

  it("keeps every item far under DynamoDB's 400 KB, whatever the fleet's size", () => {
    const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");
    const small = splitViewerInventory(fleet(10));
    const large = splitViewerInventory(fleet(5_000));
    expect(size(large.summary)).toBe(size({ ...small.summary, byMode: large.summary.byMode }));
    expect(size(large.summary)).toBeLessThan(64 * 1024);
    expect(Math.max(...large.distributions.map(size))).toBeLessThan(8 * 1024);
    // The same inventory in one item would not fit.
    expect(size(fleet(5_000))).toBeGreaterThan(400 * 1024);
  });

  it("leaves out items of distributions that left viewer mTLS", () => {
    const inventory = fleet(2);
    const { summary, distributions } = splitViewerInventory(inventory);
    const left = { distributionId: "EGONE", arn: arnOf("EGONE"), mode: "none" as const };
    expect(joinViewerInventory(summary, [...distributions, left])).toEqual(inventory);
  });
});
