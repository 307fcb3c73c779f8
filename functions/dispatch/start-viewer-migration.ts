/**
 * Start a viewer CA migration: name its durable execution (= the migration id) after what it acts on — the
 * domain, the action and the domain's CAs as configured now — and start it, as rotations are started
 * (start-rotation.ts: the same starter, the same attempt naming). Duplicate requests for the same domain,
 * action and CAs carry the same name and converge on one execution; a migration that ended without success
 * (failed, rolled back, refused) keeps its name, so a retry takes the next attempt's. A changed configuration
 * (a new `authorities.next`) is another name. A dry run is named after the minute it was asked in too: it
 * ends as soon as it planned, and the next minute's dry run plans afresh.
 */
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import { sha256Hex } from "../core/pem.ts";
import { VIEWER_MIGRATION_ID } from "../core/requests.ts";
import type { ViewerMigrationAction, ViewerMigrationStatus } from "../core/viewer-migration.ts";
import type { ViewerMigrationInput } from "../workflow/viewer-migration.ts";
import {
  type AttemptHistory,
  type AttemptOutcomes,
  attemptName,
  isAlreadyStarted,
  liveLockHolder,
  type RotationHistory,
  type WorkflowStarter,
} from "./start-rotation.ts";

export { VIEWER_MIGRATION_ID };

/** How a migration's recorded status reads to attempt naming. */
export const VIEWER_MIGRATION_OUTCOMES: AttemptOutcomes<ViewerMigrationStatus> = {
  converge: ["announced", "retired"],
  ended: ["dry-run", "failed", "rolled-back", "refused"],
  what: "viewer migration",
  runs: "attempts",
};

export interface StartViewerMigrationRequest {
  /** The domain as the stage configures it now. */
  domain: ViewerTrustDomain;
  action: ViewerMigrationAction;
  actor: string;
  reason: string;
  dryRun?: boolean;
}

/**
 * The first attempt's name: `vmig-` (a dry run: `vdry-`), `m`/`r` for migrate/retire, the domain's name, and
 * a hash of what the migration acts on (at most 5 + 2 + 40 + 1 + 12 = 60 characters; an attempt adds `-<n>`).
 */
export function viewerMigrationBaseName(request: StartViewerMigrationRequest, now: Date): string {
  const { domain, action, dryRun } = request;
  const key = JSON.stringify({
    domain: domain.name,
    action,
    authorities: domain.authorities,
    ...(dryRun ? { dryRunAt: now.toISOString().slice(0, 16) } : {}),
  });
  return `${dryRun ? "vdry" : "vmig"}-${action === "migrate" ? "m" : "r"}-${domain.name}-${sha256Hex(key).slice(0, 12)}`;
}

/** What the dispatcher reads of earlier migrations (adapters/viewer-migration-reads.ts). */
export interface ViewerMigrationHistory {
  statusOf(migrationId: string): Promise<string | undefined>;
  lockHolder(domain: string): Promise<string | undefined>;
  /** Release the domain's lock if `migrationId` holds it (conditional: a no-op otherwise). */
  releaseLock?(domain: string, migrationId: string): Promise<void>;
}

/** The history as the rotations' attempt naming and lock liveness read it (the domain in the key's place). */
function attemptHistory(
  history: ViewerMigrationHistory,
): AttemptHistory<ViewerMigrationStatus> & Pick<RotationHistory, "releaseLock"> {
  return {
    statusOf: async (id) => (await history.statusOf(id)) as ViewerMigrationStatus | undefined,
    activeRotationFor: (domain) => history.lockHolder(domain),
    ...(history.releaseLock
      ? { releaseLock: (domain: string, id: string) => history.releaseLock!(domain, id) }
      : {}),
  };
}

/**
 * The migration holding the domain's lock, if it is alive: one whose execution Lambda reports ended (failed,
 * timed out, stopped before it released the lock) is dead, and its lock is released so the domain is not
 * blocked until the lease ends; one Lambda reports running, or whose liveness cannot be known, keeps it.
 */
export function liveViewerLockHolder(
  domain: string,
  history: ViewerMigrationHistory,
  starter: Pick<WorkflowStarter<ViewerMigrationInput>, "status">,
): Promise<string | undefined> {
  return liveLockHolder(domain, attemptHistory(history), starter);
}

export async function startViewerMigration(
  starter: WorkflowStarter<ViewerMigrationInput>,
  history: ViewerMigrationHistory,
  request: StartViewerMigrationRequest,
  now: Date,
): Promise<{ migrationId: string; started: boolean }> {
  // Lambda's word on earlier attempts' executions, when it has one: a dead one's name is not converged on.
  const migrationId = await attemptName(
    viewerMigrationBaseName(request, now),
    attemptHistory(history),
    request.domain.name,
    starter,
    VIEWER_MIGRATION_OUTCOMES,
  );
  if (!VIEWER_MIGRATION_ID.test(migrationId))
    throw new Error(
      `derived migration id ${JSON.stringify(migrationId)} is not a valid durable execution name`,
    );
  // A pure function of the request: an identical retry is an identical start.
  const payload: ViewerMigrationInput = {
    migrationId,
    domain: request.domain.name,
    action: request.action,
    actor: request.actor,
    reason: request.reason,
    ...(request.dryRun ? { dryRun: true } : {}),
  };
  try {
    const result = await starter.start(migrationId, payload);
    return { migrationId, started: result.started };
  } catch (error) {
    if (isAlreadyStarted(error)) return { migrationId, started: false };
    throw error;
  }
}
