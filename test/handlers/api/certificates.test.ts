/**
 * GET /certificates and GET /certificates/{id}: the Lambda entries, fed payload-2.0 events, over the real
 * inventory store on dynalite, holding records the scan's own assessment produced.
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryStore } from "../../../functions/adapters/inventory-store.ts";
import type { CertificatesDeps } from "../../../functions/api/certificates.ts";
import { CertificateAnswer, CertificateListAnswer } from "../../../functions/api/schemas.ts";
import {
  assessCertificate,
  type InventoryRecord,
  type ListedCertificate,
} from "../../../functions/core/tracking.ts";
import { getCertificateHandler } from "../../../functions/handlers/api/get-certificate.ts";
import { listCertificatesHandler } from "../../../functions/handlers/api/list-certificates.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../../standins/dynamodb.ts";
import { apiEvent, invoke } from "../../support/api-events.ts";
import { expectNoKeyMaterial } from "../../support/key-material.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-03-01T06:00:00.000Z");
const MANAGED_CA = "CN=Acme Origin Client CA, O=Acme";
const TABLE = "mtls-rotator-api-certificates";
const quiet = { log: () => undefined };

const id = (n: number) => `0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b${n.toString(16).padStart(2, "0")}`;
const arn = (n: number) => `arn:aws:acm:us-east-1:123456789012:certificate/${id(n)}`;

function listed(n: number, daysLeft: number, issuer = MANAGED_CA): ListedCertificate {
  return {
    arn: arn(n),
    serial: `5a3c0f9e1${n}`,
    subject: `CN=client-${n}.internal, O=Acme`,
    issuer,
    keyAlgorithm: "EC_prime256v1",
    notBefore: new Date(NOW.getTime() - (90 - daysLeft) * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    imported: true,
    clientAuth: true,
  };
}

/** The record the scan would have written for `certificate` at `at`. */
function record(
  certificate: ListedCertificate,
  at = NOW,
  extra: Partial<InventoryRecord> = {},
): InventoryRecord {
  const usage = [{ distributionId: `E${certificate.serial.toUpperCase()}`, originId: "origin-1" }];
  const { record } = assessCertificate({
    certificate,
    usage,
    policy: { managedIssuers: [MANAGED_CA] },
    now: at,
  });
  return { ...record, ...extra };
}

const RECORDS = {
  due: record(listed(1, 20), NOW, {
    drift: [
      {
        kind: "unmanaged-certificate",
        distributionId: "E2DRIFT",
        originId: "origin-9",
        detail: "presents an unmanaged certificate",
      },
    ],
  }),
  fresh: record(listed(2, 80)),
  unmanaged: record(listed(3, 50, "CN=Someone Else CA, O=Other")),
  expired: record(listed(4, -2)),
  retired: record(listed(5, 10), NOW, { retired: true }),
  // Fresh at the last scan, 40 days ago; its renewal time (30 days before expiry) has passed since.
  becameDue: record(listed(6, 25), new Date(NOW.getTime() - 40 * DAY)),
};

let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let client: ReturnType<typeof dynamoDbClient>;
let deps: CertificatesDeps;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, TABLE);
  const inventory = new InventoryStore(client, { tableName: TABLE });
  await inventory.putMany(Object.values(RECORDS));
  deps = { inventory, now: () => NOW };
});

afterAll(async () => {
  await dynamo?.close();
});

async function tableItems(): Promise<string> {
  const out = await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  return JSON.stringify(out.Items);
}

const list = (query?: Record<string, string>) =>
  invoke(
    listCertificatesHandler(async () => deps, quiet),
    apiEvent("GET /certificates", query ? { query } : {}),
  );
const get = (id: string) =>
  invoke(
    getCertificateHandler(async () => deps, quiet),
    apiEvent("GET /certificates/{id}", { params: { id } }),
  );

