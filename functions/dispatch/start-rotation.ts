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
import { durableStarts, errorCodeOf } from "../adapters/durable-starts.ts";
import { sha256Hex } from "../core/pem.ts";
import { PolicyError } from "../core/renewal.ts";
import { CERTIFICATE_ARN, CERTIFICATE_ID, LIMITS, ROTATION_ID } from "../core/requests.ts";
import {
  type RotationOverrides,
  type RotationStatus,
  rotationIdFor,
  TERMINAL_STATUSES,
} from "../core/rotation.ts";
import { validateWavePolicy, type WaveSize } from "../core/waves.ts";
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
const FIELDS = new Set(["certificateArn", "serial", "reason", "actor", "dryRun", "overrides"]);
const OVERRIDE_FIELDS = new Set(["waves", "bakeSeconds", "approval"]);
const WAVE_OVERRIDE_FIELDS = new Set(["canarySize", "waves"]);
const APPROVAL_MODES = new Set(["none", "between-waves"]);
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters (C0, C1, line separators, bidi overrides) are what this rejects
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The request checked and normalized, or InvalidRotationRequestError listing every problem. */
export function validateRotationRequest(request: unknown): StartRotationRequest {
  if (!isPlainObject(request)) {
    throw new InvalidRotationRequestError(["the request must be a JSON object"]);
  }
  const input = request as Record<string, unknown>;
  const problems: string[] = [];

  const unknown = Object.keys(input).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) {
    // A misspelt "dryRun" must not start a real rotation.
    problems.push(`unknown field(s): ${unknown.join(", ")} (allowed: ${[...FIELDS].join(", ")})`);
  }

  const certificateArn = input.certificateArn;
  if (typeof certificateArn !== "string" || certificateArn === "") {
    problems.push("certificateArn is required");
  } else if (certificateArn.length > 200 || !CERTIFICATE_ARN.test(certificateArn)) {
    problems.push(
      "certificateArn must be an ACM certificate ARN in us-east-1: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
    );
  }

  let serial = "";
  if (typeof input.serial !== "string" || input.serial.trim() === "") {
    problems.push("serial is required");
  } else {
    serial = input.serial.trim().replaceAll(":", "").toLowerCase();
    if (!/^[0-9a-f]+$/.test(serial)) {
      problems.push("serial must be hexadecimal (colons between bytes are allowed)");
    } else if (serial.length > LIMITS.serialHexDigits) {
      problems.push(`serial must be at most ${LIMITS.serialHexDigits} hex digits, got ${serial.length}`);
    } else if (/^0+$/.test(serial)) {
      problems.push("serial must not be zero");
    }
  }

  const reason = text(input.reason, "reason", LIMITS.reason, problems);
  const actor = text(input.actor, "actor", LIMITS.actor, problems);

  if (input.dryRun !== undefined && typeof input.dryRun !== "boolean") {
    problems.push("dryRun must be true or false");
  }

  const overrides = input.overrides === undefined ? undefined : validateOverrides(input.overrides, problems);

  if (problems.length > 0) throw new InvalidRotationRequestError(problems);
  return {
    certificateArn: certificateArn as string,
    serial,
    reason,
    actor,
    ...(input.dryRun === true ? { dryRun: true } : {}),
    ...(overrides ? { overrides } : {}),
  };
}

/**
 * The overrides checked and normalized (only the keys given, in a fixed order, so that identical requests
 * make identical payloads); undefined when nothing is overridden. Problems are added to `problems`.
 */
function validateOverrides(value: unknown, problems: string[]): RotationOverrides | undefined {
  if (!isPlainObject(value)) {
    problems.push("overrides must be an object");
    return undefined;
  }
  const unknown = Object.keys(value).filter((key) => !OVERRIDE_FIELDS.has(key));
  if (unknown.length > 0) {
    problems.push(
      `unknown field(s) in overrides: ${unknown.join(", ")} (allowed: ${[...OVERRIDE_FIELDS].join(", ")})`,
    );
  }
  const out: RotationOverrides = {};

  if (value.waves !== undefined) {
    const waves = value.waves;
    if (!isPlainObject(waves)) {
      problems.push("overrides.waves must be an object");
    } else {
      const unknownWaves = Object.keys(waves).filter((key) => !WAVE_OVERRIDE_FIELDS.has(key));
      if (unknownWaves.length > 0) {
        problems.push(
          `unknown field(s) in overrides.waves: ${unknownWaves.join(", ")} (allowed: canarySize, waves)`,
        );
      }
      const policy: { canarySize?: number; waves?: WaveSize[] } = {};
      if (waves.canarySize !== undefined) {
        // validateWavePolicy reads a null canary size as "not given": only a number is one.
        if (typeof waves.canarySize === "number") policy.canarySize = waves.canarySize;
        else problems.push("overrides.waves.canarySize must be a whole number >= 1");
      }
      if (waves.waves !== undefined) {
        if (!Array.isArray(waves.waves) || waves.waves.length > LIMITS.waves) {
          problems.push(`overrides.waves.waves must be a list of at most ${LIMITS.waves} wave sizes`);
        } else {
          const sizes: WaveSize[] = [];
          for (const [i, size] of waves.waves.entries()) {
            const keys = isPlainObject(size) ? Object.keys(size) : [];
            if (keys.length === 1 && (keys[0] === "count" || keys[0] === "percent")) {
              sizes.push(size as WaveSize);
            } else {
              problems.push(`overrides.waves.waves[${i}] must be { count } or { percent }`);
            }
          }
          policy.waves = sizes;
        }
      }
      try {
        validateWavePolicy(policy);
        if (Object.keys(policy).length > 0) {
          out.waves = {
            ...(policy.canarySize !== undefined ? { canarySize: policy.canarySize } : {}),
            ...(policy.waves !== undefined
              ? {
                  waves: policy.waves.map((s) =>
                    "count" in s ? { count: s.count } : { percent: s.percent },
                  ),
                }
              : {}),
          };
        }
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        problems.push(`overrides.waves: ${error.message}`);
      }
    }
  }

  if (value.bakeSeconds !== undefined) {
    const bake = value.bakeSeconds;
    if (typeof bake !== "number" || !Number.isInteger(bake) || bake < 0 || bake > LIMITS.bakeSeconds) {
      problems.push(
        `overrides.bakeSeconds must be a whole number of seconds from 0 to ${LIMITS.bakeSeconds}`,
      );
    } else {
      out.bakeSeconds = bake;
    }
  }

  if (value.approval !== undefined) {
    if (typeof value.approval !== "string" || !APPROVAL_MODES.has(value.approval)) {
      problems.push(`overrides.approval must be "none" or "between-waves"`);
    } else {
      out.approval = value.approval as RotationOverrides["approval"];
    }
  }

  return Object.keys(out).length > 0 ? out : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string, max: number, problems: string[]): string {
  if (typeof value !== "string" || value.trim() === "") {
    problems.push(`${field} is required and must not be blank`);
    return "";
  }
  const trimmed = value.trim();
  if (trimmed.length > max)
    problems.push(`${field} must be at most ${max} characters, got ${trimmed.length}`);
  if (CONTROL_CHARACTERS.test(trimmed)) problems.push(`${field} must not contain control characters`);
  return trimmed;
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
