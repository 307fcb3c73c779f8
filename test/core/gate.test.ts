/**
 * The health gate of one wave: each distribution's 5xx error rate against its pre-rotation baseline (with a
 * noise floor), counted only once enough datapoints arrived after the swap deployed (missing datapoints are
 * "not yet" until the metrics deadline, then fail closed unless onNoData is "pass"), plus synthetic probes;
 * policy validation; the one-line failure description.
 */
import { describe, expect, it } from "vitest";
import {
  boundGateResult,
  DEFAULT_GATE_POLICY,
  describeGateFailure,
  evaluateGate,
  GATE_NAMED_ITEMS,
  type GateInput,
  type GatePolicy,
  gateCounts,
  gatePolicyProblems,
  judgeGate,
  type MetricsReading,
  resolveGatePolicy,
  thresholdFor,
  validateGatePolicy,
} from "../../functions/core/gate.ts";
import type { GateResult, ProbeResult } from "../../functions/core/rotation.ts";

const accepted = (target: string): ProbeResult => ({ target, status: 200, accepted: true });
const refused = (target: string): ProbeResult => ({ target, status: 400, accepted: false });

/** Enough datapoints (the default minDatapoints) at this average rate. */
const ready = (errorRate: number): MetricsReading => ({
  errorRate,
  datapoints: DEFAULT_GATE_POLICY.minDatapoints,
});
/** No datapoint at all (CloudWatch's empty window). */
const NONE: MetricsReading = { errorRate: null, datapoints: 0 };
/** Seconds after the deployment: before and after the default metrics deadline (1200 s). */
const EARLY = 300;
const LATE = DEFAULT_GATE_POLICY.metricsDeadlineSeconds;

