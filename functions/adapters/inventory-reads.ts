/**
 * Reading the certificate inventory (inventory-store.ts describes its items): every record under the
 * partition `pk = INVENTORY`, one paginated Query. SDK-free, so GET /certificates reads it through a signed
 * fetch (signed-table.ts); InventoryStore, which also writes, extends this class.
 *
 * The CA certificates the scan tracks live in a partition of their own (CA_INVENTORY_PARTITION), so the
 * leaves' listing — and GET /certificates, whose role may read the INVENTORY partition only — never meets them.
 */
import type { InventoryRecord } from "../core/tracking.ts";
import {
  joinViewerInventory,
  type StoredViewerDistribution,
  type StoredViewerInventory,
  type StoredViewerSummary,
} from "../core/viewer-inventory.ts";
import type { Item, TableReads } from "./table-reads.ts";

/** The partition of the inventory's items: the leaf certificates, one per ACM ARN. */
export const INVENTORY_PARTITION = "INVENTORY";
/** The partition of the CA certificates' records, one per SHA-256 fingerprint (the full scan's only). */
export const CA_INVENTORY_PARTITION = "CA-INVENTORY";

/**
 * The partition of the viewer mTLS inventory (the full scan's): `SUMMARY` (when scanned, distributions by
 * mode, trust stores, the findings about them and the account, and which were notified) and
 * `DIST#<distribution id>`, one per distribution with viewer mTLS, with the findings about it (one that left
 * viewer mTLS is kept in mode `none`, and skipped by readers). Every item is bounded whatever the fleet's
 * size (core/viewer-inventory.ts splitViewerInventory).
 */
export const VIEWER_INVENTORY_PARTITION = "VIEWER-INVENTORY";
export const VIEWER_SUMMARY_KEY = "SUMMARY";
export const VIEWER_DISTRIBUTION_PREFIX = "DIST#";

export class InventoryReads {
  readonly #reads: TableReads;

  constructor(reads: TableReads) {
    this.#reads = reads;
  }

  /** The leaf certificates' records by ARN. */
  async loadAll(): Promise<Map<string, InventoryRecord>> {
    return this.recordsOf<InventoryRecord>(INVENTORY_PARTITION);
  }

  /** The viewer mTLS inventory of the last full scan; undefined before any scan stored one. */
  async viewerInventory(): Promise<StoredViewerInventory | undefined> {
    const items = await this.recordsOf<unknown>(VIEWER_INVENTORY_PARTITION);
    const summary = items.get(VIEWER_SUMMARY_KEY) as StoredViewerSummary | undefined;
    if (!summary) return undefined;
    const distributions = [...items]
      .filter(([sk]) => sk.startsWith(VIEWER_DISTRIBUTION_PREFIX))
      .map(([, record]) => record as StoredViewerDistribution);
    return joinViewerInventory(summary, distributions);
  }

  /** Every record (`record` attribute) of a partition by its sort key: one paginated Query. */
  protected async recordsOf<T>(partition: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    let startKey: Item | undefined;
    do {
      const page = await this.#reads.query({
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": partition },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      for (const item of page.items) out.set(String(item.sk), item.record as T);
      startKey = page.lastKey;
    } while (startKey);
    return out;
  }
}
