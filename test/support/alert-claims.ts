/**
 * In-memory alert claims for scans whose inventory is a Map (handler tests): the first claim of a key wins,
 * as InventoryStore.alertClaims' conditional put does on DynamoDB (tested against dynalite in
 * test/adapters/inventory-store.test.ts).
 */
import type { AlertKey } from "../../functions/tracking/scan-fleet.ts";

export function memoryAlertClaims() {
  const claimed = new Set<string>();
  const id = (key: AlertKey) => `${key.certificateArn}|${key.notAfter}|${key.thresholdDays}`;
  return {
    claimed,
    claim: async (key: AlertKey) => {
      if (claimed.has(id(key))) return false;
      claimed.add(id(key));
      return true;
    },
    sent: async () => {},
  };
}
