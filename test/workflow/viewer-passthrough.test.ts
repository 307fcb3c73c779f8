/**
 * The viewer CA migration with passthrough origins, on the local durable runner against real TLS origins:
 * each origin accepts only CloudFront's origin-mTLS certificate and checks the viewer certificate CloudFront
 * forwards (RFC 9440) with the passthrough kit, against the viewer bundle the real origin-sync keeps in step
 * with the domain's published bundle (sandbox/viewer-world.ts). The proof presents a probe viewer
 * certificate from the new CA exactly so.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import {
  createViewerMigrationWorkflow,
  type ViewerMigrationDeps,
  type ViewerMigrationOutcome,
} from "../../functions/workflow/viewer-migration.ts";
import { buildViewerWorld, type ViewerWorld } from "../../sandbox/viewer-world.ts";
import { useDurableRunner } from "../support/durable.ts";

useDurableRunner({ skipTime: false });

let worlds: ViewerWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.map((w) => w.close()));
  worlds = [];
});

async function world(options: Partial<Parameters<typeof buildViewerWorld>[0]> = {}): Promise<ViewerWorld> {
  const built = await buildViewerWorld({
    trustStores: ["partners-edge"],
    distributions: [
      { name: "portal", mode: "required", trustStore: "partners-edge" },
      { name: "api", mode: "passthrough" },
    ],
    ...options,
  });
  worlds.push(built);
  return built;
}

let counter = 0;
async function migrate(
  deps: ViewerMigrationDeps,
): Promise<{ outcome: ViewerMigrationOutcome; migrationId: string }> {
  counter += 1;
  const migrationId = `vm-pass-${counter}`;
  const runner = new LocalDurableTestRunner<ViewerMigrationOutcome>({
    handlerFunction: createViewerMigrationWorkflow(workflow, deps),
  });
  const result = await runner.run({
    payload: {
      migrationId,
      domain: "sandbox-viewers",
      action: "migrate",
      actor: "test",
      reason: "move to B",
    },
  });
  return { outcome: result.getResult()!, migrationId };
}

describe("passthrough origins", () => {
  it("are proved with a probe viewer certificate from the new CA, forwarded over origin mTLS, before the announcement", async () => {
    const w = await world();
    const { outcome, migrationId } = await migrate(w.deps(w.domain()));
    expect(outcome.status).toBe("announced");

    const history = await w.store.history(migrationId);
    const proofs = history.filter((e) => e.type === "viewer-proved");
    const last = proofs.at(-1);
    expect(last?.type === "viewer-proved" && last.ok).toBe(true);
    expect(last?.type === "viewer-proved" && last.origins).toEqual([
      { origin: "api", status: 200, accepted: true },
    ]);
    // origin-sync installed the bundle with both CAs on the origin before the proof passed.
    expect(w.syncs().updates).toBeGreaterThanOrEqual(1);
    // The probe's key (and any PEM) never reaches the history.
    expect(JSON.stringify(history)).not.toMatch(/BEGIN|PRIVATE KEY/);
  });

  it("an origin that never installs the new bundle fails the proof: trust points restored, nothing announced", async () => {
    // origin-sync runs once an hour here: the origin keeps trusting CA A only.
    const w = await world({ syncIntervalMs: 3_600_000 });
    const { outcome, migrationId } = await migrate(
      w.deps(w.domain({ proofTimeoutSeconds: 2, proofIntervalSeconds: 1 })),
    );
    expect(outcome).toMatchObject({ status: "failed", reason: "ProofFailed" });
    const record = await w.store.get(migrationId);
    expect(record?.state.detail).toMatch(/origin api \(403\)/);
    // Every attempt presented the same probe: one certificate issued (and billed) for the whole proof.
    expect(record?.state.proofAttempts).toBeGreaterThanOrEqual(2);
    expect(w.standins.server.count("acm-pca", "IssueCertificate")).toBe(1);
    expect(record?.state.restored?.map((r) => r.ok)).toEqual([true, true]);
    // The trust store is back on CA A only.
    const effective = w.standins.cloudfront.trustStores.effectiveBundle(
      Object.values(w.trustStoreIds)[0]!,
    )!.pem;
    expect(effective).toContain(w.a.issuing.certificatePem.trim().split("\n")[1]);
    expect(effective).not.toContain(w.b.issuing.certificatePem.trim().split("\n")[1]);
    expect(w.standins.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
  });

  it("an origin that does not check forwarded certificates at all proves nothing: restored, failed", async () => {
    const w = await world({ passthroughChecksViewers: false });
    const { outcome, migrationId } = await migrate(
      w.deps(w.domain({ proofTimeoutSeconds: 1, proofIntervalSeconds: 1 })),
    );
    expect(outcome).toMatchObject({ status: "failed", reason: "ProofFailed" });
    expect((await w.store.get(migrationId))?.state.detail).toMatch(/does not check forwarded certificates/);
    expect(w.standins.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
  });
});
