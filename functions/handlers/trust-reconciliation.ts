/**
 * Lambda entry of trust reconciliation (infra/tracking.ts TrustReconciliation): the scheduled scan invokes
 * it synchronously after a full scan with the issuers of the managed certificates in service; it publishes
 * the bundle every CA still in use needs, retiring the ones unused for the grace period, to every target,
 * and answers the bundle's SHA-256, what it retired and which targets changed (no PEM, no key material).
 * A malformed event is refused before anything is read or written.
 */
import type { Context } from "aws-lambda";
import { oncePerColdStart } from "../wiring/cold-start.ts";
import { logger } from "../wiring/observability.ts";
import { buildTrustReconciler, type TrustReconciler } from "../wiring/trust-reconciliation.ts";

/** More issuers than any deployment has CAs (the configured one and the ones being migrated away from). */
const MAX_ISSUERS = 100;
const MAX_ISSUER_LENGTH = 1024;

/** The issuers in service the event carries; throws TypeError naming what is wrong. */
export function issuersOfEvent(event: unknown): string[] {
  const issuers = (event as { issuersInService?: unknown } | null)?.issuersInService;
  if (!Array.isArray(issuers)) throw new TypeError("the event must be { issuersInService: string[] }");
  if (issuers.length > MAX_ISSUERS)
    throw new TypeError(`at most ${MAX_ISSUERS} issuers, got ${issuers.length}`);
  for (const [i, issuer] of issuers.entries())
    if (typeof issuer !== "string" || issuer === "" || issuer.length > MAX_ISSUER_LENGTH)
      throw new TypeError(
        `issuersInService[${i}] must be an issuer name (1..${MAX_ISSUER_LENGTH} characters)`,
      );
  return issuers as string[];
}

export function trustReconciliationHandler(reconciler: () => Promise<TrustReconciler>) {
  return async (event: unknown, context?: Context) => {
    if (context) logger.addContext(context);
    const issuers = issuersOfEvent(event);
    const result = await (await reconciler())(issuers);
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
