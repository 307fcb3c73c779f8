/**
 * Text the operator reads: tables, durations, times, and a rotation's waves, gates, control point and
 * history in the rotation's own words. Pure: the clock is a parameter.
 */
import { type ControlPointKind, TERMINAL_STATUSES } from "../core/rotation.ts";
import type {
  DistributionView,
  GateResultView,
  RotationAnswer,
  RotationEventView,
  RotationStateView,
  ViewerRevocationView,
  WaveView,
} from "./api-types.ts";

/** Left-aligned columns (right-aligned where `right[i]`), two spaces apart, no trailing blanks. */
export function table(header: string[], rows: string[][], right: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** "key    value" lines, keys padded to one width. */
export function fields(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}

export function indent(text: string, by = "  "): string {
  return text
    .split("\n")
    .map((line) => `${by}${line}`)
    .join("\n");
}

/** 5400 -> "1h 30m"; 45 -> "45s"; 90061 -> "1d 1h". Two units at most. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const units: Array<[string, number]> = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 && parts.length < 2) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    } else if (parts.length > 0) break;
  }
  return parts.length > 0 ? parts.join(" ") : "0s";
}

/** "revoked 2026-12-04 12:00:00Z by arn:…:assumed-role/ops/alice: laptop stolen" */
export function revocationLine(revocation: ViewerRevocationView): string {
  const by = revocation.revokedBy ? ` by ${revocation.revokedBy}` : "";
  return `revoked ${timestamp(revocation.revokedAt)}${by}: ${revocation.reason}`;
}

/** "12m ago" / "in 3d" relative to now. */
export function relative(iso: string | undefined, now: Date): string {
  if (!iso) return "-";
  const delta = (new Date(iso).getTime() - now.getTime()) / 1000;
  if (!Number.isFinite(delta)) return iso;
  if (Math.abs(delta) < 1) return "just now";
  return delta < 0 ? `${duration(-delta)} ago` : `in ${duration(delta)}`;
}

/** "2026-05-01 10:00:00Z" */
export function timestamp(iso: string | undefined): string {
  if (!iso) return "-";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** "10:00:00" (UTC) */
export function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().slice(11, 19);
}

/** The readable tail of an ARN: "certificate/abc" for ACM, the whole text otherwise. */
export function shortArn(arn: string | undefined): string {
  if (!arn) return "-";
  const resource = arn.split(":").slice(5).join(":");
  return resource || arn;
}

export function percent(value: number | null): string {
  return value === null ? "no data" : `${value.toFixed(2)}%`;
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function isTerminal(state: Pick<RotationStateView, "status">): boolean {
  return TERMINAL_STATUSES.includes(state.status);
}

// ---- rotation -------------------------------------------------------------------------------------------

function distributionText(d: DistributionView): string {
  const error = d.error ? ` (${d.error})` : "";
  return `${d.distributionId} ${d.outcome}${error}`;
}

export function waveTitle(wave: WaveView): string {
  return `wave ${wave.index}${wave.canary ? " (canary)" : ""}`;
}

export function waveLine(wave: WaveView): string {
  return `${waveTitle(wave)}: ${wave.status} - ${wave.distributions.map(distributionText).join(", ")}`;
}

/**
 * A wave's gate in a line: the distributions over their 5xx threshold (rate, threshold, baseline), how many
 * stayed within it (with the closest to its threshold), and the probes accepted / refused. A gate of a large
 * wave names its first failures only (`counts` has them all): the line says how many more there are.
 * "gate passed: 5xx within threshold on 2/2 (highest 0.20% vs 2.10%); probes 3/3 accepted"
 */
export function gateLine(gate: GateResultView): string {
  const { verdict, rates, probes } = gateParts(gate);
  return `${verdict}: ${rates}; ${probes}`;
}

/** ", and 12 more" when a list names `named` of `total`. */
function andMore(named: number, total: number): string {
  return total > named ? `, and ${total - named} more` : "";
}

export function gateParts(gate: GateResultView): { verdict: string; rates: string; probes: string } {
  // Older records have no counts: their lists are whole.
  const byReason = (reason: NonNullable<GateResultView["checks"][number]["reason"]>) =>
    gate.counts ? (gate.counts.byReason[reason] ?? 0) : gate.checks.filter((c) => c.reason === reason).length;
  const totalChecks = gate.counts?.checks ?? gate.checks.length;
  // Too few datapoints by the metrics deadline is not a rate over its threshold: say what was missing.
  const missingChecks = gate.checks.filter((c) => c.reason === "TooFewDatapoints");
  const missing = missingChecks.map(
    (c) =>
      `${c.distributionId} ${c.datapoints ?? 0}/${gate.metrics?.minDatapoints ?? "?"}` +
      (gate.metrics ? ` within ${gate.metrics.deadlineSeconds} s` : ""),
  );
  const overChecks = gate.checks.filter((c) => !c.passed && c.reason !== "TooFewDatapoints");
  const over = overChecks.map(
    (c) =>
      `${c.distributionId} ${percent(c.errorRate)} > ${percent(c.threshold)} (baseline ${percent(c.baseline)})`,
  );
  const within = gate.checks.filter((c) => c.passed);
  const withinCount = gate.counts?.checksPassed ?? within.length;
  const closest = within
    .filter((c) => c.errorRate !== null)
    .sort(
      (a, b) => b.errorRate! / Math.max(b.threshold, 1e-9) - a.errorRate! / Math.max(a.threshold, 1e-9),
    )[0];
  const missingCount = byReason("TooFewDatapoints");
  const overCount = totalChecks - withinCount - missingCount;
  const rates = [
    ...(over.length > 0 ? [`5xx over threshold: ${over.join(", ")}${andMore(over.length, overCount)}`] : []),
    ...(missing.length > 0
      ? [`too few 5xx datapoints: ${missing.join(", ")}${andMore(missing.length, missingCount)}`]
      : []),
    `5xx within threshold on ${withinCount}/${totalChecks}` +
      (closest
        ? ` (highest ${percent(closest.errorRate)} vs ${percent(closest.threshold)})`
        : withinCount
          ? " (no data yet)"
          : ""),
  ].join("; ");
  const probeCount = gate.counts?.probes ?? gate.probes.length;
  const refusedCount = gate.counts?.probesRefused ?? gate.probes.filter((p) => !p.accepted).length;
  const refused = gate.probes
    .filter((p) => !p.accepted)
    .map((p) => `${p.target} ${p.status === null ? (p.error ?? "no answer") : `HTTP ${p.status}`}`);
  const probes = `probes ${probeCount - refusedCount}/${probeCount} accepted${refused.length ? ` (refused: ${refused.join(", ")}${andMore(refused.length, refusedCount)})` : ""}`;
  return { verdict: `gate ${gate.passed ? "passed" : "FAILED"}`, rates, probes };
}

/** One history event in a line. */
export function describeEvent(event: RotationEventView): string {
  switch (event.type) {
    case "started":
      return `started by ${event.request.actor}${event.request.reason ? `: ${event.request.reason}` : ""}`;
    case "planned": {
      const distributions =
        event.stored?.distributions ?? event.waves.reduce((n, w) => n + w.targets.length, 0);
      // Rotations planned before the plan recorded the replacement key have none in their history.
      const key = event.replacementKey ? `; new key ${event.replacementKey.message}` : "";
      return `planned ${plural(event.waves.length, "wave")} over ${plural(distributions, "distribution")}${key}`;
    }
    case "dry-run":
      return "dry run: nothing changed";
    case "waiting-for-distributions":
      return `waiting for ${event.heldBy.map((h) => `${h.distributionId} (changed by rotation ${h.rotationId})`).join(", ")}: one rotation at a time per distribution`;
    case "distributions-claimed":
      return `${plural(event.stored?.distributions ?? event.distributionIds.length, "distribution")} now this rotation's to change; baselines read again`;
    case "notification-undelivered":
      return `notification ${event.notification} was not delivered: ${event.error}`;
    case "issued":
      return `issued ${shortArn(event.certificateArn)} (serial ${event.serial}, expires ${timestamp(event.notAfter)})`;
    case "trust-published": {
      const changed = event.targets.filter((t) => t.changed).length;
      return `trust bundle published to ${plural(event.targets.length, "target")} (${changed} changed)`;
    }
    case "preflight": {
      const total = event.counts?.probes ?? event.probes.length;
      const accepted = event.counts
        ? total - event.counts.refused
        : event.probes.filter((p) => p.accepted).length;
      return `preflight attempt ${event.attempt}: ${accepted}/${total} origins accept the new certificate${event.deadlinePassed ? " (deadline passed)" : ""}`;
    }
    case "swapped":
      return event.outcome === "swapped"
        ? `wave ${event.wave}: ${event.distributionId} swapped (origins ${event.changedOriginIds.join(", ") || "-"})`
        : `wave ${event.wave}: ${event.distributionId} no longer presents the old certificate (left alone)`;
    case "deployed":
      return `wave ${event.wave} deployed`;
    case "gate":
      return `wave ${event.wave} ${gateLine(event.result)}`;
    case "approved":
      return `wave ${event.wave} approved by ${event.actor}`;
    case "rollback-requested":
      return `rollback requested by ${event.actor} (${event.reason}): ${event.detail}`;
    case "rolled-back-distribution":
      return event.ok
        ? `${event.distributionId} put back on the old certificate`
        : `could not put back ${event.distributionId}: ${event.error ?? "unknown error"}`;
    case "rolled-back":
      return "rolled back: every distribution presents the old certificate";
    case "aborted":
      return `aborted (${event.reason}): ${event.detail}`;
    case "promoted":
      return "new certificate promoted (AWSCURRENT)";
    case "retired":
      return `old certificate ${event.deleted ? "deleted" : "kept"}${event.revoked ? " and revoked" : ""}${event.detail ? `: ${event.detail}` : ""}`;
    case "completed":
      return "completed";
    case "failed":
      return `failed (${event.reason}): ${event.detail}`;
  }
}

export interface ControlPoint {
  kind: ControlPointKind;
  wave: number;
  /** True when the API did not report it and the CLI concluded it from the state. */
  inferred: boolean;
}

/**
 * Where the rotation waits for an operator, if anywhere: reported by the API, or a wave that is baking
 * (between "deployed" and its gate, the manual-rollback window).
 */
export function controlPointOf(detail: RotationAnswer): ControlPoint | undefined {
  const state = detail.rotation;
  if (isTerminal(state) || state.status === "rolling-back") return undefined;
  if (detail.control) return { ...detail.control, inferred: false };
  const baking = state.waves.find((w) => w.status === "baking");
  return baking ? { kind: "bake", wave: baking.index, inferred: true } : undefined;
}

/** The approval mode the rotation was started with, when its request set one (else the stage's applies). */
function approvalOf(state: RotationStateView): string | undefined {
  return state.request?.overrides?.approval;
}

/**
 * A wave passed its gate, the next has not started, and nothing happened since: with approval between
 * waves, the rotation waits for an operator here.
 */
function mayAwaitApproval(detail: RotationAnswer): WaveView | undefined {
  const state = detail.rotation;
  if (detail.control || state.status !== "swapping" || approvalOf(state) === "none") return undefined;
  const last = detail.history.at(-1);
  if (last?.type !== "gate" || !last.result.passed) return undefined;
  const next = state.waves.find((w) => w.index > last.wave);
  if (next?.status !== "pending") return undefined;
  return state.waves.find((w) => w.index === last.wave);
}

/** What the rotation is doing or waiting for, and what the operator can do about it (lines). */
export function waitingLines(detail: RotationAnswer): string[] {
  const state = detail.rotation;
  const id = state.rotationId;
  const rollback = `mtls-rotator rollback ${id} --reason "<why>"`;
  const approve = `mtls-rotator approve ${id}`;
  const control = controlPointOf(detail);
  if (control?.kind === "bake") {
    return [
      `Waiting: wave ${control.wave} is baking (manual rollback window); its health gate runs when it ends.`,
      `  To roll back now: ${rollback}`,
    ];
  }
  if (control?.kind === "grace") {
    return [
      "Grace period: every wave passed and the new credential is promoted; the old certificate is deleted when it ends.",
      `  To roll back (every distribution and the credential secret go back): ${rollback}`,
    ];
  }
  if (control?.kind === "approval") {
    return [
      `Waiting for approval: wave ${control.wave} passed its gate; the next wave starts when approved.`,
      `  To continue:     ${approve}`,
      `  To roll back:    ${rollback}`,
    ];
  }
  if (state.waitingFor) {
    const held = state.waitingFor.heldBy.map((h) => `${h.distributionId} (rotation ${h.rotationId})`);
    return [
      `Waiting its turn since ${timestamp(state.waitingFor.since)}: another rotation is changing ${held.join(", ")}.`,
      "  One rotation at a time per distribution; nothing is issued or swapped until it ends.",
    ];
  }
  const passed = mayAwaitApproval(detail);
  if (passed) {
    const certain = approvalOf(state) === "between-waves";
    return [
      certain
        ? `Waiting for approval: wave ${passed.index} passed its gate; the next wave starts when approved.`
        : `Wave ${passed.index} passed its gate. With --approval between-waves the rotation waits for you now:`,
      `  To continue:     ${approve}`,
      `  To roll back:    ${rollback}`,
    ];
  }
  switch (state.status) {
    case "started":
    case "planned":
      return ["Working: planning and issuing the new certificate."];
    case "issued":
      return ["Working: publishing the new CA bundle to every trust target."];
    case "trust-published": {
      const probes = state.lastPreflight ?? [];
      if (probes.length === 0) return ["Preflight: checking that every origin accepts the new certificate."];
      const refused = probes.filter((p) => !p.accepted);
      const answer = (a: { status: number | null; error?: string }) =>
        a.status === null ? (a.error ?? "no answer") : `HTTP ${a.status}`;
      // With the current certificate's answer when it was compared (an application-level refusal shows).
      const list = refused.map(
        (p) => `${p.target} ${answer(p)}${p.current ? ` (current certificate: ${answer(p.current)})` : ""}`,
      );
      return [
        `Preflight attempt ${state.preflightAttempts}: ${probes.length - refused.length}/${probes.length} origins ` +
          `accept the new certificate${refused.length ? `; waiting for ${list.join(", ")}` : ""}.`,
      ];
    }
    case "swapping":
      return ["Working: swapping distributions and waiting for CloudFront to deploy."];
    case "rolling-back": {
      const all = state.waves.flatMap((w) => w.distributions);
      const back = all.filter((d) => d.outcome === "rolled-back").length;
      const toPutBack = all.filter((d) => d.outcome !== "pending" && d.outcome !== "not-presenting").length;
      return [`Rolling back: ${back}/${toPutBack} distributions put back on the old certificate.`];
    }
    case "finalizing":
      return ["Finalizing: every wave passed; the old certificate retires after the grace period."];
    default:
      return [];
  }
}

/** The closing line for a rotation that ended. */
export function outcomeLine(state: RotationStateView): string {
  const reason = state.outcome?.reason ? ` (${state.outcome.reason})` : "";
  const detail = state.outcome?.detail ? `: ${state.outcome.detail}` : "";
  switch (state.status) {
    case "completed":
      return `Rotation ${state.rotationId} completed: every distribution presents ${shortArn(state.issued?.certificateArn)}.`;
    case "dry-run":
      return `Rotation ${state.rotationId} was a dry run: nothing changed.`;
    case "rolled-back":
      return `Rotation ${state.rotationId} rolled back${reason}${detail}. Every distribution presents the old certificate again.`;
    case "aborted":
      return `Rotation ${state.rotationId} aborted${reason}${detail}. Nothing was swapped.`;
    case "failed": {
      const stuck = state.waves
        .flatMap((w) => w.distributions)
        .filter((d) => d.outcome === "swapped" || d.outcome === "rollback-failed")
        .map((d) => d.distributionId);
      const still = stuck.length
        ? ` Still presenting the new certificate: ${stuck.join(", ")}: look at them now.`
        : "";
      return `Rotation ${state.rotationId} FAILED${reason}${detail}.${still}`;
    }
    default:
      return `Rotation ${state.rotationId} is ${state.status}.`;
  }
}
