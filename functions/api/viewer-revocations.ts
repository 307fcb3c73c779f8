/**
 * The viewer revocation routes' use-cases (docs/viewer-revocation.md): revoke a viewer certificate at the
 * edge (POST /viewer-revocations), take a revocation back (DELETE /viewer-revocations/{serial}) and read one
 * (GET). Requests arrive validated (schemas.ts: the serial already in its normal form); the caller is the
 * IAM principal, recorded with the revocation and named in the audit notification.
 *
 * A stage without a revocation store answers 409 and changes nothing. Every change of the list is announced
 * (viewer-certificate-revoked / -reinstated); a change that is no change (revoked already, not on the list)
 * is not. A notification that cannot be published does not undo the change: the answer says `notified:
 * false` and the log says why (an operator retrying would find nothing to change, and no second notice).
 */
import type { RevocationRecord, ViewerRevocations } from "../adapters/viewer-revocations.ts";
import {
  type Notification,
  type ViewerRevocationEvent,
  viewerRevocationNotification,
} from "../core/notifications.ts";
import { InvalidViewerSerialError } from "../core/viewer-serial.ts";
import type { LogFn } from "../wiring/observability.ts";
import { conflict, validationError } from "./http.ts";
import type { AnswerOf, ROUTES } from "./schemas.ts";

/** The stage's configuration names no store: what to set. */
export const NO_REVOCATION_STORE =
  "no viewer revocation store is configured for this stage: set MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN " +
  "(or viewerRevocationStoreArn in infra/settings.ts STAGES) to the KeyValueStore the connection function " +
  "reads, and deploy (docs/viewer-revocation.md); nothing was changed";

export interface ViewerRevocationDeps {
  /** The revocation list; absent when the stage configures no store. */
  list?: {
    storeArn: string;
    revocations: Pick<ViewerRevocations, "revoke" | "withdraw" | "record">;
  };
  notifier: { publish(notification: Notification): Promise<unknown> };
  /** The clock of reinstatements (a revocation's time is the list's). */
  now?: () => Date;
  log: LogFn;
}

function listOf(deps: Pick<ViewerRevocationDeps, "list">): NonNullable<ViewerRevocationDeps["list"]> {
  if (!deps.list) throw conflict(NO_REVOCATION_STORE);
  return deps.list;
}

/** The record as answered: no field beyond the three the list keeps. */
function viewOf(record: RevocationRecord): RevocationRecord {
  return {
    reason: record.reason,
    revokedAt: record.revokedAt,
    ...(record.revokedBy === undefined ? {} : { revokedBy: record.revokedBy }),
  };
}

/** Publishes the audit notification of a change; false (and a log line) when SNS did not take it. */
async function announce(
  deps: ViewerRevocationDeps,
  event: ViewerRevocationEvent,
  change: Parameters<typeof viewerRevocationNotification>[1],
): Promise<boolean> {
  try {
    await deps.notifier.publish(viewerRevocationNotification(event, change));
    return true;
  } catch (error) {
    deps.log("ERROR", "viewer revocation notification not published", {
      event,
      serial: change.serial,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return false;
  }
}

export async function revokeViewer(
  deps: ViewerRevocationDeps,
  request: { serial: string; reason: string },
  actor: string,
): Promise<AnswerOf<typeof ROUTES.revokeViewer>> {
  const { storeArn, revocations } = listOf(deps);
  let result: Awaited<ReturnType<ViewerRevocations["revoke"]>>;
  try {
    result = await revocations.revoke(request.serial, request.reason, actor);
  } catch (error) {
    // The serial passed the schema: what is left is a record over the store's value size.
    if (error instanceof InvalidViewerSerialError)
      throw validationError([{ field: "reason", message: error.message }]);
    throw error;
  }
  const revocation = viewOf(result.record);
  const notified =
    !result.alreadyRevoked &&
    (await announce(deps, "viewer-certificate-revoked", {
      serial: result.serial,
      storeArn,
      actor,
      reason: revocation.reason,
      at: revocation.revokedAt,
    }));
  return {
    status: 200,
    body: { serial: result.serial, alreadyRevoked: result.alreadyRevoked, revocation, notified },
  };
}

export async function getViewerRevocation(
  deps: Pick<ViewerRevocationDeps, "list">,
  serial: string,
): Promise<AnswerOf<typeof ROUTES.getViewerRevocation>> {
  const { revocations } = listOf(deps);
  const record = await revocations.record(serial);
  return {
    status: 200,
    body: record ? { serial, revoked: true, revocation: viewOf(record) } : { serial, revoked: false },
  };
}

export async function reinstateViewer(
  deps: ViewerRevocationDeps,
  serial: string,
  reason: string,
  actor: string,
): Promise<AnswerOf<typeof ROUTES.reinstateViewer>> {
  const { storeArn, revocations } = listOf(deps);
  const withdrawn = await revocations.withdraw(serial);
  if (withdrawn === undefined) return { status: 200, body: { serial, reinstated: false, notified: false } };
  const revocation = viewOf(withdrawn);
  const notified = await announce(deps, "viewer-certificate-reinstated", {
    serial,
    storeArn,
    actor,
    reason,
    at: (deps.now ?? (() => new Date()))().toISOString(),
    revocation,
  });
  return { status: 200, body: { serial, reinstated: true, revocation, notified } };
}
