/**
 * DynamoDB, moto against the project's DynamoDB for tests (dynalite): the conditional writes, queries and
 * batch writes the rotation store (functions/adapters/rotation-store.ts) and the inventory store
 * (functions/adapters/inventory-store.ts) make, driven through the real adapters, plus the raw calls under
 * them. Compared: what each adapter call returned, the items left behind, error codes and HTTP statuses.
 */
import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describe } from "vitest";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { RotationStore } from "../../functions/adapters/rotation-store.ts";
import {
  applyEvent,
  initialState,
  type RotationEvent,
  type RotationStatus,
} from "../../functions/core/rotation.ts";
import type { InventoryRecord } from "../../functions/core/tracking.ts";
import { createRotationTable } from "../../standins/dynamodb.ts";
import { type ScenarioContext, useDifferential } from "../support/differential.ts";
import { recordAll } from "../support/rotation-history.ts";

const { differential } = useDifferential();

const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-origin-mtls";

async function table(ctx: ScenarioContext): Promise<string> {
  const name = ctx.name("rotations");
  await createRotationTable(ctx.dynamodb, name);
  return name;
}

/** What a call did: its result, or the error it threw (AWS code or the adapter's error class). */
async function outcome<T>(call: Promise<T>): Promise<unknown> {
  try {
    const value = await call;
    return value === undefined ? "undefined" : value;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    return { threw: e.name, status: e.$metadata?.httpStatusCode };
  }
}

function at(minute: number, day = 1): string {
  return new Date(Date.UTC(2026, 2, day, 9, minute)).toISOString();
}

function started(certificateArn: string, day: number): RotationEvent {
  return {
    type: "started",
    at: at(0, day),
    request: { certificateArn, serial: "0a:1b", reason: "renewal due", actor: "scheduler" },
  } as RotationEvent;
}

function inventoryRecord(n: number, padding = 0): InventoryRecord {
  return {
    arn: `arn:aws:acm:us-east-1:111122223333:certificate/${String(n).padStart(4, "0")}`,
    serial: `0a:${n.toString(16).padStart(2, "0")}`,
    subject: `CN=origin-${n}`,
    issuer: "CN=Issuing CA",
    keyAlgorithm: "EC_prime256v1",
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2026-07-01T00:00:00.000Z",
    managed: n % 2 === 0,
    usage: [{ distributionId: `E${n}`, originId: "api" }],
    decision: { reason: "Fresh", message: "x".repeat(padding) },
    alerted: [30, 14],
    lastSeenAt: "2026-03-01T00:00:00.000Z",
  };
}

/**
 * A write's answer without ConsumedCapacity / ItemCollectionMetrics: moto sends them unasked
 * (KNOWN_MOTO_DEVIATIONS "dynamodb.consumed-capacity-unasked"; compared on its own below).
 */
function written<T extends object>(out: T): Omit<T, "ConsumedCapacity" | "ItemCollectionMetrics"> {
  const {
    ConsumedCapacity: _c,
    ItemCollectionMetrics: _m,
    ...rest
  } = out as T & {
    ConsumedCapacity?: unknown;
    ItemCollectionMetrics?: unknown;
  };
  return rest;
}

async function rawItem(ctx: ScenarioContext, tableName: string, pk: string, sk: string) {
  const out = await ctx.dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return out.Item ?? "none";
}

