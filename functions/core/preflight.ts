/**
 * The preflight's verdict on one origin, from what it answered the new certificate and, when the service
 * holds the credential in service, what it answered that one (same path, same timeout, same attempt).
 *
 * An origin may refuse a client certificate at the TLS layer (handshake failure, nginx's 400/495/496) or
 * at the application layer (any status: 403 from `ssl_verify_client optional_no_ca` + an `if`, a 401 from
 * an application that checks the certificate itself...). The second kind is told apart only by comparison:
 * the new certificate is accepted when its answer is of the same status class (2xx, 3xx, 4xx, 5xx) as the
 * answer to the certificate CloudFront presents today, so the swap changes nothing the origin decides.
 *
 * Rules, first match wins (each a named reason, shared by the event, the API and the abort's detail):
 * 1. `Refused` — the new certificate got no HTTP answer, or 400/495/496 (today's rule, always applied).
 * 2. `NotCompared` — accepted: nothing to compare with (no credential in service in the credential secret,
 *    e.g. a certificate imported outside this service before its first rotation); today's rule alone.
 * 3. `SameStatusClass` — accepted: both answered, in the same class (200/200, 401/401, 404/403...).
 * 4. `Served` — accepted: the new certificate got a 2xx, whatever the current one got. A 2xx is the
 *    origin serving the certificate; when the current one is refused (it expired, the origin already dropped
 *    its CA) the swap can only mend the origin, and refusing would block the rotation that ends an outage.
 * 5. `CurrentRefused` — refused: the current certificate is refused too (no HTTP answer, or 400/495/496),
 *    so the origin gives no baseline, and the new one's answer is no 2xx (a 401, 403, 302...): the origin
 *    proves nothing about the new certificate. Fail closed: an origin that refuses the certificate in
 *    service is broken or misconfigured, and an operator must look at it before anything is swapped.
 * 6. `StatusClassDiffers` — refused: e.g. 403 (or a 302 to a login page) to the new certificate, 200 to the
 *    current one: an application-level refusal.
 *
 * Pure: no I/O, no clock, no key material (statuses and transport error messages only).
 */
import { type AcknowledgementCheck, describeAcknowledgement } from "./acknowledgement.ts";
import type { ProbeResult } from "./rotation.ts";

/**
 * Which proof counts for an origin (settings `preflight.proofs`): "probe" (a real mTLS request from the
 * workflow, the rules above; the default), "acknowledgement" (origin-sync on the origin's host acknowledged
 * the rotation's bundle: core/acknowledgement.ts; for origins that accept connections only from CloudFront),
 * or "both" (each must pass).
 */
export const PREFLIGHT_PROOFS = ["probe", "acknowledgement", "both"] as const;
export type PreflightProof = (typeof PREFLIGHT_PROOFS)[number];

/** HTTP statuses with which TLS servers refuse a client certificate after the handshake (nginx: 400/495/496). */
export const REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 495, 496]);

export const PreflightProbeReason = {
  Refused: "Refused",
  NotCompared: "NotCompared",
  SameStatusClass: "SameStatusClass",
  Served: "Served",
  CurrentRefused: "CurrentRefused",
  StatusClassDiffers: "StatusClassDiffers",
  /** Proof "acknowledgement": the origin's acknowledgement counts (see `acknowledgement.reason`). */
  Acknowledged: "Acknowledged",
  /** Proof "acknowledgement" or "both": no acknowledgement that counts (see `acknowledgement.reason`). */
  NotAcknowledged: "NotAcknowledged",
} as const;
export type PreflightProbeReason = (typeof PreflightProbeReason)[keyof typeof PreflightProbeReason];
export const PREFLIGHT_PROBE_REASONS = Object.values(PreflightProbeReason) as [
  PreflightProbeReason,
  ...PreflightProbeReason[],
];

/** One certificate's answer: an HTTP status, or none (and why: the transport error's message). */
export interface ProbeAnswer {
  status: number | null;
  error?: string;
}

