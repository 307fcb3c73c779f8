/**
 * Viewer CA migrations driven through the API: POST /viewer-migrations starts the real viewer migration
 * workflow on the local durable runner (real timers) against the stand-ins (CloudFront trust stores that load
 * S3 versions and validate them asynchronously, Private CA with real CA certificates) and dynalite; GET
 * /viewer-migrations and /{id} read what it records, with signed fetches of the table as deployed; POST
 * /viewer-migrations/{id}/approve and /rollback deliver the operator's decision to its approval with the
 * local callback sender, and its history names the IAM principal who took it.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ViewerMigrationStore } from "../../../functions/adapters/viewer-migration-store.ts";
import type { ViewerMigrationRoutesDeps } from "../../../functions/api/viewer-migrations.ts";
import {
  type ViewerTrustDomainInput,
  ViewerTrustDomainSchema,
} from "../../../functions/config/viewer-settings.ts";
import { initialViewerState } from "../../../functions/core/viewer-migration.ts";
import type { ExecutionStatus, WorkflowStarter } from "../../../functions/dispatch/start-rotation.ts";
import { approveViewerMigrationHandler } from "../../../functions/handlers/api/approve-viewer-migration.ts";
import { getViewerMigrationHandler } from "../../../functions/handlers/api/get-viewer-migration.ts";
import { listViewerMigrationsHandler } from "../../../functions/handlers/api/list-viewer-migrations.ts";
import { rollbackViewerMigrationHandler } from "../../../functions/handlers/api/rollback-viewer-migration.ts";
import { startViewerMigrationHandler } from "../../../functions/handlers/api/start-viewer-migration.ts";
import { viewerControlDepsFrom } from "../../../functions/wiring/api-viewer-migrations.ts";
import {
  viewerMigrationsApiConfig,
  viewerStartDepsFrom,
} from "../../../functions/wiring/api-viewer-start.ts";
import { viewerMigrationDeps } from "../../../functions/wiring/viewer-migration.ts";
import {
  createViewerMigrationWorkflow,
  type ViewerMigrationInput,
} from "../../../functions/workflow/viewer-migration.ts";
import { localCallbackSender, localWorkflowStarter } from "../../../standins/durable.ts";
import {
  createRotationTable,
  DYNAMODB_STANDIN_CREDENTIALS,
  dynamoDbClient,
  startDynamoDb,
} from "../../../standins/dynamodb.ts";
import { startStandins } from "../../../standins/index.ts";
import { modelCheckedCallbackSender } from "../../../standins/lambda.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../../standins/pki.ts";
import { type ApiEventOptions, apiEvent, invoke, PRINCIPAL, ROLE_SESSION } from "../../support/api-events.ts";
import { useDurableRunner } from "../../support/durable.ts";
import { createTrustStore } from "../../support/viewer-trust-stores.ts";

useDurableRunner({ skipTime: false });

const BUCKET = "mtls-rotator-trust";
const TABLE = "mtls-rotator";
const REGION = "us-east-2";
const quiet = { log: () => undefined };

let caA: CertificateAuthority;
let caB: CertificateAuthority;
beforeAll(async () => {
  const [rootA, rootB] = await Promise.all([
    createRootCa({ name: "CN=Partner Viewers Root A" }),
    createRootCa({ name: "CN=Partner Viewers Root B" }),
  ]);
  [caA, caB] = await Promise.all([
    createSubordinateCa(rootA, { name: "CN=Partner Viewers CA A" }),
    createSubordinateCa(rootB, { name: "CN=Partner Viewers CA B" }),
  ]);
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * One trust store made by "infrastructure" from CA A's bundle, the domain `partners` (A -> B, approval
 * before the announcement), the workflow on the local runner, and the routes as their wiring builds them
 * from what infra links (RotationTable, ViewerSettings, ViewerMigrationWorkflowStarter).
 */
