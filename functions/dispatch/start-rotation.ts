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
import { durableStarts, errorCodeOf } from "../adapters/durable-starts.ts";
import { RotationRequest } from "../api/rotation-request.ts";
import { WaveOverrides } from "../api/schemas.ts";
import { fieldPath } from "../config/rules.ts";
import { sha256Hex } from "../core/pem.ts";
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

export interface WorkflowStarter {
  start(name: string, payload: RotationInput): Promise<StartResult>;
}

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

/** What the dispatcher needs to know about earlier rotations (the rotation store). */
export interface RotationHistory {
  statusOf(rotationId: string): Promise<RotationStatus | undefined>;
  /**
   * The rotation holding the certificate's lock. With it, a rotation recorded as running that does not
   * hold the lock is known to be dead — a live rotation holds it from its first step until after its end
   * is recorded — e.g. its execution was stopped or timed out and an operator released the lock (the
   * runbook): the next attempt then takes a new name instead of converging on the dead one.
   */
  activeRotationFor?(certificateArn: string): Promise<string | undefined>;
}

/** Every attempt name of a certificate generation is taken by a rotation that failed. */
export class AttemptsExhaustedError extends Error {
  override name = "AttemptsExhaustedError";
}

/** Attempts per certificate generation before the dispatcher gives up (each is a whole rotation). */
export const MAX_ATTEMPTS = 20;

/**
 * The execution name to start: the first attempt for this certificate generation that is new or still
 * running. A rotation that ended without completing (rolled back, aborted, failed, or a finished dry run)
 * keeps its name until AWS drops the execution, so a retry must take the next attempt's name; a running
 * or completed one is where duplicate triggers converge.
 */
export async function attemptName(
  base: string,
  history: RotationHistory | undefined,
  certificateArn?: string,
): Promise<string> {
  if (!history) return base;
  let holder: Promise<string | undefined> | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const name = attempt === 1 ? base : `${base}-${attempt}`;
    const status = await history.statusOf(name);
    if (status === undefined || status === "completed") return name;
    if (TERMINAL_STATUSES.includes(status)) continue;
    // Recorded as running: converge on it, unless it is known dead (no longer holding the lock).
    if (!history.activeRotationFor || certificateArn === undefined) return name;
    holder ??= history.activeRotationFor(certificateArn);
    if ((await holder) === name) return name;
  }
  throw new AttemptsExhaustedError(
    `certificate generation ${base} has failed ${MAX_ATTEMPTS} rotations; investigate before retrying`,
  );
}

export async function startRotation(
  starter: WorkflowStarter,
  request: unknown,
  history?: RotationHistory,
): Promise<StartRotationResult> {
  const valid = validateRotationRequest(request);
  const rotationId = await attemptName(executionNameFor(valid), history, valid.certificateArn);
  if (!EXECUTION_NAME.test(rotationId)) {
    throw new Error(
      `derived execution name ${JSON.stringify(rotationId)} is not a valid durable execution name`,
    );
  }
  // The payload is a pure function of the normalized request, so an identical retry is an identical start.
  const payload: RotationInput = { rotationId, ...valid };
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

function isAlreadyStarted(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown } | null;
  return e?.name === ALREADY_STARTED || e?.code === ALREADY_STARTED;
}

// ---- starters -------------------------------------------------------------------------------------------

/** The part of the SST workflow SDK a starter uses (injectable for tests). */
export interface WorkflowSdk {
  start: typeof workflow.start;
  StartError: typeof workflow.StartError;
}

/**
 * Starts executions through `workflow.start` (asynchronous durable Invoke with the execution name). The
 * resource is the linked workflow (`Resource.RotationWorkflow`: name + qualifier), passed in by the caller.
 */
export function sstWorkflowStarter(
  resource: workflow.Resource,
  sdk: WorkflowSdk = durableStarts,
  options?: workflow.Options,
): WorkflowStarter {
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
  };
}

/** The error code of a failed Lambda call (adapters/durable-starts.ts errorCodeOf). */
export const startErrorCode = errorCodeOf;
