/** Lock the certificate for this rotation, record its start and tell subscribers. */
import { RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import { RotationEndedError } from "./end.ts";

/** A certificate another rotation holds ends this one at once (FAILED): there is nothing to undo. */
export async function lock(r: Rotation): Promise<void> {
  const { request } = r;
  const lock = await r.act("lock", () => r.deps.store.acquireLock(request.certificateArn, r.id));
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
