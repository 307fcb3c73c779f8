/**
 * The inventory store's alert claims on dynalite (behind the model-checking front): one winner per alert,
 * a sent alert never claimed again, a claim whose sender died taken over after its lease. The CA
 * certificates' records in a partition of their own, never among the leaves.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERT_CLAIM_LEASE_MS, InventoryStore } from "../../functions/adapters/inventory-store.ts";
import type { AuthorityCertificateRecord } from "../../functions/core/authority-expiry.ts";
import type { InventoryRecord } from "../../functions/core/tracking.ts";
import {
  createRotationTable,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";

let dynamo: DynamoDbStandin;
let client: DynamoDBClient;
let store: InventoryStore;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 });
  await createRotationTable(client, "inventory");
  store = new InventoryStore(client, { tableName: "inventory" });
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

const key = (thresholdDays: number, notAfter = "2027-01-01T00:00:00.000Z") => ({
  certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/alerting",
  notAfter,
  thresholdDays,
});
const T = new Date("2026-12-01T00:00:00.000Z");
const later = (ms: number) => new Date(T.getTime() + ms);

describe("alert claims", () => {
  it("one winner among ten claiming the same alert at once; other thresholds and renewals are their own", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => store.alertClaims.claim(key(30), T)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.alertClaims.claim(key(14), T)).toBe(true);
    expect(await store.alertClaims.claim(key(30, "2027-04-01T00:00:00.000Z"), T)).toBe(true);
  });

  it("a sent alert is never claimed again, however late", async () => {
    expect(await store.alertClaims.claim(key(7), T)).toBe(true);
    await store.alertClaims.sent(key(7), later(1_000));
    expect(await store.alertClaims.claim(key(7), later(10 * ALERT_CLAIM_LEASE_MS))).toBe(false);
  });

  it("a claim whose sender died is taken over once its lease has passed, by one caller", async () => {
    expect(await store.alertClaims.claim(key(1), T)).toBe(true);
    expect(await store.alertClaims.claim(key(1), later(ALERT_CLAIM_LEASE_MS - 1_000))).toBe(false);
    const takeovers = await Promise.all(
      Array.from({ length: 5 }, () => store.alertClaims.claim(key(1), later(ALERT_CLAIM_LEASE_MS + 1_000))),
    );
    expect(takeovers.filter(Boolean)).toHaveLength(1);
  });
});

describe("CA certificates' records", () => {
  const caRecord = (n: number): AuthorityCertificateRecord => ({
    fingerprint: n.toString(16).padStart(64, "0"),
    subject: `CN=CA ${n}, O=Acme`,
    issuer: "CN=Root, O=Acme",
    serial: "0a",
    notBefore: "2025-01-01T00:00:00.000Z",
    notAfter: "2027-01-01T00:00:00.000Z",
    role: n === 0 ? "root" : "intermediate",
    authorityArns: [`arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/${n}`],
    alerted: [],
    lastSeenAt: T.toISOString(),
  });
  const leaf: InventoryRecord = {
    arn: "arn:aws:acm:us-east-1:111122223333:certificate/leaf",
    serial: "0b",
    subject: "CN=leaf",
    issuer: "CN=CA 1, O=Acme",
    keyAlgorithm: "EC_prime256v1",
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2026-04-01T00:00:00.000Z",
    managed: true,
    usage: [],
    decision: { reason: "Fresh", message: "fresh" },
    alerted: [],
    lastSeenAt: T.toISOString(),
  };

  it("are kept by fingerprint apart from the leaves: neither listing returns the other's records", async () => {
    // More than one BatchWriteItem's 25 records.
    const records = Array.from({ length: 30 }, (_, n) => caRecord(n));
    await store.authorityCertificates.putMany(records);
    await store.putMany([leaf]);

    const cas = await store.authorityCertificates.loadAll();
    expect([...cas.keys()].sort()).toEqual(records.map((r) => r.fingerprint).sort());
    expect(cas.get(records[0]!.fingerprint)).toEqual(records[0]);
    expect([...(await store.loadAll()).keys()]).toEqual([leaf.arn]);
  });
});
