/**
 * The fault injector behind every stand-in: count rules (the first `times` matching calls) and rate rules (a
 * seeded fraction of them, optionally capped in total or in a row), rule order, callers a rule leaves alone,
 * and what each rule reports. The server's use of it (the SDK's view of a fault) is in server.test.ts.
 */
import { describe, expect, it } from "vitest";
import { FaultInjector, type FaultRule, faultDecisions, seededFractions } from "../../standins/faults.ts";

/** Offers `calls` calls of one operation; which of them were faulted (true). */
function offer(faults: FaultInjector, calls: number, service = "acm", operation = "DescribeCertificate") {
  return Array.from({ length: calls }, () => faults.take(service, operation) !== undefined);
}

describe("rate rules", () => {
  const rule: FaultRule = { service: "acm", kind: "throttle", rate: 0.3, seed: 42 };

  it("fail about `rate` of the matching calls, the same ones for the same seed", () => {
    const first = new FaultInjector();
    const stats = first.inject(rule);
    const decisions = offer(first, 1_000);
    const faulted = decisions.filter(Boolean).length;
    expect(faulted).toBeGreaterThan(250);
    expect(faulted).toBeLessThan(350);
    expect({ matched: stats.matched, delivered: stats.delivered, spent: stats.spent }).toEqual({
      matched: 1_000,
      delivered: faulted,
      spent: false,
    });

    // Reproducible: another injector with the same seed answers the same calls; another seed does not.
    const again = new FaultInjector();
    again.inject(rule);
    expect(offer(again, 1_000)).toEqual(decisions);
    expect(faultDecisions(rule, 1_000)).toEqual(decisions);
    const other = new FaultInjector();
    other.inject({ ...rule, seed: 43 });
    expect(offer(other, 1_000)).not.toEqual(decisions);
  });

  it("draw from mulberry32: pinned values, so a seed means the same in every version", () => {
    const next = seededFractions(42);
    expect([next(), next(), next()].map((x) => x.toFixed(6))).toEqual(["0.601104", "0.448291", "0.852466"]);
    // Calls 5, 7 and 11 of the first 12 (draws below 0.3).
    expect(faultDecisions(rule, 12).flatMap((faulted, i) => (faulted ? [i + 1] : []))).toEqual([5, 7, 11]);
  });

  it("with `times`, stop after that many faults in total (spent), counting only the calls decided on", () => {
    const faults = new FaultInjector();
    const stats = faults.inject({ ...rule, rate: 0.5, times: 3 });
    const decisions = offer(faults, 40);
    expect(decisions.filter(Boolean)).toHaveLength(3);
    const lastFault = decisions.lastIndexOf(true);
    expect(decisions.slice(lastFault + 1).every((d) => !d)).toBe(true);
    expect({ matched: stats.matched, delivered: stats.delivered, spent: stats.spent }).toEqual({
      matched: lastFault + 1,
      delivered: 3,
      spent: true,
    });
    // A rate rule promises no number of faults: it is never "pending".
    expect(faults.pending).toBe(0);
  });

  it("with `maxConsecutive`, let a call through after that many faults in a row; rate 1 then alternates", () => {
    const faults = new FaultInjector();
    const stats = faults.inject({ service: "acm", kind: "server-error", rate: 1, maxConsecutive: 2 });
    expect(offer(faults, 7)).toEqual([true, true, false, true, true, false, true]);
    expect([stats.matched, stats.delivered]).toEqual([7, 5]);

    // At a rate below 1, no run of faults is longer than the bound.
    const bounded = new FaultInjector();
    bounded.inject({ ...rule, rate: 0.9, maxConsecutive: 3 });
    const runs = offer(bounded, 500)
      .map((d) => (d ? "x" : "."))
      .join("")
      .split(".")
      .map((run) => run.length);
    expect(Math.max(...runs)).toBe(3);
  });

  it("refuse what could not work: a rate outside (0, 1], a bad seed, maxConsecutive without a rate, rate 1 unbounded", () => {
    const faults = new FaultInjector();
    for (const rate of [0, -0.1, 1.5, Number.NaN])
      expect(() => faults.inject({ kind: "throttle", rate })).toThrow(/0 < rate <= 1/);
    for (const seed of [-1, 1.5, 2 ** 32])
      expect(() => faults.inject({ kind: "throttle", rate: 0.5, seed })).toThrow(/'seed'/);
    expect(() => faults.inject({ kind: "throttle", maxConsecutive: 2 })).toThrow(/rate rule only/);
    expect(() => faults.inject({ kind: "throttle", rate: 0.5, maxConsecutive: 0 })).toThrow(
      /positive integer/,
    );
    expect(() => faults.inject({ kind: "throttle", rate: 1 })).toThrow(/every matching call for good/);
    expect(faults.rules()).toEqual([]);
    // Bounded, rate 1 is fine: every matching call until the cap.
    faults.inject({ kind: "throttle", rate: 1, times: 2 });
    expect(offer(faults, 3)).toEqual([true, true, false]);
  });
});

