/**
 * When is a certificate due for rotation? cert-manager style: one pure function computes the renewal time
 * from notBefore, notAfter and renewBefore; a chain of named checks decides, first failure wins.
 */
import { isSupportedKeyAlgorithm, type ManagedCertificate } from "./certificate.ts";

/** Renew this long before expiry, or when this fraction of the lifetime is left. */
export type RenewBefore = { durationMs: number } | { fractionOfLifetime: number };

export const DEFAULT_RENEW_BEFORE: RenewBefore = { fractionOfLifetime: 1 / 3 };

export const RenewalReason = {
  NotManaged: "NotManaged",
  InvalidValidity: "InvalidValidity",
  UnsupportedKey: "UnsupportedKey",
  Expired: "Expired",
  Due: "Due",
  Fresh: "Fresh",
} as const;
export type RenewalReason = (typeof RenewalReason)[keyof typeof RenewalReason];

export interface RenewalDecision {
  /** true when a rotation should start now. */
  rotate: boolean;
  reason: RenewalReason;
  message: string;
  /** When the certificate becomes (or became) due; absent when the validity window is nonsense. */
  renewAt?: Date;
}

export class PolicyError extends Error {
  override name = "PolicyError";
  readonly retryable = false;
}

export function validateRenewBefore(renewBefore: RenewBefore): void {
  if ("durationMs" in renewBefore) {
    if (!Number.isFinite(renewBefore.durationMs) || renewBefore.durationMs <= 0) {
      throw new PolicyError(
        `renewBefore.durationMs must be a positive number, got ${renewBefore.durationMs}`,
      );
    }
  } else if (
    !Number.isFinite(renewBefore.fractionOfLifetime) ||
    renewBefore.fractionOfLifetime <= 0 ||
    renewBefore.fractionOfLifetime >= 1
  ) {
    throw new PolicyError(
      `renewBefore.fractionOfLifetime must be between 0 and 1 (exclusive), got ${renewBefore.fractionOfLifetime}`,
    );
  }
}

/**
 * The moment a certificate should be renewed. A duration that is as long as the lifetime or longer would
 * renew immediately and forever, so (as cert-manager does) it falls back to the default fraction.
 */
export function renewalTime(
  notBefore: Date,
  notAfter: Date,
  renewBefore: RenewBefore = DEFAULT_RENEW_BEFORE,
): Date {
  validateRenewBefore(renewBefore);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  let lead: number;
  if ("durationMs" in renewBefore && renewBefore.durationMs < lifetime) lead = renewBefore.durationMs;
  else {
    const fraction =
      "fractionOfLifetime" in renewBefore
        ? renewBefore.fractionOfLifetime
        : (DEFAULT_RENEW_BEFORE as { fractionOfLifetime: number }).fractionOfLifetime;
    lead = Math.floor(lifetime * fraction);
  }
  return new Date(notAfter.getTime() - lead);
}

export interface RenewalInput {
  certificate: Pick<ManagedCertificate, "arn" | "keyAlgorithm" | "notBefore" | "notAfter" | "managed">;
  now: Date;
  renewBefore?: RenewBefore;
}

type Check = (input: RenewalInput) => RenewalDecision | undefined;

const DAY = 86_400_000;

function days(ms: number): string {
  const d = ms / DAY;
  return d >= 1
    ? `${Math.floor(d)} day${Math.floor(d) === 1 ? "" : "s"}`
    : `${Math.max(0, Math.round(ms / 3_600_000))} hours`;
}

/** Checks in order; the first one that answers decides. */
const checks: Check[] = [
  ({ certificate }) =>
    certificate.managed
      ? undefined
      : { rotate: false, reason: "NotManaged", message: `${certificate.arn} is not managed by mtls-rotator` },
  ({ certificate }) =>
    certificate.notAfter.getTime() > certificate.notBefore.getTime()
      ? undefined
      : {
          rotate: false,
          reason: "InvalidValidity",
          message: `notAfter (${certificate.notAfter.toISOString()}) is not after notBefore (${certificate.notBefore.toISOString()})`,
        },
  ({ certificate }) =>
    isSupportedKeyAlgorithm(certificate.keyAlgorithm)
      ? undefined
      : {
          rotate: false,
          reason: "UnsupportedKey",
          message: `key algorithm ${certificate.keyAlgorithm} is not supported for origin mTLS (RSA_2048 or EC_prime256v1)`,
        },
  ({ certificate, now, renewBefore }) => {
    const renewAt = renewalTime(certificate.notBefore, certificate.notAfter, renewBefore);
    const left = certificate.notAfter.getTime() - now.getTime();
    if (left <= 0) {
      return {
        rotate: true,
        reason: "Expired",
        message: `expired ${days(-left)} ago (${certificate.notAfter.toISOString()})`,
        renewAt,
      };
    }
    if (now.getTime() >= renewAt.getTime()) {
      return {
        rotate: true,
        reason: "Due",
        message: `due since ${renewAt.toISOString()}; expires in ${days(left)}`,
        renewAt,
      };
    }
    return {
      rotate: false,
      reason: "Fresh",
      message: `renews at ${renewAt.toISOString()}; expires in ${days(left)}`,
      renewAt,
    };
  },
];

export function decideRenewal(input: RenewalInput): RenewalDecision {
  for (const check of checks) {
    const decision = check(input);
    if (decision) return decision;
  }
  /* c8 ignore next */
  throw new Error("unreachable: the last renewal check always decides");
}
