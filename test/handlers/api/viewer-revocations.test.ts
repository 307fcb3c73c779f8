/**
 * The viewer revocation routes end to end in process: the REAL handlers with the dependencies their deployed
 * wiring builds from linked resources (viewerRevocationWriteConfig / viewerRevocationListConfig at cold
 * start), writing the KeyValueStore stand-in and publishing to the SNS stand-in over loopback HTTP (every call
 * checked against AWS's models). What the edge then sees is read as the connection function reads it (the
 * stand-in's edge reader).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NO_REVOCATION_STORE } from "../../../functions/api/viewer-revocations.ts";
import { getViewerRevocationHandler } from "../../../functions/handlers/api/get-viewer-revocation.ts";
import { reinstateViewerHandler } from "../../../functions/handlers/api/reinstate-viewer.ts";
import { revokeViewerHandler } from "../../../functions/handlers/api/revoke-viewer.ts";
import {
  viewerRevocationWriteConfig,
  viewerRevocationWriteDepsFrom,
} from "../../../functions/wiring/api-viewer-revocation-writes.ts";
import {
  viewerRevocationListConfig,
  viewerRevocationReadDepsFrom,
} from "../../../functions/wiring/api-viewer-revocations.ts";
import type { LogFn } from "../../../functions/wiring/observability.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../../standins/index.ts";
import { apiEvent, invoke, PRINCIPAL, ROLE_SESSION } from "../../support/api-events.ts";

const NOW = new Date("2026-12-04T12:00:00.000Z");
const LATER = new Date("2026-12-05T08:30:00.000Z");
const quiet = { log: () => undefined };

let standins: Standins;
let topicArn: string;

beforeAll(async () => {
  standins = await startStandins();
  topicArn = standins.sns.createTopic("mtls-rotator-revocations");
});

afterAll(async () => {
  await standins?.close();
});

beforeEach(() => {
  standins.server.faults.clear();
});

/** The three routes over one store (or none), built as each route's cold start builds them. */
function routes(options: { store?: string; now?: Date } = {}) {
  const resource = {
    NotificationTopic: { arn: topicArn },
    ViewerRevocationSettings: options.store ? { storeArn: options.store } : {},
  };
  const sources = {
    resource,
    env: { AWS_REGION: "us-east-2", MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint },
  };
  const lines: Array<{ level: string; message: string; data?: Record<string, unknown> }> = [];
  const log: LogFn = (level, message, data) => void lines.push({ level, message, data });
  const clients = {
    credentials: async () => STANDIN_CREDENTIALS,
    now: () => options.now ?? NOW,
    sns: standins.clients({ maxAttempts: 1 }).sns,
  };
  const writes = { ...viewerRevocationWriteDepsFrom(viewerRevocationWriteConfig(sources), clients), log };
  const reads = viewerRevocationReadDepsFrom(viewerRevocationListConfig(sources), clients);
  return {
    lines,
    revoke: (body: unknown, principal = PRINCIPAL) =>
      invoke(
        revokeViewerHandler(async () => writes, quiet),
        apiEvent("POST /viewer-revocations", { body, principal }),
      ),
    get: (serial: string) =>
      invoke(
        getViewerRevocationHandler(async () => reads, quiet),
        apiEvent("GET /viewer-revocations/{serial}", { params: { serial } }),
      ),
    reinstate: (serial: string, query?: Record<string, string>, principal = ROLE_SESSION) =>
      invoke(
        reinstateViewerHandler(async () => writes, quiet),
        apiEvent("DELETE /viewer-revocations/{serial}", {
          params: { serial },
          ...(query ? { query } : {}),
          principal,
        }),
      ),
  };
}

const kvsCalls = () => standins.server.calls.filter((c) => c.service === "cloudfront-keyvaluestore").length;
const published = () => standins.sns.messages(topicArn);

