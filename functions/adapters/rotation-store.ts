/**
 * Rotation store on DynamoDB: the queryable side of a rotation (state for the API, history, one-rotation-
 * per-certificate lock, the durable callback a running rotation waits on). The workflow stays the source of
 * truth — the state is a pure fold over the events its steps return — and writes here from inside steps, so
 * every write is idempotent and safe to replay. No transactions: each operation is one conditional item
 * write, which also keeps it within what the local dynalite stand-in serves.
 *
 * Single-table design. Table keys: `pk` (S, partition) + `sk` (S, sort). Items:
 *
 * | item    | pk                    | sk                    | attributes                                                  |
 * |---------|-----------------------|-----------------------|-------------------------------------------------------------|
 * | state   | `ROT#<rotationId>`    | `STATE`               | rotationId, status, certificateArn, startedAt, updatedAt,   |
 * |         |                       |                       | sequence (N), state (M: the RotationState's summary),       |
 * |         |                       |                       | layout = `summary`,                                         |
 * |         |                       |                       | gsi1pk = `ROTATION`, gsi1sk = `<startedAt>#<rotationId>`    |
 * | distribution | `ROT#<rotationId>` | `DIST#<wave, 4 wide>#<place, 6 wide>` | rotationId, distributionId, wave (N),   |
 * |         |                       |                       | position (N), originIds, outcome, changedOriginIds?, error?,|
 * |         |                       |                       | baseline (N or NULL), sequence (N)                          |
 * | history | `ROT#<rotationId>`    | `EVENT#<seq, 6 wide>` | rotationId, sequence (N), type, at, actor?, event (M)       |
 * | control | `ROT#<rotationId>`    | `CONTROL`             | rotationId, callbackId, kind (bake / approval), wave (N)    |
 * | lock    | `CERT#<certificateArn>` | `LOCK`              | certificateArn, rotationId, acquiredAt                      |
 * | claim   | `DIST#<distributionId>` | `CLAIM`             | rotationId, certificateArn, claimedAt, expiresAt            |
 *
 * One GSI, `list`: `gsi1pk` (S, partition) + `gsi1sk` (S, sort), INCLUDE projection of the summary
 * attributes. Only state items carry the GSI keys (sparse), so a descending Query on `gsi1pk = ROTATION`
 * lists rotations newest first (ISO-8601 `startedAt` sorts chronologically); a status filter is a
 * FilterExpression on `status`. The history sort key is zero-padded so that lexical order is sequence order;
 * a replayed step rewrites the same key (no duplicate, never a reorder). The control item is its own item,
 * not an attribute of the state item, because `record` replaces the state item whole.
 *
 * Sizes do not grow with the fleet: the state item holds the summary (waves with their sizes and counts by
 * outcome, no distribution lists, no baselines, the last preflight's first probes), each distribution of the
 * plan is its own item, and a recorded step writes its history item, the summary and at most the one
 * distribution it changed (a plan, and a claim's new baselines, write every distribution once, in batches).
 * State items written before (without `layout`) hold the whole state and are read as they are.
 */
import { type CreateTableCommandInput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  CONTROL_POINT_KINDS,
  checkpointForm,
  type DistributionClaim,
  MAX_HISTORY_SEQUENCE,
  outcomeCounts,
  type PlannedTarget,
  plannedTargetsOf,
  type RotationEvent,
  type RotationState,
} from "../core/rotation.ts";
import { awsErrorName } from "./errors.ts";
import type { RotationControl } from "./rotation-reads.ts";
import {
  distributionPk,
  distributionSk,
  historySk,
  isObject,
  LIST_PARTITION,
  lockPk,
  ROTATION_TABLE,
  RotationReads,
  RotationStoreError,
  rotationPk,
  STATE_LAYOUT,
} from "./rotation-reads.ts";
import type { Item, TableReads, TableWrites } from "./table-reads.ts";

/** CreateTable input for the rotation table (on-demand capacity). */
export function rotationTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, listIndex, listProjection } = ROTATION_TABLE;
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [partitionKey, sortKey, listIndex.partitionKey, listIndex.sortKey].map((name) => ({
      AttributeName: name,
      AttributeType: "S",
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: "HASH" },
      { AttributeName: sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: listIndex.name,
        KeySchema: [
          { AttributeName: listIndex.partitionKey, KeyType: "HASH" },
          { AttributeName: listIndex.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...listProjection] },
      },
    ],
  };
}

/** How many of the last preflight's probes the summary keeps (refused ones first). */
export const SUMMARY_PROBES = 20;

