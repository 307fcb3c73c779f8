/**
 * Scenario features, each run end to end in a small scenario against nginx origins (short windows, one or
 * two distributions): AWS faults at a seeded rate, N triggers released at once, a foreign writer changing a
 * distribution during the swap (412s), and CloudWatch history seeded before the run (the gate's baseline).
 */
import { expect, it } from "vitest";
import { ruleSeed } from "../../sandbox/aws-faults.ts";
import type { SandboxFleet } from "../../sandbox/fleet.ts";
import { faultDecisions } from "../../standins/faults.ts";
import { describeWithNginx } from "../support/tools.ts";
import { expectNoKeysLeaked, finalArns, runScenarioDocument } from "./run-scenario.ts";

const authority = { name: "Acme Origin Client CA 1" };

describeWithNginx()("scenario features (nginx origins)", () => {
  it("a throttle at a seeded rate on every CloudFront call: the rule delivers k of n matching calls as its seed says, and the rotation completes", async () => {
    const run = await runScenarioDocument({
      name: "rate-fault",
      seed: 7,
      authority,
      certificates: [{ name: "edge", expiresInDays: 10, validityDays: 90 }],
      distributions: [{ name: "shop", origins: [{ name: "api", certificate: "edge" }] }],
      policy: { bakeSeconds: 0 },
      faults: [{ kind: "throttle", service: "cloudfront", rate: 0.4, maxConsecutive: 2 }],
      actions: [
        { action: "rotate", certificate: "edge" },
        { action: "wait", for: "rotations" },
      ],
      expect: {
        rotations: [{ certificate: "edge", status: "completed" }],
        issuedCertificates: 1,
        presenting: { edge: "new" },
        maxRefusals: 0,
      },
    });
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [fault] = report.faults.aws;
    expect(fault).toMatchObject({ index: 0, kind: "throttle", service: "cloudfront", rate: 0.4, seed: 7 });
    expect(fault!.times).toBeUndefined();
    // Every CloudFront call of the service after the setup was offered to the rule: n of them.
    const cloudfrontCalls = Object.entries(report.awsCalls)
      .filter(([call]) => call.startsWith("cloudfront:"))
      .reduce((sum, [, count]) => sum + count, 0);
    expect(fault!.matched).toBe(cloudfrontCalls);
    expect(fault!.matched).toBeGreaterThanOrEqual(6);
    // k: what the seed decides for n calls (the rule's stream: the scenario's seed and its index).
    const decisions = faultDecisions(
      { kind: "throttle", rate: 0.4, maxConsecutive: 2, seed: ruleSeed(7, 0) },
      fault!.matched,
    );
    expect(fault!.delivered).toBe(decisions.filter(Boolean).length);
    expect(fault!.delivered).toBeGreaterThan(0);
    expect(fault!.delivered).toBeLessThan(fault!.matched);
    expect(run.lines.filter((l) => / fault: throttle answered to cloudfront:/.test(l))).toHaveLength(
      fault!.delivered,
    );
    expect(run.lines).toContainEqual(
      expect.stringContaining(
        `fault faults[0] throttle on cloudfront:* at rate 0.4 (at most 2 in a row): delivered ${fault!.delivered} of ${fault!.matched} matching call(s) (seed 7)`,
      ),
    );
    expect(report.expectations.find((e) => e.name === "every injected fault was delivered")).toMatchObject({
      passed: true,
    });
    const newArn = report.rotations[0]!.newCertificateArn;
    expect(finalArns(report)).toEqual({ "shop/api": newArn });
    expectNoKeysLeaked(run);
  }, 60_000);

  it("12 triggers released at once (scan, ACM event, manual start in turn) converge on one rotation and one issued certificate", async () => {
    const run = await runScenarioDocument({
      name: "concurrent-triggers",
      authority,
      // Due: the scan and the ACM event start rotations only for a certificate due for renewal.
      certificates: [{ name: "edge", expiresInDays: 5, validityDays: 90 }],
      distributions: [{ name: "shop", origins: [{ name: "api", certificate: "edge" }] }],
      policy: { bakeSeconds: 0 },
      actions: [
        { action: "concurrentTriggers", certificate: "edge", count: 12 },
        { action: "wait", for: "rotations" },
      ],
      expect: {
        rotations: [{ certificate: "edge", status: "completed" }],
        rotationCount: 1,
        issuedCertificates: 1,
        presenting: { edge: "new" },
        maxRefusals: 0,
      },
    });
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.rotations).toHaveLength(1);
    const [rotation] = report.rotations;
    // Every trigger reached the rotation; exactly one started it, the others converged.
    const sources = rotation!.triggers.map((t) => t.source);
    expect(sources.filter((s) => s === "scan")).toHaveLength(4);
    expect(sources.filter((s) => s === "acm-event")).toHaveLength(4);
    expect(sources.filter((s) => s === "manual")).toHaveLength(4);
    expect(rotation!.triggers.filter((t) => t.started)).toHaveLength(1);
    // Released together: every trigger was stamped in the same few milliseconds.
    const at = rotation!.triggers.map((t) => t.atMs);
    expect(Math.max(...at) - Math.min(...at)).toBeLessThan(100);
    expect(report.scans.map((s) => s.source).sort()).toEqual([
      ...Array(4).fill("acm-event"),
      ...Array(4).fill("scan"),
    ]);
    expect(report.actions[0]).toMatchObject({ action: "concurrentTriggers", outcome: "ok" });
    expect(report.actions[0]!.detail).toMatch(
      /^12 triggers \(4 scan, 4 acm-event, 4 manual\) released together within [\d.]+ ms -> 1 rotation id\(s\) rot-[\w-]+; 1 started, 11 converged$/,
    );
    expect(report.awsCalls["acm-pca:IssueCertificate"]).toBe(1);
    expect(report.certificates[0]!.credentialSecret).toMatchObject({ versions: 1, pending: [] });
  }, 60_000);

  /** Two distributions, blog the canary: shop is swapped in wave 1, after blog's gate. */
  const twoDistributions = {
    authority,
    certificates: [{ name: "edge", expiresInDays: 10, validityDays: 90 }],
    distributions: [
      { name: "shop", origins: [{ name: "api", certificate: "edge" }] },
      { name: "blog", origins: [{ name: "web", certificate: "edge" }] },
    ],
    policy: { bakeSeconds: 0, waves: { canarySize: 1, canaryPreference: ["blog"] } },
    actions: [
      { action: "rotate", certificate: "edge" },
      { action: "wait", for: "rotations" },
    ],
  };

  /** Each distribution's config as CloudFront holds it at the end (read before the world is torn down). */
  function configsAtTheEnd() {
    const configs: Record<string, string> = {};
    return {
      configs,
      inspect: (stage: "ready" | "teardown", fleet: SandboxFleet) => {
        if (stage === "teardown")
          for (const d of fleet.distributions) configs[d.name] = fleet.standins.cloudfront.configXml(d.id);
      },
    };
  }

  it("a foreign write to shop's config right before the rotation's UpdateDistribution: 412, the adapter re-reads and writes again, the rotation completes and the foreign change stays", async () => {
    const end = configsAtTheEnd();
    const run = await runScenarioDocument(
      {
        name: "foreign-write",
        ...twoDistributions,
        faults: [{ kind: "foreignWrite", distribution: "shop", when: "swap", times: 1 }],
        expect: {
          rotations: [{ certificate: "edge", status: "completed" }],
          presenting: { edge: "new" },
          maxRefusals: 0,
        },
      },
      { inspect: end.inspect },
    );
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const comment = "changed by hand during a swap (sandbox foreign write 1 of shop)";
    expect(report.faults.foreignWrites).toEqual([
      {
        index: 0,
        distribution: "shop",
        id: report.distributions.find((d) => d.name === "shop")!.id,
        when: "swap",
        times: 1,
        delivered: 1,
        writes: [{ atMs: expect.any(Number), step: "swap:1:shop", comment }],
        // The rotation's first write met the foreign one's ETag: 412; its second, after a re-read, went in.
        serviceUpdates: 2,
        preconditionFailed: 1,
        keptAtEnd: true,
      },
    ]);
    // CloudFront's config at the end: the foreign Comment and the new certificate, both.
    const newArn = report.rotations[0]!.newCertificateArn!;
    expect(end.configs.shop).toContain(`<Comment>${comment}</Comment>`);
    expect(end.configs.shop).toContain(`<ClientCertificateArn>${newArn}</ClientCertificateArn>`);
    expect(end.configs.blog).not.toContain("changed by hand");
    expect(finalArns(report)).toEqual({ "shop/api": newArn, "blog/web": newArn });
    // The foreign writer's calls are not the service's.
    expect(report.awsCallsOutsideTheService.foreignWrites).toEqual({
      "cloudfront:GetDistributionConfig": 1,
      "cloudfront:UpdateDistribution": 1,
    });
    expect(report.awsCalls["cloudfront:UpdateDistribution"]).toBe(3);
    expect(report.expectations.find((e) => e.name === "no foreign change was overwritten")).toMatchObject({
      passed: true,
    });
    expect(run.lines).toContainEqual(
      expect.stringContaining(
        "the rotation's UpdateDistribution of shop was answered 412 PreconditionFailed (stale IfMatch)",
      ),
    );
    expect(run.lines).toContainEqual(
      expect.stringContaining(
        "foreign writes faults[0] to shop before its swap: 1 of 1 made; the service's UpdateDistribution of shop answered 412 PreconditionFailed 1 time(s) of 2; the foreign change is kept",
      ),
    );
  }, 60_000);

  it("a foreign writer that wins all six of the adapter's attempts: SwapFailed, and the rollback (itself met by a foreign write and a 412) keeps every foreign change", async () => {
    const end = configsAtTheEnd();
    const run = await runScenarioDocument(
      {
        name: "foreign-writes-win",
        ...twoDistributions,
        faults: [
          { kind: "foreignWrite", distribution: "shop", times: 6 },
          { kind: "foreignWrite", distribution: "blog", when: "rollback" },
        ],
        expect: {
          rotations: [{ certificate: "edge", status: "rolled-back", reason: "SwapFailed" }],
          presenting: { edge: "old" },
        },
      },
      { inspect: end.inspect },
    );
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.rotations[0]!.detail).toMatch(
      /changed under every one of 6 UpdateDistribution attempts \(412 PreconditionFailed\)/,
    );
    expect(
      report.faults.foreignWrites.map((f) => [
        f.distribution,
        f.when,
        f.delivered,
        f.preconditionFailed,
        f.serviceUpdates,
        f.keptAtEnd,
      ]),
    ).toEqual([
      ["shop", "swap", 6, 6, 6, true],
      // Swapped in wave 0, then put back: the put-back met a foreign write, 412, and went in on its re-read.
      ["blog", "rollback", 1, 1, 3, true],
    ]);
    expect(end.configs.shop).toContain(
      "<Comment>changed by hand during a swap (sandbox foreign write 6 of shop)</Comment>",
    );
    expect(end.configs.blog).toContain(
      "<Comment>changed by hand during a rollback (sandbox foreign write 1 of blog)</Comment>",
    );
    const initial = report.certificates[0]!.initialArn;
    expect(finalArns(report)).toEqual({ "shop/api": initial, "blog/web": initial });
  }, 60_000);

  it("CloudWatch history seeded before the run is the gate's baseline: the same live 5xx rate passes where the history had it, fails where the history was clean", async () => {
    // Each distribution: the rotated origin, and an origin that is down (it presents another certificate,
    // so neither the preflight nor the gate probes it): the edge sees ~50% 5xx on both, before and after.
    const origins = [
      { name: "api", certificate: "edge" },
      { name: "old", certificate: "legacy", down: true },
    ];
    const run = await runScenarioDocument({
      name: "metric-history",
      authority,
      certificates: [
        { name: "edge", expiresInDays: 10, validityDays: 90 },
        { name: "legacy", expiresInDays: 80, validityDays: 90 },
      ],
      distributions: [
        { name: "steady", origins },
        { name: "incident", origins },
      ],
      policy: {
        bakeSeconds: 0,
        waves: { canarySize: 1, canaryPreference: ["steady"] },
        gate: { maxIncreasePoints: 20 },
      },
      metricHistory: [
        { distribution: "steady", errorRatePercent: 50, minutes: 10 },
        {
          distribution: "incident",
          points: [3, 2, 1].map((minutesAgo) => ({ minutesAgo, errorRatePercent: 0 })),
        },
      ],
      actions: [
        { action: "rotate", certificate: "edge" },
        { action: "wait", for: "rotations" },
      ],
      expect: {
        rotations: [{ certificate: "edge", status: "rolled-back", reason: "GateFailed" }],
        presenting: { edge: "old" },
        refusalsOnlyAt: ["steady/old", "incident/old"],
      },
    });
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.metricHistory.map((h) => [h.distribution, h.requestsPerMinute, h.points.length])).toEqual([
      ["steady", 2400, 10],
      ["incident", 2400, 3],
    ]);
    // The live rates: about half of each distribution's requests refused, before and after the swap.
    for (const d of report.distributions) {
      const requests = d.origins.reduce((n, o) => n + o.requests, 0);
      const refused = d.origins.reduce((n, o) => n + o.refused, 0);
      expect(refused / requests).toBeGreaterThan(0.35);
      expect(refused / requests).toBeLessThan(0.65);
    }
    // The baselines the plan read: the seeded history (and at most a few live samples).
    const [rotation] = report.rotations;
    expect(rotation!.baselines!.steady).toBeGreaterThan(45);
    expect(rotation!.baselines!.steady).toBeLessThan(55);
    expect(rotation!.baselines!.incident).toBeLessThan(3);
    // steady: 50% against 50% + 20 passes; incident: 50% against 0% + 20 fails, and the wave rolls back.
    expect(rotation!.waves.map((w) => [w.distributions.map((d) => d.name), w.gatePassed])).toEqual([
      [["steady"], true],
      [["incident"], false],
    ]);
    const incident = report.distributions.find((d) => d.name === "incident")!.id;
    expect(rotation!.detail).toMatch(new RegExp(`^wave 1: ${incident}: 5xx \\d+\\.\\d+% > 2\\d\\.\\d+%$`));
    expect(run.lines).toContainEqual(
      expect.stringMatching(/gate passed \(steady 5xx [\d.]+% <= 7\d\.\d% \(baseline [\d.]+%\)/),
    );
    expect(run.lines).toContainEqual(
      expect.stringContaining(
        "metric history: incident: 3 one-minute datapoint(s) of AWS/CloudFront 5xxErrorRate from 3 to 1 min before the run, 0% of 2400 requests a minute",
      ),
    );
  }, 60_000);
});
