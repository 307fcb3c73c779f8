/**
 * `npm run bench:scale` (issue 12): what one rotation costs as its fleet grows, and (optionally) many
 * certificates due at once (scripts/bench-scale-mass.ts).
 *
 * One rotation of a certificate presented by N distributions (default N = 100, 1,000, 5,000; the production
 * wave policy: a canary of 1, then 50%, then the rest), run by the real workflow on the local durable runner
 * (time skipped) against the AWS stand-ins, dynalite and real TLS origins shared by the distributions (10).
 * Measured per N: AWS calls per distribution by operation, DynamoDB writes and bytes (request bodies), durable
 * operations, the largest step result, the largest SNS message, the API's first page (GET /rotations/{id}),
 * CPU and wall time. Cost per distribution should be flat from the smallest N to the largest.
 *
 *   npm run bench:scale                                   (N = 100, 1,000, 5,000; no mass run)
 *   BENCH_SCALE_SIZES=100,500 npm run bench:scale         (quicker)
 *   MASS_CERTIFICATES=200 npm run bench:scale             (adds the mass run: M certificates due at once)
 *
 * Writes reports/bench-scale.md and reports/bench-scale.json. Everything listens on 127.0.0.1 and stops.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { RotationPages } from "../functions/adapters/rotation-pages.ts";
import { getRotation } from "../functions/api/rotations.ts";
import { createRotationWorkflow } from "../functions/workflow/rotation-workflow.ts";
import { botocoreVersion, modelChecks } from "../standins/model/checks.ts";
import { resetFakeClock, setupTimeSkipping, withWaitsThatAddUp } from "../test/support/durable.ts";
import { buildFleet } from "../test/support/fleet.ts";

/** AWS's limits the issue's targets hold each measure to (with 2× headroom at the largest N). */
const LIMITS = {
  stepResult: 256 * 1024,
  item: 400 * 1024,
  sns: 256 * 1024,
  operations: 25_000,
  lambdaAnswer: 6 * 1024 * 1024,
};

interface ScaleRun {
  distributions: number;
  status: string;
  /** Why it did not complete (the rotation's reason and detail). */
  outcome?: string;
  wallSeconds: number;
  cpuSeconds: number;
  durableOperations: number;
  largestStepResult: { name: string; bytes: number };
  dynamodb: { calls: Record<string, number>; bytesWritten: number; largestWrite: number };
  aws: Record<string, number>;
  largestSnsMessage: number;
  apiFirstPage: number;
}

