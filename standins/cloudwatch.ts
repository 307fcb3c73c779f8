/**
 * Amazon CloudWatch (metrics) stand-in, served to the real `@aws-sdk/client-cloudwatch` over loopback HTTP.
 *
 * Wire protocol: the 3.1162.0 client speaks awsJson1_0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`,
 * JSON bodies, timestamps as epoch seconds) with the awsQueryCompatible trait (`x-amzn-query-mode: true`):
 * errors carry their classic query code in `x-amzn-query-error` (the server adds it), so the SDK raises e.g.
 * InvalidParameterValueException with `Code: "InvalidParameterValue"`. Service name for faults and the call
 * log: "monitoring" (CloudWatch's signing name, like "acm-pca" for Private CA).
 *
 * Datapoints are stored per region, namespace, metric name and exact dimension set: a query must name the
 * same dimensions as were published (AWS/CloudFront `5xxErrorRate` needs `DistributionId` AND
 * `Region=Global`), and AWS/CloudFront metrics exist only in us-east-1. AWS/* namespaces are written by AWS
 * services, never by PutMetricData; tests feed them with `record()`.
 *
 * Rules enforced:
 * - PutMetricData: Namespace required, not `AWS/...`; 1..1000 MetricData; MetricName required; at most 30
 *   dimensions with non-empty names and values and no duplicate names; exactly one of Value, Values (+Counts)
 *   and StatisticValues; values finite and within ±2^360; a valid Unit; StorageResolution 1 or 60; Timestamp
 *   no more than two weeks in the past or two hours in the future (InvalidParameterValue /
 *   MissingParameter / InvalidParameterCombination / ValidationError as CloudWatch names them).
 * - GetMetricData (ValidationError): 1..500 queries; Ids unique and matching ^[a-z][a-zA-Z0-9_]*$; each query
 *   has a MetricStat with Namespace, MetricName, a Period of 1, 5, 10, 20, 30 or a multiple of 60, and a Stat of
 *   Average, Sum, Minimum, Maximum or SampleCount; StartTime before EndTime (and not equal).
 * - Aggregation: Period buckets aligned to StartTime (rounded down to the minute, or to the second for
 *   high-resolution periods), datapoints in [StartTime, EndTime), empty buckets omitted, newest first unless
 *   ScanBy=TimestampAscending; StatusCode Complete; ReturnData=false queries are omitted.
 * Not modelled (501 NotImplemented, never silently wrong): metric math Expressions, percentile and trimmed
 * statistics. A NextToken is always invalid (the stand-in answers everything in one page).
 */
import { AwsError, type JsonService, type StandinRequest } from "./protocol.ts";

export type DimensionMap = Record<string, string>;
export type DimensionList = Array<{ Name: string; Value: string }>;

/** Statistics the stand-in computes. */
export const STATISTICS = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"] as const;
export type Statistic = (typeof STATISTICS)[number];

/** CloudWatch's StandardUnit values. */
export const UNITS: readonly string[] = [
  "Seconds",
  "Microseconds",
  "Milliseconds",
  "Bytes",
  "Kilobytes",
  "Megabytes",
  "Gigabytes",
  "Terabytes",
  "Bits",
  "Kilobits",
  "Megabits",
  "Gigabits",
  "Terabits",
  "Percent",
  "Count",
  "Bytes/Second",
  "Kilobytes/Second",
  "Megabytes/Second",
  "Gigabytes/Second",
  "Terabytes/Second",
  "Bits/Second",
  "Kilobits/Second",
  "Megabits/Second",
  "Gigabits/Second",
  "Terabits/Second",
  "Count/Second",
  "None",
];

const MAX_QUERIES = 500;
const MAX_METRIC_DATA = 1000;
const MAX_DIMENSIONS = 30;
const MAX_VALUES = 150;
const TWO_WEEKS_MS = 14 * 24 * 3600_000;
const TWO_HOURS_MS = 2 * 3600_000;
const VALUE_LIMIT = 2 ** 360;
const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;

/** One stored aggregate: a single value is { sum: v, count: 1, min: v, max: v }. */
export interface Datapoint {
  timestamp: Date;
  sum: number;
  sampleCount: number;
  minimum: number;
  maximum: number;
  unit: string;
  /** When GetMetricData starts to return it. */
  visibleAt: Date;
}

