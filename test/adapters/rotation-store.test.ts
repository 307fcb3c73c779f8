/**
 * The rotation store against a real DynamoDB engine (dynalite, in-process) through the real
 * `@aws-sdk/client-dynamodb` / `lib-dynamodb`: the per-certificate lock under contention, state as the fold
 * of its events, replay-safe history in sequence order across pages, newest-first listing with opaque
 * tokens and a status filter, the callback control item, and the 400 KB item limit.
 */
import { type DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsErrorName } from "../../functions/adapters/errors.ts";
import { RotationPages } from "../../functions/adapters/rotation-pages.ts";
import {
  InvalidListRequestError,
  InvalidNextTokenError,
  type RotationSummary,
} from "../../functions/adapters/rotation-reads.ts";
import { ItemTooLargeError, MAX_ITEM_BYTES, RotationStore } from "../../functions/adapters/rotation-store.ts";
import {
  applyEvent,
  foldEvents,
  type RotationEvent,
  type RotationStatus,
} from "../../functions/core/rotation.ts";
import {
  createRotationTable,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";
import { UNCHANGED_EC_KEY } from "../support/replacement-key.ts";
import { recordAll } from "../support/rotation-history.ts";

const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-origin-mtls";

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

/** A store on a table of its own (tables come up ACTIVE at once, so this costs milliseconds). */
async function freshStore(
  options: { historyPageSize?: number } = {},
): Promise<{ store: RotationStore; table: string }> {
  tables += 1;
  const table = `rotations-${tables}`;
  await createRotationTable(client, table);
  return { store: new RotationStore(client, { tableName: table, ...options }), table };
}

function at(minute: number, day = 1): string {
  return new Date(Date.UTC(2026, 2, day, 9, minute)).toISOString();
}

/** A whole rotation's events: canary wave then one more, gated, approved, promoted, completed. */
function rotationEvents(certificateArn = CERT, day = 1): RotationEvent[] {
  return [
    {
      type: "started",
      at: at(0, day),
      request: { certificateArn, serial: "0a:1b:2c", reason: "renewal due", actor: "scheduler" },
    },
    {
      type: "planned",
      at: at(1, day),
      old: {
        arn: certificateArn,
        serial: "0a:1b:2c",
        keyAlgorithm: "EC_prime256v1",
        subject: "CN=origin-client",
        notAfter: "2026-04-01T00:00:00.000Z",
        certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      },
      waves: [
        { index: 0, canary: true, targets: [{ distributionId: "E1CANARY", originIds: ["api"] }] },
        {
          index: 1,
          canary: false,
          targets: [
            { distributionId: "E2REST", originIds: ["api", "static"] },
            { distributionId: "E3REST", originIds: [] },
          ],
        },
      ],
      newIssuerArn: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/ca-1",
      replacementKey: UNCHANGED_EC_KEY,
      baselines: { E1CANARY: 0.25, E2REST: 0, E3REST: null },
    },
    {
      type: "issued",
      at: at(2, day),
      certificateArn: `${certificateArn}-next`,
      serial: "3d:4e:5f",
      notAfter: "2026-06-01T00:00:00.000Z",
      fingerprint: "ab".repeat(32),
    },
    {
      type: "trust-published",
      at: at(3, day),
      bundleSha256: "cd".repeat(32),
      targets: [{ target: "s3://bundles/origin.pem", changed: true }],
    },
    {
      type: "preflight",
      at: at(4, day),
      attempt: 1,
      probes: [{ target: "E1CANARY/api", status: 200, accepted: true }],
      deadlinePassed: false,
    },
    {
      type: "swapped",
      at: at(5, day),
      wave: 0,
      distributionId: "E1CANARY",
      outcome: "swapped",
      changedOriginIds: ["api"],
    },
    { type: "deployed", at: at(6, day), wave: 0 },
    {
      type: "gate",
      at: at(7, day),
      wave: 0,
      result: {
        passed: true,
        checks: [{ distributionId: "E1CANARY", errorRate: null, baseline: 0.25, threshold: 1, passed: true }],
        probes: [{ target: "E1CANARY/api", status: null, accepted: false, error: "" }],
      },
    },
    { type: "approved", at: at(8, day), wave: 1, actor: "alice@example.com" },
    {
      type: "swapped",
      at: at(9, day),
      wave: 1,
      distributionId: "E2REST",
      outcome: "swapped",
      changedOriginIds: ["api", "static"],
    },
    {
      type: "swapped",
      at: at(10, day),
      wave: 1,
      distributionId: "E3REST",
      outcome: "not-presenting",
      changedOriginIds: [],
    },
    { type: "deployed", at: at(11, day), wave: 1 },
    { type: "promoted", at: at(12, day) },
    {
      type: "retired",
      at: at(13, day),
      deleted: true,
      revoked: false,
      detail: "old ARN deleted — ünïcode ✓",
    },
    { type: "completed", at: at(14, day) },
  ];
}

/** The history items of a rotation as stored (sort keys), bypassing the store's own reading. */
async function storedEventKeys(table: string, rotationId: string): Promise<string[]> {
  const out = await client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": { S: `ROT#${rotationId}` }, ":prefix": { S: "EVENT#" } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((item) => item.sk?.S ?? "");
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("certificate lock", () => {
  it("refuses a second rotation (naming the holder), lets the holder re-acquire, ignores a non-holder's release", async () => {
    const { store } = await freshStore();
    expect(await store.activeRotationFor(CERT)).toBeUndefined();

    expect(await store.acquireLock(CERT, "rot-a")).toEqual({ acquired: true });
    expect(await store.acquireLock(CERT, "rot-b")).toEqual({ acquired: false, heldBy: "rot-a" });
    expect(await store.acquireLock(CERT, "rot-a")).toEqual({ acquired: true });
    expect(await store.activeRotationFor(CERT)).toBe("rot-a");

    // A lock on another certificate is independent.
    expect(await store.acquireLock(`${CERT}-other`, "rot-b")).toEqual({ acquired: true });

    await expect(store.releaseLock(CERT, "rot-b")).resolves.toBeUndefined();
    expect(await store.activeRotationFor(CERT)).toBe("rot-a");
    expect(await store.acquireLock(CERT, "rot-c")).toEqual({ acquired: false, heldBy: "rot-a" });

    await store.releaseLock(CERT, "rot-a");
    expect(await store.activeRotationFor(CERT)).toBeUndefined();
    // Releasing again (a replayed step) is a no-op, not an error.
    await expect(store.releaseLock(CERT, "rot-a")).resolves.toBeUndefined();

    expect(await store.acquireLock(CERT, "rot-c")).toEqual({ acquired: true });
    expect(await store.activeRotationFor(CERT)).toBe("rot-c");
    expect(await store.activeRotationFor(`${CERT}-other`)).toBe("rot-b");
  });

  it("acquires a lock its holder released between the refused write and the read of the holder", async () => {
    const { table } = await freshStore();
    const racing = dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 });
    try {
      let releases = 0;
      // After the first refused lock write, the holder releases (through another client) before the store
      // reads who holds the lock.
      racing.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if (awsErrorName(error) === "ConditionalCheckFailedException" && releases === 0) {
              releases += 1;
              await new RotationStore(client, { tableName: table }).releaseLock(CERT, "rot-holder");
            }
            throw error;
          }
        },
        { step: "initialize", name: "releaseAfterRefusal" },
      );
      const store = new RotationStore(racing, { tableName: table });
      expect(await new RotationStore(client, { tableName: table }).acquireLock(CERT, "rot-holder")).toEqual({
        acquired: true,
      });
      expect(await store.acquireLock(CERT, "rot-next")).toEqual({ acquired: true });
      expect(releases).toBe(1);
      expect(await store.activeRotationFor(CERT)).toBe("rot-next");
    } finally {
      racing.destroy();
    }
  });

  it("stamps the lock with the time it was first acquired; re-acquiring keeps it", async () => {
    const { table } = await freshStore();
    let now = new Date("2026-03-01T09:00:00.000Z");
    const store = new RotationStore(client, { tableName: table, now: () => now });
    const acquiredAt = async () =>
      (
        await client.send(
          new GetItemCommand({ TableName: table, Key: { pk: { S: `CERT#${CERT}` }, sk: { S: "LOCK" } } }),
        )
      ).Item?.acquiredAt?.S;

    await store.acquireLock(CERT, "rot-a");
    expect(await acquiredAt()).toBe("2026-03-01T09:00:00.000Z");
    now = new Date("2026-03-01T09:05:00.000Z");
    expect(await store.acquireLock(CERT, "rot-a")).toEqual({ acquired: true });
    expect(await acquiredAt()).toBe("2026-03-01T09:00:00.000Z");
    await store.releaseLock(CERT, "rot-a");
    await store.acquireLock(CERT, "rot-b");
    expect(await acquiredAt()).toBe("2026-03-01T09:05:00.000Z");
  });

  it("a lease: refused to others until it ends, then taken over by one of them; re-acquiring keeps it", async () => {
    const { table } = await freshStore();
    let now = new Date("2026-03-01T09:00:00.000Z");
    const store = new RotationStore(client, { tableName: table, now: () => now });
    const lease = { leaseSeconds: 3600 };
    expect(await store.acquireLock(CERT, "rot-a", lease)).toEqual({ acquired: true });
    expect(await store.lockOf(CERT)).toEqual({ rotationId: "rot-a", expiresAt: "2026-03-01T10:00:00.000Z" });
    now = new Date("2026-03-01T09:59:59.000Z");
    expect(await store.acquireLock(CERT, "rot-b", lease)).toEqual({ acquired: false, heldBy: "rot-a" });
    expect(await store.acquireLock(CERT, "rot-a", lease)).toEqual({ acquired: true });
    expect((await store.lockOf(CERT))?.expiresAt).toBe("2026-03-01T10:00:00.000Z");
    expect(await store.activeRotationFor(CERT, now)).toBe("rot-a");

    // Past its end the holder is dead: no active rotation, and one of several contenders takes the lock.
    now = new Date("2026-03-01T10:00:01.000Z");
    expect(await store.activeRotationFor(CERT, now)).toBeUndefined();
    const contenders = await Promise.all(
      ["rot-b", "rot-c", "rot-d"].map((id) => store.acquireLock(CERT, id, lease)),
    );
    const winners = contenders.flatMap((r, i) => (r.acquired ? [["rot-b", "rot-c", "rot-d"][i]] : []));
    expect(winners).toHaveLength(1);
    for (const r of contenders) if (!r.acquired) expect(r.heldBy).toBe(winners[0]);
    expect(await store.lockOf(CERT)).toEqual({
      rotationId: winners[0],
      expiresAt: "2026-03-01T11:00:01.000Z",
    });
    // A lock without a lease (taken by an older release of the service) never ends by itself.
    await store.releaseLock(CERT, winners[0]!);
    expect(await store.acquireLock(CERT, "rot-old")).toEqual({ acquired: true });
    now = new Date("2027-03-01T00:00:00.000Z");
    expect(await store.acquireLock(CERT, "rot-e", lease)).toEqual({ acquired: false, heldBy: "rot-old" });
  });

  it("lets exactly one of 10 concurrent rotations win; every loser names the winner", async () => {
    const { store } = await freshStore();
    const ids = Array.from({ length: 10 }, (_, i) => `rot-race-${i}`);
    const results = await Promise.all(ids.map((id) => store.acquireLock(CERT, id)));

    const winners = ids.filter((_, i) => results[i]?.acquired);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(await store.activeRotationFor(CERT)).toBe(winner);
    for (const [i, result] of results.entries()) {
      if (ids[i] === winner) continue;
      expect(result).toEqual({ acquired: false, heldBy: winner });
    }
  });
});

