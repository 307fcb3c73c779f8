/**
 * Benchmark: every Lambda entry the infra declares (infra/lambdas.ts), bundled as `sst deploy` bundles it
 * (scripts/lambda-bundles.ts: SST's esbuild settings read from the installed SST, infra's `nodejs` options
 * and plugins through SST's plugin runner), next to an empty handler bundled the same way.
 *
 *   npm run bench:lambdas                  (11 imports of each bundle)
 *   BENCH_LAMBDA_IMPORTS=21 npm run bench:lambdas
 *
 * Per entry: raw and gzip bytes, modules in the import graph, the packages taking most bytes, and the cold
 * import time: the median, over fresh `node` processes (one import each, with the environment a Lambda
 * function has), of the time from the process's start until the bundle is imported, next to the empty
 * handler's median of the same run (processes interleaved round by round, so both see the same machine).
 * Writes reports/bench-lambdas.md; exits 1 if an entry misses its kind's target (LAMBDA_BUDGETS). Bundles
 * are written to a temporary directory, removed at the end.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LAMBDA_BUDGETS, LAMBDA_NODEJS, LAMBDAS, type LambdaKind } from "../infra/lambdas.ts";
import {
  bundleLambda,
  EMPTY_HANDLER_SOURCE,
  type LambdaBundle,
  ROOT,
  readInstalledSst,
  SST_BANNER_LINES,
} from "./lambda-bundles.ts";

const IMPORTS = Number(process.env.BENCH_LAMBDA_IMPORTS ?? 11);
if (!Number.isInteger(IMPORTS) || IMPORTS < 10) throw new Error("BENCH_LAMBDA_IMPORTS: at least 10 imports");
const KiB = 1024;

/** What a Lambda function's process has in its environment (dummy credentials: nothing is called). */
const LAMBDA_ENVIRONMENT = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  AWS_REGION: "us-east-2",
  AWS_DEFAULT_REGION: "us-east-2",
  AWS_ACCESS_KEY_ID: "ASIAEXAMPLEEXAMPLE01",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  AWS_SESSION_TOKEN: "IQoJb3JpZ2luX2VjEXAMPLE",
  AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
  AWS_LAMBDA_FUNCTION_NAME: "mtls-rotator-bench",
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
  AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
  TZ: ":UTC",
};

/** One fresh process: its time from start to the bundle imported, and the import alone (ms). */
const IMPORTER = `
const url = process.argv[1];
const started = performance.now();
await import(url);
const done = performance.now();
process.stdout.write(JSON.stringify({ coldMs: done, importMs: done - started }));
process.exit(0);
`;

function importOnce(bundle: string): { coldMs: number; importMs: number } {
  const run = spawnSync(
    process.execPath,
    ["--input-type=module", "--eval", IMPORTER, pathToFileURL(bundle).href],
    { env: LAMBDA_ENVIRONMENT, encoding: "utf8", timeout: 60_000 },
  );
  if (run.status !== 0) throw new Error(`importing ${bundle} failed (${run.status}): ${run.stderr.trim()}`);
  return JSON.parse(run.stdout);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Not an infra entry: a read route on the SDK's DynamoDB client (test/infra/lambda-bundles.test.ts's fixture). */
const LEAN_READ_ROUTE = "test/infra/fixtures/lean-read-route.handler";

interface Measured {
  name: string;
  kind: LambdaKind | "baseline" | "reference";
  bundle: LambdaBundle;
  coldMs: number[];
  importMs: number[];
}

