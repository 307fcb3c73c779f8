/**
 * The rotation routes' use-cases: start (or dry-run) a rotation, list and show rotations, and deliver an
 * operator's rollback or approval. Requests arrive validated (schemas.ts); the caller is the IAM principal.
 *
 * Starting a rotation: the serial of the certificate in service comes from ACM, never from the caller, so a
 * caller cannot name a certificate generation that is not in service. An unknown certificate is a 404, a
 * certificate with a rotation running a 409 naming it. A dry run answers the plan from read-only calls and
 * changes nothing: no execution, no lock, no store write.
 */

import type { X509Certificate } from "node:crypto";
import type * as z from "zod/mini";
import { awsErrorName } from "../adapters/errors.ts";
import type { RotationPages } from "../adapters/rotation-pages.ts";
import {
  InvalidListRequestError,
  InvalidNextTokenError,
  type RotationReads,
} from "../adapters/rotation-reads.ts";
import type { RotationSettings } from "../config/settings.ts";
import { factsOf, ReplacementKeyError } from "../core/certificate.ts";
import { tryParseCertificate } from "../core/pem.ts";
import {
  DEFAULT_HISTORY_PAGE,
  type PlannedCertificate,
  type RotationEvent,
  type RotationOverrides,
  type RotationState,
} from "../core/rotation.ts";
import {
  type ManagedAuthority,
  managementFactsOf,
  managementOf,
  type NotManagedReason,
} from "../core/tracking.ts";
import {
  type CallbackSender,
  controlRotation,
  NotControllableError,
  type OperatorDecision,
  type RollbackRequester,
  UnknownRotationError,
} from "../dispatch/control-rotation.ts";
import {
  AttemptsExhaustedError,
  InvalidRotationRequestError,
  liveLockHolder,
  startRotation,
  type WorkflowStarter,
} from "../dispatch/start-rotation.ts";
import {
  DistributionsNotAllowedError,
  NotPresentedError,
  type PlanDeps,
  planRotation,
  settingsWithOverrides,
  worstCaseSeconds,
} from "../workflow/plan.ts";
import { conflict, notFound, RequestRefusedError, validationError } from "./http.ts";
import type { AnswerOf, GetRotationQuery, ListRotationsQuery, ROUTES, StartRotationBody } from "./schemas.ts";

export const DEFAULT_REASON = "manual rotation via API";

/**
 * What the rotation routes need (start, list, show, roll back, approve); each route takes only its part.
 * Not the workflow's own dependencies (functions/workflow/rotation-workflow.ts RotationDeps).
 */
export interface RotationRoutesDeps extends PlanDeps {
  store: Pick<RotationReads, "activeRotationFor" | "statusOf" | "list" | "getControl"> & {
    /** POST /rotations releases the lock of a rotation whose execution died (start-rotation.ts). */
    releaseLock?(certificateArn: string, rotationId: string): Promise<void>;
  };
  /** The configured CAs (tracking's ManagedAuthority): certificates their keys signed are managed. */
  managedAuthorities(): Promise<ManagedAuthority[]>;
  starter: WorkflowStarter;
  callbacks: CallbackSender;
  /** Rollbacks asked for between control points, for the rotation's next safe point. */
  rollbackRequests?: RollbackRequester;
  /** The clock of request times. */
  now?: () => Date;
}

/** What POST /rotations needs: it plans and starts, it never answers a control point. */
export type RotationRequestDeps = Omit<RotationRoutesDeps, "callbacks">;

type StartBody = z.output<typeof StartRotationBody>;
type ListQuery = z.output<typeof ListRotationsQuery>;

/** The request's per-rotation overrides, or undefined when it has none. */
export function overridesOf(body: Pick<StartBody, "waves" | "bakeSeconds" | "approval">) {
  const overrides: RotationOverrides = {
    ...(body.waves && Object.keys(body.waves).length > 0 ? { waves: body.waves } : {}),
    ...(body.bakeSeconds !== undefined ? { bakeSeconds: body.bakeSeconds } : {}),
    ...(body.approval !== undefined ? { approval: body.approval } : {}),
  };
  return Object.keys(overrides).length > 0 ? overrides : undefined;
}

/**
 * ACM's answers about a certificate the caller named, as the API's: no such certificate — or one this
 * service may not read (another account's ARN, refused by IAM) — is a 404; a certificate ACM is still
 * issuing is a 409; anything else as it is.
 */
async function orNotFound<T>(certificateArn: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const name = awsErrorName(error);
    if (name === "ResourceNotFoundException" || name === "AccessDeniedException") {
      throw new RequestRefusedError(
        "NotFound",
        `no certificate ${certificateArn} in ACM us-east-1 that this service can read`,
        {
          cause: error,
        },
      );
    }
    if (name === "RequestInProgressException") {
      throw conflict(`certificate ${certificateArn} is still being issued by ACM; retry when it is issued`);
    }
    throw error;
  }
}

