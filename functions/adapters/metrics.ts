/**
 * CloudWatch adapter for the health gate: CloudFront's 5xxErrorRate per distribution (us-east-1,
 * dimensions DistributionId + Region=Global, on by default, no extra cost).
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import type { MetricsReading } from "../core/gate.ts";

/**
 * One GetMetricData call answers at most 500 queries (one per distribution): AWS's model of the operation
 * (botocore cloudwatch 2010-08-01, `MetricDataQueries`: "as many as 500 MetricDataQuery structures"; the
 * model carries no max trait, the documentation says it). The gate asks for one wave's distributions only.
 */
const QUERIES_PER_CALL = 500;

/**
 * The service's own namespace (wiring/observability.ts METRICS_NAMESPACE, where the other functions write
 * EMF; repeated so the workflow does not bundle Powertools' metrics for one counter).
 */
export const SERVICE_NAMESPACE = "mtls-rotator";

export class DistributionMetrics {
  readonly #client: CloudWatchClient;

  constructor(client: CloudWatchClient) {
    this.#client = client;
  }

  /** Adds `value` to the service's metric `name` (one PutMetricData, unit Count). */
  async count(name: string, value: number): Promise<void> {
    await this.#client.send(
      new PutMetricDataCommand({
        Namespace: SERVICE_NAMESPACE,
        MetricData: [{ MetricName: name, Value: value, Unit: "Count" }],
      }),
    );
  }

  /**
   * Average 5xx error rate (percent) of each distribution over [from, to]; null where CloudWatch has no
   * datapoint (no traffic). One GetMetricData call per 500 distributions. (The pre-rotation baseline.)
   */
  async errorRates(
    distributionIds: string[],
    since: Date,
    until: Date,
  ): Promise<Record<string, number | null>> {
    // CloudFront metrics have one-minute resolution and CloudWatch windows exclude their end: widen the
    // window to whole minutes so a datapoint of the current minute is included.
    const from = Math.floor(since.getTime() / 60_000) * 60_000;
    const to = Math.floor(until.getTime() / 60_000) * 60_000 + 60_000;
    const periodSeconds = Math.max(60, Math.round((to - from) / 1000 / 60) * 60);
    const values = await this.#values(distributionIds, from, to, periodSeconds);
    return Object.fromEntries(
      distributionIds.map((id) => {
        const points = values.get(id) ?? [];
        return [id, mean(points)];
      }),
    );
  }

  /**
   * What the health gate reads after a swap: per distribution, its datapoints of `periodSeconds` that lie
   * wholly after `since` (the deployment) and ended by `until`, and the mean of their average rates.
   *
   * Never a datapoint from before `since`: CloudWatch rounds a StartTime down (to the minute, or for 1–30 s
   * periods to that division of the minute) and a datapoint covers its whole period, so a window starting
   * mid-period would bring back traffic from before the deployment. The window starts at the first period
   * boundary at or after `since` instead, and ends at the last boundary at or before `until` (a period still
   * running is not counted). Each period weighs the same (CloudFront publishes one rate per minute). One
   * GetMetricData call per 500 distributions, following NextToken; no call while no period has ended.
   */
  async errorRateReadings(
    distributionIds: string[],
    since: Date,
    until: Date,
    periodSeconds = 60,
  ): Promise<Record<string, MetricsReading>> {
    const periodMs = periodSeconds * 1000;
    const from = Math.ceil(since.getTime() / periodMs) * periodMs;
    const to = Math.floor(until.getTime() / periodMs) * periodMs;
    const values =
      to > from ? await this.#values(distributionIds, from, to, periodSeconds) : new Map<string, number[]>();
    return Object.fromEntries(
      distributionIds.map((id) => {
        const points = values.get(id) ?? [];
        return [
          id,
          {
            errorRate: mean(points),
            datapoints: points.length,
          },
        ];
      }),
    );
  }

  /** The Average values of each distribution's datapoints in [from, to), by distribution id. */
  async #values(
    distributionIds: string[],
    from: number,
    to: number,
    periodSeconds: number,
  ): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (let offset = 0; offset < distributionIds.length; offset += QUERIES_PER_CALL) {
      const batch = distributionIds.slice(offset, offset + QUERIES_PER_CALL);
      const queries: MetricDataQuery[] = batch.map((id, i) => ({
        Id: `d${offset + i}`,
        Label: id,
        MetricStat: {
          Metric: {
            Namespace: "AWS/CloudFront",
            MetricName: "5xxErrorRate",
            Dimensions: [
              { Name: "DistributionId", Value: id },
              { Name: "Region", Value: "Global" },
            ],
          },
          Period: periodSeconds,
          Stat: "Average",
        },
      }));
      let NextToken: string | undefined;
      const values = new Map<string, number[]>();
      do {
        const page = await this.#client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(from),
            EndTime: new Date(to),
            NextToken,
          }),
        );
        for (const result of page.MetricDataResults ?? []) {
          if (result.Id) values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
        }
        NextToken = page.NextToken;
      } while (NextToken);
      batch.forEach((id, i) => {
        out.set(id, values.get(`d${offset + i}`) ?? []);
      });
    }
    return out;
  }
}

/** The mean of the values; null for none. */
function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}
