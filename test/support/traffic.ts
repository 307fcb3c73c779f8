/**
 * What CloudFront publishes for distributions with steady, healthy traffic, for tests without a real edge
 * (standins/edge.ts sends real mTLS requests and publishes what it saw; the time-skipping workflow tests
 * cannot run it: their clock jumps). One AWS/CloudFront 5xxErrorRate datapoint of 0 % per distribution and
 * period, timestamped at the period's start, as CloudWatch timestamps a period's datapoint.
 *
 * Lazy: `publish()` records the datapoints of every period that has ended since the last call, as if
 * CloudFront had published them all along; the CloudWatch stand-in still holds each one back for its
 * publication delay (it becomes visible to GetMetricData only `awsMetricsDelayMs` after its timestamp). The
 * fleet calls it before each read of the workflow's metrics adapter, which stays the real adapter over the
 * real SDK. A period that already has a datapoint (a test recorded a bad one) keeps it; a silenced
 * distribution (no traffic at all) gets none.
 */
import type { DistributionMetrics } from "../../functions/adapters/metrics.ts";
import type { Standins } from "../../standins/index.ts";

export type MetricsReader = Pick<DistributionMetrics, "errorRates" | "errorRateReadings">;

export interface SteadyTrafficOptions {
  /** Length of a datapoint's period (CloudFront: 60 s; real-time tests: 1 s). */
  periodSeconds: number;
  /** The first period published starts at or after this. */
  since: Date;
  /** Clock (the time-skipping runner fakes Date: this follows it). */
  now?: () => number;
}

export class SteadyTraffic {
  readonly #standins: Standins;
  readonly #distributionIds: string[];
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #silenced = new Set<string>();
  /** Start of the next period to publish. */
  #next: number;

  constructor(standins: Standins, distributionIds: string[], options: SteadyTrafficOptions) {
    this.#standins = standins;
    this.#distributionIds = [...distributionIds];
    this.#periodMs = options.periodSeconds * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#next = Math.ceil(options.since.getTime() / this.#periodMs) * this.#periodMs;
  }

  /** From now on the distribution gets no traffic: CloudFront publishes nothing for it. */
  silence(distributionId: string): void {
    this.#silenced.add(distributionId);
  }

  /** Records a 0 % datapoint for each distribution and each period that has ended since the last call. */
  publish(): void {
    const end = Math.floor(this.#now() / this.#periodMs) * this.#periodMs;
    if (end <= this.#next) return;
    for (const id of this.#distributionIds) {
      if (this.#silenced.has(id)) continue;
      const dimensions = { DistributionId: id, Region: "Global" };
      const taken = new Set(
        this.#standins.cloudwatch
          .datapoints("AWS/CloudFront", "5xxErrorRate", dimensions)
          .map((p) => Math.floor(p.timestamp.getTime() / this.#periodMs) * this.#periodMs),
      );
      for (let start = this.#next; start < end; start += this.#periodMs) {
        if (taken.has(start)) continue;
        this.#standins.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dimensions, 0, new Date(start));
      }
    }
    this.#next = end;
  }

  /** The metrics adapter, with this traffic published before each read. */
  wrap(metrics: MetricsReader): MetricsReader {
    return {
      errorRates: (...args) => {
        this.publish();
        return metrics.errorRates(...args);
      },
      errorRateReadings: (...args) => {
        this.publish();
        return metrics.errorRateReadings(...args);
      },
    };
  }
}