/**
 * 400 when the request's overrides (waves, bake, approval) could make the rotation outlast its durable
 * execution: it would be cut off mid-rotation, with no rollback. The stage's policy is held to the same
 * bound at deploy time (infra/settings.ts).
 */
function refuseOverridesOutlastingTheExecution(settings: RotationSettings, overrides: RotationOverrides) {
  const max = settings.maxRotationSeconds;
  if (max === undefined) return;
  const worst = worstCaseSeconds(settingsWithOverrides(settings, overrides));
  if (worst <= max) return;
  const days = (seconds: number) => (seconds / 86_400).toFixed(1);
  const message =
    `with these overrides a rotation can take up to ${days(worst)} days, longer than the workflow's ` +
    `execution timeout (${days(max)} days): it would be cut off mid-rotation`;
  const fields = [
    ...(overrides.waves ? ["waves"] : []),
    ...(overrides.bakeSeconds !== undefined ? ["bakeSeconds"] : []),
    ...(overrides.approval ? ["approval"] : []),
  ];
  throw validationError(fields.map((field) => ({ field, message })));
}

/**
 * Why POST /rotations refuses a certificate the service does not manage, by reason (field certificateArn).
 * Never who issued it: anyone allowed to call POST /rotations would learn the issuer of any certificate in
 * the account.
 */
const NOT_MANAGED: Record<NotManagedReason, string> = {
  OtherIssuer: "is not a certificate this service manages: no configured Private CA issued it",
  NotClientAuth: "is not a client certificate (no clientAuth extended key usage)",
  NotImported: "is not a certificate this service manages: ACM did not import it",
};

/**
 * 400 on `certificateArn` unless the service manages the certificate (core/tracking.ts managementOf): a
 * client-auth certificate a configured CA's key signed. Whether ACM imported it is not known here (GetCertificate
 * does not say), so that check is the scan's alone.
 */
async function requireManaged(
  deps: Pick<RotationRoutesDeps, "managedAuthorities">,
  certificate: X509Certificate,
) {
  const authorities = await deps.managedAuthorities();
  const management = managementOf(managementFactsOf(certificate, authorities), authorities);
  if (!management.managed) {
    throw validationError([{ field: "certificateArn", message: NOT_MANAGED[management.reason] }]);
  }
}

/** POST /rotations: 200 with the plan (dry run), or 202 with the rotation started (or converged on). */
export async function requestRotation(
  deps: RotationRequestDeps,
  body: StartBody,
  actor: string,
): Promise<AnswerOf<typeof ROUTES.startRotation>> {
  const { certificateArn } = body;
  const overrides = overridesOf(body);
  if (overrides) refuseOverridesOutlastingTheExecution(deps.settings, overrides);

  // Only certificates the service manages: a client-auth certificate of a configured CA. Rotating anything
  // else would publish its issuer into every origin's trust bundle and later delete the certificate.
  const { certificatePem } = await orNotFound(certificateArn, () => deps.acm.getCertificate(certificateArn));
  const certificate = tryParseCertificate(certificatePem);
  if (!certificate) throw new Error(`ACM returned a certificate for ${certificateArn} that does not parse`);
  await requireManaged(deps, certificate);

  if (body.dryRun) {
    const plan = await orNotFound(certificateArn, () =>
      planRotation(deps, { certificateArn, ...(overrides ? { overrides } : {}) }),
    ).catch((error: unknown) => {
      // The plan a real rotation would refuse at its first step: say so now.
      if (
        error instanceof DistributionsNotAllowedError ||
        error instanceof ReplacementKeyError ||
        error instanceof NotPresentedError
      )
        throw conflict(error.message);
      throw error;
    });
    return { status: 200, body: { dryRun: true, plan } };
  }

  const serial = factsOf(certificate).serial;

  // A holder whose execution ended without releasing the lock is dead: its lock is released, not a 409.
  const running = await liveLockHolder(certificateArn, deps.store, deps.starter);
  if (running !== undefined) {
    throw conflict(`rotation ${running} is already running for ${certificateArn}`, running);
  }
  // The rotation would refuse at its plan; say so now rather than start an execution that fails (after
  // the running check: a running rotation's certificate may be presented by nothing any more).
  if ((await deps.distributions.findDistributionsPresenting(certificateArn)).length === 0)
    throw conflict(new NotPresentedError(certificateArn).message);

  let started: Awaited<ReturnType<typeof startRotation>>;
  try {
    started = await startRotation(
      deps.starter,
      {
        certificateArn,
        serial,
        reason: body.reason ?? DEFAULT_REASON,
        actor,
        ...(overrides ? { overrides } : {}),
      },
      deps.store,
    );
  } catch (error) {
    // The schemas check what the dispatcher checks; this is the dispatcher's word if they ever differ.
    if (error instanceof AttemptsExhaustedError) throw conflict(error.message);
    if (error instanceof InvalidRotationRequestError) {
      throw validationError(error.problems.map((message) => ({ field: fieldOfProblem(message), message })));
    }
    throw error;
  }
  const status = (await deps.store.statusOf(started.rotationId)) ?? "started";
  return { status: 202, body: { rotationId: started.rotationId, started: started.started, status } };
}

