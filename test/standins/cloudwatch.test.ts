/**
 * The CloudWatch stand-in, driven by the real `@aws-sdk/client-cloudwatch` (awsJson1_0, query-compatible
 * errors) over loopback HTTP: AWS/CloudFront datapoints fed with `record()` come back from GetMetricData
 * aggregated into Period buckets, newest first, only for the exact dimension set and only in us-east-1;
 * PutMetricData and GetMetricData refuse what CloudWatch refuses.
 */
import {
  CloudWatchClient,
  type Dimension,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_AWS_METRICS_DELAY_MS } from "../../standins/cloudwatch.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { refusedByModel, withIntendedViolations } from "../support/model-checks.ts";

/** The stand-ins' clock: PutMetricData accepts timestamps from two weeks before to two hours after it. */
const NOW = new Date("2026-11-20T12:00:00Z");
const at = (minutes: number, seconds = 0) => new Date(NOW.getTime() + minutes * 60_000 + seconds * 1000);

let s: Standins;
let cw: CloudWatchClient;
let counter = 0;

beforeAll(async () => {
  // These tests pin aggregation and validation with datapoints up to NOW: published at once here. The
  // publication delay of AWS/* datapoints has its own tests below, with a clock that moves.
  s = await startStandins({ now: () => NOW, awsMetricsDelayMs: 0 });
  cw = s.clients({ maxAttempts: 1 }).cloudwatch;
});

afterAll(async () => {
  await s?.close();
});

function distribution(): string {
  counter += 1;
  return `E2QWRUHAPOMQZ${counter}`;
}

/** AWS/CloudFront publishes 5xxErrorRate per distribution with Region=Global, in us-east-1. */
const cloudFrontDims = (id: string) => ({ DistributionId: id, Region: "Global" });
const asList = (dims: Record<string, string>): Dimension[] =>
  Object.entries(dims).map(([Name, Value]) => ({ Name, Value }));

function query(
  id: string,
  overrides: Partial<MetricDataQuery> = {},
  stat = "Average",
  period = 60,
): MetricDataQuery {
  return {
    Id: "errors",
    MetricStat: {
      Metric: {
        Namespace: "AWS/CloudFront",
        MetricName: "5xxErrorRate",
        Dimensions: asList(cloudFrontDims(id)),
      },
      Period: period,
      Stat: stat,
    },
    ...overrides,
  };
}

function get(queries: MetricDataQuery[], input: Partial<GetMetricDataCommandInput> = {}, client = cw) {
  return client.send(
    new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: at(-60), EndTime: at(0), ...input }),
  );
}

/** [timestamp ISO, value] pairs of the first result. */
async function series(queries: MetricDataQuery[], input: Partial<GetMetricDataCommandInput> = {}) {
  const out = await get(queries, input);
  const r = out.MetricDataResults?.[0];
  return (r?.Timestamps ?? []).map((t, i) => [t.toISOString(), r?.Values?.[i]]);
}

function put(input: Partial<PutMetricDataCommandInput>) {
  return cw.send(
    new PutMetricDataCommand({
      Namespace: "MtlsRotator",
      MetricData: [{ MetricName: "WaveDuration", Value: 1, Timestamp: at(-1) }],
      ...input,
    }),
  );
}

/**
 * CloudWatch's answer to a request its model does not allow (the model check answers it before the stand-in
 * sees it): 400 ValidationError (query-compatible code) with AWS's message naming the member.
 */
function expectModelValidationError(error: Error, member: string, constraint: RegExp): void {
  expect(error).toMatchObject({
    name: "ValidationException",
    Code: "ValidationError",
    $metadata: { httpStatusCode: 400 },
  });
  expect(error.message).toMatch(/^1 validation error detected: /);
  expect(error.message).toContain(`at '${member}' failed to satisfy constraint:`);
  expect(error.message).toMatch(constraint);
}