/**
 * What the state item keeps: the state without its distribution lists and baselines (their own items), each
 * wave with its size and counts by outcome, and the last preflight's first SUMMARY_PROBES probes (refused
 * first). Its size does not grow with the fleet.
 */
export function stateSummary(state: RotationState): RotationState {
  const { baselines: _baselines, ...rest } = state;
  const probes = state.lastPreflight;
  return {
    ...rest,
    waves: state.waves.map((w) => ({
      ...w,
      counts: w.counts ?? outcomeCounts(w),
      distributions: [],
    })),
    ...(probes && probes.length > SUMMARY_PROBES
      ? {
          lastPreflight: [...probes.filter((p) => !p.accepted), ...probes.filter((p) => p.accepted)].slice(
            0,
            SUMMARY_PROBES,
          ),
          lastPreflightCount: probes.length,
        }
      : {}),
  };
}

/** DynamoDB's item size limit (400 KB, attribute names included). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** History sort keys are `EVENT#` + six digits. */
export const MAX_SEQUENCE = MAX_HISTORY_SEQUENCE;
/** Distribution items written at once when an event changes many (a plan). */
const DISTRIBUTION_WRITES = 16;
/** An item would exceed DynamoDB's 400 KB limit; nothing was written. */
export class ItemTooLargeError extends RotationStoreError {
  override name = "ItemTooLargeError";
  override readonly retryable = false;
}

export type LockResult = { acquired: true } | { acquired: false; heldBy: string };

export interface RotationStoreOptions {
  tableName: string;
  /** Query page size (`Limit`) for history reads; DynamoDB's 1 MB pages when absent. For tests. */
  historyPageSize?: number;
  /** Clock for `acquiredAt` on lock items. */
  now?: () => Date;
}

/** A document client over `client`; a DynamoDBDocumentClient is used as it is. */
export function toDocumentClient(client: DynamoDBClient | DynamoDBDocumentClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  if (client instanceof DynamoDBClient)
    return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  throw new RotationStoreError("RotationStore needs a DynamoDBClient or a DynamoDBDocumentClient");
}

/** TableReads over the SDK's document client (the stores that also write read through it). */
export function documentTableReads(doc: DynamoDBDocumentClient, tableName: string): TableReads {
  return {
    async getItem(key, options = {}) {
      const out = await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: key,
          ...(options.consistentRead !== undefined ? { ConsistentRead: options.consistentRead } : {}),
        }),
      );
      return out.Item;
    },
    async query(query) {
      const out = await doc.send(new QueryCommand({ TableName: tableName, ...query }));
      return { items: out.Items ?? [], ...(out.LastEvaluatedKey ? { lastKey: out.LastEvaluatedKey } : {}) };
    },
  };
}

/** TableWrites over the SDK's document client (rollback requests recorded by code that has one). */
export function documentTableWrites(doc: DynamoDBDocumentClient, tableName: string): TableWrites {
  return {
    async putIfAbsent(item) {
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },
    async deleteIfHeld(key, name, value) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: key,
            ConditionExpression: "#held = :value",
            ExpressionAttributeNames: { "#held": name },
            ExpressionAttributeValues: { ":value": value },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },
  };
}

