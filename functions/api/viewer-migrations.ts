/**
 * The viewer CA migration routes' use-cases: start (or dry-run) a migration of a viewer trust domain, list
 * and show migrations, and deliver an operator's approval or rollback. Requests arrive validated
 * (schemas.ts); the caller is the IAM principal. As the rotation routes (rotations.ts): an unknown domain is
 * a 404 naming the configured ones, a domain another migration holds a 409 naming it, a start is a durable
 * start of the workflow named after the migration (dispatch/start-viewer-migration.ts). Answers hold CA
 * facts (subject, fingerprint, expiry), never certificate bodies.
 */
import type * as z from "zod/mini";
import { InvalidNextTokenError } from "../adapters/rotation-reads.ts";
import type { ViewerMigrationReads } from "../adapters/viewer-migration-reads.ts";
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import { DEFAULT_HISTORY_PAGE } from "../core/rotation.ts";
import type { CallbackSender, OperatorDecision } from "../dispatch/control-rotation.ts";
import {
  controlViewerMigration,
  NotControllableViewerMigrationError,
  UnknownViewerMigrationError,
} from "../dispatch/control-viewer-migration.ts";
import { AttemptsExhaustedError, type WorkflowStarter } from "../dispatch/start-rotation.ts";
import {
  liveViewerLockHolder,
  startViewerMigration,
  viewerMigrationBaseName,
} from "../dispatch/start-viewer-migration.ts";
import type { ViewerMigrationInput } from "../workflow/viewer-migration.ts";
import { conflict, notFound, validationError } from "./http.ts";
import type {
  AnswerOf,
  GetViewerMigrationQuery,
  ListViewerMigrationsQuery,
  ROUTES,
  StartViewerMigrationBody,
} from "./schemas.ts";

/** What the viewer migration routes need; each route takes only its part. */
export interface ViewerMigrationRoutesDeps {
  /** The stage's viewer trust domains (ViewerSettings). */
  domains: readonly ViewerTrustDomain[];
  reads: Pick<
    ViewerMigrationReads,
    "get" | "statusOf" | "lockHolder" | "page" | "historyPage" | "releaseLock" | "requestRollback"
  >;
  starter: WorkflowStarter<ViewerMigrationInput>;
  callbacks: CallbackSender;
  now?: () => Date;
}

/** Where an operator follows a migration. */
export function viewerMigrationSee(migrationId: string) {
  return {
    api: `GET /viewer-migrations/${migrationId}`,
    cli: `mtls-rotator viewer-migration ${migrationId}`,
  };
}

const PEM_MARKER = "-----BEGIN";

/** No PEM (certificate or key) may leave in an answer: refuse (500) rather than answer one. */
function withoutPem<T>(answer: T): T {
  if (JSON.stringify(answer).includes(PEM_MARKER))
    throw new Error("refusing to answer PEM material from a viewer migration record");
  return answer;
}

/** The domain the request names, or a 404 naming the configured ones. */
function configuredDomain(domains: readonly ViewerTrustDomain[], name: string): ViewerTrustDomain {
  const domain = domains.find((d) => d.name === name);
  if (domain) return domain;
  const known = domains.map((d) => d.name);
  throw notFound(
    `no viewer trust domain "${name}" in this stage's settings; ` +
      (known.length > 0
        ? `configured: ${known.join(", ")}`
        : "none is configured (MTLS_ROTATOR_VIEWER_TRUST_DOMAINS)"),
  );
}