describe("evaluateGate: thresholds once every distribution has enough datapoints (floor 1%, +2 points)", () => {
  const cases: Array<{
    name: string;
    input: GateInput;
    passed: boolean;
    /** distributionId -> [threshold, passed] */
    checks: Record<string, [number, boolean]>;
  }> = [
    {
      name: "no baseline: threshold is the increase over zero",
      input: { metrics: { E1: ready(2.01) }, baselines: { E1: null }, probes: [], elapsedSeconds: EARLY },
      passed: false,
      checks: { E1: [2, false] },
    },
    {
      name: "within the floor passes even far above a zero baseline",
      input: {
        metrics: { E1: ready(0.9) },
        baselines: { E1: 0 },
        probes: [],
        elapsedSeconds: EARLY,
        policy: { floorPercent: 1, maxIncreasePoints: 0.1 },
      },
      passed: true,
      checks: { E1: [1, true] },
    },
    {
      name: "just above the floor with a tight increase fails",
      input: {
        metrics: { E1: ready(1.01) },
        baselines: { E1: 0 },
        probes: [],
        elapsedSeconds: EARLY,
        policy: { floorPercent: 1, maxIncreasePoints: 0.1 },
      },
      passed: false,
      checks: { E1: [1, false] },
    },
    {
      name: "baseline + increase: 3% over a 1.5% baseline passes",
      input: { metrics: { E1: ready(3) }, baselines: { E1: 1.5 }, probes: [], elapsedSeconds: EARLY },
      passed: true,
      checks: { E1: [3.5, true] },
    },
    {
      name: "baseline + increase: 3.6% over a 1.5% baseline fails",
      input: { metrics: { E1: ready(3.6) }, baselines: { E1: 1.5 }, probes: [], elapsedSeconds: EARLY },
      passed: false,
      checks: { E1: [3.5, false] },
    },
    {
      name: "exactly at the threshold passes",
      input: { metrics: { E1: ready(4) }, baselines: { E1: 2 }, probes: [], elapsedSeconds: EARLY },
      passed: true,
      checks: { E1: [4, true] },
    },
    {
      name: "exactly at the floor passes",
      input: {
        metrics: { E1: ready(5) },
        baselines: { E1: 0 },
        probes: [],
        elapsedSeconds: EARLY,
        policy: { floorPercent: 5 },
      },
      passed: true,
      checks: { E1: [5, true] },
    },
    {
      name: "one bad distribution fails the wave, the others still pass their own check",
      input: {
        metrics: { E2: ready(0), E1: ready(10), E3: ready(0.5) },
        baselines: { E1: 1, E2: 0, E3: 0 },
        probes: [accepted("E1/a")],
        elapsedSeconds: EARLY,
      },
      passed: false,
      checks: { E1: [3, false], E2: [2, true], E3: [2, true] },
    },
    {
      name: "a refused probe fails the wave even with good metrics",
      input: {
        metrics: { E1: ready(0) },
        baselines: { E1: 0 },
        probes: [accepted("E1/a"), refused("E1/b")],
        elapsedSeconds: EARLY,
      },
      passed: false,
      checks: { E1: [2, true] },
    },
    {
      name: "a probe that got no answer fails the wave",
      input: {
        metrics: {},
        baselines: {},
        probes: [{ target: "E1/a", status: null, accepted: false, error: "ECONNREFUSED" }],
        elapsedSeconds: EARLY,
      },
      passed: false,
      checks: {},
    },
    {
      name: "accepted probes and no distribution to read pass",
      input: { metrics: {}, baselines: {}, probes: [accepted("E1/a")], elapsedSeconds: EARLY },
      passed: true,
      checks: {},
    },
    {
      name: "a policy with explicit undefined fields gets the defaults",
      input: {
        metrics: { E1: ready(0.5) },
        baselines: { E1: 0 },
        probes: [],
        elapsedSeconds: EARLY,
        policy: {
          floorPercent: undefined,
          maxIncreasePoints: undefined,
          minDatapoints: undefined,
          metricsDeadlineSeconds: undefined,
          periodSeconds: undefined,
          onNoData: undefined,
        },
      },
      passed: true,
      checks: { E1: [2, true] },
    },
    {
      name: "a zero policy: any error at all fails",
      input: {
        metrics: { E1: ready(0.01), E2: ready(0) },
        baselines: {},
        probes: [],
        elapsedSeconds: EARLY,
        policy: { floorPercent: 0, maxIncreasePoints: 0 },
      },
      passed: false,
      checks: { E1: [0, false], E2: [0, true] },
    },
  ];

  it.each(cases)("$name", ({ input, passed, checks }) => {
    const result = evaluateGate(input);
    expect(result.passed).toBe(passed);
    expect(result.verdict).toBe(passed ? "passed" : "failed");
    expect(Object.fromEntries(result.checks.map((c) => [c.distributionId, [c.threshold, c.passed]]))).toEqual(
      checks,
    );
    expect(result.probes).toEqual(input.probes);
  });

  it("checks are sorted by distribution and carry rate, baseline, datapoints and reason", () => {
    const result = evaluateGate({
      metrics: { E2: { errorRate: 1, datapoints: 7 }, E1: ready(0) },
      baselines: { E2: 0.25 },
      probes: [],
      elapsedSeconds: EARLY,
    });
    expect(result.checks).toEqual([
      {
        distributionId: "E1",
        errorRate: 0,
        baseline: null,
        threshold: 2,
        datapoints: 5,
        reason: "WithinThreshold",
        passed: true,
      },
      {
        distributionId: "E2",
        errorRate: 1,
        baseline: 0.25,
        threshold: 2.25,
        datapoints: 7,
        reason: "WithinThreshold",
        passed: true,
      },
    ]);
    expect(result.metrics).toEqual({
      minDatapoints: 5,
      deadlineSeconds: 1200,
      periodSeconds: 60,
      elapsedSeconds: 300,
    });
  });
});