describe("GetMetricData over AWS/CloudFront datapoints", () => {
  it("[cloudwatch.aggregation] aggregates into Period buckets aligned to StartTime, newest first, StatusCode Complete", async () => {
    const id = distribution();
    const dims = cloudFrontDims(id);
    // Two datapoints in [-10, -5) min, one in [-5, 0); one at EndTime and one before StartTime are left out.
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 2, at(-10));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 4, at(-6, 30));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 9, at(-1));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 100, at(0));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", dims, 100, at(-11));

    const out = await get([query(id, {}, "Average", 300)], { StartTime: at(-10), EndTime: at(0) });
    expect(out.MetricDataResults).toEqual([
      {
        Id: "errors",
        Label: "5xxErrorRate",
        Timestamps: [at(-5), at(-10)],
        Values: [9, 3],
        StatusCode: "Complete",
      },
    ]);
    expect(out.Messages).toEqual([]);
  });

  it.each([
    ["Average", 3],
    ["Sum", 9],
    ["Minimum", 1],
    ["Maximum", 5],
    ["SampleCount", 3],
  ])("computes %s over a bucket", async (stat, expected) => {
    const id = distribution();
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 1, at(-3));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 5, at(-2));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 3, at(-1));
    const points = await series([query(id, {}, stat, 300)], { StartTime: at(-5), EndTime: at(0) });
    expect(points).toEqual([[at(-5).toISOString(), expected]]);
  });

  it("[cloudwatch.aggregation] answers buckets oldest first with ScanBy=TimestampAscending", async () => {
    const id = distribution();
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 1, at(-3));
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 2, at(-2));
    expect(await series([query(id)], { ScanBy: "TimestampAscending" })).toEqual([
      [at(-3).toISOString(), 1],
      [at(-2).toISOString(), 2],
    ]);
    expect(await series([query(id)])).toEqual([
      [at(-2).toISOString(), 2],
      [at(-3).toISOString(), 1],
    ]);
  });

  it("[cloudwatch.exact-dimension-set] matches the exact dimension set: DistributionId alone (without Region=Global) finds nothing", async () => {
    const id = distribution();
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 7, at(-2));
    const onlyId = query(id);
    if (onlyId.MetricStat?.Metric)
      onlyId.MetricStat.Metric.Dimensions = [{ Name: "DistributionId", Value: id }];
    expect(await series([onlyId])).toEqual([]);
    // Order of dimensions does not matter.
    const reversed = query(id);
    if (reversed.MetricStat?.Metric)
      reversed.MetricStat.Metric.Dimensions = asList(cloudFrontDims(id)).reverse();
    expect(await series([reversed])).toEqual([[at(-2).toISOString(), 7]]);
  });

  it("[cloudwatch.cloudfront-us-east-1] keeps AWS/CloudFront metrics in us-east-1; clients() reads them there whatever the service region", async () => {
    const id = distribution();
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 7, at(-2));
    const ireland = new CloudWatchClient({
      region: "eu-west-1",
      endpoint: s.endpoint,
      credentials: STANDIN_CREDENTIALS,
      maxAttempts: 1,
    });
    const fromIreland = await get([query(id)], {}, ireland);
    expect(fromIreland.MetricDataResults?.[0]).toMatchObject({ Timestamps: [], Values: [] });
    ireland.destroy();

    const viaClients = s.clients({ region: "eu-west-1", maxAttempts: 1 }).cloudwatch;
    const out = await get([query(id)], {}, viaClients);
    expect(out.MetricDataResults?.[0]?.Values).toEqual([7]);
    expect(s.server.calls.at(-1)).toMatchObject({
      service: "monitoring",
      operation: "GetMetricData",
      region: "us-east-1",
    });
  });

  it("answers every query by Id and Label; ReturnData=false queries are left out", async () => {
    const id = distribution();
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 1, at(-2));
    s.cloudwatch.record("AWS/CloudFront", "Requests", cloudFrontDims(id), 40, at(-2));
    const requests = query(id, { Id: "requests", Label: "Requests" }, "Sum");
    if (requests.MetricStat?.Metric) requests.MetricStat.Metric.MetricName = "Requests";
    const out = await get([query(id), requests, query(id, { Id: "hidden", ReturnData: false })]);
    expect(out.MetricDataResults?.map((r) => [r.Id, r.Label, r.Values])).toEqual([
      ["errors", "5xxErrorRate", [1]],
      ["requests", "Requests", [40]],
    ]);
  });

  it("records a statistic set as that many samples: a minute of requests weighs against single ones", async () => {
    const id = distribution();
    // A minute of 1,000 requests, 4% of them 5xx (each request 0 or 100), and one request of 100 more.
    s.cloudwatch.record(
      "AWS/CloudFront",
      "5xxErrorRate",
      cloudFrontDims(id),
      { sum: 4_000, sampleCount: 1_000, minimum: 0, maximum: 100 },
      at(-3),
    );
    s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 100, at(-2));
    const stats = async (stat: string) =>
      (await get([query(id, {}, stat, 600)], { StartTime: at(-10), EndTime: at(0) })).MetricDataResults?.[0]
        ?.Values;
    expect(await stats("Average")).toEqual([(4_000 + 100) / 1_001]);
    expect(await stats("SampleCount")).toEqual([1_001]);
    expect(await stats("Minimum")).toEqual([0]);
    expect(await stats("Maximum")).toEqual([100]);
    expect(s.cloudwatch.datapoints("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id))[0]).toMatchObject({
      sum: 4_000,
      sampleCount: 1_000,
    });
    for (const bad of [
      { sum: 1, sampleCount: 0, minimum: 0, maximum: 1 },
      { sum: 1, sampleCount: 1, minimum: 2, maximum: 1 },
      { sum: 500, sampleCount: 2, minimum: 0, maximum: 100 },
      { sum: Number.NaN, sampleCount: 1, minimum: 0, maximum: 1 },
    ])
      expect(() =>
        s.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), bad, at(-1)),
      ).toThrow(/not a statistic set/);
  });
});

