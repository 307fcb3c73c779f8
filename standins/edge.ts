/**
 * A CloudFront edge on this machine: it keeps sending real mTLS requests to every origin of the given
 * distributions, presenting the certificate each distribution's LIVE configuration references (the last
 * deployed one, as real edges do), with the key CloudFront would fetch from ACM. A refused request is what
 * a viewer would see as a 502; the edge publishes each distribution's 5xx error rate to CloudWatch.
 * Bounded: it stops on `stop()`, after `maxDurationMs`, or after `maxRequests`.
 */
import type { Standins } from "./index.ts";
import { mtlsRequest } from "./mtls-client.ts";

export interface EdgeOptions {
  standins: Standins;
  distributionIds: string[];
  /** CA that signed the origins' server certificates. */
  serverCaPem: string;
  intervalMs?: number;
  maxDurationMs?: number;
  maxRequests?: number;
}

export interface OriginTally {
  distributionId: string;
  originId: string;
  sent: number;
  refused: number;
  /** Real-clock times of refusals (ms). */
  refusedAt: number[];
}

export interface EdgeSummary {
  requests: number;
  refused: number;
  origins: OriginTally[];
}

// Real time even when a test fakes Date (the durable runner's time skipping does).
const RealDate = globalThis.Date;

export class Edge {
  readonly #options: Required<Omit<EdgeOptions, "standins" | "distributionIds" | "serverCaPem">> &
    EdgeOptions;
  readonly #tallies = new Map<string, OriginTally>();
  #stopped = false;
  #loop: Promise<void> | undefined;
  #requests = 0;

  constructor(options: EdgeOptions) {
    this.#options = { intervalMs: 20, maxDurationMs: 120_000, maxRequests: 200_000, ...options };
  }

  start(): void {
    const started = RealDate.now();
    this.#loop = (async () => {
      while (!this.#stopped) {
        if (
          RealDate.now() - started > this.#options.maxDurationMs ||
          this.#requests >= this.#options.maxRequests
        )
          break;
        await Promise.all(this.#options.distributionIds.map((id) => this.#visit(id)));
        await new Promise((resolve) => setTimeout(resolve, this.#options.intervalMs));
      }
    })();
  }

  /** One round now (tests use it to make sure traffic happened at a given moment). */
  async round(): Promise<void> {
    await Promise.all(this.#options.distributionIds.map((id) => this.#visit(id)));
  }

  async stop(): Promise<EdgeSummary> {
    this.#stopped = true;
    await this.#loop;
    return this.summary();
  }

  summary(): EdgeSummary {
    const origins = [...this.#tallies.values()].map((t) => ({ ...t, refusedAt: [...t.refusedAt] }));
    return {
      requests: origins.reduce((sum, o) => sum + o.sent, 0),
      refused: origins.reduce((sum, o) => sum + o.refused, 0),
      origins,
    };
  }

  async #visit(distributionId: string): Promise<void> {
    const { standins } = this.#options;
    let sent = 0;
    let refused = 0;
    for (const origin of standins.cloudfront.originsOf(distributionId)) {
      if (!origin.presentedArn) continue;
      const credential = standins.acm.presentable(origin.presentedArn);
      const key = `${distributionId}/${origin.originId}`;
      const tally = this.#tallies.get(key) ?? {
        distributionId,
        originId: origin.originId,
        sent: 0,
        refused: 0,
        refusedAt: [],
      };
      this.#tallies.set(key, tally);
      let ok = false;
      if (credential) {
        try {
          const response = await mtlsRequest({
            port: origin.httpsPort,
            host: "127.0.0.1",
            certificatePem: credential.certificatePem,
            chainPem: credential.chainPem,
            privateKeyPem: credential.privateKeyPem,
            caPem: this.#options.serverCaPem,
            timeoutMs: 3_000,
          });
          ok = response.status === 200;
        } catch {
          ok = false;
        }
      }
      tally.sent += 1;
      sent += 1;
      this.#requests += 1;
      if (!ok) {
        tally.refused += 1;
        tally.refusedAt.push(RealDate.now());
        refused += 1;
      }
    }
    if (sent > 0) {
      // CloudFront's 5xxErrorRate: percent of viewer requests answered 5xx (an origin refusal is a 502).
      standins.cloudwatch.record(
        "AWS/CloudFront",
        "5xxErrorRate",
        { DistributionId: distributionId, Region: "Global" },
        (refused / sent) * 100,
        new Date(),
      );
    }
  }
}
