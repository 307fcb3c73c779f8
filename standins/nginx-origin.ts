/**
 * Real nginx mTLS origins (tests and the sandbox): the closest local equivalent of an origin that CloudFront
 * reaches with an origin-mTLS client certificate.
 *
 * Each origin is its own nginx master process (`worker_processes 1`), started in the foreground
 * (`-g "daemon off;"`) as a child of the test process, with every file (config, certificates, pid, lock,
 * logs, temp paths) in a private temp directory. It listens on 127.0.0.1 only, on a port chosen by the OS.
 *
 * Traps handled here (see /work/shared/design/testing.md, "Real mTLS origins"):
 * - An untrusted client certificate is answered with HTTP 400 after the handshake: assert statuses.
 * - A changed CA bundle takes effect only after `nginx -s reload`, and old workers keep the old bundle
 *   until they exit. {@link NginxOrigin.setClientCaBundle} therefore returns only when the old workers are
 *   gone AND a fresh connection is served by the new configuration generation.
 * - A garbage bundle fails `nginx -t`: it is tested before anything live is touched, the running origin
 *   keeps serving the previous bundle, and the call rejects with nginx's own message.
 *
 * How "the new config is in effect" is observed: every response, including nginx's own 400 for a missing
 * client certificate, carries `X-Origin-Id` (random per origin, so a probe can never mistake another
 * process on a recycled port for this origin), `X-Config-Generation` (bumped by every accepted bundle) and
 * `X-Worker-Pid`. The harness probes with a certificate-less TLS request to {@link PROBE_PATH}.
 *
 * Leftover processes: `stop()` kills the master and its workers and removes the directory;
 * {@link stopAllNginxOrigins} does it for every origin of this process; a `process.on("exit")` hook kills
 * whatever is still running; and a tiny detached watchdog process per origin kills nginx when the test
 * process dies without running exit hooks (SIGKILL, SIGTERM, crash): it notices its stdin pipe closing.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { toolPathOrThrow } from "./tools.ts";

/** Path the harness uses for its own probe requests; they are left out of {@link NginxOrigin.accessLog}. */
export const PROBE_PATH = "/__mtls_harness_probe";

export interface NginxOriginOptions {
  /** The origin's own TLS certificate, leaf first, then its chain (e.g. `makeTestPki().server.fullChainPem`). */
  serverCertPem: string;
  serverKeyPem: string;
  /** CA certificates nginx trusts for CLIENT certificates (`ssl_client_certificate`); must include a root. */
  clientCaBundlePem: string;
  /** Label used in the temp dir name, config comments and error messages. */
  name?: string;
  /** `ssl_verify_depth` (default 3: leaf, issuing CA, root). */
  verifyDepth?: number;
  /**
   * Statuses answered to a trusted and to an untrusted client certificate. Default 200, and nginx's own
   * TLS-level 400 (`ssl_verify_client on`). With `untrusted` set, the origin refuses at the application
   * level instead: `ssl_verify_client optional_no_ca` and `if ($ssl_client_verify != SUCCESS) { return
   * <untrusted>; }` (with `optional`, nginx itself would still answer 400 to an untrusted certificate).
   */
  answers?: { trusted?: number; untrusted?: number };
  /**
   * Server-block directives that replace the default `location /` (e.g. the viewer-passthrough set-up of
   * docs/viewer-passthrough-nginx.conf), with `ssl_verify_client` set to `verifyClient`. The harness's
   * headers (X-Origin-Id, ...) stay at server level: the directives must not use `add_header`, or their
   * locations would stop inheriting those headers and the start-up probe would not recognise the origin.
   */
  serverDirectives?: { verifyClient: "on" | "optional" | "optional_no_ca"; text: string };
  /** How long `startNginxOrigin` waits for the origin to answer (default 10 s). */
  startTimeoutMs?: number;
  /** How long `setClientCaBundle` waits for the reload to take effect (default 10 s). */
  reloadTimeoutMs?: number;
}

