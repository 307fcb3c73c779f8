/**
 * The account's pacer for rate-limited AWS calls (ACM ImportCertificate, Private CA IssueCertificate), shared
 * by every execution of the workflow: Lambda runs each rotation in its own environment, so no in-process
 * pacing can keep a thousand rotations due at once within ACM's 1 import per second. A rotation reserves a
 * slot here, waits for it durably (no compute), then makes its call. Slot arithmetic: functions/core/pacing.ts.
 *
 * Items in the rotation table (single-table design, see rotation-store.ts), one partition per operation:
 *
 * | item     | pk                  | sk                | attributes                                         |
 * |----------|---------------------|-------------------|----------------------------------------------------|
 * | schedule | `PACE#<operation>`  | `BUCKET`          | nextFreeMs (N: epoch ms), intervalMs (N), updatedAt |
 * | hold     | `PACE#<operation>`  | `HOLD#<holder>`   | slotMs (N), reservedAt, holder                      |
 *
 * A reservation is one conditional UpdateItem of the schedule, never a read-modify-write race. With
 * `earliest = now + lead` (PACED_OPERATIONS: the time the holder needs before its call):
 * - busy schedule (`nextFreeMs >= earliest`): `nextFreeMs += interval`, the slot is the old value
 *   (UPDATED_OLD). Every concurrent reserver succeeds at its first write, in the order DynamoDB applies
 *   them: distinct slots, one interval apart, no conflicts however many rotations arrive together;
 * - idle schedule (absent, or `nextFreeMs < earliest`): `nextFreeMs = earliest + interval`, the slot is
 *   `earliest`.
 * The two conditions exclude each other; a reserver whose guess was wrong (the schedule turned busy or idle
 * between) gets ConditionalCheckFailed and tries the other form, with jittered backoff, a bounded number of
 * times (then a retryable PacerBusyError: the workflow's step retry takes over).
 *
 * Idempotent per holder (a rotation and its operation): the slot is also written as the holder's hold item,
 * and a reservation that finds its hold returns that slot. So a reserving step run again after a crash
 * (after its write, before its checkpoint) gets the slot it already had, not a second one at the end of the
 * queue. The one window left is between the schedule's write and the hold's (milliseconds, no await of
 * anything else): a crash there costs one unused slot (one interval of the account's rate) and this
 * rotation's wait at the end of the queue; no call is ever made outside a slot because of it. The hold is
 * released once the paced call was made.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { nextSlot, PACED_OPERATIONS, type PacedOperation, reservationBackoffMs } from "../core/pacing.ts";
import { AdapterError, awsErrorName } from "./errors.ts";
import { toDocumentClient } from "./rotation-store.ts";

/** The pacer's partition of an operation (table-partitions.ts lists `PACE#*`). */
export function pacePk(operation: PacedOperation): string {
  return `PACE#${operation}`;
}

/** No slot could be reserved within the attempts (the schedule kept changing under this reserver). */
export class PacerBusyError extends AdapterError {
  override name = "PacerBusyError";
  override readonly retryable = true;
}

export interface Reservation {
  operation: PacedOperation;
  /** Epoch ms: when the call may be made. */
  slotMs: number;
  /** The holder already had this slot (a replayed reservation). */
  reused: boolean;
}

export interface AccountPacerOptions {
  tableName: string;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); the jitter of backoffs. */
  random?: () => number;
  /** Conditional-write attempts per reservation (default 25). */
  maxAttempts?: number;
  /** Intervals per operation, ms (default PACED_OPERATIONS; a benchmark's scaled time sets shorter ones). */
  intervalsMs?: Partial<Record<PacedOperation, number>>;
  /** Leads per operation, ms (default PACED_OPERATIONS). */
  leadsMs?: Partial<Record<PacedOperation, number>>;
}

/** What the workflow needs of the pacer. */
export interface SlotReserver {
  reserve(operation: PacedOperation, holder: string): Promise<Reservation>;
  release(operation: PacedOperation, holder: string): Promise<void>;
}

export class AccountPacer implements SlotReserver {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #maxAttempts: number;
  readonly #intervals: Record<PacedOperation, number>;
  readonly #leads: Record<PacedOperation, number>;