describe("GET /certificates", () => {
  it("lists every certificate, soonest expiry first, as the contract's CertificateView", async () => {
    const answer = await list();
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    CertificateListAnswer.strict().parse(answer.body);
    const views = answer.body.certificates as Array<Record<string, unknown>>;
    expect(views.map((v) => v.arn)).toEqual([arn(4), arn(5), arn(1), arn(6), arn(3), arn(2)]);
    expect(views[2]).toEqual({
      id: id(1),
      arn: arn(1),
      subject: "CN=client-1.internal, O=Acme",
      issuer: MANAGED_CA,
      keyAlgorithm: "EC_prime256v1",
      serial: "5a3c0f9e11",
      notBefore: RECORDS.due.notBefore,
      notAfter: RECORDS.due.notAfter,
      daysToExpiry: 20,
      managed: true,
      retired: false,
      due: true,
      usage: [{ distributionId: "E5A3C0F9E11", originId: "origin-1" }],
      decision: RECORDS.due.decision,
      alerted: RECORDS.due.alerted,
      drift: RECORDS.due.drift,
      lastSeenAt: NOW.toISOString(),
    });
    expectNoKeyMaterial(answer.body);
  });

  it.each([
    ["due=true", { due: "true" }, [arn(4), arn(1), arn(6)]],
    ["due=false", { due: "false" }, [arn(5), arn(3), arn(2)]],
    ["managed=false", { managed: "false" }, [arn(3)]],
    ["managed=true&due=true", { managed: "true", due: "true" }, [arn(4), arn(1), arn(6)]],
    ["expiringWithinDays=20", { expiringWithinDays: "20" }, [arn(4), arn(5), arn(1)]],
    ["expiringWithinDays=0 (expired only)", { expiringWithinDays: "0" }, [arn(4)]],
    [
      "expiringWithinDays=3650",
      { expiringWithinDays: "3650" },
      [arn(4), arn(5), arn(1), arn(6), arn(3), arn(2)],
    ],
  ])("filters by %s", async (_, query, expected) => {
    const answer = await list(query);
    expect(answer.status).toBe(200);
    expect(answer.body.certificates.map((v: { arn: string }) => v.arn)).toEqual(expected);
  });

  it("shows expired as negative days, retired as never due, and renewal times passed since the scan as due", async () => {
    const byArn = new Map((await list()).body.certificates.map((v: { arn: string }) => [v.arn, v]));
    expect(byArn.get(arn(4))).toMatchObject({ daysToExpiry: -2, due: true, decision: { reason: "Expired" } });
    expect(byArn.get(arn(5))).toMatchObject({ retired: true, due: false });
    expect(byArn.get(arn(6))).toMatchObject({ due: true, decision: { reason: "Fresh" } });
    expect(byArn.get(arn(3))).toMatchObject({
      managed: false,
      due: false,
      decision: { reason: "NotManaged" },
    });
  });

  it.each([
    ["due=yes", { due: "yes" }, "due"],
    ["managed=1", { managed: "1" }, "managed"],
    ["expiringWithinDays=-1", { expiringWithinDays: "-1" }, "expiringWithinDays"],
    ["expiringWithinDays=3651", { expiringWithinDays: "3651" }, "expiringWithinDays"],
    ["expiringWithinDays=1.5", { expiringWithinDays: "1.5" }, "expiringWithinDays"],
    ["expiringWithinDays=", { expiringWithinDays: "" }, "expiringWithinDays"],
    ["an unknown parameter", { status: "due" }, "status"],
  ])("refuses %s with 400 naming the field, changing nothing", async (_, query, field) => {
    const before = await tableItems();
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("ValidationError");
    expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual([field]);
    expect(await tableItems()).toBe(before);
  });
});

describe("GET /certificates/{id}", () => {
  it("finds a certificate by its id", async () => {
    const answer = await get(id(2));
    expect(answer.status).toBe(200);
    CertificateAnswer.strict().parse(answer.body);
    expect(answer.body.certificate).toMatchObject({ id: id(2), arn: arn(2), due: false, daysToExpiry: 80 });
    expect(answer.body.certificate.drift).toBeUndefined();
  });

  it("finds a certificate by its full ARN (URL-encoded in the path)", async () => {
    const event = apiEvent("GET /certificates/{id}", { params: { id: arn(1) } });
    expect(event.rawPath).toBe(`/certificates/${encodeURIComponent(arn(1))}`);
    const answer = await invoke(
      getCertificateHandler(async () => deps, quiet),
      event,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.certificate.arn).toBe(arn(1));

    // API Gateway may hand the parameter over still encoded: the same certificate.
    const encoded = apiEvent("GET /certificates/{id}", { params: { id: encodeURIComponent(arn(1)) } });
    expect(
      (
        await invoke(
          getCertificateHandler(async () => deps, quiet),
          encoded,
        )
      ).body.certificate?.arn,
    ).toBe(arn(1));
  });

  it("answers 404 for a certificate the inventory does not know", async () => {
    for (const unknown of [id(99), arn(99)]) {
      const answer = await get(unknown);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe("NotFound");
      expect(answer.body.error.message).toContain(unknown);
    }
  });

  it.each([
    ["not a UUID", "certificate-1"],
    ["an uppercase UUID", id(1).toUpperCase()],
    ["an ARN in another region", arn(1).replace("us-east-1", "eu-west-1")],
    ["a Private CA ARN", "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"],
    ["a path traversal", "../rotations"],
  ])("refuses %s with 400 naming id", async (_, value) => {
    const before = await tableItems();
    const answer = await get(value);
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems).toEqual([
      { field: "id", message: expect.stringContaining("certificate id") },
    ]);
    expect(await tableItems()).toBe(before);
  });
});
