/**
 * A gate per wave, at fleet scale, on the real durable runtime (local runner, time skipped) against the
 * stand-ins, dynalite and real TLS origins: a gate over a wave of 2,000 distributions (out of 2,500) sharing
 * 10 origins reads each of the wave's configs once and no other, probes each of the 10 origins once, asks
 * CloudWatch for the wave only (500 queries a call), and keeps every step result it checkpoints under 64 KB;
 * failing, it still names its first failing distributions and refused probes, and counts them all.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { describe, expect, it } from "vitest";
import type { GateResult, RotationEvent } from "../../functions/core/rotation.ts";
import { probeAll } from "../../functions/probe/origin-probe.ts";
import { gate } from "../../functions/workflow/phases/gate.ts";
import { issue } from "../../functions/workflow/phases/issue.ts";
import { plan } from "../../functions/workflow/phases/plan.ts";
import type { RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import { openRotation } from "../../functions/workflow/steps.ts";
import { countReads, sum } from "../support/cloudfront-reads.ts";
import { useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import { useFleets } from "../support/fleets.ts";

useDurableRunner({ skipTime: true });

const fleet = useFleets();

/** JSON size of a step's checkpointed result, in bytes. */
function resultBytes(op: { getStepDetails(): { result?: unknown } | undefined }): number {
  return Buffer.byteLength(JSON.stringify(op.getStepDetails()?.result ?? null), "utf8");
}

