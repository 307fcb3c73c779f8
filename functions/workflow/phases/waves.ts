/**
 * The waves: each swaps its distributions to the new certificate, waits until CloudFront deployed them, gives
 * an operator the bake window to roll back, passes the health gate, and (when asked for) waits for an
 * operator's approval before the next wave. Any reason to stop is a reason to roll back, but one: a record over
 * an AWS size limit stops the rotation in place (phases/stop.ts).
 */
import { RotationReason } from "../../core/rotation.ts";
import type { ControlAction, Rotation } from "../steps.ts";
import { gate } from "./gate.ts";
import type { Halt } from "./rollback.ts";
import { haltIfRollbackRequested, RollbackRequestedError, requestedHalt } from "./rollback-requests.ts";
import { isStorageLimit, storageLimitHalt } from "./stop.ts";

/**
 * Every wave in order; a reason to roll back, or undefined when all passed. Once the first swap may have
 * happened, every way out that is not success goes through the rollback: a failed gate, an operator, and any
 * error a retry could not fix (a step out of retries, a failed callback).
 */
export async function swapWaves(r: Rotation): Promise<Halt | undefined> {
  try {
    return await everyWave(r);
  } catch (error) {
    if (isStorageLimit(error)) return storageLimitHalt(error, "while swapping waves");
    return { reason: RotationReason.Unexpected, actor: "mtls-rotator", detail: (error as Error).message };
  }
}

async function everyWave(r: Rotation): Promise<Halt | undefined> {
  const waves = r.state.waves.map((w) => w.index);
  for (const wave of waves) {
    const halt = await swapWave(r, wave);
    if (halt) return halt;
    const passed = r.state.waves.find((w) => w.index === wave)?.gate;
    await r.notify(`wave:${wave}`, "wave-completed", { wave, gate: passed });

    const last = wave === waves[waves.length - 1];
    if (last || r.settings.approval.mode !== "between-waves") continue;
    const refused = await approval(r, wave);
    if (refused) return refused;
  }
  return undefined;
}

/** Swap, deploy, bake, gate one wave; a reason to roll back, or undefined when the wave passed. */
async function swapWave(r: Rotation, wave: number): Promise<Halt | undefined> {
  const old = r.state.old!;
  const newArn = r.state.issued!.certificateArn;
  const distributions = r.state.waves.find((w) => w.index === wave)!.distributions;
  for (const distribution of distributions) {
    try {
      await r.record(`swap:${wave}:${distribution.distributionId}`, async () => {
        // A safe point: before this distribution changes. An earlier attempt of this step may have swapped
        // it and failed to record the swap: then the swap is recorded (so the rollback puts it back) and the
        // next safe point, the deploy poll, halts.
        const request = await r.deps.store.rollbackRequestOf?.(r.id);
        if (request) {
          const swappedBefore = (await r.deps.distributions.findDistributionsPresenting(newArn)).find(
            (t) => t.distributionId === distribution.distributionId,
          );
          if (!swappedBefore) throw new RollbackRequestedError(request);
          return {
            type: "swapped",
            at: r.at(),
            wave,
            distributionId: distribution.distributionId,
            outcome: "swapped",
            changedOriginIds: swappedBefore.originIds,
          };
        }
        const swap = await r.deps.distributions.swapOriginCertificate({
          distributionId: distribution.distributionId,
          fromArn: old.arn,
          toArn: newArn,
        });
        return {
          type: "swapped",
          at: r.at(),
          wave,
          distributionId: distribution.distributionId,
          outcome: swap.notPresenting ? "not-presenting" : "swapped",
          changedOriginIds: swap.alreadySwapped ? distribution.originIds : swap.changedOriginIds,
        };
      });
    } catch (error) {
      const requested = requestedHalt(error, `before wave ${wave} swapped ${distribution.distributionId}`);
      if (requested) return requested;
      if (isStorageLimit(error)) {
        return storageLimitHalt(error, `recording the swap of ${distribution.distributionId} (wave ${wave})`);
      }
      return {
        reason: RotationReason.SwapFailed,
        actor: "mtls-rotator",
        detail: `${distribution.distributionId}: ${(error as Error).message}`,
      };
    }
  }
  const swapped = distributions.map((d) => d.distributionId);
  let deployed: boolean;
  try {
    deployed = await waitDeployed(r, `wave:${wave}`, swapped, { safePoint: true });
  } catch (error) {
    const requested = requestedHalt(error, `while wave ${wave} deployed`);
    if (requested) return requested;
    throw error;
  }
  if (!deployed) {
    return {
      reason: RotationReason.DeployTimedOut,
      actor: "mtls-rotator",
      detail: `wave ${wave} did not deploy in time`,
    };
  }
  const deployedAt = (
    await r.record(`deployed:${wave}`, async () => ({ type: "deployed", at: r.at(), wave }))
  ).at;

  const bake: ControlAction =
    r.settings.bakeSeconds > 0
      ? await r.control(`bake:${wave}`, "bake", wave, r.settings.bakeSeconds)
      : { action: "timeout" };
  if (bake.action === "rollback") {
    return {
      reason: RotationReason.ManualRollback,
      actor: bake.actor,
      detail: bake.reason || `rollback requested during bake of wave ${wave}`,
    };
  }
  try {
    return await gate(r, wave, swapped, deployedAt);
  } catch (error) {
    const requested = requestedHalt(error, `while the gate of wave ${wave} waited`);
    if (requested) return requested;
    throw error;
  }
}

