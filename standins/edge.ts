/**
 * A CloudFront edge on this machine: it keeps sending real mTLS requests to every origin of the given
 * distributions, presenting the certificate each distribution's LIVE configuration references (the last
 * deployed one, as real edges do), with the key CloudFront would fetch from ACM. A refused request is what
 * a viewer would see as a 502 (a timed-out one as a 504); the edge publishes each distribution's 5xx error
 * rate to CloudWatch.
 *
 * Each origin has its own traffic loop, as viewers keep arriving whatever one origin does: every
 * `intervalMs` it sends a request to its origin unless `maxInFlightPerOrigin` of its requests are still
 * open, and each request has its own deadline (`requestTimeoutMs`). So a slow or hung origin delays only its
 * own requests, never another origin's. The edge counts requests, refusals and timeouts per origin and per
 * second (from `epochMs`).
 * Bounded: it stops on `stop()`, after `maxDurationMs`, or after `maxRequests`.
 */
import {
  type OriginOutcome,
  type OriginReach,
  RealDate,
  requestOrigin,
  TrafficLoops,
} from "./edge-traffic.ts";
import type { Standins } from "./index.ts";

/** What the edge reads and writes: the live CloudFront configuration, ACM's keys, CloudWatch. */
export interface EdgeWorld extends OriginReach {
  cloudwatch: Pick<Standins["cloudwatch"], "record">;
}

export interface EdgeOptions {
  standins: EdgeWorld;
  distributionIds: string[];
  /** CA that signed the origins' server certificates. */
  serverCaPem: string;
  /** Each origin's loop sends one request this often (default 20 ms). */
  intervalMs?: number;
  /** At most this many open requests per origin; a tick that finds them all open sends nothing (default 4). */
  maxInFlightPerOrigin?: number;
  /** A request not answered within this is given up and counted refused and timed out (default 3000 ms). */
  requestTimeoutMs?: number;
  /** Real-clock ms that second 0 of the per-second counts starts at (default: when the edge is made). */
  epochMs?: number;
  maxDurationMs?: number;
  maxRequests?: number;
}

/** Requests an origin was sent in one second (by when they were sent), and how many of those failed. */
export interface SecondTally {
  /** Whole seconds since `epochMs`. */
  second: number;
  requests: number;
  /** Not answered 200: HTTP errors, transport failures and timeouts. */
  refused: number;
  /** Of `refused`: given up after `requestTimeoutMs`. */
  timedOut: number;
}

export interface OriginTally {
  distributionId: string;
  originId: string;
  /** Requests that ended (answered, failed or timed out). */
  sent: number;
  refused: number;
  /** Of `refused`: given up after `requestTimeoutMs`. */
  timedOut: number;
  /** Real-clock times of refusals (ms). */
  refusedAt: number[];
  /** Per second with requests, oldest first (seconds with none are left out). */
  perSecond: SecondTally[];
}

export interface EdgeSummary {
  requests: number;
  refused: number;
  timedOut: number;
  origins: OriginTally[];
}

interface OriginState {
  tally: Omit<OriginTally, "perSecond">;
  seconds: Map<number, SecondTally>;
}

