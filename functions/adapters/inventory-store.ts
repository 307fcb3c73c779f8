/**
 * Certificate inventory in the rotation table: one item per certificate under the partition
 * `pk = INVENTORY`, `sk = <certificate ARN>`, so a scan reads the whole inventory with one paginated Query
 * and writes only the records that changed. The CA certificates the full scan tracks (their own expiry) are
 * kept the same way under a partition of their own, `pk = CA-INVENTORY`, `sk = <SHA-256 fingerprint>`.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AuthorityCertificateRecord } from "../core/authority-expiry.ts";
import type { DriftFinding, DriftState, InventoryRecord } from "../core/tracking.ts";
import {
  changedDistributionRecords,
  type StoredViewerInventory,
  splitViewerInventory,
} from "../core/viewer-inventory.ts";
import type { AlertKey } from "../tracking/scan-fleet.ts";
import {
  CA_INVENTORY_PARTITION,
  InventoryReads,
  INVENTORY_PARTITION as PARTITION,
  VIEWER_DISTRIBUTION_PREFIX,
  VIEWER_INVENTORY_PARTITION,
  VIEWER_SUMMARY_KEY,
} from "./inventory-reads.ts";
import { documentTableReads, toDocumentClient } from "./rotation-store.ts";
import { type AnnouncementStore, trustAnnouncements } from "./trust-announcements.ts";

/** The last full scan's drift findings and which were notified, one item. */
const DRIFT_KEY = { pk: "DRIFT", sk: "REPORTED" };
/** How long a claimed alert may stay unsent before another scan may claim (and send) it again. */
export const ALERT_CLAIM_LEASE_MS = 15 * 60_000;

/** When each configured CA was first seen unused (trust reconciliation), one item. */
const RETIREMENT_KEY = { pk: "TRUST", sk: "UNUSED-SINCE" };