/** One parsed line of the origin's access log (JSON format written by nginx). */
export interface AccessLogEntry {
  time: string;
  /** Request line, e.g. `GET / HTTP/1.1`. */
  request: string;
  status: number;
  /** nginx `$ssl_client_verify`: `SUCCESS`, `NONE` or `FAILED:<reason>`. */
  clientVerify: string;
  /** `$ssl_client_serial` (upper-case hex, no separators), empty without a client certificate. */
  clientSerial: string;
  /** `$ssl_client_s_dn` in RFC 2253 form, e.g. `CN=client-1,O=mtls-rotator tests`. */
  clientSubject: string;
  /** Configuration generation that served the request (1 = initial bundle). */
  generation: number;
  workerPid: number;
}

export interface NginxOrigin {
  readonly name: string;
  /** Loopback TCP port (on 127.0.0.1). */
  readonly port: number;
  /** `https://127.0.0.1:<port>/` (the server certificate of `makeTestPki` covers 127.0.0.1 and localhost). */
  readonly url: string;
  /** Private temp directory holding config, certificates and logs (removed by `stop`). */
  readonly dir: string;
  readonly masterPid: number;
  /** Generation of the configuration currently served: 1 at start, +1 per accepted bundle. */
  readonly generation: number;
  /** The client CA bundle currently in effect. */
  readonly clientCaBundlePem: string;
  /**
   * Replaces the trusted client CA bundle: `nginx -t` on a candidate config, then `nginx -s reload`, then
   * waits until the old workers have exited and a fresh connection is served by the new generation.
   * Rejects (leaving the origin serving the previous bundle) when nginx refuses the bundle.
   * Calls on one origin are serialised.
   */
  setClientCaBundle(pem: string): Promise<void>;
  /** PIDs of the current worker processes (Linux: from /proc; elsewhere: the last worker seen by a probe). */
  workerPids(): number[];
  /**
   * Parsed access log without the harness's probes. nginx writes a line just AFTER sending the response,
   * so pass `minEntries` to wait (up to `timeoutMs`, default 2 s) for lines of requests that just returned.
   */
  accessLog(options?: { minEntries?: number; timeoutMs?: number }): Promise<AccessLogEntry[]>;
  /** The nginx error log (level `info`: includes "client SSL certificate verify error" reasons). */
  errorLog(): Promise<string>;
  /** Kills nginx (master and workers) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Files and arguments to drive this origin from OUTSIDE the harness (e.g. a CLI under test that writes the
   * bundle and runs `nginx -t` / `nginx -s reload` itself). Changes made that way are invisible to the
   * harness: `generation` and `clientCaBundlePem` keep describing what the harness itself last installed.
   */
  control(): NginxControl;
}

/** See {@link NginxOrigin.control}. */
export interface NginxControl {
  /** Absolute path of the nginx binary the harness runs. */
  binary: string;
  /** The live configuration file. */
  configPath: string;
  /** The client CA bundle the live configuration names in `ssl_client_certificate`. */
  clientCaBundlePath: string;
  /**
   * `-c <config> -p <dir>/ -e <error log>`: append to `-t` or `-s reload` to address this origin, e.g.
   * `[binary, "-t", ...cliArgs]` tests the live configuration (with whatever the bundle file holds now).
   */
  cliArgs: string[];
}

const DEFAULTS = { verifyDepth: 3, startTimeoutMs: 10_000, reloadTimeoutMs: 10_000 };
/** Attempts at starting nginx when the OS-chosen port was taken by someone else in the meantime. */
const MAX_START_ATTEMPTS = 5;

/** Every origin of this process that has not been stopped yet. */
const liveOrigins = new Set<NginxOriginProcess>();
let exitHookInstalled = false;

/**
 * Starts a real nginx mTLS origin on 127.0.0.1 and resolves once it answers requests.
 * Always `stop()` it (e.g. in `afterAll`); see the module comment for the safety nets.
 */
export async function startNginxOrigin(options: NginxOriginOptions): Promise<NginxOrigin> {
  const origin = new NginxOriginProcess(options);
  await origin.start();
  return origin;
}

