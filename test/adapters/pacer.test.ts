/**
 * The account's pacer against a real DynamoDB engine (dynalite behind the model-checking front) through the
 * real `lib-dynamodb`: concurrent reservers get distinct slots one interval apart (no double booking), an
 * idle schedule starts again at now, a replayed reservation gets the slot it already had, and a crash
 * between the schedule's write and the hold's costs one slot, never a call outside one.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountPacer, PacerBusyError, pacePk } from "../../functions/adapters/pacer.ts";
import { inPartitions, TABLE_PARTITIONS } from "../../functions/adapters/table-partitions.ts";
import { PACED_OPERATIONS } from "../../functions/core/pacing.ts";
import {
  createRotationTable,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";

const T = Date.UTC(2026, 11, 1, 9, 0, 0);
const IMPORT = PACED_OPERATIONS["acm-import"].intervalMs;
/** Slots from the reservation's instant on (the lead has its own test). */
const NO_LEAD = { leadsMs: { "acm-import": 0, "pca-issue": 0 } };

let dynamo: DynamoDbStandin;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

async function freshTable(): Promise<string> {
  tables += 1;
  const table = `pacer-${tables}`;
  await createRotationTable(client, table);
  return table;
}

/** A clock the test moves. */
function clock(start = T) {
  let now = start;
  return { now: () => new Date(now), set: (ms: number) => (now = ms), advance: (ms: number) => (now += ms) };
}

async function holdOf(table: string, operation: "acm-import" | "pca-issue", holder: string) {
  const doc = DynamoDBDocumentClient.from(client);
  const out = await doc.send(
    new GetCommand({ TableName: table, Key: { pk: pacePk(operation), sk: `HOLD#${holder}` } }),
  );
  return out.Item;
}

