/**
 * Moments of a rotation that scenario actions wait for (a rollback asked for between control points, an
 * origin that changes mid-run): `when` is one of ROLLBACK_WHEN, `afterWave` narrows it to one wave.
 *
 * - `deploying`: every distribution of the wave is swapped and CloudFront is deploying them;
 * - `baking`: the wave's bake window (its manual-rollback control point) is open;
 * - `gate`: the wave deployed, its bake window (if any) closed, and its gate waits for datapoints;
 * - `approval`: the wave's approval (a control point) is open.
 *
 * Read from the rotation store (the wave's status and distributions) and from the control points the
 * workflow opened and closed, as the runner tracks them ("<kind>:<wave>").
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type RotationState, TERMINAL_STATUSES } from "../functions/core/rotation.ts";
import type { SandboxFleet } from "./fleet.ts";
import type { ROLLBACK_WHEN } from "./scenario.ts";

export type Moment = (typeof ROLLBACK_WHEN)[number];

const POLL_MS = 100;
const RealDate = globalThis.Date;

/** A wait that ended at the scenario's timeout (or an interruption): the run counts as timed out. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/** A rotation's open control point and the ones it closed, as "<kind>:<wave>" ("bake:0"). */
export interface ControlHistory {
  open?: string;
  closed: Set<string>;
}

/**
 * Where the rotation is with respect to the moment: `there` (the wave it is at that moment in), or `past`
 * (a wave that went by the moment; the caller decides whether that matters), or neither (not yet).
 */
export function findMoment(
  state: Pick<RotationState, "waves">,
  control: ControlHistory | undefined,
  when: Moment,
  afterWave: number | undefined,
  bakeSeconds: number,
): { there?: RotationState["waves"][number]; past?: RotationState["waves"][number] } {
  const waves = state.waves.filter((w) => afterWave === undefined || w.index === afterWave);
  const closed = (kind: string, w: { index: number }) => control?.closed.has(`${kind}:${w.index}`) ?? false;
  type Wave = RotationState["waves"][number];
  const at: Record<Moment, (w: Wave) => boolean> = {
    // Every distribution of the wave swapped, CloudFront not done deploying them.
    deploying: (w) => w.status === "swapping" && w.distributions.every((d) => d.outcome !== "pending"),
    // Deployed, the bake window (if any) over, no gate result yet.
    gate: (w) =>
      w.status === "baking" && control?.open === undefined && (bakeSeconds === 0 || closed("bake", w)),
    baking: (w) => control?.open === `bake:${w.index}`,
    approval: (w) => control?.open === `approval:${w.index}`,
  };
  const gone: Record<Moment, (w: Wave) => boolean> = {
    deploying: (w) => ["baking", "gated", "passed", "failed"].includes(w.status),
    gate: (w) => w.gate !== undefined,
    baking: (w) => closed("bake", w) || w.gate !== undefined,
    approval: (w) => closed("approval", w),
  };
  const there = waves.find(at[when]);
  const past = waves.find(gone[when]);
  return { ...(there ? { there } : {}), ...(past ? { past } : {}) };
}

/** "wave 1 baking", "the gate's wait of any wave", for lines and errors. */
export function describeMoment(when: Moment, afterWave: number | undefined): string {
  const wave = afterWave === undefined ? "any wave" : `wave ${afterWave}`;
  switch (when) {
    case "deploying":
      return `${wave} deploying (swapped, CloudFront deploying)`;
    case "baking":
      return `${wave} baking (bake window open)`;
    case "gate":
      return `${wave} at its gate (waiting for datapoints)`;
    case "approval":
      return `${wave} waiting for approval`;
  }
}

export interface MomentContext {
  world: Pick<SandboxFleet, "store" | "config">;
  limit: { deadline: number; interrupted: boolean };
  controls: Map<string, ControlHistory>;
  latestRotation(certificate: string): { rotationId: string } | undefined;
}

/**
 * Waits until the certificate's latest rotation is at the moment; returns it and the wave. Fails when the
 * rotation ends first, or (with `afterWave`) moves past that wave's moment before it was seen; a
 * DeadlineError at the scenario's timeout.
 */
export async function waitForMoment(
  ctx: MomentContext,
  certificate: string,
  when: Moment,
  afterWave: number | undefined,
): Promise<{ rotationId: string; wave: number }> {
  const where = describeMoment(when, afterWave);
  for (;;) {
    if (RealDate.now() > ctx.limit.deadline)
      throw new DeadlineError(
        `no ${where} reached: ${ctx.limit.interrupted ? "when the run was interrupted" : "at the scenario's timeout"}`,
      );
    const rotation = ctx.latestRotation(certificate);
    const state = rotation ? await ctx.world.store.get(rotation.rotationId) : undefined;
    if (rotation && state) {
      if (TERMINAL_STATUSES.includes(state.status))
        throw new Error(`rotation ${rotation.rotationId} ended (${state.status}) before ${where}`);
      const { there, past } = findMoment(
        state,
        ctx.controls.get(rotation.rotationId),
        when,
        afterWave,
        ctx.world.config.settings.bakeSeconds ?? 0,
      );
      if (there) return { rotationId: rotation.rotationId, wave: there.index };
      if (past && afterWave !== undefined)
        throw new Error(`rotation ${rotation.rotationId} moved past ${where} before the sandbox saw it`);
    }
    await sleep(POLL_MS);
  }
}