describe("rule order, matching and callers", () => {
  it("offers each call to the rules in order: a later rule decides only on calls no earlier rule answered", () => {
    const faults = new FaultInjector();
    const count = faults.inject({ service: "acm", kind: "server-error", times: 2 });
    const rate = faults.inject({ service: "acm", kind: "throttle", rate: 1, times: 1 });
    const kinds = Array.from({ length: 4 }, () => faults.take("acm", "ImportCertificate"));
    expect(kinds).toEqual(["server-error", "server-error", "throttle", undefined]);
    expect([count.matched, count.delivered, count.spent]).toEqual([2, 2, true]);
    expect([rate.matched, rate.delivered, rate.spent]).toEqual([1, 1, true]);
    expect(faults.injected).toBe(3);
  });

  it("counts only matching calls, and leaves the callers a rule excepts alone", () => {
    const faults = new FaultInjector();
    const stats = faults.inject({
      service: "cloudfront",
      operation: "UpdateDistribution",
      kind: "throttle",
      rate: 1,
      times: 5,
      exceptCallers: ["foreign-writer"],
    });
    expect(faults.take("cloudfront", "GetDistributionConfig")).toBeUndefined();
    expect(faults.take("acm", "UpdateDistribution")).toBeUndefined();
    expect(faults.take("cloudfront", "UpdateDistribution", "foreign-writer")).toBeUndefined();
    expect(faults.take("cloudfront", "UpdateDistribution", "origin-sync")).toBe("throttle");
    expect(faults.take("cloudfront", "UpdateDistribution")).toBe("throttle");
    expect([stats.matched, stats.delivered]).toEqual([2, 2]);
    expect(faults.rules()).toEqual([
      {
        rule: expect.objectContaining({ operation: "UpdateDistribution", rate: 1, times: 5 }),
        matched: 2,
        delivered: 2,
        spent: false,
      },
    ]);
  });

  it("tells listeners of each fault delivered, with the rule's counts as of that fault", () => {
    const faults = new FaultInjector();
    faults.inject({ service: "sns", kind: "throttle" });
    faults.inject({ service: "acm", kind: "throttle", rate: 1, maxConsecutive: 1 });
    const heard: string[] = [];
    const stop = faults.listen((d) =>
      heard.push(`${d.index} ${d.kind} ${d.service}:${d.operation} ${d.rule.delivered}/${d.rule.matched}`),
    );
    offer(faults, 3);
    stop();
    offer(faults, 2);
    expect(heard).toEqual([
      "1 throttle acm:DescribeCertificate 1/1",
      "1 throttle acm:DescribeCertificate 2/3",
    ]);
  });

  it("keeps count rules as they were: the first `times` matching calls, then pending 0", () => {
    const faults = new FaultInjector();
    faults.inject({ service: "acm", kind: "throttle", times: 3 });
    expect(faults.pending).toBe(3);
    expect(offer(faults, 5)).toEqual([true, true, true, false, false]);
    expect(faults.pending).toBe(0);
    expect(faultDecisions({ kind: "throttle", times: 3 }, 5)).toEqual([true, true, true]);
  });
});