describe("AccountPacer", () => {
  it("keeps its items in the PACE# partitions", () => {
    expect(TABLE_PARTITIONS.pacers).toBe("PACE#*");
    expect(inPartitions(pacePk("acm-import"), [TABLE_PARTITIONS.pacers])).toBe(true);
    expect(inPartitions(pacePk("pca-issue"), [TABLE_PARTITIONS.pacers])).toBe(true);
    for (const other of Object.values(TABLE_PARTITIONS).filter((p) => p !== "PACE#*")) {
      expect(inPartitions(pacePk("acm-import"), [other])).toBe(false);
    }
  });

  it("gives the first reservation now, the next ones an interval apart, and an idle schedule now again", async () => {
    const c = clock();
    const pacer = new AccountPacer(client, { tableName: await freshTable(), now: c.now, ...NO_LEAD });
    expect(await pacer.reserve("acm-import", "rot-a")).toEqual({
      operation: "acm-import",
      slotMs: T,
      reused: false,
    });
    expect((await pacer.reserve("acm-import", "rot-b")).slotMs).toBe(T + IMPORT);
    c.advance(300);
    expect((await pacer.reserve("acm-import", "rot-c")).slotMs).toBe(T + 2 * IMPORT);
    expect(await pacer.nextFreeMs("acm-import")).toBe(T + 3 * IMPORT);
    // Long idle: the schedule starts again at now (idle time is never banked as a burst).
    c.advance(60_000);
    expect((await pacer.reserve("acm-import", "rot-d")).slotMs).toBe(T + 60_300);
    // Each operation has its own schedule.
    expect((await pacer.reserve("pca-issue", "rot-a")).slotMs).toBe(T + 60_300);
    expect((await pacer.reserve("pca-issue", "rot-b")).slotMs).toBe(T + 60_300 + 42);
  });

  it("N concurrent reservers (one instant) get distinct slots, one interval apart, none double-booked", async () => {
    const table = await freshTable();
    const c = clock();
    const n = 40;
    // Each reserver its own client and pacer, as each Lambda environment has.
    const clients = Array.from({ length: n }, () => dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 }));
    try {
      const reservations = await Promise.all(
        clients.map((own, i) =>
          new AccountPacer(own, { tableName: table, now: c.now, ...NO_LEAD }).reserve(
            "acm-import",
            `rot-${i}`,
          ),
        ),
      );
      const slots = reservations.map((r) => r.slotMs).sort((a, b) => a - b);
      expect(new Set(slots).size).toBe(n);
      expect(slots).toEqual(Array.from({ length: n }, (_, i) => T + i * IMPORT));
      // Each holder's hold is its own slot.
      for (let i = 0; i < n; i += 1) {
        expect((await holdOf(table, "acm-import", `rot-${i}`))?.slotMs).toBe(reservations[i]!.slotMs);
      }
    } finally {
      for (const own of clients) own.destroy();
    }
  });

  it("N concurrent reservers on the real clock, arriving over time: slots ordered and at least an interval apart", async () => {
    const table = await freshTable();
    const n = 25;
    const reservations = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i % 5) * 7));
        return new AccountPacer(client, { tableName: table }).reserve("acm-import", `rot-${i}`);
      }),
    );
    const slots = reservations.map((r) => r.slotMs).sort((a, b) => a - b);
    expect(new Set(slots).size).toBe(n);
    for (let i = 1; i < n; i += 1) expect(slots[i]! - slots[i - 1]!).toBe(IMPORT);
    expect(Math.abs(slots[0]! - Date.now())).toBeLessThan(10_000);
  });

  it("a replayed reservation (the step ran again after its write) gets the slot it already had", async () => {
    const c = clock();
    const pacer = new AccountPacer(client, { tableName: await freshTable(), now: c.now, ...NO_LEAD });
    await pacer.reserve("acm-import", "rot-0");
    const first = await pacer.reserve("acm-import", "rot-1");
    await pacer.reserve("acm-import", "rot-2");
    c.advance(5_000);
    const again = await pacer.reserve("acm-import", "rot-1");
    expect(again).toEqual({ operation: "acm-import", slotMs: first.slotMs, reused: true });
    // Nothing moved: the next reserver gets the slot after rot-2's.
    expect(await pacer.nextFreeMs("acm-import")).toBe(T + 3 * IMPORT);
  });

  it("a crash between the schedule's write and the hold's costs one slot; nothing is double-booked", async () => {
    const table = await freshTable();
    const c = clock();
    const doc = DynamoDBDocumentClient.from(client);
    const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
    let crashes = 0;
    // The process dies right after the schedule's write: the hold is never written.
    (doc as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
      if (command instanceof PutCommand && crashes > 0) {
        crashes -= 1;
        throw Object.assign(new Error("Lambda environment crashed"), { name: "Crash" });
      }
      return send(command);
    };
    const pacer = new AccountPacer(doc, { tableName: table, now: c.now, ...NO_LEAD });
    await pacer.reserve("acm-import", "rot-0");
    crashes = 1;
    await expect(pacer.reserve("acm-import", "rot-1")).rejects.toThrow("crashed");
    const other = await pacer.reserve("acm-import", "rot-2");
    // The step runs again: a slot after everything reserved meanwhile (the lost one, T + IMPORT, stays unused).
    const replayed = await pacer.reserve("acm-import", "rot-1");
    expect(other.slotMs).toBe(T + 2 * IMPORT);
    expect(replayed).toEqual({ operation: "acm-import", slotMs: T + 3 * IMPORT, reused: false });
    // And from now on it is idempotent.
    expect(await pacer.reserve("acm-import", "rot-1")).toEqual({ ...replayed, reused: true });
    const slots = [T, other.slotMs, replayed.slotMs];
    expect(new Set(slots).size).toBe(3);
  });

  it("release drops the hold (idempotent); a later reservation of the holder is a new slot", async () => {
    const c = clock();
    const table = await freshTable();
    const pacer = new AccountPacer(client, { tableName: table, now: c.now, ...NO_LEAD });
    const first = await pacer.reserve("pca-issue", "rot-a");
    await pacer.release("pca-issue", "rot-a");
    await pacer.release("pca-issue", "rot-a");
    expect(await holdOf(table, "pca-issue", "rot-a")).toBeUndefined();
    expect(await pacer.reserve("pca-issue", "rot-a")).toEqual({
      operation: "pca-issue",
      slotMs: first.slotMs + 42,
      reused: false,
    });
  });

  it("gives up after its attempts with a retryable PacerBusyError (the workflow's step retry takes over)", async () => {
    const c = clock();
    // One attempt, guessing a busy schedule: a new schedule refuses that condition.
    const pacer = new AccountPacer(client, {
      tableName: await freshTable(),
      now: c.now,
      maxAttempts: 1,
      ...NO_LEAD,
    });
    const error = await pacer.reserve("acm-import", "rot-a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PacerBusyError);
    expect((error as PacerBusyError).retryable).toBe(true);
  });

  it("hands out no slot sooner than the operation's lead after its reservation (the holder's work before its call)", async () => {
    const c = clock();
    const pacer = new AccountPacer(client, { tableName: await freshTable(), now: c.now });
    expect(PACED_OPERATIONS["acm-import"].leadMs).toBe(1_000);
    expect((await pacer.reserve("acm-import", "a")).slotMs).toBe(T + 1_000);
    // Busy: the next free moment, already past the lead.
    expect((await pacer.reserve("acm-import", "b")).slotMs).toBe(T + 1_000 + IMPORT);
    // Idle again, or not yet far enough ahead: now + lead.
    c.advance(1_500);
    expect((await pacer.reserve("acm-import", "c")).slotMs).toBe(T + 1_000 + 2 * IMPORT);
    c.advance(2_000);
    expect((await pacer.reserve("acm-import", "d")).slotMs).toBe(T + 4_500);
    expect((await pacer.reserve("pca-issue", "a")).slotMs).toBe(
      T + 3_500 + PACED_OPERATIONS["pca-issue"].leadMs,
    );
  });

  it("takes its intervals from options (a benchmark's scaled time)", async () => {
    const c = clock();
    const pacer = new AccountPacer(client, {
      tableName: await freshTable(),
      now: c.now,
      intervalsMs: { "acm-import": 105 },
      ...NO_LEAD,
    });
    expect(pacer.intervalMs("acm-import")).toBe(105);
    expect(pacer.intervalMs("pca-issue")).toBe(42);
    await pacer.reserve("acm-import", "a");
    expect((await pacer.reserve("acm-import", "b")).slotMs).toBe(T + 105);
  });
});