describe("distribution claims: one rotation at a time per distribution", () => {
  const CERT_B = CERT.replace(/.$/, "b");
  const lease = { leaseSeconds: 3600 };

  it("claims in id order, keeps what it claimed while it waits, names the holder; re-claiming is idempotent", async () => {
    const { store } = await freshStore();
    await store.acquireLock(CERT, "rot-a", lease);
    await store.acquireLock(CERT_B, "rot-b", lease);
    expect(await store.claimDistributions("rot-a", CERT, ["E3", "E1"], lease)).toEqual({ claimed: true });
    // rot-b needs E1 and E2: E1 is rot-a's (named), E2 is not tried (claims go in id order).
    expect(await store.claimDistributions("rot-b", CERT_B, ["E2", "E1"], lease)).toEqual({
      claimed: false,
      heldBy: [{ distributionId: "E1", rotationId: "rot-a" }],
    });
    expect(await store.distributionHolder("E2")).toBeUndefined();
    // rot-b needs E0 and E3: it keeps E0 while it waits for E3.
    expect(await store.claimDistributions("rot-b", CERT_B, ["E3", "E0"], lease)).toEqual({
      claimed: false,
      heldBy: [{ distributionId: "E3", rotationId: "rot-a" }],
    });
    expect(await store.distributionHolder("E0")).toBe("rot-b");
    expect(await store.claimDistributions("rot-a", CERT, ["E1", "E3"], lease)).toEqual({ claimed: true });
    // Releasing frees only one's own claims.
    await store.releaseDistributions("rot-b", ["E1", "E3", "E0"]);
    expect(await store.distributionHolder("E1")).toBe("rot-a");
    expect(await store.distributionHolder("E0")).toBeUndefined();
    await store.releaseDistributions("rot-a", ["E1", "E3"]);
    expect(await store.claimDistributions("rot-b", CERT_B, ["E3", "E1"], lease)).toEqual({ claimed: true });
  });

  it("a claim lives as long as its holder holds its certificate's lock, and at most its lease", async () => {
    const { table } = await freshStore();
    let now = new Date("2026-03-01T09:00:00.000Z");
    const store = new RotationStore(client, { tableName: table, now: () => now });
    await store.acquireLock(CERT, "rot-a", { leaseSeconds: 86_400 });
    await store.acquireLock(CERT_B, "rot-b", { leaseSeconds: 86_400 });
    expect(await store.claimDistributions("rot-a", CERT, ["E1"], lease)).toEqual({ claimed: true });
    // The holder's lock released (it ended, or the dispatcher found its execution dead): the claim is stale.
    await store.releaseLock(CERT, "rot-a");
    expect(await store.distributionHolder("E1", now)).toBeUndefined();
    expect(await store.claimDistributions("rot-b", CERT_B, ["E1"], lease)).toEqual({ claimed: true });
    expect(await store.distributionClaimOf("E1")).toMatchObject({
      rotationId: "rot-b",
      certificateArn: CERT_B,
    });
    // Its lease ended while its holder still holds its lock: stale too.
    await store.acquireLock(CERT, "rot-c", { leaseSeconds: 86_400 });
    now = new Date("2026-03-01T09:59:59.000Z");
    expect(await store.claimDistributions("rot-c", CERT, ["E1"], lease)).toEqual({
      claimed: false,
      heldBy: [{ distributionId: "E1", rotationId: "rot-b" }],
    });
    now = new Date("2026-03-01T10:00:00.000Z");
    expect(await store.claimDistributions("rot-c", CERT, ["E1"], lease)).toEqual({ claimed: true });
  });

  it("lets exactly one of 8 concurrent rotations claim a distribution; the losers name the winner", async () => {
    const { store } = await freshStore();
    const ids = Array.from({ length: 8 }, (_, i) => `rot-race-${i}`);
    const certificates = ids.map((id) => `${CERT}-${id}`);
    await Promise.all(ids.map((id, i) => store.acquireLock(certificates[i]!, id, lease)));
    const results = await Promise.all(
      ids.map((id, i) => store.claimDistributions(id, certificates[i]!, ["E9", "E8"], lease)),
    );
    const winners = ids.filter((_, i) => results[i]!.claimed);
    expect(winners).toHaveLength(1);
    for (const [i, result] of results.entries())
      if (ids[i] !== winners[0])
        expect(result).toEqual({
          claimed: false,
          heldBy: [{ distributionId: "E8", rotationId: winners[0] }],
        });
  });
});

