/**
 * One durable workflow per rotation: lock -> plan -> claim -> issue -> trust -> preflight -> waves (swap, deploy, bake
 * with a manual-rollback window, health gate, optional approval) -> finalize; or back. One phase a file in
 * phases/, each taking its steps through the toolkit in steps.ts; every path ends in `end`.
 *
 * The invariant: trust before swap, retire after success. Nothing presents the new certificate before every
 * target origin accepted it in a real mTLS preflight; the old certificate, key and CA stay valid and
 * trusted until every wave passed and the grace period is over, so every step before that is reversible.
 *
 * Durable-execution rules this code keeps:
 * - everything with a side effect or a clock reading happens inside a step; code between steps only folds
 *   checkpointed step results, so a replay takes the same path;
 * - step results are events (ARNs, serials, statuses): never key material;
 * - every step is idempotent (a step can run again after a crash before its checkpoint);
 * - step names and their order are checkpoint keys of running executions (test/workflow/step-names.test.ts);
 * - rollback is the workflow's own loop: it carries on past a distribution that fails, and reports each.
 */

import type { workflow } from "sst/aws/workflow";
import { RotationReason } from "../core/rotation.ts";
import type { RotationDeps, RotationInput, RotationOutcome } from "./contract.ts";
import { abort } from "./phases/abort.ts";
import { claimDistributions } from "./phases/claim.ts";
import { type Ending, end } from "./phases/end.ts";
import { finalize } from "./phases/finalize.ts";
import { issue } from "./phases/issue.ts";
import { lock } from "./phases/lock.ts";
import { plan } from "./phases/plan.ts";
import { preflight } from "./phases/preflight.ts";
import { rollBack } from "./phases/rollback.ts";
import { stopInPlace } from "./phases/stop.ts";
import { publishTrust } from "./phases/trust.ts";
import { swapWaves } from "./phases/waves.ts";
import { openRotation, type Rotation } from "./steps.ts";

export type {
  ControlPoint,
  RotationDeps,
  RotationInput,
  RotationOutcome,
  RotationStorePort,
  StepFaults,
} from "./contract.ts";
export { RotationEndedError } from "./phases/end.ts";
export { credentialSecretFor, credentialSecretName } from "./phases/plan.ts";

export async function runRotation(
  input: RotationInput,
  ctx: workflow.Context,
  deps: RotationDeps,
): Promise<RotationOutcome> {
  const r = openRotation(input, ctx, deps);
  await lock(r);
  return end(r, await rotate(r));
}

/** Every phase in order; how the rotation ends. Before the first swap a stop aborts; after it, a halt rolls back. */
async function rotate(r: Rotation): Promise<Ending> {
  const planFailed = await plan(r);
  if (planFailed) return abort(r, planFailed);
  if (r.request.dryRun) return { step: "dry-run", event: (at) => ({ type: "dry-run", at }) };
  const stop =
    (await claimDistributions(r)) ?? (await issue(r)) ?? (await publishTrust(r)) ?? (await preflight(r));
  if (stop) return abort(r, stop);
  const halt = await swapWaves(r);
  // A storage limit stops in place; every other reason to halt rolls back.
  if (halt)
    return halt.reason === RotationReason.StorageLimit ? await stopInPlace(r, halt) : rollBack(r, halt);
  const finalized = await finalize(r);
  return "halt" in finalized ? rollBack(r, finalized.halt) : finalized;
}

/** The Lambda handler for the workflow, with dependencies built once per cold start. */
export function createRotationWorkflow(
  sst: typeof workflow,
  deps: RotationDeps | (() => RotationDeps),
): ReturnType<typeof workflow.handler> {
  let built: RotationDeps | undefined;
  const resolve = () => {
    built ??= typeof deps === "function" ? deps() : deps;
    return built;
  };
  return sst.handler<RotationInput, RotationOutcome>((input, ctx) => runRotation(input, ctx, resolve()));
}