describe("evaluateGate: missing datapoints are 'not yet', then fail closed (minDatapoints 5, deadline 1200 s)", () => {
  const cases: Array<{
    name: string;
    metrics: Record<string, MetricsReading>;
    elapsedSeconds: number;
    policy?: GatePolicy;
    probes?: ProbeResult[];
    verdict: "passed" | "failed" | "waiting";
    /** distributionId -> reason */
    reasons: Record<string, string>;
  }> = [
    {
      name: "no datapoint before the deadline: waiting, not passed",
      metrics: { E1: NONE },
      elapsedSeconds: EARLY,
      verdict: "waiting",
      reasons: { E1: "AwaitingDatapoints" },
    },
    {
      name: "no datapoint at the deadline: failed (fail closed by default)",
      metrics: { E1: NONE },
      elapsedSeconds: LATE,
      verdict: "failed",
      reasons: { E1: "TooFewDatapoints" },
    },
    {
      name: "no datapoint long after the deadline, no baseline either: still failed",
      metrics: { E1: NONE },
      elapsedSeconds: LATE * 10,
      verdict: "failed",
      reasons: { E1: "TooFewDatapoints" },
    },
    {
      name: "no datapoint at the deadline with onNoData pass: passed (the probes decide)",
      metrics: { E1: NONE },
      elapsedSeconds: LATE,
      policy: { onNoData: "pass" },
      probes: [accepted("E1/a")],
      verdict: "passed",
      reasons: { E1: "TooFewDatapointsAllowed" },
    },
    {
      name: "onNoData pass does not rescue a refused probe",
      metrics: { E1: NONE },
      elapsedSeconds: LATE,
      policy: { onNoData: "pass" },
      probes: [refused("E1/a")],
      verdict: "failed",
      reasons: { E1: "TooFewDatapointsAllowed" },
    },
    {
      name: "onNoData pass still waits before the deadline",
      metrics: { E1: NONE },
      elapsedSeconds: EARLY,
      policy: { onNoData: "pass" },
      verdict: "waiting",
      reasons: { E1: "AwaitingDatapoints" },
    },
    {
      name: "some datapoints but fewer than minDatapoints, healthy: waiting",
      metrics: { E1: { errorRate: 0, datapoints: 4 } },
      elapsedSeconds: EARLY,
      verdict: "waiting",
      reasons: { E1: "AwaitingDatapoints" },
    },
    {
      name: "fewer than minDatapoints at the deadline: failed",
      metrics: { E1: { errorRate: 0, datapoints: 4 } },
      elapsedSeconds: LATE,
      verdict: "failed",
      reasons: { E1: "TooFewDatapoints" },
    },
    {
      name: "fewer than minDatapoints at the deadline with onNoData pass: judged on what there is",
      metrics: { E1: { errorRate: 0.5, datapoints: 2 } },
      elapsedSeconds: LATE,
      policy: { onNoData: "pass" },
      verdict: "passed",
      reasons: { E1: "TooFewDatapointsAllowed" },
    },
    {
      name: "evidence of harm needs no quorum: one datapoint over the threshold fails at once",
      metrics: { E1: { errorRate: 37.5, datapoints: 1 } },
      elapsedSeconds: EARLY,
      verdict: "failed",
      reasons: { E1: "OverThreshold" },
    },
    {
      name: "one distribution ready, another still without data: waiting",
      metrics: { E1: ready(0), E2: NONE },
      elapsedSeconds: EARLY,
      verdict: "waiting",
      reasons: { E1: "WithinThreshold", E2: "AwaitingDatapoints" },
    },
    {
      name: "one over its threshold while another waits: failed, no need to wait",
      metrics: { E1: ready(9), E2: NONE },
      elapsedSeconds: EARLY,
      verdict: "failed",
      reasons: { E1: "OverThreshold", E2: "AwaitingDatapoints" },
    },
    {
      name: "a refused probe while waiting: failed",
      metrics: { E1: NONE },
      elapsedSeconds: EARLY,
      probes: [refused("E1/a")],
      verdict: "failed",
      reasons: { E1: "AwaitingDatapoints" },
    },
    {
      name: "exactly minDatapoints: ready",
      metrics: { E1: { errorRate: 0, datapoints: 2 } },
      elapsedSeconds: 10,
      policy: { minDatapoints: 2, metricsDeadlineSeconds: 600 },
      verdict: "passed",
      reasons: { E1: "WithinThreshold" },
    },
    {
      name: "a datapoints count without a rate (0) is no data, whatever errorRate says",
      metrics: { E1: { errorRate: 50, datapoints: 0 } },
      elapsedSeconds: LATE,
      verdict: "failed",
      reasons: { E1: "TooFewDatapoints" },
    },
    {
      name: "the deadline counts from the deployment: one second before it is still waiting",
      metrics: { E1: NONE },
      elapsedSeconds: LATE - 1,
      verdict: "waiting",
      reasons: { E1: "AwaitingDatapoints" },
    },
  ];

  it.each(cases)("$name", ({ metrics, elapsedSeconds, policy, probes, verdict, reasons }) => {
    const result = evaluateGate({ metrics, baselines: {}, probes: probes ?? [], elapsedSeconds, policy });
    expect(result.verdict).toBe(verdict);
    expect(result.passed).toBe(verdict === "passed");
    expect(Object.fromEntries(result.checks.map((c) => [c.distributionId, c.reason]))).toEqual(reasons);
  });

  it("a gate with no datapoints does not pass by default, at any time", () => {
    for (const elapsedSeconds of [0, 1, EARLY, LATE - 1, LATE, LATE + 3600]) {
      const result = evaluateGate({
        metrics: { E1: NONE },
        baselines: { E1: 0 },
        probes: [],
        elapsedSeconds,
      });
      expect(result.passed, `${elapsedSeconds} s after the deployment`).toBe(false);
    }
  });
});

