/**
 * Start a rotation: validate the request, name the durable execution after the certificate generation it
 * replaces (ARN + serial), and start it. Duplicate triggers (API retries, the scan and the ACM expiry event
 * firing for the same certificate) carry the same name, so they converge on one execution whatever their
 * actor or reason: Lambda refuses a second execution of that name (DurableExecutionAlreadyStartedException
 * when the payload differs, the running execution when it is the same), and both count as converged here.
 *
 * The starter is a port: `sstWorkflowStarter` over the SST workflow SDK in Lambda, `localWorkflowStarter`
 * over an in-process runner (tests, sandbox). Nothing here reads `Resource`; the caller passes what it needs.
 */

import type { workflow } from "sst/aws/workflow";
import type * as z from "zod/mini";
import { durableStarts, type ExecutionStatus, errorCodeOf } from "../adapters/durable-starts.ts";
import { RotationRequest } from "../api/rotation-request.ts";
import { WaveOverrides } from "../api/schemas.ts";
import { fieldPath } from "../config/rules.ts";
import { sha256Hex } from "../core/pem.ts";
import type { PresentedBy } from "../core/presented-by.ts";
import { CERTIFICATE_ARN, CERTIFICATE_ID, LIMITS, ROTATION_ID } from "../core/requests.ts";
import {
  type RotationOverrides,
  type RotationStatus,
  rotationIdFor,
  TERMINAL_STATUSES,
} from "../core/rotation.ts";
import type { RotationInput } from "../workflow/rotation-workflow.ts";

/** What a starter reports: `started: false` when an execution of that name already exists. */
export interface StartResult {
  started: boolean;
  executionArn?: string;
}

/** Starts durable executions of one workflow, with payload `P` (a rotation's by default). */
export interface WorkflowStarter<P = RotationInput> {
  start(name: string, payload: P): Promise<StartResult>;
  /**
   * Whether the execution of that name is alive: Lambda's status of it, undefined when Lambda has none.
   * Without it the dispatcher can only go by the store (a rotation that died before recording anything
   * would then hold its name, and the certificate, for good).
   */
  status?(name: string): Promise<ExecutionStatus | undefined>;
}

export type { ExecutionStatus };

export interface StartRotationRequest {
  certificateArn: string;
  /** Serial of the certificate in service, hex; colons and either case accepted ("0A:1B" = "0a1b"). */
  serial: string;
  reason: string;
  actor: string;
  dryRun?: boolean;
  /** This rotation's changes to the stage's settings (waves, bake window, approval). */
  overrides?: RotationOverrides;
}

export interface StartRotationResult {
  rotationId: string;
  /** False when the trigger converged on an execution that already existed. */
  started: boolean;
  executionArn?: string;
}

/** The request cannot start a rotation; `problems` lists every reason (the API answers 400 with them). */
export class InvalidRotationRequestError extends Error {
  override name = "InvalidRotationRequestError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid rotation request: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** Lambda's error code for a name already taken by an execution with a different payload. */
export const ALREADY_STARTED = "DurableExecutionAlreadyStartedException";

export { CERTIFICATE_ARN, CERTIFICATE_ID, LIMITS, ROTATION_ID };

/** Durable execution names: 1..64 of [A-Za-z0-9_-]. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The request checked and normalized with the contract's RotationRequest schema (the same field rules as
 * POST /rotations), or InvalidRotationRequestError listing every problem. Normalized: serial as lowercase
 * hex without colons, text trimmed, overrides only as given (none when nothing is overridden), so identical
 * requests make identical payloads.
 */
export function validateRotationRequest(request: unknown): StartRotationRequest {
  const parsed = RotationRequest.safeParse(request);
  if (!parsed.success) throw new InvalidRotationRequestError(requestProblems(parsed.error.issues));
  const { overrides, dryRun, ...fields } = parsed.data;
  const waves = overrides?.waves && Object.keys(overrides.waves).length > 0 ? overrides.waves : undefined;
  const given: RotationOverrides = {
    ...(waves ? { waves } : {}),
    ...(overrides?.bakeSeconds !== undefined ? { bakeSeconds: overrides.bakeSeconds } : {}),
    ...(overrides?.approval !== undefined ? { approval: overrides.approval } : {}),
  };
  return {
    ...fields,
    ...(dryRun === true ? { dryRun: true } : {}),
    ...(Object.keys(given).length > 0 ? { overrides: given } : {}),
  };
}

/** The fields each object of a request may have (named when an unknown one is refused). */
const ALLOWED_FIELDS: Record<string, readonly string[]> = {
  "": Object.keys(RotationRequest.def.shape),
  overrides: ["waves", "bakeSeconds", "approval"],
  "overrides.waves": Object.keys(WaveOverrides.def.shape),
};

/** A schema's issues as the dispatcher's problems: `<field> <what is wrong>`, one each. */
function requestProblems(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = fieldPath(issue.path);
    if (issue.code === "unrecognized_keys")
      return `unknown field(s)${where ? ` in ${where}` : ""}: ${issue.keys.join(", ")} (allowed: ${(ALLOWED_FIELDS[where] ?? []).join(", ")})`;
    return where ? `${where} ${issue.message}` : issue.message;
  });
}

