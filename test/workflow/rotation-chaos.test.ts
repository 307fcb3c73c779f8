/**
 * A crash between any two steps ends in a correct state and never issues a second certificate.
 *
 * For every step of a real rotation, a fresh fleet rotates with that step failing twice: once before its
 * side effects (as if the process died before the step ran) and once after them but before the checkpoint
 * (as if it died between doing the work and recording it). The runtime retries the step; the rotation must
 * still complete with exactly one issued certificate and a consistent fleet. A step that keeps failing
 * after the first swap must end rolled back, never half-swapped.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../functions/config/settings.ts";
import {
  createRotationWorkflow,
  credentialSecretName,
  type StepFaults,
} from "../../functions/workflow/rotation-workflow.ts";
import { credentialSecrets } from "../support/credential-secrets.ts";
import { resetFakeClock, useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import { buildFleet, type Fleet, type FleetOptions } from "../support/fleet.ts";

useDurableRunner({ skipTime: true });

/**
 * No bake; a gate that needs one datapoint per distribution, which CloudWatch publishes a minute late: each
 * wave's gate polls a few times (steps and durable waits a crash can hit) without making every run long.
 */
const FLEET: FleetOptions = {
  distributions: 2,
  standins: { awsMetricsDelayMs: 60_000 },
  settings: { bakeSeconds: 0, gate: { ...DEFAULT_SETTINGS.gate, minDatapoints: 1 } },
};

async function rotate(f: Fleet, faults: StepFaults) {
  const runner = new LocalDurableTestRunner({
    handlerFunction: createRotationWorkflow(withWaitsThatAddUp(workflow), { ...f.deps, faults }),
  });
  return runner.run({ payload: f.input() });
}

class InjectedCrash extends Error {
  override name = "InjectedCrash";
}

/** Step names with the fleet's distribution ids replaced by their position in wave order (d0, d1, ...). */
function normalizer(f: Fleet): (step: string) => string {
  const ids = [...f.distributionIds].sort();
  return (step) => ids.reduce((name, id, i) => name.replaceAll(id, `d${i}`), step);
}

/** Fails the named (normalized) step once before and once after its side effects; records what ran. */
function crashAt(step: string, normalize: (step: string) => string) {
  const seen: string[] = [];
  const crashes = { before: 0, after: 0 };
  const faults: StepFaults = {
    before: (raw) => {
      const name = normalize(raw);
      seen.push(name);
      if (name === step && crashes.before === 0) {
        crashes.before += 1;
        throw new InjectedCrash(`crash before ${name}`);
      }
    },
    after: (raw) => {
      const name = normalize(raw);
      if (name === step && crashes.after === 0) {
        crashes.after += 1;
        throw new InjectedCrash(`crash after ${name}`);
      }
    },
  };
  return { faults, seen, crashed: () => crashes.before + crashes.after };
}

function secretsOf(f: Fleet) {
  return credentialSecrets(f.standins, credentialSecretName(f.settings, f.oldCertificateArn));
}

/**
 * What is wrong with the secrets after a completed first rotation: the credential secret must hold exactly
 * one version (a second one would be a second credential), AWSCURRENT, the complete credential of the new
 * certificate; the issuance secret its marker, one key and one staged credential, nothing pending.
 */
function secretProblems(f: Fleet, newArn: string | undefined): string[] {
  const { credential, issuance } = secretsOf(f);
  const problems: string[] = [];
  const versions = credential.versions.map((v) => `${v.document?.kind}:${v.stages.join("+")}`);
  if (versions.length !== 1 || versions[0] !== "credential:AWSCURRENT")
    problems.push(`credential secret versions ${versions.join(", ")}`);
  const current = credential.holder("AWSCURRENT")?.document;
  if (current?.certificateArn !== newArn || typeof current?.certificatePem !== "string")
    problems.push("AWSCURRENT is not the new certificate's complete credential");
  const inFlight = issuance.versions.map((v) => `${v.document?.kind}:${v.stages.join("+")}`).sort();
  if (inFlight.join(", ") !== "credential:, issuance-secret:AWSCURRENT, key:")
    problems.push(`issuance secret versions ${inFlight.join(", ")}`);
  return problems;
}

let steps: string[] = [];

