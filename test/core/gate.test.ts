/**
 * The health gate of one wave: each distribution's 5xx error rate against its pre-rotation baseline (with a
 * noise floor), plus synthetic probes; policy validation; the one-line failure description.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_GATE_POLICY,
  describeGateFailure,
  evaluateGate,
  type GateInput,
  type GatePolicy,
  thresholdFor,
  validateGatePolicy,
} from "../../functions/core/gate.ts";
import type { GateResult, ProbeResult } from "../../functions/core/rotation.ts";

const accepted = (target: string): ProbeResult => ({ target, status: 200, accepted: true });
const refused = (target: string): ProbeResult => ({ target, status: 400, accepted: false });

describe("evaluateGate: named cases (default policy: floor 1%, +2 points)", () => {
  const cases: Array<{
    name: string;
    input: GateInput;
    passed: boolean;
    /** distributionId -> [threshold, passed] */
    checks: Record<string, [number, boolean]>;
  }> = [
    {
      name: "no datapoint since the swap passes",
      input: { errorRates: { E1: null }, baselines: { E1: 0.5 }, probes: [] },
      passed: true,
      checks: { E1: [2.5, true] },
    },
    {
      name: "no datapoint and no baseline passes",
      input: { errorRates: { E1: null }, baselines: {}, probes: [] },
      passed: true,
      checks: { E1: [2, true] },
    },
    {
      name: "no baseline: threshold is the increase over zero",
      input: { errorRates: { E1: 2.01 }, baselines: { E1: null }, probes: [] },
      passed: false,
      checks: { E1: [2, false] },
    },
    {
      name: "within the floor passes even far above a zero baseline",
      input: {
        errorRates: { E1: 0.9 },
        baselines: { E1: 0 },
        probes: [],
        policy: { floorPercent: 1, maxIncreasePoints: 0.1 },
      },
      passed: true,
      checks: { E1: [1, true] },
    },
    {
      name: "just above the floor with a tight increase fails",
      input: {
        errorRates: { E1: 1.01 },
        baselines: { E1: 0 },
        probes: [],
        policy: { floorPercent: 1, maxIncreasePoints: 0.1 },
      },
      passed: false,
      checks: { E1: [1, false] },
    },
    {
      name: "baseline + increase: 3% over a 1.5% baseline passes",
      input: { errorRates: { E1: 3 }, baselines: { E1: 1.5 }, probes: [] },
      passed: true,
      checks: { E1: [3.5, true] },
    },
    {
      name: "baseline + increase: 3.6% over a 1.5% baseline fails",
      input: { errorRates: { E1: 3.6 }, baselines: { E1: 1.5 }, probes: [] },
      passed: false,
      checks: { E1: [3.5, false] },
    },
    {
      name: "exactly at the threshold passes",
      input: { errorRates: { E1: 4 }, baselines: { E1: 2 }, probes: [] },
      passed: true,
      checks: { E1: [4, true] },
    },
    {
      name: "exactly at the floor passes",
      input: { errorRates: { E1: 5 }, baselines: { E1: 0 }, probes: [], policy: { floorPercent: 5 } },
      passed: true,
      checks: { E1: [5, true] },
    },
    {
      name: "one bad distribution fails the wave, the others still pass their own check",
      input: {
        errorRates: { E2: 0, E1: 10, E3: null },
        baselines: { E1: 1, E2: 0, E3: 0 },
        probes: [accepted("E1/a")],
      },
      passed: false,
      checks: { E1: [3, false], E2: [2, true], E3: [2, true] },
    },
    {
      name: "a refused probe fails the wave even with good metrics",
      input: {
        errorRates: { E1: 0 },
        baselines: { E1: 0 },
        probes: [accepted("E1/a"), refused("E1/b")],
      },
      passed: false,
      checks: { E1: [2, true] },
    },
    {
      name: "a probe that got no answer fails the wave",
      input: {
        errorRates: {},
        baselines: {},
        probes: [{ target: "E1/a", status: null, accepted: false, error: "ECONNREFUSED" }],
      },
      passed: false,
      checks: {},
    },
    {
      name: "accepted probes and no metrics pass",
      input: { errorRates: {}, baselines: {}, probes: [accepted("E1/a")] },
      passed: true,
      checks: {},
    },
    {
      name: "a policy with explicit undefined fields gets the defaults",
      input: {
        errorRates: { E1: 0.5 },
        baselines: { E1: 0 },
        probes: [],
        policy: { floorPercent: undefined, maxIncreasePoints: undefined },
      },
      passed: true,
      checks: { E1: [2, true] },
    },
    {
      name: "a zero policy: any error at all fails",
      input: {
        errorRates: { E1: 0.01, E2: 0 },
        baselines: {},
        probes: [],
        policy: { floorPercent: 0, maxIncreasePoints: 0 },
      },
      passed: false,
      checks: { E1: [0, false], E2: [0, true] },
    },
  ];

  it.each(cases)("$name", ({ input, passed, checks }) => {
    const result = evaluateGate(input);
    expect(result.passed).toBe(passed);
    expect(Object.fromEntries(result.checks.map((c) => [c.distributionId, [c.threshold, c.passed]]))).toEqual(
      checks,
    );
    expect(result.probes).toEqual(input.probes);
  });

  it("checks are sorted by distribution and carry rate and baseline", () => {
    const result = evaluateGate({
      errorRates: { E2: 1, E1: null },
      baselines: { E2: 0.25 },
      probes: [],
    });
    expect(result.checks).toEqual([
      { distributionId: "E1", errorRate: null, baseline: null, threshold: 2, passed: true },
      { distributionId: "E2", errorRate: 1, baseline: 0.25, threshold: 2.25, passed: true },
    ]);
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
  ];

  it.each(invalid)("refuses $name", ({ policy, message }) => {
    expect(() => validateGatePolicy(policy)).toThrow(new RangeError(message));
    expect(() => evaluateGate({ errorRates: {}, baselines: {}, probes: [], policy })).toThrow(RangeError);
  });

  it.each([
    { name: "empty", policy: {} },
    { name: "bounds", policy: { maxIncreasePoints: 0, floorPercent: 100 } },
    { name: "the defaults", policy: DEFAULT_GATE_POLICY },
  ])("accepts $name", ({ policy }) => {
    expect(() => validateGatePolicy(policy)).not.toThrow();
  });
});