describe("state and history", () => {
  it("round-trips: the stored state equals foldEvents of the events, the history equals the events", async () => {
    const { store } = await freshStore();
    const events = rotationEvents();
    const final = await recordAll(store, "rot-roundtrip", events);

    const expected = foldEvents("rot-roundtrip", events);
    expect(final).toEqual(expected);
    expect(await store.get("rot-roundtrip")).toEqual(expected);
    expect(await store.history("rot-roundtrip")).toEqual(events);
    expect(await store.get("rot-unknown")).toBeUndefined();
    expect(await store.history("rot-unknown")).toEqual([]);
  });

  it("stores a state holding undefined members through a caller's DocumentClient without marshalling options", async () => {
    const { table } = await freshStore();
    const store = new RotationStore(DynamoDBDocumentClient.from(client), { tableName: table });
    // Rolled back with no rollback-requested event before it: the outcome's members are undefined, which
    // a DocumentClient without removeUndefinedValues refuses to marshal.
    const events: RotationEvent[] = [
      ...rotationEvents().slice(0, 6),
      { type: "rolled-back-distribution", at: at(31), distributionId: "E1CANARY", ok: true },
      { type: "rolled-back", at: at(32) },
    ];
    const expected = foldEvents("rot-doc", events);
    expect(expected.outcome).toEqual({ reason: undefined, detail: undefined });
    expect(Object.keys(expected.outcome!)).toEqual(["reason", "detail"]);
    await recordAll(store, "rot-doc", events);
    expect(await store.get("rot-doc")).toEqual(expected);
    expect((await store.get("rot-doc"))?.status).toBe("rolled-back");
  });

  it("keeps one history item when a step replays the same sequence, in its place", async () => {
    const { store, table } = await freshStore();
    const events = rotationEvents().slice(0, 4);
    await recordAll(store, "rot-replay", events);
    const state2 = foldEvents("rot-replay", events.slice(0, 3));
    await store.record(state2, events[2]!, 2);
    await store.record(state2, events[2]!, 2);

    expect(await storedEventKeys(table, "rot-replay")).toEqual([
      "EVENT#000000",
      "EVENT#000001",
      "EVENT#000002",
      "EVENT#000003",
    ]);
    expect(await store.history("rot-replay")).toEqual(events);
  });

  it("does not let an older sequence overwrite a newer state", async () => {
    const { store } = await freshStore();
    const events = rotationEvents().slice(0, 5);
    await recordAll(store, "rot-order", events);
    const newest = foldEvents("rot-order", events);

    const older = foldEvents("rot-order", events.slice(0, 2));
    await store.record(older, events[1]!, 1);
    expect(await store.get("rot-order")).toEqual(newest);
    expect(await store.history("rot-order")).toEqual(events);

    // The same sequence again is written (a replayed step rewrites what it wrote).
    const rewritten = { ...newest, updatedAt: at(59) };
    await store.record(rewritten, events[4]!, 4);
    expect(await store.get("rot-order")).toEqual(rewritten);
  });

  it("reads the history in sequence order across several pages, whatever order it was written in", async () => {
    const { store, table } = await freshStore({ historyPageSize: 3 });
    const events = rotationEvents().slice(0, 13);
    // Written newest first: sequences 12, 11, ..., 0 (10 and 2 compare wrongly unless padded).
    const states = events.map((_, i) => foldEvents("rot-pages", events.slice(0, i + 1)));
    for (let sequence = events.length - 1; sequence >= 0; sequence -= 1)
      await store.record(states[sequence]!, events[sequence]!, sequence);

    expect(await storedEventKeys(table, "rot-pages")).toHaveLength(13);
    expect(await store.history("rot-pages")).toEqual(events);
    expect(await store.get("rot-pages")).toEqual(states[12]);
  });

  it("refuses a sequence the history keys cannot hold", async () => {
    const { store } = await freshStore();
    const [started] = rotationEvents();
    const state = foldEvents("rot-seq", [started!]);
    await expect(store.record(state, started!, 1_000_000)).rejects.toThrow(/sequence/);
    await expect(store.record(state, started!, -1)).rejects.toThrow(/sequence/);
    await expect(store.record(state, started!, 1.5)).rejects.toThrow(/sequence/);
    expect(await store.get("rot-seq")).toBeUndefined();
  });
});

