/**
 * The last TrustBundlePublished announcement to an EventBridge bus (the EventBridge target's
 * AnnouncementStore), one item in the rotation table (`pk = TRUST`, `sk = ANNOUNCED#<bus>`): kept so a bundle
 * is announced once, whichever function (workflow or trust reconciliation) publishes it. Apart from the
 * inventory store, so the workflow's bundle carries this item's code only.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { toDocumentClient } from "./rotation-store.ts";

export interface Announcement {
  bundleSha256: string;
  version: number;
  eventId: string;
}

export interface AnnouncementStore {
  load(): Promise<Announcement | undefined>;
  save(announcement: Announcement): Promise<void>;
}

export function trustAnnouncements(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  bus: string,
): AnnouncementStore {
  const doc = toDocumentClient(client);
  const Key = { pk: "TRUST", sk: `ANNOUNCED#${bus}` };
  return {
    load: async () => {
      const out = await doc.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true }));
      const item = out.Item;
      if (!item) return undefined;
      return {
        bundleSha256: String(item.bundleSha256),
        version: Number(item.version),
        eventId: String(item.eventId),
      };
    },
    save: async (announcement) => {
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...Key, ...announcement } }));
    },
  };
}
