/**
 * `npm run sandbox` / `mtls-rotator sandbox`: run whole rotations on this machine from a scenario file.
 *
 *   npm run sandbox                                  the default scenario (healthy)
 *   npm run sandbox -- <scenario.json | name> [--report <path>] [--quiet] [--origins auto|nginx|node]
 *   npm run sandbox -- --list                        the shipped scenarios
 *
 * Exit codes: 0 every expectation held; 1 an expectation failed; 2 bad usage or an invalid scenario (nothing
 * was started); 3 the sandbox itself could not run (e.g. nginx asked for but missing); 130 interrupted.
 * Runnable directly: `node sandbox/cli.ts ...`. See docs/sandbox.md.
 */
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { defaultReportPath, writeReport } from "./report.ts";
import { runSandbox } from "./runner.ts";
import { loadScenario, type Scenario, ScenarioError } from "./scenario.ts";
import { runViewerSandbox } from "./viewer-runner.ts";
import { isViewerScenarioDocument, parseViewerScenario } from "./viewer-scenario.ts";

export const SCENARIO_DIR = fileURLToPath(new URL("./scenarios/", import.meta.url));
export const DEFAULT_SCENARIO = "healthy";

export const USAGE = `Usage: npm run sandbox -- [scenario] [--report <path>] [--quiet] [--origins auto|nginx|node]
       (or: mtls-rotator sandbox ..., node sandbox/cli.ts ...)

Runs whole certificate rotations on this machine: real CA signatures, real TLS origins (nginx when
installed, Node TLS servers otherwise), the real workflow on the local durable runner, AWS stand-ins.

  scenario           a scenario file (JSON), or the name of a shipped one (default: ${DEFAULT_SCENARIO})
  --report <path>    where the JSON report goes (default: reports/sandbox/<scenario>.json)
  --quiet            print only the summary
  --origins <kind>   auto (default: nginx when installed), nginx, or node
  --list             list the shipped scenarios
  --help             this text

Exit codes: 0 expectations held, 1 an expectation failed, 2 bad usage or invalid scenario,
3 the sandbox could not run, 130 interrupted. Scenario format: docs/sandbox.md`;

export interface SandboxCliIo {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Base for the default report path (default: the current directory). */
  cwd?: string;
  /** Stops the run early (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

/** The shipped scenarios (names of sandbox/scenarios/*.json). */
export function shippedScenarios(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith(".json"))
    .map((file) => basename(file, ".json"))
    .sort();
}

/** A path, or a shipped scenario's name. */
export function resolveScenarioPath(arg: string): string | undefined {
  if (existsSync(arg)) return resolve(arg);
  if (/^[a-z0-9-]+$/.test(arg)) {
    const shipped = resolve(SCENARIO_DIR, `${arg}.json`);
    if (existsSync(shipped)) return shipped;
  }
  return undefined;
}

/** Runs the sandbox CLI with `argv` (arguments after the command); resolves with the exit code. */
export async function runSandboxCli(argv: string[], io: SandboxCliIo = {}): Promise<number> {
  const out = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));

  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    err(`sandbox: ${(error as Error).message}`);
    err(USAGE);
    return 2;
  }
  if (args.values.help) {
    out(USAGE);
    return 0;
  }
  if (args.values.list) {
    for (const name of shippedScenarios()) out(name);
    return 0;
  }
  if (args.positionals.length > 1) {
    err(`sandbox: one scenario at a time, got ${args.positionals.length}: ${args.positionals.join(" ")}`);
    return 2;
  }
  const origins = args.values.origins;
  if (origins !== undefined && !["auto", "nginx", "node"].includes(origins)) {
    err(`sandbox: --origins must be auto, nginx or node, got ${JSON.stringify(origins)}`);
    return 2;
  }

  const wanted = args.positionals[0] ?? DEFAULT_SCENARIO;
  const path = resolveScenarioPath(wanted);
  if (!path) {
    err(
      `sandbox: no scenario file ${JSON.stringify(wanted)} and no shipped scenario of that name (shipped: ${shippedScenarios().join(", ")})`,
    );
    return 2;
  }
  const viewer = await viewerScenarioAt(path);
  if (viewer && !viewer.ok) {
    err(`sandbox: ${path}:\n  ${viewer.problems.join("\n  ")}`);
    return 2;
  }
  if (viewer?.ok) {
    const run = await runViewerSandbox({
      scenario: viewer.scenario,
      scenarioFile: path,
      write: out,
      quiet: args.values.quiet ?? false,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const reportPath = args.values.report
      ? resolve(io.cwd ?? process.cwd(), args.values.report)
      : defaultReportPath(viewer.scenario.name, io.cwd);
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(reportPath, `${JSON.stringify(run.report, null, 2)}\n`);
    out(`report: ${reportPath}`);
    return run.exitCode;
  }
  let scenario: Scenario;
  try {
    scenario = await loadScenario(path);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    err(`sandbox: ${error.message}`);
    return 2;
  }

  const reportPath = args.values.report
    ? resolve(io.cwd ?? process.cwd(), args.values.report)
    : defaultReportPath(scenario.name, io.cwd);
  const run = await runSandbox({
    scenario,
    scenarioFile: path,
    ...(origins ? { origins: origins as "auto" | "nginx" | "node" } : {}),
    write: out,
    quiet: args.values.quiet ?? false,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  const written = await writeReport(reportPath, run.report);
  out(`report: ${written}`);
  return run.exitCode;
}

/**
 * A scenario file of kind "viewer" (sandbox/viewer-scenario.ts), parsed; undefined for any other file (the
 * rotation scenarios, whose loader reports its own problems, unreadable files and JSON errors included).
 */
async function viewerScenarioAt(path: string): Promise<ReturnType<typeof parseViewerScenario> | undefined> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  return isViewerScenarioDocument(document) ? parseViewerScenario(document) : undefined;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      report: { type: "string" },
      quiet: { type: "boolean" },
      origins: { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** True when this module is the program (`node sandbox/cli.ts`), not imported. */
function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url;
  } catch {
    return false;
  }
}

/**
 * The sandbox as a process runs it (`npm run sandbox`, `mtls-rotator sandbox`): Ctrl-C stops everything
 * (a second Ctrl-C quits at once); resolves with the exit code (130 when interrupted).
 */
export async function runSandboxProcess(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    process.stderr.write("\nsandbox: interrupted, stopping everything (Ctrl-C again to quit at once)\n");
    controller.abort();
    process.once("SIGINT", () => process.exit(130));
  };
  process.once("SIGINT", onInterrupt);
  try {
    const code = await runSandboxCli(argv, { signal: controller.signal });
    // An interrupted run may leave durable executions mid-step in this process: do not wait for them.
    if (interrupted) process.exit(130);
    return code;
  } catch (error) {
    process.stderr.write(`sandbox: ${(error as Error).stack ?? String(error)}\n`);
    return 3;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
}

if (isMain()) {
  runSandboxProcess(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