describe("[cloudwatch.cloudfront-metrics-delay] AWS/* datapoints arrive late", () => {
  let late: Standins;
  let client: CloudWatchClient;
  let clock = NOW.getTime();
  const DELAY_MS = 4 * 60_000;

  beforeAll(async () => {
    late = await startStandins({ now: () => new Date(clock), awsMetricsDelayMs: DELAY_MS });
    client = late.clients({ maxAttempts: 1 }).cloudwatch;
  });
  afterAll(async () => {
    await late?.close();
  });

  const values = async (id: string, input: Partial<GetMetricDataCommandInput> = {}) => {
    const out = await get([query(id)], input, client);
    return out.MetricDataResults?.[0]?.Values;
  };

  it("[cloudwatch.cloudfront-metrics-delay] a datapoint is visible to GetMetricData only once the clock reaches its timestamp plus the delay", async () => {
    const id = distribution();
    clock = at(0).getTime();
    late.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 12, at(-2));
    // Published two minutes ago, visible four minutes after its timestamp: not yet. Empty means "not known".
    expect(await values(id)).toEqual([]);
    clock = at(2, -1).getTime();
    expect(await values(id, { EndTime: at(2) })).toEqual([]);
    clock = at(2).getTime();
    expect(await values(id, { EndTime: at(2) })).toEqual([12]);
    // The stored datapoint says when it became visible.
    expect(late.cloudwatch.datapoints("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id))).toEqual([
      expect.objectContaining({ timestamp: at(-2), visibleAt: at(2), sum: 12 }),
    ]);
  });

  it("a bucket fills in as its datapoints arrive: older ones first", async () => {
    const id = distribution();
    clock = at(0).getTime();
    late.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 0, at(-6));
    late.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 10, at(-3));
    late.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 20, at(-1));
    expect(await values(id)).toEqual([0]);
    clock = at(1).getTime();
    expect(await values(id, { EndTime: at(1) })).toEqual([10, 0]);
    clock = at(3).getTime();
    expect(await values(id, { EndTime: at(3) })).toEqual([20, 10, 0]);
  });

  it("PutMetricData's own datapoints (custom namespaces) are visible at once", async () => {
    clock = NOW.getTime();
    await client.send(
      new PutMetricDataCommand({
        Namespace: "MtlsRotator/Late",
        MetricData: [{ MetricName: "WaveDuration", Value: 7, Timestamp: at(-1) }],
      }),
    );
    const out = await get(
      [
        {
          Id: "custom",
          MetricStat: {
            Metric: { Namespace: "MtlsRotator/Late", MetricName: "WaveDuration" },
            Period: 60,
            Stat: "Sum",
          },
        },
      ],
      {},
      client,
    );
    expect(out.MetricDataResults?.[0]?.Values).toEqual([7]);
  });

  it("[cloudwatch.cloudfront-metrics-delay] the default delay is minutes (DEFAULT_AWS_METRICS_DELAY_MS), not instant", async () => {
    expect(DEFAULT_AWS_METRICS_DELAY_MS).toBeGreaterThanOrEqual(60_000);
    const defaults = await startStandins({ now: () => NOW });
    try {
      const id = distribution();
      defaults.cloudwatch.record("AWS/CloudFront", "5xxErrorRate", cloudFrontDims(id), 3, at(-1));
      const out = await get([query(id)], {}, defaults.clients({ maxAttempts: 1 }).cloudwatch);
      expect(out.MetricDataResults?.[0]?.Values).toEqual([]);
    } finally {
      await defaults.close();
    }
  });
});

