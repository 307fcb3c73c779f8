/**
 * The health gate of a wave. CloudFront's datapoints reach CloudWatch minutes late, so an empty window means
 * "not yet": poll (durable waits between polls) until every swapped distribution has enough datapoints after
 * its swap deployed, one is over its threshold, or the metrics deadline (counted from the checkpointed
 * deployment time, so replays agree) has passed. Every clock reading happens inside a step. Then the metrics
 * as the last poll read them are judged together with fresh probes presenting the new certificate.
 */
import {
  describeGateFailure,
  evaluateGate,
  type MetricsReading,
  resolveGatePolicy,
} from "../../core/gate.ts";
import { RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import { probeWithNewCertificate } from "./preflight.ts";
import type { Halt } from "./rollback.ts";
import { haltIfRollbackRequested } from "./rollback-requests.ts";

/** One poll of the gate's metrics (a step result): seconds since the wave deployed, and what CloudWatch had. */
interface GateReading {
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
  let reading: GateReading;
  for (let poll = 1; ; poll += 1) {
    reading = await r.act(`gate:${wave}:metrics:${poll}`, async () => {
      // A safe point: a rollback requested while the gate waits for datapoints ends the wait.
      await haltIfRollbackRequested(r);
      const now = r.deps.now();
      return {
        elapsedSeconds: Math.max(0, (now.getTime() - Date.parse(deployedAt)) / 1000),
        metrics: await r.deps.metrics.errorRateReadings(
          swapped,
          new Date(deployedAt),
          now,
          policy.periodSeconds,
        ),
      };
    });
    const { verdict } = evaluateGate({ ...reading, baselines, probes: [], policy });
    if (verdict !== "waiting") break;
    // Look again after one period (new datapoints come at most that often), or at the deadline.
    const untilDeadline = Math.ceil(policy.metricsDeadlineSeconds - reading.elapsedSeconds);
    await r.wait(
      `gate:${wave}:metrics:${poll}:wait`,
      Math.max(1, Math.min(policy.periodSeconds, untilDeadline)),
    );
  }
  const metrics = reading;
  const judged = await r.record(`gate:${wave}`, async () => ({
    type: "gate",
    at: r.at(),
    wave,
    result: evaluateGate({
      ...metrics,
      baselines,
      probes: await probeWithNewCertificate(r, swapped),
      policy,
    }),
  }));
  if (judged.result.passed) return undefined;
  return {
    reason: RotationReason.GateFailed,
    actor: "mtls-rotator",
    detail: `wave ${wave}: ${describeGateFailure(judged.result)}`,
  };
}
