/**
 * Viewer CA migrations on DynamoDB, in the rotation table (same keys, same GSI): the queryable side of each
 * migration (state for the API, history), the one-migration-per-domain lock, the approval callback, and the
 * CAs viewers moved away from with the time each may retire. The workflow is the source of truth; every
 * write happens inside one of its steps and is idempotent (a replayed step rewrites the same item).
 *
 * | item     | pk                    | sk                                  | attributes                                 |
 * |----------|-----------------------|-------------------------------------|--------------------------------------------|
 * | state    | `VMIG#<migrationId>`  | `STATE`                             | migrationId, domain, action, status,       |
 * |          |                       |                                     | startedAt, updatedAt, sequence, request,   |
 * |          |                       |                                     | state (M), gsi1pk = `VIEWER_MIGRATION`,    |
 * |          |                       |                                     | gsi1sk = `<startedAt>#<migrationId>`       |
 * | history  | `VMIG#<migrationId>`  | `EVENT#<seq, 6 wide>`               | sequence, type, at, event (M)              |
 * | control  | `VMIG#<migrationId>`  | `CONTROL`                           | callbackId                                 |
 * | rollback | `VMIG#<migrationId>`  | `ROLLBACK`                          | migrationId, actor, reason, requestedAt    |
 * | lock     | `VDOM#<domain>`       | `LOCK`                              | migrationId, acquiredAt, expiresAt         |
 * | retiring | `VDOM#<domain>`       | `RETIRE#<authorityArn>#<migrationId>` | authorityArn, retireAfter, migrationId   |
 * | retired  | `VDOM#<domain>`       | `RETIRED#<authorityArn>`            | authorityArn, migrationId (never again)    |
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type {
  RetiringAuthority,
  ViewerMigrationEvent,
  ViewerMigrationRequest,
  ViewerMigrationState,
} from "../core/viewer-migration.ts";
import type { ViewerMigrationStorePort } from "../workflow/viewer-migration.ts";
import { awsErrorName } from "./errors.ts";
import { documentTableReads, toDocumentClient } from "./rotation-store.ts";
import {
  VIEWER_LIST_PARTITION,
  ViewerMigrationReads,
  type ViewerMigrationRecord,
  type ViewerMigrationSummary,
  type ViewerRollbackRequest,
  viewerDomainPk,
  viewerMigrationPk,
} from "./viewer-migration-reads.ts";

export type { ViewerMigrationRecord, ViewerMigrationSummary };
export { viewerDomainPk, viewerMigrationPk };

const LIST_PARTITION = VIEWER_LIST_PARTITION;

/** A lock held longer than this is taken over: its holder outlived the longest a migration may run. */
export const DEFAULT_VIEWER_LOCK_LEASE_SECONDS = 14 * 86_400;

const isConditionFailed = (error: unknown) => awsErrorName(error) === "ConditionalCheckFailedException";

export class ViewerMigrationStore implements ViewerMigrationStorePort {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;
  readonly #leaseSeconds: number;
  readonly #reads: ViewerMigrationReads;

  constructor(
    client: DynamoDBClient | DynamoDBDocumentClient,
    options: { tableName: string; now?: () => Date; leaseSeconds?: number },
  ) {
    this.#doc = toDocumentClient(client);
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
    this.#leaseSeconds = options.leaseSeconds ?? DEFAULT_VIEWER_LOCK_LEASE_SECONDS;
    this.#reads = new ViewerMigrationReads(documentTableReads(this.#doc, this.#table), { now: this.#now });
  }