describe("status for the dispatcher", () => {
  it("is undefined for an unknown rotation and the stored status otherwise", async () => {
    const { store } = await freshStore();
    expect(await store.statusOf("rot-unknown")).toBeUndefined();
    const events = rotationEvents();
    await store.record(foldEvents("rot-status", events.slice(0, 1)), events[0]!, 0);
    expect(await store.statusOf("rot-status")).toBe("started");
    await store.record(foldEvents("rot-status", events), events.at(-1)!, events.length - 1);
    expect(await store.statusOf("rot-status")).toBe(foldEvents("rot-status", events).status);
  });
});

describe("item size limit", () => {
  it("refuses a state over 400 KB with ItemTooLargeError and writes nothing", async () => {
    const { store, table } = await freshStore();
    const events = rotationEvents().slice(0, 3);
    await recordAll(store, "rot-big", events);
    const before = await store.get("rot-big");

    const trust = rotationEvents()[3]!;
    const huge = applyEvent(foldEvents("rot-big", events), trust);
    huge.old = { ...huge.old!, certificatePem: "A".repeat(MAX_ITEM_BYTES) };

    const error = await errorOf(store.record(huge, trust, 3));
    expect(error).toBeInstanceOf(ItemTooLargeError);
    expect((error as Error).name).toBe("ItemTooLargeError");
    expect((error as Error).message).toMatch(/state of rotation rot-big is \d+ bytes.*nothing was written/);

    expect(await store.get("rot-big")).toEqual(before);
    expect(await storedEventKeys(table, "rot-big")).toEqual(["EVENT#000000", "EVENT#000001", "EVENT#000002"]);
  });

  it("stores a state just under the limit (the guard does not refuse what DynamoDB accepts)", async () => {
    const { store } = await freshStore();
    const events = rotationEvents().slice(0, 2);
    const state = foldEvents("rot-large", events);
    state.old = { ...state.old!, certificatePem: "B".repeat(MAX_ITEM_BYTES - 4096) };
    await store.record(state, events[1]!, 1);
    expect((await store.get("rot-large"))?.old?.certificatePem).toHaveLength(MAX_ITEM_BYTES - 4096);
  });
});