describe("thresholdFor", () => {
  it.each([
    { baseline: null, expected: 2 },
    { baseline: 0, expected: 2 },
    { baseline: 0.5, expected: 2.5 },
    { baseline: 10, expected: 12 },
  ])("baseline $baseline -> $expected (default policy)", ({ baseline, expected }) => {
    expect(thresholdFor(baseline, DEFAULT_GATE_POLICY)).toBe(expected);
  });

  it("the floor wins over a low baseline", () => {
    expect(thresholdFor(0, { floorPercent: 5, maxIncreasePoints: 1 })).toBe(5);
  });
});

describe("gate policy validation", () => {
  const invalid: Array<{ name: string; policy: GatePolicy; message: string }> = [
    {
      name: "negative increase",
      policy: { maxIncreasePoints: -1 },
      message: "gate.maxIncreasePoints must be a percentage from 0 to 100, got -1",
    },
    {
      name: "increase over 100",
      policy: { maxIncreasePoints: 101 },
      message: "gate.maxIncreasePoints must be a percentage from 0 to 100, got 101",
    },
    {
      name: "NaN floor",
      policy: { floorPercent: Number.NaN },
      message: "gate.floorPercent must be a percentage from 0 to 100, got NaN",
    },
    {
      name: "infinite floor",
      policy: { floorPercent: Number.POSITIVE_INFINITY },
      message: "gate.floorPercent must be a percentage from 0 to 100, got Infinity",
    },
    {
      name: "zero datapoints (nothing to wait for would pass on no evidence)",
      policy: { minDatapoints: 0 },
      message: "gate.minDatapoints must be a whole number >= 1, got 0",
    },
    {
      name: "a fraction of a datapoint",
      policy: { minDatapoints: 1.5 },
      message: "gate.minDatapoints must be a whole number >= 1, got 1.5",
    },
    {
      name: "a period CloudWatch does not serve",
      policy: { periodSeconds: 45 },
      message: "gate.periodSeconds must be 1, 5, 10, 30 or a multiple of 60 (CloudWatch periods), got 45",
    },
    {
      name: "a negative deadline",
      policy: { metricsDeadlineSeconds: -1 },
      message: "gate.metricsDeadlineSeconds must be a whole number of seconds >= 0, got -1",
    },
    {
      name: "an unknown onNoData",
      policy: { onNoData: "ignore" as "pass" },
      message: 'gate.onNoData must be "fail" or "pass", got ignore',
    },
  ];

  it.each(invalid)("refuses $name", ({ policy, message }) => {
    expect(() => validateGatePolicy(policy)).toThrow(new RangeError(message));
    expect(() => evaluateGate({ metrics: {}, baselines: {}, probes: [], elapsedSeconds: 0, policy })).toThrow(
      RangeError,
    );
  });

  it("refuses a deadline too short for minDatapoints when no data fails (every gate would fail)", () => {
    expect(gatePolicyProblems({ minDatapoints: 5, periodSeconds: 60, metricsDeadlineSeconds: 300 })).toEqual([
      'gate.metricsDeadlineSeconds (300) is shorter than 360 s, the time 5 datapoint(s) of 60 s need after a deployment: with onNoData "fail" every gate would fail',
    ]);
    // With onNoData "pass" a short deadline only means "do not wait long".
    expect(
      gatePolicyProblems({
        minDatapoints: 5,
        periodSeconds: 60,
        metricsDeadlineSeconds: 0,
        onNoData: "pass",
      }),
    ).toEqual([]);
  });

  it("refuses a deadline more polls away than MAX_GATE_POLLS", () => {
    expect(gatePolicyProblems({ periodSeconds: 1, minDatapoints: 1, metricsDeadlineSeconds: 241 })).toEqual([
      "gate.metricsDeadlineSeconds (241) is more than 240 periods of gate.periodSeconds (1): the gate would poll too often",
    ]);
    expect(gatePolicyProblems({ periodSeconds: 1, minDatapoints: 1, metricsDeadlineSeconds: 240 })).toEqual(
      [],
    );
  });

  it.each([
    { name: "empty", policy: {} },
    { name: "bounds", policy: { maxIncreasePoints: 0, floorPercent: 100 } },
    { name: "the defaults", policy: DEFAULT_GATE_POLICY },
    {
      name: "the sandbox's second-long periods",
      policy: { periodSeconds: 1, minDatapoints: 2, metricsDeadlineSeconds: 15 },
    },
    {
      name: "five-minute periods",
      policy: { periodSeconds: 300, minDatapoints: 2, metricsDeadlineSeconds: 3600 },
    },
  ])("accepts $name", ({ policy }) => {
    expect(() => validateGatePolicy(policy)).not.toThrow();
  });

  it("the defaults fail closed and fit the default 15-minute bake with five minutes to spare", () => {
    expect(DEFAULT_GATE_POLICY).toMatchObject({
      onNoData: "fail",
      periodSeconds: 60,
      minDatapoints: 5,
      metricsDeadlineSeconds: 1200,
    });
    expect(resolveGatePolicy({})).toEqual(DEFAULT_GATE_POLICY);
  });
});