describe("GetMetricData validation (ValidationError)", () => {
  const refused = async (
    input: Partial<GetMetricDataCommandInput>,
    queries: MetricDataQuery[],
    message: RegExp,
  ) => {
    await expect(get(queries, input)).rejects.toMatchObject({
      name: "ValidationException",
      Code: "ValidationError",
      message: expect.stringMatching(message),
      $metadata: { httpStatusCode: 400 },
    });
  };

  /**
   * A query AWS's model does not allow (botocore cloudwatch 2010-08-01): the model check refuses it before the
   * stand-in sees it, as CloudWatch answers a request that fails its model validation: 400 ValidationError
   * (query-compatible code) with AWS's "1 validation error detected" message naming the member.
   */
  const refusedByTheModel = async (queries: MetricDataQuery[], member: string, constraint: RegExp) => {
    const { error } = await refusedByModel(() => get(queries));
    expectModelValidationError(error, member, constraint);
  };

  it("[cloudwatch.max-500-queries] needs 1 to 500 queries", async () => {
    const id = distribution();
    await refused({}, [], /must not be empty/);
    const many = Array.from({ length: 501 }, (_, i) => query(id, { Id: `q${i}` }));
    await refused({}, many, /greater than 500/);
    const out = await get(many.slice(0, 500));
    expect(out.MetricDataResults).toHaveLength(500);
  });

  it.each(["Errors", "5xx", "_errors", "errors-5xx"])(
    "[cloudwatch.query-id-rules] refuses the query Id %j",
    async (badId) => {
      await refused({}, [query(distribution(), { Id: badId })], /expected pattern/);
    },
  );

  it('[cloudwatch.query-id-rules] refuses the empty query Id "": AWS\'s model refuses it first (MetricId: min length 1), ValidationError', async () => {
    // The stand-in's own "Id is required" check is not reached: the model check answers first.
    await refusedByTheModel(
      [query(distribution(), { Id: "" })],
      "metricDataQueries.1.member.id",
      /Member must have length greater than or equal to 1/,
    );
  });

  it("[cloudwatch.query-id-rules] refuses duplicate query Ids", async () => {
    const id = distribution();
    await refused({}, [query(id), query(id)], /errors .*not unique/);
  });

  it.each([59, 61, 90, 2, 15])("[cloudwatch.period-values] refuses Period %i", async (period) => {
    await refused({}, [query(distribution(), {}, "Average", period)], /Period/);
  });

  it("[cloudwatch.period-values] refuses Period 0: AWS's model refuses it first (Period: min 1), ValidationError", async () => {
    await refusedByTheModel(
      [query(distribution(), {}, "Average", 0)],
      "metricDataQueries.1.member.metricStat.period",
      /Member must have value greater than or equal to 1/,
    );
  });

  it.each([1, 5, 10, 20, 30, 60, 120, 3600])(
    "[cloudwatch.period-values] accepts Period %i (AWS: 1, 5, 10, 20, 30, 60 or a multiple of 60)",
    async (period) => {
      await expect(get([query(distribution(), {}, "Average", period)])).resolves.toBeDefined();
    },
  );

  it("[cloudwatch.start-before-end] needs StartTime before EndTime", async () => {
    const id = distribution();
    await refused(
      { StartTime: at(0), EndTime: at(0) },
      [query(id)],
      /StartTime must not equal parameter EndTime/,
    );
    await refused(
      { StartTime: at(0), EndTime: at(-5) },
      [query(id)],
      /EndTime must be greater than StartTime/,
    );
  });

  it("refuses an unknown statistic", async () => {
    await refused({}, [query(distribution(), {}, "Avg")], /not a valid statistic/);
  });

  it("[cloudwatch.not-modelled] answers 501 NotImplemented for metric math and percentiles, and InvalidNextToken for any token", async () => {
    const id = distribution();
    // NotImplemented is the stand-in's own refusal of what it does not model; GetMetricData declares only
    // InvalidNextToken, so the model check records the undeclared code: declared intended here.
    const { violations } = await withIntendedViolations(async () => {
      await expect(get([{ Id: "e1", Expression: "SUM(METRICS())" }])).rejects.toMatchObject({
        name: "NotImplemented",
        $metadata: { httpStatusCode: 501 },
      });
      await expect(get([query(id, {}, "p99")])).rejects.toMatchObject({ name: "NotImplemented" });
    });
    expect(violations.map((v) => [v.operation, v.direction, v.violations[0]?.value])).toEqual([
      ["GetMetricData", "error", "'NotImplemented'"],
      ["GetMetricData", "error", "'NotImplemented'"],
    ]);
    await expect(get([query(id)], { NextToken: "abc" })).rejects.toMatchObject({
      name: "InvalidNextToken",
      Code: "InvalidNextToken",
    });
  });
});

