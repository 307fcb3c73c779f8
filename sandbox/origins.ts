/**
 * The sandbox's origins and their behaviours:
 * - {@link BundleFollower}: an origin keeping its client-CA bundle in sync with the published S3 object by
 *   running the real `origin-sync` (validate, write atomically, `nginx -t`, `nginx -s reload`) on a timer, as
 *   a cron job or systemd timer on a real origin would. A Node origin "reloads" by reading the file.
 * - {@link SlowProxy}: a TCP proxy in front of an origin that holds every connection for `slowMs` first.
 * - {@link DownOrigin}: a port that accepts TCP connections and resets them (a dead origin).
 */
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { type CommandRunner, runCommand } from "../functions/origin-sync/command.ts";
import { type OriginSyncResult, originSync } from "../functions/origin-sync/origin-sync.ts";
import type { FleetOrigin } from "../standins/fleet-origin.ts";

/** The reload "command" of a Node origin: handled in process (the origin re-reads the file). */
const NODE_RELOAD = "sandbox-node-origin-reload";

export interface BundleFollowerOptions {
  origin: FleetOrigin;
  s3: S3Client;
  /** `s3://bucket/key` of the published bundle. */
  source: string;
  /** Where Node origins keep their bundle file. */
  tempDir: string;
  intervalMs: number;
  /** A sync that failed (origin-sync's own message). */
  onFailure?: (message: string) => void;
  /** A sync that changed what the origin trusts. */
  onUpdate?: (result: OriginSyncResult) => void;
  /**
   * Acknowledge each installed bundle as this id (origin-sync `--ack-id`, in the bundle's bucket, with `s3`:
   * the host's own credentials); `host` is the name the acknowledgement gives (default os.hostname()).
   */
  ackId?: string;
  host?: string;
  /** A sync that wrote an acknowledgement. */
  onAcknowledged?: (result: OriginSyncResult) => void;
  /** A sync that installed (or kept) the bundle but wrote no acknowledgement (origin-sync's exit 7). */
  onAckFailure?: (message: string) => void;
}

/** An origin that follows the published trust bundle with origin-sync, every `intervalMs`. */
export class BundleFollower {
  readonly origin: FleetOrigin;
  readonly #options: BundleFollowerOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  /** Serialises syncs: the loop and syncNow never write the file at the same time. */
  #queue: Promise<unknown> = Promise.resolve();
  #bundleFile: string | undefined;
  syncs = 0;
  updates = 0;
  /** Runs that exited non-zero (ack failures included: origin-sync exits 7 for them). */
  failures = 0;
  /** With `ackId`: acknowledgements written, and runs that wrote none (exit 7). */
  acknowledgements = 0;
  ackFailures = 0;

  constructor(options: BundleFollowerOptions) {
    this.origin = options.origin;
    this.#options = options;
  }

  get following(): boolean {
    return this.#running;
  }

  /** Starts following (idempotent). */
  async start(): Promise<void> {
    if (this.#running) return;
    if (this.origin.kind === "node" && !this.#bundleFile) {
      this.#bundleFile = join(this.#options.tempDir, `${this.origin.name}-client-ca.pem`);
      await writeFile(this.#bundleFile, await this.origin.trustedBundle(), { mode: 0o600 });
    }
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.syncNow();
        if (!this.#running) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#options.intervalMs);
        });
      }
    })();
  }

  /** Stops following; resolves once no sync is running. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    await this.#queue;
  }

  /** One sync now (waits for a running one first). */
  syncNow(): Promise<OriginSyncResult | undefined> {
    const run = this.#queue.then(() => this.#sync());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #sync(): Promise<OriginSyncResult | undefined> {
    const command = this.#command();
    const { ackId, host } = this.#options;
    const result = await originSync(
      { source: this.#options.source, ...command.options, ...(ackId ? { ackId } : {}) },
      {
        clients: { s3: () => this.#options.s3 },
        run: command.run,
        log: () => undefined,
        warn: () => undefined,
        ...(host ? { host } : {}),
      },
    );
    this.syncs += 1;
    // Exit 7: the bundle is installed and reloaded (when it changed), only the acknowledgement is missing.
    const ackFailed = result.outcome === "ack-failed";
    const installed = ackFailed && result.sha256 !== undefined && result.sha256 !== result.previousSha256;
    if (result.exitCode !== 0) this.failures += 1;
    if (ackFailed) {
      this.ackFailures += 1;
      this.#options.onAckFailure?.(result.message);
    } else if (result.exitCode !== 0) this.#options.onFailure?.(result.message);
    if (result.outcome === "updated" || installed) {
      this.updates += 1;
      this.#options.onUpdate?.(result);
    }
    if (result.acknowledgement?.written) {
      this.acknowledgements += 1;
      this.#options.onAcknowledged?.(result);
    }
    return result;
  }

  #command(): { options: { out: string; check?: string; reload?: string }; run: CommandRunner } {
    const control = this.origin.control?.();
    if (control) {
      const nginx = [control.binary, ...control.cliArgs].join(" ");
      return {
        options: {
          out: control.clientCaBundlePath,
          check: `${control.binary} -t ${control.cliArgs.join(" ")}`,
          reload: `${nginx} -s reload`,
        },
        run: runCommand,
      };
    }
    const file = this.#bundleFile!;
    const run: CommandRunner = async (args, timeoutMs) => {
      if (args[0] !== NODE_RELOAD) return runCommand(args, timeoutMs);
      try {
        await this.origin.trust(await readFile(file, "utf8"));
        return { ok: true, code: 0, signal: null, timedOut: false, output: "" };
      } catch (error) {
        return { ok: false, code: 1, signal: null, timedOut: false, output: (error as Error).message };
      }
    };
    return { options: { out: file, reload: NODE_RELOAD }, run };
  }
}

/** Tracks a server's sockets so that close() does not wait for idle keep-alive connections. */
export function closable(server: Server): { sockets: Set<Socket>; close(): Promise<void> } {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return {
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("could not determine the port");
  return address.port;
}

/** A TCP proxy on 127.0.0.1 that holds each connection `slowMs` before it reaches the origin. */
export class SlowProxy {
  readonly #server: Server;
  readonly #closer: ReturnType<typeof closable>;
  #port = 0;

  constructor(upstreamPort: number, slowMs: number) {
    this.#server = createServer((client) => {
      client.pause();
      client.on("error", () => undefined);
      const timer = setTimeout(() => {
        if (client.destroyed) return;
        const upstream = tcpConnect(upstreamPort, "127.0.0.1");
        this.#closer.sockets.add(upstream);
        upstream.on("close", () => this.#closer.sockets.delete(upstream));
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      }, slowMs);
      client.on("close", () => clearTimeout(timer));
    });
    this.#closer = closable(this.#server);
  }

  async listen(): Promise<number> {
    this.#port = await listen(this.#server);
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  close(): Promise<void> {
    return this.#closer.close();
  }
}

/** A dead origin: TCP connections are accepted and reset at once. */
export class DownOrigin {
  readonly #server = createServer((socket) => socket.resetAndDestroy());
  readonly #closer = closable(this.#server);
  #port = 0;

  async listen(): Promise<number> {
    this.#port = await listen(this.#server);
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  close(): Promise<void> {
    return this.#closer.close();
  }
}
