/**
 * The step toolkit every phase uses: one rotation's durable context, its state, and the four kinds of step
 * the workflow takes. Each call is one durable operation whose name is its checkpoint key.
 * - `record`: a step whose result is a rotation event, written to the store inside the step and folded into
 *   the state outside it (so a replay folds the checkpointed event and writes nothing);
 * - `act`: a step with side effects and a plain result;
 * - `notify`: a step that tells subscribers; a failure to publish is logged, never fatal;
 * - `control`: a window an operator can answer (rollback / approve) through a durable callback;
 * - `wait`: a durable wait.
 * Every step but the callback runs with the fault hooks around it and the workflow's retry strategy.
 */
import type { workflow } from "sst/aws/workflow";
import { StepResultTooLargeError } from "../adapters/errors.ts";
import type { RotationSettings } from "../config/settings.ts";
import { type NotificationEvent, rotationNotification } from "../core/notifications.ts";
import {
  applyEvent,
  applyPlannedTargets,
  checkpointForm,
  initialState,
  PLANNED_TARGETS_PAGE,
  planComplete,
  type RotationEvent,
  type RotationRequest,
  type RotationState,
} from "../core/rotation.ts";
import type { ControlPoint, RotationDeps, RotationInput, StepFaults } from "./contract.ts";
import { settingsWithOverrides } from "./plan.ts";
import { stepRetry } from "./retry.ts";

/**
 * The largest step result this workflow checkpoints: the durable runtime's 256 KB checkpoint payload
 * (CHECKPOINT_SIZE_LIMIT_BYTES in @aws/durable-execution-sdk-js) less 1 KB for its envelope, as the SDK's own
 * overflow threshold reckons it.
 */
export const STEP_RESULT_LIMIT_BYTES = 255 * 1024;

/** The result, or StepResultTooLargeError (final) when its JSON is over STEP_RESULT_LIMIT_BYTES. */
function checkpointable<T>(name: string, result: T): T {
  const json = JSON.stringify(result);
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, "utf8");
  if (bytes > STEP_RESULT_LIMIT_BYTES) {
    throw new StepResultTooLargeError(
      `step ${name} produced a ${bytes}-byte result, over the ${STEP_RESULT_LIMIT_BYTES}-byte checkpoint limit`,
    );
  }
  return result;
}

type Context = workflow.Context;

/**
 * One durable step with the fault hooks around it and the workflow's retry strategy; its result is
 * size-checked here unless `run` checked it itself (`checked`: a record, before writing). Every durable
 * workflow of the service takes its steps through this.
 */
export function durableStep<T>(
  ctx: Context,
  faults: StepFaults | undefined,
  name: string,
  run: () => Promise<T>,
  checked = false,
): Promise<T> {
  return ctx.step(
    name,
    async () => {
      await faults?.before?.(name);
      const produced = await run();
      const result = checked ? produced : checkpointable(name, produced);
      await faults?.after?.(name);
      return result;
    },
    { retryStrategy: stepRetry },
  );
}

/** What an operator's message (or its absence) at a control point asks for. */
export type ControlAction =
  | { action: "timeout" }
  | { action: "rollback" | "approve"; actor: string; reason: string };

/** One rotation as its phases see it: who it is, what it runs with, where it stands, and its steps. */
export interface Rotation {
  readonly id: string;
  readonly request: RotationRequest;
  /** The stage's settings with this request's overrides (waves, bake window, approval). */
  readonly settings: RotationSettings;
  readonly deps: RotationDeps;
  /** The fold of every event recorded so far. */
  readonly state: RotationState;
  /** What the starter knew that spares work (not recorded): the scan's listing (core/presented-by.ts). */
  readonly hints: { presentedBy?: unknown };
  log(message: string, data?: Record<string, unknown>): void;
  /** Now, as recorded in events: read it inside a step only. */
  at(): string;
  record<E extends RotationEvent>(name: string, produce: () => Promise<E>): Promise<E>;
  /**
   * After a `planned` (or `distributions-claimed`) event whose distributions the store keeps (`stored`):
   * read them back in pages, one step each (`<name>:<page>`), into the state.
   */
  readStored(name: string, options?: { baselinesOnly?: boolean }): Promise<void>;
  act<T>(name: string, run: () => Promise<T>): Promise<T>;
  notify(name: string, event: NotificationEvent, detail?: Record<string, unknown>): Promise<void>;
  control(name: string, kind: ControlPoint["kind"], wave: number, seconds: number): Promise<ControlAction>;
  wait(name: string, seconds: number): Promise<void>;
}

