/**
 * The CloudWatch adapter of the health gate, through the real `@aws-sdk/client-cloudwatch` against the
 * CloudWatch stand-in: the baseline's average 5xx error rate per distribution over a window widened to whole
 * minutes (the current minute included), null without datapoints, no mixing of distributions; the gate's
 * readings after a swap (datapoints counted per period, whole periods after the deployment only, nothing
 * from before it, late datapoints counted once they arrive); one GetMetricData call per 500 distributions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistributionMetrics } from "../../functions/adapters/metrics.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { MINUTE, NOW } from "../support/pki-fixtures.ts";

let standins: Standins;
let metrics: DistributionMetrics;
let counter = 0;

beforeAll(async () => {
  // record() feeds AWS/CloudFront as CloudFront would. These tests pin windows with datapoints in the hours
  // after NOW, read a day later and published at their timestamp (no delay); "datapoints arrive late" below
  // runs with CloudWatch's delay and a moving clock.
  standins = await startStandins({
    now: () => new Date(NOW.getTime() + 24 * 60 * MINUTE),
    awsMetricsDelayMs: 0,
  });
  metrics = new DistributionMetrics(standins.clients({ maxAttempts: 1 }).cloudwatch);
});

afterAll(async () => {
  await standins?.close();
});

/** A distribution id of its own for each test (the stand-in keeps every datapoint). */
function distribution(): string {
  counter += 1;
  return `E${String(counter).padStart(12, "0")}`;
}

/** NOW + minutes. */
function t(minutes: number): Date {
  return new Date(NOW.getTime() + minutes * MINUTE);
}

function record(distributionId: string, value: number, at: Date): void {
  standins.cloudwatch.record(
    "AWS/CloudFront",
    "5xxErrorRate",
    { DistributionId: distributionId, Region: "Global" },
    value,
    at,
  );
}

function getMetricDataCalls(): number {
  return standins.server.count("monitoring", "GetMetricData");
}

describe("errorRates: averages per distribution", () => {
  it("several distributions: the average of each one's datapoints, null where there are none", async () => {
    const [a, b, quiet] = [distribution(), distribution(), distribution()];
    for (const [minute, value] of [
      [1, 0],
      [2, 4],
      [3, 2],
    ] as const) {
      record(a, value, t(minute));
    }
    record(b, 10, t(2));
    record(b, 20, t(3.5));

    const rates = await metrics.errorRates([a, b, quiet], t(0), t(4));

    expect(rates).toEqual({ [a]: 2, [b]: 15, [quiet]: null });
  });

  it("does not mix in other distributions, other regions' dimension sets or other metrics", async () => {
    const [mine, other] = [distribution(), distribution()];
    record(mine, 1, t(1));
    record(other, 99, t(1));
    // Same distribution, but without Region=Global: another metric for CloudWatch.
    standins.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", { DistributionId: mine }, 50, t(1));
    standins.cloudwatch.record(
      "AWS/CloudFront",
      "4xxErrorRate",
      { DistributionId: mine, Region: "Global" },
      70,
      t(1),
    );

    expect(await metrics.errorRates([mine], t(0), t(2))).toEqual({ [mine]: 1 });
  });

  it("the same id asked for twice, or in any order, gets the same answer", async () => {
    const [a, b] = [distribution(), distribution()];
    record(a, 3, t(1));
    record(b, 6, t(1));
    const forward = await metrics.errorRates([a, b], t(0), t(2));
    const backward = await metrics.errorRates([b, a], t(0), t(2));
    expect(forward).toEqual({ [a]: 3, [b]: 6 });
    expect(backward).toEqual(forward);
  });

  it("no distributions: no call, no answer", async () => {
    const before = getMetricDataCalls();
    expect(await metrics.errorRates([], t(0), t(5))).toEqual({});
    expect(getMetricDataCalls()).toBe(before);
  });
});

