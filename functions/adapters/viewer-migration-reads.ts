/**
 * Reading viewer CA migrations from the rotation table (the items adapters/viewer-migration-store.ts writes):
 * one migration with its open control point, its history a page at a time, the newest migrations a page at a
 * time, and the migration holding a domain's lock. Over TableReads, so the API's routes read them with
 * SigV4-signed fetches (signed-table.ts, no SDK client) and the workflow's store with its document client.
 */
import type {
  ViewerMigrationEvent,
  ViewerMigrationRequest,
  ViewerMigrationState,
} from "../core/viewer-migration.ts";
import { awsErrorName } from "./errors.ts";
import { historyItemsPage, InvalidNextTokenError, isObject, tokenObject } from "./rotation-reads.ts";
import type { Item, TablePage, TableReads, TableWrites } from "./table-reads.ts";

export const viewerMigrationPk = (migrationId: string) => `VMIG#${migrationId}`;
export const viewerDomainPk = (domain: string) => `VDOM#${domain}`;
/** The list index's partition of viewer migrations (newest first by `<startedAt>#<migrationId>`). */
export const VIEWER_LIST_PARTITION = "VIEWER_MIGRATION";
const LIST_INDEX = "list";

/** An operator's rollback asked for between the migration's safe points (read at the next one). */
export interface ViewerRollbackRequest {
  actor: string;
  reason: string;
  requestedAt: string;
}

export const viewerRollbackKey = (migrationId: string) => ({
  pk: viewerMigrationPk(migrationId),
  sk: "ROLLBACK",
});

export interface ViewerMigrationRecord {
  request: ViewerMigrationRequest;
  state: ViewerMigrationState;
  startedAt: string;
  updatedAt: string;
  control?: { callbackId: string };
}

/** A migration as GET /viewer-migrations lists it (the list index's attributes). */
export interface ViewerMigrationSummary {
  migrationId: string;
  status: string;
  startedAt: string;
  updatedAt: string;
}

export class ViewerMigrationReads {
  readonly #reads: TableReads;
  readonly #writes: TableWrites | undefined;
  readonly #now: () => Date;