async function apiOverDomain(overrides: Partial<ViewerTrustDomainInput> = {}) {
  const s = await startStandins({ cloudfrontTrustStoreDelayMs: 100 });
  const dynamo = await startDynamoDb();
  closers.push(
    () => s.close(),
    () => dynamo.close(),
  );
  const clients = s.clients({ maxAttempts: 1 });
  s.s3.createBucket(BUCKET, { versioned: true });
  const topicArn = s.sns.createTopic("mtls-rotator");
  const table = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(table, TABLE);
  const arnA = s.privateCa.addAuthority(caA);
  const arnB = s.privateCa.addAuthority(caB);
  const { id: trustStoreId } = await createTrustStore(
    clients,
    BUCKET,
    "partners",
    caA.certificatePem + caA.chainPem,
  );
  const domain = ViewerTrustDomainSchema.parse({
    name: "partners",
    authorities: { current: arnA, next: arnB },
    trustStoreIds: [trustStoreId],
    maxViewerCertificateLifetimeDays: 30,
    retirementGraceSeconds: 3600,
    proofTimeoutSeconds: 5,
    proofIntervalSeconds: 1,
    approval: "before-announce",
    approvalTimeoutSeconds: 120,
    ...overrides,
  });
  const workflowDeps = viewerMigrationDeps({
    domains: [domain],
    clients,
    bucket: BUCKET,
    bucketRegion: "us-east-1",
    store: new ViewerMigrationStore(table, { tableName: TABLE }),
    topicArn,
    settings: { credentialSecretPrefix: "mtls-rotator/credentials/" },
    forwardedHeaders: () => {
      throw new Error("no passthrough origin here");
    },
    trustStorePolling: { pollIntervalMs: 25, activationTimeoutMs: 10_000 },
  });
  const starter = localWorkflowStarter(
    () =>
      new LocalDurableTestRunner({ handlerFunction: createViewerMigrationWorkflow(workflow, workflowDeps) }),
  );
  // What infra links to the routes (infra/api.ts), read by the routes' own wiring.
  const sources = {
    resource: {
      RotationTable: { name: TABLE },
      ViewerSettings: { domains: [domain] },
      ViewerMigrationWorkflowStarter: { name: "mtls-rotator-test-ViewerMigrationWorkflow", qualifier: "1" },
    },
    env: { AWS_REGION: REGION, MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint },
  };
  const tableReads = { credentials: DYNAMODB_STANDIN_CREDENTIALS };
  const config = viewerMigrationsApiConfig(sources);
  // Lambda's word on executions by name (ListDurableExecutionsByFunction); none known unless a test says.
  const executions = new Map<string, ExecutionStatus>();
  const start: Pick<ViewerMigrationRoutesDeps, "domains" | "reads" | "starter" | "now"> = {
    ...viewerStartDepsFrom(config, {
      ...tableReads,
      starter: {
        start: (name, payload) =>
          (starter as unknown as WorkflowStarter<ViewerMigrationInput>).start(name, payload),
        status: async (name) => executions.get(name),
      },
    }),
    // Requests of one minute: dry runs are named after the minute they were asked in.
    now: () => new Date("2026-12-05T07:00:30Z"),
  };
  const control = viewerControlDepsFrom(config, {
    ...tableReads,
    callbacks: modelCheckedCallbackSender(localCallbackSender()),
  });
  const call = (handler: Parameters<typeof invoke>[0], route: string, options: ApiEventOptions = {}) =>
    invoke(handler, apiEvent(route, options));
  return {
    s,
    trustStoreId,
    arnA,
    arnB,
    starter,
    executions,
    store: new ViewerMigrationStore(table, { tableName: TABLE }),
    reads: control.reads,
    start: (body: unknown, options: ApiEventOptions = {}) =>
      call(
        startViewerMigrationHandler(async () => start, quiet),
        "POST /viewer-migrations",
        {
          ...options,
          body,
        },
      ),
    list: (query?: Record<string, string>) =>
      call(
        listViewerMigrationsHandler(async () => control, quiet),
        "GET /viewer-migrations",
        {
          ...(query ? { query } : {}),
        },
      ),
    get: (id: string, query?: Record<string, string>) =>
      call(
        getViewerMigrationHandler(async () => control, quiet),
        "GET /viewer-migrations/{id}",
        {
          params: { id },
          ...(query ? { query } : {}),
        },
      ),
    approve: (id: string, options: ApiEventOptions = {}) =>
      call(
        approveViewerMigrationHandler(async () => control, quiet),
        "POST /viewer-migrations/{id}/approve",
        {
          ...options,
          params: { id },
        },
      ),
    rollback: (id: string, options: ApiEventOptions = {}) =>
      call(
        rollbackViewerMigrationHandler(async () => control, quiet),
        "POST /viewer-migrations/{id}/rollback",
        { ...options, params: { id } },
      ),
  };
}

type Api = Awaited<ReturnType<typeof apiOverDomain>>;

/** Waits until the migration waits for approval (GET shows its control point). */
const approvalOpen = (api: Api, id: string) =>
  until(async () => ((await api.reads.get(id))?.control ? true : undefined), `${id} waits for approval`);