const sst = readInstalledSst();
const workdir = mkdtempSync(join(tmpdir(), "bench-lambdas-"));
try {
  const emptyEntry = join(workdir, "entry", "empty-handler.ts");
  mkdirSync(join(workdir, "entry"));
  writeFileSync(emptyEntry, EMPTY_HANDLER_SOURCE);
  const out = (name: string) => join(workdir, "out", name.replaceAll(/[^\w-]+/g, "_"));

  console.log(
    `bundling ${LAMBDAS.length} entries and an empty handler (SST ${sst.version}, esbuild ${sst.esbuildVersion})`,
  );
  const measured: Measured[] = await Promise.all([
    bundleLambda(`${emptyEntry.slice(0, -3)}.handler`, LAMBDA_NODEJS, out("empty"), sst).then((bundle) => ({
      name: "empty handler",
      kind: "baseline" as const,
      bundle,
      coldMs: [],
      importMs: [],
    })),
    bundleLambda(LEAN_READ_ROUTE, LAMBDA_NODEJS, out("lean-read-route"), sst).then((bundle) => ({
      name: "SDK read route (reference)",
      kind: "reference" as const,
      bundle,
      coldMs: [],
      importMs: [],
    })),
    ...LAMBDAS.map(async (entry) => ({
      name: entry.name,
      kind: entry.kind,
      bundle: await bundleLambda(entry.handler, LAMBDA_NODEJS, out(entry.name), sst),
      coldMs: [] as number[],
      importMs: [] as number[],
    })),
  ]);

  console.log(`importing each bundle ${IMPORTS} times, one fresh node process each`);
  for (let round = 0; round < IMPORTS; round++) {
    for (const entry of measured) {
      const sample = importOnce(entry.bundle.outfile);
      entry.coldMs.push(sample.coldMs);
      entry.importMs.push(sample.importMs);
    }
  }

  const baseline = measured[0]!;
  const baselineCold = median(baseline.coldMs);
  const rows = measured.map((entry) => {
    const budget =
      entry.kind === "baseline" || entry.kind === "reference" ? undefined : LAMBDA_BUDGETS[entry.kind];
    const cold = median(entry.coldMs);
    const ratio = cold / baselineCold;
    const missed: string[] = [];
    if (budget && entry.bundle.bytes > budget.maxBytes)
      missed.push(`${(entry.bundle.bytes / budget.maxBytes).toFixed(2)}× its size`);
    if (budget?.maxImportRatio !== undefined && ratio > budget.maxImportRatio)
      missed.push(`import ${ratio.toFixed(2)}× empty > ${budget.maxImportRatio}×`);
    return { entry, budget, cold, ratio, missed };
  });

  const kib = (bytes: number) => `${(bytes / KiB).toFixed(1)}`;
  const target = (budget: (typeof rows)[number]["budget"]) =>
    budget
      ? `≤ ${kib(budget.maxBytes)} KiB${budget.maxImportRatio ? `, ≤ ${budget.maxImportRatio}× empty` : ""}`
      : "";
  const table = [
    "| entry | kind | raw KiB | gzip KiB | modules | cold import ms | import() ms | ratio | target | result |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ...rows.map(
      ({ entry, budget, cold, ratio, missed }) =>
        `| ${entry.name} | ${entry.kind} | ${kib(entry.bundle.bytes)} | ${kib(entry.bundle.gzipBytes)} | ` +
        `${entry.bundle.inputs.length} | ${cold.toFixed(1)} | ${median(entry.importMs).toFixed(1)} | ` +
        `${ratio.toFixed(2)} | ${target(budget)} | ` +
        `${budget ? (missed.length > 0 ? `**missed**: ${missed.join("; ")}` : "met") : ""} |`,
    ),
  ];
  const lines = [
    "# Lambda bundle benchmark",
    "",
    `${new Date().toISOString()} · ${cpus().length} CPUs · Node ${process.version} · SST ${sst.version} · esbuild ${sst.esbuildVersion} (read from SST's CLI) · ${IMPORTS} imports of each bundle`,
    "",
    "Every Lambda entry of infra/lambdas.ts bundled as `sst deploy` bundles it: SST's settings (platform node, " +
      "ESM, target esnext, main fields module/main, keepNames, sharp and pg-native external, its banner of " +
      `${SST_BANNER_LINES.length} lines), infra's nodejs options ${JSON.stringify(LAMBDA_NODEJS)}, the plugins ` +
      "run by SST's own plugin runner (scripts/lambda-bundles.ts).",
    "",
    "- **raw**: bytes of the .mjs (the linked source map is a file of its own); **gzip**: the same, gzipped " +
      "(zlib default level); **modules**: modules in the import graph (metafile inputs, tree-shaken ones included).",
    "- **cold import**: median over fresh `node` processes of the time from the process's start until " +
      "`import()` of the bundle resolved (Node's own start included, as in a cold start's init); **import()**: " +
      "the import alone. **ratio**: cold import / the empty handler's, same run, processes interleaved.",
    `- The SDK read route is no infra entry: ${LEAN_READ_ROUTE} (the SDK's DynamoDB client, one zod/mini ` +
      "schema, nothing else): what a read route weighs on an SDK client. The deployed read and decision routes " +
      "read the table with SigV4-signed requests instead (functions/adapters/signed-table.ts), no SDK client.",
    "- Which modules each function may import: test/infra/lambda-bundles.test.ts.",
    "",
    ...table,
    "",
    "## Largest packages per bundle",
    "",
    "Bytes in the output (KiB), five largest; `functions/<dir>` is the project's own code.",
    "",
    ...measured
      .filter((entry) => entry.kind !== "baseline")
      .map(
        (entry) =>
          `- **${entry.name}**: ${entry.bundle.packages
            .slice(0, 5)
            .map((p) => `${p.name} ${kib(p.bytes)}`)
            .join(", ")}`,
      ),
    "",
  ];
  mkdirSync(join(ROOT, "reports"), { recursive: true });
  writeFileSync(join(ROOT, "reports", "bench-lambdas.md"), lines.join("\n"));
  console.log(table.join("\n"));
  const missed = rows.filter((row) => row.missed.length > 0);
  console.log(
    missed.length > 0
      ? `\n${missed.length} of ${LAMBDAS.length} entries miss their target: ${missed.map((r) => r.entry.name).join(", ")}`
      : `\nevery entry meets its target`,
  );
  console.log("wrote reports/bench-lambdas.md");
  process.exitCode = missed.length > 0 ? 1 : 0;
} finally {
  rmSync(workdir, { recursive: true, force: true });
}