/** Samples aggregated into one datapoint (PutMetricData's StatisticValues). */
export interface StatisticSet {
  sum: number;
  /** How many samples (> 0). */
  sampleCount: number;
  minimum: number;
  maximum: number;
}

/** The set, or a RangeError when it cannot describe any samples (min > max, a mean outside them...). */
function checkedStatisticSet(set: StatisticSet): StatisticSet {
  const { sum, sampleCount, minimum, maximum } = set;
  const finite = [sum, sampleCount, minimum, maximum].every(Number.isFinite);
  // A little slack for the mean's rounding (sum / count of floating-point samples).
  const slack = 1e-9 * Math.max(1, Math.abs(minimum), Math.abs(maximum));
  if (
    !finite ||
    sampleCount <= 0 ||
    minimum > maximum ||
    sum / sampleCount < minimum - slack ||
    sum / sampleCount > maximum + slack
  )
    throw new RangeError(
      `not a statistic set: sum ${sum}, sampleCount ${sampleCount}, minimum ${minimum}, maximum ${maximum}`,
    );
  return set;
}

interface StoredPoint {
  at: number;
  /** When GetMetricData starts to see it (stand-in clock, ms; 0: at once). */
  visibleAt: number;
  sum: number;
  count: number;
  min: number;
  max: number;
  unit: string;
}

/**
 * How long after its timestamp an AWS/* datapoint (CloudFront's 5xxErrorRate) becomes visible, by default.
 * ASSUMED: neither the CloudFront developer guide (programming-cloudwatch-metrics: namespace, dimensions,
 * statistics) nor the CloudWatch API reference documents how late AWS services publish their metrics; the
 * design notes only that CloudFront's metrics reach CloudWatch "minutes after the fact". Three minutes after
 * the datapoint's timestamp (the one-minute period itself plus about two minutes of publication latency,
 * what monitoring vendors report for one-minute CloudWatch metrics) is the assumption; tests that run in real
 * time and the sandbox pass a short delay instead.
 */
export const DEFAULT_AWS_METRICS_DELAY_MS = 3 * 60_000;

export interface CloudWatchStandinOptions {
  /** Clock for PutMetricData's default timestamp and its two-weeks / two-hours window, and for visibility. */
  now?: () => Date;
  /**
   * AWS/* datapoints fed with `record()` become visible to GetMetricData this long after their timestamp
   * (default DEFAULT_AWS_METRICS_DELAY_MS; 0: at their timestamp).
   */
  awsMetricsDelayMs?: number;
}

export class CloudWatchStandin implements JsonService {
  readonly service = "monitoring";
  readonly targetPrefix = "GraniteServiceVersion20100801";
  readonly #series = new Map<string, StoredPoint[]>();
  readonly #now: () => Date;
  readonly #awsDelayMs: number;