const BODY_FIELDS = ["certificateArn", "reason", "dryRun", "overrides"];

/** The field a dispatcher problem is about ("reason must be …" -> "reason"); "body" otherwise. */
function fieldOfProblem(message: string): string {
  const first = /^([A-Za-z]+)/.exec(message)?.[1] ?? "";
  return BODY_FIELDS.includes(first) ? first : "body";
}

/** GET /rotations: newest first, a page at a time. */
export async function listRotations(
  deps: Pick<RotationRoutesDeps, "store">,
  query: ListQuery,
): Promise<AnswerOf<typeof ROUTES.listRotations>> {
  try {
    const page = await deps.store.list({
      ...(query.status ? { status: query.status } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
    });
    return { status: 200, body: page };
  } catch (error) {
    if (error instanceof InvalidNextTokenError) {
      throw validationError([{ field: "nextToken", message: "is not a nextToken this listing handed out" }]);
    }
    if (error instanceof InvalidListRequestError) {
      throw validationError([{ field: "query", message: error.message }]);
    }
    throw error;
  }
}

/** A rotation's page; a nextToken it did not hand out is a 400 naming the parameter. */
async function readPage<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InvalidNextTokenError)
      throw validationError([{ field: "nextToken", message: "is not a nextToken this rotation handed out" }]);
    throw error;
  }
}

/** The old certificate without its body (a public certificate, but bulky and of no use to an operator). */
function withoutBody(old: PlannedCertificate): Omit<PlannedCertificate, "certificatePem"> {
  const { certificatePem: _body, ...rest } = old;
  return rest;
}

export function rotationView(
  state: RotationState,
): Omit<RotationState, "old"> & { old?: Omit<PlannedCertificate, "certificatePem"> } {
  return state.old ? { ...state, old: withoutBody(state.old) } : state;
}

export function historyView(events: RotationEvent[]) {
  return events.map((event) =>
    event.type === "planned" ? { ...event, old: withoutBody(event.old) } : event,
  );
}

/**
 * GET /rotations/{id}: the rotation's state with a page of its distributions (each wave with its size and
 * counts for all pages), its newest events, and the control point it waits at when it waits at one (kind and
 * wave only: the callback id stays in the store). The answer's size does not grow with the fleet.
 */
export async function getRotation(
  deps: { store: Pick<RotationPages, "rotationPage" | "historyPage" | "getControl"> },
  rotationId: string,
  query: z.output<typeof GetRotationQuery> = {},
): Promise<AnswerOf<typeof ROUTES.getRotation>> {
  const page = await readPage(() =>
    deps.store.rotationPage(rotationId, {
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
    }),
  );
  if (!page) throw notFound(`no rotation ${rotationId}`);
  const [history, control] = await Promise.all([
    deps.store.historyPage(rotationId, {
      limit: query.historyLimit ?? DEFAULT_HISTORY_PAGE,
      ...(query.historyBefore !== undefined ? { before: query.historyBefore } : {}),
    }),
    deps.store.getControl(rotationId),
  ]);
  return {
    status: 200,
    body: {
      rotation: rotationView(page.state),
      ...(page.nextToken ? { distributionsNextToken: page.nextToken } : {}),
      history: historyView(history.events),
      historyStart: history.start,
      ...(control ? { control: { kind: control.kind, wave: control.wave } } : {}),
    },
  };
}

/**
 * POST /rotations/{id}/rollback and /approve: the decision, with the caller as its actor, delivered to the
 * control point the rotation waits at (202); 404 for an unknown rotation, 409 when it is not at one.
 */
export async function decideRotation(
  deps: Pick<RotationRoutesDeps, "store" | "callbacks" | "rollbackRequests" | "now">,
  rotationId: string,
  action: OperatorDecision,
  actor: string,
  reason: string | undefined,
): Promise<AnswerOf<(typeof ROUTES)["rollbackRotation" | "approveRotation"]>> {
  try {
    const result = await controlRotation(
      deps.store,
      deps.callbacks,
      rotationId,
      {
        action,
        actor,
        // Empty: the workflow records where the decision was taken ("rollback requested during bake of wave 0").
        reason: reason ?? "",
      },
      deps.rollbackRequests
        ? { requester: deps.rollbackRequests, now: deps.now ?? (() => new Date()) }
        : undefined,
    );
    return { status: 202, body: result };
  } catch (error) {
    if (error instanceof UnknownRotationError) throw notFound(`no rotation ${rotationId}`);
    if (error instanceof NotControllableError) throw conflict(error.message, error.rotationId);
    throw error;
  }
}
