/** The viewer migration store on dynalite: the domain lock (idempotent, leased), records, retiring CAs, the list. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ViewerMigrationStore } from "../../functions/adapters/viewer-migration-store.ts";
import { initialViewerState, type ViewerMigrationRequest } from "../../functions/core/viewer-migration.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";

const TABLE = "mtls-rotator";
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let clockMs = Date.parse("2027-01-01T00:00:00Z");
let store: ViewerMigrationStore;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, TABLE);
  store = new ViewerMigrationStore(client, {
    tableName: TABLE,
    now: () => new Date(clockMs),
    leaseSeconds: 60,
  });
});
afterAll(() => dynamo?.close());

const request = (migrationId: string): ViewerMigrationRequest => ({
  migrationId,
  domain: "partners",
  action: "migrate",
  actor: "alice",
  reason: "test",
});

describe("the domain lock", () => {
  it("is held by one migration; re-acquiring is idempotent; released only by its holder", async () => {
    expect(await store.acquireLock("partners", "vm-1")).toEqual({ acquired: true });
    expect(await store.acquireLock("partners", "vm-1")).toEqual({ acquired: true });
    expect(await store.acquireLock("partners", "vm-2")).toEqual({ acquired: false, heldBy: "vm-1" });
    await store.releaseLock("partners", "vm-2");
    expect(await store.acquireLock("partners", "vm-2")).toEqual({ acquired: false, heldBy: "vm-1" });
    await store.releaseLock("partners", "vm-1");
    expect(await store.acquireLock("partners", "vm-2")).toEqual({ acquired: true });
    await store.releaseLock("partners", "vm-2");
  });

  it("is taken over once its lease ended (its holder died)", async () => {
    expect(await store.acquireLock("kiosks", "vm-dead")).toEqual({ acquired: true });
    clockMs += 61_000;
    expect(await store.acquireLock("kiosks", "vm-next")).toEqual({ acquired: true });
    expect(await store.acquireLock("kiosks", "vm-dead")).toEqual({ acquired: false, heldBy: "vm-next" });
  });
});

describe("records", () => {
  it("keeps the state, the history in order and the start time of the first event", async () => {
    const state = { ...initialViewerState("vm-rec"), status: "dry-run" as const };
    await store.record(
      request("vm-rec"),
      initialViewerState("vm-rec"),
      { type: "viewer-control", at: "2027-01-01T00:00:00.000Z", action: "timeout" },
      0,
    );
    await store.record(
      request("vm-rec"),
      state,
      { type: "viewer-ended", at: "2027-01-01T00:05:00.000Z", status: "dry-run" },
      1,
    );
    // A replayed step rewrites the same history item.
    await store.record(
      request("vm-rec"),
      state,
      { type: "viewer-ended", at: "2027-01-01T00:05:00.000Z", status: "dry-run" },
      1,
    );
    const record = await store.get("vm-rec");
    expect(record).toMatchObject({
      startedAt: "2027-01-01T00:00:00.000Z",
      updatedAt: "2027-01-01T00:05:00.000Z",
    });
    expect(record?.state.status).toBe("dry-run");
    expect((await store.history("vm-rec")).map((e) => e.type)).toEqual(["viewer-control", "viewer-ended"]);
    expect((await store.page()).migrations.find((m) => m.migrationId === "vm-rec")).toMatchObject({
      status: "dry-run",
    });
    expect(await store.get("vm-unknown")).toBeUndefined();
  });

  it("keeps every CA moved away from with its retirement time", async () => {
    await store.saveRetiring("partners", [
      { authorityArn: "arn:a", retireAfter: "2028-01-01T00:00:00.000Z", migrationId: "vm-1" },
    ]);
    await store.saveRetiring("partners", [
      { authorityArn: "arn:a", retireAfter: "2029-01-01T00:00:00.000Z", migrationId: "vm-3" },
    ]);
    expect((await store.retiringOf("partners")).map((r) => r.retireAfter).sort()).toEqual([
      "2028-01-01T00:00:00.000Z",
      "2029-01-01T00:00:00.000Z",
    ]);
    expect(await store.retiringOf("kiosks")).toEqual([]);
  });
});
