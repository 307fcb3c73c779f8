/**
 * Reading the rotation table (rotation-store.ts describes its items): a rotation's state, its history, its
 * control item, the rotations newest first, the rotation holding a certificate's lock. SDK-free: the
 * read-only API routes read through a signed fetch (signed-table.ts); RotationStore, which also
 * writes, extends this class over the SDK's document client.
 */
import type {
  ControlPointKind,
  DistributionOutcome,
  DistributionState,
  PlannedTarget,
  PlannedTargetsPage,
  RotationEvent,
  RotationState,
  RotationStatus,
} from "../core/rotation.ts";
import {
  CONTROL_POINT_KINDS,
  DEFAULT_DISTRIBUTIONS_PAGE,
  MAX_DISTRIBUTIONS_PAGE,
  MAX_HISTORY_SEQUENCE,
  RotationStatus as RotationStatuses,
} from "../core/rotation.ts";
import { AdapterError, awsErrorName } from "./errors.ts";
import type { Item, TablePage, TableQuery, TableReads } from "./table-reads.ts";

/** Key schema of the rotation table: the stand-in creates exactly this, and the SST infra declares it. */
export const ROTATION_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  listIndex: { name: "list", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /** Non-key attributes the `list` index projects (what `list()` answers). */
  listProjection: ["rotationId", "certificateArn", "status", "startedAt", "updatedAt"],
} as const;

export const LIST_PARTITION = "ROTATION";
export const MAX_LIST_LIMIT = 100;
/** With a status filter, how many index pages one `list` call reads before answering with what it has. */
const MAX_FILTERED_PAGES = 10;

export class RotationStoreError extends AdapterError {
  override name = "RotationStoreError";
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

export interface RotationControl {
  /** Durable callback id the rotation is waiting on. */
  callbackId: string;
  kind: ControlPointKind;
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

export interface RotationReadsOptions {
  /** Query page size (`Limit`) for history reads; DynamoDB's 1 MB pages when absent. For tests. */
  historyPageSize?: number;
}

export class RotationReads {
  readonly #reads: TableReads;
  /** The table's reads (the API's pages, rotation-pages.ts, read the same table). */
  readonly tableReads: TableReads;
  readonly #historyPageSize: number | undefined;

  constructor(reads: TableReads, options: RotationReadsOptions = {}) {
    this.#reads = reads;
    this.tableReads = reads;
    this.#historyPageSize = options.historyPageSize;
  }

  /** The rotation holding the certificate's lock, if any. */
  async activeRotationFor(certificateArn: string, now: Date = new Date()): Promise<string | undefined> {
    const lock = await this.lockOf(certificateArn);
    if (!lock) return undefined;
    // A lease that ran out is no lock: its holder has outlived its worst case and is dead.
    if (lock.expiresAt !== undefined && lock.expiresAt <= now.toISOString()) return undefined;
    return lock.rotationId;
  }

  /**
   * The rotation changing a distribution, if any: the holder of its claim, while the claim's lease runs and
   * its holder still holds its own certificate's lock (a rotation that ended, or died and lost its lock, no
   * longer changes anything). See RotationStore.claimDistributions.
   */
  async distributionHolder(distributionId: string, now: Date = new Date()): Promise<string | undefined> {
    const claim = await this.distributionClaimOf(distributionId);
    if (!claim || claim.expiresAt <= now.toISOString()) return undefined;
    return (await this.activeRotationFor(claim.certificateArn, now)) === claim.rotationId
      ? claim.rotationId
      : undefined;
  }

  /** A distribution's claim item as stored. */
  async distributionClaimOf(distributionId: string): Promise<DistributionClaimItem | undefined> {
    const item = await this.#reads.getItem(
      { pk: distributionPk(distributionId), sk: "CLAIM" },
      { consistentRead: true },
    );
    const { rotationId, certificateArn, claimedAt, expiresAt } = item ?? {};
    if (
      typeof rotationId !== "string" ||
      typeof certificateArn !== "string" ||
      typeof claimedAt !== "string" ||
      typeof expiresAt !== "string"
    )
      return undefined;
    return { rotationId, certificateArn, claimedAt, expiresAt };
  }

  /** The certificate's lock item as stored (its holder, and its lease's end when it has one). */
  async lockOf(certificateArn: string): Promise<{ rotationId: string; expiresAt?: string } | undefined> {
    const item = await this.#reads.getItem(
      { pk: lockPk(certificateArn), sk: "LOCK" },
      { consistentRead: true },
    );
    const holder = item?.rotationId;
    if (typeof holder !== "string") return undefined;
    return {
      rotationId: holder,
      ...(typeof item?.expiresAt === "string" ? { expiresAt: item.expiresAt } : {}),
    };
  }