/** The rotation table's reads (RotationReads) and its writes: records, locks, control items. */
export class RotationStore extends RotationReads {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: RotationStoreOptions) {
    if (!options.tableName) throw new RotationStoreError("RotationStore needs a table name");
    const doc = toDocumentClient(client);
    super(documentTableReads(doc, options.tableName), options);
    this.#doc = doc;
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Take the certificate's lock for `rotationId`: succeeds when nobody holds it or `rotationId` already
   * does (re-acquiring is idempotent, so a replayed step gets the same answer). With `leaseSeconds` the lock
   * is a lease: it ends `leaseSeconds` after it was taken, and a lock whose lease ended is taken over (its
   * holder outlived the longest a rotation can run: it is dead). The dispatcher also releases the lock of a
   * holder Lambda reports ended, sooner (start-rotation.ts liveLockHolder).
   */
  async acquireLock(
    certificateArn: string,
    rotationId: string,
    options: { leaseSeconds?: number } = {},
  ): Promise<LockResult> {
    const key = { pk: lockPk(certificateArn), sk: "LOCK" };
    // A lock released between the refused put and the read of its holder: try again (bounded).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const now = this.#now();
      const expiresAt =
        options.leaseSeconds === undefined
          ? undefined
          : new Date(now.getTime() + options.leaseSeconds * 1000).toISOString();
      try {
        // An update, not a put: re-acquiring keeps the original acquiredAt and lease.
        await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: key,
            UpdateExpression: `SET rotationId = :rotationId, certificateArn = :certificateArn, acquiredAt = if_not_exists(acquiredAt, :now)${expiresAt ? ", expiresAt = if_not_exists(expiresAt, :expiresAt)" : ""}`,
            ConditionExpression: "attribute_not_exists(pk) OR rotationId = :rotationId",
            ExpressionAttributeValues: {
              ":rotationId": rotationId,
              ":certificateArn": certificateArn,
              ":now": now.toISOString(),
              ...(expiresAt ? { ":expiresAt": expiresAt } : {}),
            },
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const lock = await this.lockOf(certificateArn);
      if (lock === undefined || lock.rotationId === rotationId) continue;
      if (lock.expiresAt === undefined || lock.expiresAt > now.toISOString())
        return { acquired: false, heldBy: lock.rotationId };
      // The holder's lease ended: take the lock over, only from that holder and that lease.
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...key,
              rotationId,
              certificateArn,
              acquiredAt: now.toISOString(),
              ...(expiresAt ? { expiresAt } : {}),
            },
            ConditionExpression: "rotationId = :holder AND expiresAt = :expiresAt",
            ExpressionAttributeValues: { ":holder": lock.rotationId, ":expiresAt": lock.expiresAt },
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    throw new RotationStoreError(`lock for ${certificateArn} kept changing hands; try again`);
  }

  /**
   * Claim the distributions a rotation changes, one rotation at a time per distribution. Claims are taken in
   * ascending id order and kept while the rest are waited for: every rotation takes them in the same order,
   * so no two wait for each other. A claim is a lease (`leaseSeconds`) tied to its holder's certificate
   * lock: a claim whose lease ended, or whose holder no longer holds its certificate's lock (it ended, or
   * died and the dispatcher released its lock), is taken over, only from that holder and that claim.
   * Re-claiming what `rotationId` holds is idempotent (a replayed step gets the same answer).
   * Answers the first distribution another rotation holds when not every one could be claimed.
   */
  async claimDistributions(
    rotationId: string,
    certificateArn: string,
    distributionIds: readonly string[],
    options: { leaseSeconds: number },
  ): Promise<{ claimed: true } | { claimed: false; heldBy: DistributionClaim[] }> {
    for (const distributionId of [...new Set(distributionIds)].sort()) {
      const holder = await this.#claimOne(distributionId, rotationId, certificateArn, options.leaseSeconds);
      if (holder !== undefined) return { claimed: false, heldBy: [{ distributionId, rotationId: holder }] };
    }
    return { claimed: true };
  }

