/**
 * moto (PyPI, server mode) as an independent AWS emulator for differential checks (test/differential/):
 * one moto server per test file on a free loopback port, real SDK clients pointed at it, a reset between
 * cases, and a bounded stop. moto is written independently of this project, so where it is faithful it can
 * catch a stand-in that merely agrees with our own beliefs (see /work/shared/design/testing.md, "Independent
 * sources", and KNOWN_MOTO_DEVIATIONS in ./moto-deviations.ts for where it is not).
 *
 * moto comes from the project-local virtual environment `.venv` (scripts/setup.sh installs it, hash-pinned,
 * from scripts/python/requirements.txt). A missing moto FAILS the test file with a message saying how to
 * install it: differential checks never skip silently, in CI or elsewhere.
 *
 * The moto process can never outlive the test run: it is stopped by `close()` (SIGTERM, then SIGKILL after a
 * bound), killed when this process exits, and it watches its stdin pipe and exits on its own when that pipe
 * closes — which the OS does when this process dies, however it dies.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type AwsClientSettings,
  type AwsClients,
  createAwsClients,
} from "../../functions/wiring/aws-clients.ts";
import { dynamoDbClient } from "../../standins/dynamodb.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The project's virtual environment (a symlink in worktrees is fine). */
export const VENV_PYTHON = join(ROOT, ".venv", "bin", "python");

/** The Python that runs moto: `MOTO_PYTHON` when set (another virtual environment), else `.venv`'s. */
export function motoPython(): string {
  return process.env.MOTO_PYTHON || VENV_PYTHON;
}

/** moto's default account (moto/core/models.py DEFAULT_ACCOUNT_ID), used when no MOTO_ACCOUNT_ID is set. */
export const MOTO_ACCOUNT_ID = "123456789012";
/** moto does not check signatures; the SDK still signs, so it needs some credentials. */
export const MOTO_CREDENTIALS = { accessKeyId: "AKIAMOTODIFFERENTIAL", secretAccessKey: "moto-secret" };

const INSTALL_HINT =
  "run `bash scripts/setup.sh` (it installs moto, hash-pinned, into the project's .venv from scripts/python/requirements.txt)";

/** moto version per Python checked. */
const checked = new Map<string, string>();

/**
 * Throws (failing the test file, in CI and everywhere else) unless the Python of {@link motoPython} can import
 * moto's server and flask. Checked once per process; returns the moto version.
 */
export function requireMoto(python = motoPython()): string {
  const known = checked.get(python);
  if (known) return known;
  if (!existsSync(python)) {
    throw new Error(
      `moto is required for the differential checks, but ${python} does not exist: ${INSTALL_HINT}`,
    );
  }
  let version: string;
  try {
    version = execFileSync(python, ["-c", "import flask, moto, moto.server; print(moto.__version__)"], {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
      env: pythonEnv(),
    }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "")
      .trim()
      .split("\n")
      .at(-1);
    throw new Error(`moto cannot be imported by ${python} (${stderr}): ${INSTALL_HINT}`, { cause: error });
  }
  checked.set(python, version);
  return version;
}

export interface Moto {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  version: string;
  /** The moto process. */
  pid: number;
  /** Real SDK clients pointed at moto, built as the stand-ins' clients are (`createAwsClients`). */
  clients(overrides?: Partial<AwsClientSettings>): AwsClients;
  /** A DynamoDB client pointed at moto (moto serves DynamoDB on the same endpoint). */
  dynamodb(options?: { maxAttempts?: number }): DynamoDBClient;
  /** Forget every resource in every service (POST /moto-api/reset): call between cases. */
  reset(): Promise<void>;
  /** moto's model inspection (GET /moto-api/data.json): service -> model -> tracked instances. */
  modelData(): Promise<Record<string, Record<string, Array<Record<string, unknown>>>>>;
  /** The last lines moto printed (for failure messages). */
  log(): string;
  /** Stop the server: SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export interface StartMotoOptions {
  /** How long to wait for moto to answer after the spawn (a loaded 2-core machine imports slowly). */
  readyTimeoutMs?: number;
  /** This port only, no retry on another (the harness's own test); default: a free port, retried. */
  port?: number;
}