  /**
   * An operator's rollback asked for while the rotation had no control point open (adapters/rollback-
   * requests.ts writes it): the workflow acts on it at its next safe point.
   */
  async rollbackRequestOf(rotationId: string): Promise<RollbackRequest | undefined> {
    const item = await this.#reads.getItem(rollbackRequestKey(rotationId), { consistentRead: true });
    if (!item) return undefined;
    const { actor, reason, requestedAt } = item;
    if (typeof actor !== "string" || typeof reason !== "string" || typeof requestedAt !== "string")
      throw new RotationStoreError(`rollback request of rotation ${rotationId} is malformed`);
    return { actor, reason, requestedAt };
  }

  /** The status of a rotation, or undefined when there is none (the dispatcher's view of earlier attempts). */
  async statusOf(rotationId: string): Promise<RotationState["status"] | undefined> {
    return (await this.summaryOf(rotationId))?.status;
  }

  /**
   * The rotation's whole state: its summary with every distribution read back into its wave (all pages).
   * For the workflow's tests and the sandbox; the API reads the summary and a page (`summaryOf`,
   * `distributionsPage`).
   */
  async get(rotationId: string): Promise<RotationState | undefined> {
    const stored = await this.stateItem(rotationId);
    if (!stored?.summary) return stored?.state;
    const state = stored.state;
    const distributions: StoredDistribution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.distributionsPage(
        rotationId,
        { limit: MAX_DISTRIBUTIONS_PAGE, nextToken },
        state,
      );
      distributions.push(...page.distributions);
      nextToken = page.nextToken;
    } while (nextToken);
    const whole = withDistributions(state, distributions);
    return { ...whole, waves: whole.waves.map(({ counts: _counts, ...w }) => w) };
  }

  /**
   * The rotation's state as the store keeps it: without distribution lists when it keeps them as their own
   * items (then each wave has `size` and `counts`; `distributionsPage` reads them), else whole (older items).
   */
  async summaryOf(rotationId: string): Promise<RotationState | undefined> {
    return (await this.stateItem(rotationId))?.state;
  }

  /** The state item: its state, and whether it is a summary (distributions as their own items). */
  async stateItem(rotationId: string): Promise<{ state: RotationState; summary: boolean } | undefined> {
    const item = await this.#reads.getItem(
      { pk: rotationPk(rotationId), sk: "STATE" },
      { consistentRead: true },
    );
    if (!item) return undefined;
    const state = item.state;
    if (!isObject(state)) throw new RotationStoreError(`state item of rotation ${rotationId} has no state`);
    return { state: state as unknown as RotationState, summary: item.layout === STATE_LAYOUT };
  }

  /**
   * A page of the rotation's distributions in plan order (wave, then place in the wave), `limit` at most
   * (1..MAX_DISTRIBUTIONS_PAGE). `nextToken` is opaque (base64url of the table position); one this store did
   * not hand out for this rotation is refused with InvalidNextTokenError. Items beyond a wave's planned size
   * (left by an attempt of the plan step that did not count) are not the plan's and are skipped.
   */
  async distributionsPage(
    rotationId: string,
    options: { limit?: number; nextToken?: string } = {},
    summary?: RotationState,
  ): Promise<{ distributions: StoredDistribution[]; nextToken?: string }> {
    const limit = options.limit ?? DEFAULT_DISTRIBUTIONS_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DISTRIBUTIONS_PAGE)
      throw new InvalidListRequestError(
        `limit must be an integer in 1..${MAX_DISTRIBUTIONS_PAGE}, got ${limit}`,
      );
    const state = summary ?? (await this.summaryOf(rotationId));
    const sizes = new Map((state?.waves ?? []).map((w) => [w.index, waveSize(w)]));
    const startKey =
      options.nextToken !== undefined ? decodeDistributionsToken(options.nextToken, rotationId) : undefined;
    const page = await this.#reads.query({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": rotationPk(rotationId), ":prefix": DISTRIBUTION_SK_PREFIX },
      ConsistentRead: true,
      ScanIndexForward: true,
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    });
    const distributions = page.items
      .map(storedDistributionOf)
      .filter((d): d is StoredDistribution => d !== undefined && d.position < (sizes.get(d.wave) ?? 0));
    return {
      distributions,
      ...(page.lastKey
        ? { nextToken: Buffer.from(JSON.stringify(page.lastKey), "utf8").toString("base64url") }
        : {}),
    };
  }

  /** A page of a stored plan, for the workflow to read back (a step result: PLANNED_TARGETS_PAGE at most). */
  async plannedTargetsPage(
    rotationId: string,
    options: { limit: number; next?: string; summary: RotationState },
  ): Promise<PlannedTargetsPage> {
    const page = await this.distributionsPage(
      rotationId,
      { limit: options.limit, ...(options.next ? { nextToken: options.next } : {}) },
      options.summary,
    );
    return {
      targets: page.distributions.map(
        (d): PlannedTarget => ({
          wave: d.wave,
          position: d.position,
          distributionId: d.distributionId,
          originIds: d.originIds,
          baseline: d.baseline,
        }),
      ),
      ...(page.nextToken ? { next: page.nextToken } : {}),
    };
  }

  /** The rotation's events in sequence order (every page read). */
  async history(rotationId: string): Promise<RotationEvent[]> {
    const events: RotationEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#reads.query({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": rotationPk(rotationId), ":prefix": "EVENT#" },
        ConsistentRead: true,
        ScanIndexForward: true,
        ...(this.#historyPageSize !== undefined ? { Limit: this.#historyPageSize } : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      for (const item of page.items) {
        if (!isObject(item.event))
          throw new RotationStoreError(
            `history item ${String(item.sk)} of rotation ${rotationId} has no event`,
          );
        events.push(item.event as unknown as RotationEvent);
      }
      startKey = page.lastKey;
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
    let startKey: Item | undefined =
      options.nextToken !== undefined ? decodeNextToken(options.nextToken) : undefined;

    const rotations: RotationSummary[] = [];
    let pages = 0;
    do {
      const query: TableQuery = {
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
      let page: TablePage;
      try {
        page = await this.#reads.query(query);
      } catch (error) {
        // DynamoDB's own word on a start key that does not belong to this index.
        if (options.nextToken !== undefined && awsErrorName(error) === "ValidationException")
          throw new InvalidNextTokenError("nextToken is not valid for this listing", { cause: error });
        throw error;
      }
      for (const item of page.items) rotations.push(toSummary(item));
      startKey = page.lastKey;
      pages += 1;
    } while (startKey && rotations.length < limit && (!status || pages < MAX_FILTERED_PAGES));

    return { rotations, ...(startKey ? { nextToken: encodeNextToken(startKey) } : {}) };
  }

  async getControl(rotationId: string): Promise<RotationControl | undefined> {
    const item = await this.#reads.getItem(
      { pk: rotationPk(rotationId), sk: "CONTROL" },
      { consistentRead: true },
    );
    if (!item) return undefined;
    const { callbackId, kind, wave } = item;
    if (
      typeof callbackId !== "string" ||
      !(CONTROL_POINT_KINDS as readonly unknown[]).includes(kind) ||
      typeof wave !== "number"
    )
      throw new RotationStoreError(`control item of rotation ${rotationId} is malformed`);
    return { callbackId, kind: kind as ControlPointKind, wave };
  }
}

