/**
 * `mtls-rotator watch <rotation-id>`: follows a rotation until it ends. On a terminal the view is redrawn in
 * place (status, one line per wave with each distribution's outcome and its gate, what the rotation waits
 * for and how to act, the latest events); otherwise only what changed is printed, as a log. Exits 0 when the
 * rotation completed, 6 when it was rolled back or aborted, 7 when it failed.
 */
import type { RotationAnswer, RotationStateView, WaveView } from "../api-types.ts";
import { type CommandDeps, type CommandSpec, positionalsOf, seconds } from "../command.ts";
import { ApiAnswerError, ExitCode, explainError } from "../errors.ts";
import {
  clock,
  describeEvent,
  gateParts,
  isTerminal,
  outcomeLine,
  relative,
  shortArn,
  timestamp,
  truncate,
  waitingLines,
  waveLine,
  waveTitle,
} from "../render.ts";

export interface WatchInput {
  rotationId: string;
  intervalMs: number;
}

export const DEFAULT_INTERVAL_MS = 5_000;
/** Polls in a row that may fail (API unreachable or 5xx) before watch gives up. */
export const MAX_FAILED_POLLS = 5;
/**
 * How long a rotation id the API does not know yet is waited for: a rotation is visible once its workflow
 * recorded its start, a moment after `rotate` was answered (an asynchronous start).
 */
export const NOT_FOUND_GRACE_MS = 60_000;
const RECENT_EVENTS = 6;

export function exitCodeFor(status: RotationStateView["status"]): number {
  switch (status) {
    case "completed":
    case "dry-run":
      return ExitCode.Ok;
    case "rolled-back":
    case "aborted":
      return ExitCode.RolledBack;
    case "failed":
      return ExitCode.RotationFailed;
    default:
      return ExitCode.Ok;
  }
}

function progress(state: RotationStateView): string {
  if (state.waves.length === 0) return "";
  const passed = state.waves.filter((w) => w.status === "passed").length;
  return ` (${passed}/${state.waves.length} waves passed)`;
}

function statusLine(state: RotationStateView): string {
  return `Rotation ${state.rotationId}: ${state.status}${progress(state)}`;
}

function certificateLine(state: RotationStateView): string {
  const old = state.old
    ? `${shortArn(state.old.arn)} (serial ${state.old.serial})`
    : shortArn(state.request?.certificateArn);
  const next = state.issued
    ? `${shortArn(state.issued.certificateArn)} (serial ${state.issued.serial})`
    : "(not issued yet)";
  return `${old} -> ${next}`;
}

function waveRows(waves: WaveView[]): string[] {
  const titleWidth = Math.max(0, ...waves.map((w) => waveTitle(w).length));
  const statusWidth = Math.max(0, ...waves.map((w) => w.status.length));
  const rows: string[] = [];
  for (const wave of waves) {
    const listed = wave.distributions.map(
      (d) => `${d.distributionId} ${d.outcome}${d.error ? ` (${d.error})` : ""}`,
    );
    // The API answers a page of a large wave: say how many more, and their outcomes.
    const more = (wave.size ?? wave.distributions.length) - wave.distributions.length;
    if (more > 0) listed.push(`… ${more} more (${countsText(wave.counts)})`);
    const distributions = listed.join(", ");
    rows.push(
      `  ${waveTitle(wave).padEnd(titleWidth)}  ${wave.status.padEnd(statusWidth)}  ${distributions}`,
    );
    if (wave.gate) {
      // Rates and probes on lines of their own: both stay readable on a narrow terminal.
      const { verdict, rates, probes } = gateParts(wave.gate);
      const pad = " ".repeat(titleWidth + statusWidth + 6);
      rows.push(`${pad}${verdict}: ${rates}`, `${pad}${" ".repeat(verdict.length + 2)}${probes}`);
    }
  }
  return rows;
}

/** A wave's distributions by outcome, all pages: "2 swapped, 1 pending". */
function countsText(counts: WaveView["counts"]): string {
  return Object.entries(counts ?? {})
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(", ");
}

/** The full view drawn on a terminal. */
export function watchFrame(detail: RotationAnswer, now: Date, intervalMs: number): string[] {
  const state = detail.rotation;
  const lines = [
    statusLine(state),
    `  certificate  ${certificateLine(state)}`,
    `  started      ${timestamp(state.startedAt)} (${relative(state.startedAt, now)}), last change ${relative(state.updatedAt, now)}`,
  ];
  if (state.waves.length > 0) lines.push("", ...waveRows(state.waves));
  const waiting = waitingLines(detail);
  if (waiting.length > 0) lines.push("", ...waiting);
  const recent = detail.history.slice(-RECENT_EVENTS);
  if (recent.length > 0) {
    lines.push("", "Recent events:", ...recent.map((e) => `  ${clock(e.at)}  ${describeEvent(e)}`));
  }
  lines.push(
    "",
    isTerminal(state)
      ? `Updated ${clock(now.toISOString())}`
      : `Updated ${clock(now.toISOString())}, refreshing every ${intervalMs / 1000}s. Ctrl-C stops watching (the rotation keeps running).`,
  );
  return lines;
}

