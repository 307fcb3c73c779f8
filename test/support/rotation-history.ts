/** Recording a rotation's events in the store as the workflow does: each with its sequence and the fold. */
import type { RotationStore } from "../../functions/adapters/rotation-store.ts";
import {
  applyEvent,
  initialState,
  type RotationEvent,
  type RotationState,
} from "../../functions/core/rotation.ts";

/** Record every event with its sequence (0, 1, ...) and the fold up to it; returns the final state. */
export async function recordAll(
  store: RotationStore,
  rotationId: string,
  events: RotationEvent[],
): Promise<RotationState> {
  let state = initialState(rotationId);
  for (const [sequence, event] of events.entries()) {
    state = applyEvent(state, event);
    await store.record(state, event, sequence);
  }
  return state;
}
