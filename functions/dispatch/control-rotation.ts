/**
 * An operator's decision for a running rotation — roll back, or approve the next wave — delivered to the
 * durable callback the rotation is waiting on (recorded by the workflow as its control point).
 *
 * The workflow opens a control point for every bake window and every approval; between them (issuing,
 * swapping, waiting for CloudFront to deploy) there is nothing to deliver to, and a request then is refused
 * with the state it found (the API answers 409) instead of being queued where nobody would see it.
 *
 * The sender is a port: `SendDurableExecutionCallbackSuccess` in Lambda, the local runner in the sandbox.
 */
import { type ControlPointKind, type RotationStatus, TERMINAL_STATUSES } from "../core/rotation.ts";

/** What an operator may decide at a control point: roll the rotation back, or approve its next wave. */
export const OPERATOR_DECISIONS = ["rollback", "approve"] as const;
export type OperatorDecision = (typeof OPERATOR_DECISIONS)[number];

/** The message the workflow reads at a control point (rotation-workflow.ts parseControl). */
export interface ControlMessage {
  action: OperatorDecision;
  /** Who asked (IAM principal ARN through the API); recorded in the rotation's history. */
  actor: string;
  reason: string;
}

/**
 * Delivers a callback result to a waiting durable execution. A callback that is no longer open (its window
 * closed, or it was answered) is reported as CallbackClosedError; any other failure is thrown as it is.
 */
export interface CallbackSender {
  succeed(callbackId: string, result: string): Promise<void>;
}

/** The callback is no longer open: its window closed or another decision answered it first. */
export class CallbackClosedError extends Error {
  override name = "CallbackClosedError";
}

/** What control needs from the rotation store. */
export interface ControlStore {
  statusOf(rotationId: string): Promise<RotationStatus | undefined>;
  /** The rotation's state (the wave in progress, for a rollback requested between control points). */
  get?(rotationId: string): Promise<
    | {
        waves: Array<{ index: number; status: string }>;
        /** Set once promoted: whether the grace period can undo it. */
        promoted?: { restorable: boolean };
      }
    | undefined
  >;
  getControl(
    rotationId: string,
  ): Promise<{ callbackId: string; kind: ControlPointKind; wave: number } | undefined>;
}

export class UnknownRotationError extends Error {
  override name = "UnknownRotationError";
}

/** The rotation exists but cannot take this decision now; `status` is what it was found in. */
export class NotControllableError extends Error {
  override name = "NotControllableError";
  readonly status: RotationStatus;
  readonly rotationId: string;
  constructor(message: string, status: RotationStatus, rotationId: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.rotationId = rotationId;
  }
}

export interface ControlResult {
  rotationId: string;
  action: OperatorDecision;
  /** The control point the decision was delivered to; `requested`: recorded for the next safe point. */
  kind: ControlPointKind | "requested";
  wave: number;
}

/**
 * Where a rollback may be requested between control points: from the start until the promotion (its step is
 * the last safe point). After it the rotation is finalizing: a rollback is taken at its grace period's
 * control point, which is open when the promotion can be undone (the credential it replaced is AWSPREVIOUS).
 */
const ROLLBACK_REQUESTABLE: readonly RotationStatus[] = [
  "started",
  "planned",
  "issued",
  "trust-published",
  "swapping",
];

/** Records a rollback for the rotation's next safe point (adapters/rollback-requests.ts). */
export interface RollbackRequester {
  request(
    rotationId: string,
    request: { actor: string; reason: string; requestedAt: string },
  ): Promise<boolean>;
}

/**
 * Deliver `message` to the rotation's open control point. Rollback is taken at any control point (bake or
 * approval); approve only where the rotation waits for approval. Throws UnknownRotationError or
 * NotControllableError (and changes nothing) when it cannot be delivered.
 */
export async function controlRotation(
  store: ControlStore,
  sender: CallbackSender,
  rotationId: string,
  message: ControlMessage,
  requests?: { requester: RollbackRequester; now: () => Date },
): Promise<ControlResult> {
  const status = await store.statusOf(rotationId);
  if (status === undefined) throw new UnknownRotationError(`no rotation ${rotationId}`);
  if (TERMINAL_STATUSES.includes(status)) {
    throw new NotControllableError(
      `rotation ${rotationId} has already ended (${status})`,
      status,
      rotationId,
    );
  }
  const control = await store.getControl(rotationId);
  if (!control && message.action === "rollback" && requests && ROLLBACK_REQUESTABLE.includes(status)) {
    // Taken up to the promotion (its step is the last safe point); once promoted, the rotation is finalizing.
    const waves = (await store.get?.(rotationId))?.waves ?? [];
    // Between control points: recorded, and taken at the rotation's next safe point.
    await requests.requester.request(rotationId, {
      actor: message.actor,
      reason: message.reason,
      requestedAt: requests.now().toISOString(),
    });
    const wave = waves.find((w) => w.status !== "passed")?.index ?? waves.at(-1)?.index ?? 0;
    return { rotationId, action: "rollback", kind: "requested", wave };
  }
  if (!control && status === "finalizing" && message.action === "rollback") {
    const promoted = (await store.get?.(rotationId))?.promoted;
    throw new NotControllableError(
      promoted && !promoted.restorable
        ? `rotation ${rotationId} promoted its lineage's first credential: there is none before it to put back, ` +
            "so it can no longer be rolled back; rotate again instead"
        : `rotation ${rotationId} is finalizing and its grace period is not open (it opens right after the ` +
            "promotion, and closes when the old certificate is deleted) — retry in a moment",
      status,
      rotationId,
    );
  }
  if (!control) {
    throw new NotControllableError(
      `rotation ${rotationId} is ${status} and not at a bake window, approval or grace period; ` +
        "decisions are taken while a wave bakes or waits for approval — retry then",
      status,
      rotationId,
    );
  }
  if (message.action === "approve" && control.kind !== "approval") {
    throw new NotControllableError(
      control.kind === "grace"
        ? `rotation ${rotationId} is in its grace period, not waiting for approval`
        : `rotation ${rotationId} is baking wave ${control.wave}, not waiting for approval`,
      status,
      rotationId,
    );
  }
  try {
    await sender.succeed(control.callbackId, JSON.stringify(message));
  } catch (error) {
    // The window closed (or another decision came first) between reading the control point and sending.
    if (!(error instanceof CallbackClosedError)) throw error;
    throw new NotControllableError(
      `rotation ${rotationId} moved on from its ${control.kind} of wave ${control.wave} before the decision ` +
        "arrived; look at its state and retry if it still applies",
      status,
      rotationId,
      { cause: error },
    );
  }
  return { rotationId, action: message.action, kind: control.kind, wave: control.wave };
}
