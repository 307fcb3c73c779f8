/**
 * `mtls-rotator viewer-inventory`: the real command, parsed from argv, signing its request with SigV4, against
 * the HTTP API stand-in answering GET /viewer-mtls as the contract says (the answer built by the API's own
 * projection of what the scan's assessment stores).
 */
import { describe, expect, it } from "vitest";
import { viewerMtlsInventory } from "../../functions/api/viewer-mtls.ts";
import type { ViewerMtlsAnswer } from "../../functions/cli/api-types.ts";
import {
  assessViewerInventory,
  type ListedViewerDistribution,
} from "../../functions/core/viewer-inventory.ts";
import { VIEWER_POLICIES } from "../support/viewer-trust-stores.ts";
import { NOW, runOperator, useContractApi } from "./fixtures.ts";

const contract = useContractApi();
const run = (args: string[]) => runOperator(contract.api, args);
const arnOf = (id: string) => `arn:aws:cloudfront::111122223333:distribution/${id}`;
const storeArn = (id: string) => `arn:aws:cloudfront::111122223333:trust-store/${id}`;

async function answerFor(
  distributions: ListedViewerDistribution[],
  failed = true,
): Promise<ViewerMtlsAnswer> {
  const inventory = assessViewerInventory({
    distributions,
    policies: VIEWER_POLICIES,
    trustStores: [
      { id: "ts-a", arn: storeArn("ts-a"), name: "partners", status: "active", caCertificates: 21 },
      ...(failed
        ? [
            {
              id: "ts-b",
              arn: storeArn("ts-b"),
              name: "broken",
              status: "failed",
              reason: "a certificate in the bundle is not a CA",
              caCertificates: 0,
            },
          ]
        : []),
    ],
    now: new Date(NOW.getTime() - 3_600_000),
  });
  return viewerMtlsInventory({
    inventory: { viewerInventory: async () => ({ ...inventory, notified: [] }) },
  });
}

const FLEET: ListedViewerDistribution[] = [
  { distributionId: "EPLAIN", arn: arnOf("EPLAIN"), mode: "none" },
  { distributionId: "EREQ", arn: arnOf("EREQ"), mode: "required", trustStoreId: "ts-a" },
  { distributionId: "EOPT", arn: arnOf("EOPT"), mode: "optional", trustStoreId: "ts-b" },
  {
    distributionId: "EPASS",
    arn: arnOf("EPASS"),
    mode: "passthrough",
    behaviours: [
      { pathPattern: "*", default: true, originRequestPolicyId: "fwd" },
      { pathPattern: "/api/*", default: false, originRequestPolicyId: "leaf" },
    ],
  },
  {
    distributionId: "EPASSOK",
    arn: arnOf("EPASSOK"),
    mode: "passthrough",
    behaviours: [{ pathPattern: "*", default: true, originRequestPolicyId: "fwd" }],
  },
];

describe("viewer-inventory", () => {
  it("prints distributions by mode and trust store, trust stores against their quotas, and drift", async () => {
    contract.api.backend.viewerMtls = await answerFor(FLEET);
    const { code, stdout, requests } = await run(["viewer-inventory"]);
    expect(code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /viewer-mtls"]);
    expect(stdout).toBe(
      [
        "Viewer mTLS (scanned 1h ago): 1 required, 1 optional, 2 passthrough, 1 without",
        "",
        "DISTRIBUTION  MODE         TRUST STORE  CLIENT-CERT (PASSTHROUGH)",
        "EOPT          optional     ts-b",
        "EPASS         passthrough  -            1 not forwarding",
        "EPASSOK       passthrough  -            all 1 forward Client-Cert",
        "EREQ          required     ts-a",
        "",
        "TRUST STORE  NAME      STATUS    CAS  DISTRIBUTIONS",
        "ts-a         partners  active  21/25           1/25",
        "ts-b         broken    failed   0/25           1/25",
        "2 trust stores of at most 20",
        "  ts-b failed: a certificate in the bundle is not a CA",
        "",
        "Drift (3):",
        "  client-cert-not-forwarded: passthrough EPASS (behaviour /api/*) has origin request policy leaf-only (leaf, headers whitelist), which does not forward Client-Cert and Client-Cert-Chain: its origins get no viewer certificate",
        "  quota-near: trust store partners (ts-a) holds 21 of at most 25 CA certificates: a CA migration adds one more",
        "  trust-store-failed: trust store broken (ts-b) failed: a certificate in the bundle is not a CA; its 1 distribution(s) validate viewers with the last bundle that loaded, if any",
        "",
      ].join("\n"),
    );
  });

  it("says so when there is no drift", async () => {
    contract.api.backend.viewerMtls = await answerFor(
      FLEET.filter((d) => d.distributionId !== "EPASS" && d.distributionId !== "EOPT"),
      false,
    );
    contract.api.backend.viewerMtls.trustStores[0]!.caCertificates = 2;
    contract.api.backend.viewerMtls.drift = [];
    const { code, stdout } = await run(["viewer-inventory"]);
    expect(code).toBe(0);
    expect(stdout).toContain("1 trust store of at most 20");
    expect(stdout.trimEnd().split("\n").at(-1)).toBe("No drift.");
  });

  it("says what the API left out of a too-large answer, and that the counts are whole", async () => {
    const whole = await answerFor(FLEET);
    contract.api.backend.viewerMtls = {
      ...whole,
      distributions: whole.distributions.slice(0, 2),
      drift: whole.drift.slice(0, 1),
      omitted: { distributions: whole.distributions.length - 2, drift: whole.drift.length - 1 },
    };
    const { code, stdout } = await run(["viewer-inventory"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Drift (1 of 3):");
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(
      "Not shown (the API's answer size limit): 2 more distributions, 2 more drift findings; every count above is whole.",
    );
  });

  it("--json prints the API's answer as is", async () => {
    contract.api.backend.viewerMtls = await answerFor(FLEET);
    const { code, stdout } = await run(["viewer-inventory", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(contract.api.backend.viewerMtls);
  });

  it("before any full scan: the API's 404, pointing at the scan", async () => {
    const { code, stderr } = await run(["viewer-inventory"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "mtls-rotator viewer-inventory: the API refused the request (404 NotFound): no viewer mTLS inventory yet (it is filled by the full scan: POST /scan)\n",
    );
  });

  it("takes no positional argument: a usage error, nothing sent", async () => {
    const { code, stderr, requests } = await run(["viewer-inventory", "extra"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unexpected argument: extra");
    expect(requests).toEqual([]);
  });
});
