/**
 * CloudWatch history seeded before a sandbox run, read back the way the workflow reads its pre-rotation
 * baseline (DistributionMetrics.errorRates over the plan's window), and what that baseline does to the gate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistributionMetrics } from "../../functions/adapters/metrics.ts";
import { evaluateGate } from "../../functions/core/gate.ts";
import { seedMetricHistory } from "../../sandbox/metric-history.ts";
import { Printer } from "../../sandbox/printer.ts";
import { parseScenario } from "../../sandbox/scenario.ts";
import { type Standins, startStandins } from "../../standins/index.ts";

let s: Standins;
let metrics: DistributionMetrics;

beforeAll(async () => {
  // The sandbox's CloudWatch delay: a second (history minutes old is long visible).
  s = await startStandins({ awsMetricsDelayMs: 1_000 });
  metrics = new DistributionMetrics(s.clients({ maxAttempts: 1 }).cloudwatch);
});

afterAll(async () => {
  await s?.close();
});

function scenarioWith(metricHistory: unknown[]) {
  return parseScenario({
    name: "history",
    authority: { name: "CA 1" },
    certificates: [{ name: "edge", expiresInDays: 10 }],
    distributions: [
      { name: "shop", origins: [{ name: "api", certificate: "edge" }] },
      { name: "blog", origins: [{ name: "web", certificate: "edge" }] },
      { name: "media", origins: [{ name: "cdn", certificate: "edge" }] },
    ],
    metricHistory,
    actions: [{ action: "rotate", certificate: "edge" }],
  });
}

describe("metric history", () => {
  it("is the baseline the plan reads: 4% for ten minutes reads 4%; a distribution without history reads none", async () => {
    const now = new Date();
    const ids = { shop: "EHISTORYSHOP01", blog: "EHISTORYBLOG01", media: "EHISTORYMEDIA1" };
    const lines: string[] = [];
    const seeded = seedMetricHistory(
      s.cloudwatch,
      scenarioWith([
        { distribution: "shop", errorRatePercent: 4, minutes: 10 },
        {
          distribution: "blog",
          points: [
            { minutesAgo: 8, errorRatePercent: 20 },
            { minutesAgo: 2, errorRatePercent: 2 },
          ],
          requestsPerMinute: 600,
        },
      ]),
      Object.entries(ids).map(([name, id]) => ({ name, id, presentingOrigins: 2 })),
      new Printer({ write: (line) => lines.push(line) }),
      { now, requestsPerMinutePerOrigin: 1_200, baselineWindowSeconds: 300 },
    );
    expect(
      seeded.map((h) => [h.distribution, h.requestsPerMinute, h.points.map((p) => p.minutesAgo)]),
    ).toEqual([
      ["shop", 2_400, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
      ["blog", 600, [8, 2]],
    ]);
    expect(lines[0]).toContain(
      "metric history: shop: 10 one-minute datapoint(s) of AWS/CloudFront 5xxErrorRate from 10 to 1 min before the run, 4% of 2400 requests a minute",
    );

    // What the workflow's plan reads (the sandbox's baselineWindowSeconds: 300).
    const baselines = await metrics.errorRates(Object.values(ids), new Date(now.getTime() - 300_000), now);
    expect(baselines[ids.shop]).toBeCloseTo(4, 6);
    // Only blog's recent minute is in a five-minute window; a longer one averages both, weighed alike.
    expect(baselines[ids.blog]).toBeCloseTo(2, 6);
    const longer = await metrics.errorRates([ids.blog], new Date(now.getTime() - 900_000), now);
    expect(longer[ids.blog]).toBeCloseTo(11, 6);
    expect(baselines[ids.media]).toBeNull();

    // A live 5% after the swap, maxIncreasePoints 2: within 4% + 2 passes; with no baseline (threshold 2%) it fails.
    const gate = (baseline: number | null) =>
      evaluateGate({
        metrics: { [ids.shop]: { errorRate: 5, datapoints: 2 } },
        baselines: { [ids.shop]: baseline },
        probes: [],
        elapsedSeconds: 5,
        policy: { maxIncreasePoints: 2, floorPercent: 1, minDatapoints: 2, periodSeconds: 1 },
      }).verdict;
    expect(gate(baselines[ids.shop]!)).toBe("passed");
    expect(gate(baselines[ids.media]!)).toBe("failed");
  });

  it("weighs a seeded minute as a minute of the edge's requests against its one-sample-per-request datapoints", async () => {
    const now = new Date();
    const id = "EHISTORYWEIGH1";
    seedMetricHistory(
      s.cloudwatch,
      scenarioWith([{ distribution: "shop", errorRatePercent: 10, minutes: 1 }]),
      [{ name: "shop", id, presentingOrigins: 1 }],
      new Printer({ write: () => undefined }),
      { now, requestsPerMinutePerOrigin: 1_200, baselineWindowSeconds: 300 },
    );
    // 100 live requests, all answered, 10 s before the plan (visible after the one-second delay).
    for (let i = 0; i < 100; i += 1)
      s.cloudwatch.record(
        "AWS/CloudFront",
        "5xxErrorRate",
        { DistributionId: id, Region: "Global" },
        0,
        new Date(now.getTime() - 10_000),
      );
    const { [id]: baseline } = await metrics.errorRates([id], new Date(now.getTime() - 300_000), now);
    expect(baseline).toBeCloseTo((10 * 1_200) / 1_300, 6);
  });
});