  constructor(options: CloudWatchStandinOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    const delay = options.awsMetricsDelayMs ?? DEFAULT_AWS_METRICS_DELAY_MS;
    if (!Number.isFinite(delay) || delay < 0)
      throw new RangeError(`awsMetricsDelayMs must be >= 0, got ${delay}`);
    this.#awsDelayMs = delay;
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  /**
   * Feeds one datapoint without HTTP and without PutMetricData's checks: how tests publish AWS/* metrics
   * (e.g. AWS/CloudFront 5xxErrorRate with { DistributionId, Region: "Global" }) as the services would. An
   * AWS/* datapoint becomes visible to GetMetricData `awsMetricsDelayMs` after its timestamp `at`.
   *
   * `value` is one sample, or a statistic set (PutMetricData's StatisticValues): many samples aggregated,
   * e.g. a whole minute of a distribution's requests, weighing `sampleCount` samples in every statistic.
   */
  record(
    namespace: string,
    metricName: string,
    dimensions: DimensionMap | DimensionList,
    value: number | StatisticSet,
    at: Date,
    options: { unit?: string; region?: string } = {},
  ): void {
    const set =
      typeof value === "number"
        ? { sum: value, sampleCount: 1, minimum: value, maximum: value }
        : checkedStatisticSet(value);
    this.#store(options.region ?? "us-east-1", namespace, metricName, toList(dimensions), {
      at: at.getTime(),
      visibleAt: namespace.startsWith("AWS/") ? at.getTime() + this.#awsDelayMs : 0,
      sum: set.sum,
      count: set.sampleCount,
      min: set.minimum,
      max: set.maximum,
      unit: options.unit ?? "None",
    });
  }

  /** Stored datapoints of one metric (exact dimension set), oldest first, visible to GetMetricData or not yet. */
  datapoints(
    namespace: string,
    metricName: string,
    dimensions: DimensionMap | DimensionList,
    region = "us-east-1",
  ): Datapoint[] {
    const points = this.#series.get(seriesKey(region, namespace, metricName, toList(dimensions))) ?? [];
    return [...points]
      .sort((a, b) => a.at - b.at)
      .map((p) => ({
        timestamp: new Date(p.at),
        visibleAt: new Date(p.visibleAt),
        sum: p.sum,
        sampleCount: p.count,
        minimum: p.min,
        maximum: p.max,
        unit: p.unit,
      }));
  }

  // ---- JsonService --------------------------------------------------------------------------------------

  handle(operation: string, input: Record<string, unknown>, request: StandinRequest): unknown {
    const region = request.region ?? "us-east-1";
    switch (operation) {
      case "PutMetricData":
        this.#put(input, region);
        return {};
      case "GetMetricData":
        return this.#get(input, region);
      default:
        throw new AwsError("UnknownOperationException", `stand-in does not implement ${operation}`);
    }
  }

  // ---- PutMetricData ------------------------------------------------------------------------------------

  #put(input: Record<string, unknown>, region: string): void {
    const namespace = input.Namespace;
    if (typeof namespace !== "string" || namespace === "") {
      throw new AwsError("MissingParameter", "The parameter Namespace is required.");
    }
    if (namespace.length > 255 || namespace.startsWith(":") || namespace.startsWith("AWS/")) {
      throw new AwsError(
        "InvalidParameterValue",
        `The value ${namespace} for parameter Namespace is invalid.`,
      );
    }
    const data = input.MetricData;
    if (!Array.isArray(data) || data.length === 0) {
      throw new AwsError("MissingParameter", "The parameter MetricData is required.");
    }
    if (data.length > MAX_METRIC_DATA) {
      throw new AwsError(
        "InvalidParameterValue",
        `The collection MetricData must not have a size greater than ${MAX_METRIC_DATA}.`,
      );
    }
    const now = this.#now().getTime();
    // Validate everything first: a rejected request stores nothing.
    const accepted = data.map((datum, i) => readDatum(datum, `MetricData.member.${i + 1}`, now));
    for (const d of accepted) {
      for (const point of d.points) this.#store(region, namespace, d.metricName, d.dimensions, point);
    }
  }

  #store(
    region: string,
    namespace: string,
    metricName: string,
    dimensions: DimensionList,
    point: StoredPoint,
  ) {
    const key = seriesKey(region, namespace, metricName, dimensions);
    const points = this.#series.get(key) ?? [];
    points.push(point);
    this.#series.set(key, points);
  }

  // ---- GetMetricData ------------------------------------------------------------------------------------

  #get(input: Record<string, unknown>, region: string) {
    if (input.NextToken !== undefined) {
      throw new AwsError("InvalidNextToken", "The service returned an invalid NextToken.");
    }
    const queries = input.MetricDataQueries;
    if (!Array.isArray(queries) || queries.length === 0) {
      throw new AwsError("ValidationError", "The collection MetricDataQueries must not be empty.");
    }
    if (queries.length > MAX_QUERIES) {
      throw new AwsError(
        "ValidationError",
        `The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`,
      );
    }
    const start = timeOf(input.StartTime, "StartTime");
    const end = timeOf(input.EndTime, "EndTime");
    if (start === end) {
      throw new AwsError("ValidationError", "The parameter StartTime must not equal parameter EndTime.");
    }
    if (start > end) {
      throw new AwsError("ValidationError", "The parameter EndTime must be greater than StartTime.");
    }
    const scanBy = input.ScanBy ?? "TimestampDescending";
    if (scanBy !== "TimestampDescending" && scanBy !== "TimestampAscending") {
      throw new AwsError("ValidationError", `The value ${String(scanBy)} for parameter ScanBy is invalid.`);
    }

    const seen = new Set<string>();
    const parsed = queries.map((q, i) => {
      const query = readQuery(q, `MetricDataQueries.member.${i + 1}`);
      if (seen.has(query.id)) {
        throw new AwsError(
          "ValidationError",
          `The value ${query.id} for parameter MetricDataQueries.member.${i + 1}.Id is not unique.`,
        );
      }
      seen.add(query.id);
      return query;
    });

    // Only what has been published by now [cloudwatch.cloudfront-metrics-delay].
    const now = this.#now().getTime();
    const results = parsed
      .filter((q) => q.returnData)
      .map((q) => {
        const points = (
          this.#series.get(seriesKey(region, q.namespace, q.metricName, q.dimensions)) ?? []
        ).filter((p) => p.visibleAt <= now && (q.unit === undefined || p.unit === q.unit));
        const buckets = aggregate(points, start, end, q.period, q.stat);
        if (scanBy === "TimestampDescending") buckets.reverse();
        return {
          Id: q.id,
          Label: q.label ?? q.metricName,
          Timestamps: buckets.map((b) => b.at / 1000),
          Values: buckets.map((b) => b.value),
          StatusCode: "Complete",
        };
      });
    return { MetricDataResults: results, Messages: [] };
  }
}