describe("the rotation store's lock", () => {
  differential(
    "acquire, re-acquire (idempotent), refused while held, release by the holder only",
    async (ctx) => {
      const tableName = await table(ctx);
      let now = new Date("2026-03-01T09:00:00.000Z");
      const store = new RotationStore(ctx.dynamodb, { tableName, now: () => now });
      ctx.record("acquire r1", await outcome(store.acquireLock(CERT, "r1")));
      now = new Date("2026-03-01T09:05:00.000Z");
      ctx.record("acquire r1 again", await outcome(store.acquireLock(CERT, "r1")));
      ctx.record("lock item (acquiredAt kept)", await rawItem(ctx, tableName, `CERT#${CERT}`, "LOCK"));
      ctx.record("acquire r2 while r1 holds it", await outcome(store.acquireLock(CERT, "r2")));
      ctx.record("activeRotationFor", await outcome(store.activeRotationFor(CERT)));
      ctx.record("release by r2 (not the holder)", await outcome(store.releaseLock(CERT, "r2")));
      ctx.record("still held by", await outcome(store.activeRotationFor(CERT)));
      ctx.record("release by r1", await outcome(store.releaseLock(CERT, "r1")));
      ctx.record("release by r1 again", await outcome(store.releaseLock(CERT, "r1")));
      ctx.record("acquire r2", await outcome(store.acquireLock(CERT, "r2")));
      ctx.record("lock item", await rawItem(ctx, tableName, `CERT#${CERT}`, "LOCK"));
    },
  );

  differential(
    "raw: the lock's conditional update refused is ConditionalCheckFailedException (400), nothing written",
    async (ctx) => {
      const tableName = await table(ctx);
      const lock = (rotationId: string) =>
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: `CERT#${CERT}` }, sk: { S: "LOCK" } },
          UpdateExpression:
            "SET rotationId = :r, certificateArn = :c, acquiredAt = if_not_exists(acquiredAt, :now)",
          ConditionExpression: "attribute_not_exists(pk) OR rotationId = :r",
          ExpressionAttributeValues: {
            ":r": { S: rotationId },
            ":c": { S: CERT },
            ":now": { S: "2026-03-01T09:00:00Z" },
          },
          ReturnValues: "ALL_NEW",
        });
      await ctx.observe("lock for r1", ctx.dynamodb.send(lock("r1")), written);
      await ctx.observe("lock for r2", ctx.dynamodb.send(lock("r2")), written);
      await ctx.observe(
        "conditional delete by r2",
        ctx.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: `CERT#${CERT}` }, sk: { S: "LOCK" } },
            UpdateExpression: "REMOVE rotationId",
            ConditionExpression: "rotationId = :r",
            ExpressionAttributeValues: { ":r": { S: "r2" } },
          }),
        ),
        written,
      );
      ctx.record("item", await rawItem(ctx, tableName, `CERT#${CERT}`, "LOCK"));
    },
  );

  differential(
    "raw: a lease lock — put on absence or on expiry, refused while the lease runs",
    async (ctx) => {
      const tableName = await table(ctx);
      const put = (holder: string, now: number, expiresAt: number) =>
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: "LEASE#scan" },
            sk: { S: "LOCK" },
            holder: { S: holder },
            expiresAt: { N: String(expiresAt) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR expiresAt < :now",
          ExpressionAttributeValues: { ":now": { N: String(now) } },
          ReturnValues: "ALL_OLD",
        });
      await ctx.observe("a takes the free lease until 100", ctx.dynamodb.send(put("a", 0, 100)), written);
      await ctx.observe("b at 50 (lease runs)", ctx.dynamodb.send(put("b", 50, 150)), written);
      await ctx.observe(
        "b at 100 (not yet expired: 100 < 100 is false)",
        ctx.dynamodb.send(put("b", 100, 200)),
        written,
      );
      await ctx.observe("b at 101 (expired)", ctx.dynamodb.send(put("b", 101, 201)), written);
      ctx.record("item", await rawItem(ctx, tableName, "LEASE#scan", "LOCK"));
    },
  );
});

