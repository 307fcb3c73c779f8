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
  type QueryCommandOutput,
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
import { InvalidNextTokenError, tokenObject } from "./rotation-reads.ts";
import { toDocumentClient } from "./rotation-store.ts";

export const viewerMigrationPk = (migrationId: string) => `VMIG#${migrationId}`;
export const viewerDomainPk = (domain: string) => `VDOM#${domain}`;
const LIST_PARTITION = "VIEWER_MIGRATION";
const LIST_INDEX = "list";

/** A lock held longer than this is taken over: its holder outlived the longest a migration may run. */
export const DEFAULT_VIEWER_LOCK_LEASE_SECONDS = 14 * 86_400;

export interface ViewerMigrationRecord {
  request: ViewerMigrationRequest;
  state: ViewerMigrationState;
  startedAt: string;
  updatedAt: string;
  control?: { callbackId: string };
}

const isConditionFailed = (error: unknown) => awsErrorName(error) === "ConditionalCheckFailedException";

export class ViewerMigrationStore implements ViewerMigrationStorePort {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;
  readonly #leaseSeconds: number;

  constructor(
    client: DynamoDBClient | DynamoDBDocumentClient,
    options: { tableName: string; now?: () => Date; leaseSeconds?: number },
  ) {
    this.#doc = toDocumentClient(client);
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
    this.#leaseSeconds = options.leaseSeconds ?? DEFAULT_VIEWER_LOCK_LEASE_SECONDS;
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
  async get(migrationId: string): Promise<ViewerMigrationRecord | undefined> {
    const pk = viewerMigrationPk(migrationId);
    const [state, control] = await Promise.all([
      this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk, sk: "STATE" } })),
      this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk, sk: "CONTROL" } })),
    ]);
    if (!state.Item) return undefined;
    return {
      request: state.Item.request as ViewerMigrationRequest,
      state: state.Item.state as ViewerMigrationState,
      startedAt: String(state.Item.startedAt),
      updatedAt: String(state.Item.updatedAt),
      ...(control.Item ? { control: { callbackId: String(control.Item.callbackId) } } : {}),
    };
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

  /**
   * Migrations, newest first (one page). The list index projects only the rotation list's attributes
   * (rotation-reads.ts ROTATION_TABLE.listProjection: an index's projection cannot change in place), so
   * the migration id comes from the index's sort key, and status and times from the projected attributes.
   */
  async list(
    limit = 50,
  ): Promise<Array<{ migrationId: string; status: string; startedAt: string; updatedAt: string }>> {
    const page = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: LIST_INDEX,
        KeyConditionExpression: "gsi1pk = :list",
        ExpressionAttributeValues: { ":list": LIST_PARTITION },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => ({
      migrationId: String(item.gsi1sk).slice(String(item.gsi1sk).indexOf("#") + 1),
      status: String(item.status),
      startedAt: String(item.startedAt),
      updatedAt: String(item.updatedAt),
    }));
  }

  /**
   * The migration holding the domain's lock, if its lease has not ended (a lock whose lease ended is taken
   * over by the next migration's first step, so it holds nothing).
   */
  async lockHolder(domain: string): Promise<string | undefined> {
    const held = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: viewerDomainPk(domain), sk: "LOCK" },
        ConsistentRead: true,
      }),
    );
    const item = held.Item;
    if (!item || typeof item.migrationId !== "string") return undefined;
    if (typeof item.expiresAt === "string" && item.expiresAt < this.#now().toISOString()) return undefined;
    return item.migrationId;
  }

  /**
   * Migrations newest first, `limit` per page (1..100). `nextToken` is opaque (base64url of the index
   * position); one this store did not hand out is refused with InvalidNextTokenError.
   */
  async page(
    options: { limit?: number; nextToken?: string } = {},
  ): Promise<{ migrations: ViewerMigrationSummary[]; nextToken?: string }> {
    const start = options.nextToken !== undefined ? decodeMigrationsToken(options.nextToken) : undefined;
    let page: QueryCommandOutput;
    try {
      page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: LIST_INDEX,
          KeyConditionExpression: "gsi1pk = :list",
          ExpressionAttributeValues: { ":list": LIST_PARTITION },
          ScanIndexForward: false,
          Limit: options.limit ?? 25,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
    } catch (error) {
      if (start && awsErrorName(error) === "ValidationException")
        throw new InvalidNextTokenError("nextToken is not valid for this listing", { cause: error });
      throw error;
    }
    const migrations = (page.Items ?? []).map(migrationSummary);
    const last = page.LastEvaluatedKey;
    return {
      migrations,
      ...(last ? { nextToken: Buffer.from(JSON.stringify(last), "utf8").toString("base64url") } : {}),
    };
  }
}

/** A migration as GET /viewer-migrations lists it (the list index's attributes). */
export interface ViewerMigrationSummary {
  migrationId: string;
  status: string;
  startedAt: string;
  updatedAt: string;
}

function migrationSummary(item: Record<string, unknown>): ViewerMigrationSummary {
  const sortKey = String(item.gsi1sk);
  return {
    migrationId: sortKey.slice(sortKey.indexOf("#") + 1),
    status: String(item.status),
    startedAt: String(item.startedAt),
    updatedAt: typeof item.updatedAt === "string" ? item.updatedAt : String(item.startedAt),
  };
}

const MIGRATION_TOKEN_KEYS = ["gsi1pk", "gsi1sk", "pk", "sk"] as const;

/** The index position a token names, checked to be one `page()` could have handed out. */
function decodeMigrationsToken(token: string): Record<string, string> {
  const parsed = tokenObject(token);
  const keys = Object.keys(parsed).sort();
  const valid =
    keys.length === MIGRATION_TOKEN_KEYS.length &&
    MIGRATION_TOKEN_KEYS.every(
      (k, i) => keys[i] === k && typeof parsed[k] === "string" && parsed[k] !== "",
    ) &&
    parsed.gsi1pk === LIST_PARTITION &&
    parsed.sk === "STATE" &&
    String(parsed.pk).startsWith("VMIG#");
  if (!valid) throw new InvalidNextTokenError("nextToken is malformed");
  return parsed as Record<string, string>;
}