export function openRotation(input: RotationInput, ctx: Context, deps: RotationDeps): Rotation {
  const rotationId = input.rotationId;
  const request: RotationRequest = {
    certificateArn: input.certificateArn,
    serial: input.serial,
    reason: input.reason,
    actor: input.actor,
    ...(input.dryRun ? { dryRun: true } : {}),
    ...(input.overrides ? { overrides: input.overrides } : {}),
  };
  const log = deps.log ?? (() => undefined);
  let state = initialState(rotationId);
  let sequence = 0;

  const step = <T>(name: string, run: () => Promise<T>, checked = false): Promise<T> =>
    durableStep(ctx, deps.faults, name, run, checked);
  const act = <T>(name: string, run: () => Promise<T>): Promise<T> => step(name, run);

  return {
    id: rotationId,
    request,
    settings: settingsWithOverrides(deps.settings, request.overrides),
    deps,
    hints: { presentedBy: input.presentedBy },
    get state() {
      return state;
    },
    log,
    at: () => deps.now().toISOString(),
    act,

    async record<E extends RotationEvent>(name: string, produce: () => Promise<E>): Promise<E> {
      // The store writes the whole event (a large plan's distributions as their own items); the step's
      // result is the form a checkpoint can hold (core/rotation.ts checkpointForm), folded on every replay.
      const event = (await step(
        name,
        async () => {
          const produced = await produce();
          // Refused before anything is written (a result the runtime would not checkpoint must not leave a
          // history item behind that the next record reuses the sequence of).
          const form = checkpointable(name, checkpointForm(produced));
          await deps.store.record(applyEvent(state, produced), produced, sequence);
          return form;
        },
        true,
      )) as E;
      state = applyEvent(state, event);
      sequence += 1;
      return event;
    },

    async readStored(name, options = {}) {
      let next: string | undefined;
      for (let page = 1; ; page += 1) {
        const summary = state;
        const read = await act(`${name}:${page}`, () =>
          deps.store.plannedTargetsPage(rotationId, {
            limit: PLANNED_TARGETS_PAGE,
            summary,
            ...(next ? { next } : {}),
          }),
        );
        state = applyPlannedTargets(state, read, options);
        next = read.next;
        if (!next) break;
      }
      if (!options.baselinesOnly && !planComplete(state))
        throw new Error(`the stored plan of rotation ${rotationId} is incomplete`);
    },

    /**
     * A notification that SNS does not take is never dropped silently: it is recorded in the rotation's
     * history (`notification-undelivered`), counted in its state and in the NotificationsUndelivered metric,
     * and the rotation goes on.
     */
    async notify(name, event, detail = {}) {
      const snapshot = state;
      try {
        await act(`notify:${name}`, async () => {
          await deps.notify(rotationNotification(event, snapshot, detail));
          return true;
        });
      } catch (error) {
        const message = (error as Error).message.slice(0, 500);
        log("notification failed", { event, error: message });
        try {
          await this.record(`notify:${name}:undelivered`, async () => {
            // Best effort: a metric that cannot be written must not keep the record from being written.
            await deps
              .countMetric?.("NotificationsUndelivered", 1)
              .catch((metricError: unknown) =>
                log("metric not written", { error: (metricError as Error).message }),
              );
            return {
              type: "notification-undelivered",
              at: deps.now().toISOString(),
              notification: event,
              error: message,
            };
          });
        } catch (recordError) {
          log("undelivered notification not recorded", { event, error: (recordError as Error).message });
        }
      }
    },

    /**
     * Wait for an operator's message (rollback / approve) until the window closes. The window is the
     * callback's own timeout, so no callback is left open once the rotation moves on.
     */
    control(name, kind, wave, seconds) {
      return controlWindow(ctx, act, name, seconds, (control) =>
        deps.store.setControl(rotationId, control ? { ...control, kind, wave } : undefined),
      );
    },

    async wait(name, seconds) {
      await ctx.wait(name, { seconds });
    },
  };
}

/**
 * Wait for an operator's message (rollback / approve) until the window closes. The window is the
 * callback's own timeout, so no callback is left open once the workflow moves on. `publish` tells the
 * store where the callback is while the window is open (and that it closed).
 */
export async function controlWindow(
  ctx: Context,
  act: <T>(name: string, run: () => Promise<T>) => Promise<T>,
  name: string,
  seconds: number,
  publish: (control: { callbackId: string } | undefined) => Promise<unknown>,
): Promise<ControlAction> {
  const [message, callbackId] = await ctx.createCallback(name, {
    timeout: { seconds: Math.max(1, seconds) },
  });
  await act(`${name}:open`, () => publish({ callbackId }));
  let outcome: ControlAction;
  try {
    outcome = parseControl(await message);
  } catch (error) {
    // Timeout: the window closed with no intervention. Any other callback failure (an operator's
    // SendDurableExecutionCallbackFailure, a broken callback) is treated as a rollback request: the safe way.
    outcome =
      (error as { errorType?: string }).errorType === "CallbackTimeoutError"
        ? { action: "timeout" }
        : {
            action: "rollback",
            actor: "unknown",
            reason: `control ${name} failed: ${(error as Error).message}`,
          };
  }
  await act(`${name}:close`, () => publish(undefined));
  return outcome;
}

function parseControl(raw: unknown): ControlAction {
  try {
    const value = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, unknown>;
    const action =
      value.action === "approve" ? "approve" : value.action === "rollback" ? "rollback" : undefined;
    if (!action) return { action: "rollback", actor: "unknown", reason: "unreadable control message" };
    return { action, actor: String(value.actor ?? "unknown"), reason: String(value.reason ?? "") };
  } catch {
    // A message that cannot be read is treated as the safe choice.
    return { action: "rollback", actor: "unknown", reason: "unreadable control message" };
  }
}
