/**
 * CloudWatch adapter for the health gate: CloudFront's 5xxErrorRate per distribution (us-east-1,
 * dimensions DistributionId + Region=Global, on by default, no extra cost).
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";

export class DistributionMetrics {
  readonly #client: CloudWatchClient;

  constructor(client: CloudWatchClient) {
    this.#client = client;
  }

  /**
   * Average 5xx error rate (percent) of each distribution over [from, to]; null where CloudWatch has no
   * datapoint (no traffic). One GetMetricData call per 500 distributions.
   */
  async errorRates(
    distributionIds: string[],
    since: Date,
    until: Date,
  ): Promise<Record<string, number | null>> {
    const out: Record<string, number | null> = {};
    // CloudFront metrics have one-minute resolution and CloudWatch windows exclude their end: widen the
    // window to whole minutes so a datapoint of the current minute is included.
    const from = new Date(Math.floor(since.getTime() / 60_000) * 60_000);
    const to = new Date(Math.floor(until.getTime() / 60_000) * 60_000 + 60_000);
    const periodSeconds = Math.max(60, Math.round((to.getTime() - from.getTime()) / 1000 / 60) * 60);
    for (let offset = 0; offset < distributionIds.length; offset += 500) {
      const batch = distributionIds.slice(offset, offset + 500);
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
          new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: from, EndTime: to, NextToken }),
        );
        for (const result of page.MetricDataResults ?? []) {
          if (result.Id) values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
        }
        NextToken = page.NextToken;
      } while (NextToken);
      batch.forEach((id, i) => {
        const points = values.get(`d${offset + i}`) ?? [];
        out[id] = points.length === 0 ? null : points.reduce((a, b) => a + b, 0) / points.length;
      });
    }
    return out;
  }
}