/** Stops every origin started by this process (handy in a global `afterAll`). */
export async function stopAllNginxOrigins(): Promise<void> {
  await Promise.all([...liveOrigins].map((origin) => origin.stop()));
}

/** Quotes a value for nginx.conf (double quotes, escaping `"` and `\`). */
function q(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A free loopback port as chosen by the OS (it can be taken again before nginx binds: callers retry). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("could not determine a free port");
  return address.port;
}

/**
 * True when a process with this pid is running. EPERM means it exists but belongs to someone else. On
 * Linux a zombie (exited, not yet reaped by its parent, e.g. an orphaned nginx waiting for init) counts as
 * gone: it holds no sockets and serves nothing.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false; // vanished between the two checks
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Live (non-zombie) children of `ppid`, from /proc. Returns `undefined` where /proc is unavailable.
 * Synchronous on purpose: it is also used from the `exit` hook.
 */
function childPids(ppid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Format: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
      const [state, parent] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(parent) === ppid && state !== "Z") children.push(Number(entry));
    } catch {
      // the process vanished while scanning
    }
  }
  return children;
}

/** Runs the nginx binary (no shell) and resolves with exit code and combined output. */
function runNginx(args: string[]): Promise<{ code: number | null; output: string }> {
  const binary = toolPathOrThrow("nginx");
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 20_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number" && error.signal == null) {
        reject(error);
        return;
      }
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

interface ProbeResult {
  originId: string;
  generation: number;
  workerPid: number;
}

/**
 * One certificate-less HTTPS request on a fresh connection. nginx answers 400 ("No required SSL
 * certificate was sent"), but with the identification headers. Resolves `undefined` on any failure.
 */