  async acquireLock(
    domain: string,
    migrationId: string,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }> {
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.#leaseSeconds * 1000).toISOString();
    try {
      // Re-acquiring is idempotent (a replayed step); a lease that ended is taken over.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: viewerDomainPk(domain), sk: "LOCK" },
          UpdateExpression:
            "SET migrationId = :id, acquiredAt = if_not_exists(acquiredAt, :now), expiresAt = :expiresAt",
          ConditionExpression: "attribute_not_exists(pk) OR migrationId = :id OR expiresAt < :now",
          ExpressionAttributeValues: {
            ":id": migrationId,
            ":now": now.toISOString(),
            ":expiresAt": expiresAt,
          },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const held = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: viewerDomainPk(domain), sk: "LOCK" } }),
    );
    return { acquired: false, heldBy: String(held.Item?.migrationId ?? "another migration") };
  }

  async releaseLock(domain: string, migrationId: string): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: viewerDomainPk(domain), sk: "LOCK" },
          ConditionExpression: "migrationId = :id",
          ExpressionAttributeValues: { ":id": migrationId },
        }),
      );
    } catch (error) {
      // Not ours (any more): nothing to release.
      if (!isConditionFailed(error)) throw error;
    }
  }

  async record(
    request: ViewerMigrationRequest,
    state: ViewerMigrationState,
    event: ViewerMigrationEvent,
    sequence: number,
  ): Promise<void> {
    const pk = viewerMigrationPk(request.migrationId);
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk,
          sk: `EVENT#${String(sequence).padStart(6, "0")}`,
          sequence,
          type: event.type,
          at: event.at,
          event,
        },
      }),
    );
    // Every attribute by placeholder: several (state, status, request, ...) are DynamoDB reserved words.
    const set: Record<string, unknown> = {
      migrationId: request.migrationId,
      domain: request.domain,
      action: request.action,
      status: state.status,
      request,
      state,
      sequence,
      updatedAt: event.at,
      gsi1pk: LIST_PARTITION,
    };
    const once: Record<string, unknown> = {
      startedAt: event.at,
      gsi1sk: `${event.at}#${request.migrationId}`,
    };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const parts: string[] = [];
    for (const [index, [name, value]] of [...Object.entries(set), ...Object.entries(once)].entries()) {
      names[`#a${index}`] = name;
      values[`:a${index}`] = value;
      parts.push(
        name in once ? `#a${index} = if_not_exists(#a${index}, :a${index})` : `#a${index} = :a${index}`,
      );
    }
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: "STATE" },
        UpdateExpression: `SET ${parts.join(", ")}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async setControl(migrationId: string, control: { callbackId: string } | undefined): Promise<void> {
    const Key = { pk: viewerMigrationPk(migrationId), sk: "CONTROL" };
    if (control) {
      await this.#doc.send(
        new PutCommand({ TableName: this.#table, Item: { ...Key, callbackId: control.callbackId } }),
      );
    } else {
      await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key }));
    }
  }

  async retiringOf(domain: string): Promise<RetiringAuthority[]> {
    const out: RetiringAuthority[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": viewerDomainPk(domain), ":prefix": "RETIRE#" },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? [])
        out.push({
          authorityArn: String(item.authorityArn),
          retireAfter: String(item.retireAfter),
          migrationId: String(item.migrationId),
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async saveRetiring(domain: string, entries: RetiringAuthority[]): Promise<void> {
    for (const entry of entries) {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: viewerDomainPk(domain),
            sk: `RETIRE#${entry.authorityArn}#${entry.migrationId}`,
            ...entry,
          },
        }),
      );
    }
  }

  async retiredOf(domain: string): Promise<string[]> {
    const out: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": viewerDomainPk(domain), ":prefix": "RETIRED#" },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.push(String(item.authorityArn));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async saveRetired(domain: string, authorityArns: string[], migrationId: string): Promise<void> {
    for (const authorityArn of authorityArns) {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: viewerDomainPk(domain), sk: `RETIRED#${authorityArn}`, authorityArn, migrationId },
        }),
      );
    }
  }

  /** A migration's record (undefined when unknown). */
  get(migrationId: string): Promise<ViewerMigrationRecord | undefined> {
    return this.#reads.get(migrationId);
  }

  /** A migration's history, oldest first. */
  async history(migrationId: string): Promise<ViewerMigrationEvent[]> {
    const events: ViewerMigrationEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": viewerMigrationPk(migrationId), ":prefix": "EVENT#" },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) events.push(item.event as ViewerMigrationEvent);
      start = page.LastEvaluatedKey;
    } while (start);
    return events;
  }

  /** The rollback an operator asked for between safe points (ViewerMigrationReads.rollbackRequestOf). */
  rollbackRequestOf(migrationId: string): Promise<ViewerRollbackRequest | undefined> {
    return this.#reads.rollbackRequestOf(migrationId);
  }

  /** The migration holding the domain's lock, if its lease has not ended (ViewerMigrationReads.lockHolder). */
  lockHolder(domain: string): Promise<string | undefined> {
    return this.#reads.lockHolder(domain);
  }

  /** Migrations newest first, a page at a time (ViewerMigrationReads.page). */
  page(
    options: { limit?: number; nextToken?: string } = {},
  ): Promise<{ migrations: ViewerMigrationSummary[]; nextToken?: string }> {
    return this.#reads.page(options);
  }
}
