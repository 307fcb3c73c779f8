import { describe, expect, it } from "vitest";
import { PolicyError } from "../../functions/core/renewal.ts";
import {
  DEFAULT_WAVE_POLICY,
  planWaves,
  type SwapTarget,
  validateWavePolicy,
  type Wave,
  type WavePolicy,
  type WaveSize,
} from "../../functions/core/waves.ts";

/** Targets E01, E02, ... with one origin each. */
function targets(count: number): SwapTarget[] {
  return Array.from({ length: count }, (_, i) => ({
    distributionId: `E${String(i + 1).padStart(2, "0")}`,
    originIds: [`origin-${i + 1}`],
  }));
}

/** Each wave as its distribution ids: compact and exact. */
function ids(plan: Wave[]): string[][] {
  return plan.map((wave) => wave.targets.map((t) => t.distributionId));
}

describe("planWaves: named cases", () => {
  const cases: Array<{ name: string; targets: SwapTarget[]; policy?: WavePolicy; expected: string[][] }> = [
    { name: "no targets: no waves", targets: [], expected: [] },
    { name: "one target: the canary alone", targets: targets(1), expected: [["E01"]] },
    {
      name: "two targets, default policy: canary, then the other",
      targets: targets(2),
      expected: [["E01"], ["E02"]],
    },
    {
      name: "canary as large as the fleet: one canary wave",
      targets: targets(3),
      policy: { canarySize: 5 },
      expected: [["E01", "E02", "E03"]],
    },
    {
      name: "no further waves: canary then everything left",
      targets: targets(5),
      policy: { waves: [] },
      expected: [["E01"], ["E02", "E03", "E04", "E05"]],
    },
    {
      name: "default policy over 10: 1, 50% (5), leftover 4",
      targets: targets(10),
      expected: [["E01"], ["E02", "E03", "E04", "E05", "E06"], ["E07", "E08", "E09", "E10"]],
    },
    {
      name: "counts 2 and 3 over 10: leftover wave of 4",
      targets: targets(10),
      policy: { waves: [{ count: 2 }, { count: 3 }] },
      expected: [["E01"], ["E02", "E03"], ["E04", "E05", "E06"], ["E07", "E08", "E09", "E10"]],
    },
    {
      name: "counts that exactly cover the fleet: no leftover wave",
      targets: targets(6),
      policy: { waves: [{ count: 2 }, { count: 3 }] },
      expected: [["E01"], ["E02", "E03"], ["E04", "E05", "E06"]],
    },
    {
      name: "counts larger than what is left: the last wave is cut short",
      targets: targets(4),
      policy: { waves: [{ count: 2 }, { count: 3 }] },
      expected: [["E01"], ["E02", "E03"], ["E04"]],
    },
    {
      name: "percent is of the whole fleet, rounded up: 25% of 10 is 3",
      targets: targets(10),
      policy: { canarySize: 2, waves: [{ percent: 25 }, { percent: 25 }] },
      expected: [
        ["E01", "E02"],
        ["E03", "E04", "E05"],
        ["E06", "E07", "E08"],
        ["E09", "E10"],
      ],
    },
    {
      name: "a tiny percent still moves at least one target",
      targets: targets(4),
      policy: { waves: [{ percent: 1 }] },
      expected: [["E01"], ["E02"], ["E03", "E04"]],
    },
    {
      name: "100 percent after the canary: two waves",
      targets: targets(4),
      policy: { waves: [{ percent: 100 }, { count: 1 }] },
      expected: [["E01"], ["E02", "E03", "E04"]],
    },
    {
      name: "canaryPreference picks the canary, in preference order",
      targets: targets(6),
      policy: { canarySize: 2, canaryPreference: ["E05", "E03"], waves: [{ count: 2 }] },
      expected: [
        ["E05", "E03"],
        ["E01", "E02"],
        ["E04", "E06"],
      ],
    },
    {
      name: "canaryPreference naming unknown distributions is harmless",
      targets: targets(3),
      policy: { canaryPreference: ["E99", "E02"] },
      expected: [["E02"], ["E01", "E03"]],
    },
  ];

  it.each(cases)("$name", ({ targets, policy, expected }) => {
    const plan = planWaves(targets, policy);
    expect(ids(plan)).toEqual(expected);
    expect(plan.map((w) => w.index)).toEqual(expected.map((_, i) => i));
    expect(plan.map((w) => w.canary)).toEqual(expected.map((_, i) => i === 0));
  });

  it("sorts distributions by id and origins within a target, whatever the input order", () => {
    const input: SwapTarget[] = [
      { distributionId: "EC", originIds: ["b", "a"] },
      { distributionId: "EA", originIds: ["z", "m", "c"] },
      { distributionId: "EB", originIds: ["only"] },
    ];
    const plan = planWaves(input, { canarySize: 1, waves: [{ count: 1 }] });
    expect(plan).toEqual([
      { index: 0, canary: true, targets: [{ distributionId: "EA", originIds: ["c", "m", "z"] }] },
      { index: 1, canary: false, targets: [{ distributionId: "EB", originIds: ["only"] }] },
      { index: 2, canary: false, targets: [{ distributionId: "EC", originIds: ["a", "b"] }] },
    ]);
    // The caller's arrays are left as they were.
    expect(input[0]?.originIds).toEqual(["b", "a"]);
    expect(input.map((t) => t.distributionId)).toEqual(["EC", "EA", "EB"]);
  });

  it("input order does not change the plan", () => {
    const forward = targets(9);
    const backward = [...forward].reverse();
    const policy: WavePolicy = { canarySize: 2, waves: [{ percent: 30 }], canaryPreference: ["E07"] };
    expect(planWaves(backward, policy)).toEqual(planWaves(forward, policy));
    expect(ids(planWaves(backward, policy))[0]).toEqual(["E07", "E01"]);
  });

  it("rejects a distribution listed twice", () => {
    const twice = [...targets(3), { distributionId: "E02", originIds: ["other"] }];
    expect(() => planWaves(twice)).toThrow(PolicyError);
    expect(() => planWaves(twice)).toThrow("distribution E02 is listed twice");
  });

  it("defaults to a canary of 1 and one 50% wave", () => {
    expect(DEFAULT_WAVE_POLICY).toEqual({ canarySize: 1, waves: [{ percent: 50 }] });
  });
});