describe("the rotation store's state, history and listing", () => {
  differential(
    "record: history in sequence order across pages; a late older state is dropped",
    async (ctx) => {
      const tableName = await table(ctx);
      const store = new RotationStore(ctx.dynamodb, { tableName, historyPageSize: 2 });
      const events: RotationEvent[] = [
        started(CERT, 1),
        {
          type: "aborted",
          at: at(1),
          reason: "PreflightRefused",
          detail: "origin refused — ünïcode ✓",
        } as RotationEvent,
      ];
      const final = await recordAll(store, "r1", events);
      // A replayed step rewrites sequence 0 with the older state: the newer state stays.
      await store.record(applyEvent(initialState("r1"), events[0]!), events[0]!, 0);
      ctx.record("get", await outcome(store.get("r1")));
      ctx.record(
        "get equals the final fold",
        JSON.stringify(await store.get("r1")) === JSON.stringify(final),
      );
      ctx.record("statusOf", await outcome(store.statusOf("r1")));
      ctx.record("history", await outcome(store.history("r1")));
      ctx.record("history of an unknown rotation", await outcome(store.history("nope")));
      ctx.record("get of an unknown rotation", await outcome(store.get("nope")));
    },
  );

  differential(
    "list: newest first through the sparse INCLUDE index, pages with tokens, a status filter",
    async (ctx) => {
      const tableName = await table(ctx);
      const store = new RotationStore(ctx.dynamodb, { tableName });
      const statuses: RotationStatus[] = [];
      for (let day = 1; day <= 7; day += 1) {
        const events: RotationEvent[] = [started(`${CERT}-${day}`, day)];
        if (day % 3 === 0)
          events.push({
            type: "failed",
            at: at(5, day),
            reason: "GateFailed",
            detail: "5xx",
          } as RotationEvent);
        statuses.push((await recordAll(store, `r${day}`, events)).status);
      }
      // A state recorded before its `started` event carries no index keys: never listed.
      await store.record(initialState("r0"), { type: "dry-run", at: at(0, 9) } as RotationEvent, 0);
      ctx.record("statuses", statuses);
      const all = await store.list({ limit: 100 });
      ctx.record("list all", all);
      const pages: unknown[] = [];
      let token: string | undefined;
      do {
        const page = await store.list({ limit: 3, nextToken: token });
        pages.push(page.rotations.map((r) => r.rotationId));
        token = page.nextToken;
      } while (token !== undefined && pages.length < 10);
      ctx.record("pages of 3", pages);
      const failed: unknown[] = [];
      token = undefined;
      do {
        const page = await store.list({ limit: 1, status: "failed", nextToken: token });
        failed.push(page.rotations.map((r) => r.rotationId));
        token = page.nextToken;
      } while (token !== undefined && failed.length < 10);
      ctx.record("failed ones, a page of 1 at a time", failed);
      ctx.record(
        "a forged token",
        await outcome(store.list({ nextToken: Buffer.from('{"pk":"x"}').toString("base64url") })),
      );
    },
  );

  differential("control item: set, read, replace, clear", async (ctx) => {
    const tableName = await table(ctx);
    const store = new RotationStore(ctx.dynamodb, { tableName });
    ctx.record("none yet", await outcome(store.getControl("r1")));
    await store.setControl("r1", { callbackId: "cb-1", kind: "bake", wave: 0 });
    ctx.record("after set", await outcome(store.getControl("r1")));
    await store.setControl("r1", { callbackId: "cb-2", kind: "approval", wave: 1 });
    ctx.record("after replace", await outcome(store.getControl("r1")));
    await store.setControl("r1", undefined);
    await store.setControl("r1", undefined);
    ctx.record("after clear (twice)", await outcome(store.getControl("r1")));
  });

  const bigItem = (tableName: string, bytes: number) =>
    new PutItemCommand({
      TableName: tableName,
      Item: { pk: { S: "BIG" }, sk: { S: String(bytes) }, blob: { S: "x".repeat(bytes) } },
    });

  differential(
    "an item well under 400 KB is stored; one over 400 KiB is refused (ValidationException)",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe("390,000 bytes", ctx.dynamodb.send(bigItem(tableName, 390_000)), written);
      await ctx.observe("over 409,600 bytes", ctx.dynamodb.send(bigItem(tableName, 400 * 1024 + 1)), written);
    },
  );

  differential(
    "an item of 405,000 bytes (between 400,000 and 409,600)",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe("405,000 bytes", ctx.dynamodb.send(bigItem(tableName, 405_000)), written);
    },
    { unsettled: "dynamodb.item-size-400000-or-409600" },
  );
});

