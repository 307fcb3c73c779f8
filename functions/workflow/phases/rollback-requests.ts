/**
 * Rollbacks an operator asked for between control points (adapters/rollback-requests.ts records them): the
 * workflow reads the request inside the steps of its safe points — each swap (before the distribution
 * changes), each deploy poll and each gate poll of a wave — so the decision is checkpointed with the step
 * and a replay takes it the same way. Nothing is ever half-swapped: a swap's step finds the request before it
 * changes anything.
 */
import { AdapterError } from "../../adapters/errors.ts";
import { RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import type { Halt } from "./rollback.ts";

/**
 * An operator asked for a rollback between control points: the step that found it fails with this (not
 * retried), and the wave rolls back from there. Checkpointed like any step error: a replay halts the same way.
 */
export class RollbackRequestedError extends AdapterError {
  override name = "RollbackRequestedError";
  override readonly retryable = false;
  readonly actor: string;
  constructor(request: { actor: string; reason: string }) {
    super(`${request.actor}|${request.reason}`);
    this.actor = request.actor;
  }
}

/** Throws RollbackRequestedError when an operator asked for a rollback (a safe point's check). */
export async function haltIfRollbackRequested(r: Rotation): Promise<void> {
  const request = await r.deps.store.rollbackRequestOf?.(r.id);
  if (request) throw new RollbackRequestedError(request);
}

/** The Halt of a step that found a rollback request, or undefined for any other error. */
export function requestedHalt(error: unknown, where: string): Halt | undefined {
  const e = error as { name?: unknown; message?: unknown; cause?: { name?: unknown } } | undefined;
  // Past a step the error is the SDK's StepError, its cause the class the step threw; the message is kept.
  const requested = e?.name === "RollbackRequestedError" || e?.cause?.name === "RollbackRequestedError";
  if (!requested || typeof e?.message !== "string") return undefined;
  // The message carries the request: "<actor>|<reason>".
  const split = e.message.indexOf("|");
  const actor = e.message.slice(0, split);
  const reason = e.message.slice(split + 1);
  return { reason: RotationReason.ManualRollback, actor, detail: reason || `rollback requested ${where}` };
}