/** A distribution of a rotation as the store keeps it (its own item). */
export interface StoredDistribution extends DistributionState {
  wave: number;
  position: number;
  baseline: number | null;
}

/** The state item's `layout` when it holds the summary and each distribution is its own item. */
export const STATE_LAYOUT = "summary";
export const DISTRIBUTION_SK_PREFIX = "DIST#";
/** History sort keys: `EVENT#` + the sequence, six digits. */
export function historySk(sequence: number): string {
  return `EVENT#${String(sequence).padStart(6, "0")}`;
}

/**
 * The newest `limit` history items of partition `pk` (a rotation's, a viewer migration's) before sequence
 * `before` (all when absent), in sequence order, and the sequence of the first one (`start`): the next older
 * page is `before: start`.
 */
export async function historyItemsPage(
  reads: TableReads,
  pk: string,
  options: { limit: number; before?: number },
): Promise<{ items: Item[]; start: number }> {
  const before = options.before ?? MAX_HISTORY_SEQUENCE + 1;
  if (before <= 0) return { items: [], start: 0 };
  const page = await reads.query({
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :first AND :last",
    ExpressionAttributeValues: { ":pk": pk, ":first": historySk(0), ":last": historySk(before - 1) },
    ConsistentRead: true,
    ScanIndexForward: false,
    Limit: options.limit,
  });
  const items = [...page.items].reverse();
  const first = items[0]?.sequence;
  return { items, start: typeof first === "number" ? first : before };
}