/** Whether the TLS layer (or no answer at all) refused the certificate: today's rule. */
export function refusedAtTls(answer: ProbeAnswer): boolean {
  return answer.status === null || REFUSAL_STATUSES.has(answer.status);
}

/** 2 for 2xx, 4 for 4xx... */
export function statusClass(status: number): number {
  return Math.floor(status / 100);
}

/**
 * The preflight's probe result for one origin: the new certificate's answer (`status`, `error`), the
 * current one's (`current`, absent when there is nothing to compare with), the verdict and its reason.
 */
export function judgePreflightProbe(
  target: string,
  fresh: ProbeAnswer,
  current: ProbeAnswer | undefined,
): ProbeResult {
  const verdict = (accepted: boolean, reason: PreflightProbeReason): ProbeResult => ({
    target,
    status: fresh.status,
    accepted,
    ...(fresh.error !== undefined ? { error: fresh.error } : {}),
    ...(current
      ? {
          current: {
            status: current.status,
            ...(current.error !== undefined ? { error: current.error } : {}),
          },
        }
      : {}),
    reason,
  });
  if (refusedAtTls(fresh)) return verdict(false, "Refused");
  if (!current) return verdict(true, "NotCompared");
  const currentRefused = refusedAtTls(current);
  if (!currentRefused && statusClass(fresh.status!) === statusClass(current.status!)) {
    return verdict(true, "SameStatusClass");
  }
  if (statusClass(fresh.status!) === 2) return verdict(true, "Served");
  return currentRefused ? verdict(false, "CurrentRefused") : verdict(false, "StatusClassDiffers");
}

/**
 * The verdict on one origin under its proof: "probe" is the probe's verdict unchanged; "acknowledgement"
 * is the acknowledgement's (the origin is not probed: `status` null); "both" needs both, and a refusing
 * probe's reason comes first.
 */
export function judgeByProof(
  target: string,
  proof: PreflightProof,
  probe: ProbeResult | undefined,
  acknowledgement: AcknowledgementCheck | undefined,
): ProbeResult {
  if (proof === "probe") {
    if (!probe) throw new Error(`preflight: no probe result for ${target}`);
    return probe;
  }
  if (!acknowledgement) throw new Error(`preflight: no acknowledgement read for ${target}`);
  if (proof === "acknowledgement") {
    return {
      target,
      status: null,
      accepted: acknowledgement.accepted,
      reason: acknowledgement.accepted ? "Acknowledged" : "NotAcknowledged",
      proof,
      acknowledgement,
    };
  }
  if (!probe) throw new Error(`preflight: no probe result for ${target}`);
  const accepted = probe.accepted && acknowledgement.accepted;
  return {
    ...probe,
    accepted,
    ...(probe.accepted && !acknowledgement.accepted ? { reason: "NotAcknowledged" as const } : {}),
    proof,
    acknowledgement,
  };
}

function answerText(answer: ProbeAnswer): string {
  return answer.status === null ? (answer.error ?? "no answer") : String(answer.status);
}

/** A refused origin as the abort's detail names it: what each certificate got, and why that is a refusal. */
export function describeRefusal(probe: ProbeResult): string {
  if (probe.reason === "NotAcknowledged" && probe.acknowledgement) {
    const probed = probe.proof === "both" ? `${answerText(probe)} to the new certificate, ` : "";
    return `${probe.target} (${probed}not acknowledged: ${describeAcknowledgement(probe.acknowledgement)})`;
  }
  const fresh = answerText(probe);
  if (!probe.current) return `${probe.target} (${fresh})`;
  const current = answerText(probe.current);
  switch (probe.reason) {
    case "StatusClassDiffers":
      return `${probe.target} (${fresh} to the new certificate, ${current} to the current one: a different answer)`;
    case "CurrentRefused":
      return `${probe.target} (${fresh} to the new certificate, ${current} to the current one: the current certificate is refused too, the origin proves nothing)`;
    default:
      return `${probe.target} (${fresh} to the new certificate, ${current} to the current one)`;
  }
}
