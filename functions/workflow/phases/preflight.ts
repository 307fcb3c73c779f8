/**
 * Preflight: every target origin must accept the new certificate in a real mTLS request before anything
 * presents it. An origin that refuses is asked again until the deadline; then the rotation aborts.
 */
import {
  type ProbeResult,
  type RotationEvent,
  RotationReason,
  type RotationState,
} from "../../core/rotation.ts";
import { readStagedCredential } from "../../issuance/issue-certificate.ts";
import { type OriginEndpoint, probeAll } from "../../probe/origin-probe.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";
import { issuanceOf } from "./issue.ts";

/** The distributions the rotation swaps, with their origins. */
function targetsOf(state: RotationState) {
  return state.waves.flatMap((w) => w.distributions);
}

/**
 * A real mTLS request to every origin of the rotation's distributions (or of `distributionIds`), presenting
 * the new certificate as staged in the issuance secret (where it lives until promotion).
 */
export async function probeWithNewCertificate(
  r: Rotation,
  distributionIds?: string[],
): Promise<ProbeResult[]> {
  const { deps, settings } = r;
  const endpoints: OriginEndpoint[] = [];
  for (const target of targetsOf(r.state)) {
    for (const origin of await deps.distributions.originEndpoints(target.distributionId, target.originIds)) {
      endpoints.push({
        target: `${target.distributionId}/${origin.originId}`,
        host: origin.domainName,
        port: origin.httpsPort,
        path: settings.preflight.probePath,
      });
    }
  }
  const credential = await readStagedCredential(deps.issuance, issuanceOf(r));
  const probe = deps.probe ?? probeAll;
  const all = await probe(
    endpoints,
    {
      certificatePem: credential.certificatePem,
      chainPem: credential.chainPem,
      privateKeyPem: credential.privateKeyPem,
    },
    { originServerCaPem: settings.originServerCaPem },
  );
  if (!distributionIds) return all;
  return all.filter((p) => distributionIds.some((id) => p.target.startsWith(`${id}/`)));
}

/**
 * Probe until every origin accepts or the deadline passes. The deadline is time, counted from the first
 * attempt's start: an origin slow to refuse does not stretch it by attempts. Each attempt reads the clock
 * inside its step (checkpointed, so a replay decides the same); an attempt starts only before the deadline,
 * so the preflight ends within its timeout plus one probe's timeout.
 */
export async function preflight(r: Rotation): Promise<Stop | undefined> {
  const { preflight: policy } = r.settings;
  let startedAt: number | undefined;
  for (let attempt = 1; targetsOf(r.state).length > 0; attempt += 1) {
    let result: Extract<RotationEvent, { type: "preflight" }>;
    try {
      result = await r.record(`preflight:${attempt}`, async () => {
        const at = r.at();
        const probes = await probeWithNewCertificate(r);
        const elapsedSeconds = (r.deps.now().getTime() - (startedAt ?? Date.parse(at))) / 1000;
        return {
          type: "preflight",
          at,
          attempt,
          probes,
          // Less than a second left is no time for another attempt (durable waits are whole seconds).
          deadlinePassed: policy.timeoutSeconds - elapsedSeconds < 1,
          elapsedSeconds,
        };
      });
    } catch (error) {
      // Probing itself failed (not an origin refusing): nothing was swapped, so undo and end.
      return {
        status: "failed",
        reason: RotationReason.Unexpected,
        detail: `preflight failed: ${(error as Error).message}`,
      };
    }
    startedAt ??= Date.parse(result.at);
    const refused = result.probes.filter((p) => !p.accepted);
    if (refused.length === 0) return undefined;
    if (result.deadlinePassed) {
      return {
        status: "aborted",
        reason: RotationReason.PreflightRefused,
        detail: `origins refused the new certificate: ${refused.map((p) => `${p.target} (${p.status ?? p.error})`).join(", ")}`,
      };
    }
    // Until the next attempt, but never past the deadline (an execution recorded before elapsedSeconds was
    // kept waits its interval, as it did).
    const remaining =
      result.elapsedSeconds === undefined
        ? policy.intervalSeconds
        : Math.floor(policy.timeoutSeconds - result.elapsedSeconds);
    await r.wait(`preflight:${attempt}:wait`, Math.max(1, Math.min(policy.intervalSeconds, remaining)));
  }
  return undefined;
}