describe("errorRates: the window is widened to whole minutes", () => {
  const cases: Array<{ name: string; at: number; since: number; until: number; included: boolean }> = [
    {
      name: "a datapoint in the current minute (after `until`) counts",
      at: 10.75,
      since: 5,
      until: 10.5,
      included: true,
    },
    { name: "a datapoint exactly at `until` counts", at: 10.5, since: 5, until: 10.5, included: true },
    {
      name: "a datapoint of the minute after `until` does not",
      at: 11,
      since: 5,
      until: 10.5,
      included: false,
    },
    {
      name: "a datapoint earlier in the minute `since` falls in counts",
      at: 5.1,
      since: 5.5,
      until: 10,
      included: true,
    },
    {
      name: "a datapoint of the minute before `since` does not",
      at: 4.99,
      since: 5.5,
      until: 10,
      included: false,
    },
    {
      name: "since and until in the same minute: that whole minute",
      at: 20.9,
      since: 20.2,
      until: 20.3,
      included: true,
    },
    {
      name: "until on a minute boundary: that minute counts",
      at: 30.5,
      since: 25,
      until: 30,
      included: true,
    },
  ];

  it.each(cases)("$name", async ({ at, since, until, included }) => {
    const id = distribution();
    record(id, 8, t(at));
    const rates = await metrics.errorRates([id], t(since), t(until));
    expect(rates).toEqual({ [id]: included ? 8 : null });
  });

  it("the average is over the datapoints, not over per-period averages, whatever the window's length", async () => {
    const id = distribution();
    for (const minute of [50.8, 51, 52]) record(id, 0, t(minute));
    record(id, 9, t(55.5));
    // [50, 56): three quiet datapoints and one bad one; a 5-minute period would split them 0 | 9.
    expect(await metrics.errorRates([id], t(50.75), t(55.1))).toEqual({ [id]: 2.25 });
  });

  it("datapoints in and out of the window: only those in are averaged", async () => {
    const id = distribution();
    record(id, 100, t(39)); // before
    record(id, 2, t(40.25));
    record(id, 4, t(44.9)); // current minute
    record(id, 100, t(45)); // after
    expect(await metrics.errorRates([id], t(40.5), t(44.1))).toEqual({ [id]: 3 });
  });
});

describe("errorRates: batches of 500", () => {
  it.each([
    { count: 500, calls: 1 },
    { count: 501, calls: 2 },
    { count: 1001, calls: 3 },
  ])("$count distributions: $calls GetMetricData call(s), every one answered", async ({ count, calls }) => {
    const ids = Array.from({ length: count }, () => distribution());
    // A datapoint for the 50th of every hundred, valued by its position, in every batch...
    const fed = new Map<string, number>();
    for (let i = 50; i < count; i += 100) {
      fed.set(ids[i]!, i / 100);
      record(ids[i]!, i / 100, t(60));
    }
    // ...and two for the very last one (the last batch's last query), averaged.
    record(ids[count - 1]!, 40, t(60.5));
    record(ids[count - 1]!, 44, t(60.75));
    fed.set(ids[count - 1]!, 42);

    const before = getMetricDataCalls();
    const rates = await metrics.errorRates(ids, t(59), t(61));

    expect(getMetricDataCalls() - before).toBe(calls);
    expect(Object.keys(rates)).toHaveLength(count);
    for (const [i, id] of ids.entries()) {
      expect(rates[id], `distribution #${i}`).toBe(fed.get(id) ?? null);
    }
  });
});

