/**
 * What the origin edge (edge.ts) and the viewer edge (viewer-edge.ts) share: bounded traffic loops, and a
 * request to an origin the way a CloudFront edge makes it, over mTLS with the client certificate the
 * distribution's LIVE configuration references and the key CloudFront would fetch from ACM.
 *
 * Traffic: each loop (an origin's, a viewer's) sends a request every `intervalMs` unless `maxInFlight` of its
 * requests are still open, and never waits for one: a slow or hung target delays only its own requests.
 * Everything stops on `stop()`, after `maxDurationMs`, or after `maxRequests`.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Standins } from "./index.ts";
import { MtlsTimeoutError, mtlsRequest } from "./mtls-client.ts";

// Real time even when a test fakes Date (the durable runner's time skipping does).
export const RealDate = globalThis.Date;

export interface TrafficBounds {
  intervalMs: number;
  /** At most this many open requests per loop; a tick that finds them all open sends nothing. */
  maxInFlight: number;
  maxDurationMs: number;
  maxRequests: number;
}

/** Loops by key, each sending through `send(key)`, all bounded together. */
export class TrafficLoops {
  readonly #bounds: TrafficBounds;
  readonly #loops = new Map<string, Promise<void>>();
  readonly #inFlight = new Map<string, number>();
  readonly #open = new Set<Promise<void>>();
  /** Waits in progress; `stop()` ends them. */
  readonly #sleepers = new Set<() => void>();
  #discovery: Promise<void> | undefined;
  #stopped = false;
  #requests = 0;
  #started = 0;

  constructor(bounds: TrafficBounds) {
    this.#bounds = bounds;
  }

  /**
   * Starts a loop for every key `discover` names, and keeps asking it (every `intervalMs`, at least every
   * 250 ms) for keys that appear later; each gets its loop too.
   */
  start(discover: () => Iterable<string>, send: (key: string) => Promise<void>): void {
    this.#started = RealDate.now();
    this.#discovery = (async () => {
      while (this.running()) {
        for (const key of discover()) {
          if (!this.#loops.has(key)) this.#loops.set(key, this.#loop(key, send));
        }
        await this.#sleep(Math.max(this.#bounds.intervalMs, 250));
      }
    })();
  }

  /** One request now, counted against the bounds and the key's open requests. */
  async dispatch(key: string, send: (key: string) => Promise<void>): Promise<void> {
    this.#requests += 1;
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    try {
      await send(key);
    } finally {
      this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
    }
  }

  running(): boolean {
    return (
      !this.#stopped &&
      RealDate.now() - this.#started <= this.#bounds.maxDurationMs &&
      this.#requests < this.#bounds.maxRequests
    );
  }

  /** Stops every loop and waits for the requests still open (each ends by its own deadline). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of [...this.#sleepers]) wake();
    await this.#discovery;
    await Promise.all(this.#loops.values());
    await Promise.all(this.#open);
  }

  async #loop(key: string, send: (key: string) => Promise<void>): Promise<void> {
    while (this.running()) {
      if ((this.#inFlight.get(key) ?? 0) < this.#bounds.maxInFlight) {
        const request = this.dispatch(key, send);
        this.#open.add(request);
        void request.finally(() => this.#open.delete(request));
      }
      await this.#sleep(this.#bounds.intervalMs);
    }
  }

  /** A wait that `stop()` cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }
}

/** What an edge reads to reach an origin: the live CloudFront configuration and ACM's keys. */
export interface OriginReach {
  cloudfront: Pick<Standins["cloudfront"], "originsOf">;
  acm: Pick<Standins["acm"], "presentable">;
}

export interface OriginRequestOptions {
  /** CA that signed the origins' server certificates. */
  serverCaPem: string;
  timeoutMs: number;
  /** Request headers for the origin, beyond the connection's own. */
  headers?: Record<string, string>;
}

/** How an origin request ended: `ok` is a 200; `refused` any other answer or failure; `timedOut` no answer in time. */
export type OriginOutcome = "ok" | "refused" | "timedOut";

export interface OriginAnswer {
  outcome: OriginOutcome;
  /** Why it was not `ok` (a status, a transport error, a missing credential); undefined when ok. */
  reason: string | undefined;
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
}

/**
 * One request to an origin of a distribution's live configuration, presenting the origin-mTLS certificate
 * that configuration references (undefined when the origin is not in the live configuration or presents no
 * certificate: the caller decides what that means).
 */
export async function requestOrigin(
  reach: OriginReach,
  distributionId: string,
  originId: string,
  options: OriginRequestOptions,
): Promise<OriginAnswer | undefined> {
  const origin = reach.cloudfront.originsOf(distributionId).find((o) => o.originId === originId);
  if (!origin?.presentedArn) return undefined;
  const credential = reach.acm.presentable(origin.presentedArn);
  if (!credential) {
    return { outcome: "refused", reason: `ACM has no certificate ${origin.presentedArn}` };
  }
  try {
    const response = await mtlsRequest({
      port: origin.httpsPort,
      host: "127.0.0.1",
      certificatePem: credential.certificatePem,
      chainPem: credential.chainPem,
      privateKeyPem: credential.privateKeyPem,
      caPem: options.serverCaPem,
      timeoutMs: options.timeoutMs,
      headers: options.headers,
    });
    return {
      outcome: response.status === 200 ? "ok" : "refused",
      reason: response.status === 200 ? undefined : `origin answered ${response.status}`,
      status: response.status,
      headers: response.headers,
      body: response.body,
    };
  } catch (error) {
    if (error instanceof MtlsTimeoutError) return { outcome: "timedOut", reason: "origin timed out" };
    return { outcome: "refused", reason: `origin unreachable: ${(error as Error).message}` };
  }
}
