/**
 * GET /viewer-mtls: the viewer mTLS inventory the full scans keep (core/viewer-inventory.ts), projected for
 * operators: distributions by mode and trust store, trust stores with their status and counts, drift, and
 * when it was scanned. Reads the inventory only; changes nothing.
 */
import type { InventoryReads } from "../adapters/inventory-reads.ts";
import {
  CA_CERTIFICATES_PER_TRUST_STORE,
  DISTRIBUTIONS_PER_TRUST_STORE,
  QUOTA_NEAR_RATIO,
  TRUST_STORES_PER_ACCOUNT,
} from "../core/viewer-inventory.ts";
import { notFound } from "./http.ts";
import type { ViewerMtlsAnswer } from "./schemas.ts";

export interface ViewerMtlsDeps {
  inventory: Pick<InventoryReads, "viewerInventory">;
}

/** The last full scan's viewer mTLS inventory; 404 before any full scan stored one. */
export async function viewerMtlsInventory(deps: ViewerMtlsDeps): Promise<ViewerMtlsAnswer> {
  const stored = await deps.inventory.viewerInventory();
  if (!stored) throw notFound("no viewer mTLS inventory yet (it is filled by the full scan: POST /scan)");
  const onStore = new Map<string, string[]>();
  for (const d of stored.distributions) {
    if (d.trustStoreId)
      onStore.set(d.trustStoreId, [...(onStore.get(d.trustStoreId) ?? []), d.distributionId]);
  }
  return {
    scannedAt: stored.scannedAt,
    byMode: { ...stored.byMode },
    distributions: stored.distributions.map((d) => ({
      distributionId: d.distributionId,
      arn: d.arn,
      mode: d.mode,
      ...(d.trustStoreId ? { trustStoreId: d.trustStoreId } : {}),
      ...(d.behaviours
        ? {
            behaviours: d.behaviours.map((b) => ({
              pathPattern: b.pathPattern,
              default: b.default,
              ...(b.originRequestPolicyId ? { originRequestPolicyId: b.originRequestPolicyId } : {}),
              ...(b.legacyForwardedHeaders ? { legacyForwardedHeaders: [...b.legacyForwardedHeaders] } : {}),
              ...(b.policyName ? { policyName: b.policyName } : {}),
              clientCertForwarding: b.clientCertForwarding,
            })),
          }
        : {}),
    })),
    trustStores: stored.trustStores.map((t) => ({
      id: t.id,
      arn: t.arn,
      name: t.name,
      status: t.status,
      ...(t.reason ? { reason: t.reason } : {}),
      caCertificates: t.caCertificates,
      distributions: t.distributions,
      distributionIds: onStore.get(t.id) ?? [],
    })),
    drift: stored.drift.map((f) => ({ ...f })),
    quotas: {
      trustStoresPerAccount: TRUST_STORES_PER_ACCOUNT,
      distributionsPerTrustStore: DISTRIBUTIONS_PER_TRUST_STORE,
      caCertificatesPerTrustStore: CA_CERTIFICATES_PER_TRUST_STORE,
      nearRatio: QUOTA_NEAR_RATIO,
    },
  };
}