export class Edge {
  readonly #options: Required<Omit<EdgeOptions, "standins" | "distributionIds" | "serverCaPem">> &
    EdgeOptions;
  readonly #origins = new Map<string, OriginState>();
  readonly #traffic: TrafficLoops;
  /** `send` for the traffic loops, whose keys are `<distribution id>/<origin id>`. */
  readonly #sendByKey = (key: string) => {
    const [distributionId = "", originId = ""] = key.split("/");
    return this.#send(distributionId, originId);
  };

  constructor(options: EdgeOptions) {
    this.#options = {
      intervalMs: 50, // 20 requests a second per origin: enough to see refusals, light on a 2-CPU CI machine
      maxInFlightPerOrigin: 4,
      requestTimeoutMs: 3_000,
      epochMs: RealDate.now(),
      maxDurationMs: 120_000,
      maxRequests: 200_000,
      ...options,
    };
    this.#traffic = new TrafficLoops({
      intervalMs: this.#options.intervalMs,
      maxInFlight: this.#options.maxInFlightPerOrigin,
      maxDurationMs: this.#options.maxDurationMs,
      maxRequests: this.#options.maxRequests,
    });
  }

  /**
   * Starts a loop for every origin of the distributions, and watches their live configurations for origins
   * added later (each gets its loop too).
   */
  start(): void {
    this.#traffic.start(() => this.#originKeys(), this.#sendByKey);
  }

  /** One request to every origin now, all at once (tests use it to make sure traffic happened at a given moment). */
  async round(): Promise<void> {
    await Promise.all(this.#originKeys().map((key) => this.#traffic.dispatch(key, this.#sendByKey)));
  }

  /** Stops every loop and waits for the requests still open (each ends by its deadline). */
  async stop(): Promise<EdgeSummary> {
    await this.#traffic.stop();
    return this.summary();
  }

  summary(): EdgeSummary {
    const origins = [...this.#origins.values()].map((o) => ({
      ...o.tally,
      refusedAt: [...o.tally.refusedAt],
      perSecond: [...o.seconds.values()].sort((a, b) => a.second - b.second).map((s) => ({ ...s })),
    }));
    return {
      requests: origins.reduce((sum, o) => sum + o.sent, 0),
      refused: origins.reduce((sum, o) => sum + o.refused, 0),
      timedOut: origins.reduce((sum, o) => sum + o.timedOut, 0),
      origins,
    };
  }

  #originKeys(): string[] {
    return this.#options.distributionIds.flatMap((distributionId) =>
      this.#options.standins.cloudfront
        .originsOf(distributionId)
        .map((origin) => `${distributionId}/${origin.originId}`),
    );
  }

  /** One request to one origin with the certificate its distribution presents now; counted and published. */
  async #send(distributionId: string, originId: string): Promise<void> {
    const { standins } = this.#options;
    const sentAt = RealDate.now();
    const answer = await requestOrigin(standins, distributionId, originId, {
      serverCaPem: this.#options.serverCaPem,
      timeoutMs: this.#options.requestTimeoutMs,
    });
    // An origin that presents no client certificate is not this edge's to test.
    if (!answer) return;
    const outcome: OriginOutcome = answer.outcome;
    const state = this.#state(distributionId, originId);
    const second = Math.floor((sentAt - this.#options.epochMs) / 1000);
    const bucket = state.seconds.get(second) ?? { second, requests: 0, refused: 0, timedOut: 0 };
    state.seconds.set(second, bucket);
    bucket.requests += 1;
    state.tally.sent += 1;
    if (outcome !== "ok") {
      bucket.refused += 1;
      state.tally.refused += 1;
      state.tally.refusedAt.push(RealDate.now());
    }
    if (outcome === "timedOut") {
      bucket.timedOut += 1;
      state.tally.timedOut += 1;
    }
    // CloudFront's 5xxErrorRate: percent of viewer requests answered 5xx (a refusal is a 502, a timeout a
    // 504). One datapoint per request, so a period's average is the share of its requests that failed.
    standins.cloudwatch.record(
      "AWS/CloudFront",
      "5xxErrorRate",
      { DistributionId: distributionId, Region: "Global" },
      outcome === "ok" ? 0 : 100,
      new Date(),
    );
  }

  #state(distributionId: string, originId: string): OriginState {
    const key = `${distributionId}/${originId}`;
    let state = this.#origins.get(key);
    if (!state) {
      state = {
        tally: { distributionId, originId, sent: 0, refused: 0, timedOut: 0, refusedAt: [] },
        seconds: new Map(),
      };
      this.#origins.set(key, state);
    }
    return state;
  }
}