describe("POST /viewer-revocations", () => {
  it("puts the serial, in its normal form, on the list with who, when and why, and announces it once", async () => {
    const store = standins.keyValueStores.createStore("revoke");
    const api = routes({ store });
    const before = published().length;
    const revocation = { reason: "laptop stolen", revokedAt: NOW.toISOString(), revokedBy: PRINCIPAL };

    const answer = await api.revoke({ serial: "00:4A:3F:5C", reason: "laptop stolen" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ serial: "4a3f5c", alreadyRevoked: false, revocation, notified: true });
    // The edge refuses it: the key the connection function looks up, the record as the list keeps it.
    expect(standins.keyValueStores.keys(store)).toEqual(["4a3f5c"]);
    const edge = standins.keyValueStores.edgeReader(store);
    expect(await edge.exists("4a3f5c")).toBe(true);
    expect(JSON.parse(await edge.get("4a3f5c"))).toEqual(revocation);

    const notices = published().slice(before);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      subject: "[mtls-rotator] viewer certificate revoked: serial 4a3f5c",
      attributes: { event: "viewer-certificate-revoked", severity: "warning", certificateArn: store },
    });
    expect(JSON.parse(notices[0]!.message)).toMatchObject({
      serial: "4a3f5c",
      storeArn: store,
      actor: PRINCIPAL,
      reason: "laptop stolen",
      at: NOW.toISOString(),
    });

    // Again, spelled otherwise, by someone else: nothing changes, the earlier record is answered, no notice.
    const etag = standins.keyValueStores.etag(store);
    const again = await api.revoke({ serial: "4a3f5c", reason: "also stolen" }, ROLE_SESSION);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ serial: "4a3f5c", alreadyRevoked: true, revocation, notified: false });
    expect(standins.keyValueStores.etag(store)).toBe(etag);
    expect(published().length - before).toBe(1);
  });

  it("refuses bad requests with 400 naming the field and the rule, before any call, changing nothing", async () => {
    const store = standins.keyValueStores.createStore("bad-requests");
    const api = routes({ store });
    const calls = kvsCalls();
    const notices = published().length;
    const cases: Array<[unknown, Array<{ field: string; message: string }>]> = [
      [
        { serial: "not-a-serial", reason: "x" },
        [
          {
            field: "serial",
            message: "a certificate serial number is hexadecimal, optionally with colons (e.g. 4a:3f:5c:92)",
          },
        ],
      ],
      [
        { serial: "1".repeat(41), reason: "x" },
        [{ field: "serial", message: "a certificate serial number has at most 20 octets (RFC 5280)" }],
      ],
      [
        { serial: "::", reason: "x" },
        [{ field: "serial", message: "a certificate serial number is required" }],
      ],
      [{ serial: "4a3f" }, [{ field: "reason", message: "is required" }]],
      [
        { serial: "4a3f", reason: "x".repeat(257) },
        [{ field: "reason", message: "must be at most 256 characters" }],
      ],
      [
        { serial: "4a3f", reason: "line\nbreak" },
        [{ field: "reason", message: expect.stringMatching(/^must not contain control characters/) }],
      ],
      [{ serial: "4a3f", reason: "x", force: true }, [{ field: "force", message: "unknown field" }]],
      [
        { serial: 4_783_964, reason: "x" },
        [{ field: "serial", message: expect.stringMatching(/^must be a certificate serial number/) }],
      ],
    ];
    for (const [body, problems] of cases) {
      const answer = await api.revoke(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe("ValidationError");
      expect(answer.body.error.problems, JSON.stringify(body)).toEqual(problems);
    }
    expect(kvsCalls()).toBe(calls);
    expect(published().length).toBe(notices);
    expect(standins.keyValueStores.keys(store)).toEqual([]);
  });

  it("keeps the revocation when the notice cannot be published, and says so (answer and log)", async () => {
    const store = standins.keyValueStores.createStore("sns-down");
    const api = routes({ store });
    standins.server.faults.inject({ service: "sns", operation: "Publish", kind: "server-error", times: 5 });
    const answer = await api.revoke({ serial: "beef", reason: "key leaked" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ serial: "beef", alreadyRevoked: false, notified: false });
    expect(standins.keyValueStores.keys(store)).toEqual(["beef"]);
    expect(api.lines).toEqual([
      {
        level: "ERROR",
        message: "viewer revocation notification not published",
        data: { event: "viewer-certificate-revoked", serial: "beef", error: expect.any(String) },
      },
    ]);
  });

  it("answers 500 revealing nothing when the store cannot be written, and announces nothing", async () => {
    const store = standins.keyValueStores.createStore("kvs-down");
    const api = routes({ store });
    const notices = published().length;
    standins.server.faults.inject({
      service: "cloudfront-keyvaluestore",
      operation: "PutKey",
      kind: "server-error",
    });
    const answer = await api.revoke({ serial: "beef", reason: "key leaked" });
    expect(answer.status).toBe(500);
    expect(answer.body.error).toEqual({
      code: "InternalError",
      message: "internal error; the request was logged",
    });
    expect(standins.keyValueStores.keys(store)).toEqual([]);
    expect(published().length).toBe(notices);
  });
});

describe("GET /viewer-revocations/{serial}", () => {
  it("answers whether a serial is revoked, by whom, when and why, however it is spelled", async () => {
    const store = standins.keyValueStores.createStore("read");
    const api = routes({ store });
    await api.revoke({ serial: "c0ffee", reason: "left the company" });
    const calls = standins.server.calls.length;
    for (const spelling of ["c0ffee", "C0:FF:EE", "00c0ffee"]) {
      const answer = await api.get(spelling);
      expect(answer.status, spelling).toBe(200);
      expect(answer.body).toEqual({
        serial: "c0ffee",
        revoked: true,
        revocation: { reason: "left the company", revokedAt: NOW.toISOString(), revokedBy: PRINCIPAL },
      });
    }
    expect(await api.get("0")).toMatchObject({ status: 200, body: { serial: "0", revoked: false } });
    expect((await api.get("0")).body).not.toHaveProperty("revocation");
    // Reads only.
    const operations = new Set(standins.server.calls.slice(calls).map((c) => c.operation));
    expect(operations).toEqual(new Set(["GetKey"]));
    const bad = await api.get("xyz");
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems).toEqual([
      {
        field: "serial",
        message: "a certificate serial number is hexadecimal, optionally with colons (e.g. 4a:3f:5c:92)",
      },
    ]);
  });
});

