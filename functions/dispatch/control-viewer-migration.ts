/**
 * An operator's decision for a viewer CA migration waiting for approval (a domain with `approval:
 * "before-announce"`): approve the announcement, or roll the migration back. Delivered, as a rotation's
 * (control-rotation.ts), to the durable callback the workflow recorded as its control point, with the same
 * sender and the same message; no open control point is refused with the status found (the API answers 409).
 */
import type { ViewerMigrationStatus } from "../core/viewer-migration.ts";
import {
  CallbackClosedError,
  type CallbackSender,
  type ControlMessage,
  type OperatorDecision,
} from "./control-rotation.ts";

/** What control needs of the migration's record (adapters/viewer-migration-reads.ts). */
export interface ViewerControlStore {
  get(
    migrationId: string,
  ): Promise<{ state: { status: ViewerMigrationStatus }; control?: { callbackId: string } } | undefined>;
  /**
   * Records a rollback for the migration's next safe point (workflow/viewer-migration.ts rollbackAsked);
   * false when one was recorded already. Without it, a rollback outside the approval is refused.
   */
  requestRollback?(
    migrationId: string,
    request: { actor: string; reason: string; requestedAt: string },
  ): Promise<boolean>;
}

export class UnknownViewerMigrationError extends Error {
  override name = "UnknownViewerMigrationError";
}

/** The migration exists but waits at no control point; `status` is what it was found in. */
export class NotControllableViewerMigrationError extends Error {
  override name = "NotControllableViewerMigrationError";
  readonly status: ViewerMigrationStatus;
  constructor(message: string, status: ViewerMigrationStatus, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

export interface ViewerControlResult {
  migrationId: string;
  action: OperatorDecision;
  /**
   * The control point the decision was delivered to; `requested`: a rollback recorded while the migration
   * waited at none, acted on at its next safe point (before each publish, after each proof attempt).
   */
  kind: "approval" | "requested";
}

export async function controlViewerMigration(
  store: ViewerControlStore,
  sender: CallbackSender,
  migrationId: string,
  message: ControlMessage,
  now: () => Date = () => new Date(),
): Promise<ViewerControlResult> {
  const record = await store.get(migrationId);
  if (!record) throw new UnknownViewerMigrationError(`no viewer migration ${migrationId}`);
  const { status } = record.state;
  if (status !== "running")
    throw new NotControllableViewerMigrationError(
      `viewer migration ${migrationId} has already ended (${status})`,
      status,
    );
  if (!record.control && message.action === "rollback" && store.requestRollback) {
    // Between safe points (publishing, proving): recorded once, acted on at the next one. A request that
    // finds one recorded already changes nothing (the first is the one acted on).
    await store.requestRollback(migrationId, {
      actor: message.actor,
      reason: message.reason,
      requestedAt: now().toISOString(),
    });
    return { migrationId, action: "rollback", kind: "requested" };
  }
  if (!record.control)
    throw new NotControllableViewerMigrationError(
      `viewer migration ${migrationId} is running and not waiting for approval (it waits only after its ` +
        "proof, in a domain with approval before-announce) — look at its state and retry then",
      status,
    );
  try {
    await sender.succeed(record.control.callbackId, JSON.stringify(message));
  } catch (error) {
    if (!(error instanceof CallbackClosedError)) throw error;
    throw new NotControllableViewerMigrationError(
      `viewer migration ${migrationId} moved on from its approval before the decision arrived; look at its ` +
        "state and retry if it still applies",
      status,
      { cause: error },
    );
  }
  return { migrationId, action: message.action, kind: "approval" };
}
