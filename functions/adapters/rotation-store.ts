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
 * |         |                       |                       | sequence (N), state (M: the whole RotationState),           |
 * |         |                       |                       | gsi1pk = `ROTATION`, gsi1sk = `<startedAt>#<rotationId>`    |
 * | history | `ROT#<rotationId>`    | `EVENT#<seq, 6 wide>` | rotationId, sequence (N), type, at, actor?, event (M)       |
 * | control | `ROT#<rotationId>`    | `CONTROL`             | rotationId, callbackId, kind (bake / approval), wave (N)    |
 * | lock    | `CERT#<certificateArn>` | `LOCK`              | certificateArn, rotationId, acquiredAt                      |
 *
 * One GSI, `list`: `gsi1pk` (S, partition) + `gsi1sk` (S, sort), INCLUDE projection of the summary
 * attributes. Only state items carry the GSI keys (sparse), so a descending Query on `gsi1pk = ROTATION`
 * lists rotations newest first (ISO-8601 `startedAt` sorts chronologically); a status filter is a
 * FilterExpression on `status`. The history sort key is zero-padded so that lexical order is sequence order;
 * a replayed step rewrites the same key (no duplicate, never a reorder). The control item is its own item,
 * not an attribute of the state item, because `record` replaces the state item whole.
 */
import { type CreateTableCommandInput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  type RotationEvent,
  type RotationState,
  type RotationStatus,
  RotationStatus as RotationStatuses,
} from "../core/rotation.ts";
import { AdapterError, awsErrorName } from "./errors.ts";

/** Key schema of the rotation table: the stand-in creates exactly this, and the SST infra declares it. */
export const ROTATION_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  listIndex: { name: "list", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /** Non-key attributes the `list` index projects (what `list()` answers). */
  listProjection: ["rotationId", "certificateArn", "status", "startedAt", "updatedAt"],
} as const;

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

/** DynamoDB's item size limit (400 KB, attribute names included). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** History sort keys are `EVENT#` + six digits. */
export const MAX_SEQUENCE = 999_999;
const LIST_PARTITION = "ROTATION";
const MAX_LIST_LIMIT = 100;
/** With a status filter, how many index pages one `list` call reads before answering with what it has. */
const MAX_FILTERED_PAGES = 10;

export class RotationStoreError extends AdapterError {
  override name = "RotationStoreError";
}

/** An item would exceed DynamoDB's 400 KB limit; nothing was written. */
export class ItemTooLargeError extends RotationStoreError {
  override name = "ItemTooLargeError";
  override readonly retryable = false;
}

/** `list()` was asked for something it cannot answer (the API answers 400). */
export class InvalidListRequestError extends RotationStoreError {
  override name = "InvalidListRequestError";
  override readonly retryable = false;
}

/** The `nextToken` is not one `list()` handed out (the API answers 400). */
export class InvalidNextTokenError extends InvalidListRequestError {
  override name = "InvalidNextTokenError";
}

export type LockResult = { acquired: true } | { acquired: false; heldBy: string };

export interface RotationControl {
  /** Durable callback id the rotation is waiting on. */
  callbackId: string;
  kind: "bake" | "approval";
  wave: number;
}

export interface RotationSummary {
  rotationId: string;
  /** "" when the rotation's request is not known (a state recorded before its `started` event). */
  certificateArn: string;
  status: RotationStatus;
  startedAt: string;
  updatedAt: string;
}

export interface ListOptions {
  /** Rotations per page, 1..100. Default 25. */
  limit?: number;
  nextToken?: string;
  status?: RotationStatus;
}

export interface ListResult {
  rotations: RotationSummary[];
  nextToken?: string;
}

export interface RotationStoreOptions {
  tableName: string;
  /** Query page size (`Limit`) for history reads; DynamoDB's 1 MB pages when absent. For tests. */
  historyPageSize?: number;
  /** Clock for `acquiredAt` on lock items. */
  now?: () => Date;
}

type Item = Record<string, unknown>;

/** A document client over `client`; a DynamoDBDocumentClient is used as it is. */
export function toDocumentClient(client: DynamoDBClient | DynamoDBDocumentClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  if (client instanceof DynamoDBClient)
    return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  throw new RotationStoreError("RotationStore needs a DynamoDBClient or a DynamoDBDocumentClient");
}

