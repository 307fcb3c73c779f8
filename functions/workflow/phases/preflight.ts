/**
 * Preflight: every target origin must accept the new certificate in a real mTLS request before anything
 * presents it. Each attempt probes every origin with the new certificate AND with the certificate in
 * service (when the service holds its credential), and accepts the new one for an origin only when the
 * answers agree (core/preflight.ts): an origin that refuses an unknown certificate at the application level
 * (a 403 where the current certificate gets a 200) refuses it here too. An origin that refuses is asked
 * again until the deadline; then the rotation aborts.
 */
import { isCompleteCredential, STAGE } from "../../adapters/secrets.ts";
import { describeRefusal, judgePreflightProbe } from "../../core/preflight.ts";
import {
  type PreflightComparison,
  type ProbeResult,
  type RotationEvent,
  RotationReason,
  type RotationState,
} from "../../core/rotation.ts";
import { readStagedCredential } from "../../issuance/issue-certificate.ts";
import { type ClientIdentity, type OriginEndpoint, probeAll } from "../../probe/origin-probe.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";
import { issuanceOf } from "./issue.ts";
import { credentialSecretOf } from "./plan.ts";

/** The distributions the rotation swaps, with their origins. */
function targetsOf(state: RotationState) {
  return state.waves.flatMap((w) => w.distributions);
}

/** The origins of the rotation's distributions (or of `distributionIds`), as the probes reach them. */
async function endpointsOf(r: Rotation, distributionIds?: string[]): Promise<OriginEndpoint[]> {
  const endpoints: OriginEndpoint[] = [];
  for (const target of targetsOf(r.state)) {
    if (distributionIds && !distributionIds.includes(target.distributionId)) continue;
    for (const origin of await r.deps.distributions.originEndpoints(
      target.distributionId,
      target.originIds,
    )) {
      endpoints.push({
        target: `${target.distributionId}/${origin.originId}`,
        host: origin.domainName,
        port: origin.httpsPort,
        path: r.settings.preflight.probePath,
      });
    }
  }
  return endpoints;
}

/** The new certificate as staged in the issuance secret (where it lives until promotion). Never returned. */
async function newIdentity(r: Rotation): Promise<ClientIdentity> {
  const credential = await readStagedCredential(r.deps.issuance, issuanceOf(r));
  return {
    certificatePem: credential.certificatePem,
    chainPem: credential.chainPem,
    privateKeyPem: credential.privateKeyPem,
  };
}

function normalSerial(serial: string): string {
  return serial.replace(/:/g, "").toLowerCase();
}

/**
 * The credential CloudFront presents now, to compare the new certificate's answers with: the credential
 * secret's AWSCURRENT, when it is a complete credential of the certificate in service (same ARN and
 * serial). Otherwise nothing, and why: a certificate imported outside this service has no credential
 * secret version before its first rotation completes (the service never held its key); a secret whose
 * AWSCURRENT is another certificate (drift, a re-import over the ARN) would prove nothing about this one.
 * The identity (with its key) stays in the caller's step; only the comparison (ARN, serial) is returned.
 */
async function currentIdentity(
  r: Rotation,
): Promise<{ identity?: ClientIdentity; compared: PreflightComparison }> {
  const secret = credentialSecretOf(r);
  const old = r.state.old!;
  const stage = await r.deps.issuance.credentials.readCredentialStage(secret, STAGE.current);
  const nothing = (why: string) => ({ compared: { with: "nothing" as const, why } });
  if (!stage) {
    return nothing(
      `no credential in service in ${secret} (a certificate imported outside this service, before its first rotation): the new certificate's answers alone decide`,
    );
  }
  const value = stage.value;
  if (!isCompleteCredential(value)) {
    return nothing(
      `AWSCURRENT of ${secret} is not a complete credential: the new certificate's answers alone decide`,
    );
  }
  if (value.certificateArn !== old.arn || normalSerial(value.serial) !== normalSerial(old.serial)) {
    return nothing(
      `AWSCURRENT of ${secret} is ${value.certificateArn} (serial ${value.serial}), not the certificate in service ${old.arn} (serial ${old.serial}): the new certificate's answers alone decide`,
    );
  }
  return {
    identity: {
      certificatePem: value.certificatePem,
      chainPem: value.chainPem,
      privateKeyPem: value.privateKeyPem,
    },
    compared: { with: "current-credential", certificateArn: old.arn, serial: old.serial },
  };
}

/**
 * A real mTLS request to every origin of the rotation's distributions (or of `distributionIds`), presenting
 * the new certificate as staged in the issuance secret. The gate's probes (after the swap): today's rule.
 */
export async function probeWithNewCertificate(
  r: Rotation,
  distributionIds?: string[],
): Promise<ProbeResult[]> {
  const probe = r.deps.probe ?? probeAll;
  return probe(await endpointsOf(r, distributionIds), await newIdentity(r), {
    originServerCaPem: r.settings.originServerCaPem,
  });
}

/**
 * One preflight attempt's probes: every origin with the new certificate and, at the same time (same path,
 * same timeout), with the current one; each origin judged on both answers (core/preflight.ts). Both
 * credentials are read here and dropped here: the result holds statuses and transport errors only.
 */
export async function probeAgainstCurrent(
  r: Rotation,
): Promise<{ probes: ProbeResult[]; compared: PreflightComparison }> {
  const endpoints = await endpointsOf(r);
  const [fresh, current] = await Promise.all([newIdentity(r), currentIdentity(r)]);
  const probe = r.deps.probe ?? probeAll;
  const options = { originServerCaPem: r.settings.originServerCaPem };
  const [withNew, withCurrent] = await Promise.all([
    probe(endpoints, fresh, options),
    current.identity ? probe(endpoints, current.identity, options) : undefined,
  ]);
  const probes = withNew.map((p, i) => judgePreflightProbe(p.target, p, withCurrent?.[i]));
  return { probes, compared: current.compared };
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
        const { probes, compared } = await probeAgainstCurrent(r);
        const elapsedSeconds = (r.deps.now().getTime() - (startedAt ?? Date.parse(at))) / 1000;
        return {
          type: "preflight",
          at,
          attempt,
          probes,
          compared,
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
        detail: `origins refused the new certificate: ${refused.map(describeRefusal).join(", ")}`,
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
