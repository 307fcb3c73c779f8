/**
 * GET /certificates and GET /certificates/{id}: the Lambda entries, fed payload-2.0 events, over the real
 * inventory store on dynalite, holding records the scan's own assessment produced.
 */
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { InventoryStore } from "../../../functions/adapters/inventory-store.ts";
import { CertificateAnswer, CertificateListAnswer } from "../../../functions/api/answers.ts";
import {
  type CertificatesDeps,
  MAX_PAGE_BYTES,
  viewOfCertificate,
} from "../../../functions/api/certificates.ts";
import {
  assessCertificate,
  type InventoryRecord,
  type ListedCertificate,
} from "../../../functions/core/tracking.ts";
import { getCertificateHandler } from "../../../functions/handlers/api/get-certificate.ts";
import { listCertificatesHandler } from "../../../functions/handlers/api/list-certificates.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../../standins/dynamodb.ts";
import { apiEvent, invoke } from "../../support/api-events.ts";
import { strictly } from "../../support/contract.ts";
import { expectNoKeyMaterial } from "../../support/key-material.ts";
import { managedAuthorityFixture } from "../../support/managed-authority.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-03-01T06:00:00.000Z");
const MANAGED = await managedAuthorityFixture();
const MANAGED_CA = MANAGED.authority.issuer;
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
    authorityKey: certificate.issuer === MANAGED_CA ? MANAGED.authority.key : undefined,
    usage,
    policy: { managedAuthorities: [MANAGED.authority] },
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
    z.parse(strictly(CertificateListAnswer), answer.body);
    const views = answer.body.certificates as Array<Record<string, unknown>>;
    expect(views.map((v) => v.arn)).toEqual([arn(4), arn(5), arn(1), arn(6), arn(3), arn(2)]);
    expect(views[2]).toEqual({
      id: id(1),
      arn: arn(1),
      subject: "CN=client-1.internal, O=Acme",
      issuer: MANAGED_CA,
      authorityKey: MANAGED.authority.key,
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
    z.parse(strictly(CertificateAnswer), answer.body);
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

// ---- paging ---------------------------------------------------------------------------------------------

/** An inventory in memory (the listing reads it whole: loadAll), changed between pages by some tests. */
function memoryDeps(
  records: InventoryRecord[],
): CertificatesDeps & { records: Map<string, InventoryRecord> } {
  const map = new Map(records.map((r) => [r.arn, r]));
  return { inventory: { loadAll: async () => new Map(map) }, now: () => NOW, records: map };
}

const bigId = (n: number) => `0f3c9b1e-7a2d-4c5e-9b8a-${n.toString(16).padStart(12, "0")}`;
const bigArn = (n: number) => `arn:aws:acm:us-east-1:123456789012:certificate/${bigId(n)}`;

/**
 * A certificate as a real fleet's inventory holds it: a DN subject and issuer, a 20-byte serial, presented by
 * `distributions` distributions on two origins each, alerted twice, with a drift finding on every tenth.
 */
function realistic(n: number, distributions = 3): InventoryRecord {
  const daysLeft = (n * 7) % 400; // many certificates share an expiry day: the ARN breaks the tie
  const certificate: ListedCertificate = {
    arn: bigArn(n),
    serial: `${n.toString(16).padStart(8, "0")}5a3c0f9e1d2b7c4a8e6f0d1c2b3a4958`, // 20 bytes
    subject: `CN=origin-client-${n}.payments.internal.example.com, OU=Edge Platform, O=Example Corp, C=US`,
    issuer: MANAGED_CA,
    keyAlgorithm: "EC_prime256v1",
    notBefore: new Date(NOW.getTime() - (397 - daysLeft) * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    imported: true,
    clientAuth: true,
  };
  const usage = Array.from({ length: distributions }, (_, d) => [
    {
      distributionId: `E${(n * 31 + d).toString(36).toUpperCase().padStart(13, "0")}`,
      originId: "api-origin",
    },
    {
      distributionId: `E${(n * 31 + d).toString(36).toUpperCase().padStart(13, "0")}`,
      originId: "static-assets",
    },
  ]).flat();
  const { record } = assessCertificate({
    certificate,
    authorityKey: certificate.issuer === MANAGED_CA ? MANAGED.authority.key : undefined,
    usage,
    policy: { managedAuthorities: [MANAGED.authority] },
    now: NOW,
  });
  return {
    ...record,
    alerted: [30, 14],
    ...(n % 10 === 0
      ? {
          drift: [
            {
              kind: "unmanaged-certificate",
              distributionId: "E2DRIFTDRIFT01",
              originId: "legacy-origin",
              detail: "presents a certificate from an issuer the service does not manage",
            },
          ],
        }
      : {}),
  };
}

const listFrom = (d: CertificatesDeps, query?: Record<string, string>) =>
  invoke(
    listCertificatesHandler(async () => d, quiet),
    apiEvent("GET /certificates", query ? { query } : {}),
  );

/** Every page of the listing, following nextToken (with the same filters). */
async function allPages(d: CertificatesDeps, query: Record<string, string> = {}) {
  const pages: string[][] = [];
  let nextToken: string | undefined;
  do {
    const answer = await listFrom(d, { ...query, ...(nextToken ? { nextToken } : {}) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    z.parse(strictly(CertificateListAnswer), answer.body);
    pages.push(answer.body.certificates.map((c: { arn: string }) => c.arn));
    nextToken = answer.body.nextToken;
  } while (nextToken && pages.length < 1000);
  return pages;
}

/** The listing's order: notAfter ascending, then ARN. */
function ordered(records: InventoryRecord[]): string[] {
  return [...records]
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || (a.arn < b.arn ? -1 : 1))
    .map((r) => r.arn);
}

describe("GET /certificates, a page at a time", () => {
  it("pages through everything in order (notAfter, then ARN): none skipped, none repeated, the last without nextToken", async () => {
    const records = Array.from({ length: 250 }, (_, n) => realistic(n, 1));
    const d = memoryDeps(records);
    const pages = await allPages(d);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]); // default limit 100
    expect(pages.flat()).toEqual(ordered(records));

    const small = await allPages(d, { limit: "7" });
    expect(small).toHaveLength(36);
    expect(small.flat()).toEqual(ordered(records));
    expect(new Set(small.flat()).size).toBe(250);
  });

  it("applies the filters before paging", async () => {
    const d = memoryDeps(Object.values(RECORDS));
    expect(await allPages(d, { due: "true", limit: "1" })).toEqual([[arn(4)], [arn(1)], [arn(6)]]);
    expect(await allPages(d, { due: "false", managed: "true", limit: "1" })).toEqual([[arn(5)], [arn(2)]]);
    expect(await allPages(d, { expiringWithinDays: "20", limit: "2" })).toEqual([[arn(4), arn(5)], [arn(1)]]);
    // Exactly `limit` left: no nextToken, no empty page after.
    expect(await allPages(d, { managed: "false", limit: "1" })).toEqual([[arn(3)]]);
  });

  it("neither skips nor repeats certificates when the inventory changes between pages", async () => {
    const records = Array.from({ length: 30 }, (_, n) => realistic(n, 1));
    const d = memoryDeps(records);
    const order = ordered(records);
    const first = await listFrom(d, { limit: "10" });
    const seen: string[] = first.body.certificates.map((c: { arn: string }) => c.arn);
    expect(seen).toEqual(order.slice(0, 10));
    // Between pages: one already listed goes, one expiring before the position and one after arrive.
    d.records.delete(order[3]!);
    const early = { ...realistic(1000, 1), notAfter: new Date(NOW.getTime() - 400 * DAY).toISOString() };
    const late = { ...realistic(1001, 1), notAfter: new Date(NOW.getTime() + 900 * DAY).toISOString() };
    d.records.set(early.arn, early);
    d.records.set(late.arn, late);
    let nextToken: string | undefined = first.body.nextToken;
    while (nextToken) {
      const page = await listFrom(d, { limit: "10", nextToken });
      seen.push(...page.body.certificates.map((c: { arn: string }) => c.arn));
      nextToken = page.body.nextToken;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...order, late.arn]);
  });

  it.each([
    ["limit=0", { limit: "0" }, "limit"],
    ["limit=501", { limit: "501" }, "limit"],
    ["limit=ten", { limit: "ten" }, "limit"],
    ["an empty nextToken", { nextToken: "" }, "nextToken"],
    ["a nextToken with characters no token has", { nextToken: "abc+/=" }, "nextToken"],
    ["a nextToken that is not one", { nextToken: "eyJmb28iOjF9" }, "nextToken"],
    ["a very long nextToken", { nextToken: "a".repeat(2000) }, "nextToken"],
  ])("refuses %s with 400 naming the field", async (_, query, field) => {
    const answer = await listFrom(memoryDeps(Object.values(RECORDS)), query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("ValidationError");
    expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual([field]);
  });

  it("refuses a tampered, truncated or foreign nextToken with 400 naming nextToken", async () => {
    const d = memoryDeps(Object.values(RECORDS));
    const { nextToken } = (await listFrom(d, { limit: "2" })).body as { nextToken: string };
    expect(nextToken).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect((await listFrom(d, { limit: "2", nextToken })).status).toBe(200);

    const [payload, sum] = nextToken.split(".") as [string, string];
    const decoded = Buffer.from(payload, "base64url").toString("utf8");
    const edited = Buffer.from(decoded.replace(/"arn:[^"]+"/, `"${arn(2)}"`)).toString("base64url");
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const bad = [
      `${edited}.${sum}`, // another position, the old checksum
      `${flip(payload, 5)}.${sum}`,
      `${payload}.${flip(sum, 0)}`,
      nextToken.slice(0, -1),
      payload,
      `${payload}.${sum}.${sum}`,
    ];
    for (const token of bad) {
      const answer = await listFrom(d, { limit: "2", nextToken: token });
      expect(answer.status, token).toBe(400);
      expect(answer.body.error.problems).toEqual([
        { field: "nextToken", message: "is not a nextToken this listing handed out" },
      ]);
    }

    // Handed out for other filters: refused rather than paging a listing it does not belong to.
    const due = (await listFrom(d, { due: "true", limit: "1" })).body.nextToken as string;
    const other = await listFrom(d, { due: "false", limit: "1", nextToken: due });
    expect(other.status).toBe(400);
    expect(other.body.error.problems).toEqual([
      { field: "nextToken", message: expect.stringContaining("other filters") },
    ]);
    expect((await listFrom(d, { due: "true", limit: "1", nextToken: due })).status).toBe(200);
  });

  it("keeps the largest page of realistic records well under Lambda's 6 MB answer limit", async () => {
    const records = Array.from({ length: 10_000 }, (_, n) => realistic(n));
    const d = memoryDeps(records);
    // The whole inventory in one body was over the limit (what the listing answered before paging).
    const all = JSON.stringify({ certificates: records.map((r) => viewOfCertificate(r, NOW)) });
    expect(Buffer.byteLength(all)).toBeGreaterThan(6 * 1024 * 1024);

    const event = apiEvent("GET /certificates", { query: { limit: "500" } });
    const result = (await listCertificatesHandler(async () => d, quiet)(event, {} as never)) as {
      statusCode: number;
      body: string;
    };
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body);
    expect(body.certificates).toHaveLength(500);
    expect(body.nextToken).toEqual(expect.any(String));
    // What Lambda returns to API Gateway: the body as an escaped string inside the result.
    const lambdaAnswer = Buffer.byteLength(JSON.stringify(result));
    expect(lambdaAnswer).toBeLessThan(1024 * 1024);
  });

  it("stops a page early rather than pass the size budget when certificates are presented very widely", async () => {
    // 60 certificates each presented by 400 distributions (800 origins): about 60 KB each.
    const records = Array.from({ length: 60 }, (_, n) => realistic(n, 400));
    const d = memoryDeps(records);
    const pages: number[] = [];
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const event = apiEvent("GET /certificates", {
        query: { limit: "500", ...(nextToken ? { nextToken } : {}) },
      });
      const result = (await listCertificatesHandler(async () => d, quiet)(event, {} as never)) as {
        body: string;
      };
      expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(6 * 1000 * 1000);
      expect(Buffer.byteLength(result.body)).toBeLessThanOrEqual(MAX_PAGE_BYTES + 1024);
      const body = JSON.parse(result.body);
      pages.push(body.certificates.length);
      seen.push(...body.certificates.map((c: { arn: string }) => c.arn));
      nextToken = body.nextToken;
    } while (nextToken);
    expect(pages.length).toBeGreaterThan(1);
    expect(seen).toEqual(ordered(records));
  });
});