export class RotationStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #historyPageSize: number | undefined;
  readonly #now: () => Date;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: RotationStoreOptions) {
    if (!options.tableName) throw new RotationStoreError("RotationStore needs a table name");
    this.#doc = toDocumentClient(client);
    this.#table = options.tableName;
    this.#historyPageSize = options.historyPageSize;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Take the certificate's lock for `rotationId`: succeeds when nobody holds it or `rotationId` already
   * does (re-acquiring is idempotent, so a replayed step gets the same answer).
   */
  async acquireLock(certificateArn: string, rotationId: string): Promise<LockResult> {
    // A lock released between the refused put and the read of its holder: try again (bounded).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        // An update, not a put: re-acquiring keeps the original acquiredAt.
        await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: lockPk(certificateArn), sk: "LOCK" },
            UpdateExpression:
              "SET rotationId = :rotationId, certificateArn = :certificateArn, acquiredAt = if_not_exists(acquiredAt, :now)",
            ConditionExpression: "attribute_not_exists(pk) OR rotationId = :rotationId",
            ExpressionAttributeValues: {
              ":rotationId": rotationId,
              ":certificateArn": certificateArn,
              ":now": this.#now().toISOString(),
            },
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const heldBy = await this.activeRotationFor(certificateArn);
      if (heldBy !== undefined && heldBy !== rotationId) return { acquired: false, heldBy };
    }
    throw new RotationStoreError(`lock for ${certificateArn} kept changing hands; try again`);
  }

  /** Release the lock if `rotationId` holds it; releasing a lock held by another (or by none) is a no-op. */
  async releaseLock(certificateArn: string, rotationId: string): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: lockPk(certificateArn), sk: "LOCK" },
          ConditionExpression: "rotationId = :rotationId",
          ExpressionAttributeValues: { ":rotationId": rotationId },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** The rotation holding the certificate's lock, if any. */
  async activeRotationFor(certificateArn: string): Promise<string | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: lockPk(certificateArn), sk: "LOCK" },
        ConsistentRead: true,
      }),
    );
    const holder = out.Item?.rotationId;
    return typeof holder === "string" ? holder : undefined;
  }

  /**
   * Persist `event` as history item `sequence` and `state` (the fold up to and including it). Replaying a
   * sequence rewrites the same items; a state older than the one stored is left as it is (the history item
   * is still written). Both items are checked against the size limit before either is written.
   */
  async record(state: RotationState, event: RotationEvent, sequence: number): Promise<void> {
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE)
      throw new RotationStoreError(`sequence must be an integer in 0..${MAX_SEQUENCE}, got ${sequence}`);
    const rotationId = state.rotationId;
    if (!rotationId) throw new RotationStoreError("state has no rotationId");
    const eventDoc = toJsonDocument(event, "event");
    const stateDoc = toJsonDocument(state, "state");
    const actor = actorOf(event);
    const historyItem: Item = {
      pk: rotationPk(rotationId),
      sk: eventSk(sequence),
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
      state: stateDoc,
    };
    assertItemSize(historyItem, `history item ${sequence} of rotation ${rotationId}`);
    assertItemSize(stateItem, `state of rotation ${rotationId}`);

    await this.#put({ TableName: this.#table, Item: historyItem }, rotationId);
    try {
      await this.#put(
        {
          TableName: this.#table,
          Item: stateItem,
          ConditionExpression: "attribute_not_exists(#sequence) OR #sequence <= :sequence",
          ExpressionAttributeNames: { "#sequence": "sequence" },
          ExpressionAttributeValues: { ":sequence": sequence },
        },
        rotationId,
      );
    } catch (error) {
      // A newer state is already stored: the late write of an older one is dropped.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** The status of a rotation, or undefined when there is none (the dispatcher's view of earlier attempts). */
  async statusOf(rotationId: string): Promise<RotationState["status"] | undefined> {
    return (await this.get(rotationId))?.status;
  }

  async get(rotationId: string): Promise<RotationState | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: rotationPk(rotationId), sk: "STATE" },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const state = out.Item.state;
    if (!isObject(state)) throw new RotationStoreError(`state item of rotation ${rotationId} has no state`);
    return state as unknown as RotationState;
  }

  /** The rotation's events in sequence order (every page read). */
  async history(rotationId: string): Promise<RotationEvent[]> {
    const events: RotationEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": rotationPk(rotationId), ":prefix": "EVENT#" },
          ConsistentRead: true,
          ScanIndexForward: true,
          ...(this.#historyPageSize !== undefined ? { Limit: this.#historyPageSize } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        if (!isObject(item.event))
          throw new RotationStoreError(
            `history item ${String(item.sk)} of rotation ${rotationId} has no event`,
          );
        events.push(item.event as unknown as RotationEvent);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return events;
  }

  /**
   * Rotations newest first, `limit` per page. `nextToken` is opaque (base64url of the index position); one
   * this store did not hand out is refused with InvalidNextTokenError. With a status filter a page may hold
   * fewer than `limit` rotations and still have a `nextToken`.
   */
  async list(options: ListOptions = {}): Promise<ListResult> {
    const limit = options.limit ?? 25;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
      throw new InvalidListRequestError(`limit must be an integer in 1..${MAX_LIST_LIMIT}, got ${limit}`);
    const status = options.status;
    if (status !== undefined && !(Object.values(RotationStatuses) as string[]).includes(status))
      throw new InvalidListRequestError(`unknown rotation status ${JSON.stringify(status)}`);
    let startKey = options.nextToken !== undefined ? decodeNextToken(options.nextToken) : undefined;

    const rotations: RotationSummary[] = [];
    let pages = 0;
    do {
      const input: QueryCommandInput = {
        TableName: this.#table,
        IndexName: ROTATION_TABLE.listIndex.name,
        KeyConditionExpression: "gsi1pk = :list",
        ExpressionAttributeValues: { ":list": LIST_PARTITION, ...(status ? { ":status": status } : {}) },
        ScanIndexForward: false,
        // DynamoDB applies Limit before the filter: asking for what is still missing means a page never
        // holds more than `limit` rotations, and LastEvaluatedKey is then exactly where the next page begins.
        Limit: limit - rotations.length,
        ...(status
          ? { FilterExpression: "#status = :status", ExpressionAttributeNames: { "#status": "status" } }
          : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      let out: QueryCommandOutput;
      try {
        out = await this.#doc.send(new QueryCommand(input));
      } catch (error) {
        // DynamoDB's own word on a start key that does not belong to this index.
        if (options.nextToken !== undefined && awsErrorName(error) === "ValidationException")
          throw new InvalidNextTokenError("nextToken is not valid for this listing", { cause: error });
        throw error;
      }
      for (const item of out.Items ?? []) rotations.push(toSummary(item));
      startKey = out.LastEvaluatedKey;
      pages += 1;
    } while (startKey && rotations.length < limit && (!status || pages < MAX_FILTERED_PAGES));

    return { rotations, ...(startKey ? { nextToken: encodeNextToken(startKey) } : {}) };
  }

  /** Record (or, with undefined, clear) the durable callback the rotation currently waits on. */
  async setControl(rotationId: string, control: RotationControl | undefined): Promise<void> {
    const key = { pk: rotationPk(rotationId), sk: "CONTROL" };
    if (control === undefined) {
      await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: key }));
      return;
    }
    if (!control.callbackId) throw new RotationStoreError("control needs a callbackId");
    if (control.kind !== "bake" && control.kind !== "approval")
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

  async getControl(rotationId: string): Promise<RotationControl | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: rotationPk(rotationId), sk: "CONTROL" },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    if (!item) return undefined;
    const { callbackId, kind, wave } = item;
    if (
      typeof callbackId !== "string" ||
      (kind !== "bake" && kind !== "approval") ||
      typeof wave !== "number"
    )
      throw new RotationStoreError(`control item of rotation ${rotationId} is malformed`);
    return { callbackId, kind, wave };
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

