/**
 * Progress lines for the sandbox: `[  12.3s] <what happened>`, timestamps relative to the start of the run.
 * Built from what the rotation records (events), the control points it opens, the notifications it sends,
 * and the sandbox's own steps. Distribution ids are shown with the scenario's names. Lines carry ARNs,
 * serials, names and statuses only: never key material.
 */
import type { Notification } from "../functions/core/notifications.ts";
import type {
  ControlPointKind,
  GateResult,
  ProbeResult,
  RotationEvent,
  RotationState,
} from "../functions/core/rotation.ts";
import type { OriginReport } from "./report.ts";

// Real time even if something fakes Date in this process.
const RealDate = globalThis.Date;

export interface PrinterOptions {
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  /** Only the summary at the end (and failures). */
  quiet?: boolean;
  /** ms epoch of the start (default: now). */
  startedAt?: number;
}

export class Printer {
  readonly startedAt: number;
  readonly #write: (line: string) => void;
  readonly #quiet: boolean;
  /** Distribution id -> scenario name. */
  readonly #names = new Map<string, string>();
  /** Rotation id -> certificate name (shown instead of the long id). */
  readonly #rotations = new Map<string, string>();
  /** Every line printed (and every line quiet mode left out), for tests. */
  readonly lines: string[] = [];

  constructor(options: PrinterOptions = {}) {
    this.startedAt = options.startedAt ?? RealDate.now();
    this.#write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.#quiet = options.quiet ?? false;
  }

  elapsedMs(): number {
    return RealDate.now() - this.startedAt;
  }

  nameDistribution(id: string, name: string): void {
    this.#names.set(id, name);
  }

  nameRotation(rotationId: string, certificate: string): void {
    this.#rotations.set(rotationId, certificate);
  }

  /** A progress line (left out in quiet mode). */
  line(message: string): void {
    this.#emit(message, false);
  }

  /** A line printed even in quiet mode (results, failures). */
  always(message: string): void {
    this.#emit(message, true);
  }

  #emit(message: string, always: boolean): void {
    const seconds = (this.elapsedMs() / 1000).toFixed(1).padStart(6);
    // Distribution ids inside free text (error details) read better as the scenario's names.
    let text = message;
    for (const [id, name] of this.#names)
      text = text.replaceAll(`${id}/`, `${name}/`).replaceAll(`${id}:`, `${name}:`);
    const line = `[${seconds}s] ${text}`;
    this.lines.push(line);
    if (always || !this.#quiet) this.#write(line);
  }

  distribution(id: string): string {
    return this.#names.get(id) ?? id;
  }

  target(target: string): string {
    const [distributionId, originId] = target.split("/");
    return `${this.distribution(distributionId ?? "")}/${originId ?? ""}`;
  }

  /** "rotation edge", "rotation edge (attempt 2)", "dry run edge": short labels; the id is printed at start. */
  who(rotationId: string): string {
    const certificate = this.#rotations.get(rotationId);
    if (!certificate) return rotationId;
    const attempt = /-(\d+)$/.exec(rotationId.replace(/^(rot|dry)-[0-9a-f-]{36}-[0-9a-f]{16}/, ""))?.[1];
    return `${rotationId.startsWith("dry-") ? "dry run" : "rotation"} ${certificate}${attempt ? ` (attempt ${attempt})` : ""}`;
  }

  /** One line per rotation event (the rotation's history as it is recorded). */
  event(rotationId: string, event: RotationEvent, state: RotationState, retried: boolean): void {
    const who = this.who(rotationId);
    const again = retried ? " (step retried: recorded again, same event)" : "";
    const text = this.#describe(event, state);
    if (text) this.line(`${who}: ${text}${again}`);
  }

  #describe(event: RotationEvent, state: RotationState): string | undefined {
    switch (event.type) {
      case "started":
        return `started: ${state.rotationId} (${event.request.reason} by ${event.request.actor}${event.request.dryRun ? ", dry run" : ""})`;
      case "planned": {
        const waves = event.waves.map(
          (w) =>
            `${w.canary ? "canary " : ""}wave ${w.index}: ${w.targets.map((t) => this.distribution(t.distributionId)).join(", ")}`,
        );
        const count = event.waves.reduce((n, w) => n + w.targets.length, 0);
        return `plan: ${count} distribution(s) in ${event.waves.length} wave(s)${waves.length ? ` (${waves.join("; ")})` : ""}`;
      }
      case "dry-run":
        return "dry run: stopped after the plan, nothing issued or swapped";
      case "issued":
        return `issued serial ${event.serial} -> ${event.certificateArn}`;
      case "trust-published":
        return `trust published (bundle ${event.bundleSha256.slice(0, 12)}; ${event.targets
          .map((t) => `${t.target}${t.changed ? "" : " unchanged"}`)
          .join(", ")})`;
      case "preflight":
        return `preflight ${event.attempt}: ${this.#probes(event.probes)}${
          event.probes.every((p) => p.accepted)
            ? " -> every origin accepts the new certificate"
            : event.deadlinePassed
              ? " -> deadline passed"
              : " -> retrying"
        }`;
      case "swapped":
        return `wave ${event.wave}: ${event.outcome === "swapped" ? "swapped" : "not presenting (skipped)"} ${this.distribution(event.distributionId)}${
          event.changedOriginIds.length ? ` (${event.changedOriginIds.join(", ")})` : ""
        }`;
      case "deployed": {
        return `wave ${event.wave}: deployed`;
      }
      case "gate":
        return `wave ${event.wave}: gate ${event.result.passed ? "passed" : "FAILED"} (${this.#gate(event.result)})`;
      case "approved":
        return `wave ${event.wave}: approved by ${event.actor}`;
      case "rollback-requested":
        return `ROLLBACK requested (${event.reason} by ${event.actor}): ${event.detail}`;
      case "rolled-back-distribution":
        return `rollback: ${this.distribution(event.distributionId)} ${event.ok ? "put back" : `FAILED: ${event.error ?? ""}`}`;
      case "rolled-back":
        return `rolled back (${state.rollback?.reason ?? "?"})`;
      case "aborted":
        return `aborted before any swap (${event.reason}): ${event.detail}`;
      case "promoted":
        return "finalize: new credential promoted to AWSCURRENT";
      case "retired":
        return `finalize: old certificate ${event.deleted ? "deleted" : "kept"} (${event.detail})${event.revoked ? ", revoked" : ""}`;
      case "completed":
        return "COMPLETED";
      case "failed":
        return `FAILED (${event.reason}): ${event.detail}`;
      case "waiting-for-distributions":
        return `waiting for distributions another rotation is changing: ${event.heldBy
          .map((h) => `${this.distribution(h.distributionId)} (${this.who(h.rotationId)})`)
          .join(", ")}`;
      case "distributions-claimed":
        return event.stored
          ? `claimed ${event.stored.distributions} distributions after waiting; baselines read again`
          : `claimed ${event.distributionIds.map((id) => this.distribution(id)).join(", ")} after waiting; baselines read again`;
      case "notification-undelivered":
        return `notification ${event.notification} NOT delivered: ${event.error}`;
    }
  }

