/** Lock the certificate for this rotation, record its start and tell subscribers. */
import { worstCaseSeconds } from "../../config/settings.ts";
import { RotationReason } from "../../core/rotation.ts";

/** Beyond the rotation's worst case (retries, backoffs, a slow control plane): the lease's margin. */
export const LOCK_LEASE_MARGIN_SECONDS = 86_400;

import type { Rotation } from "../steps.ts";
import { RotationEndedError } from "./end.ts";

/** A certificate another rotation holds ends this one at once (FAILED): there is nothing to undo. */
export async function lock(r: Rotation): Promise<void> {
  const { request } = r;
  // A lease as long as the longest this rotation can run, and a day more: a holder past it is dead.
  const leaseSeconds = worstCaseSeconds(r.settings) + LOCK_LEASE_MARGIN_SECONDS;
  const lock = await r.act("lock", () =>
    r.deps.store.acquireLock(request.certificateArn, r.id, { leaseSeconds }),
  );
  if (!lock.acquired) {
    throw new RotationEndedError(
      "failed",
      RotationReason.AlreadyRotating,
      `rotation ${lock.heldBy} is already running`,
    );
  }
  await r.record("start", async () => ({ type: "started", at: r.at(), request }));
  await r.notify("started", "rotation-started", { reason: request.reason, actor: request.actor });
}