const ended = async (api: Api, id: string) => {
  await api.starter.execution(id)!.done;
  return (await api.get(id)).body;
};

describe("POST /viewer-migrations, a domain whose lock a dead migration holds", () => {
  const DEAD = "vmig-m-partners-deaddeaddead";

  it("is released when Lambda reports the holder's execution ended (FAILED), and the migration starts", async () => {
    const api = await apiOverDomain();
    await api.store.acquireLock("partners", DEAD);
    api.executions.set(DEAD, "FAILED");
    const started = await api.start({ domain: "partners", reason: "after the failure" });
    expect(started.status).toBe(202);
    const { migrationId } = started.body;
    expect(migrationId).not.toBe(DEAD);
    await approvalOpen(api, migrationId);
    // The new migration took the domain's lock (the dead holder's was released, not taken over by lease).
    expect(await api.reads.lockHolder("partners")).toBe(migrationId);
    await api.rollback(migrationId, { body: { reason: "test done" } });
    await ended(api, migrationId);
  });

  it("is kept while Lambda reports the holder RUNNING, or says nothing of it (409, nothing started)", async () => {
    const api = await apiOverDomain();
    await api.store.acquireLock("partners", DEAD);
    for (const status of ["RUNNING", undefined] as const) {
      if (status) api.executions.set(DEAD, status);
      else api.executions.delete(DEAD);
      const refused = await api.start({ domain: "partners", reason: "while it runs" });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toBe(
        `viewer migration ${DEAD} of viewer trust domain partners is running`,
      );
      expect(await api.reads.lockHolder("partners")).toBe(DEAD);
    }
    expect((await api.list()).body.migrations).toEqual([]);
  });
});

