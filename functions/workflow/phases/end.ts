/**
 * The one way a rotation ends, whatever the path: its last history event, its distributions' claims and its
 * lock released, subscribers told
 * once; then the outcome, or a failed execution (so alarms fire) when it did not complete.
 */
import type { NotificationEvent } from "../../core/notifications.ts";
import type { RotationEvent, RotationReason, RotationState } from "../../core/rotation.ts";
import type { RotationOutcome } from "../contract.ts";
import type { Rotation } from "../steps.ts";
import { plannedDistributionIds } from "./claim.ts";
import { isStorageLimit } from "./stop.ts";

/** The workflow ends FAILED (so alarms fire) when a rotation is rolled back, aborted or fails. */
export class RotationEndedError extends Error {
  override name = "RotationEndedError";
  readonly reason: RotationReason;
  readonly status: RotationState["status"];
  constructor(status: RotationState["status"], reason: RotationReason, detail: string) {
    super(`rotation ${status} (${reason}): ${detail}`);
    this.status = status;
    this.reason = reason;
  }
}

/** How a rotation ends. */
export interface Ending {
  /** The name of the last history step. */
  step: "complete" | "dry-run" | "abort" | "rollback:done" | "stop";
  /** Its event, stamped inside the step. */
  event: (at: string) => RotationEvent;
  /** What subscribers are told (a dry run tells nobody). */
  notification?: { event: NotificationEvent; detail: Record<string, unknown> };
  /** Why the execution fails, when the rotation did not complete. */
  failure?: { status: RotationState["status"]; reason: RotationReason; detail: string };
}

export async function end(r: Rotation, ending: Ending): Promise<RotationOutcome> {
  try {
    await r.record(ending.step, async () => ending.event(r.at()));
  } catch (error) {
    // A rotation stopped by a storage limit may be unable to record even its end (the same item over the
    // limit): its claims and lock are still released and operators still told, below.
    if (ending.step !== "stop" || !isStorageLimit(error)) throw error;
    r.log("the stop could not be recorded", { error: (error as Error).message });
  }
  // The distributions first: a claim whose holder no longer holds its certificate's lock is stale anyway.
  await r.act("unlock", async () => {
    await r.deps.store.releaseDistributions(r.id, plannedDistributionIds(r));
    return r.deps.store.releaseLock(r.request.certificateArn, r.id);
  });
  if (ending.notification) await r.notify("end", ending.notification.event, ending.notification.detail);
  if (ending.failure) {
    const { status, reason, detail } = ending.failure;
    throw new RotationEndedError(status, reason, detail);
  }
  return {
    rotationId: r.id,
    status: r.state.status,
    newCertificateArn: r.state.issued?.certificateArn,
    waves: r.state.waves.length,
  };
}