describe("PutMetricData", () => {
  it("stores Value, Values/Counts and StatisticValues datapoints that GetMetricData aggregates", async () => {
    const dims = [{ Name: "Distribution", Value: distribution() }];
    await put({
      MetricData: [
        { MetricName: "OriginProbeMs", Dimensions: dims, Value: 10, Timestamp: at(-4), Unit: "Milliseconds" },
        {
          MetricName: "OriginProbeMs",
          Dimensions: dims,
          Values: [20, 30],
          Counts: [1, 2],
          Timestamp: at(-4),
          Unit: "Milliseconds",
        },
        {
          MetricName: "OriginProbeMs",
          Dimensions: dims,
          StatisticValues: { SampleCount: 2, Sum: 8, Minimum: 3, Maximum: 5 },
          Timestamp: at(-3),
          Unit: "Milliseconds",
        },
      ],
    });
    const q = (stat: string, id: string): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: "MtlsRotator", MetricName: "OriginProbeMs", Dimensions: dims },
        Period: 300,
        Stat: stat,
      },
    });
    const out = await get(
      [q("Sum", "s"), q("SampleCount", "n"), q("Minimum", "lo"), q("Maximum", "hi"), q("Average", "avg")],
      {
        StartTime: at(-5),
        EndTime: at(0),
      },
    );
    expect(out.MetricDataResults?.map((r) => [r.Id, r.Values])).toEqual([
      ["s", [10 + 20 + 60 + 8]],
      ["n", [6]],
      ["lo", [3]],
      ["hi", [30]],
      ["avg", [98 / 6]],
    ]);
    expect(s.cloudwatch.datapoints("MtlsRotator", "OriginProbeMs", dims)).toHaveLength(4);
  });

  it("filters by Unit when a query names one", async () => {
    const dims = [{ Name: "Distribution", Value: distribution() }];
    await put({
      MetricData: [
        { MetricName: "Latency", Dimensions: dims, Value: 1, Unit: "Seconds", Timestamp: at(-2) },
        { MetricName: "Latency", Dimensions: dims, Value: 500, Unit: "Milliseconds", Timestamp: at(-2) },
      ],
    });
    const out = await get([
      {
        Id: "ms",
        MetricStat: {
          Metric: { Namespace: "MtlsRotator", MetricName: "Latency", Dimensions: dims },
          Period: 60,
          Stat: "Sum",
          Unit: "Milliseconds",
        },
      },
    ]);
    expect(out.MetricDataResults?.[0]?.Values).toEqual([500]);
  });

  it("[cloudwatch.aws-namespace-reserved] refuses AWS/ namespaces: those are written by AWS services (InvalidParameterValue)", async () => {
    await expect(
      put({
        Namespace: "AWS/CloudFront",
        MetricData: [{ MetricName: "5xxErrorRate", Value: 50, Timestamp: at(-1) }],
      }),
    ).rejects.toMatchObject({
      name: "InvalidParameterValueException",
      Code: "InvalidParameterValue",
      message: "The value AWS/CloudFront for parameter Namespace is invalid.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it.each<[string, Partial<PutMetricDataCommandInput>, string, string]>([
    ["no MetricData", { MetricData: [] }, "MissingRequiredParameterException", "MissingParameter"],
    [
      "no value",
      { MetricData: [{ MetricName: "m" }] },
      "MissingRequiredParameterException",
      "MissingParameter",
    ],
    [
      "Value and StatisticValues together",
      {
        MetricData: [
          { MetricName: "m", Value: 1, StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 } },
        ],
      },
      "InvalidParameterCombinationException",
      "InvalidParameterCombination",
    ],
    [
      "a NaN value",
      { MetricData: [{ MetricName: "m", Value: Number.NaN }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "an infinite value",
      { MetricData: [{ MetricName: "m", Value: Number.POSITIVE_INFINITY }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "a value beyond 2^360",
      { MetricData: [{ MetricName: "m", Value: 2 ** 361 }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "a timestamp more than two weeks old",
      { MetricData: [{ MetricName: "m", Value: 1, Timestamp: at(-15 * 24 * 60) }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "a timestamp more than two hours ahead",
      { MetricData: [{ MetricName: "m", Value: 1, Timestamp: at(121) }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "Values and Counts of different sizes",
      { MetricData: [{ MetricName: "m", Values: [1, 2], Counts: [1] }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
    [
      "StorageResolution 30",
      { MetricData: [{ MetricName: "m", Value: 1, StorageResolution: 30 }] },
      "InvalidParameterValueException",
      "InvalidParameterValue",
    ],
  ])("[cloudwatch.put-datum-rules] refuses %s", async (_, input, name, code) => {
    const namespace = `Refused${++counter}`;
    await expect(put({ Namespace: namespace, ...input })).rejects.toMatchObject({
      name,
      Code: code,
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.cloudwatch.datapoints(namespace, "m", [])).toEqual([]);
  });

  // What AWS's model already refuses (botocore cloudwatch 2010-08-01: PutMetricDataInput requires Namespace,
  // MetricDatum requires MetricName, Dimensions max 30, DimensionValue min length 1, Unit is the StandardUnit
  // enum): the model check answers first, as CloudWatch answers a request that fails its model validation,
  // 400 ValidationError naming the member. The stand-in's own MissingParameter / InvalidParameterValue checks
  // of these rules are not reached; nothing is stored.
  it.each<[string, Partial<PutMetricDataCommandInput>, string, RegExp]>([
    ["no Namespace", { Namespace: undefined }, "namespace", /Member must not be null/],
    [
      "no MetricName",
      { MetricData: [{ Value: 1, MetricName: undefined }] },
      "metricData.1.member.metricName",
      /Member must not be null/,
    ],
    [
      "31 dimensions",
      {
        MetricData: [
          {
            MetricName: "m",
            Value: 1,
            Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: "v" })),
          },
        ],
      },
      "metricData.1.member.dimensions",
      /Member must have length less than or equal to 30/,
    ],
    [
      "an empty dimension value",
      { MetricData: [{ MetricName: "m", Value: 1, Dimensions: [{ Name: "d", Value: "" }] }] },
      "metricData.1.member.dimensions.1.member.value",
      /Member must have length greater than or equal to 1/,
    ],
    [
      "an unknown Unit",
      { MetricData: [{ MetricName: "m", Value: 1, Unit: "Furlongs" as "Count" }] },
      "metricData.1.member.unit",
      /Member must satisfy enum value set: \[Seconds, .*, None\]/,
    ],
  ])(
    "[cloudwatch.put-datum-rules] refuses %s: AWS's model refuses it first (ValidationError)",
    async (_, input, member, constraint) => {
      const namespace = `Refused${++counter}`;
      const { error } = await refusedByModel(() => put({ Namespace: namespace, ...input }));
      expectModelValidationError(error, member, constraint);
      expect(s.server.calls.at(-1)).toMatchObject({
        operation: "PutMetricData",
        status: 400,
        error: "ValidationError",
      });
      for (const name of ["m", "WaveDuration"]) {
        expect(s.cloudwatch.datapoints(namespace, name, [])).toEqual([]);
      }
    },
  );

  it("[cloudwatch.put-datum-rules] stores nothing from a request with one bad datum", async () => {
    const dims = [{ Name: "Distribution", Value: distribution() }];
    await expect(
      put({
        MetricData: [
          { MetricName: "Good", Dimensions: dims, Value: 1, Timestamp: at(-1) },
          { MetricName: "Bad", Dimensions: dims, Value: Number.NaN, Timestamp: at(-1) },
        ],
      }),
    ).rejects.toMatchObject({ name: "InvalidParameterValueException" });
    expect(s.cloudwatch.datapoints("MtlsRotator", "Good", dims)).toEqual([]);
  });
});

describe("server integration", () => {
  it("[cloudwatch.throttling] answers an injected throttle as CloudWatch does (Throttling), which the SDK retries", async () => {
    s.server.faults.inject({ service: "monitoring", operation: "GetMetricData", kind: "throttle" });
    await expect(get([query(distribution())])).rejects.toMatchObject({
      name: "Throttling",
      Code: "Throttling",
      $metadata: { httpStatusCode: 400 },
    });
    s.server.faults.inject({ service: "monitoring", operation: "GetMetricData", kind: "throttle" });
    const out = await get([query(distribution())], {}, s.clients().cloudwatch);
    expect(out.$metadata.attempts).toBe(2);
  });
});
