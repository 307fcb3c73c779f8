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
import { MAX_PAGE_BYTES } from "./certificates.ts";
import { notFound } from "./http.ts";
import type { ViewerMtlsAnswer } from "./schemas.ts";

export interface ViewerMtlsDeps {
  inventory: Pick<InventoryReads, "viewerInventory">;
}

/**
 * Largest JSON body of the answer, in bytes: as GET /certificates' pages, for the same reason (Lambda's
 * synchronous answer is at most 6 MB, and API Gateway carries the body as an escaped string).
 */
export const MAX_VIEWER_ANSWER_BYTES = MAX_PAGE_BYTES;

/**
 * The answer kept under `maxBytes`: when the whole one is larger (a fleet of very many passthrough
 * distributions with drift), the drift findings are kept first (the part to act on), then distributions, both
 * in order, and `omitted` counts what was left out. The counts (byMode, trust stores) are always whole.
 */
export function boundedViewerAnswer(
  answer: ViewerMtlsAnswer,
  maxBytes = MAX_VIEWER_ANSWER_BYTES,
): ViewerMtlsAnswer {
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");
  if (size(answer) <= maxBytes) return answer;
  const omitted = { distributions: answer.distributions.length, drift: answer.drift.length };
  // The answer without the two lists, with `omitted` at its largest: what every item must fit beside.
  let budget = maxBytes - size({ ...answer, distributions: [], drift: [], omitted });
  const take = <T>(items: readonly T[]): T[] => {
    const kept: T[] = [];
    for (const item of items) {
      const cost = size(item) + 1;
      if (cost > budget) break;
      kept.push(item);
      budget -= cost;
    }
    return kept;
  };
  const drift = take(answer.drift);
  const distributions = take(answer.distributions);
  return {
    ...answer,
    distributions,
    drift,
    omitted: {
      distributions: answer.distributions.length - distributions.length,
      drift: answer.drift.length - drift.length,
    },
  };
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
  return boundedViewerAnswer({
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
  });
}
