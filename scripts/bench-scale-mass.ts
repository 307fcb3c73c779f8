/**
 * The mass half of `npm run bench:scale`: M certificates due at once (a CA migration makes every certificate
 * due together), each rotated by the real workflow in its own durable execution with its own dependencies
 * (as Lambda runs them: own SDK clients, own adapters, so no in-process pacing is shared), on the local
 * durable runner with real timers, against the AWS stand-ins (ACM: 1 ImportCertificate per second per
 * account; Private CA: 25 IssueCertificate per second; ThrottlingException beyond, docs/aws-behaviour.md
 * `acm.import-rate-1-per-second`, `acm-pca.issue-rate-25`) and dynalite, where the account's pacer
 * (functions/adapters/pacer.ts) keeps its schedules.
 *
 * Time scale: the local runner's durable waits are real time (time skipping fakes one clock for the whole
 * process, which concurrent executions would move for each other), so 1,000 imports at 1/s take ~17.5
 * minutes. `timeScale` k makes the stand-ins count their quotas per 1000/k ms and divides the pacer's
 * intervals by k (test/support/certificates-due.ts). Default 1 (AWS's rates), because scaling does not
 * scale this harness's jitter: every execution, the stand-ins and dynalite share ONE event loop (p99 lag
 * 50-140 ms at 20-100 rotations, measured and reported below), while the pacer's 5% margin is 50 ms / k;
 * in Lambda each execution has its own process. Measured (100 certificates): k = 4 -> 134 throttled
 * imports, 0.64 imports/s; k = 2 -> 284 throttled, 0.68/s (a late call squeezes the next slot, the SDK's
 * real-time retry lands in a third one); both completed all 100 rotations. Report scaled runs as such.
 *
 * `runMassRotation(options)` answers `{ markdown, json }`; run alone:
 *   node scripts/bench-scale-mass.ts                      (M = 1,000, k = 1: ~20 minutes)
 *   MASS_CERTIFICATES=200 node scripts/bench-scale-mass.ts (a quick run: ~5 minutes)
 *   MASS_TIME_SCALE=4 ...                                   (scaled, see above)
 */
import { fork } from "node:child_process";
import { cpus } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { PACED_OPERATIONS } from "../functions/core/pacing.ts";
import type { RotationInput } from "../functions/workflow/rotation-workflow.ts";
import { botocoreVersion, describeModelViolation, modelChecks } from "../standins/model/checks.ts";
import { buildDueFleet, type DueAccount } from "../test/support/certificates-due.ts";
import { type MassOutcome, type MassWorkerMessage, runExecutions } from "./bench-scale-mass-worker.ts";

type WorkerReport = Extract<MassWorkerMessage, { type: "done" }>;

/** Runs `inputs` in a child process (scripts/bench-scale-mass-worker.ts); each outcome goes to `record`. */
function inWorker(
  account: DueAccount,
  inputs: RotationInput[],
  record: (outcome: MassOutcome) => void,
): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL("./bench-scale-mass-worker.ts", import.meta.url), {
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let done: WorkerReport | undefined;
    child.on("message", (message: MassWorkerMessage) => {
      if (message.type === "ended") record(message.outcome);
      else done = message;
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      done ? resolve(done) : reject(new Error(`a mass-run process exited (${code}) before it reported`)),
    );
    child.send({ account, inputs });
  });
}