  /**
   * `writes`: only POST /viewer-migrations (which releases a dead migration's lock, releaseLock) and its
   * rollback route (requestRollback).
   */
  constructor(reads: TableReads, options: { now?: () => Date; writes?: TableWrites } = {}) {
    this.#reads = reads;
    this.#writes = options.writes;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Releases the domain's lock if `migrationId` still holds it (a conditional delete: a lock another migration
   * took meanwhile stays). Only for a holder Lambda reports ended (dispatch/start-rotation.ts liveLockHolder).
   */
  async releaseLock(domain: string, migrationId: string): Promise<void> {
    if (!this.#writes) throw new Error("ViewerMigrationReads: built without writes, cannot release a lock");
    await this.#writes.deleteIfHeld({ pk: viewerDomainPk(domain), sk: "LOCK" }, "migrationId", migrationId);
  }

  /** A migration's record (undefined when unknown), with its open control point when it waits at one. */
  async get(migrationId: string): Promise<ViewerMigrationRecord | undefined> {
    const pk = viewerMigrationPk(migrationId);
    const [state, control] = await Promise.all([
      this.#reads.getItem({ pk, sk: "STATE" }, { consistentRead: true }),
      this.#reads.getItem({ pk, sk: "CONTROL" }, { consistentRead: true }),
    ]);
    if (!state) return undefined;
    return {
      request: state.request as ViewerMigrationRequest,
      state: state.state as ViewerMigrationState,
      startedAt: String(state.startedAt),
      updatedAt: String(state.updatedAt),
      ...(control && typeof control.callbackId === "string"
        ? { control: { callbackId: control.callbackId } }
        : {}),
    };
  }

  /**
   * The rollback an operator asked for while the migration waited at no approval (`VMIG#<id>` / `ROLLBACK`,
   * written once: the first request is the one acted on), or undefined.
   */
  async rollbackRequestOf(migrationId: string): Promise<ViewerRollbackRequest | undefined> {
    const item = await this.#reads.getItem(viewerRollbackKey(migrationId), { consistentRead: true });
    if (!item) return undefined;
    const { actor, reason, requestedAt } = item;
    if (typeof actor !== "string" || typeof reason !== "string" || typeof requestedAt !== "string")
      throw new Error(`rollback request of viewer migration ${migrationId} is malformed`);
    return { actor, reason, requestedAt };
  }

  /** Records a rollback request; false when one was recorded already (nothing written). */
  async requestRollback(migrationId: string, request: ViewerRollbackRequest): Promise<boolean> {
    if (!this.#writes) throw new Error("ViewerMigrationReads: built without writes, cannot record a request");
    return this.#writes.putIfAbsent({ ...viewerRollbackKey(migrationId), migrationId, ...request });
  }

  /** A migration's status (undefined when unknown). */
  async statusOf(migrationId: string): Promise<string | undefined> {
    const item = await this.#reads.getItem(
      { pk: viewerMigrationPk(migrationId), sk: "STATE" },
      { consistentRead: true },
    );
    return typeof item?.status === "string" ? item.status : undefined;
  }

  /**
   * The migration holding the domain's lock, if its lease has not ended (a lock whose lease ended is taken
   * over by the next migration's first step, so it holds nothing).
   */
  async lockHolder(domain: string): Promise<string | undefined> {
    const item = await this.#reads.getItem(
      { pk: viewerDomainPk(domain), sk: "LOCK" },
      { consistentRead: true },
    );
    if (!item || typeof item.migrationId !== "string") return undefined;
    if (typeof item.expiresAt === "string" && item.expiresAt < this.#now().toISOString()) return undefined;
    return item.migrationId;
  }

  /**
   * The newest `limit` events before sequence `before` (all when absent), in sequence order, and the sequence
   * of the first one (`start`): the next older page is `before: start`.
   */
  async historyPage(
    migrationId: string,
    options: { limit: number; before?: number },
  ): Promise<{ events: ViewerMigrationEvent[]; start: number }> {
    const { items, start } = await historyItemsPage(this.#reads, viewerMigrationPk(migrationId), options);
    const events = items
      .filter((item) => isObject(item.event))
      .map((item) => item.event as ViewerMigrationEvent);
    return { events, start };
  }

  /**
   * Migrations newest first, `limit` per page (1..100). `nextToken` is opaque (base64url of the index
   * position); one this listing did not hand out is refused with InvalidNextTokenError.
   */
  async page(
    options: { limit?: number; nextToken?: string } = {},
  ): Promise<{ migrations: ViewerMigrationSummary[]; nextToken?: string }> {
    const start = options.nextToken !== undefined ? decodeMigrationsToken(options.nextToken) : undefined;
    let page: TablePage;
    try {
      page = await this.#reads.query({
        IndexName: LIST_INDEX,
        KeyConditionExpression: "gsi1pk = :list",
        ExpressionAttributeValues: { ":list": VIEWER_LIST_PARTITION },
        ScanIndexForward: false,
        Limit: options.limit ?? 25,
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
    } catch (error) {
      if (start && awsErrorName(error) === "ValidationException")
        throw new InvalidNextTokenError("nextToken is not valid for this listing", { cause: error });
      throw error;
    }
    const last = page.lastKey;
    return {
      migrations: page.items.map(migrationSummary),
      ...(last ? { nextToken: Buffer.from(JSON.stringify(last), "utf8").toString("base64url") } : {}),
    };
  }
}

/**
 * The list index projects only the rotation list's attributes (rotation-reads.ts ROTATION_TABLE.listProjection:
 * an index's projection cannot change in place), so the migration id comes from the index's sort key.
 */
function migrationSummary(item: Item): ViewerMigrationSummary {
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
    parsed.gsi1pk === VIEWER_LIST_PARTITION &&
    parsed.sk === "STATE" &&
    String(parsed.pk).startsWith("VMIG#");
  if (!valid) throw new InvalidNextTokenError("nextToken is malformed");
  return parsed as Record<string, string>;
}