describe("validateWavePolicy", () => {
  const bad: Array<{ name: string; policy: WavePolicy; message: string }> = [
    {
      name: "canary of 0",
      policy: { canarySize: 0 },
      message: "canarySize must be a whole number >= 1, got 0",
    },
    { name: "negative canary", policy: { canarySize: -2 }, message: "got -2" },
    { name: "fractional canary", policy: { canarySize: 1.5 }, message: "got 1.5" },
    { name: "NaN canary", policy: { canarySize: Number.NaN }, message: "got NaN" },
    {
      name: "count of 0",
      policy: { waves: [{ count: 0 }] },
      message: "waves[0].count must be a whole number >= 1, got 0",
    },
    {
      name: "fractional count",
      policy: { waves: [{ count: 1 }, { count: 2.5 }] },
      message: "waves[1].count",
    },
    {
      name: "percent of 0",
      policy: { waves: [{ percent: 0 }] },
      message: "waves[0].percent must be > 0 and <= 100, got 0",
    },
    { name: "percent above 100", policy: { waves: [{ percent: 101 }] }, message: "got 101" },
    { name: "negative percent", policy: { waves: [{ percent: -5 }] }, message: "got -5" },
    { name: "NaN percent", policy: { waves: [{ percent: Number.NaN }] }, message: "got NaN" },
    {
      name: "infinite percent",
      policy: { waves: [{ percent: Number.POSITIVE_INFINITY }] },
      message: "got Infinity",
    },
  ];
  it.each(bad)("rejects $name", ({ policy, message }) => {
    expect(() => validateWavePolicy(policy)).toThrow(PolicyError);
    expect(() => planWaves(targets(3), policy)).toThrow(message);
  });

  it.each([
    { name: "empty policy", policy: {} },
    {
      name: "canary of 3, count and percent",
      policy: { canarySize: 3, waves: [{ count: 1 }, { percent: 100 }] },
    },
    { name: "fractional percent", policy: { waves: [{ percent: 0.5 }] } },
  ])("accepts $name", ({ policy }) => {
    expect(() => validateWavePolicy(policy)).not.toThrow();
  });
});