beforeAll(async () => {
  // The steps of an undisturbed rotation, in order.
  const f = await buildFleet(FLEET);
  try {
    const probe = crashAt("none", normalizer(f));
    const result = await rotate(f, probe.faults);
    expect(result.getStatus()).toBe("SUCCEEDED");
    steps = [...new Set(probe.seen)];
  } finally {
    await f.close();
  }
}, 60_000);

describe("a crash at any step", () => {
  it("the undisturbed rotation has the expected shape of steps", () => {
    expect(steps.slice(0, 11)).toEqual([
      "lock",
      "start",
      "notify:started",
      "plan",
      "claim:1",
      "issue:key",
      "issue:pace:pca",
      "issue:request",
      "issue:pace:import",
      "issue:import",
      "issue:complete",
    ]);
    expect(steps).toContain("trust:publish");
    expect(steps).toContain("preflight:1");
    expect(steps.filter((s) => s.startsWith("swap:"))).toEqual(["swap:0:d0", "swap:1:d1"]);
    // Each wave's gate waited for its datapoint: more than one metrics poll, then the gate itself.
    for (const wave of [0, 1]) {
      const polls = steps.filter((s) => s.startsWith(`gate:${wave}:metrics:`));
      expect(polls.length).toBeGreaterThan(1);
      expect(steps.indexOf(`gate:${wave}`)).toBeGreaterThan(steps.indexOf(polls.at(-1)!));
    }
    expect(steps.slice(-5)).toEqual([
      "finalize:promote",
      "finalize:retire",
      "complete",
      "unlock",
      "notify:end",
    ]);
  });

  it("every step crashed before and after its side effects still ends completed with one certificate", async () => {
    expect(steps.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const step of steps) {
      resetFakeClock();
      const f = await buildFleet(FLEET);
      try {
        const chaos = crashAt(step, normalizer(f));
        const result = await rotate(f, chaos.faults);
        const problems: string[] = [];
        if (chaos.crashed() !== 2) problems.push(`injected ${chaos.crashed()} crashes`);
        if (result.getStatus() !== "SUCCEEDED") problems.push(`status ${result.getStatus()}`);
        if (f.standins.privateCa.issuedCount !== 1)
          problems.push(`${f.standins.privateCa.issuedCount} certificates issued`);
        const newArn = f.standins.acm.arns().filter((arn) => arn !== f.oldCertificateArn);
        if (newArn.length !== 1) problems.push(`${newArn.length} new ACM certificates`);
        if (f.standins.acm.arns().includes(f.oldCertificateArn)) problems.push("old certificate not retired");
        const presented = f.distributionIds.map(
          (id) => f.standins.cloudfront.originCertificates(id)["origin-1"],
        );
        if (!presented.every((arn) => arn === newArn[0]))
          problems.push(`half-swapped: ${presented.join(", ")}`);
        problems.push(...secretProblems(f, newArn[0]));
        const state = await f.store.get(f.input().rotationId);
        if (state?.status !== "completed") problems.push(`stored status ${state?.status}`);
        if (await f.store.activeRotationFor(f.oldCertificateArn)) problems.push("lock not released");
        if (problems.length > 0) failures.push(`${step}: ${problems.join("; ")}`);
      } finally {
        await f.close();
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

describe("a step that keeps failing after the first swap", () => {
  let f: Fleet;
  afterAll(async () => f?.close());

  it("rolls every swapped distribution back and ends rolled back, not half-swapped", async () => {
    f = await buildFleet({ distributions: 3, settings: { bakeSeconds: 0 } });
    const target = [...f.distributionIds].sort()[1]!;
    const result = await rotate(f, {
      before: (name) => {
        if (name === `swap:1:${target}`) throw new InjectedCrash(`CloudFront keeps failing for ${target}`);
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(SwapFailed\)/);
    const presented = f.distributionIds.map((id) => f.standins.cloudfront.originCertificates(id)["origin-1"]);
    expect(presented).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    expect(f.standins.privateCa.issuedCount).toBe(1);
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    // The credential secret was never written; the issuance secret has nothing pending.
    expect(secretsOf(f).credential.exists).toBe(false);
    expect(secretsOf(f).issuance.holder("AWSPENDING")).toBeUndefined();
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback?.reason).toBe("SwapFailed");
  }, 60_000);
});
