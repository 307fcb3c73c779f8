/**
 * The health gate of a wave. CloudFront's datapoints reach CloudWatch minutes late, so an empty window means
 * "not yet": poll (durable waits between polls) until every swapped distribution has enough datapoints after
 * its swap deployed, one is over its threshold, or the metrics deadline (counted from the checkpointed
 * deployment time, so replays agree) has passed. Every clock reading happens inside a step. Then the metrics
 * as the last poll read them are judged together with fresh probes presenting the new certificate.
 */
import {
  boundGateResult,
  describeGateFailure,
  evaluateGate,
  judgeGate,
  type MetricsReading,
  resolveGatePolicy,
} from "../../core/gate.ts";
import { type GateResult, RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import { probeWithNewCertificate } from "./preflight.ts";
import type { Halt } from "./rollback.ts";
import { haltIfRollbackRequested } from "./rollback-requests.ts";

/**
 * One poll of the gate's metrics (a step result): seconds since the wave deployed, and the metrics verdict
 * judged inside the step (no probes), bounded: the first failing / waiting distributions and counts, so
 * its size does not grow with the wave.
 */
interface GatePoll {
  elapsedSeconds: number;
  result: GateResult;
}

/** A poll as executions recorded it before polls were judged inside their step: every distribution's reading. */
interface LegacyGatePoll {
  elapsedSeconds: number;
  metrics: Record<string, MetricsReading>;
}

/** A reason to roll back, or undefined when the wave passed its gate. */
export async function gate(
  r: Rotation,
  wave: number,
  swapped: string[],
  deployedAt: string,
): Promise<Halt | undefined> {
  const policy = resolveGatePolicy(r.settings.gate);
  const baselines = r.state.baselines ?? {};
  let metrics: GateResult;
  for (let poll = 1; ; poll += 1) {
    const reading = await r.act<GatePoll | LegacyGatePoll>(`gate:${wave}:metrics:${poll}`, async () => {
      // A safe point: a rollback requested while the gate waits for datapoints ends the wait.
      await haltIfRollbackRequested(r);
      const now = r.deps.now();
      const elapsedSeconds = Math.max(0, (now.getTime() - Date.parse(deployedAt)) / 1000);
      const readings = await r.deps.metrics.errorRateReadings(
        swapped,
        new Date(deployedAt),
        now,
        policy.periodSeconds,
      );
      return {
        elapsedSeconds,
        result: boundGateResult(
          evaluateGate({ metrics: readings, elapsedSeconds, baselines, probes: [], policy }),
        ),
      };
    });
    // Executions recorded before polls were judged in their step checkpointed every reading: judge them here.
    metrics =
      "result" in reading
        ? reading.result
        : boundGateResult(evaluateGate({ ...reading, baselines, probes: [], policy }));
    if (metrics.verdict !== "waiting") break;
    // Look again after one period (new datapoints come at most that often), or at the deadline.
    const untilDeadline = Math.ceil(policy.metricsDeadlineSeconds - reading.elapsedSeconds);
    await r.wait(
      `gate:${wave}:metrics:${poll}:wait`,
      Math.max(1, Math.min(policy.periodSeconds, untilDeadline)),
    );
  }
  const judged = await r.record(`gate:${wave}`, async () => ({
    type: "gate",
    at: r.at(),
    wave,
    result: judgeGate(metrics, await probeWithNewCertificate(r, swapped)),
  }));
  if (judged.result.passed) return undefined;
  return {
    reason: RotationReason.GateFailed,
    actor: "mtls-rotator",
    detail: `wave ${wave}: ${describeGateFailure(judged.result)}`,
  };
}