export class InventoryStore extends InventoryReads {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: { tableName: string }) {
    const doc = toDocumentClient(client);
    super(documentTableReads(doc, options.tableName));
    this.#doc = doc;
    this.#table = options.tableName;
  }

  async put(record: InventoryRecord): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: PARTITION, sk: record.arn, record: JSON.parse(JSON.stringify(record)) },
      }),
    );
  }

  /** Many records in BatchWriteItem calls of 25, retrying what DynamoDB leaves unprocessed. */
  async putMany(records: InventoryRecord[]): Promise<void> {
    await this.#putRecords(
      PARTITION,
      records.map((record) => [record.arn, record]),
    );
  }

  /** The CA certificates' records (their own partition: never among the leaves loadAll answers). */
  readonly authorityCertificates = {
    loadAll: (): Promise<Map<string, AuthorityCertificateRecord>> =>
      this.recordsOf<AuthorityCertificateRecord>(CA_INVENTORY_PARTITION),
    putMany: (records: AuthorityCertificateRecord[]): Promise<void> =>
      this.#putRecords(
        CA_INVENTORY_PARTITION,
        records.map((record) => [record.fingerprint, record]),
      ),
  };

  /**
   * The viewer mTLS inventory (the full scan's, its own partition, as bounded items: splitViewerInventory):
   * `save` writes the distributions' items that changed since `previous` (their record, findings or
   * notified keys; those that left viewer mTLS in mode `none`), then the summary, which carries when it was
   * scanned and so is written by every full scan.
   */
  readonly viewerMtls = {
    load: (): Promise<StoredViewerInventory | undefined> => this.viewerInventory(),
    save: async (next: StoredViewerInventory, previous: StoredViewerInventory | undefined): Promise<void> => {
      const { summary, distributions } = splitViewerInventory(next);
      const before = previous ? splitViewerInventory(previous).distributions : [];
      await this.#putRecords(
        VIEWER_INVENTORY_PARTITION,
        changedDistributionRecords(distributions, before).map((record) => [
          `${VIEWER_DISTRIBUTION_PREFIX}${record.distributionId}`,
          record,
        ]),
      );
      await this.#putRecords(VIEWER_INVENTORY_PARTITION, [[VIEWER_SUMMARY_KEY, summary]]);
    },
  };

  /** Records of a partition by sort key, in BatchWriteItem calls of 25, retrying what DynamoDB leaves unprocessed. */
  async #putRecords(partition: string, records: Array<[sortKey: string, record: unknown]>): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      let requests = records.slice(i, i + 25).map(([sk, record]) => ({
        PutRequest: { Item: { pk: partition, sk, record: JSON.parse(JSON.stringify(record)) } },
      }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt >= 8) throw new Error(`inventory: ${requests.length} records stayed unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const out = await this.#doc.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
        );
        requests = (out.UnprocessedItems?.[this.#table] ?? []) as typeof requests;
      }
    }
  }

  /**
   * Expiry alerts, sent once under concurrency (a scan and an ACM expiry event at the same moment): the
   * sender first claims the alert with a conditional put (`attribute_not_exists`), sends, then marks it
   * sent. Only one caller wins a claim; a claim whose sender crashed before marking it sent may be taken
   * again once it is older than `leaseMs`, so a crash delays an alert rather than losing it.
   */
  readonly alertClaims = {
    claim: async (key: AlertKey, now: Date, leaseMs = ALERT_CLAIM_LEASE_MS): Promise<boolean> => {
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...alertItemKey(key), state: "sending", claimedAt: now.toISOString() },
            ConditionExpression:
              "attribute_not_exists(pk) OR (#state = :sending AND claimedAt < :staleBefore)",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: {
              ":sending": "sending",
              ":staleBefore": new Date(now.getTime() - leaseMs).toISOString(),
            },
          }),
        );
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
        throw error;
      }
    },
    sent: async (key: AlertKey, now: Date): Promise<void> => {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...alertItemKey(key), state: "sent", sentAt: now.toISOString() },
        }),
      );
    },
  };

  /** The trust reconciliation's memory, as a RetirementClock. */
  readonly retirementClock = {
    load: async (): Promise<Record<string, string>> => {
      const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: RETIREMENT_KEY }));
      return (out.Item?.unusedSince as Record<string, string> | undefined) ?? {};
    },
    save: async (unusedSince: Record<string, string>): Promise<void> => {
      await this.#doc.send(
        new PutCommand({ TableName: this.#table, Item: { ...RETIREMENT_KEY, unusedSince } }),
      );
    },
  };

  /** The last TrustBundlePublished announcement to `bus` (adapters/trust-announcements.ts). */
  announcements(bus: string): AnnouncementStore {
    return trustAnnouncements(this.#doc, this.#table, bus);
  }

  /** The last full scan's drift findings and which of them were notified. */
  async driftState(): Promise<DriftState> {
    const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: DRIFT_KEY }));
    return {
      findings: (out.Item?.findings as DriftFinding[] | undefined) ?? [],
      // `keys`: the item's name for the notified keys since before findings were kept.
      notified: (out.Item?.keys as string[] | undefined) ?? [],
    };
  }

  async saveDriftState(state: DriftState): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...DRIFT_KEY,
          keys: [...state.notified].sort(),
          findings: JSON.parse(JSON.stringify(state.findings)),
        },
      }),
    );
  }

  /** A rotation replaced this certificate: distributions must not reference it any more. */
  async markRetired(certificateArn: string): Promise<void> {
    await this.#doc
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: PARTITION, sk: certificateArn },
          UpdateExpression: "SET #record.#retired = :true",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#record": "record", "#retired": "retired" },
          ExpressionAttributeValues: { ":true": true },
        }),
      )
      .catch((error: { name?: string }) => {
        if (error.name !== "ConditionalCheckFailedException") throw error;
      });
  }
}

function alertItemKey(key: AlertKey): { pk: string; sk: string } {
  return { pk: `ALERT#${key.certificateArn}`, sk: `${key.notAfter}#${key.thresholdDays}` };
}
