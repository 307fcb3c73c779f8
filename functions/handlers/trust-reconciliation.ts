/**
 * Lambda entry of trust reconciliation (infra/tracking.ts TrustReconciliation): the scheduled scan invokes
 * it synchronously after a full scan with the key fingerprints of the CAs that signed the managed
 * certificates in service; it publishes
 * the bundle every CA still in use needs, retiring the ones unused for the grace period, to every target,
 * and answers the bundle's SHA-256, what it retired and which targets changed (no PEM, no key material).
 * A malformed event is refused before anything is read or written.
 */
import type { Context } from "aws-lambda";
import { oncePerColdStart } from "../wiring/cold-start.ts";
import { logger } from "../wiring/observability.ts";
import { buildTrustReconciler, type TrustReconciler } from "../wiring/trust-reconciliation.ts";

/** More CA keys than any deployment has CAs (the configured one and the ones being migrated away from). */
const MAX_KEYS = 100;
/** A key fingerprint: lowercase hex SHA-256 of a public key (core/pem.ts keyFingerprintOf). */
const KEY_FINGERPRINT = /^[0-9a-f]{64}$/;

/** The CA keys in service the event carries; throws TypeError naming what is wrong. */
export function authorityKeysOfEvent(event: unknown): string[] {
  const keys = (event as { authorityKeysInService?: unknown } | null)?.authorityKeysInService;
  if (!Array.isArray(keys))
    throw new TypeError(
      "the event must be { authorityKeysInService: string[] } (CAs are known by their keys; a scan older than its reconciliation function sends issuer names: the next scan sends keys)",
    );
  if (keys.length > MAX_KEYS) throw new TypeError(`at most ${MAX_KEYS} CA keys, got ${keys.length}`);
  for (const [i, key] of keys.entries())
    if (typeof key !== "string" || !KEY_FINGERPRINT.test(key))
      throw new TypeError(
        `authorityKeysInService[${i}] must be a CA key fingerprint (64 lowercase hex digits, SHA-256 of its public key)`,
      );
  return keys as string[];
}

export function trustReconciliationHandler(reconciler: () => Promise<TrustReconciler>) {
  return async (event: unknown, context?: Context) => {
    if (context) logger.addContext(context);
    const keys = authorityKeysOfEvent(event);
    const result = await (await reconciler())(keys);
    return {
      bundleSha256: result.bundleSha256,
      certificates: result.certificates,
      kept: result.kept,
      inGrace: result.inGrace,
      retiredFingerprints: result.retiredFingerprints,
      changedTargets: result.targets.filter((t) => t.changed).map((t) => t.target),
    };
  };
}

export const handler = trustReconciliationHandler(oncePerColdStart(() => buildTrustReconciler()));