// ---- PutMetricData input ----------------------------------------------------------------------------------

function readDatum(
  raw: unknown,
  path: string,
  now: number,
): { metricName: string; dimensions: DimensionList; points: StoredPoint[] } {
  const datum = asRecord(raw, path);
  const metricName = datum.MetricName;
  if (typeof metricName !== "string" || metricName === "") {
    throw new AwsError("MissingParameter", `The parameter ${path}.MetricName is required.`);
  }
  if (metricName.length > 255) {
    throw new AwsError("InvalidParameterValue", `The value for parameter ${path}.MetricName is too long.`);
  }
  const dimensions = readDimensions(datum.Dimensions, `${path}.Dimensions`, "InvalidParameterValue");

  const unit = datum.Unit ?? "None";
  if (typeof unit !== "string" || !UNITS.includes(unit)) {
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value '${String(unit)}' at '${path}.Unit' failed to satisfy constraint: Member must satisfy enum value set: [${UNITS.join(", ")}]`,
    );
  }
  const resolution = datum.StorageResolution ?? 60;
  if (resolution !== 1 && resolution !== 60) {
    throw new AwsError(
      "InvalidParameterValue",
      `The value ${String(resolution)} for parameter ${path}.StorageResolution is invalid.`,
    );
  }
  const at = datum.Timestamp === undefined ? now : timeOf(datum.Timestamp, `${path}.Timestamp`);
  if (at < now - TWO_WEEKS_MS || at > now + TWO_HOURS_MS) {
    throw new AwsError(
      "InvalidParameterValue",
      `The parameter ${path}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.`,
    );
  }

  const given = (["Value", "Values", "StatisticValues"] as const).filter((k) => datum[k] !== undefined);
  if (given.length === 0) throw new AwsError("MissingParameter", `The parameter ${path}.Value is required.`);
  if (given.length > 1) {
    throw new AwsError(
      "InvalidParameterCombination",
      `The parameters ${path}.${given[0]} and ${path}.${given[1]} are mutually exclusive and you have specified both.`,
    );
  }
  const points: StoredPoint[] = [];
  if (given[0] === "Value") {
    const v = finite(datum.Value, `${path}.Value`);
    points.push({ at, visibleAt: 0, sum: v, count: 1, min: v, max: v, unit });
  } else if (given[0] === "Values") {
    const values = datum.Values;
    const counts = datum.Counts;
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_VALUES) {
      throw new AwsError(
        "InvalidParameterValue",
        `The collection ${path}.Values must have between 1 and ${MAX_VALUES} members.`,
      );
    }
    if (counts !== undefined && (!Array.isArray(counts) || counts.length !== values.length)) {
      throw new AwsError(
        "InvalidParameterValue",
        `The parameters ${path}.Values and ${path}.Counts must be of the same size.`,
      );
    }
    values.forEach((raw, i) => {
      const v = finite(raw, `${path}.Values.member.${i + 1}`);
      const c = counts === undefined ? 1 : finite(counts[i], `${path}.Counts.member.${i + 1}`);
      if (c <= 0) {
        throw new AwsError(
          "InvalidParameterValue",
          `The value ${c} for parameter ${path}.Counts is invalid.`,
        );
      }
      points.push({ at, visibleAt: 0, sum: v * c, count: c, min: v, max: v, unit });
    });
  } else {
    const stats = asRecord(datum.StatisticValues, `${path}.StatisticValues`);
    const field = (name: string) => {
      if (stats[name] === undefined) {
        throw new AwsError("MissingParameter", `The parameter ${path}.StatisticValues.${name} is required.`);
      }
      return finite(stats[name], `${path}.StatisticValues.${name}`);
    };
    const count = field("SampleCount");
    const sum = field("Sum");
    const min = field("Minimum");
    const max = field("Maximum");
    if (count <= 0 || min > max) {
      throw new AwsError("InvalidParameterValue", `The parameter ${path}.StatisticValues is inconsistent.`);
    }
    points.push({ at, visibleAt: 0, sum, count, min, max, unit });
  }
  return { metricName, dimensions, points };
}

function finite(raw: unknown, path: string): number {
  // The SDK sends NaN and the infinities as the strings "NaN", "Infinity", "-Infinity".
  const value = typeof raw === "number" ? raw : Number.NaN;
  if (
    !Number.isFinite(value) ||
    Math.abs(value) > VALUE_LIMIT ||
    (value !== 0 && Math.abs(value) < 1 / VALUE_LIMIT)
  ) {
    throw new AwsError("InvalidParameterValue", `The value ${String(raw)} for parameter ${path} is invalid.`);
  }
  return value;
}

// ---- GetMetricData input ----------------------------------------------------------------------------------

interface MetricQuery {
  id: string;
  label?: string;
  returnData: boolean;
  namespace: string;
  metricName: string;
  dimensions: DimensionList;
  period: number;
  stat: Statistic;
  unit?: string;
}

function readQuery(raw: unknown, path: string): MetricQuery {
  const query = asRecord(raw, path);
  const id = query.Id;
  if (typeof id !== "string" || id === "")
    throw new AwsError("ValidationError", `The parameter ${path}.Id is required.`);
  if (id.length > 255 || !QUERY_ID.test(id)) {
    throw new AwsError(
      "ValidationError",
      `The value ${id} for parameter ${path}.Id is not matching the expected pattern ${QUERY_ID.source}.`,
    );
  }
  if (query.Expression !== undefined) {
    if (query.MetricStat !== undefined) {
      throw new AwsError(
        "ValidationError",
        `The parameters ${path}.MetricStat and ${path}.Expression are mutually exclusive and you have specified both.`,
      );
    }
    throw new AwsError("NotImplemented", "The stand-in does not evaluate metric math expressions.", 501);
  }
  if (query.MetricStat === undefined) {
    throw new AwsError(
      "ValidationError",
      `Exactly one of ${path}.MetricStat or ${path}.Expression is required.`,
    );
  }
  const stat = asRecord(query.MetricStat, `${path}.MetricStat`);
  const metric = asRecord(stat.Metric, `${path}.MetricStat.Metric`);
  const namespace = metric.Namespace;
  const metricName = metric.MetricName;
  if (typeof namespace !== "string" || namespace === "") {
    throw new AwsError("ValidationError", `The parameter ${path}.MetricStat.Metric.Namespace is required.`);
  }
  if (typeof metricName !== "string" || metricName === "") {
    throw new AwsError("ValidationError", `The parameter ${path}.MetricStat.Metric.MetricName is required.`);
  }
  const dimensions = readDimensions(
    metric.Dimensions,
    `${path}.MetricStat.Metric.Dimensions`,
    "ValidationError",
  );
  const period = stat.Period;
  if (
    typeof period !== "number" ||
    !Number.isInteger(period) ||
    period <= 0 ||
    (period % 60 !== 0 && ![1, 5, 10, 20, 30].includes(period))
  ) {
    throw new AwsError(
      "ValidationError",
      `The value ${String(period)} for parameter ${path}.MetricStat.Period is invalid: use 1, 5, 10, 20, 30 or a multiple of 60.`,
    );
  }
  const statistic = stat.Stat;
  if (typeof statistic !== "string" || !(STATISTICS as readonly string[]).includes(statistic)) {
    if (typeof statistic === "string" && /^(p|tm|wm|tc|ts|pr|iqm)/i.test(statistic)) {
      throw new AwsError("NotImplemented", `The stand-in does not compute the statistic ${statistic}.`, 501);
    }
    throw new AwsError(
      "ValidationError",
      `The value ${String(statistic)} for parameter ${path}.MetricStat.Stat is not a valid statistic.`,
    );
  }
  const unit = stat.Unit;
  if (unit !== undefined && (typeof unit !== "string" || !UNITS.includes(unit))) {
    throw new AwsError(
      "ValidationError",
      `The value ${String(unit)} for parameter ${path}.MetricStat.Unit is invalid.`,
    );
  }
  const label = query.Label;
  return {
    id,
    label: typeof label === "string" && label !== "" ? label : undefined,
    returnData: query.ReturnData !== false,
    namespace,
    metricName,
    dimensions,
    period,
    stat: statistic as Statistic,
    unit: unit as string | undefined,
  };
}

/** Period buckets aligned to StartTime, oldest first; empty buckets are left out as CloudWatch leaves them. */
function aggregate(
  points: StoredPoint[],
  start: number,
  end: number,
  period: number,
  stat: Statistic,
): Array<{ at: number; value: number }> {
  const periodMs = period * 1000;
  const origin = period % 60 === 0 ? Math.floor(start / 60_000) * 60_000 : Math.floor(start / 1000) * 1000;
  const buckets = new Map<number, { sum: number; count: number; min: number; max: number }>();
  for (const p of points) {
    if (p.at < origin || p.at >= end) continue;
    const at = origin + Math.floor((p.at - origin) / periodMs) * periodMs;
    const b = buckets.get(at);
    if (b) {
      b.sum += p.sum;
      b.count += p.count;
      b.min = Math.min(b.min, p.min);
      b.max = Math.max(b.max, p.max);
    } else {
      buckets.set(at, { sum: p.sum, count: p.count, min: p.min, max: p.max });
    }
  }
  return [...buckets]
    .sort(([a], [b]) => a - b)
    .map(([at, b]) => {
      const value =
        stat === "Sum"
          ? b.sum
          : stat === "SampleCount"
            ? b.count
            : stat === "Minimum"
              ? b.min
              : stat === "Maximum"
                ? b.max
                : b.sum / b.count;
      return { at, value };
    });
}

// ---- shared helpers ---------------------------------------------------------------------------------------

function readDimensions(raw: unknown, path: string, code: string): DimensionList {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new AwsError(code, `The parameter ${path} must be a list.`);
  if (raw.length > MAX_DIMENSIONS) {
    throw new AwsError(code, `The collection ${path} must not have a size greater than ${MAX_DIMENSIONS}.`);
  }
  const names = new Set<string>();
  return raw.map((d, i) => {
    const dim = asRecord(d, `${path}.member.${i + 1}`);
    const { Name: name, Value: value } = dim;
    if (typeof name !== "string" || name === "" || name.length > 255) {
      throw new AwsError(code, `The value for parameter ${path}.member.${i + 1}.Name is invalid.`);
    }
    if (typeof value !== "string" || value === "" || value.length > 1024) {
      throw new AwsError(code, `The value for parameter ${path}.member.${i + 1}.Value is invalid.`);
    }
    if (names.has(name)) throw new AwsError(code, `The collection ${path} contains the name ${name} twice.`);
    names.add(name);
    return { Name: name, Value: value };
  });
}

function toList(dimensions: DimensionMap | DimensionList): DimensionList {
  return Array.isArray(dimensions)
    ? dimensions
    : Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));
}

/** A metric is its region, namespace, name and exact set of dimensions (order does not matter). */
function seriesKey(region: string, namespace: string, metricName: string, dimensions: DimensionList): string {
  const dims = [...dimensions].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return JSON.stringify([region, namespace, metricName, dims.map((d) => [d.Name, d.Value])]);
}

function timeOf(raw: unknown, path: string): number {
  // awsJson1_0 sends timestamps as epoch seconds.
  const ms = typeof raw === "number" ? raw * 1000 : typeof raw === "string" ? Date.parse(raw) : Number.NaN;
  if (raw === undefined || raw === null)
    throw new AwsError("MissingParameter", `The parameter ${path} is required.`);
  if (!Number.isFinite(ms))
    throw new AwsError("InvalidParameterValue", `The value for parameter ${path} is invalid.`);
  return ms;
}

function asRecord(raw: unknown, path: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new AwsError("ValidationError", `The parameter ${path} must be a structure.`);
  }
  return raw as Record<string, unknown>;
}