describe("DELETE /viewer-revocations/{serial}", () => {
  it("takes a serial off the list with the caller's reason, answers and announces the revocation taken back", async () => {
    const store = standins.keyValueStores.createStore("reinstate");
    await routes({ store }).revoke({ serial: "4a3f", reason: "laptop stolen" });
    const api = routes({ store, now: LATER });
    const before = published().length;
    const revocation = { reason: "laptop stolen", revokedAt: NOW.toISOString(), revokedBy: PRINCIPAL };

    const answer = await api.reinstate("4A:3F", { reason: "laptop found" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ serial: "4a3f", reinstated: true, revocation, notified: true });
    expect(standins.keyValueStores.keys(store)).toEqual([]);
    expect(await standins.keyValueStores.edgeReader(store).exists("4a3f")).toBe(false);
    const notices = published().slice(before);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      subject: "[mtls-rotator] viewer certificate reinstated: serial 4a3f",
      attributes: { event: "viewer-certificate-reinstated", severity: "warning", certificateArn: store },
    });
    expect(JSON.parse(notices[0]!.message)).toMatchObject({
      serial: "4a3f",
      actor: ROLE_SESSION,
      reason: "laptop found",
      at: LATER.toISOString(),
      revocation,
    });

    // Not on the list: nothing changes, nothing is announced.
    const etag = standins.keyValueStores.etag(store);
    const again = await api.reinstate("4a3f", { reason: "laptop found" });
    expect(again.body).toEqual({ serial: "4a3f", reinstated: false, notified: false });
    expect(standins.keyValueStores.etag(store)).toBe(etag);
    expect(published().length - before).toBe(1);
  });

  it("refuses a reinstatement without a reason, with a blank one or an unknown field, changing nothing", async () => {
    const store = standins.keyValueStores.createStore("reinstate-bad");
    const api = routes({ store });
    await api.revoke({ serial: "4a3f", reason: "laptop stolen" });
    const calls = kvsCalls();
    expect((await api.reinstate("4a3f")).body.error.problems).toEqual([
      { field: "reason", message: "is required" },
    ]);
    expect((await api.reinstate("4a3f", { reason: "  " })).body.error.problems).toEqual([
      { field: "reason", message: "must not be blank" },
    ]);
    expect((await api.reinstate("4a3f", { reason: "ok", force: "true" })).body.error.problems).toEqual([
      { field: "force", message: "unknown field" },
    ]);
    expect(kvsCalls()).toBe(calls);
    expect(standins.keyValueStores.keys(store)).toEqual(["4a3f"]);
  });
});

describe("a stage without a revocation store", () => {
  it("answers 409 on every route, naming the setting, and calls nothing", async () => {
    const api = routes();
    const calls = standins.server.calls.length;
    for (const answer of [
      await api.revoke({ serial: "4a3f", reason: "laptop stolen" }),
      await api.get("4a3f"),
      await api.reinstate("4a3f", { reason: "found" }),
    ]) {
      expect(answer.status).toBe(409);
      expect(answer.body.error).toEqual({ code: "Conflict", message: NO_REVOCATION_STORE });
    }
    expect(NO_REVOCATION_STORE).toMatch(/MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN/);
    expect(standins.server.calls.length).toBe(calls);
  });
});

describe("the wiring", () => {
  it("refuses a linked store ARN that AWS's endpoint rules refuse, at cold start", () => {
    const resource = { ViewerRevocationSettings: { storeArn: "arn:aws:cloudfront::1234:key-value-store/x" } };
    expect(() => viewerRevocationListConfig({ resource, env: { AWS_REGION: "us-east-2" } })).toThrow(
      /ViewerRevocationSettings\.storeArn must be a CloudFront KeyValueStore ARN/,
    );
  });

  it("derives the store's endpoint from its ARN when no local endpoint is set", () => {
    const storeArn = "arn:aws:cloudfront::111122223333:key-value-store/0f9c5e6a-1111-2222-3333-444455556666";
    expect(
      viewerRevocationListConfig({
        resource: { ViewerRevocationSettings: { storeArn } },
        env: { AWS_REGION: "us-east-2" },
      }),
    ).toEqual({
      region: "us-east-2",
      storeArn,
      storeEndpoint: "https://111122223333.cloudfront-kvs.global.api.aws",
    });
  });
});