/**
 * Python run with `-c`: exit as soon as stdin reaches EOF (the parent is gone), then hand over to moto's own
 * server entry point with the remaining arguments.
 */
const BOOTSTRAP = [
  "import os, sys, threading",
  "def _watch_parent():",
  "    try:",
  "        sys.stdin.buffer.read()",
  "    finally:",
  "        os._exit(0)",
  "threading.Thread(target=_watch_parent, daemon=True).start()",
  "from moto.server import main",
  "main(sys.argv[1:])",
].join("\n");

/** Start one moto server on a free loopback port and wait until it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<Moto> {
  const python = motoPython();
  const version = requireMoto(python);
  if (options.port !== undefined) {
    return startOnce(python, options.port, version, options.readyTimeoutMs ?? 30_000);
  }
  let lastError: unknown;
  // The free port is found by binding and releasing it: another process may take it in between, so retry.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(python, await freePort(), version, options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTakenError)) throw error;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test file forgot close(): kill synchronously as this process exits.
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

async function startOnce(
  python: string,
  port: number,
  version: string,
  readyTimeoutMs: number,
): Promise<Moto> {
  installExitHook();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(python, ["-c", BOOTSTRAP, "-H", "127.0.0.1", "-p", String(port)], {
    cwd: ROOT,
    env: pythonEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  running.add(child);
  // moto logs every request; keep the tail for failure messages and never let the pipes fill up.
  let tail = "";
  // moto's server says when it has bound the port (werkzeug: " * Running on http://127.0.0.1:<port>").
  let bound = false;
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-8_000);
    bound ||= tail.includes(`Running on ${endpoint}`);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      if (/address already in use/i.test(tail)) throw new PortTakenError(`port ${port} is taken`);
      throw new Error(`moto exited (code ${exitCode}) before answering on ${endpoint}:\n${tail}`);
    }
    // moto itself, not whatever else may have taken the port in the meantime (a stand-in, a dynalite front:
    // they listen on OS-chosen ports too, and any HTTP answer would look like "ready"): moto's server says it
    // bound the port, is still running, and the port answers.
    if (bound && exitCode === undefined && (await answers(`${endpoint}/moto-api/reset`))) break;
    if (Date.now() > deadline) {
      await stop(child, exited, 2_000);
      throw new Error(`moto did not answer on ${endpoint} within ${readyTimeoutMs} ms:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    version,
    pid: child.pid ?? 0,
    clients: (overrides = {}) =>
      createAwsClients({
        region: "us-east-1",
        endpoint,
        credentials: MOTO_CREDENTIALS,
        ...overrides,
      }),
    dynamodb: (dynamoOptions = {}) => dynamoDbClient(endpoint, dynamoOptions),
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, {
        method: "POST",
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok)
        throw new Error(`moto reset answered HTTP ${response.status}: ${await response.text()}`);
    },
    async modelData() {
      const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`moto data.json answered HTTP ${response.status}`);
      return (await response.json()) as Record<string, Record<string, Array<Record<string, unknown>>>>;
    },
    log: () => tail,
    close(graceMs = 3_000) {
      closing ??= stop(child, exited, graceMs);
      return closing;
    },
  };
}

/** SIGTERM, then SIGKILL once `graceMs` passed; resolves when the process is gone. */
async function stop(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** True once anything answers HTTP on `url` (moto answers GET /moto-api/reset with 400 "Need to POST"). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * The environment moto runs with: no AWS settings of the caller (a real profile or endpoint must not leak
 * in), no bytecode written into the shared virtual environment, unbuffered output.
 */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("AWS_") && !(name.startsWith("MOTO_") && name !== "MOTO_PYTHON")) env[name] = value;
  }
  return { ...env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" };
}
