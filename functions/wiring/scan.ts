/**
 * Wiring of the scheduled scan: expiry tracking's dependencies (tracking.ts), and after a full scan the
 * trust reconciliation, run by its own function (trust-reconciliation.ts) with the CA keys in service —
 * the scan holds no trust target's code or client and may publish nothing itself. Tests and the sandbox
 * pass the reconciler in process (`reconcile`), the same code the function runs.
 */
import { lambdaTrustReconciliation, type ReconciliationAnswer } from "../adapters/trust-reconciliation.ts";
import { RESOURCE_LINKS, readLinks, type WiringSources } from "../config/links.ts";
import { authorityKeysInService } from "../core/tracking.ts";
import type { ScanDeps } from "../tracking/scan-fleet.ts";
import { deployed } from "./cold-start.ts";
import {
  type ScanWiringOptions,
  TRACKING_LINKS,
  type TrackingConfig,
  trackingConfig,
  trackingDepsFrom,
} from "./tracking.ts";

/** What infra/tracking.ts links to the scheduled scan: tracking's links and the reconciliation function. */
export const SCAN_LINKS = [...TRACKING_LINKS, "TrustReconciliationFunction"] as const;

export interface ScanConfig extends TrackingConfig {
  /** The trust reconciliation function the scan invokes after a full scan. */
  reconciliationFunction: string;
}

export function scanConfig(sources: WiringSources): ScanConfig {
  const tracking = trackingConfig(sources);
  const { links } = readLinks(sources, {
    TrustReconciliationFunction: RESOURCE_LINKS.TrustReconciliationFunction,
  });
  return { ...tracking, reconciliationFunction: links.TrustReconciliationFunction.name };
}

export interface ScanOptions extends ScanWiringOptions {
  /** Reconciles the trust bundle with the CA keys in service (default: invoke the reconciliation function). */
  reconcile?: (authorityKeysInService: readonly string[]) => Promise<ReconciliationAnswer>;
}

/** The scan's dependencies from a checked configuration. */
export async function scanDepsFrom(
  config: TrackingConfig & { reconciliationFunction?: string },
  options: ScanOptions = {},
): Promise<ScanDeps> {
  const deps = await trackingDepsFrom(config, options);
  const reconcile =
    options.reconcile ??
    (config.reconciliationFunction ? lambdaTrustReconciliation(config.reconciliationFunction) : undefined);
  if (!reconcile) throw new TypeError("scanDepsFrom: no reconciliation function and no reconcile option");
  const now = deps.now ?? (() => new Date());
  return {
    ...deps,
    // Only the full scan calls this (scanFleet skips it for a single certificate).
    reconcileTrust: (records) => reconcile(authorityKeysInService(records, now())),
  };
}

/** The deployed scan's dependencies, from SST's linked resources and the Lambda environment. */
export async function buildScanDeps(
  sources: WiringSources = deployed(),
  options?: ScanOptions,
): Promise<ScanDeps> {
  return scanDepsFrom(scanConfig(sources), options);
}
