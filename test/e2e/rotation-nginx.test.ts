/**
 * End to end against real nginx origins (`ssl_verify_client on`): whole rotations on the durable runtime
 * while an edge keeps sending real mTLS requests to every origin with the certificate its distribution
 * currently presents. Each scenario prints one summary line.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, expect, it } from "vitest";
import {
  createRotationWorkflow,
  credentialSecretName,
  type StepFaults,
} from "../../functions/workflow/rotation-workflow.ts";
import { credentialSecrets, expectOnlyCompleteCredentials } from "../support/credential-secrets.ts";
import { useDurableRunner } from "../support/durable.ts";
import { Edge, type EdgeSummary, startEdge } from "../support/edge.ts";
import { buildFleet, type Fleet, type FleetOptions, REAL_TIME_GATE } from "../support/fleet.ts";
import { describeWithNginx } from "../support/tools.ts";

// Real timers: deployments take real (short) time, waits really suspend the workflow and replay it.
useDurableRunner({ skipTime: false });

const RealDate = globalThis.Date;

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function nginxFleet(options: Omit<FleetOptions, "origin">): Promise<Fleet> {
  const f = await buildFleet({
    ...options,
    origin: "nginx",
    standins: { deployDelayMs: 1_500 },
    // The edge's real requests are the traffic: it publishes each distribution's 5xx rate every round, and
    // CloudWatch shows it a second later (REAL_TIME_GATE's second-long periods).
    traffic: "none",
    settings: {
      gate: REAL_TIME_GATE,
      bakeSeconds: 2,
      graceSeconds: 1,
      deploy: { timeoutSeconds: 60, pollSeconds: 1 },
      preflight: { timeoutSeconds: 2, intervalSeconds: 1, probePath: "/" },
      ...options.settings,
    },
  });
  cleanup.push(() => f.close());
  return f;
}

/** The fleet's edge, stopped after the test. */
function edgeFor(f: Fleet): Edge {
  const edge = startEdge(f);
  cleanup.push(() => edge.stop());
  return edge;
}

async function rotate(f: Fleet, faults?: StepFaults) {
  const runner = new LocalDurableTestRunner({
    handlerFunction: createRotationWorkflow(workflow, { ...f.deps, faults }),
  });
  return runner.run({ payload: f.input() });
}

function secretsOf(f: Fleet) {
  return credentialSecrets(f.standins, credentialSecretName(f.settings, f.oldCertificateArn));
}

/** A rotation that did not complete leaves no credential secret behind (first rotation) and nothing pending. */
function expectCredentialSecretUntouched(f: Fleet): void {
  const { credential, issuance } = secretsOf(f);
  expect(credential.exists).toBe(false);
  expect(issuance.holder("AWSPENDING")).toBeUndefined();
}

function presented(f: Fleet): string[] {
  return f.distributionIds.map((id) => f.standins.cloudfront.originCertificates(id)["origin-1"]!);
}

async function summarize(name: string, f: Fleet, edge: EdgeSummary): Promise<void> {
  const state = await f.store.get(f.input().rotationId);
  const outcomes = state?.waves.flatMap((w) => w.distributions.map((d) => d.outcome)) ?? [];
  const swapped = outcomes.filter((o) => o === "swapped").length;
  const rolledBack = outcomes.filter((o) => o === "rolled-back").length;
  console.log(
    `[e2e] ${name}: status=${state?.status} swapped=${swapped} rolled-back=${rolledBack} requests=${edge.requests} refused=${edge.refused}`,
  );
}

describeWithNginx()("rotations against real nginx origins", () => {
  it("healthy fleet: every wave completes with zero refused requests", async () => {
    const f = await nginxFleet({ distributions: 3 });
    const edge = edgeFor(f);
    await edge.round();
    const result = await rotate(f);
    await edge.round();
    const summary = await edge.stop();
    await summarize("healthy", f, summary);

    expect(result.getStatus()).toBe("SUCCEEDED");
    const newArn = (result.getResult() as { newCertificateArn: string }).newCertificateArn;
    expect(presented(f)).toEqual([newArn, newArn, newArn]);
    expect(summary.refused).toBe(0);
    expect(summary.requests).toBeGreaterThan(30);
    // Every origin really served requests with the new certificate by the end.
    for (const origin of f.origins.values()) expect(origin.port).toBeGreaterThan(0);
    // The credential the fleet presents is the credential secret's AWSCURRENT, its only version.
    const { credential } = secretsOf(f);
    expect(credential.versions).toHaveLength(1);
    const { current } = expectOnlyCompleteCredentials(credential, {
      trustAnchorsPem: f.newIssuer.certificatePem,
    });
    expect(current?.certificateArn).toBe(newArn);
  }, 120_000);

  it("one origin does not trust the new issuer: preflight aborts, nothing changes, zero refused requests", async () => {
    const f = await nginxFleet({ distributions: 3, newIssuer: "other" });
    const [a, b, c] = [...f.distributionIds].sort() as [string, string, string];
    await f.origins.get(a)!.trust(f.bothTrustPem);
    await f.origins.get(b)!.trust(f.bothTrustPem);
    const edge = edgeFor(f);
    await edge.round();
    const result = await rotate(f);
    await edge.round();
    const summary = await edge.stop();
    await summarize("untrusted-origin", f, summary);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toContain(`PreflightRefused`);
    expect(result.getError()?.errorMessage).toContain(`${c}/origin-1 (400)`);
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    expect(summary.refused).toBe(0);
    expect(summary.requests).toBeGreaterThan(10);
    expectCredentialSecretUntouched(f);
  }, 120_000);

  it("an origin stops trusting the new issuer after its wave swapped: the gate fails and everything rolls back", async () => {
    const f = await nginxFleet({ distributions: 3, newIssuer: "other" });
    for (const origin of f.origins.values()) await origin.trust(f.bothTrustPem);
    const [, victim] = [...f.distributionIds].sort() as [string, string, string];
    const edge = edgeFor(f);
    await edge.round();
    let distrustedAt = 0;
    const result = await rotate(f, {
      before: async (step) => {
        // Wave 1 has deployed the new certificate to `victim`; now its origin drops the new CA.
        if (step === "deployed:1" && distrustedAt === 0) {
          // From the moment nginx starts reloading, requests with the new certificate may be refused.
          distrustedAt = RealDate.now();
          await f.origins.get(victim)!.trust(f.oldTrustPem);
          await edge.round();
        }
      },
    });
    const finishedAt = RealDate.now();
    await edge.round();
    const summary = await edge.stop();
    await summarize("distrust-after-swap", f, summary);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(GateFailed\)/);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    const state = await f.store.get(f.input().rotationId);
    expect(state?.waves.flatMap((w) => w.distributions.map((d) => d.outcome))).toEqual([
      "rolled-back",
      "rolled-back",
      "pending",
    ]);

    // Refusals happened, only at the victim's origin, only between the distrust and the end of the rollback.
    expect(summary.refused).toBeGreaterThan(0);
    const refusing = summary.origins.filter((o) => o.refused > 0);
    expect(refusing.map((o) => o.distributionId)).toEqual([victim]);
    for (const at of refusing[0]!.refusedAt) {
      expect(at).toBeGreaterThanOrEqual(distrustedAt);
      expect(at).toBeLessThanOrEqual(finishedAt);
    }
    // After the rollback deployed, the edge is served again everywhere.
    const after = new Edge({
      standins: f.standins,
      distributionIds: f.distributionIds,
      serverCaPem: f.serverCaPem,
    });
    await after.round();
    expect(after.summary().refused).toBe(0);
    expectCredentialSecretUntouched(f);
  }, 120_000);
});