async function oneRotation(distributions: number): Promise<ScaleRun> {
  // The fake clock is where the last run's skipped waits left it (hours ahead after a grace period): a fleet
  // built there has certificates the real TLS origins find "not yet valid", and the preflight aborts. Every
  // test file does the same (test/support/durable.ts).
  resetFakeClock();
  const f = await buildFleet({
    distributions,
    sharedOrigins: 10,
    settings: { waves: { canarySize: 1, waves: [{ percent: 50 }] } },
  });
  try {
    const dynamo = { calls: {} as Record<string, number>, bytesWritten: 0, largestWrite: 0 };
    f.table.client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName).replace(/Command$/, "");
        dynamo.calls[name] = (dynamo.calls[name] ?? 0) + 1;
        if (/Put|Update|Delete|BatchWrite/.test(name)) {
          const bytes = Buffer.byteLength(String((args.request as { body?: unknown }).body ?? ""));
          dynamo.bytesWritten += bytes;
          dynamo.largestWrite = Math.max(dynamo.largestWrite, bytes);
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "benchCount" },
    );
    const firstCall = f.standins.server.calls.length;
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), f.deps);
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    const cpu = process.cpuUsage();
    // Real time: time skipping fakes Date, performance and hrtime, not the process's uptime.
    const started = process.uptime();
    const result = await runner.run({ payload: f.input() });
    const wallSeconds = process.uptime() - started;
    const used = process.cpuUsage(cpu);

    const steps = result
      .getOperations()
      .filter((op) => String(op.getType()) === "STEP")
      .map((op) => ({
        name: op.getName() ?? "?",
        bytes: Buffer.byteLength(JSON.stringify(op.getStepDetails()?.result ?? null)),
      }));
    const aws: Record<string, number> = {};
    for (const call of f.standins.server.calls.slice(firstCall)) {
      const key = `${call.service}:${call.operation}`;
      aws[key] = (aws[key] ?? 0) + 1;
    }
    const rotationId = f.input().rotationId;
    const page = await getRotation({ store: new RotationPages(f.store.tableReads) }, rotationId);
    const state = await f.store.summaryOf(rotationId);
    return {
      distributions,
      status: state?.status ?? String(result.getStatus()),
      ...(state?.outcome?.reason
        ? { outcome: `${state.outcome.reason}: ${state.outcome.detail ?? ""}`.slice(0, 600) }
        : {}),
      wallSeconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      durableOperations: result.getOperations().length,
      largestStepResult: steps.reduce((a, b) => (b.bytes > a.bytes ? b : a), { name: "", bytes: 0 }),
      dynamodb: dynamo,
      aws,
      largestSnsMessage: Math.max(0, ...f.standins.sns.messages().map((m) => Buffer.byteLength(m.message))),
      apiFirstPage: Buffer.byteLength(JSON.stringify(page.body)),
    };
  } finally {
    await f.close();
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const per = (value: number, n: number) => (value / n).toFixed(2);

function report(runs: ScaleRun[], mass: string | undefined): string {
  const operations = [...new Set(runs.flatMap((r) => Object.keys(r.aws)))].sort();
  const largest = runs[runs.length - 1]!;
  const rows = (title: string, value: (r: ScaleRun) => string) =>
    `| ${title} | ${runs.map(value).join(" | ")} |`;
  const header = `| | ${runs.map((r) => `N = ${r.distributions.toLocaleString("en-US")}`).join(" | ")} |\n|---|${runs.map(() => "---:").join("|")}|`;
  const headroom = (value: number, limit: number) => `${(limit / value).toFixed(1)}×`;
  return `# Benchmark: one rotation as its fleet grows (issue 12)

\`npm run bench:scale\` (scripts/bench-scale.ts), ${new Date().toISOString()}. The real workflow on the local
durable runner (time skipped), the AWS stand-ins (every call checked against botocore ${botocoreVersion()}),
dynalite and real TLS origins (10, shared by the distributions); production wave policy (canary 1, 50%, the
rest). Machine: ${cpus().length} CPUs, Node ${process.version}.

${header}
${rows("status", (r) => r.status)}
${rows("wall / CPU (s)", (r) => `${r.wallSeconds.toFixed(1)} / ${r.cpuSeconds.toFixed(1)}`)}
${rows("CPU ms per distribution", (r) => ((r.cpuSeconds * 1000) / r.distributions).toFixed(1))}
${rows("durable operations (per distribution)", (r) => `${r.durableOperations} (${per(r.durableOperations, r.distributions)})`)}
${rows("largest step result", (r) => `${kib(r.largestStepResult.bytes)} (${r.largestStepResult.name.replace(/E[A-Z0-9]{10,}/, "<id>")})`)}
${rows("DynamoDB bytes written (per distribution)", (r) => `${kib(r.dynamodb.bytesWritten)} (${per(r.dynamodb.bytesWritten, r.distributions)} B)`)}
${rows("largest DynamoDB write", (r) => kib(r.dynamodb.largestWrite))}
${rows("DynamoDB calls per distribution", (r) =>
  per(
    Object.values(r.dynamodb.calls).reduce((a, b) => a + b, 0),
    r.distributions,
  ),
)}
${rows("largest SNS message", (r) => kib(r.largestSnsMessage))}
${rows("GET /rotations/{id} first page", (r) => kib(r.apiFirstPage))}

AWS calls per distribution, by operation:

${header}
${operations.map((op) => rows(op, (r) => per(r.aws[op] ?? 0, r.distributions))).join("\n")}

Headroom at N = ${largest.distributions.toLocaleString("en-US")} (AWS limit / measured): step result
${headroom(largest.largestStepResult.bytes, LIMITS.stepResult)} of 256 KB; DynamoDB write (an item is at most its
request) ${headroom(largest.dynamodb.largestWrite, LIMITS.item)} of 400 KB; durable operations
${headroom(largest.durableOperations, LIMITS.operations)} of 25,000; SNS message ${headroom(largest.largestSnsMessage, LIMITS.sns)} of
256 KB; API answer ${headroom(largest.apiFirstPage, LIMITS.lambdaAnswer)} of 6 MB. Checkpoint batches: the local runner does not
expose them, but the workflow runs its durable operations one at a time (no parallel or map), so a batch
carries one operation's updates, at most the largest step result: ${headroom(largest.largestStepResult.bytes, 750 * 1024)} of 750 KB.
AWS model checks: ${modelChecks.counts().checked} calls, ${modelChecks.counts().violations} violation(s).
${mass ? `\n${mass}\n` : "\nMass run (certificates due at once): not run (set MASS_CERTIFICATES).\n"}`;
}

function writeReports(runs: ScaleRun[], mass: { markdown: string; json: object } | undefined): void {
  mkdirSync("reports", { recursive: true });
  writeFileSync("reports/bench-scale.md", report(runs, mass?.markdown));
  writeFileSync("reports/bench-scale.json", `${JSON.stringify({ runs, mass: mass?.json }, null, 2)}\n`);
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SCALE_SIZES ?? "100,1000,5000").split(",").map(Number);
  await setupTimeSkipping();
  const runs: ScaleRun[] = [];
  try {
    for (const n of sizes) {
      console.log(`one rotation over ${n} distributions…`);
      const run = await oneRotation(n);
      console.log(
        `  ${run.status} in ${run.wallSeconds.toFixed(1)} s (CPU ${run.cpuSeconds.toFixed(1)} s)${run.outcome ? `: ${run.outcome}` : ""}`,
      );
      runs.push(run);
      // Written after every size: a long run that is stopped keeps what it measured.
      writeReports(runs, undefined);
    }
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
  let mass: { markdown: string; json: object } | undefined;
  if (process.env.MASS_CERTIFICATES) {
    const { runMassRotation } = await import("./bench-scale-mass.ts");
    mass = await runMassRotation({ certificates: Number(process.env.MASS_CERTIFICATES), log: console.log });
  }
  writeReports(runs, mass);
  console.log("wrote reports/bench-scale.md");
  if (modelChecks.counts().violations > 0) process.exitCode = 1;
}

await main();