/** mulberry32: a tiny seeded PRNG, so every failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function shuffle<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = int(random, 0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function randomCase(seed: number): { targets: SwapTarget[]; policy: WavePolicy } {
  const random = prng(seed);
  const count = int(random, 1, 40);
  const pool = shuffle(
    random,
    Array.from({ length: 60 }, (_, i) => `E${i.toString(36).toUpperCase()}${int(random, 0, 9)}`),
  );
  const list = [...new Set(pool)].slice(0, count).map((distributionId) => ({
    distributionId,
    originIds: Array.from({ length: int(random, 1, 3) }, (_, j) => `o${j}-${int(random, 0, 99)}`),
  }));
  const waves: WaveSize[] = Array.from({ length: int(random, 0, 4) }, () =>
    random() < 0.5 ? { count: int(random, 1, 10) } : { percent: int(random, 1, 1000) / 10 },
  );
  const canaryPreference =
    random() < 0.5
      ? shuffle(random, [...list.map((t) => t.distributionId), "E-unknown"]).slice(0, int(random, 0, 4))
      : undefined;
  const policy: WavePolicy = { waves, canaryPreference };
  if (random() < 0.7) policy.canarySize = int(random, 1, 5);
  return { targets: list, policy };
}

/** Checks every property of one plan; `m` names the seed in each failure message. */
function checkProperties(seed: number): Wave[] {
  const { targets, policy } = randomCase(seed);
  const m = `seed ${seed}`;
  const plan = planWaves(targets, policy);
  const placed = plan.flatMap((w) => w.targets.map((t) => t.distributionId));

  // Every target lands in exactly one wave.
  expect(placed.length, m).toBe(targets.length);
  expect([...placed].sort(), m).toEqual(targets.map((t) => t.distributionId).sort());

  // No wave is empty; indexes run 0..n-1; only wave 0 is the canary.
  expect(
    plan.every((w) => w.targets.length > 0),
    m,
  ).toBe(true);
  expect(
    plan.map((w) => w.index),
    m,
  ).toEqual(plan.map((_, i) => i));
  expect(
    plan.map((w) => w.canary),
    m,
  ).toEqual(plan.map((_, i) => i === 0));

  // Wave 0 has canarySize targets (or all of them when there are fewer).
  const canarySize = policy.canarySize ?? 1;
  expect(plan[0]?.targets.length, m).toBe(Math.min(canarySize, targets.length));

  // Preferred distributions that exist come first, in preference order.
  const present = new Set(targets.map((t) => t.distributionId));
  const preferred = [...new Set(policy.canaryPreference ?? [])].filter((id) => present.has(id));
  expect(placed.slice(0, preferred.length), m).toEqual(preferred);

  // Origins are kept, sorted.
  for (const t of plan.flatMap((w) => w.targets)) {
    const original = targets.find((o) => o.distributionId === t.distributionId)!;
    expect(t.originIds, m).toEqual([...original.originIds].sort());
  }

  // Deterministic: same answer twice, and whatever the input order.
  expect(planWaves(targets, policy), m).toEqual(plan);
  expect(planWaves(shuffle(prng(seed ^ 0x5bd1e995), targets), policy), m).toEqual(plan);
  return plan;
}

describe("planWaves: properties over seeded random inputs", () => {
  it("hold for 400 seeded random fleets and policies", () => {
    const seeds = Array.from({ length: 400 }, (_, i) => 1 + i * 7919);
    const plans = seeds.map(checkProperties);
    // The generator is not degenerate: it produced single-wave, many-wave and preference cases.
    expect(plans.some((p) => p.length === 1)).toBe(true);
    expect(plans.some((p) => p.length >= 4)).toBe(true);
    expect(seeds.some((s) => (randomCase(s).policy.canaryPreference ?? []).length > 0)).toBe(true);
  });

  it("the PRNG is reproducible", () => {
    const a = prng(42);
    const b = prng(42);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(first).size).toBe(3);
  });
});