  constructor(client: DynamoDBClient | DynamoDBDocumentClient, options: AccountPacerOptions) {
    if (!options.tableName) throw new AdapterError("AccountPacer needs a table name", { retryable: false });
    this.#doc = toDocumentClient(client);
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#maxAttempts = options.maxAttempts ?? 25;
    this.#intervals = {
      "acm-import": options.intervalsMs?.["acm-import"] ?? PACED_OPERATIONS["acm-import"].intervalMs,
      "pca-issue": options.intervalsMs?.["pca-issue"] ?? PACED_OPERATIONS["pca-issue"].intervalMs,
    };
    this.#leads = {
      "acm-import": options.leadsMs?.["acm-import"] ?? PACED_OPERATIONS["acm-import"].leadMs,
      "pca-issue": options.leadsMs?.["pca-issue"] ?? PACED_OPERATIONS["pca-issue"].leadMs,
    };
  }

  /** The interval between two slots of `operation`, ms. */
  intervalMs(operation: PacedOperation): number {
    return this.#intervals[operation];
  }

  /** A slot for `holder` (e.g. a rotation id): its existing one, or the next one of the account's schedule. */
  async reserve(operation: PacedOperation, holder: string): Promise<Reservation> {
    const pk = pacePk(operation);
    const held = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk, sk: `HOLD#${holder}` }, ConsistentRead: true }),
    );
    if (typeof held.Item?.slotMs === "number") return { operation, slotMs: held.Item.slotMs, reused: true };

    const interval = this.#intervals[operation];
    let busy = true;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt += 1) {
      const now = this.#now();
      const nowMs = now.getTime() + this.#leads[operation];
      try {
        const slotMs = busy
          ? await this.#takeNext(pk, nowMs, interval, now)
          : await this.#startIdle(pk, nowMs, interval, now);
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { pk, sk: `HOLD#${holder}`, holder, slotMs, reservedAt: now.toISOString() },
          }),
        );
        return { operation, slotMs, reused: false };
      } catch (error) {
        if (awsErrorName(error) !== "ConditionalCheckFailedException") throw error;
        // The schedule is in the other state: try that form, after a jittered pause if both failed already.
        busy = !busy;
        if (attempt > 0) await this.#sleep(reservationBackoffMs(attempt, this.#random()));
      }
    }
    throw new PacerBusyError(
      `no ${operation} slot reserved for ${holder} in ${this.#maxAttempts} attempts; will try again`,
    );
  }

  /** The paced call was made: the holder's hold is no longer needed (idempotent). */
  async release(operation: PacedOperation, holder: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: pacePk(operation), sk: `HOLD#${holder}` } }),
    );
  }

  /** The schedule's next free moment (epoch ms), if it was ever used. For tests and reports. */
  async nextFreeMs(operation: PacedOperation): Promise<number | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: pacePk(operation), sk: "BUCKET" },
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.nextFreeMs === "number" ? out.Item.nextFreeMs : undefined;
  }

  /** Busy schedule: the slot is its next free moment, which moves one interval on. `nowMs`: the earliest. */
  async #takeNext(pk: string, nowMs: number, interval: number, now: Date): Promise<number> {
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: "BUCKET" },
        UpdateExpression: "SET nextFreeMs = nextFreeMs + :interval, intervalMs = :interval, updatedAt = :at",
        ConditionExpression: "nextFreeMs >= :now",
        ExpressionAttributeValues: { ":interval": interval, ":now": nowMs, ":at": now.toISOString() },
        ReturnValues: "UPDATED_OLD",
      }),
    );
    const old = out.Attributes?.nextFreeMs;
    if (typeof old !== "number") throw new AdapterError(`the ${pk} schedule answered no nextFreeMs`);
    return old;
  }

  /** Idle (or new) schedule: the slot is the earliest (`nowMs`: now + lead). */
  async #startIdle(pk: string, nowMs: number, interval: number, now: Date): Promise<number> {
    const { slotMs, nextFreeMs } = nextSlot(undefined, nowMs, interval);
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: "BUCKET" },
        UpdateExpression: "SET nextFreeMs = :next, intervalMs = :interval, updatedAt = :at",
        ConditionExpression: "attribute_not_exists(nextFreeMs) OR nextFreeMs < :now",
        ExpressionAttributeValues: {
          ":next": nextFreeMs,
          ":interval": interval,
          ":now": nowMs,
          ":at": now.toISOString(),
        },
      }),
    );
    return slotMs;
  }
}