export interface MassRotationOptions {
  /** Certificates due at once (default 1,000). */
  certificates?: number;
  /** Every AWS rate and pacing interval k times faster (default 1: AWS's own). */
  timeScale?: number;
  /**
   * Processes the executions run in (default 2; 0: in this one, with the stand-ins). Lambda gives each its own
   * environment; one event loop for all of them and the stand-ins was the bottleneck at M = 1,000.
   */
  processes?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The targets of issue 12 for M certificates due at once. */
export const MASS_TARGETS = { failed: 0, importsPerSecond: 0.9, lastImportFactor: 1.2 } as const;

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function runMassRotation(
  options: MassRotationOptions = {},
): Promise<{ markdown: string; json: Record<string, unknown> }> {
  const m = options.certificates ?? 1_000;
  const k = options.timeScale ?? 1;
  const log = options.log ?? (() => undefined);
  const processes = options.processes ?? 2;
  // The runner's environment only where executions run: here when processes is 0, else each worker has its own.
  const inHere = processes === 0;
  if (inHere) await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
  const setupStarted = performance.now();
  const fleet = await buildDueFleet({ certificates: m, timeScale: k });
  try {
    log(
      `[mass] ${m} certificates in service, set up in ${round((performance.now() - setupStarted) / 1000, 1)} s`,
    );
    const modelBefore = modelChecks.counts();
    const callsBefore = fleet.standins.server.calls.length;
    const cpuBefore = process.cpuUsage();
    // The stand-ins and dynalite's client side run in this process; the executions in `processes` others.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const wallStarted = performance.now();
    let ended = 0;
    const outcomes: MassOutcome[] = [];
    const record = (outcome: MassOutcome) => {
      outcomes.push(outcome);
      ended += 1;
      if (ended % Math.max(1, Math.floor(m / 10)) === 0) {
        log(
          `[mass] ${ended}/${m} rotations ended after ${round((performance.now() - wallStarted) / 1000, 1)} s`,
        );
      }
    };
    // The scan that finds them due: one listing pass, whose hint spares each plan a listing of its own.
    const inputs = await fleet.scan();
    const workers: WorkerReport[] = [];
    if (processes === 0) {
      await runExecutions(fleet.account, inputs, record);
    } else {
      const shares = Array.from({ length: processes }, (_, p) =>
        inputs.filter((_, i) => i % processes === p),
      );
      workers.push(...(await Promise.all(shares.map((share) => inWorker(fleet.account, share, record)))));
    }
    const wallMs = performance.now() - wallStarted;
    loopDelay.disable();
    const cpu = process.cpuUsage(cpuBefore);
    const modelAfter = modelChecks.counts();

    const listings = fleet.standins.server.calls
      .slice(callsBefore)
      .filter((c) => c.operation === "ListDistributions").length;
    const calls = fleet.pacedCalls();
    const of = (operation: string) => calls.filter((c) => c.operation === operation);
    const imports = of("acm:ImportCertificate");
    const issues = of("acm-pca:IssueCertificate");
    const imported = imports
      .filter((c) => c.status === 200)
      .map((c) => c.atMs)
      .sort((a, b) => a - b);
    const throttled = (list: typeof calls) => list.filter((c) => c.error === "ThrottlingException").length;
    const spanRealMs = imported.length > 1 ? imported.at(-1)! - imported[0]! : 0;
    const spanScaledSeconds = (spanRealMs * k) / 1000;
    const importsPerScaledSecond = spanScaledSeconds > 0 ? (imported.length - 1) / spanScaledSeconds : 0;
    const gaps = imported.slice(1).map((t, i) => (t - imported[i]!) * k);
    const byStatus: Record<string, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    const failed = outcomes.filter((o) => o.status !== "completed");
    const json = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      parameters: {
        certificates: m,
        timeScale: k,
        acmImportIntervalMs: PACED_OPERATIONS["acm-import"].intervalMs,
        pcaIssueIntervalMs: PACED_OPERATIONS["pca-issue"].intervalMs,
        perExecutionDependencies: true,
      },
      rotations: { byStatus, failed: failed.length, firstFailures: failed.slice(0, 5).map((f) => f.error) },
      imports: {
        succeeded: imported.length,
        calls: imports.length,
        throttled: throttled(imports),
        firstToLastScaledSeconds: round(spanScaledSeconds, 1),
        firstToLastRealSeconds: round(spanRealMs / 1000, 1),
        importsPerScaledSecond: round(importsPerScaledSecond, 3),
        smallestGapScaledMs: gaps.length ? Math.round(Math.min(...gaps)) : null,
        rotationsThatWaitedDurably: outcomes.filter((o) => o.waitedForImport).length,
      },
      privateCa: {
        issueCalls: issues.length,
        throttled: throttled(issues),
        rotationsThatWaitedDurably: outcomes.filter((o) => o.waitedForIssue).length,
      },
      listDistributionsCalls: listings,
      importSlotsPerRotation: {
        max: Math.max(...outcomes.map((o) => o.importSlots)),
        reslotted: outcomes.filter((o) => o.importSlots > 1).length,
      },
      durableOperationsPerRotation: {
        max: Math.max(...outcomes.map((o) => o.operations)),
        min: Math.min(...outcomes.map((o) => o.operations)),
      },
      processes,
      eventLoopDelayMs: {
        standins: {
          p50: round(loopDelay.percentile(50) / 1e6, 1),
          p99: round(loopDelay.percentile(99) / 1e6, 1),
          max: round(loopDelay.max / 1e6, 1),
        },
        executions: workers.length
          ? {
              p50: round(Math.max(...workers.map((w) => w.eventLoopDelayMs.p50)), 1),
              p99: round(Math.max(...workers.map((w) => w.eventLoopDelayMs.p99)), 1),
              max: round(Math.max(...workers.map((w) => w.eventLoopDelayMs.max)), 1),
            }
          : null,
      },
      wallSeconds: round(wallMs / 1000, 1),
      cpuSeconds: round((cpu.user + cpu.system) / 1e6 + workers.reduce((a, w) => a + w.cpuSeconds, 0), 1),
      modelChecks: {
        botocore: botocoreVersion(),
        checked: modelAfter.checked - modelBefore.checked,
        violations: modelAfter.violations,
        details: modelChecks.all().map(describeModelViolation),
      },
      targets: {
        failed: failed.length === MASS_TARGETS.failed,
        importsPerSecond: importsPerScaledSecond >= MASS_TARGETS.importsPerSecond,
        lastImport: spanScaledSeconds <= MASS_TARGETS.lastImportFactor * m,
      },
    };
    const yes = (ok: boolean) => (ok ? "met" : "**missed**");
    const delays = (d: { p50: number; p99: number; max: number }) => `${d.p50} / ${d.p99} / ${d.max} ms`;
    const markdown = `## ${m.toLocaleString("en")} certificates due at once

Each certificate rotated by the real workflow in its own durable execution with its own dependencies (as in
Lambda: no in-process pacing shared), the executions spread over ${processes || "no"} processes of their own (the
stand-ins and dynalite in another), on the local durable runner (real timers) against the stand-ins (ACM
1 \`ImportCertificate\`/s, Private CA 25 \`IssueCertificate\`/s, ThrottlingException beyond) and dynalite. The
account's pacer (DynamoDB, \`PACE#acm-import\` / \`PACE#pca-issue\`) gives each rotation a slot; those behind
wait for it durably. Time scale **${k}×**: the stand-ins count their quotas per ${round(1000 / k, 1)} ms and the
pacer's intervals are divided by ${k}; rates and spans below are in scaled seconds (real seconds × ${k}).

| | value | target |
|---|---:|---|
| rotations completed / failed | ${byStatus.completed ?? 0} / ${failed.length} | 0 failed: ${yes(json.targets.failed)} |
| imports (calls / succeeded / throttled) | ${imports.length} / ${imported.length} / ${json.imports.throttled} | |
| imports per second sustained | ${json.imports.importsPerScaledSecond} | ≥ ${MASS_TARGETS.importsPerSecond}: ${yes(json.targets.importsPerSecond)} |
| first to last import | ${json.imports.firstToLastScaledSeconds} s (${json.imports.firstToLastRealSeconds} s real) | ≤ ${MASS_TARGETS.lastImportFactor} × ${m} s: ${yes(json.targets.lastImport)} |
| smallest gap between two imports | ${json.imports.smallestGapScaledMs} ms | ≥ 1,000 ms |
| rotations that waited durably for their import slot | ${json.imports.rotationsThatWaitedDurably} | |
| Private CA IssueCertificate (calls / throttled; waited durably) | ${issues.length} / ${json.privateCa.throttled}; ${json.privateCa.rotationsThatWaitedDurably} | |
| CloudFront ListDistributions calls (the scan's one pass; plans use its hint) | ${listings} | |
| durable operations per rotation | ${json.durableOperationsPerRotation.min}–${json.durableOperationsPerRotation.max} | |
| rotations that re-slotted a throttled import (most slots one took) | ${json.importSlotsPerRotation.reslotted} (${json.importSlotsPerRotation.max}) | |
| wall / CPU (real, every process) | ${json.wallSeconds} / ${json.cpuSeconds} s | |
| event-loop delay, p50 / p99 / max (real): stand-ins' process; executions' processes (worst of ${processes}) | ${delays(json.eventLoopDelayMs.standins)}; ${json.eventLoopDelayMs.executions ? delays(json.eventLoopDelayMs.executions) : "in the stand-ins' process"} | |

AWS model checks (botocore ${json.modelChecks.botocore}): ${json.modelChecks.checked} calls of the run checked; **${json.modelChecks.violations} violation(s)**. Machine: ${json.machine.cpus} CPUs, Node ${json.machine.node}.
`;
    return { markdown, json };
  } finally {
    await fleet.close();
    if (inHere) await LocalDurableTestRunner.teardownTestEnvironment();
  }
}

if (import.meta.main) {
  const { markdown, json } = await runMassRotation({
    certificates: Number(process.env.MASS_CERTIFICATES ?? 1_000),
    timeScale: Number(process.env.MASS_TIME_SCALE ?? 1),
    processes: Number(process.env.MASS_PROCESSES ?? 2),
    log: (line) => console.error(line),
  });
  console.log(markdown);
  console.log(JSON.stringify(json, null, 2));
  const targets = json.targets as Record<string, boolean>;
  const model = json.modelChecks as { violations: number; details: string[] };
  if (Object.values(targets).some((ok) => !ok) || model.violations > 0) {
    if (model.violations > 0) console.error(model.details.join("\n"));
    process.exitCode = 1;
  }
}
