/**
 * Preflight: every target origin must accept the new certificate in a real mTLS request before anything
 * presents it. Each attempt probes every origin with the new certificate AND with the certificate in
 * service (when the service holds its credential), and accepts the new one for an origin only when the
 * answers agree (core/preflight.ts): an origin that refuses an unknown certificate at the application level
 * (a 403 where the current certificate gets a 200) refuses it here too. An origin that refuses is asked
 * again until the deadline; then the rotation aborts.
 */
import { isCompleteCredential, STAGE } from "../../adapters/secrets.ts";
import { type AcknowledgementCheck, judgeAcknowledgement } from "../../core/acknowledgement.ts";
import {
  describeRefusal,
  judgeByProof,
  judgePreflightProbe,
  type PreflightProof,
} from "../../core/preflight.ts";
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

/** Refusals a preflight abort names (the rest are counted). */
const REFUSALS_NAMED = 10;

/** The distributions the rotation swaps, with their origins. */
function targetsOf(state: RotationState) {
  return state.waves.flatMap((w) => w.distributions);
}

/** An origin as the preflight sees it: where a probe reaches it, and which proof counts for it. */
interface PreflightOrigin extends OriginEndpoint {
  proof: PreflightProof;
  ackId?: string;
}

/**
 * The proof settings name for an origin: by "distributionId/originId" first, then by its domain name;
 * "probe" when neither is listed (and when nothing is: the settings before acknowledgements existed).
 */
export function proofOf(
  settings: Rotation["settings"],
  target: string,
  domainName: string,
): { proof: PreflightProof; ackId?: string } {
  const proofs = settings.preflight.proofs ?? {};
  const entry = proofs[target] ?? proofs[domainName.toLowerCase()];
  if (!entry || entry.proof === "probe") return { proof: "probe" };
  return { proof: entry.proof, ...(entry.ackId !== undefined ? { ackId: entry.ackId } : {}) };
}

/** Distributions whose configs are read at once to find their origins (GetDistributionConfig each). */
export const CONFIG_READ_CONCURRENCY = 8;

/** `work` on every item, at most `concurrency` at once; results in the items' order. */
async function eachBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * The origins of the rotation's distributions (or of `distributionIds` only: a wave's), as the probes reach
 * them: one config read per distribution, CONFIG_READ_CONCURRENCY at once, in the rotation's order.
 */
