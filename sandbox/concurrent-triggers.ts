/**
 * N triggers for one certificate, truly at once: every trigger is prepared first (each waits on one shared
 * gate), then the gate opens and all of them start in the same turn of the event loop, racing each other
 * through the real paths: the scheduled scan (`scanHandler`), the ACM "approaching expiration" event
 * (`acmExpiryHandler`) and the dispatcher's manual start (`startRotation`). They must converge on one
 * rotation: one durable execution, one issued certificate (the scenario's `rotationCount` and
 * `issuedCertificates` say so).
 */

/** The paths a trigger can take (the scenario's `via`). */
export const TRIGGER_PATHS = ["scan", "acm-event", "manual"] as const;
export type TriggerPath = (typeof TRIGGER_PATHS)[number];

/** What one trigger did for the certificate: the rotation it started or converged on (none: not due). */
export interface TriggerAnswer {
  rotationId?: string;
  started: boolean;
}

/** Fires one trigger through a path; it records what it did in the run's rotations itself. */
export type FireTrigger = (path: TriggerPath) => Promise<TriggerAnswer>;

/** One trigger: its path, and its answer or its error. */
export type TriggerOutcome = { path: TriggerPath } & ({ answer: TriggerAnswer } | { error: string });

export interface ConcurrentTriggersResult {
  /** Per trigger, in order. */
  triggers: TriggerOutcome[];
  /** Between the first and the last trigger starting, after the gate opened (ms). */
  startSpreadMs: number;
  rotationIds: string[];
  started: number;
}

/**
 * Releases `count` triggers together (trigger i through `via[i % via.length]`), waits for every one of them,
 * and says what they did. None starts before all are prepared.
 */
export async function releaseTogether(
  count: number,
  via: readonly TriggerPath[],
  fire: FireTrigger,
): Promise<ConcurrentTriggersResult> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be >= 1, got ${count}`);
  if (via.length === 0) throw new RangeError("via must name at least one path");
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const startedAt: number[] = [];
  const paths = Array.from({ length: count }, (_, i) => via[i % via.length]!);
  const runs = paths.map((path, i) =>
    gate.then(() => {
      startedAt[i] = performance.now();
      return fire(path);
    }),
  );
  // Every trigger now waits on the gate: open it once, they all start in this turn's microtasks.
  open();
  const settled = await Promise.allSettled(runs);
  const triggers = settled.map(
    (s, i): TriggerOutcome =>
      s.status === "fulfilled"
        ? { path: paths[i]!, answer: s.value }
        : { path: paths[i]!, error: (s.reason as Error)?.message ?? String(s.reason) },
  );
  const answers = triggers.flatMap((t) => ("answer" in t ? [t.answer] : []));
  return {
    triggers,
    startSpreadMs: Math.max(...startedAt) - Math.min(...startedAt),
    rotationIds: [...new Set(answers.flatMap((a) => (a.rotationId ? [a.rotationId] : [])))],
    started: answers.filter((a) => a.started).length,
  };
}

/** One line: "12 triggers (4 scan, 4 acm-event, 4 manual) released together within 2.1 ms -> ...". */
export function describeConcurrentTriggers(result: ConcurrentTriggersResult): string {
  const byPath = TRIGGER_PATHS.flatMap((path) => {
    const n = result.triggers.filter((t) => t.path === path).length;
    return n > 0 ? [`${n} ${path}`] : [];
  });
  const failed = result.triggers.filter((t) => "error" in t);
  const notDue = result.triggers.filter((t) => "answer" in t && t.answer.rotationId === undefined);
  const answered = result.triggers.length - failed.length - notDue.length;
  return (
    `${result.triggers.length} triggers (${byPath.join(", ")}) released together within ` +
    `${result.startSpreadMs.toFixed(1)} ms -> ${result.rotationIds.length} rotation id(s)` +
    `${result.rotationIds.length ? ` ${result.rotationIds.join(", ")}` : ""}; ` +
    `${result.started} started, ${answered - result.started} converged` +
    `${notDue.length ? `, ${notDue.length} found it not due` : ""}` +
    `${failed.length ? `, ${failed.length} failed: ${failed.map((t) => `${t.path}: ${"error" in t ? t.error : ""}`).join("; ")}` : ""}`
  );
}