describe("listing", () => {
  /** Where each seeded rotation (named by its start day) ends. Newest first: f c c c f t c. */
  const SEEDED: Record<number, RotationStatus> = {
    7: "failed",
    6: "completed",
    5: "completed",
    4: "completed",
    3: "failed",
    2: "trust-published",
    1: "completed",
  };

  /** Seven rotations started on different days, written out of order, ending as SEEDED says. */
  async function seedListing(): Promise<{ store: RotationStore; expected: RotationSummary[] }> {
    const { store } = await freshStore();
    const expected: RotationSummary[] = [];
    for (const day of [4, 1, 7, 3, 6, 2, 5]) {
      const rotationId = `rot-day-${day}`;
      const all = rotationEvents(`${CERT}-${day}`, day);
      const failed: RotationEvent = { type: "failed", at: at(20, day), reason: "SwapFailed", detail: "x" };
      const events =
        SEEDED[day] === "failed"
          ? [...all.slice(0, 3), failed]
          : SEEDED[day] === "completed"
            ? all
            : all.slice(0, 4);
      // Only the last step's write matters to the listing.
      const state = foldEvents(rotationId, events);
      expect(state.status).toBe(SEEDED[day]);
      await store.record(state, events[events.length - 1]!, events.length - 1);
      expected.push({
        rotationId,
        certificateArn: `${CERT}-${day}`,
        status: state.status,
        startedAt: state.startedAt!,
        updatedAt: state.updatedAt!,
      });
    }
    expected.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return { store, expected };
  }

  async function listAll(
    store: RotationStore,
    options: { limit: number; status?: RotationStatus },
  ): Promise<RotationSummary[][]> {
    const pages: RotationSummary[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await store.list({ ...options, ...(nextToken ? { nextToken } : {}) });
      expect(page.rotations.length).toBeLessThanOrEqual(options.limit);
      pages.push(page.rotations);
      nextToken = page.nextToken;
      if (nextToken) expect(nextToken).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (nextToken && pages.length < 20);
    return pages;
  }

  it("lists rotations newest first, page by page, with opaque tokens", async () => {
    const { store, expected } = await seedListing();
    expect(expected.map((r) => r.rotationId)).toEqual([
      "rot-day-7",
      "rot-day-6",
      "rot-day-5",
      "rot-day-4",
      "rot-day-3",
      "rot-day-2",
      "rot-day-1",
    ]);

    const pages = await listAll(store, { limit: 3 });
    expect(pages[0]).toHaveLength(3);
    expect(pages[1]).toHaveLength(3);
    expect(pages.flat()).toEqual(expected);

    const whole = await store.list();
    expect(whole.rotations).toEqual(expected);
    expect(whole.nextToken).toBeUndefined();
  });

  it("filters by status, newest first, never more than the limit per page, whatever the limit", async () => {
    const { store, expected } = await seedListing();
    const completed = expected.filter((r) => r.status === "completed");
    expect(completed.map((r) => r.rotationId)).toEqual(["rot-day-6", "rot-day-5", "rot-day-4", "rot-day-1"]);

    const pages = await listAll(store, { limit: 2, status: "completed" });
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.flat()).toEqual(completed);

    for (const status of ["completed", "failed", "trust-published", "rolled-back"] as const)
      for (const limit of [1, 2, 3, 4, 5])
        expect((await listAll(store, { limit, status })).flat(), `${status} by ${limit}`).toEqual(
          expected.filter((r) => r.status === status),
        );

    const failed = await store.list({ status: "failed" });
    expect(failed.rotations.map((r) => r.rotationId)).toEqual(["rot-day-7", "rot-day-3"]);
    expect(failed.nextToken).toBeUndefined();
    expect((await store.list({ status: "rolled-back" })).rotations).toEqual([]);
  });

  it("answers a malformed nextToken with InvalidNextTokenError", async () => {
    const { store } = await freshStore();
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const wellFormed = forged({
      gsi1pk: "ROTATION",
      gsi1sk: "2026-03-01T09:00:00.000Z#x",
      pk: "ROT#x",
      sk: "STATE",
    });
    expect(await store.list({ nextToken: wellFormed })).toEqual({ rotations: [] });
    const tokens = [
      "not a token!",
      `${wellFormed}!`,
      `${wellFormed}==`,
      "",
      Buffer.from("not json").toString("base64url"),
      forged(["ROTATION"]),
      forged({ pk: "ROT#x", sk: "STATE" }),
      forged({ gsi1pk: "OTHER", gsi1sk: "2026#x", pk: "ROT#x", sk: "STATE" }),
      forged({ gsi1pk: "ROTATION", gsi1sk: "2026#x", pk: "ROT#x", sk: "STATE", extra: "1" }),
      forged({ gsi1pk: "ROTATION", gsi1sk: 7, pk: "ROT#x", sk: "STATE" }),
    ];
    for (const nextToken of tokens) {
      const error = await errorOf(store.list({ nextToken }));
      expect(error, nextToken).toBeInstanceOf(InvalidNextTokenError);
      expect(error).toBeInstanceOf(InvalidListRequestError);
      expect((error as Error).name).toBe("InvalidNextTokenError");
      // Refused by the store itself, before DynamoDB sees it.
      expect(awsErrorName((error as Error).cause)).not.toBe("ValidationException");
    }
    const unparsable = await errorOf(store.list({ nextToken: Buffer.from("{").toString("base64url") }));
    expect((unparsable as Error).cause).toBeInstanceOf(SyntaxError);

    // Well-formed, but DynamoDB refuses it as a start key (sort key over 1024 bytes): the same named error.
    const oversized = forged({ gsi1pk: "ROTATION", gsi1sk: "x".repeat(1100), pk: "ROT#x", sk: "STATE" });
    const refused = await errorOf(store.list({ nextToken: oversized }));
    expect(refused).toBeInstanceOf(InvalidNextTokenError);
    expect(awsErrorName((refused as Error).cause)).toBe("ValidationException");
  });

  it("refuses a limit or status it cannot serve with InvalidListRequestError", async () => {
    const { store } = await freshStore();
    for (const options of [
      { limit: 0 },
      { limit: 101 },
      { limit: 2.5 },
      { status: "done" as RotationStatus },
    ])
      expect(await errorOf(store.list(options))).toBeInstanceOf(InvalidListRequestError);
  });
});