describe("what the table's key schema allows", () => {
  const put = (tableName: string, item: Record<string, { S: string } | { N: string }>) =>
    new PutItemCommand({ TableName: tableName, Item: item });

  differential(
    "empty strings, empty maps and lists are stored in non-key attributes; an empty table key is refused",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe(
        "empty non-key values",
        ctx.dynamodb.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: { S: "a" },
              sk: { S: "b" },
              e: { S: "" },
              m: { M: {} },
              l: { L: [] },
              n: { M: { x: { S: "" } } },
            },
          }),
        ),
        written,
      );
      ctx.record("item", await rawItem(ctx, tableName, "a", "b"));
      await ctx.observe(
        "an empty partition key",
        ctx.dynamodb.send(put(tableName, { pk: { S: "" }, sk: { S: "b" } })),
        written,
      );
    },
  );

  differential(
    "an empty string as a global secondary index key is refused",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe(
        "empty gsi1pk",
        ctx.dynamodb.send(
          put(tableName, { pk: { S: "x" }, sk: { S: "b" }, gsi1pk: { S: "" }, gsi1sk: { S: "s" } }),
        ),
        written,
      );
    },
    { standinGap: "dynamodb.empty-index-key" },
  );

  differential(
    "an index key of the wrong type is refused",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe(
        "numeric gsi1pk",
        ctx.dynamodb.send(
          put(tableName, { pk: { S: "x" }, sk: { S: "c" }, gsi1pk: { N: "1" }, gsi1sk: { S: "s" } }),
        ),
        written,
      );
    },
    { deviation: "dynamodb.index-key-type-unchecked" },
  );

  differential(
    "a Query start key without the index keys, or in another partition",
    async (ctx) => {
      const tableName = await table(ctx);
      const query = (start: Record<string, { S: string }>) =>
        new QueryCommand({
          TableName: tableName,
          IndexName: "list",
          KeyConditionExpression: "gsi1pk = :p",
          ExpressionAttributeValues: { ":p": { S: "ROTATION" } },
          ExclusiveStartKey: start,
        });
      await ctx.observe(
        "start key without index keys",
        ctx.dynamodb.send(query({ pk: { S: "x" }, sk: { S: "y" } })),
      );
      await ctx.observe(
        "start key in another partition",
        ctx.dynamodb.send(
          query({ pk: { S: "x" }, sk: { S: "y" }, gsi1pk: { S: "OTHER" }, gsi1sk: { S: "z" } }),
        ),
      );
    },
    { unsettled: "dynamodb.query-start-key-outside-condition" },
  );

  differential(
    "a Query with Limit 0 is refused (ValidationException)",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe(
        "Limit 0",
        ctx.dynamodb.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :p",
            ExpressionAttributeValues: { ":p": { S: "a" } },
            Limit: 0,
          }),
        ),
      );
    },
    { deviation: "dynamodb.query-limit-zero" },
  );
});