/** The operator's approval after a wave: a reason to roll back, or undefined to go on. */
async function approval(r: Rotation, wave: number): Promise<Halt | undefined> {
  const { approval: policy } = r.settings;
  const decision = await r.control(`approval:${wave}`, "approval", wave, policy.timeoutSeconds);
  if (decision.action === "rollback") {
    return {
      reason: RotationReason.ManualRollback,
      actor: decision.actor,
      detail: decision.reason || "rollback requested at approval",
    };
  }
  if (decision.action === "timeout" && policy.onTimeout === "rollback") {
    return {
      reason: RotationReason.ApprovalTimedOut,
      actor: "policy",
      detail: `no approval within ${policy.timeoutSeconds} s`,
    };
  }
  const actor = decision.action === "approve" ? decision.actor : "policy";
  await r.record(`approved:${wave}`, async () => ({ type: "approved", at: r.at(), wave, actor }));
  return undefined;
}

/**
 * One deploy poll (a step result): when it read, and which of the wait's distributions were still deploying —
 * a bit per distribution, in the order the wait was given them (base64), so the result stays small at any
 * wave size — with their count and the first few ids (for a person reading the execution's history).
 */
interface DeployPoll {
  at: string;
  pendingCount: number;
  pendingMask: string;
  firstPending: string[];
}

/** What executions recorded before the mask: every pending id (and, before that, a bare list of them). */
type LegacyDeployPoll = { pending: string[]; at: string } | string[];

/** The ids still deploying, as a bit per id of `ids` (base64). */
export function pendingMaskOf(ids: readonly string[], pending: ReadonlySet<string>): string {
  const bits = Buffer.alloc(Math.ceil(ids.length / 8));
  ids.forEach((id, i) => {
    if (pending.has(id)) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits.toString("base64");
}

/** The ids of `ids` a mask marks. */
export function pendingOfMask(ids: readonly string[], mask: string): string[] {
  const bits = Buffer.from(mask, "base64");
  return ids.filter((_, i) => ((bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0);
}

/**
 * Poll until the distributions are Deployed (durable waits between polls); false at the deadline. Each poll
 * reads only the distributions the previous poll (a checkpointed step result, so replays read the same)
 * left pending: the reads add up to about the wave plus what is still deploying at each poll. The deadline
 * is time from the first poll, read inside each poll's step (checkpointed: a replay decides the same), and
 * no wait runs past it.
 */
export async function waitDeployed(
  r: Rotation,
  name: string,
  ids: string[],
  options: { safePoint?: boolean } = {},
): Promise<boolean> {
  if (ids.length === 0) return true;
  const { deploy } = r.settings;
  let firstPollAt: number | undefined;
  let pending: string[] = ids;
  for (let poll = 1; ; poll += 1) {
    const reading = pending;
    const answer = await r.act<DeployPoll | LegacyDeployPoll>(`${name}:deploy:${poll}`, async () => {
      // A safe point of a wave (not of the rollback's own wait): a requested rollback ends the wait early.
      if (options.safePoint) await haltIfRollbackRequested(r);
      const statuses = await r.deps.distributions.deploymentStatus(reading);
      const still = reading.filter((id) => statuses[id] !== "Deployed");
      return {
        at: r.at(),
        pendingCount: still.length,
        pendingMask: pendingMaskOf(ids, new Set(still)),
        firstPending: still.slice(0, 5),
      };
    });
    // Executions recorded before the mask kept every pending id; before polls kept their time, a bare list
    // (their deadline counts polls, as it did then).
    const at = Array.isArray(answer) ? undefined : answer.at;
    pending = Array.isArray(answer)
      ? answer
      : "pendingMask" in answer
        ? pendingOfMask(ids, answer.pendingMask)
        : answer.pending;
    if (pending.length === 0) return true;
    if (at === undefined) {
      if (poll >= 1 + Math.floor(deploy.timeoutSeconds / deploy.pollSeconds)) return false;
      await r.wait(`${name}:deploy:${poll}:wait`, deploy.pollSeconds);
      continue;
    }
    firstPollAt ??= Date.parse(at);
    const remaining = deploy.timeoutSeconds - (Date.parse(at) - firstPollAt) / 1000;
    if (remaining < 1) return false;
    await r.wait(
      `${name}:deploy:${poll}:wait`,
      Math.max(1, Math.min(deploy.pollSeconds, Math.floor(remaining))),
    );
  }
}