  /** Claims one distribution; answers its live holder when another rotation has it. */
  async #claimOne(
    distributionId: string,
    rotationId: string,
    certificateArn: string,
    leaseSeconds: number,
  ): Promise<string | undefined> {
    const key = { pk: distributionPk(distributionId), sk: "CLAIM" };
    // A claim released between the refused write and the read of its holder: try again (bounded).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const now = this.#now();
      const expiresAt = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
      try {
        await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: key,
            UpdateExpression:
              "SET rotationId = :rotationId, certificateArn = :certificateArn, distributionId = :distributionId, claimedAt = if_not_exists(claimedAt, :now), expiresAt = if_not_exists(expiresAt, :expiresAt)",
            ConditionExpression: "attribute_not_exists(pk) OR rotationId = :rotationId",
            ExpressionAttributeValues: {
              ":rotationId": rotationId,
              ":certificateArn": certificateArn,
              ":distributionId": distributionId,
              ":now": now.toISOString(),
              ":expiresAt": expiresAt,
            },
          }),
        );
        return undefined;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const claim = await this.distributionClaimOf(distributionId);
      if (claim === undefined || claim.rotationId === rotationId) continue;
      if ((await this.distributionHolder(distributionId, now)) === claim.rotationId) return claim.rotationId;
      // Its holder ended or died: take the claim over, only from that holder and that claim.
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...key,
              rotationId,
              certificateArn,
              distributionId,
              claimedAt: now.toISOString(),
              expiresAt,
            },
            ConditionExpression: "rotationId = :holder AND claimedAt = :claimedAt",
            ExpressionAttributeValues: { ":holder": claim.rotationId, ":claimedAt": claim.claimedAt },
          }),
        );
        return undefined;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    throw new RotationStoreError(
      `the claim of distribution ${distributionId} kept changing hands; try again`,
    );
  }

  /** Release the claims `rotationId` holds among `distributionIds`; others' claims stay as they are. */
  async releaseDistributions(rotationId: string, distributionIds: readonly string[]): Promise<void> {
    for (const distributionId of new Set(distributionIds))
      await this.#deleteIfHeldBy({ pk: distributionPk(distributionId), sk: "CLAIM" }, rotationId);
  }

  /** Release the lock if `rotationId` holds it; releasing a lock held by another (or by none) is a no-op. */
  async releaseLock(certificateArn: string, rotationId: string): Promise<void> {
    await this.#deleteIfHeldBy({ pk: lockPk(certificateArn), sk: "LOCK" }, rotationId);
  }

  /** Deletes the item if `rotationId` holds it (a conditional delete); anyone else's stays. */
  async #deleteIfHeldBy(key: { pk: string; sk: string }, rotationId: string): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: key,
          ConditionExpression: "rotationId = :rotationId",
          ExpressionAttributeValues: { ":rotationId": rotationId },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * Persist `event` as history item `sequence`, the distributions it changed, and the summary of `state` (the
   * fold up to and including it). Replaying a sequence rewrites the same items; an item already written by a
   * later sequence is left as it is (the history item is still written). Every item is checked against the
   * size limit before any is written. The history keeps the event in the form the step checkpoints
   * (core/rotation.ts checkpointForm): a large plan's targets are its distribution items, not listed twice.
   */
  async record(state: RotationState, event: RotationEvent, sequence: number): Promise<void> {
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE)
      throw new RotationStoreError(`sequence must be an integer in 0..${MAX_SEQUENCE}, got ${sequence}`);
    const rotationId = state.rotationId;
    if (!rotationId) throw new RotationStoreError("state has no rotationId");
    const eventDoc = toJsonDocument(checkpointForm(event), "event");
    const stateDoc = toJsonDocument(stateSummary(state), "state");
    const actor = actorOf(event);
    const historyItem: Item = {
      pk: rotationPk(rotationId),
      sk: historySk(sequence),
      rotationId,
      sequence,
      type: event.type,
      at: event.at,
      ...(actor !== undefined ? { actor } : {}),
      event: eventDoc,
    };
    const certificateArn = state.request?.certificateArn;
    const stateItem: Item = {
      pk: rotationPk(rotationId),
      sk: "STATE",
      rotationId,
      status: state.status,
      ...(certificateArn !== undefined ? { certificateArn } : {}),
      ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
      ...(state.updatedAt !== undefined ? { updatedAt: state.updatedAt } : {}),
      // Listed only once it has a start time (the `started` event): the index is sparse.
      ...(state.startedAt !== undefined
        ? { gsi1pk: LIST_PARTITION, gsi1sk: `${state.startedAt}#${rotationId}` }
        : {}),
      sequence,
      layout: STATE_LAYOUT,
      state: stateDoc,
    };
    const changed = changedDistributions(state, event).map((t) =>
      distributionItem(rotationId, t, state, sequence),
    );
    assertItemSize(historyItem, `history item ${sequence} of rotation ${rotationId}`);
    assertItemSize(stateItem, `state of rotation ${rotationId}`);
    for (const item of changed)
      assertItemSize(item, `distribution ${String(item.distributionId)} of rotation ${rotationId}`);

    await this.#put({ TableName: this.#table, Item: historyItem }, rotationId);
    // A plan (or a claim's new baselines) writes every distribution, each a conditional put (a late write
    // of an older step never undoes a newer one), DISTRIBUTION_WRITES at a time.
    for (let i = 0; i < changed.length; i += DISTRIBUTION_WRITES)
      await Promise.all(
        changed
          .slice(i, i + DISTRIBUTION_WRITES)
          .map((item) => this.#putUnlessNewer(item, sequence, rotationId)),
      );
    await this.#putUnlessNewer(stateItem, sequence, rotationId);
  }

  /** Put the item unless one written by a later sequence is already there (a late write is dropped). */
  async #putUnlessNewer(item: Item, sequence: number, rotationId: string): Promise<void> {
    try {
      await this.#put(
        {
          TableName: this.#table,
          Item: item,
          ConditionExpression: "attribute_not_exists(#sequence) OR #sequence <= :sequence",
          ExpressionAttributeNames: { "#sequence": "sequence" },
          ExpressionAttributeValues: { ":sequence": sequence },
        },
        rotationId,
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** Record (or, with undefined, clear) the durable callback the rotation currently waits on. */
  async setControl(rotationId: string, control: RotationControl | undefined): Promise<void> {
    const key = { pk: rotationPk(rotationId), sk: "CONTROL" };
    if (control === undefined) {
      await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: key }));
      return;
    }
    if (!control.callbackId) throw new RotationStoreError("control needs a callbackId");
    if (!(CONTROL_POINT_KINDS as readonly string[]).includes(control.kind))
      throw new RotationStoreError(`unknown control kind ${JSON.stringify(control.kind)}`);
    if (!Number.isInteger(control.wave) || control.wave < 0)
      throw new RotationStoreError(`control wave must be a non-negative integer, got ${control.wave}`);
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...key,
          rotationId,
          callbackId: control.callbackId,
          kind: control.kind,
          wave: control.wave,
        },
      }),
    );
  }

  async #put(input: ConstructorParameters<typeof PutCommand>[0], rotationId: string): Promise<void> {
    try {
      await this.#doc.send(new PutCommand(input));
    } catch (error) {
      // The service measures items its own way: its refusal is the same condition as ours.
      if (
        awsErrorName(error) === "ValidationException" &&
        /item size/i.test(String((error as Error).message))
      )
        throw new ItemTooLargeError(`an item of rotation ${rotationId} exceeds DynamoDB's 400 KB limit`, {
          cause: error,
        });
      throw error;
    }
  }
}