/** A distribution's sort key: its wave, then its place in the wave (plan order). */
export function distributionSk(wave: number, position: number): string {
  return `${DISTRIBUTION_SK_PREFIX}${String(wave).padStart(4, "0")}#${String(position).padStart(6, "0")}`;
}

/**
 * A summary with `distributions` placed in their waves (in the order given) and their baselines; the waves'
 * other distributions are on other pages.
 */
export function withDistributions(
  summary: RotationState,
  distributions: readonly StoredDistribution[],
): RotationState {
  const waves = summary.waves.map((w) => ({ ...w, distributions: [] as DistributionState[] }));
  const baselines: Record<string, number | null> = {};
  for (const d of distributions) {
    waves.find((w) => w.index === d.wave)?.distributions.push(distributionStateOf(d));
    baselines[d.distributionId] = d.baseline;
  }
  return { ...summary, waves, ...(distributions.length ? { baselines } : {}) };
}

/** A wave's size: as planned when the plan was stored, else what its counts (a summary) or its list hold. */
export function waveSize(
  wave: Pick<RotationState["waves"][number], "size" | "counts" | "distributions">,
): number {
  if (wave.size !== undefined) return wave.size;
  if (wave.counts !== undefined) return Object.values(wave.counts).reduce((n, c) => n + (c ?? 0), 0);
  return wave.distributions.length;
}

function distributionStateOf(d: StoredDistribution): DistributionState {
  const { wave: _w, position: _p, baseline: _b, ...rest } = d;
  return rest;
}

function storedDistributionOf(item: Item): StoredDistribution | undefined {
  const { distributionId, wave, position, originIds, outcome, changedOriginIds, error, baseline } = item;
  if (typeof distributionId !== "string" || typeof wave !== "number" || typeof position !== "number")
    return undefined;
  return {
    distributionId,
    wave,
    position,
    originIds: Array.isArray(originIds) ? originIds.map(String) : [],
    outcome: (typeof outcome === "string" ? outcome : "pending") as DistributionOutcome,
    ...(Array.isArray(changedOriginIds) ? { changedOriginIds: changedOriginIds.map(String) } : {}),
    ...(typeof error === "string" ? { error } : {}),
    baseline: typeof baseline === "number" ? baseline : null,
  };
}

/** The object a token (base64url of JSON) holds; InvalidNextTokenError when it holds none. */
export function tokenObject(token: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch (error) {
    throw new InvalidNextTokenError("nextToken is malformed", { cause: error });
  }
  if (!isObject(parsed)) throw new InvalidNextTokenError("nextToken is malformed");
  return parsed;
}

/** A distributions page's token, checked to name a distribution item of this rotation. */
export function decodeDistributionsToken(token: string, rotationId: string): Record<string, string> {
  const parsed = tokenObject(token);
  const keys = Object.keys(parsed).sort();
  const valid =
    keys.length === 2 &&
    keys[0] === "pk" &&
    keys[1] === "sk" &&
    parsed.pk === rotationPk(rotationId) &&
    typeof parsed.sk === "string" &&
    /^DIST#\d{4}#\d{6}$/.test(parsed.sk);
  if (!valid) throw new InvalidNextTokenError("nextToken is not one of this rotation's pages");
  return parsed as Record<string, string>;
}

/** An operator's rollback waiting for the rotation's next safe point. */
export interface RollbackRequest {
  actor: string;
  reason: string;
  requestedAt: string;
}

/** The rollback request item of a rotation: `ROT#<id>` / `ROLLBACK`. */
export function rollbackRequestKey(rotationId: string): { pk: string; sk: string } {
  return { pk: rotationPk(rotationId), sk: "ROLLBACK" };
}

export function rotationPk(rotationId: string): string {
  return `ROT#${rotationId}`;
}

export function lockPk(certificateArn: string): string {
  return `CERT#${certificateArn}`;
}

/** A distribution's claim: which rotation may change it (one at a time), `DIST#<distribution id>`. */
export function distributionPk(distributionId: string): string {
  return `DIST#${distributionId}`;
}

/** A distribution's claim as stored: its holder, the holder's certificate (whose lock it holds), its lease. */
export interface DistributionClaimItem {
  rotationId: string;
  certificateArn: string;
  claimedAt: string;
  expiresAt: string;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
  const parsed = tokenObject(token);
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