describe("errorRateReadings: the gate's datapoints after a swap", () => {
  /** The cases are in minutes after NOW; the swap deployed at 10.5 (mid-minute). */
  const DEPLOYED = 10.5;

  it("counts one datapoint per period with data, averages the periods' rates", async () => {
    const [a, b, quiet] = [distribution(), distribution(), distribution()];
    record(a, 0, t(11.2));
    record(a, 4, t(11.8)); // same minute: one datapoint of 2
    record(a, 4, t(12.5));
    record(b, 9, t(13.1));
    const readings = await metrics.errorRateReadings([a, b, quiet], t(DEPLOYED), t(14), 60);
    expect(readings).toEqual({
      [a]: { errorRate: 3, datapoints: 2 },
      [b]: { errorRate: 9, datapoints: 1 },
      [quiet]: { errorRate: null, datapoints: 0 },
    });
  });

  const cases: Array<{ name: string; at: number; until: number; counted: boolean }> = [
    {
      name: "a datapoint before the deployment, in its minute, is never read",
      at: 10.25,
      until: 13,
      counted: false,
    },
    {
      name: "a datapoint after the deployment but in its minute is not read either",
      at: 10.75,
      until: 13,
      counted: false,
    },
    { name: "a datapoint before the deployment's minute is not read", at: 9.5, until: 13, counted: false },
    { name: "the first whole minute after the deployment is read", at: 11, until: 13, counted: true },
    { name: "the minute still running at `until` is not read", at: 12.5, until: 12.75, counted: false },
    { name: "a minute that ended exactly at `until` is read", at: 11.5, until: 12, counted: true },
  ];

  it.each(cases)("$name", async ({ at, until, counted }) => {
    const id = distribution();
    record(id, 50, t(at));
    const readings = await metrics.errorRateReadings([id], t(DEPLOYED), t(until), 60);
    expect(readings[id]).toEqual(
      counted ? { errorRate: 50, datapoints: 1 } : { errorRate: null, datapoints: 0 },
    );
  });

  it("no whole period since the deployment yet: no call, nothing counted", async () => {
    const id = distribution();
    record(id, 1, t(10.75));
    const before = getMetricDataCalls();
    expect(await metrics.errorRateReadings([id], t(DEPLOYED), t(10.99), 60)).toEqual({
      [id]: { errorRate: null, datapoints: 0 },
    });
    expect(getMetricDataCalls()).toBe(before);
  });

  it("a deployment exactly on a period boundary: that period is the first one read", async () => {
    const id = distribution();
    record(id, 6, t(20));
    record(id, 99, t(19.99));
    expect(await metrics.errorRateReadings([id], t(20), t(21), 60)).toEqual({
      [id]: { errorRate: 6, datapoints: 1 },
    });
  });

  it("second-long periods (the sandbox): counts seconds, from the first whole second after the deployment", async () => {
    const id = distribution();
    const second = (s: number) => new Date(NOW.getTime() + 30 * MINUTE + s * 1000);
    record(id, 100, second(0.2)); // before the deployment
    record(id, 100, second(0.7)); // after it, but in the second it happened in
    record(id, 0, second(1.1));
    record(id, 2, second(2.9));
    record(id, 4, second(3.5)); // second still running
    expect(await metrics.errorRateReadings([id], second(0.5), second(3.6), 1)).toEqual({
      [id]: { errorRate: 1, datapoints: 2 },
    });
  });

  it.each([
    { count: 500, calls: 1 },
    { count: 501, calls: 2 },
  ])("$count distributions: $calls GetMetricData call(s), every one answered", async ({ count, calls }) => {
    const ids = Array.from({ length: count }, () => distribution());
    record(ids[count - 1]!, 8, t(71));
    record(ids[count - 1]!, 2, t(72));
    const before = getMetricDataCalls();
    const readings = await metrics.errorRateReadings(ids, t(70.5), t(73), 60);
    expect(getMetricDataCalls() - before).toBe(calls);
    expect(Object.keys(readings)).toHaveLength(count);
    expect(readings[ids[count - 1]!]).toEqual({ errorRate: 5, datapoints: 2 });
    expect(readings[ids[0]!]).toEqual({ errorRate: null, datapoints: 0 });
  });
});

describe("errorRateReadings: datapoints arrive late (the stand-in's publication delay)", () => {
  it("an empty window until CloudFront's datapoints are published, then they count", async () => {
    let clock = NOW.getTime();
    const late = await startStandins({ now: () => new Date(clock), awsMetricsDelayMs: 3 * MINUTE });
    try {
      const reader = new DistributionMetrics(late.clients({ maxAttempts: 1 }).cloudwatch);
      const id = distribution();
      const dims = { DistributionId: id, Region: "Global" };
      for (const minute of [1, 2, 3])
        late.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 0, t(minute));
      clock = t(4).getTime();
      // Three whole minutes after the deployment have passed, but only the first is published.
      expect(await reader.errorRateReadings([id], t(0.5), t(4), 60)).toEqual({
        [id]: { errorRate: 0, datapoints: 1 },
      });
      clock = t(6).getTime();
      expect(await reader.errorRateReadings([id], t(0.5), t(6), 60)).toEqual({
        [id]: { errorRate: 0, datapoints: 3 },
      });
    } finally {
      await late.close();
    }
  });
});