/** Lines of the log view, keyed so that only a changed line is printed again. */
export function watchLog(detail: RotationAnswer): Array<{ key: string; text: string }> {
  const state = detail.rotation;
  return [
    ...detail.history.map((e, i) => ({
      key: `event:${(detail.historyStart ?? 0) + i}`,
      text: `${clock(e.at)}  ${describeEvent(e)}`,
    })),
    { key: "status", text: statusLine(state) },
    ...state.waves.map((w) => ({ key: `wave:${w.index}`, text: `  ${waveLine(w)}` })),
    { key: "waiting", text: waitingLines(detail).join("\n") },
  ];
}

export async function watchRotation(input: WatchInput, deps: CommandDeps): Promise<number> {
  const printed = new Map<string, string>();
  let drawn = 0;
  let failures = 0;
  let last: RotationAnswer | undefined;
  const startedWatching = deps.now().getTime();
  let announcedWait = false;

  const draw = (lines: string[]) => {
    const width = deps.columns && deps.columns > 1 ? deps.columns - 1 : undefined;
    const fitted = width ? lines.map((line) => truncate(line, width)) : lines;
    const rewind = drawn > 0 ? `\x1b[${drawn}A\r\x1b[J` : "";
    deps.out(`${rewind}${fitted.join("\n")}\n`);
    drawn = fitted.length;
  };

  if (!deps.isTTY) {
    deps.out(`Watching rotation ${input.rotationId}. Ctrl-C stops watching; the rotation keeps running.\n`);
  }
  for (;;) {
    let detail: RotationAnswer;
    try {
      detail = await deps.api.getRotation(input.rotationId);
      failures = 0;
    } catch (error) {
      // Not visible yet (just started): wait for it a while, saying so once.
      const notYet =
        !last &&
        error instanceof ApiAnswerError &&
        error.status === 404 &&
        deps.now().getTime() - startedWatching < NOT_FOUND_GRACE_MS;
      if (notYet) {
        if (!announcedWait)
          deps.err(`Rotation ${input.rotationId} is not recorded yet; waiting for it to start…\n`);
        announcedWait = true;
        await deps.sleep(input.intervalMs);
        continue;
      }
      const { message, exitCode } = explainError(error);
      const transient = exitCode === ExitCode.Unreachable || exitCode === ExitCode.Failed;
      // Give up at once on the first poll (a wrong endpoint or id) and on anything a retry cannot fix.
      failures += 1;
      if (!last || !transient || failures >= MAX_FAILED_POLLS) throw error;
      const note = `API error (${failures}/${MAX_FAILED_POLLS}), retrying in ${input.intervalMs / 1000}s: ${message}`;
      if (deps.isTTY) draw([...watchFrame(last, deps.now(), input.intervalMs), note]);
      else deps.err(`${note}\n`);
      await deps.sleep(input.intervalMs);
      continue;
    }
    last = detail;

    if (deps.isTTY) {
      draw(watchFrame(detail, deps.now(), input.intervalMs));
    } else {
      for (const { key, text } of watchLog(detail)) {
        if (printed.get(key) === text) continue;
        printed.set(key, text);
        if (text !== "") deps.out(`${text}\n`);
      }
    }
    if (isTerminal(detail.rotation)) {
      deps.out(`${outcomeLine(detail.rotation)}\n`);
      return exitCodeFor(detail.rotation.status);
    }
    await deps.sleep(input.intervalMs);
  }
}

export const watchCommand: CommandSpec<WatchInput> = {
  name: "watch",
  summary: "follow a rotation wave by wave until it ends (exit code tells how it ended)",
  usage: `Usage: mtls-rotator watch <rotation-id> [--interval <seconds>]

Follows a rotation until it ends: its status, one line per wave with each distribution's outcome
(pending, swapped, rolled-back, rollback-failed, not-presenting) and the wave's health gate (5xx error rate
against its threshold, synthetic mTLS probes accepted), what the rotation waits for (a bake window or an
approval) with the command to approve or roll back, and the latest events. On a terminal the view is
redrawn in place; otherwise (a pipe, a CI log) only what changed is printed.
Ctrl-C stops watching; the rotation keeps running.

Options:
  --interval <seconds>  time between refreshes (default ${DEFAULT_INTERVAL_MS / 1000})

When the rotation ends, watch exits with:
  0  completed (or was a dry run)
  6  rolled back or aborted: distributions present the old certificate
  7  failed: some distributions may still present the new certificate; look at them now
  (and the codes below when the API cannot be asked; up to ${MAX_FAILED_POLLS} failed refreshes in a row are retried)`,
  options: { interval: { type: "string" } },
  parse: (values, positionals) => {
    const [rotationId] = positionalsOf(positionals, ["rotation-id"]);
    return { rotationId: rotationId!, intervalMs: seconds(values, "interval") ?? DEFAULT_INTERVAL_MS };
  },
  run: watchRotation,
};