  #probes(probes: ProbeResult[]): string {
    const accepted = probes.filter((p) => p.accepted).length;
    // Origins whose proof is an acknowledgement (preflight.proofs): by whom, or why it does not count.
    const acknowledged = probes
      .filter((p) => p.accepted && p.acknowledgement)
      .map(
        (p) =>
          `${this.target(p.target)} by ${p.proof === "both" ? "probe + " : ""}acknowledgement ` +
          `${p.acknowledgement!.ackId} from ${p.acknowledgement!.host ?? "?"}`,
      );
    const refused = probes
      .filter((p) => !p.accepted)
      .map((p) =>
        p.reason === "NotAcknowledged" && p.acknowledgement
          ? `${this.target(p.target)} not acknowledged (${p.acknowledgement.reason})`
          : `${this.target(p.target)} ${p.status ?? p.error ?? "refused"}${
              p.current ? ` (current ${p.current.status ?? p.current.error ?? "refused"})` : ""
            }`,
      );
    return (
      `${accepted}/${probes.length} accepted` +
      `${acknowledged.length ? ` (${acknowledged.join(", ")})` : ""}` +
      `${refused.length ? `, refused: ${refused.join(", ")}` : ""}`
    );
  }

  #gate(result: GateResult): string {
    const checks = result.checks.map((c) => {
      const name = this.distribution(c.distributionId);
      const needed = result.metrics?.minDatapoints;
      if (c.reason === "TooFewDatapoints" || c.reason === "TooFewDatapointsAllowed")
        return `${name} 5xx: ${c.datapoints ?? 0}/${needed ?? "?"} datapoints by the deadline${c.passed ? " (allowed)" : " FAILED"}`;
      const rate = c.errorRate === null ? "n/a" : `${c.errorRate.toFixed(1)}%`;
      const baseline = c.baseline === null ? "no baseline" : `baseline ${c.baseline.toFixed(1)}%`;
      return `${name} 5xx ${rate} ${c.reason === "OverThreshold" ? ">" : "<="} ${c.threshold.toFixed(1)}% (${baseline})${c.passed ? "" : " FAILED"}`;
    });
    // A gate of a large wave names its first checks and probes only; its counts have them all.
    const total = result.counts?.checks ?? result.checks.length;
    const probes = result.counts?.probes ?? result.probes.length;
    return [
      ...checks,
      ...(total > checks.length
        ? [
            `and ${total - checks.length} more distribution(s) (${result.counts?.checksPassed ?? "?"}/${total} passed in all)`,
          ]
        : []),
      `probes ${this.#probes(result.probes)}` +
        (probes > result.probes.length
          ? ` (the first ${result.probes.length} of ${probes}; ${result.counts?.probesRefused ?? "?"} refused in all)`
          : ""),
    ].join("; ");
  }

  control(rotationId: string, control: { kind: ControlPointKind; wave: number } | undefined): void {
    const who = this.who(rotationId);
    if (!control) return;
    if (control.kind === "bake")
      this.line(`${who}: wave ${control.wave}: baking (manual-rollback window open)`);
    else if (control.kind === "grace")
      this.line(`${who}: promoted; grace period (rollback still possible until the old certificate goes)`);
    else this.line(`${who}: wave ${control.wave}: waiting for approval`);
  }

  notification(notification: Notification): void {
    this.line(`notify: ${notification.subject} [${notification.event}, ${notification.severity}]`);
  }
}

/**
 * One origin's edge traffic on one line: `edge shop/api: 301 requests, 0 refused; per second from 1 s: 19 20
 * ...`, then its refusals and timeouts per second (the same seconds) when it had any.
 */
export function originTrafficLine(
  path: string,
  origin: Pick<OriginReport, "requests" | "refused" | "timedOut" | "perSecond">,
): string {
  const series = (count: "requests" | "refused" | "timedOut") =>
    origin.perSecond.map((s) => s[count]).join(" ");
  const first = origin.perSecond[0];
  return (
    `edge ${path}: ${origin.requests} requests, ${origin.refused} refused` +
    (origin.timedOut > 0 ? ` (${origin.timedOut} timed out)` : "") +
    (first ? `; per second from ${first.second} s: ${series("requests")}` : "") +
    (origin.refused > 0 ? `; refused per second: ${series("refused")}` : "") +
    (origin.timedOut > 0 ? `; timed out per second: ${series("timedOut")}` : "")
  );
}