describe("describeGateFailure", () => {
  const late = (metrics: Record<string, MetricsReading>, policy?: GatePolicy) =>
    evaluateGate({ metrics, baselines: {}, probes: [], elapsedSeconds: 600, policy });
  const cases: Array<{ name: string; result: GateResult; expected: string }> = [
    {
      name: "a passed gate",
      result: evaluateGate({
        metrics: { E1: ready(0) },
        baselines: {},
        probes: [accepted("E1/a")],
        elapsedSeconds: EARLY,
      }),
      expected: "gate passed",
    },
    {
      name: "a distribution over its threshold",
      result: evaluateGate({
        metrics: { E1: ready(7.456) },
        baselines: { E1: 1 },
        probes: [],
        elapsedSeconds: EARLY,
      }),
      expected: "E1: 5xx 7.46% > 3.00%",
    },
    {
      name: "no datapoints by the deadline",
      result: late({ E123: NONE }, { metricsDeadlineSeconds: 600 }),
      expected: "no 5xx datapoints for E123 within 600 s of its swap deploying",
    },
    {
      name: "too few datapoints by the deadline",
      result: late({ E123: { errorRate: 0, datapoints: 2 } }, { metricsDeadlineSeconds: 600 }),
      expected: "only 2 of 5 5xx datapoints for E123 within 600 s of its swap deploying",
    },
    {
      name: "a refused probe",
      result: evaluateGate({ metrics: {}, baselines: {}, probes: [refused("E1/a")], elapsedSeconds: EARLY }),
      expected: "E1/a: probe answered 400",
    },
    {
      name: "a probe without an answer, with and without an error",
      result: evaluateGate({
        metrics: {},
        baselines: {},
        probes: [
          { target: "E1/a", status: null, accepted: false, error: "connect ECONNREFUSED 127.0.0.1:1" },
          { target: "E1/b", status: null, accepted: false },
        ],
        elapsedSeconds: EARLY,
      }),
      expected: "E1/a: probe failed (connect ECONNREFUSED 127.0.0.1:1); E1/b: probe failed (no answer)",
    },
    {
      name: "only the failures, metrics first, then probes",
      result: evaluateGate({
        metrics: { E2: ready(50), E1: ready(0), E3: ready(3), E4: NONE },
        baselines: {},
        probes: [accepted("E1/a"), refused("E2/b")],
        elapsedSeconds: LATE,
      }),
      expected:
        "E2: 5xx 50.00% > 2.00%; E3: 5xx 3.00% > 2.00%; no 5xx datapoints for E4 within 1200 s of its swap deploying; E2/b: probe answered 400",
    },
  ];

  it.each(cases)("$name", ({ result, expected }) => {
    expect(describeGateFailure(result)).toBe(expected);
  });

  it("an older record without the metrics part still reads", () => {
    const result: GateResult = {
      passed: false,
      checks: [{ distributionId: "E1", errorRate: 9, baseline: null, threshold: 2, passed: false }],
      probes: [],
    };
    expect(describeGateFailure(result)).toBe("E1: 5xx 9.00% > 2.00%");
  });
});

