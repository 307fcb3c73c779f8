/**
 * An operator's rollback asked for between control points (a deploy wait, a gate's wait for datapoints, the
 * preflight): one item per rotation (`ROT#<id>` / `ROLLBACK`, rotation-reads.ts), written only where none is,
 * so the first request is the one acted on. The workflow reads it at its next safe point (before each swap,
 * at each deploy or gate poll of a wave) and rolls back from there: nothing is ever half-swapped.
 */
import { type RollbackRequest, rollbackRequestKey } from "./rotation-reads.ts";
import type { TableWrites } from "./table-reads.ts";

export class RollbackRequests {
  readonly #writes: TableWrites;

  constructor(writes: TableWrites) {
    this.#writes = writes;
  }

  /** Record the request; false when one was already recorded (nothing written). */
  async request(rotationId: string, request: RollbackRequest): Promise<boolean> {
    return this.#writes.putIfAbsent({ ...rollbackRequestKey(rotationId), rotationId, ...request });
  }
}
