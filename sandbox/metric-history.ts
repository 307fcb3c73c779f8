/**
 * CloudWatch history from before the run: a distribution's 5xx error rate in the minutes before the
 * rotation, as CloudFront would have published it, so the health gate's pre-rotation baseline (read at the
 * plan over the last `baselineWindowSeconds`: 300 in the sandbox) sees a realistic pre-existing rate.
 *
 * The edge publishes AWS/CloudFront `5xxErrorRate` (dimensions DistributionId, Region=Global, us-east-1)
 * one sample per request: 0 for an answer, 100 for a refusal. A seeded minute is what the edge would have
 * published in a minute of its usual traffic at that rate: one statistic set of `requestsPerMinute` samples
 * (by default the edge's: a request every EDGE_INTERVAL_MS to each origin presenting a certificate), of which
 * `errorRatePercent` % were 100. So a seeded minute weighs as much as a minute of live traffic in the
 * baseline's average, which CloudWatch takes over every sample of the window.
 */
import type { CloudWatchStandin } from "../standins/cloudwatch.ts";
import type { Printer } from "./printer.ts";
import type { Scenario } from "./scenario.ts";

/** A distribution's seeded history, as the report lists it. */
export interface MetricHistoryReport {
  distribution: string;
  /** Its CloudFront id (the datapoints' DistributionId). */
  id: string;
  /** Samples in each seeded minute. */
  requestsPerMinute: number;
  /** Oldest first: minutes before the run, the rate, and the datapoint's timestamp. */
  points: Array<{ minutesAgo: number; errorRatePercent: number; at: string }>;
}

type HistoryEntry = NonNullable<Scenario["metricHistory"]>[number];

/** The minutes a history entry seeds, oldest first: each `minutes` ago at its rate. */
export function historyPoints(entry: HistoryEntry): Array<{ minutesAgo: number; errorRatePercent: number }> {
  const points =
    entry.points ??
    Array.from({ length: entry.minutes ?? DEFAULT_HISTORY_MINUTES }, (_, i) => ({
      minutesAgo: i + 1,
      errorRatePercent: entry.errorRatePercent ?? 0,
    }));
  return [...points].sort((a, b) => b.minutesAgo - a.minutesAgo);
}

/** How many minutes `errorRatePercent` covers when `minutes` is not given. */
export const DEFAULT_HISTORY_MINUTES = 10;

/** A minute of `requests` requests at `percent` % 5xx, as one statistic set of 0 / 100 samples. */
export function minuteOfRequests(percent: number, requests: number) {
  return {
    sum: percent * requests,
    sampleCount: requests,
    minimum: percent < 100 ? 0 : 100,
    maximum: percent > 0 ? 100 : 0,
  };
}

/**
 * Seeds the scenario's `metricHistory` into the CloudWatch stand-in, each point `minutesAgo` minutes before
 * `now`, and prints one line per distribution.
 */
export function seedMetricHistory(
  cloudwatch: Pick<CloudWatchStandin, "record">,
  scenario: Scenario,
  distributions: ReadonlyArray<{ name: string; id: string; presentingOrigins: number }>,
  printer: Printer,
  options: { now: Date; requestsPerMinutePerOrigin: number; baselineWindowSeconds: number },
): MetricHistoryReport[] {
  const reports: MetricHistoryReport[] = [];
  for (const entry of scenario.metricHistory ?? []) {
    const distribution = distributions.find((d) => d.name === entry.distribution);
    if (!distribution) continue;
    const requestsPerMinute =
      entry.requestsPerMinute ??
      Math.round(options.requestsPerMinutePerOrigin * Math.max(1, distribution.presentingOrigins));
    const points = historyPoints(entry).map((p) => {
      const at = new Date(options.now.getTime() - p.minutesAgo * 60_000);
      cloudwatch.record(
        "AWS/CloudFront",
        "5xxErrorRate",
        { DistributionId: distribution.id, Region: "Global" },
        minuteOfRequests(p.errorRatePercent, requestsPerMinute),
        at,
      );
      return { ...p, at: at.toISOString() };
    });
    reports.push({ distribution: entry.distribution, id: distribution.id, requestsPerMinute, points });
    const rates = [...new Set(points.map((p) => p.errorRatePercent))];
    printer.line(
      `metric history: ${entry.distribution}: ${points.length} one-minute datapoint(s) of AWS/CloudFront 5xxErrorRate ` +
        `from ${points[0]!.minutesAgo} to ${points.at(-1)!.minutesAgo} min before the run, ` +
        `${rates.length === 1 ? `${rates[0]}%` : `${Math.min(...rates)}-${Math.max(...rates)}%`} of ` +
        `${requestsPerMinute} requests a minute (the gate's baseline reads the last ${options.baselineWindowSeconds} s before the plan)`,
    );
  }
  return reports;
}