describe("POST /viewer-migrations", () => {
  it("refuses a domain the stage does not configure (naming the configured ones), bad bodies, and starts nothing", async () => {
    const api = await apiOverDomain();
    const unknown = await api.start({ domain: "vendors", reason: "new CA" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe(
      'no viewer trust domain "vendors" in this stage\'s settings; configured: partners',
    );
    for (const [body, field] of [
      [{ domain: "partners" }, "reason"],
      [{ domain: "partners", reason: "x", dryrun: true }, "dryrun"],
      [{ domain: "Partners!", reason: "x" }, "domain"],
      [{ domain: "partners", reason: "x", action: "rotate" }, "action"],
      [{ domain: "partners", reason: "x", dryRun: "yes" }, "dryRun"],
    ] as const) {
      const refused = await api.start(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.problems.map((p: { field: string }) => p.field)).toContain(field);
    }
    // PEM never goes into a record (its answers never hold any).
    const pem = await api.start({ domain: "partners", reason: "-----BEGIN CERTIFICATE----- MIIB" });
    expect(pem.status).toBe(400);
    expect(pem.body.error.problems).toEqual([{ field: "reason", message: "must not contain PEM material" }]);
    // Retiring needs a previous CA; nothing to retire here.
    const retire = await api.start({ domain: "partners", action: "retire", reason: "A is done" });
    expect(retire.status).toBe(409);
    expect(retire.body.error.message).toBe("viewer trust domain partners lists no previous CA to retire");
    expect(api.starter.executions()).toEqual([]);
    expect((await api.list()).body).toEqual({ migrations: [] });
  });

  it("dry-runs: the migration plans and ends, publishing nothing; its plan is read back without PEM", async () => {
    const api = await apiOverDomain();
    const started = await api.start({ domain: "partners", reason: "plan the move to B", dryRun: true });
    expect(started.status).toBe(202);
    const { migrationId } = started.body;
    expect(migrationId).toMatch(/^vdry-m-partners-[0-9a-f]{12}$/);
    expect(started.body).toEqual({
      migrationId,
      domain: "partners",
      action: "migrate",
      dryRun: true,
      started: true,
      see: {
        api: `GET /viewer-migrations/${migrationId}`,
        cli: `mtls-rotator viewer-migration ${migrationId}`,
      },
    });
    const answer = await ended(api, migrationId);
    expect(answer.state.status).toBe("dry-run");
    expect(answer.request).toMatchObject({
      domain: "partners",
      action: "migrate",
      dryRun: true,
      actor: PRINCIPAL,
    });
    const plan = answer.state.plan;
    expect(plan.authorities).toEqual({ kept: [api.arnA], added: [api.arnB], removed: [] });
    expect(plan.trustStoreWaves).toEqual([[api.trustStoreId]]);
    expect(plan.bundle.certificates.map((c: { subject: string }) => c.subject)).toEqual(
      expect.arrayContaining([
        expect.stringContaining("Partner Viewers CA A"),
        expect.stringContaining("Partner Viewers CA B"),
      ]),
    );
    expect(plan.retirement.afterAnnouncementSeconds).toBe(30 * 86_400 + 3600);
    expect(answer.history.map((e: { type: string }) => e.type)).toEqual(["viewer-planned", "viewer-ended"]);
    expect(JSON.stringify(answer)).not.toContain("-----BEGIN");
    // Nothing published: the trust store still loads infrastructure's own bundle.
    expect(api.s.cloudfront.trustStores.status(api.trustStoreId)).toBe("active");
    expect((await api.list()).body.migrations).toEqual([
      { migrationId, status: "dry-run", startedAt: answer.startedAt, updatedAt: answer.updatedAt },
    ]);
  });
});

describe("POST /viewer-migrations/{id}/rollback while no approval is open", () => {
  const ID = "vmig-m-partners-0123456789ab";
  const request = {
    migrationId: ID,
    domain: "partners",
    action: "migrate" as const,
    actor: "operator",
    reason: "CA A retires",
  };
  /** A migration recorded as `status` (publishing, proving): no execution behind it, no approval open. */
  const recorded = async (api: Api, status: "running" | "announced") => {
    const planned = { ...initialViewerState(ID), status };
    await api.store.record(
      request,
      planned,
      { type: "viewer-trust-failed", at: "2026-12-05T07:00:00.000Z", trustPoint: "x", reason: "y" },
      0,
    );
  };

  it("records the rollback for the next safe point (202 requested); a second request changes nothing", async () => {
    const api = await apiOverDomain();
    await recorded(api, "running");
    const first = await api.rollback(ID, { body: { reason: "refusals reported" }, principal: ROLE_SESSION });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ migrationId: ID, action: "rollback", kind: "requested" });
    const asked = await api.store.rollbackRequestOf(ID);
    expect(asked).toMatchObject({ reason: "refusals reported" });
    expect(asked!.actor).toContain("assumed-role");
    const second = await api.rollback(ID, { body: { reason: "again" } });
    expect(second.status).toBe(202);
    expect(second.body.kind).toBe("requested");
    expect(await api.store.rollbackRequestOf(ID)).toEqual(asked);
    // Approval has nothing to be delivered to: still refused.
    const approve = await api.approve(ID, { body: { reason: "ok" } });
    expect(approve.status).toBe(409);
  });

  it("is refused (409 with the status) once the migration has ended, and records nothing", async () => {
    const api = await apiOverDomain();
    await recorded(api, "announced");
    const late = await api.rollback(ID, { body: { reason: "too late" } });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe(`viewer migration ${ID} has already ended (announced)`);
    expect(await api.store.rollbackRequestOf(ID)).toBeUndefined();
  });
});