describe("describeGateFailure", () => {
  const cases: Array<{ name: string; result: GateResult; expected: string }> = [
    {
      name: "a passed gate",
      result: evaluateGate({ errorRates: { E1: 0 }, baselines: {}, probes: [accepted("E1/a")] }),
      expected: "gate passed",
    },
    {
      name: "a distribution over its threshold",
      result: evaluateGate({ errorRates: { E1: 7.456 }, baselines: { E1: 1 }, probes: [] }),
      expected: "E1: 5xx 7.46% > 3.00%",
    },
    {
      name: "a refused probe",
      result: evaluateGate({ errorRates: {}, baselines: {}, probes: [refused("E1/a")] }),
      expected: "E1/a: probe answered 400",
    },
    {
      name: "a probe without an answer, with and without an error",
      result: evaluateGate({
        errorRates: {},
        baselines: {},
        probes: [
          { target: "E1/a", status: null, accepted: false, error: "connect ECONNREFUSED 127.0.0.1:1" },
          { target: "E1/b", status: null, accepted: false },
        ],
      }),
      expected: "E1/a: probe failed (connect ECONNREFUSED 127.0.0.1:1); E1/b: probe failed (no answer)",
    },
    {
      name: "only the failures, metrics first, then probes",
      result: evaluateGate({
        errorRates: { E2: 50, E1: 0, E3: 3 },
        baselines: {},
        probes: [accepted("E1/a"), refused("E2/b")],
      }),
      expected: "E2: 5xx 50.00% > 2.00%; E3: 5xx 3.00% > 2.00%; E2/b: probe answered 400",
    },
  ];

  it.each(cases)("$name", ({ result, expected }) => {
    expect(describeGateFailure(result)).toBe(expected);
  });
});