function isConditionFailed(error: unknown): boolean {
  return awsErrorName(error) === "ConditionalCheckFailedException";
}

function actorOf(event: RotationEvent): string | undefined {
  if (event.type === "started") return event.request.actor;
  if ("actor" in event) return event.actor;
  return undefined;
}

/**
 * The value as plain JSON data (undefined members dropped, no class instances), which is what DynamoDB
 * stores and hands back: what `get` returns then equals what was recorded.
 */
function toJsonDocument(value: RotationState | RotationEvent, what: string): Item {
  try {
    return JSON.parse(JSON.stringify(value)) as Item;
  } catch (error) {
    throw new RotationStoreError(`${what} is not JSON-compatible`, { cause: error });
  }
}

/** Size of an item as DynamoDB counts it (UTF-8 names and strings; numbers and containers estimated high). */
export function itemSizeBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, "utf8") + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === "boolean") return 1;
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  if (typeof value === "number") return 2 + Math.ceil(String(value).replace(/[^0-9]/g, "").length / 2);
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueSize(v), 0);
  if (isObject(value)) return 3 + Object.keys(value).length + itemSizeBytes(value);
  throw new RotationStoreError(`cannot store a value of type ${typeof value}`);
}

function assertItemSize(item: Item, what: string): void {
  const size = itemSizeBytes(item);
  if (size > MAX_ITEM_BYTES)
    throw new ItemTooLargeError(
      `${what} is ${size} bytes, over DynamoDB's ${MAX_ITEM_BYTES}-byte item limit; nothing was written`,
    );
}

/** The distributions an event changes, with their wave, place and baseline (from the state after it). */
function changedDistributions(state: RotationState, event: RotationEvent): PlannedTarget[] {
  switch (event.type) {
    case "planned":
    case "distributions-claimed":
      return plannedTargetsOf(state);
    case "swapped":
    case "rolled-back-distribution": {
      for (const wave of state.waves) {
        if (event.type === "swapped" && wave.index !== event.wave) continue;
        const position = wave.distributions.findIndex((d) => d.distributionId === event.distributionId);
        if (position < 0) continue;
        const d = wave.distributions[position]!;
        return [
          {
            wave: wave.index,
            position,
            distributionId: d.distributionId,
            originIds: d.originIds,
            baseline: state.baselines?.[d.distributionId] ?? null,
          },
        ];
      }
      return [];
    }
    default:
      return [];
  }
}

/** A distribution's item: where it is in the plan, its baseline and its outcome so far. */
function distributionItem(
  rotationId: string,
  target: PlannedTarget,
  state: RotationState,
  sequence: number,
): Item {
  const wave = state.waves.find((w) => w.index === target.wave);
  const d = wave?.distributions[target.position];
  return {
    pk: rotationPk(rotationId),
    sk: distributionSk(target.wave, target.position),
    rotationId,
    distributionId: target.distributionId,
    wave: target.wave,
    position: target.position,
    originIds: target.originIds,
    outcome: d?.outcome ?? "pending",
    ...(d?.changedOriginIds ? { changedOriginIds: d.changedOriginIds } : {}),
    ...(d?.error !== undefined ? { error: d.error } : {}),
    baseline: target.baseline,
    sequence,
  };
}