function rotationPk(rotationId: string): string {
  return `ROT#${rotationId}`;
}

function lockPk(certificateArn: string): string {
  return `CERT#${certificateArn}`;
}

function eventSk(sequence: number): string {
  return `EVENT#${String(sequence).padStart(6, "0")}`;
}

function isConditionFailed(error: unknown): boolean {
  return awsErrorName(error) === "ConditionalCheckFailedException";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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

function toSummary(item: Item): RotationSummary {
  return {
    rotationId: String(item.rotationId),
    certificateArn: typeof item.certificateArn === "string" ? item.certificateArn : "",
    status: item.status as RotationStatus,
    startedAt: String(item.startedAt),
    updatedAt: typeof item.updatedAt === "string" ? item.updatedAt : String(item.startedAt),
  };
}

const TOKEN_KEYS = ["gsi1pk", "gsi1sk", "pk", "sk"] as const;

function encodeNextToken(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/** The index position a token names, checked to be one `list()` could have handed out. */
function decodeNextToken(token: string): Record<string, string> {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch (error) {
    throw new InvalidNextTokenError("nextToken is malformed", { cause: error });
  }
  if (!isObject(parsed)) throw new InvalidNextTokenError("nextToken is malformed");
  const keys = Object.keys(parsed).sort();
  const valid =
    keys.length === TOKEN_KEYS.length &&
    TOKEN_KEYS.every((k, i) => keys[i] === k && typeof parsed[k] === "string" && parsed[k] !== "") &&
    parsed.gsi1pk === LIST_PARTITION &&
    parsed.sk === "STATE" &&
    String(parsed.pk).startsWith("ROT#");
  if (!valid) throw new InvalidNextTokenError("nextToken is malformed");
  return parsed as Record<string, string>;
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