/** POST /viewer-migrations: 202 with the migration started (or converged on). */
export async function requestViewerMigration(
  deps: Pick<ViewerMigrationRoutesDeps, "domains" | "reads" | "starter" | "now">,
  body: z.output<typeof StartViewerMigrationBody>,
  actor: string,
): Promise<AnswerOf<typeof ROUTES.startViewerMigration>> {
  const domain = configuredDomain(deps.domains, body.domain);
  const action = body.action ?? "migrate";
  // The workflow would refuse at its plan: say so now, and start nothing.
  if (action === "migrate" && !domain.authorities.next)
    throw conflict(
      `viewer trust domain ${domain.name} names no authorities.next: set the CA viewers move to, then migrate`,
    );
  if (action === "retire" && domain.authorities.previous.length === 0)
    throw conflict(`viewer trust domain ${domain.name} lists no previous CA to retire`);
  const request = {
    domain,
    action,
    actor,
    reason: body.reason,
    ...(body.dryRun ? { dryRun: true } : {}),
  };
  const now = (deps.now ?? (() => new Date()))();
  // A holder Lambda reports ended (it died before releasing the lock) is released, not waited for. A live
  // holder that is an attempt of this very request (same domain, action and CAs) is where a duplicate
  // converges (202, started false); any other is refused.
  const holder = await liveViewerLockHolder(domain.name, deps.reads, deps.starter);
  const base = viewerMigrationBaseName(request, now);
  if (holder !== undefined && holder !== base && !holder.startsWith(`${base}-`))
    throw conflict(`viewer migration ${holder} of viewer trust domain ${domain.name} is running`);
  let started: { migrationId: string; started: boolean };
  try {
    started = await startViewerMigration(deps.starter, deps.reads, request, now);
  } catch (error) {
    if (error instanceof AttemptsExhaustedError) throw conflict(error.message);
    throw error;
  }
  return {
    status: 202,
    body: {
      migrationId: started.migrationId,
      domain: domain.name,
      action,
      dryRun: body.dryRun === true,
      started: started.started,
      see: viewerMigrationSee(started.migrationId),
    },
  };
}

/** GET /viewer-migrations: newest first, a page at a time. */
export async function listViewerMigrations(
  deps: Pick<ViewerMigrationRoutesDeps, "reads">,
  query: z.output<typeof ListViewerMigrationsQuery>,
): Promise<AnswerOf<typeof ROUTES.listViewerMigrations>> {
  try {
    const page = await deps.reads.page({
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
    });
    return { status: 200, body: page as AnswerOf<typeof ROUTES.listViewerMigrations>["body"] };
  } catch (error) {
    if (error instanceof InvalidNextTokenError)
      throw validationError([{ field: "nextToken", message: "is not a nextToken this listing handed out" }]);
    throw error;
  }
}

/**
 * GET /viewer-migrations/{id}: the request, the state (plan, published trust points, last proof, announcement
 * and retireAfter, reason and detail), the newest events a page at a time, and whether it waits for approval
 * (the callback id stays in the store).
 */
export async function getViewerMigration(
  deps: Pick<ViewerMigrationRoutesDeps, "reads">,
  migrationId: string,
  query: z.output<typeof GetViewerMigrationQuery> = {},
): Promise<AnswerOf<typeof ROUTES.getViewerMigration>> {
  const record = await deps.reads.get(migrationId);
  if (!record) throw notFound(`no viewer migration ${migrationId}`);
  const history = await deps.reads.historyPage(migrationId, {
    limit: query.historyLimit ?? DEFAULT_HISTORY_PAGE,
    ...(query.historyBefore !== undefined ? { before: query.historyBefore } : {}),
  });
  return withoutPem({
    status: 200,
    body: {
      request: record.request,
      state: record.state,
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      history: history.events,
      historyStart: history.start,
      ...(record.control ? { control: { kind: "approval" as const } } : {}),
      see: viewerMigrationSee(migrationId),
    },
  });
}

/**
 * POST /viewer-migrations/{id}/approve and /rollback: the decision, with the caller as its actor, delivered
 * to the approval the migration waits at (202); 404 for an unknown migration, 409 when it waits at none.
 */
export async function decideViewerMigration(
  deps: Pick<ViewerMigrationRoutesDeps, "reads" | "callbacks">,
  migrationId: string,
  action: OperatorDecision,
  actor: string,
  reason: string | undefined,
): Promise<AnswerOf<(typeof ROUTES)["approveViewerMigration" | "rollbackViewerMigration"]>> {
  try {
    const result = await controlViewerMigration(deps.reads, deps.callbacks, migrationId, {
      action,
      actor,
      reason: reason ?? "",
    });
    return { status: 202, body: result };
  } catch (error) {
    if (error instanceof UnknownViewerMigrationError) throw notFound(error.message);
    if (error instanceof NotControllableViewerMigrationError) throw conflict(error.message);
    throw error;
  }
}
