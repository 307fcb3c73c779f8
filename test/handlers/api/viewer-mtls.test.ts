/**
 * GET /viewer-mtls: the Lambda entry, fed payload-2.0 events, over the real inventory store on dynalite,
 * holding what the scan's own assessment produced; read through the signed-fetch reads the deployed route
 * uses (InventoryReads), answered as the contract says.
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { InventoryStore } from "../../../functions/adapters/inventory-store.ts";
import { ViewerMtlsAnswer } from "../../../functions/api/answers.ts";
import {
  boundedViewerAnswer,
  MAX_VIEWER_ANSWER_BYTES,
  viewerMtlsInventory,
} from "../../../functions/api/viewer-mtls.ts";
import {
  assessViewerInventory,
  type ListedViewerDistribution,
  type StoredViewerInventory,
  viewerDriftKey,
} from "../../../functions/core/viewer-inventory.ts";
import { getViewerMtlsHandler } from "../../../functions/handlers/api/get-viewer-mtls.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../../standins/dynamodb.ts";
import { apiEvent, invoke } from "../../support/api-events.ts";
import { strictly } from "../../support/contract.ts";
import { VIEWER_POLICIES } from "../../support/viewer-trust-stores.ts";

const NOW = new Date("2026-12-05T06:00:00.000Z");
const TABLE = "mtls-rotator-api-viewer-mtls";
const quiet = { log: () => undefined };
const arnOf = (id: string) => `arn:aws:cloudfront::123456789012:distribution/${id}`;
const storeArn = (id: string) => `arn:aws:cloudfront::123456789012:trust-store/${id}`;

const distributions: ListedViewerDistribution[] = [
  { distributionId: "EPLAIN", arn: arnOf("EPLAIN"), mode: "none" },
  { distributionId: "EREQ", arn: arnOf("EREQ"), mode: "required", trustStoreId: "ts-a" },
  { distributionId: "EOPT", arn: arnOf("EOPT"), mode: "optional", trustStoreId: "ts-a" },
  {
    distributionId: "EPASS",
    arn: arnOf("EPASS"),
    mode: "passthrough",
    behaviours: [
      { pathPattern: "*", default: true, originRequestPolicyId: "fwd" },
      { pathPattern: "/api/*", default: false, originRequestPolicyId: "all" },
      { pathPattern: "/raw/*", default: false },
    ],
  },
];

function scanned(list: ListedViewerDistribution[]): StoredViewerInventory {
  const inventory = assessViewerInventory({
    distributions: list,
    policies: VIEWER_POLICIES,
    trustStores: [
      { id: "ts-a", arn: storeArn("ts-a"), name: "partners", status: "active", caCertificates: 2 },
      {
        id: "ts-b",
        arn: storeArn("ts-b"),
        name: "broken",
        status: "failed",
        reason: "no certificate in the bundle",
        caCertificates: 0,
      },
    ],
    now: NOW,
  });
  return { ...inventory, notified: inventory.drift.map(viewerDriftKey).sort() };
}

let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let client: ReturnType<typeof dynamoDbClient>;
let inventory: InventoryStore;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, TABLE);
  inventory = new InventoryStore(client, { tableName: TABLE });
});

afterAll(async () => {
  await dynamo?.close();
});

const get = () =>
  invoke(
    getViewerMtlsHandler(async () => ({ inventory }), quiet),
    apiEvent("GET /viewer-mtls"),
  );

describe("GET /viewer-mtls", () => {
  it("answers 404 before any full scan stored an inventory", async () => {
    const answer = await get();
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({
      error: { code: "NotFound", message: expect.stringContaining("full scan") },
    });
  });

  it("answers distributions by mode and trust store, trust stores with status and counts, drift and when it was scanned", async () => {
    await inventory.viewerMtls.save(scanned(distributions), undefined);
    const answer = await get();
    expect(answer.status).toBe(200);
    const body = z.parse(strictly(ViewerMtlsAnswer), answer.body);
    expect(body.scannedAt).toBe(NOW.toISOString());
    expect(body.byMode).toEqual({ none: 1, required: 1, optional: 1, passthrough: 1 });
    expect(body.distributions.map((d) => [d.distributionId, d.mode, d.trustStoreId])).toEqual([
      ["EOPT", "optional", "ts-a"],
      ["EPASS", "passthrough", undefined],
      ["EREQ", "required", "ts-a"],
    ]);
    expect(body.distributions[1]?.behaviours?.map((b) => [b.pathPattern, b.clientCertForwarding])).toEqual([
      ["*", "yes"],
      ["/api/*", "unknown"],
      ["/raw/*", "no"],
    ]);
    expect(body.trustStores).toEqual([
      {
        id: "ts-a",
        arn: storeArn("ts-a"),
        name: "partners",
        status: "active",
        caCertificates: 2,
        distributions: 2,
        distributionIds: ["EOPT", "EREQ"],
      },
      {
        id: "ts-b",
        arn: storeArn("ts-b"),
        name: "broken",
        status: "failed",
        reason: "no certificate in the bundle",
        caCertificates: 0,
        distributions: 0,
        distributionIds: [],
      },
    ]);
    expect(body.drift.map((f) => [f.kind, f.distributionId ?? f.trustStoreId, f.pathPattern])).toEqual([
      ["client-cert-forwarding-unknown", "EPASS", "/api/*"],
      ["client-cert-not-forwarded", "EPASS", "/raw/*"],
      ["trust-store-failed", "ts-b", undefined],
    ]);
    expect(body.quotas).toEqual({
      trustStoresPerAccount: 20,
      distributionsPerTrustStore: 25,
      caCertificatesPerTrustStore: 25,
      nearRatio: 0.8,
    });
  });

  it("a distribution that left viewer mTLS is no longer listed (its item is kept, in mode none)", async () => {
    const previous = await inventory.viewerInventory();
    const next = scanned(distributions.filter((d) => d.distributionId !== "EOPT"));
    await inventory.viewerMtls.save(next, previous);
    const body = (await get()).body as z.infer<typeof ViewerMtlsAnswer>;
    expect(body.distributions.map((d) => d.distributionId)).toEqual(["EPASS", "EREQ"]);
    expect(body.byMode.optional).toBe(0);
    expect(body.trustStores[0]?.distributionIds).toEqual(["EREQ"]);
    // The item of the distribution that left is kept in mode none, the others untouched.
    const out = await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
    const items = (out.Items ?? []).filter((i) => i.pk?.S === "VIEWER-INVENTORY").map((i) => i.sk?.S);
    expect(items.sort()).toEqual(["DIST#EOPT", "DIST#EPASS", "DIST#EREQ", "SUMMARY"]);
  });

  it("takes no query and refuses one, changing nothing", async () => {
    const answer = await invoke(
      getViewerMtlsHandler(async () => ({ inventory }), quiet),
      apiEvent("GET /viewer-mtls", { query: { mode: "passthrough" } }),
    );
    expect(answer.status).toBe(400);
  });
});

describe("the answer's size", () => {
  /** `count` passthrough distributions, every behaviour of each drifting. */
  function driftingFleet(count: number): ListedViewerDistribution[] {
    return Array.from({ length: count }, (_, i) => {
      const id = `EP${String(i).padStart(6, "0")}`;
      return {
        distributionId: id,
        arn: arnOf(id),
        mode: "passthrough" as const,
        behaviours: Array.from({ length: 5 }, (_, b) => ({
          pathPattern: b === 0 ? "*" : `/service-${b}/*`,
          default: b === 0,
          originRequestPolicyId: "leaf",
        })),
      };
    });
  }
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

  it("is whole, without `omitted`, when it fits", async () => {
    const answer = await viewerMtlsInventory({
      inventory: { viewerInventory: async () => scanned(distributions) },
    });
    expect(answer).not.toHaveProperty("omitted");
    expect(boundedViewerAnswer(answer)).toBe(answer);
  });

  it("stays under the limit for a fleet too large for one answer: findings kept first, what was left out counted", async () => {
    const stored = scanned(driftingFleet(2_000));
    const answer = await viewerMtlsInventory({ inventory: { viewerInventory: async () => stored } });
    expect(size(stored)).toBeGreaterThan(MAX_VIEWER_ANSWER_BYTES);
    expect(size(answer)).toBeLessThanOrEqual(MAX_VIEWER_ANSWER_BYTES);
    const body = z.parse(strictly(ViewerMtlsAnswer), answer);
    expect(body.omitted).toBeDefined();
    expect(body.drift.length + body.omitted!.drift).toBe(stored.drift.length);
    expect(body.distributions.length + body.omitted!.distributions).toBe(stored.distributions.length);
    // Findings first: some are shown, in order, before any distribution is.
    expect(body.drift.length).toBeGreaterThan(0);
    expect(body.drift).toEqual(stored.drift.slice(0, body.drift.length));
    if (body.distributions.length > 0) expect(body.omitted!.drift).toBe(0);
    // The counts stay whole.
    expect(body.byMode.passthrough).toBe(2_000);
  });

  it("cuts at exactly the budget given", async () => {
    const answer = await viewerMtlsInventory({
      inventory: { viewerInventory: async () => scanned(distributions) },
    });
    for (const max of [size(answer) - 1, size(answer) - 400, 1_500]) {
      const cut = boundedViewerAnswer(answer, max);
      expect(size(cut), String(max)).toBeLessThanOrEqual(max);
      expect(cut.omitted).toBeDefined();
    }
    expect(boundedViewerAnswer(answer, size(answer))).toBe(answer);
  });
});