describe("control", () => {
  it("sets, replaces, reads and clears the callback a rotation waits on", async () => {
    const { store } = await freshStore();
    expect(await store.getControl("rot-ctl")).toBeUndefined();

    await store.setControl("rot-ctl", { callbackId: "cb-bake-0", kind: "bake", wave: 0 });
    expect(await store.getControl("rot-ctl")).toEqual({ callbackId: "cb-bake-0", kind: "bake", wave: 0 });

    await store.setControl("rot-ctl", { callbackId: "cb-approve-1", kind: "approval", wave: 1 });
    expect(await store.getControl("rot-ctl")).toEqual({
      callbackId: "cb-approve-1",
      kind: "approval",
      wave: 1,
    });
    expect(await store.getControl("rot-other")).toBeUndefined();

    // Recording state does not disturb the control item, nor does it show up in the history.
    const [started] = rotationEvents();
    await store.record(foldEvents("rot-ctl", [started!]), started!, 0);
    expect(await store.getControl("rot-ctl")).toEqual({
      callbackId: "cb-approve-1",
      kind: "approval",
      wave: 1,
    });
    expect(await store.history("rot-ctl")).toEqual([started]);

    await store.setControl("rot-ctl", undefined);
    expect(await store.getControl("rot-ctl")).toBeUndefined();
    await store.setControl("rot-ctl", undefined);
    expect(await store.get("rot-ctl")).toEqual(foldEvents("rot-ctl", [started!]));
  });
});

