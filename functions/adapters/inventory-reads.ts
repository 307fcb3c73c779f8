/**
 * Reading the certificate inventory (inventory-store.ts describes its items): every record under the
 * partition `pk = INVENTORY`, one paginated Query. SDK-free, so GET /certificates reads it through a signed
 * fetch (signed-table.ts); InventoryStore, which also writes, extends this class.
 */
import type { InventoryRecord } from "../core/tracking.ts";
import type { Item, TableReads } from "./table-reads.ts";

/** The partition of the inventory's items. */
export const INVENTORY_PARTITION = "INVENTORY";

export class InventoryReads {
  readonly #reads: TableReads;

  constructor(reads: TableReads) {
    this.#reads = reads;
  }

  async loadAll(): Promise<Map<string, InventoryRecord>> {
    const out = new Map<string, InventoryRecord>();
    let startKey: Item | undefined;
    do {
      const page = await this.#reads.query({
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": INVENTORY_PARTITION },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      for (const item of page.items) out.set(String(item.sk), item.record as InventoryRecord);
      startKey = page.lastKey;
    } while (startKey);
    return out;
  }
}