/**
 * The execution name (= rotation id) of a request. A dry run gets its own name: sharing the real rotation's
 * name would make the real rotation converge on the finished dry run and never run.
 */
export function executionNameFor(
  request: Pick<StartRotationRequest, "certificateArn" | "serial" | "dryRun">,
) {
  const id = rotationIdFor(request.certificateArn, request.serial, sha256Hex);
  return request.dryRun ? `dry-${id.slice("rot-".length)}` : id;
}

/**
 * What naming an attempt needs to know about earlier executions of a workflow: each one's recorded status, and
 * which one holds the lock of what they act on (a certificate, a viewer trust domain).
 */
export interface AttemptHistory<S extends string = RotationStatus> {
  statusOf(id: string): Promise<S | undefined>;
  /** The execution holding the lock of `key` (undefined: none). */
  activeRotationFor?(key: string): Promise<string | undefined>;
}

/**
 * How a workflow's recorded statuses read to attemptName: `converge` where a duplicate trigger joins the
 * execution (it succeeded), `ended` where a retry must take the next name (any other end).
 */
export interface AttemptOutcomes<S extends string> {
  converge: readonly S[];
  ended: readonly S[];
  /** Words for the refusal once every attempt ended: what `base` names, and what its executions are. */
  what?: string;
  runs?: string;
}

const ROTATION_OUTCOMES: AttemptOutcomes<RotationStatus> = {
  converge: ["completed"],
  ended: TERMINAL_STATUSES,
};

/** What the dispatcher needs to know about earlier rotations (the rotation store). */
export interface RotationHistory extends AttemptHistory<RotationStatus> {
  statusOf(rotationId: string): Promise<RotationStatus | undefined>;
  /**
   * The rotation holding the certificate's lock. With it, a rotation recorded as running that does not
   * hold the lock is known to be dead — a live rotation holds it from its first step until after its end
   * is recorded — e.g. its execution was stopped or timed out and an operator released the lock (the
   * runbook): the next attempt then takes a new name instead of converging on the dead one.
   */
  activeRotationFor?(certificateArn: string): Promise<string | undefined>;
  /** Release the certificate's lock if `rotationId` holds it (conditional: a no-op otherwise). */
  releaseLock?(certificateArn: string, rotationId: string): Promise<void>;
}

/** Every attempt name of a certificate generation is taken by a rotation that failed. */
export class AttemptsExhaustedError extends Error {
  override name = "AttemptsExhaustedError";
}

/** Attempts per certificate generation before the dispatcher gives up (each is a whole rotation). */
export const MAX_ATTEMPTS = 20;

/** Whether Lambda's word on an execution says it can run no more. */
function ended(status: ExecutionStatus | undefined): boolean {
  return status !== undefined && status !== "RUNNING";
}

/**
 * Lambda's word on an execution, or undefined when it has none to give: no execution of that name under the
 * workflow's current version (one started before a deploy runs on, and is listed under, its own version),
 * or the listing failed (throttled, or not allowed). Unknown is never taken for dead.
 */
async function lambdaSays(
  starter: Pick<WorkflowStarter<unknown>, "status"> | undefined,
  name: string,
): Promise<ExecutionStatus | undefined> {
  if (!starter?.status) return undefined;
  try {
    return await starter.status(name);
  } catch {
    return undefined;
  }
}

/**
 * The execution name to start: the first attempt for this certificate generation that is new or alive. A
 * rotation that ended without completing (rolled back, aborted, failed, or a finished dry run) keeps its name
 * until AWS drops the execution, so a retry must take the next attempt's name; a running or completed one is
 * where duplicate triggers converge.
 *
 * Alive is Lambda's word when it has one (`status`): an execution that FAILED, TIMED_OUT or was STOPPED
 * before its rotation recorded an end is dead, whatever the store says — including one that died before it
 * recorded anything (its first step failing until its retries were spent), which would otherwise keep its
 * name, and the certificate's lock, for good. Without that word (no such execution under the current
 * version, or no answer): the store's, with the lock (a rotation recorded as running that no longer holds the
 * lock is dead) — never "dead" for want of an answer.
 */
export async function attemptName<S extends string = RotationStatus>(
  base: string,
  history: AttemptHistory<S> | undefined,
  certificateArn?: string,
  starter?: Pick<WorkflowStarter<unknown>, "status">,
  outcomes: AttemptOutcomes<S> = ROTATION_OUTCOMES as unknown as AttemptOutcomes<S>,
): Promise<string> {
  if (!history) return base;
  let holder: Promise<string | undefined> | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const name = attempt === 1 ? base : `${base}-${attempt}`;
    const status = await history.statusOf(name);
    if (status !== undefined && outcomes.converge.includes(status)) return name;
    if (status !== undefined && outcomes.ended.includes(status)) continue;
    const execution = await lambdaSays(starter, name);
    if (execution === "RUNNING") return name;
    if (ended(execution)) {
      // Succeeded before its record was read: converge; anything else died mid-rotation.
      if (execution === "SUCCEEDED" && status === undefined) return name;
      continue;
    }
    if (status === undefined) return name;
    // Recorded as running: converge on it, unless it is known dead (no longer holding the lock).
    if (!history.activeRotationFor || certificateArn === undefined) return name;
    holder ??= history.activeRotationFor(certificateArn);
    if ((await holder) === name) return name;
  }
  throw new AttemptsExhaustedError(
    `${outcomes.what ?? "certificate generation"} ${base} has failed ${MAX_ATTEMPTS} ${outcomes.runs ?? "rotations"}; investigate before retrying`,
  );
}