describe("sizes that do not grow with the fleet (issue 12)", () => {
  /** A store whose client counts every PutItem and the bytes of its request. */
  async function countingStore() {
    tables += 1;
    const table = `rotations-${tables}`;
    const counting = dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 });
    await createRotationTable(counting, table);
    const writes = { puts: 0, bytes: 0 };
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutItemCommand") {
          writes.puts += 1;
          writes.bytes += Buffer.byteLength(String((args.request as { body?: unknown }).body ?? ""));
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "countWrites" },
    );
    return { store: new RotationStore(counting, { tableName: table }), writes, client: counting, table };
  }

  /** A rotation planned over `n` distributions (canary 1, half, the rest), ids of one width. */
  function planOf(n: number, certificateArn = CERT): RotationEvent[] {
    const [started, planned] = rotationEvents(certificateArn);
    const ids = Array.from({ length: n }, (_, i) => `E${String(i).padStart(12, "0")}`);
    const half = Math.ceil((n - 1) / 2);
    const waves = [ids.slice(0, 1), ids.slice(1, 1 + half), ids.slice(1 + half)].map((wave, index) => ({
      index,
      canary: index === 0,
      targets: wave.map((distributionId) => ({ distributionId, originIds: ["api"] })),
    }));
    return [
      started!,
      {
        ...(planned as Extract<RotationEvent, { type: "planned" }>),
        waves,
        baselines: Object.fromEntries(ids.map((id, i) => [id, i % 3 === 0 ? null : i / n])),
      },
    ];
  }

  /** Records the plan, then one swap in the last wave; what that swap's record wrote. */
  async function swapAfterPlanOf(n: number) {
    const { store, writes, client } = await countingStore();
    const rotationId = `rot-scale-${n}`;
    const events = planOf(n);
    let state = foldEvents(rotationId, []);
    for (const [sequence, event] of events.entries()) {
      state = applyEvent(state, event);
      await store.record(state, event, sequence);
    }
    const planWrites = { ...writes };
    const last = state.waves[2]!;
    const swap: RotationEvent = {
      type: "swapped",
      at: at(20),
      wave: 2,
      distributionId: last.distributions[last.distributions.length - 1]!.distributionId,
      outcome: "swapped",
      changedOriginIds: ["api"],
    };
    writes.puts = 0;
    writes.bytes = 0;
    state = applyEvent(state, swap);
    await store.record(state, swap, events.length);
    client.destroy();
    return { store, rotationId, state, planWrites, swapWrites: { ...writes } };
  }

  it("a recorded swap writes the same few items whatever the fleet's size; a plan writes each distribution once", async () => {
    const small = await swapAfterPlanOf(100);
    const large = await swapAfterPlanOf(3_000);
    // history, the distribution, the summary: three puts, the same bytes (ids are of one width).
    expect(small.swapWrites.puts).toBe(3);
    expect(large.swapWrites.puts).toBe(3);
    expect(Math.abs(large.swapWrites.bytes - small.swapWrites.bytes)).toBeLessThan(64);
    expect(large.swapWrites.bytes).toBeLessThan(8 * 1024);
    // started (history + state), planned (history + state + one item per distribution).
    expect(small.planWrites.puts).toBe(4 + 100);
    expect(large.planWrites.puts).toBe(4 + 3_000);
    // The whole state reads back, the plan's order and baselines included.
    const whole = await large.store.get(large.rotationId);
    expect(whole).toEqual(large.state);
  }, 120_000);

  it("keeps the summary and the planned event small, and the distributions as their own items", async () => {
    const { store, rotationId } = await swapAfterPlanOf(3_000);
    const summary = await store.summaryOf(rotationId);
    expect(summary?.waves.map((w) => w.distributions.length)).toEqual([0, 0, 0]);
    const none = { pending: 0, swapped: 0, "rolled-back": 0, "rollback-failed": 0, "not-presenting": 0 };
    expect(summary?.waves.map((w) => w.counts)).toEqual([
      { ...none, pending: 1 },
      { ...none, pending: 1_500 },
      { ...none, pending: 1_498, swapped: 1 },
    ]);
    expect(summary?.baselines).toBeUndefined();
    expect(JSON.stringify(summary).length).toBeLessThan(8 * 1024);
    const planned = (await store.history(rotationId)).find((e) => e.type === "planned");
    expect(planned).toMatchObject({ stored: { distributions: 3_000 }, baselines: {} });
    expect(JSON.stringify(planned).length).toBeLessThan(4 * 1024);
  }, 120_000);

  it("pages a rotation's distributions in plan order, and refuses a token it did not hand out", async () => {
    const { store, rotationId, state } = await swapAfterPlanOf(1_001);
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await new RotationPages(store.tableReads).rotationPage(rotationId, {
        limit: 300,
        ...(nextToken ? { nextToken } : {}),
      });
      pages += 1;
      expect(page?.state.waves.map((w) => w.size)).toEqual([1, 500, 500]);
      for (const wave of page!.state.waves) seen.push(...wave.distributions.map((d) => d.distributionId));
      nextToken = page?.nextToken;
    } while (nextToken);
    expect(pages).toBe(4);
    expect(seen).toEqual(state.waves.flatMap((w) => w.distributions.map((d) => d.distributionId)));

    const first = await new RotationPages(store.tableReads).rotationPage(rotationId, { limit: 10 });
    const other = await swapAfterPlanOf(20);
    await expect(
      new RotationPages(other.store.tableReads).rotationPage(other.rotationId, {
        nextToken: first!.nextToken!,
      }),
    ).rejects.toThrow(InvalidNextTokenError);
    await expect(
      new RotationPages(store.tableReads).rotationPage(rotationId, { nextToken: "not-a-token" }),
    ).rejects.toThrow(InvalidNextTokenError);
    await expect(
      new RotationPages(store.tableReads).rotationPage(rotationId, { limit: 1_001 }),
    ).rejects.toThrow(InvalidListRequestError);
  }, 120_000);

  it("pages the history newest first, each page in order, with the sequence it starts at", async () => {
    const { store } = await freshStore();
    const events = rotationEvents();
    let state = foldEvents("rot-history", []);
    for (const [sequence, event] of events.entries()) {
      state = applyEvent(state, event);
      await store.record(state, event, sequence);
    }
    const newest = await new RotationPages(store.tableReads).historyPage("rot-history", { limit: 5 });
    expect(newest).toEqual({ events: events.slice(-5), start: events.length - 5 });
    const older = await new RotationPages(store.tableReads).historyPage("rot-history", {
      limit: 5,
      before: newest.start,
    });
    expect(older).toEqual({ events: events.slice(-10, -5), start: events.length - 10 });
    expect(
      await new RotationPages(store.tableReads).historyPage("rot-history", { limit: 5, before: 0 }),
    ).toEqual({ events: [], start: 0 });
  });
});