async function endpointsOf(r: Rotation, distributionIds?: readonly string[]): Promise<PreflightOrigin[]> {
  const only = distributionIds ? new Set(distributionIds) : undefined;
  const targets = targetsOf(r.state).filter((t) => !only || only.has(t.distributionId));
  const origins = await eachBounded(targets, CONFIG_READ_CONCURRENCY, (target) =>
    r.deps.distributions.originEndpoints(target.distributionId, target.originIds),
  );
  return targets.flatMap((target, i) =>
    origins[i]!.map((origin) => {
      const name = `${target.distributionId}/${origin.originId}`;
      return {
        target: name,
        host: origin.domainName,
        port: origin.httpsPort,
        path: r.settings.preflight.probePath,
        ...proofOf(r.settings, name, origin.domainName),
      };
    }),
  );
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
 * A probe that asks each endpoint (host, port, path) once, however many distributions' origins lead to it
 * (a fleet of thousands of distributions on a few origins makes a few requests, not thousands), and answers
 * every target with its endpoint's result, in the order asked.
 */
export function eachEndpointOnce(probe: typeof probeAll): typeof probeAll {
  return async (endpoints, identity, options) => {
    const keyOf = originKey;
    const unique = new Map<string, OriginEndpoint>();
    for (const e of endpoints) if (!unique.has(keyOf(e))) unique.set(keyOf(e), e);
    const results = await probe([...unique.values()], identity, options);
    const byKey = new Map([...unique.keys()].map((key, i) => [key, results[i]!]));
    return endpoints.map((e) => ({ ...byKey.get(keyOf(e))!, target: e.target }));
  };
}

/** Only what a probe needs (no proof settings in the probe's input). */
function asEndpoint({ target, host, port, path }: PreflightOrigin): OriginEndpoint {
  return { target, host, port, path };
}

/** Where a probe goes: origins with the same host, port and path answer one probe. */
function originKey({ host, port, path }: OriginEndpoint): string {
  return `${host.toLowerCase()}:${port}${path ?? "/"}`;
}

/**
 * A real mTLS request to every origin of the rotation's distributions (or of `distributionIds`), presenting
 * the new certificate as staged in the issuance secret. The gate's probes (after the swap): today's rule.
 * Each distinct origin (host, port, path) is probed once, however many distributions use it, and its answer
 * is reported for each of them (one result per "distributionId/originId", in the rotation's order).
 * Origins whose proof is an acknowledgement alone are not probed: the workflow cannot reach them (they
 * accept connections from CloudFront only); the gate judges them by CloudFront's metrics.
 */
export async function probeWithNewCertificate(
  r: Rotation,
  distributionIds?: readonly string[],
): Promise<ProbeResult[]> {
  const probe = eachEndpointOnce(r.deps.probe ?? probeAll);
  const reachable = (await endpointsOf(r, distributionIds))
    .filter((e) => e.proof !== "acknowledgement")
    .map(asEndpoint);
  if (reachable.length === 0) return [];
  return probe(reachable, await newIdentity(r), { originServerCaPem: r.settings.originServerCaPem });
}

/**
 * Reads and judges the acknowledgements `ackIds` name, each once (origins may share a host): for the
 * rotation's bundle and its new certificate. Public facts only.
 */
async function acknowledgementsOf(
  r: Rotation,
  ackIds: readonly string[],
): Promise<Map<string, AcknowledgementCheck>> {
  const checks = new Map<string, AcknowledgementCheck>();
  if (ackIds.length === 0) return checks;
  const store = r.deps.acknowledgements;
  if (!store) throw new Error("acknowledgements are not wired: an origin's proof needs one");
  const expected = {
    bundleSha256: r.state.bundleSha256 ?? "",
    newCertificateSha256: r.state.issued?.fingerprint ?? "",
  };
  const unique = [...new Set(ackIds)];
  const read = await Promise.all(unique.map((id) => store.read(id)));
  for (const [i, id] of unique.entries()) checks.set(id, judgeAcknowledgement(id, read[i], expected));
  return checks;
}

/**
 * One preflight attempt: every origin whose proof includes the probe is probed with the new certificate
 * and, at the same time (same path, same timeout), with the current one, and judged on both answers
 * (core/preflight.ts); every origin whose proof includes an acknowledgement has it read and judged
 * (core/acknowledgement.ts); each origin's verdict follows its proof. Both credentials are read here and
 * dropped here: the result holds statuses, transport errors and acknowledgement facts only.
 */
export async function probeAgainstCurrent(
  r: Rotation,
): Promise<{ probes: ProbeResult[]; compared: PreflightComparison }> {
  const origins = await endpointsOf(r);
  const probed = origins.filter((o) => o.proof !== "acknowledgement");
  const [fresh, current, acknowledgements] = await Promise.all([
    newIdentity(r),
    currentIdentity(r),
    acknowledgementsOf(
      r,
      origins.flatMap((o) => (o.proof !== "probe" && o.ackId ? [o.ackId] : [])),
    ),
  ]);
  const probe = eachEndpointOnce(r.deps.probe ?? probeAll);
  const options = { originServerCaPem: r.settings.originServerCaPem };
  const endpoints = probed.map(asEndpoint);
  const [withNew, withCurrent] =
    endpoints.length === 0
      ? [[], undefined]
      : await Promise.all([
          probe(endpoints, fresh, options),
          current.identity ? probe(endpoints, current.identity, options) : undefined,
        ]);
  const judged = new Map(
    withNew.map((p, i) => [probed[i]!.target, judgePreflightProbe(p.target, p, withCurrent?.[i])]),
  );
  const probes = origins.map((o) =>
    judgeByProof(
      o.target,
      o.proof,
      judged.get(o.target),
      o.ackId === undefined ? undefined : acknowledgements.get(o.ackId),
    ),
  );
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
    // A large fleet's event lists the first refusals and counts them all (core/rotation.ts checkpointForm).
    const refused = result.probes.filter((p) => !p.accepted);
    const refusedCount = result.counts?.refused ?? refused.length;
    if (refusedCount === 0) return undefined;
    if (result.deadlinePassed) {
      const named = refused.slice(0, REFUSALS_NAMED).map(describeRefusal).join(", ");
      const more = refusedCount - Math.min(refused.length, REFUSALS_NAMED);
      return {
        status: "aborted",
        reason: RotationReason.PreflightRefused,
        detail: `origins refused the new certificate: ${named}${more > 0 ? `, and ${more} more (of ${refusedCount}: GET /rotations/${r.id})` : ""}`,
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