describe("a migration decided through the API", () => {
  it("waits for approval, converges a duplicate and refuses another start naming the holder, announces on approval by the principal, and converges afterwards", async () => {
    const api = await apiOverDomain();
    const started = await api.start(
      { domain: "partners", reason: "CA A retires in March" },
      { principal: ROLE_SESSION },
    );
    expect(started.status).toBe(202);
    const { migrationId } = started.body;
    expect(migrationId).toMatch(/^vmig-m-partners-[0-9a-f]{12}$/);
    await approvalOpen(api, migrationId);

    // The same request again (same domain, action and CAs) converges on the running migration.
    const again = await api.start({ domain: "partners", reason: "again" });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ migrationId, started: false });
    // Another request for the domain (here its dry run) is refused, naming the holder.
    const other = await api.start({ domain: "partners", reason: "a plan", dryRun: true });
    expect(other.status).toBe(409);
    expect(other.body.error.message).toBe(
      `viewer migration ${migrationId} of viewer trust domain partners is running`,
    );
    const waiting = (await api.get(migrationId)).body;
    expect(waiting.control).toEqual({ kind: "approval" });
    expect(waiting.state.status).toBe("running");
    expect(waiting.state.lastProof).toMatchObject({ type: "viewer-proved", ok: true });

    const approved = await api.approve(migrationId, { body: { reason: "partners confirmed" } });
    expect(approved.status).toBe(202);
    expect(approved.body).toEqual({ migrationId, action: "approve", kind: "approval" });

    const answer = await ended(api, migrationId);
    expect(answer.state.status).toBe("announced");
    expect(answer.state.announced).toMatchObject({ authorityArn: api.arnB, retiring: [api.arnA] });
    expect(Date.parse(answer.state.announced.retireAfter) - Date.parse(answer.state.announced.at)).toBe(
      (30 * 86_400 + 3600) * 1000,
    );
    expect(answer.control).toBeUndefined();
    const decision = answer.history.find((e: { type: string }) => e.type === "viewer-control");
    expect(decision).toMatchObject({ action: "approve", actor: PRINCIPAL, reason: "partners confirmed" });
    expect(answer.request.actor).toBe(ROLE_SESSION);
    // History a page at a time: the newest two, then the ones before.
    const newest = (await api.get(migrationId, { historyLimit: "2" })).body;
    expect(newest.history).toEqual(answer.history.slice(-2));
    const older = (await api.get(migrationId, { historyBefore: String(newest.historyStart) })).body;
    expect([...older.history, ...newest.history]).toEqual(answer.history);

    // Ended: nothing to decide any more.
    const late = await api.rollback(migrationId);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe(`viewer migration ${migrationId} has already ended (announced)`);
    // The same request again converges on the announced migration: no second execution.
    const converged = await api.start({ domain: "partners", reason: "CA A retires in March" });
    expect(converged.status).toBe(202);
    expect(converged.body).toMatchObject({ migrationId, started: false });
    expect(api.starter.executions().map((e) => e.name)).toEqual([migrationId]);
  });

  it("rolls back at the approval: the trust store gets its previous bundle back, nothing is announced", async () => {
    const api = await apiOverDomain();
    const { migrationId } = (await api.start({ domain: "partners", reason: "move to B" })).body;
    // Unknown: 404; a reason holding PEM: 400.
    const unknown = await api.approve("vmig-m-partners-000000000000");
    expect(unknown.status).toBe(404);
    const pem = await api.rollback(migrationId, { body: { reason: "-----BEGIN PRIVATE KEY-----" } });
    expect(pem.status).toBe(400);
    await approvalOpen(api, migrationId);
    const rollback = await api.rollback(migrationId, { body: { reason: "a partner is not ready" } });
    expect(rollback.status).toBe(202);
    expect(rollback.body).toEqual({ migrationId, action: "rollback", kind: "approval" });
    const answer = await ended(api, migrationId);
    expect(answer.state.status).toBe("rolled-back");
    expect(answer.state.reason).toBe("RollbackRequested");
    expect(answer.state.detail).toContain("a partner is not ready");
    expect(answer.state.announced).toBeUndefined();
    expect(answer.state.restored?.every((r: { ok: boolean }) => r.ok)).toBe(true);
    // A retry takes the next attempt's name (the rolled-back one keeps its own).
    const retry = await api.start({ domain: "partners", reason: "move to B, second try" });
    expect(retry.status).toBe(202);
    expect(retry.body.migrationId).toBe(`${migrationId}-2`);
  });
});

describe("GET /viewer-migrations", () => {
  it("pages newest first; a nextToken it did not hand out, or an unknown id, is refused", async () => {
    const api = await apiOverDomain({ approval: "none" });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { migrationId } = (await api.start({ domain: "partners", reason: "plan", dryRun: true })).body;
      ids.push(migrationId);
      await api.starter.execution(migrationId)!.done;
    }
    // Both dry runs of the same minute: the second took the next attempt's name.
    expect(ids[1]).toBe(`${ids[0]}-2`);
    const first = await api.list({ limit: "1" });
    expect(first.status).toBe(200);
    expect(first.body.migrations.map((m: { migrationId: string }) => m.migrationId)).toEqual([ids[1]]);
    const second = await api.list({ limit: "1", nextToken: first.body.nextToken });
    expect(second.body.migrations.map((m: { migrationId: string }) => m.migrationId)).toEqual([ids[0]]);
    for (const nextToken of ["bm90LWEtdG9rZW4", Buffer.from('{"pk":"ROT#x"}').toString("base64url")]) {
      const bad = await api.list({ nextToken });
      expect(bad.status).toBe(400);
      expect(bad.body.error.problems).toEqual([
        { field: "nextToken", message: "is not a nextToken this listing handed out" },
      ]);
    }
    expect((await api.get("vmig-m-partners-000000000000")).status).toBe(404);
    expect((await api.get("rot-not-a-viewer-migration")).status).toBe(400);
  });
});