describe("bounded gate results: the first failures named, everything counted", () => {
  const id = (i: number) => `E${String(i).padStart(13, "0")}`;
  /** A wave of `size` distributions: `over` of them over their threshold, the rest within it (rate i/size %). */
  function wave(size: number, over: number, refusedProbes: number): GateResult {
    const metrics: Record<string, MetricsReading> = {};
    for (let i = 0; i < size; i += 1) metrics[id(i)] = ready(i < over ? 50 : (i / size) * 1.5);
    const probes = Array.from({ length: size }, (_, i) =>
      i >= size - refusedProbes ? refused(`${id(i)}/origin-1`) : accepted(`${id(i)}/origin-1`),
    );
    return evaluateGate({ metrics, baselines: {}, probes, elapsedSeconds: LATE });
  }
  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

  it("a wave of 5,000 keeps its result small: failing checks and refused probes first, counts of all", () => {
    const full = wave(5_000, 30, 40);
    const bounded = boundGateResult(full);
    expect(bytes(full)).toBeGreaterThan(500_000);
    expect(bytes(bounded)).toBeLessThan(16 * 1024);
    expect(bounded.checks).toHaveLength(GATE_NAMED_ITEMS);
    expect(bounded.checks.every((c) => c.reason === "OverThreshold")).toBe(true);
    expect(bounded.probes).toHaveLength(GATE_NAMED_ITEMS);
    expect(bounded.probes.every((p) => !p.accepted)).toBe(true);
    expect(bounded.counts).toEqual({
      checks: 5_000,
      checksPassed: 4_970,
      byReason: { OverThreshold: 30, WithinThreshold: 4_970 },
      probes: 5_000,
      probesRefused: 40,
    });
    expect(bounded).toMatchObject({ passed: false, verdict: "failed", metrics: full.metrics });
    // The description names the first ones and says how many there are in all.
    const line = describeGateFailure(bounded);
    expect(line).toMatch(/^E0000000000000: 5xx 50\.00% > 2\.00%; /);
    expect(line).toContain(`${id(4_960)}/origin-1: probe answered 400`);
    expect(line).not.toContain(`${id(4_980)}/origin-1`);
    expect(line).toMatch(
      /; in all, of 5000 distribution\(s\): 30 over threshold; 40 of 5000 probe\(s\) refused$/,
    );
    expect(line.length).toBeLessThan(4_000);
  });

  it("a passing wave names the checks closest to their threshold first", () => {
    const bounded = boundGateResult(wave(1_000, 0, 0));
    expect(bounded.passed).toBe(true);
    expect(bounded.checks[0]?.distributionId).toBe(id(999));
    expect(bounded.checks.map((c) => c.errorRate)).toEqual(
      [...bounded.checks.map((c) => c.errorRate)].sort((a, b) => (b ?? 0) - (a ?? 0)),
    );
    expect(describeGateFailure(bounded)).toBe("gate passed");
  });

  it("a small wave is whole: every check and probe named, the same verdict and description", () => {
    const full = wave(3, 1, 1);
    const bounded = boundGateResult(full);
    expect(bounded.checks).toHaveLength(3);
    expect(bounded.probes).toHaveLength(3);
    expect(describeGateFailure(bounded)).toBe(describeGateFailure(full));
  });

  it("bounding again keeps the counts of the whole wave", () => {
    const once = boundGateResult(wave(300, 25, 0));
    expect(boundGateResult(once).counts).toEqual(once.counts);
    expect(gateCounts(once).checks).toBe(300);
  });

  it("judgeGate: the last poll's metrics verdict with the probes, bounded", () => {
    const metrics = boundGateResult(
      evaluateGate({
        metrics: { E1: ready(0), E2: ready(0.5) },
        baselines: {},
        probes: [],
        elapsedSeconds: EARLY,
      }),
    );
    expect(judgeGate(metrics, [accepted("E1/o"), accepted("E2/o")])).toMatchObject({
      passed: true,
      verdict: "passed",
      counts: { checks: 2, checksPassed: 2, probes: 2, probesRefused: 0 },
    });
    expect(judgeGate(metrics, [accepted("E1/o"), refused("E2/o")])).toMatchObject({
      passed: false,
      verdict: "failed",
      probes: [refused("E2/o"), accepted("E1/o")],
      counts: { probes: 2, probesRefused: 1 },
    });
    const failing = boundGateResult(
      evaluateGate({ metrics: { E1: ready(30) }, baselines: {}, probes: [], elapsedSeconds: EARLY }),
    );
    expect(judgeGate(failing, [accepted("E1/o")])).toMatchObject({ passed: false, verdict: "failed" });
  });

  it("an older record (whole lists, no counts) is counted from its lists", () => {
    const old: GateResult = {
      passed: false,
      checks: [
        { distributionId: "E1", errorRate: 0.1, baseline: null, threshold: 2, passed: true },
        { distributionId: "E2", errorRate: 9, baseline: 0.5, threshold: 2.5, passed: false },
      ],
      probes: [accepted("E1/o"), refused("E2/o")],
    };
    expect(gateCounts(old)).toEqual({
      checks: 2,
      checksPassed: 1,
      byReason: { WithinThreshold: 1, OverThreshold: 1 },
      probes: 2,
      probesRefused: 1,
    });
    expect(describeGateFailure(old)).toBe("E2: 5xx 9.00% > 2.50%; E2/o: probe answered 400");
  });
});