describe("a gate over a wave of 2,000 distributions sharing 10 origins", () => {
  const DISTRIBUTIONS = 2_500;
  const WAVE = 2_000;
  const ORIGINS = 10;
  const OVER_THRESHOLD = 30;
  const MAX_STEP_RESULT = 64 * 1024;

  it("reads each of the wave's configs once, probes each origin once, stays small, names the first failures", async () => {
    const f = await fleet({
      distributions: DISTRIBUTIONS,
      sharedOrigins: ORIGINS,
      // A CA change: origins trust the old CA; all but one are given the new one before the gate.
      newIssuer: "other",
      settings: { waves: { canarySize: 1, waves: [{ count: WAVE }, { percent: 100 }] } },
    });
    const origins = [...new Set(f.origins.values())];
    expect(origins).toHaveLength(ORIGINS);
    const refusing = origins[0]!;
    for (const origin of origins.slice(1)) await origin.trust(f.bothTrustPem);

    const { reads, clear } = countReads(f);
    const probed: string[][] = [];
    let waveIds: string[] = [];
    let metricCallsBefore = 0;
    const handler = withWaitsThatAddUp(workflow).handler<RotationInput, { detail: string | null }>(
      async (input, ctx) => {
        const r = openRotation(input, ctx, {
          ...f.deps,
          probe: (endpoints, identity, options) => {
            probed.push(endpoints.map((e) => `${e.host}:${e.port}`));
            return probeAll(endpoints, identity, options);
          },
        });
        if (await plan(r)) throw new Error("plan failed");
        if (await issue(r)) throw new Error("issue failed");
        const wave = r.state.waves[1]!;
        waveIds = wave.distributions.map((d) => d.distributionId);
        // The wave deployed now; some of its distributions answer 5xx from the first whole minute after.
        const deployedAt = await r.act("test:deployed", async () => {
          clear();
          metricCallsBefore = f.standins.server.count("monitoring", "GetMetricData");
          const at = r.at();
          const minute = new Date(Math.ceil(Date.parse(at) / 60_000) * 60_000);
          for (const id of waveIds.slice(0, OVER_THRESHOLD)) {
            for (let m = 0; m < 10; m += 1) {
              f.standins.cloudwatch.record(
                "AWS/CloudFront",
                "5xxErrorRate",
                { DistributionId: id, Region: "Global" },
                40,
                new Date(minute.getTime() + m * 60_000),
              );
            }
          }
          return at;
        });
        const halt = await gate(r, 1, waveIds, deployedAt);
        return { detail: halt?.detail ?? null };
      },
    );
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    const result = await runner.run({ payload: f.input() });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(waveIds).toHaveLength(WAVE);

    // Reads: the wave's configs, each once; nothing outside the wave.
    expect(reads.config.size).toBe(WAVE);
    expect([...reads.config.keys()].every((id) => waveIds.includes(id))).toBe(true);
    expect(Math.max(...reads.config.values())).toBe(1);
    // Probes: each distinct origin once, in one call.
    expect(probed).toHaveLength(1);
    expect(probed[0]).toHaveLength(ORIGINS);
    expect(new Set(probed[0]).size).toBe(ORIGINS);

    const ops = result.getOperations();
    const polls = ops.filter((op) => /^gate:1:metrics:\d+$/.test(op.getName() ?? ""));
    const judged = ops.find((op) => op.getName() === "gate:1")!;
    // CloudWatch: the wave's 2,000 distributions in calls of 500 queries, at each poll that has a whole
    // period to read (none before the first period after the deployment ended).
    const metricCalls = f.standins.server.count("monitoring", "GetMetricData") - metricCallsBefore;
    expect(metricCalls).toBeGreaterThan(0);
    expect(metricCalls % Math.ceil(WAVE / 500)).toBe(0);
    expect(metricCalls).toBeLessThanOrEqual(polls.length * Math.ceil(WAVE / 500));

    // Every step result of the gate is small, whatever the wave's size.
    const sizes = [...polls, judged].map(resultBytes);
    for (const size of sizes) expect(size).toBeLessThan(MAX_STEP_RESULT);
    console.log(
      `[gate-scale] wave ${WAVE}/${DISTRIBUTIONS} on ${ORIGINS} origins: GetDistributionConfig ${sum(reads.config)}, ` +
        `probes ${probed.flat().length}, GetMetricData ${metricCalls} over ${polls.length} poll(s); ` +
        `largest metrics poll ${Math.max(...sizes.slice(0, -1))} B, gate ${sizes.at(-1)} B`,
    );

    // Failing, it names the first failing distributions and refused probes, and counts them all.
    const event = judged.getStepDetails()?.result as Extract<RotationEvent, { type: "gate" }>;
    const gateResult: GateResult = event.result;
    const onRefusing = waveIds.filter((id) => f.origins.get(id) === refusing);
    expect(onRefusing.length).toBeGreaterThan(20);
    expect(gateResult).toMatchObject({
      passed: false,
      verdict: "failed",
      counts: {
        checks: WAVE,
        // Evidence of harm needs no quorum: the gate failed at the first poll that saw it, while the
        // others still waited for datapoints.
        checksPassed: 0,
        byReason: { OverThreshold: OVER_THRESHOLD, AwaitingDatapoints: WAVE - OVER_THRESHOLD },
        probes: WAVE,
        probesRefused: onRefusing.length,
      },
    });
    expect(gateResult.checks).toHaveLength(20);
    expect(gateResult.checks.every((c) => c.reason === "OverThreshold" && c.errorRate === 40)).toBe(true);
    expect(gateResult.checks.every((c) => waveIds.slice(0, OVER_THRESHOLD).includes(c.distributionId))).toBe(
      true,
    );
    expect(gateResult.probes).toHaveLength(20);
    expect(gateResult.probes.every((p) => !p.accepted && p.status === 400)).toBe(true);
    expect(gateResult.probes.every((p) => onRefusing.includes(p.target.split("/")[0]!))).toBe(true);
    const { detail } = result.getResult() as { detail: string };
    expect(detail).toContain(`${gateResult.checks[0]!.distributionId}: 5xx 40.00% > 2.00%`);
    expect(detail).toContain(
      `in all, of ${WAVE} distribution(s): ${OVER_THRESHOLD} over threshold, ${WAVE - OVER_THRESHOLD} still waiting for datapoints; ${onRefusing.length} of ${WAVE} probe(s) refused`,
    );
    expect(detail.length).toBeLessThan(8_000);
  }, 300_000);
});