describe("the inventory store", () => {
  differential("putMany in BatchWrite chunks of 25, loadAll across 1 MB query pages", async (ctx) => {
    const tableName = await table(ctx);
    const store = new InventoryStore(ctx.dynamodb, { tableName });
    // 70 records of ~20 KB: 1.4 MB in the partition, so loadAll needs more than one page.
    const records = Array.from({ length: 70 }, (_, i) => inventoryRecord(i, 20_000));
    await store.putMany(records);
    const loaded = await store.loadAll();
    ctx.record("loaded arns, in order", [...loaded.keys()]);
    ctx.record("loaded equals written", JSON.stringify([...loaded.values()]) === JSON.stringify(records));
    const page = await ctx.dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "INVENTORY" } },
      }),
    );
    // How many items fill 1 MB depends on how each engine sizes items (moto 49, dynalite 51 here; AWS does
    // not document it to the byte): only that the page is cut counts.
    ctx.record("first page is cut (LastEvaluatedKey present)", page.LastEvaluatedKey !== undefined);
  });

  differential("markRetired: on a stored record; a missing record is left alone", async (ctx) => {
    const tableName = await table(ctx);
    const store = new InventoryStore(ctx.dynamodb, { tableName });
    await store.put(inventoryRecord(1));
    ctx.record("markRetired stored", await outcome(store.markRetired(inventoryRecord(1).arn)));
    ctx.record("markRetired missing", await outcome(store.markRetired(inventoryRecord(2).arn)));
    const loaded = await store.loadAll();
    ctx.record(
      "records",
      [...loaded.values()].map((r) => ({ arn: r.arn, retired: r.retired })),
    );
    ctx.record(
      "missing record not created",
      await rawItem(ctx, tableName, "INVENTORY", inventoryRecord(2).arn),
    );
  });

  differential("drift state, retirement clock and announcements round-trip", async (ctx) => {
    const tableName = await table(ctx);
    const store = new InventoryStore(ctx.dynamodb, { tableName });
    ctx.record("drift state before", await store.driftState());
    await store.saveDriftState({
      findings: [
        {
          certificateArn: CERT,
          distributionId: "E1",
          originId: "api",
          kind: "retired-certificate",
          detail: "not ours",
        },
      ],
      notified: ["b", "a"],
    });
    ctx.record("drift state after", await store.driftState());
    ctx.record("retirement clock before", await store.retirementClock.load());
    await store.retirementClock.save({ "CN=Old CA": "2026-03-01T00:00:00.000Z" });
    ctx.record("retirement clock after", await store.retirementClock.load());
    const bus = store.announcements("default");
    ctx.record("announcement before", await outcome(bus.load()));
    await bus.save({ bundleSha256: "ab".repeat(32), version: 3, eventId: "e-1" });
    ctx.record("announcement after", await outcome(bus.load()));
  });

  const puts = (n: number, sameKey = false) =>
    Array.from({ length: n }, (_, i) => ({
      PutRequest: { Item: { pk: { S: "INVENTORY" }, sk: { S: sameKey ? "dup" : `k${i}` } } },
    }));
  const batch = (tableName: string, requests: ReturnType<typeof puts>) =>
    new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } });

  differential(
    "raw BatchWriteItem: 25 requests accepted, duplicate keys refused, a missing table refused",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe("25 puts", ctx.dynamodb.send(batch(tableName, puts(25))), written);
      await ctx.observe("2 puts of one key", ctx.dynamodb.send(batch(tableName, puts(2, true))), written);
      await ctx.observe(
        "a batch for a missing table",
        ctx.dynamodb.send(batch(`${tableName}-missing`, puts(1))),
        written,
      );
    },
  );

  differential(
    "raw BatchWriteItem of 26 requests is refused (ValidationException)",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe("26 puts", ctx.dynamodb.send(batch(tableName, puts(26))), written);
    },
    { deviation: "dynamodb.batch-write-over-25" },
  );

  differential(
    "writes answer no ConsumedCapacity unless asked",
    async (ctx) => {
      const tableName = await table(ctx);
      await ctx.observe(
        "UpdateItem",
        ctx.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: "a" }, sk: { S: "b" } },
            UpdateExpression: "SET v = :v",
            ExpressionAttributeValues: { ":v": { S: "1" } },
          }),
        ),
        (out) => ({ ConsumedCapacity: out.ConsumedCapacity }),
      );
      await ctx.observe("BatchWriteItem", ctx.dynamodb.send(batch(tableName, puts(2))), (out) => ({
        ConsumedCapacity: out.ConsumedCapacity,
        ItemCollectionMetrics: out.ItemCollectionMetrics,
      }));
    },
    { deviation: "dynamodb.consumed-capacity-unasked" },
  );
});