/**
 * The rotation holding the certificate's lock, if it is alive. A holder whose execution Lambda reports
 * ended is dead: its lock is released (conditionally: only if it still holds it), so a fresh attempt can take
 * the certificate. Never two live rotations: a holder Lambda reports RUNNING, or whose liveness cannot be
 * known (not listed under the current version, no answer), keeps the lock until its lease ends.
 */
export async function liveLockHolder(
  certificateArn: string,
  history: Pick<RotationHistory, "activeRotationFor" | "releaseLock">,
  starter: Pick<WorkflowStarter<unknown>, "status">,
): Promise<string | undefined> {
  const holder = await history.activeRotationFor?.(certificateArn);
  if (holder === undefined || !history.releaseLock) return holder;
  // Only Lambda's word that it ended frees the lock early; otherwise the lease does, in time.
  if (ended(await lambdaSays(starter, holder))) {
    await history.releaseLock(certificateArn, holder);
    return undefined;
  }
  return holder;
}

export async function startRotation(
  starter: WorkflowStarter,
  request: unknown,
  history?: RotationHistory,
  /** What the caller knows that spares the rotation work (the scan: its listing, core/presented-by.ts). */
  hints: { presentedBy?: PresentedBy } = {},
): Promise<StartRotationResult> {
  const valid = validateRotationRequest(request);
  const rotationId = await attemptName(executionNameFor(valid), history, valid.certificateArn, starter);
  // A dead rotation's lock would end the new attempt at its first step: release it (a live one keeps it,
  // and the new attempt then ends AlreadyRotating, as a duplicate trigger should).
  if (history && !valid.dryRun && starter.status)
    await liveLockHolder(valid.certificateArn, history, starter);
  if (!EXECUTION_NAME.test(rotationId)) {
    throw new Error(
      `derived execution name ${JSON.stringify(rotationId)} is not a valid durable execution name`,
    );
  }
  // The payload is a pure function of the normalized request (and the caller's hints), so an identical retry
  // is an identical start; a retry with another hint is a different payload under a name already taken,
  // which counts as started (isAlreadyStarted).
  const payload: RotationInput = {
    rotationId,
    ...valid,
    ...(hints.presentedBy ? { presentedBy: hints.presentedBy } : {}),
  };
  try {
    const result = await starter.start(rotationId, payload);
    return {
      rotationId,
      started: result.started,
      ...(result.executionArn ? { executionArn: result.executionArn } : {}),
    };
  } catch (error) {
    if (isAlreadyStarted(error)) return { rotationId, started: false };
    throw error;
  }
}

/** Whether a start failed only because an execution of that name exists (it counts as converged). */
export function isAlreadyStarted(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown } | null;
  return e?.name === ALREADY_STARTED || e?.code === ALREADY_STARTED;
}

// ---- starters -------------------------------------------------------------------------------------------

/** The part of the SST workflow SDK a starter uses (injectable for tests). */
export interface WorkflowSdk {
  start: typeof workflow.start;
  StartError: typeof workflow.StartError;
  /** The status of an execution by name (ListDurableExecutionsByFunction); without it no liveness checks. */
  executionStatus?(
    resource: workflow.Resource,
    name: string,
    options?: workflow.Options,
  ): Promise<ExecutionStatus | undefined>;
}

/**
 * Starts executions through `workflow.start` (asynchronous durable Invoke with the execution name). The
 * resource is the linked workflow (`Resource.RotationWorkflow`: name + qualifier), passed in by the caller;
 * `P`: the workflow's payload (the viewer CA migration's starter is the same, over its own workflow).
 */
export function sstWorkflowStarter<P = RotationInput>(
  resource: workflow.Resource,
  sdk: WorkflowSdk = durableStarts,
  options?: workflow.Options,
): WorkflowStarter<P> {
  return {
    async start(name, payload) {
      try {
        const response = await sdk.start(resource, { name, payload }, options);
        return { started: true, ...(response.arn ? { executionArn: response.arn } : {}) };
      } catch (error) {
        if (error instanceof sdk.StartError && (await startErrorCode(error.response)) === ALREADY_STARTED) {
          return { started: false };
        }
        throw error;
      }
    },
    ...(sdk.executionStatus
      ? { status: (name: string) => sdk.executionStatus!(resource, name, options) }
      : {}),
  };
}

/** The error code of a failed Lambda call (adapters/durable-starts.ts errorCodeOf). */
export const startErrorCode = errorCodeOf;