function probe(port: number, timeoutMs = 1000): Promise<ProbeResult | undefined> {
  return new Promise((resolve) => {
    const req = httpsGet(
      {
        host: "127.0.0.1",
        port,
        path: PROBE_PATH,
        servername: "localhost",
        rejectUnauthorized: false, // identity is checked with X-Origin-Id instead
        agent: false,
        headers: { connection: "close" },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const header = (name: string) => {
            const value = res.headers[name];
            return Array.isArray(value) ? value[0] : value;
          };
          const originId = header("x-origin-id");
          const generation = Number(header("x-config-generation"));
          const workerPid = Number(header("x-worker-pid"));
          resolve(originId ? { originId, generation, workerPid } : undefined);
        });
        res.on("error", () => resolve(undefined));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/**
 * The watchdog, run as `node -e WATCHDOG <masterPid> <dir>` in its own process group. When its stdin (a
 * pipe from the test process) closes, the test process is gone: kill nginx and remove the directory.
 * It exits on its own once the nginx master is gone.
 */
const WATCHDOG = `
const fs = require("node:fs");
const master = Number(process.argv[1]);
const dir = process.argv[2];
const alive = (pid) => {
  try { process.kill(pid, 0); } catch (e) { return e.code === "EPERM"; }
  try { const s = fs.readFileSync("/proc/" + pid + "/stat", "utf8"); return s[s.lastIndexOf(")") + 2] !== "Z"; }
  catch (e) { return e.code !== "ENOENT"; }
};
const kill = (pid, sig) => { try { process.kill(pid, sig); } catch {} };
const children = () => {
  try {
    return fs.readdirSync("/proc").filter((e) => /^\\d+$/.test(e)).filter((e) => {
      try { const s = fs.readFileSync("/proc/" + e + "/stat", "utf8"); return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === master; } catch { return false; }
    }).map(Number);
  } catch { return []; }
};
let cleaning = false;
const cleanup = () => {
  if (cleaning) return;
  cleaning = true;
  const workers = children();
  kill(master, "SIGTERM");
  const deadline = Date.now() + 3000;
  const finish = () => {
    if (alive(master) && Date.now() < deadline) return void setTimeout(finish, 50);
    for (const pid of [master, ...workers]) kill(pid, "SIGKILL");
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
    process.exit(0);
  };
  finish();
};
process.stdin.on("end", cleanup);
process.stdin.on("close", cleanup);
process.stdin.on("error", cleanup);
process.stdin.resume();
setInterval(() => { if (!cleaning && !alive(master)) process.exit(0); }, 1000);
`;

/** Kills every live origin synchronously: the last resort when the test process exits. */
function killAllSync(): void {
  for (const origin of liveOrigins) origin.killSync();
}

class NginxOriginProcess implements NginxOrigin {
  readonly name: string;
  readonly #options: Required<Omit<NginxOriginOptions, "name" | "answers" | "serverDirectives">> &
    Pick<NginxOriginOptions, "answers" | "serverDirectives">;
  /** Random token answered in X-Origin-Id: proves a probe reached THIS nginx. */
  readonly #originId = randomUUID();
  #dir = "";
  #port = 0;
  #generation = 1;
  #bundlePem: string;
  #child: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #spawnError: Error | undefined;
  #lastProbedWorker: number | undefined;
  /** Serialises setClientCaBundle calls. */
  #queue: Promise<unknown> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  constructor(options: NginxOriginOptions) {
    this.name = (options.name ?? "origin").replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 40) || "origin";
    this.#options = {
      serverCertPem: options.serverCertPem,
      serverKeyPem: options.serverKeyPem,
      clientCaBundlePem: options.clientCaBundlePem,
      verifyDepth: options.verifyDepth ?? DEFAULTS.verifyDepth,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      reloadTimeoutMs: options.reloadTimeoutMs ?? DEFAULTS.reloadTimeoutMs,
    };
    if (options.answers) this.#options.answers = options.answers;
    if (options.serverDirectives) this.#options.serverDirectives = options.serverDirectives;
    this.#bundlePem = options.clientCaBundlePem;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `https://127.0.0.1:${this.#port}/`;
  }
  get dir(): string {
    return this.#dir;
  }
  get masterPid(): number {
    return this.#child?.pid ?? 0;
  }
  get generation(): number {
    return this.#generation;
  }
  get clientCaBundlePem(): string {
    return this.#bundlePem;
  }

  #path(file: string): string {
    return join(this.#dir, file);
  }

  /** Common command-line arguments: explicit config, prefix and early error log (before config is read). */
  #cliArgs(configFile = "nginx.conf"): string[] {
    return ["-c", this.#path(configFile), "-p", `${this.#dir}/`, "-e", this.#path("error.log")];
  }

  /** nginx.conf for `generation`, trusting client CAs from `bundleFile`. */
  #renderConfig(generation: number, bundleFile: string): string {
    const p = (file: string) => q(this.#path(file));
    const runningAsRoot = process.getuid?.() === 0;
    const trusted = this.#options.answers?.trusted ?? 200;
    const untrusted = this.#options.answers?.untrusted;
    const custom = this.#options.serverDirectives;
    // Access log as JSON (escape=json makes nginx escape the variable values).
    const logFormat =
      `'{"time":"$time_iso8601","request":"$request","status":$status,` +
      `"clientVerify":"$ssl_client_verify","clientSerial":"$ssl_client_serial",` +
      `"clientSubject":"$ssl_client_s_dn","generation":${generation},"workerPid":$pid}'`;
    return `# Generated by standins/nginx-origin.ts for origin "${this.name}", configuration generation ${generation}.
worker_processes 1;
${runningAsRoot ? "# Running as root: keep workers as root too (they never touch anything outside the temp dir).\nuser root;\n" : ""}pid ${p("nginx.pid")};
lock_file ${p("nginx.lock")};
error_log ${p("error.log")} info;

events {
  worker_connections 256;
}

http {
  log_format mtls_json escape=json ${logFormat};
  access_log ${p("access.log")} mtls_json;
  # Compiled-in temp paths point at /var/lib/nginx, which a non-root user cannot create.
  client_body_temp_path ${p("tmp/client_body")};
  proxy_temp_path ${p("tmp/proxy")};
  fastcgi_temp_path ${p("tmp/fastcgi")};
  uwsgi_temp_path ${p("tmp/uwsgi")};
  scgi_temp_path ${p("tmp/scgi")};

  server {
    listen 127.0.0.1:${this.#port} ssl;
    server_name localhost;

    ssl_certificate ${p("server.pem")};
    ssl_certificate_key ${p("server.key")};
    ssl_protocols TLSv1.2 TLSv1.3;
    # Every connection is a full handshake judged by the current bundle (no resumption across reloads).
    ssl_session_cache off;
    ssl_session_tickets off;

    ssl_verify_client ${custom?.verifyClient ?? (untrusted === undefined ? "on" : "optional_no_ca")};
    ssl_client_certificate ${p(bundleFile)};
    ssl_verify_depth ${this.#options.verifyDepth};

    # "always": also on nginx's own 400 answers to missing or untrusted client certificates.
    add_header X-Origin-Id ${this.#originId} always;
    add_header X-Config-Generation ${generation} always;
    add_header X-Worker-Pid $pid always;
    add_header X-Client-Verify $ssl_client_verify always;
    add_header X-Client-Serial $ssl_client_serial always;

${custom ? custom.text : this.#defaultLocation(trusted, untrusted)}
  }
}
`;
  }

  /** The default application: `trusted` to a verified client certificate, see {@link NginxOriginOptions.answers}. */
  #defaultLocation(trusted: number, untrusted: number | undefined): string {
    return `    location / {
      default_type text/plain;${
        untrusted === undefined
          ? ""
          : `
      # An application-level refusal: the TLS layer lets any certificate through.
      if ($ssl_client_verify != SUCCESS) {
        return ${untrusted} "refused $ssl_client_verify\\n";
      }`
      }
      return ${trusted} "ok $ssl_client_s_dn\\n";
    }`;
  }

  /** Creates the directory, writes the files, starts nginx (retrying on port clashes), waits until ready. */
  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), `mtls-nginx-${this.name}-`));
    liveOrigins.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("exit", killAllSync);
    }
    try {
      await mkdir(this.#path("tmp")); // nginx creates the temp path itself, but not its parent
      await writeFile(this.#path("server.pem"), this.#options.serverCertPem, { mode: 0o600 });
      await writeFile(this.#path("server.key"), this.#options.serverKeyPem, { mode: 0o600 });
      await writeFile(this.#path("client-ca-1.pem"), this.#bundlePem, { mode: 0o600 });
      let lastError: Error | undefined;
      for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
        this.#port = await freePort();
        // Fresh logs per attempt, so the diagnostics of this attempt are not confused with the last one's.
        await rm(this.#path("error.log"), { force: true });
        await rm(this.#path("stderr.log"), { force: true });
        await writeFile(this.#path("nginx.conf"), this.#renderConfig(1, "client-ca-1.pem"));
        try {
          await this.#spawnAndWait();
          return;
        } catch (error) {
          lastError = error as Error;
          if (!lastError.message.includes("Address already in use")) throw lastError;
          // Someone took the port between freePort() and nginx's bind(): try another one.
        }
      }
      throw lastError ?? new Error("nginx did not start");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async #spawnAndWait(): Promise<void> {
    const binary = toolPathOrThrow("nginx");
    // stderr goes straight to a file: no pipes, so nothing keeps the test process's event loop alive.
    const stderrFd = openSync(this.#path("stderr.log"), "a");
    let child: ChildProcess;
    try {
      child = spawn(binary, [...this.#cliArgs(), "-g", "daemon off;"], {
        stdio: ["ignore", "ignore", stderrFd],
      });
    } finally {
      closeSync(stderrFd);
    }
    this.#child = child;
    this.#exit = undefined;
    child.once("exit", (code, signal) => {
      if (this.#child === child) this.#exit = { code, signal };
    });
    child.once("error", (error) => {
      if (this.#child === child) this.#exit = { code: null, signal: null };
      this.#spawnError = error;
    });
    child.unref();
    const masterPid = child.pid;
    if (masterPid !== undefined) this.#startWatchdog(masterPid);

    const deadline = Date.now() + this.#options.startTimeoutMs;
    while (Date.now() < deadline) {
      // Read through a method: TypeScript would keep `this.#exit` narrowed to `undefined` from above,
      // but the "exit" listener sets it while we await.
      const exit = this.#exitStatus();
      if (exit) {
        throw new Error(
          `nginx origin "${this.name}" exited during start-up (code ${exit.code}, signal ${exit.signal})` +
            `${this.#spawnError ? `: ${this.#spawnError.message}` : ""}\n${await this.#diagnostics()}`,
        );
      }
      const seen = await probe(this.#port);
      if (seen && seen.originId === this.#originId && seen.generation === 1) {
        this.#lastProbedWorker = seen.workerPid;
        return;
      }
      await sleep(15);
    }
    throw new Error(
      `nginx origin "${this.name}" did not answer on 127.0.0.1:${this.#port} within ` +
        `${this.#options.startTimeoutMs} ms\n${await this.#diagnostics()}`,
    );
  }

  #exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.#exit;
  }

  /** Starts the detached watchdog that kills nginx if this process dies without cleaning up. */
  #startWatchdog(masterPid: number): void {
    this.#watchdog?.kill("SIGKILL");
    const watchdog = spawn(process.execPath, ["-e", WATCHDOG, String(masterPid), this.#dir], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true, // own process group: survives signals sent to the test runner's group
    });
    watchdog.on("error", () => {
      // Without a watchdog only the exit hook remains; not worth failing the test for.
    });
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
    this.#watchdog = watchdog;
  }

  /** Tails of the error log and stderr, for error messages. */
  async #diagnostics(): Promise<string> {
    const tail = async (file: string) => {
      try {
        const text = await readFile(this.#path(file), "utf8");
        return text.trim().split("\n").slice(-15).join("\n");
      } catch {
        return "(none)";
      }
    };
    return `--- error.log (tail) ---\n${await tail("error.log")}\n--- stderr ---\n${await tail("stderr.log")}`;
  }

  control(): NginxControl {
    return {
      binary: toolPathOrThrow("nginx"),
      configPath: this.#path("nginx.conf"),
      clientCaBundlePath: this.#path(`client-ca-${this.#generation}.pem`),
      cliArgs: this.#cliArgs(),
    };
  }

  workerPids(): number[] {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#exit) return [];
    return (
      childPids(pid) ??
      (this.#lastProbedWorker !== undefined && isProcessAlive(this.#lastProbedWorker)
        ? [this.#lastProbedWorker]
        : [])
    );
  }

  setClientCaBundle(pem: string): Promise<void> {
    const run = this.#queue.then(
      () => this.#reload(pem),
      () => this.#reload(pem),
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reload(pem: string): Promise<void> {
    if (this.#stopping || !this.#child) throw new Error(`nginx origin "${this.name}" is stopped`);
    if (this.#exit) {
      throw new Error(`nginx origin "${this.name}" is not running\n${await this.#diagnostics()}`);
    }
    const generation = this.#generation + 1;
    const bundleFile = `client-ca-${generation}.pem`;
    const candidate = "nginx.next.conf";

    // 1. Test a candidate config that points at the new bundle; the live config is not touched yet.
    await writeFile(this.#path(bundleFile), pem, { mode: 0o600 });
    await writeFile(this.#path(candidate), this.#renderConfig(generation, bundleFile));
    const test = await runNginx(["-t", ...this.#cliArgs(candidate)]);
    if (test.code !== 0) {
      await rm(this.#path(candidate), { force: true });
      await rm(this.#path(bundleFile), { force: true });
      throw new Error(
        `nginx rejected the new client CA bundle for origin "${this.name}" (nginx -t failed; the origin keeps ` +
          `serving configuration generation ${this.#generation}):\n${test.output}`,
      );
    }

    // 2. Remember who serves now, install the candidate atomically and ask the master to reload.
    const oldWorkers = new Set(this.workerPids());
    if (this.#lastProbedWorker !== undefined) oldWorkers.add(this.#lastProbedWorker);
    await rename(this.#path(candidate), this.#path("nginx.conf"));
    const reload = await runNginx(["-s", "reload", ...this.#cliArgs()]);
    if (reload.code !== 0) {
      throw new Error(`nginx -s reload failed for origin "${this.name}":\n${reload.output}`);
    }

    // 3. Wait until every old worker has exited and a fresh connection sees the new generation.
    const deadline = Date.now() + this.#options.reloadTimeoutMs;
    let lastSeen: ProbeResult | undefined;
    while (Date.now() < deadline) {
      if (this.#exitStatus()) {
        throw new Error(`nginx origin "${this.name}" exited during reload\n${await this.#diagnostics()}`);
      }
      const oldGone = [...oldWorkers].every((pid) => !isProcessAlive(pid));
      if (oldGone) {
        lastSeen = await probe(this.#port);
        if (lastSeen?.originId === this.#originId && lastSeen.generation === generation) {
          this.#generation = generation;
          this.#bundlePem = pem;
          this.#lastProbedWorker = lastSeen.workerPid;
          return;
        }
      }
      await sleep(10);
    }
    throw new Error(
      `nginx origin "${this.name}" did not switch to configuration generation ${generation} within ` +
        `${this.#options.reloadTimeoutMs} ms (old workers still alive: ` +
        `${[...oldWorkers].filter(isProcessAlive).join(", ") || "none"}; last probe saw generation ` +
        `${lastSeen?.generation ?? "nothing"})\n${await this.#diagnostics()}`,
    );
  }

  async accessLog(options: { minEntries?: number; timeoutMs?: number } = {}): Promise<AccessLogEntry[]> {
    const minEntries = options.minEntries ?? 0;
    const deadline = Date.now() + (options.timeoutMs ?? 2000);
    for (;;) {
      let text = "";
      try {
        text = await readFile(this.#path("access.log"), "utf8");
      } catch {
        // not written yet
      }
      // Only complete lines: the part after the last "\n" is empty or still being written.
      const entries = text
        .split("\n")
        .slice(0, -1)
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as AccessLogEntry)
        .filter((entry) => !entry.request.includes(PROBE_PATH));
      if (entries.length >= minEntries || Date.now() >= deadline) return entries;
      await sleep(10);
    }
  }

  async errorLog(): Promise<string> {
    try {
      return await readFile(this.#path("error.log"), "utf8");
    } catch {
      return "";
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#watchdog?.kill("SIGKILL");
    const child = this.#child;
    if (child?.pid !== undefined && !this.#exit) {
      const workers = this.workerPids();
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      // SIGTERM = fast shutdown: the master stops its workers and exits.
      child.kill("SIGTERM");
      // Unref'd: once nginx has exited, this timer must not keep the process alive for 5 more seconds.
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(5000, undefined, { ref: false }).then(() => true),
      ]);
      if (timedOut) {
        child.kill("SIGKILL");
        await exited;
      }
      for (const pid of workers) killQuietly(pid, "SIGKILL");
    }
    liveOrigins.delete(this);
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  /** Synchronous, best-effort kill for the process `exit` hook (no awaiting possible there). */
  killSync(): void {
    const pid = this.#child?.pid;
    if (pid !== undefined && !this.#exit) {
      const workers = childPids(pid);
      if (workers) {
        // Linux: we know the workers, so kill everything at once and for sure.
        killQuietly(pid, "SIGKILL");
        for (const worker of workers) killQuietly(worker, "SIGKILL");
      } else {
        // Workers unknown: let the master stop them (fast shutdown) after we are gone.
        killQuietly(pid, "SIGTERM");
      }
    }
    this.#watchdog?.kill("SIGKILL");
    try {
      if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
    liveOrigins.delete(this);
  }
}
