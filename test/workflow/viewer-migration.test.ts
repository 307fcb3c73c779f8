/**
 * The viewer CA migration workflow on the local durable runner (real timers, real replays) against the
 * stand-ins: CloudFront trust stores that load bundles from S3 versions and validate them asynchronously
 * (pending -> active | failed), the Private CA with real CA certificates, dynalite for the migration's
 * records, SNS and EventBridge. Passthrough origins are covered in test/workflow/viewer-passthrough.test.ts.
 */

import { X509Certificate } from "node:crypto";
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { UpdateTrustStoreCommand } from "@aws-sdk/client-cloudfront";
import { workflow } from "sst/aws/workflow";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  documentTableReads,
  documentTableWrites,
  toDocumentClient,
} from "../../functions/adapters/rotation-store.ts";
import { ViewerMigrationReads } from "../../functions/adapters/viewer-migration-reads.ts";
import { ViewerMigrationStore } from "../../functions/adapters/viewer-migration-store.ts";
import {
  type ViewerTrustDomainInput,
  ViewerTrustDomainSchema,
} from "../../functions/config/viewer-settings.ts";
import { splitPem } from "../../functions/core/pem.ts";
import type { ViewerMigrationEvent } from "../../functions/core/viewer-migration.ts";
import {
  VIEWER_TRUST_STORE_KEY_PREFIX,
  viewerMigrationDeps,
} from "../../functions/wiring/viewer-migration.ts";
import {
  createViewerMigrationWorkflow,
  type ViewerMigrationDeps,
  type ViewerMigrationInput,
  type ViewerMigrationOutcome,
} from "../../functions/workflow/viewer-migration.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../standins/pki.ts";
import { fiveDeepChain } from "../support/ca-bundles.ts";
import { useDurableRunner } from "../support/durable.ts";
import { createTrustStore } from "../support/viewer-trust-stores.ts";

useDurableRunner({ skipTime: false });

const BUCKET = "mtls-rotator-trust";
const TABLE = "mtls-rotator";
const DAY = 86_400_000;

let caA: CertificateAuthority;
let caB: CertificateAuthority;
let caC: CertificateAuthority;
beforeAll(async () => {
  const [rootA, rootB, rootC] = await Promise.all([
    createRootCa({ name: "CN=Partner Viewers Root A" }),
    createRootCa({ name: "CN=Partner Viewers Root B" }),
    createRootCa({ name: "CN=Partner Viewers Root C" }),
  ]);
  [caA, caB, caC] = await Promise.all([
    createSubordinateCa(rootA, { name: "CN=Partner Viewers CA A" }),
    createSubordinateCa(rootB, { name: "CN=Partner Viewers CA B" }),
    createSubordinateCa(rootC, { name: "CN=Partner Viewers CA C" }),
  ]);
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface World {
  s: Standins;
  store: ViewerMigrationStore;
  /** What the API's rollback route writes (a request for the next safe point). */
  requests: ViewerMigrationReads;
  arnA: string;
  arnB: string;
  arnC: string;
  trustStoreIds: string[];
  /** Where each trust store's bundle came from when infrastructure created it. */
  initialLocations: Record<string, { Bucket: string; Key: string; Region: string; Version: string }>;
  topicArn: string;
  deps(domain: ViewerTrustDomainInput, options?: { now?: () => Date }): ViewerMigrationDeps;
}

async function world(options: { trustStores?: number; next?: CertificateAuthority } = {}): Promise<World> {
  const s = await startStandins({ cloudfrontTrustStoreDelayMs: 150 });
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
  const store = new ViewerMigrationStore(table, { tableName: TABLE });
  const arnA = s.privateCa.addAuthority(caA);
  const arnB = s.privateCa.addAuthority(options.next ?? caB);
  const arnC = s.privateCa.addAuthority(caC);

  // Trust stores made by "infrastructure" from CA A's bundle, each under the key the migration writes.
  const trustStoreIds: string[] = [];
  const initialLocations: World["initialLocations"] = {};
  for (let i = 0; i < (options.trustStores ?? 2); i++) {
    const created = await createTrustStore(
      clients,
      BUCKET,
      `partners-${i}`,
      caA.certificatePem + caA.chainPem,
    );
    trustStoreIds.push(created.id);
    initialLocations[created.id] = created.location;
  }
  await until(() => trustStoreIds.every((id) => s.cloudfront.trustStores.status(id) === "active"));

  const doc = toDocumentClient(table);
  return {
    s,
    store,
    requests: new ViewerMigrationReads(documentTableReads(doc, TABLE), {
      writes: documentTableWrites(doc, TABLE),
    }),
    arnA,
    arnB,
    arnC,
    trustStoreIds,
    initialLocations,
    topicArn,
    deps: (domain, o = {}) =>
      viewerMigrationDeps({
        domains: [ViewerTrustDomainSchema.parse(domain)],
        clients,
        bucket: BUCKET,
        bucketRegion: "us-east-1",
        store,
        topicArn,
        settings: { credentialSecretPrefix: "mtls-rotator/credentials/" },
        forwardedHeaders: () => {
          throw new Error("no passthrough origin in these tests");
        },
        trustStorePolling: { pollIntervalMs: 25, activationTimeoutMs: 10_000 },
        ...(o.now ? { now: o.now } : {}),
      }),
  };
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function domainOf(w: World, overrides: Partial<ViewerTrustDomainInput> = {}): ViewerTrustDomainInput {
  return {
    name: "partners",
    authorities: { current: w.arnA, next: w.arnB, previous: [] },
    trustStoreIds: w.trustStoreIds,
    maxViewerCertificateLifetimeDays: 30,
    retirementGraceSeconds: 3600,
    proofTimeoutSeconds: 2,
    proofIntervalSeconds: 1,
    ...overrides,
  };
}

let counter = 0;
function start(
  deps: ViewerMigrationDeps,
  input: Partial<ViewerMigrationInput> = {},
  after?: (step: string) => void | Promise<void>,
) {
  const steps: string[] = [];
  const handler = createViewerMigrationWorkflow(workflow, {
    ...deps,
    faults: { before: (step) => void steps.push(step), ...(after ? { after } : {}) },
  });
  const runner = new LocalDurableTestRunner<ViewerMigrationOutcome>({ handlerFunction: handler });
  counter += 1;
  const migrationId = input.migrationId ?? `vm-test-${counter}`;
  const execution = runner.run({
    payload: {
      migrationId,
      domain: "partners",
      action: "migrate",
      actor: "test",
      reason: "CA A retires",
      ...input,
    },
  });
  execution.catch(() => undefined);
  return { runner, execution, steps, migrationId };
}

/** Subjects of the bundle a trust store validates viewers with now. */
function trusted(w: World, id: string): string[] {
  const pem = w.s.cloudfront.trustStores.effectiveBundle(id)?.pem ?? "";
  return splitPem(pem)
    .map((block) => new X509Certificate(block).subject.replaceAll("\n", ", "))
    .map((subject) => `CN=${subject.replace(/^CN=/, "")}`)
    .sort();
}

const subjectsOf = (...cas: CertificateAuthority[]) =>
  cas.flatMap((ca) => [ca.name, ...(ca.chainPem ? [chainRootName(ca)] : [])]);
const chainRootName = (ca: CertificateAuthority) =>
  ca.name === "CN=Partner Viewers CA A" ? "CN=Partner Viewers Root A" : "CN=Partner Viewers Root B";

function notifications(w: World): Array<{ event: string; body: Record<string, unknown> }> {
  return w.s.sns.messages(w.topicArn).map((m) => {
    const body = JSON.parse(m.message) as Record<string, unknown>;
    return { event: String(body.event), body };
  });
}

async function history(w: World, migrationId: string): Promise<ViewerMigrationEvent["type"][]> {
  return (await w.store.history(migrationId)).map((e) => e.type);
}

describe("migrate", () => {
  it("publishes old + new CA to every trust store in waves, proves them active, then announces viewer CA ready", async () => {
    const w = await world();
    const run = start(w.deps(domainOf(w)));
    const result = await run.execution;
    const outcome = result.getResult()!;

    expect(outcome.status).toBe("announced");
    for (const id of w.trustStoreIds) {
      expect(w.s.cloudfront.trustStores.status(id)).toBe("active");
      expect(trusted(w, id)).toEqual([
        "CN=Partner Viewers CA A",
        "CN=Partner Viewers CA B",
        "CN=Partner Viewers Root A",
        "CN=Partner Viewers Root B",
      ]);
      expect(w.s.cloudfront.trustStores.latestLocation(id).key).toBe(
        `${VIEWER_TRUST_STORE_KEY_PREFIX}/${id}.pem`,
      );
    }
    // The canary store is published (and active) in a wave of its own, before the rest.
    expect(run.steps.indexOf(`viewer:publish:${w.trustStoreIds[0]}`)).toBeLessThan(
      run.steps.indexOf("viewer:wave:1"),
    );
    expect(run.steps.indexOf("viewer:wave:1")).toBeLessThan(
      run.steps.indexOf(`viewer:publish:${w.trustStoreIds[1]}`),
    );
    // Step names are checkpoint keys of running executions: pinned.
    const [t0, t1] = w.trustStoreIds;
    expect(run.steps).toEqual([
      "viewer:lock",
      "viewer:plan",
      // Safe points: a rollback an operator asked for is read before each publish and after the proof.
      "viewer:rollback-check:wave:1",
      `viewer:publish:${t0}`,
      "viewer:wave:1",
      "viewer:rollback-check:wave:2",
      `viewer:publish:${t1}`,
      "viewer:wave:2",
      "viewer:prove:1",
      "viewer:rollback-check:proved",
      "viewer:announce:at",
      "viewer:announce:event",
      "viewer:announce",
      "viewer:end",
      "viewer:notify",
      "viewer:unlock",
    ]);
    expect(await history(w, run.migrationId)).toEqual([
      "viewer-planned",
      "viewer-trust-published",
      "viewer-trust-published",
      "viewer-proved",
      "viewer-announced",
      "viewer-ended",
    ]);

    // Announced: retirement is the longest viewer lifetime + grace after the announcement.
    const announced = (await w.store.history(run.migrationId)).find((e) => e.type === "viewer-announced")!;
    expect(
      announced.type === "viewer-announced" && Date.parse(announced.retireAfter) - Date.parse(announced.at),
    ).toBe(30 * DAY + 3600_000);
    expect(await w.store.retiringOf("partners")).toEqual([
      { authorityArn: w.arnA, retireAfter: outcome.retireAfter, migrationId: run.migrationId },
    ]);
    const ready = notifications(w).filter((n) => n.event === "viewer-ca-ready");
    expect(ready).toHaveLength(1);
    expect(ready[0]!.body).toMatchObject({
      domain: "partners",
      to: w.arnB,
      from: [w.arnA],
      retireAfter: outcome.retireAfter,
    });
    const events = w.s.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady");
    expect(events).toHaveLength(1);
    const detail = JSON.parse(events[0]!.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ domain: "partners", authorityArn: w.arnB, trustStores: w.trustStoreIds });
    expect(events[0]!.detail).not.toContain("BEGIN");
    // No PEM and no key anywhere in what was told.
    for (const n of notifications(w)) expect(JSON.stringify(n.body)).not.toMatch(/BEGIN|PRIVATE KEY/);
  });

  it("a dry run plans (bundle, waves, retirement date) and writes nothing", async () => {
    const w = await world();
    const etags = w.trustStoreIds.map((id) => w.s.cloudfront.trustStores.etag(id));
    const run = start(w.deps(domainOf(w, { canaryTrustStores: 1 })), { dryRun: true });
    const outcome = (await run.execution).getResult()!;
    expect(outcome.status).toBe("dry-run");
    expect(w.trustStoreIds.map((id) => w.s.cloudfront.trustStores.etag(id))).toEqual(etags);
    const record = await w.store.get(run.migrationId);
    expect(record?.state.plan?.trustStoreWaves).toEqual([[w.trustStoreIds[0]], [w.trustStoreIds[1]]]);
    expect(record?.state.plan?.bundle.certificates.map((c) => c.subject).sort()).toEqual(
      subjectsOf(caA, caB).sort(),
    );
    expect(record?.state.plan?.retirement.afterAnnouncementSeconds).toBe(30 * 86_400 + 3600);
    expect(notifications(w)).toEqual([]);
  });

  it("refuses a domain without a next CA, and an unknown domain, before anything is written", async () => {
    const w = await world();
    const etags = w.trustStoreIds.map((id) => w.s.cloudfront.trustStores.etag(id));
    const noNext = start(w.deps(domainOf(w, { authorities: { current: w.arnA, previous: [] } })));
    expect((await noNext.execution).getResult()).toMatchObject({ status: "refused", reason: "Refused" });
    expect((await w.store.get(noNext.migrationId))?.state.detail).toMatch(/authorities\.next/);
    const unknown = start(w.deps(domainOf(w)), { domain: "nobody" });
    expect((await unknown.execution).getResult()).toMatchObject({ status: "refused" });
    expect((await w.store.get(unknown.migrationId))?.state.detail).toMatch(
      /no viewer trust domain named "nobody"/,
    );
    expect(w.trustStoreIds.map((id) => w.s.cloudfront.trustStores.etag(id))).toEqual(etags);
  });

  it("a trust store that goes failed aborts: nothing announced, every store back on the previous bundle", async () => {
    // The next CA sits at the bottom of a five-deep chain: CloudFront allows four (the store ends `failed`).
    const deep = (await fiveDeepChain()).at(-1)!;
    const w = await world({ next: deep });
    const run = start(w.deps(domainOf(w)));
    const outcome = (await run.execution).getResult()!;

    expect(outcome).toMatchObject({ status: "failed", reason: "TrustStoreFailed" });
    const record = await w.store.get(run.migrationId);
    expect(record?.state.detail).toMatch(new RegExp(`trust store ${w.trustStoreIds[0]} failed`));
    expect(record?.state.restored?.every((r) => r.ok)).toBe(true);
    // The canary store failed and was restored; the second store was never given the new bundle.
    for (const id of w.trustStoreIds) {
      expect(w.s.cloudfront.trustStores.status(id)).toBe("active");
      expect(trusted(w, id)).toEqual(["CN=Partner Viewers CA A", "CN=Partner Viewers Root A"]);
    }
    expect(run.steps).not.toContain(`viewer:publish:${w.trustStoreIds[1]}`);
    expect(await history(w, run.migrationId)).toEqual([
      "viewer-planned",
      "viewer-trust-failed",
      "viewer-trust-restored",
      "viewer-ended",
    ]);
    expect(notifications(w).map((n) => n.event)).toEqual(["viewer-migration-failed"]);
    expect(w.s.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
    expect(await w.store.retiringOf("partners")).toEqual([]);
  });

  it("approval before the announcement: no answer within the window rolls every trust point back", async () => {
    const w = await world({ trustStores: 1 });
    const run = start(w.deps(domainOf(w, { approval: "before-announce", approvalTimeoutSeconds: 1 })));
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "rolled-back", reason: "RollbackRequested" });
    expect(trusted(w, w.trustStoreIds[0]!)).toEqual(["CN=Partner Viewers CA A", "CN=Partner Viewers Root A"]);
    expect(notifications(w).map((n) => n.event)).toEqual(["viewer-migration-failed"]);
  });

  it("approval before the announcement: an operator's approval announces", async () => {
    const w = await world({ trustStores: 1 });
    const run = start(w.deps(domainOf(w, { approval: "before-announce", approvalTimeoutSeconds: 60 })));
    const callback = await run.runner
      .getOperation("viewer:approval")
      .waitForData(WaitingOperationStatus.STARTED);
    await run.runner.getOperation("viewer:approval:open").waitForData(WaitingOperationStatus.COMPLETED);
    expect((await w.store.get(run.migrationId))?.control?.callbackId).toBeTruthy();
    await callback.sendCallbackSuccess(
      JSON.stringify({ action: "approve", actor: "alice", reason: "checked" }),
    );
    const outcome = (await run.execution).getResult()!;
    expect(outcome.status).toBe("announced");
    expect((await w.store.get(run.migrationId))?.control).toBeUndefined();
  });

  it("one migration per domain: a second while the first holds the lock is refused", async () => {
    const w = await world({ trustStores: 1 });
    await w.store.acquireLock("partners", "vm-holder");
    const run = start(w.deps(domainOf(w)));
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "refused", reason: "Locked" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(/vm-holder/);
    // The holder's lock is left alone.
    expect(await w.store.acquireLock("partners", "vm-other")).toEqual({
      acquired: false,
      heldBy: "vm-holder",
    });
  });
});

describe("what a review found (each failed before its fix)", () => {
  it("a rollback asked for after the approval, while it proves once more, is acted on before the announcement", async () => {
    const w = await world({ trustStores: 1 });
    let migrationId = "";
    const run = start(
      w.deps(domainOf(w, { approval: "before-announce", approvalTimeoutSeconds: 60 })),
      {},
      async (step) => {
        if (step === "viewer:reprove:1")
          await w.requests.requestRollback(migrationId, {
            actor: "bob",
            reason: "changed my mind",
            requestedAt: new Date().toISOString(),
          });
      },
    );
    migrationId = run.migrationId;
    const callback = await run.runner
      .getOperation("viewer:approval")
      .waitForData(WaitingOperationStatus.STARTED);
    await run.runner.getOperation("viewer:approval:open").waitForData(WaitingOperationStatus.COMPLETED);
    await callback.sendCallbackSuccess(JSON.stringify({ action: "approve", actor: "alice", reason: "ok" }));
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "rolled-back", reason: "RollbackRequested" });
    expect(trusted(w, w.trustStoreIds[0]!)).toEqual(["CN=Partner Viewers CA A", "CN=Partner Viewers Root A"]);
    expect(w.s.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
  });

  it("migrating again from settings that were not moved on after an announcement is refused, and writes nothing", async () => {
    const w = await world({ trustStores: 1 });
    const first = (await start(w.deps(domainOf(w))).execution).getResult()!;
    expect(first.status).toBe("announced");
    const etag = w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!);
    // Still current = A, next = B; a previous CA added makes it another run (another name).
    const again = start(
      w.deps(domainOf(w, { authorities: { current: w.arnA, next: w.arnB, previous: [w.arnC] } })),
    );
    expect((await again.execution).getResult()).toMatchObject({ status: "refused", reason: "Refused" });
    expect((await w.store.get(again.migrationId))?.state.detail).toMatch(
      /announced the move away from .* already: move the settings on/,
    );
    expect(w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!)).toBe(etag);
  });

  it("a trust store published by hand with a CA the domain does not name is refused by its count, untouched", async () => {
    const w = await world({ trustStores: 1 });
    // "Infrastructure" made one more store, by hand, trusting CA A and a partner's CA C.
    const { id: byHand } = await createTrustStore(
      w.s.clients({ maxAttempts: 1 }),
      BUCKET,
      "partners-by-hand",
      caA.certificatePem + caA.chainPem + caC.certificatePem,
    );
    await until(() => w.s.cloudfront.trustStores.status(byHand) === "active");
    const etag = w.s.cloudfront.trustStores.etag(byHand);
    const run = start(w.deps(domainOf(w, { trustStoreIds: [...w.trustStoreIds, byHand] })));
    expect((await run.execution).getResult()).toMatchObject({ status: "refused", reason: "Refused" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(
      new RegExp(
        `1 CA certificate\\(s\\) the domain's CAs do not account for from cloudfront-trust-store:${byHand} \\(CloudFront counts 3, the domain's CAs make 2\\)`,
      ),
    );
    expect(w.s.cloudfront.trustStores.etag(byHand)).toBe(etag);
    expect(w.s.server.count("cloudfront", "UpdateTrustStore")).toBe(0);
  });

  it("a restore works when a CA it puts back expired since the plan (only the bundle held before is built)", async () => {
    const w = await world({ trustStores: 1 });
    const id = w.trustStoreIds[0]!;
    // After the first proof attempt the clock is past CA A's expiry: the proof fails, and the restore puts A back.
    const expired = new Date(Date.parse(new X509Certificate(caA.certificatePem).validTo) + 86_400_000);
    let late = false;
    const now = () => (late ? expired : new Date());
    const run = start(
      w.deps(domainOf(w, { proofTimeoutSeconds: 1, proofIntervalSeconds: 1 }), { now }),
      {},
      async (step) => {
        if (step === "viewer:wave:1")
          // Another writer points the store back at its original bundle: the proof cannot pass.
          await w.s.clients({ maxAttempts: 1 }).cloudfront.send(
            new UpdateTrustStoreCommand({
              Id: id,
              IfMatch: w.s.cloudfront.trustStores.etag(id),
              CaCertificatesBundleSource: { CaCertificatesBundleS3Location: w.initialLocations[id]! },
            }),
          );
        if (step === "viewer:prove:1") late = true;
      },
    );
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "failed", reason: "ProofFailed" });
    const restored = (await w.store.get(run.migrationId))?.state.restored;
    expect(restored).toEqual([
      expect.objectContaining({ trustPoint: `cloudfront-trust-store:${id}`, ok: true }),
    ]);
  });

  it("a deploy that removes the domain while the run waits for approval changes nothing: the plan's copy rules", async () => {
    const w = await world({ trustStores: 1 });
    const deps = w.deps(domainOf(w, { approval: "before-announce", approvalTimeoutSeconds: 60 }));
    const domains = deps.domains as ViewerMigrationDeps["domains"][number][];
    const run = start({ ...deps, domains });
    const callback = await run.runner
      .getOperation("viewer:approval")
      .waitForData(WaitingOperationStatus.STARTED);
    await run.runner.getOperation("viewer:approval:open").waitForData(WaitingOperationStatus.COMPLETED);
    domains.splice(0); // the next invocation's settings: no such domain any more
    await callback.sendCallbackSuccess(JSON.stringify({ action: "approve", actor: "alice", reason: "ok" }));
    expect((await run.execution).getResult()?.status).toBe("announced");
    // Approved hours later: proved once more before the announcement.
    expect(run.steps).toContain("viewer:reprove:1");
  });

  it("an operator's rollback at the approval window restores the trust points (rolled-back)", async () => {
    const w = await world({ trustStores: 1 });
    const run = start(w.deps(domainOf(w, { approval: "before-announce", approvalTimeoutSeconds: 60 })));
    const callback = await run.runner
      .getOperation("viewer:approval")
      .waitForData(WaitingOperationStatus.STARTED);
    await run.runner.getOperation("viewer:approval:open").waitForData(WaitingOperationStatus.COMPLETED);
    await callback.sendCallbackSuccess(
      JSON.stringify({ action: "rollback", actor: "bob", reason: "partner not ready" }),
    );
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "rolled-back", reason: "RollbackRequested" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(
      /bob asked for a rollback: partner not ready/,
    );
    expect(trusted(w, w.trustStoreIds[0]!)).toEqual(["CN=Partner Viewers CA A", "CN=Partner Viewers Root A"]);
  });

  it("a migration never drops a CA the trust points hold that no retirement allows", async () => {
    const w = await world({ trustStores: 1 });
    // A + B published (B announced), settings then forget A without retiring it and name C as next.
    expect((await start(w.deps(domainOf(w))).execution).getResult()?.status).toBe("announced");
    const etag = w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!);
    const run = start(w.deps(domainOf(w, { authorities: { current: w.arnB, next: w.arnC, previous: [] } })));
    expect((await run.execution).getResult()).toMatchObject({ status: "refused", reason: "Refused" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(
      /would drop CA certificates no retirement allows: CN=Partner Viewers/,
    );
    expect(w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!)).toBe(etag);
  });

  it("a retired CA is never trusted again by a later migration", async () => {
    const w = await world({ trustStores: 1 });
    const migrated = (await start(w.deps(domainOf(w))).execution).getResult()!;
    const later = () => new Date(Date.parse(migrated.retireAfter!) + 1000);
    const after = domainOf(w, { authorities: { current: w.arnB, previous: [w.arnA] } });
    w.s.privateCa.disableAuthority(w.arnA);
    expect(
      (await start(w.deps(after, { now: later }), { action: "retire" }).execution).getResult()?.status,
    ).toBe("retired");
    const back = start(
      w.deps(domainOf(w, { authorities: { current: w.arnB, next: w.arnC, previous: [w.arnA] } }), {
        now: later,
      }),
    );
    expect((await back.execution).getResult()).toMatchObject({ status: "refused", reason: "Refused" });
    expect((await w.store.get(back.migrationId))?.state.detail).toMatch(/never trusted again/);
  });

  it("a publish step that crashes after its update is retried without a second UpdateTrustStore", async () => {
    const w = await world({ trustStores: 1 });
    const id = w.trustStoreIds[0]!;
    let crashed = false;
    const run = start(w.deps(domainOf(w)), {}, (step) => {
      if (step === `viewer:publish:${id}` && !crashed) {
        crashed = true;
        throw new Error("crash after the update, before the checkpoint");
      }
    });
    expect((await run.execution).getResult()?.status).toBe("announced");
    expect(crashed).toBe(true);
    expect(run.steps.filter((s) => s === `viewer:publish:${id}`)).toHaveLength(2);
    expect(w.s.server.count("cloudfront", "UpdateTrustStore")).toBe(1);
  });

  it("a trust store another writer changes after the publish is not proved: restored, failed", async () => {
    const w = await world({ trustStores: 1 });
    const id = w.trustStoreIds[0]!;
    const foreign = async (step: string) => {
      if (step !== "viewer:wave:1") return;
      // Someone points the store back at its original bundle right after our wave was recorded.
      await w.s.clients({ maxAttempts: 1 }).cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: id,
          IfMatch: w.s.cloudfront.trustStores.etag(id),
          CaCertificatesBundleSource: { CaCertificatesBundleS3Location: w.initialLocations[id]! },
        }),
      );
    };
    const run = start(w.deps(domainOf(w, { proofTimeoutSeconds: 1, proofIntervalSeconds: 1 })), {}, foreign);
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "failed", reason: "ProofFailed" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(/changed by another writer/);
    expect(w.s.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
  });
});

describe("a rollback asked for while the migration publishes or proves", () => {
  const ask = (w: World, migrationId: string) =>
    w.requests.requestRollback(migrationId, {
      actor: "arn:aws:sts::111122223333:assumed-role/operator/alice",
      reason: "partner reports refusals",
      requestedAt: new Date().toISOString(),
    });

  it("is acted on before the next wave: the first wave's store restored, the second never touched, nothing announced", async () => {
    const w = await world();
    const [first, second] = w.trustStoreIds as [string, string];
    const etag = w.s.cloudfront.trustStores.etag(second);
    let migrationId = "";
    const run = start(w.deps(domainOf(w)), {}, async (step) => {
      if (step === "viewer:wave:1") await ask(w, migrationId);
    });
    migrationId = run.migrationId;
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "rolled-back", reason: "RollbackRequested" });
    expect(run.steps).toContain("viewer:rollback-check:wave:2");
    expect(run.steps.some((step) => step.startsWith(`viewer:publish:${second}`))).toBe(false);
    expect(w.s.cloudfront.trustStores.etag(second)).toBe(etag);
    expect(trusted(w, first)).toEqual(["CN=Partner Viewers CA A", "CN=Partner Viewers Root A"]);
    const history = await w.store.history(migrationId);
    expect(history.find((e) => e.type === "viewer-control")).toMatchObject({
      action: "rollback",
      actor: "arn:aws:sts::111122223333:assumed-role/operator/alice",
      reason: "partner reports refusals",
    });
    expect((await w.store.get(migrationId))?.state.detail).toBe(
      "arn:aws:sts::111122223333:assumed-role/operator/alice asked for a rollback: partner reports refusals",
    );
    expect(w.s.eventbridge.events().filter((e) => e.detailType === "ViewerCaReady")).toEqual([]);
  });

  it("is acted on after the current proof attempt, long before the proof's deadline", async () => {
    const w = await world({ trustStores: 1 });
    const id = w.trustStoreIds[0]!;
    let migrationId = "";
    const foreign = async (step: string) => {
      if (step !== "viewer:wave:1") return;
      // Another writer points the store back at its original bundle: the proof can never pass.
      await w.s.clients({ maxAttempts: 1 }).cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: id,
          IfMatch: w.s.cloudfront.trustStores.etag(id),
          CaCertificatesBundleSource: { CaCertificatesBundleS3Location: w.initialLocations[id]! },
        }),
      );
    };
    const run = start(
      w.deps(domainOf(w, { proofTimeoutSeconds: 3600, proofIntervalSeconds: 1 })),
      {},
      async (step) => {
        await foreign(step);
        if (step === "viewer:prove:1") await ask(w, migrationId);
      },
    );
    migrationId = run.migrationId;
    const outcome = (await run.execution).getResult()!;
    expect(outcome).toMatchObject({ status: "rolled-back", reason: "RollbackRequested" });
    expect(run.steps).toContain("viewer:rollback-check:viewer:prove:1");
    expect(run.steps.filter((step) => /^viewer:prove:\d+$/.test(step))).toEqual(["viewer:prove:1"]);
  });
});

describe("retire", () => {
  it("is refused before the longest viewer certificate can have expired, and names the date", async () => {
    const w = await world({ trustStores: 1 });
    const migrated = (await start(w.deps(domainOf(w))).execution).getResult()!;
    expect(migrated.status).toBe("announced");
    // The operator moves the settings on: B is current, A previous.
    const after = domainOf(w, { authorities: { current: w.arnB, previous: [w.arnA] } });
    const etag = w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!);
    // CA A stopped issuing right after the announcement: the recorded time is the one that counts.
    w.s.privateCa.disableAuthority(w.arnA);
    const early = start(w.deps(after), { action: "retire" });
    expect((await early.execution).getResult()).toMatchObject({ status: "refused", reason: "TooEarly" });
    const detail = (await w.store.get(early.migrationId))?.state.detail;
    expect(detail).toMatch(/may retire after (\S+)$/);
    // Never earlier than the recorded time (a few ms later: when A was disabled, plus the same delay).
    const named = Date.parse(/may retire after (\S+)$/.exec(detail!)![1]!);
    expect(named).toBeGreaterThanOrEqual(Date.parse(migrated.retireAfter!));
    expect(named - Date.parse(migrated.retireAfter!)).toBeLessThan(60_000);
    expect(w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!)).toBe(etag);
  });

  it("is refused while the old CA is still ACTIVE (it may still issue viewer certificates), however late", async () => {
    const w = await world({ trustStores: 1 });
    const migrated = (await start(w.deps(domainOf(w))).execution).getResult()!;
    const after = domainOf(w, { authorities: { current: w.arnB, previous: [w.arnA] } });
    const etag = w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!);
    const years = () => new Date(Date.parse(migrated.retireAfter!) + 3650 * DAY);
    const run = start(w.deps(after, { now: years }), { action: "retire" });
    expect((await run.execution).getResult()).toMatchObject({ status: "refused", reason: "TooEarly" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(
      /still ACTIVE in AWS Private CA and may issue viewer certificates: disable it/,
    );
    expect(w.s.cloudfront.trustStores.etag(w.trustStoreIds[0]!)).toBe(etag);
    expect(trusted(w, w.trustStoreIds[0]!)).toContain("CN=Partner Viewers CA A");
  });

  it("after that time, removes the old CA from every trust store and proves the CA in service is still trusted", async () => {
    const w = await world();
    const migrated = (await start(w.deps(domainOf(w))).execution).getResult()!;
    const later = new Date(Date.parse(migrated.retireAfter!) + 1000);
    const after = domainOf(w, { authorities: { current: w.arnB, previous: [w.arnA] } });
    w.s.privateCa.disableAuthority(w.arnA);
    const run = start(w.deps(after, { now: () => later }), { action: "retire" });
    const outcome = (await run.execution).getResult()!;
    expect(outcome.status).toBe("retired");
    for (const id of w.trustStoreIds)
      expect(trusted(w, id)).toEqual(["CN=Partner Viewers CA B", "CN=Partner Viewers Root B"]);
    const retired = (await w.store.history(run.migrationId)).find((e) => e.type === "viewer-retired");
    expect(retired?.type === "viewer-retired" && retired.removed.map((c) => c.subject).sort()).toEqual([
      "CN=Partner Viewers CA A",
      "CN=Partner Viewers Root A",
    ]);
    expect(notifications(w).map((n) => n.event)).toEqual(["viewer-ca-ready", "viewer-ca-retired"]);
  });

  it("never removes a previous CA with no recorded migration away from it", async () => {
    const w = await world({ trustStores: 1 });
    const domain = domainOf(w, { authorities: { current: w.arnB, previous: [w.arnA] } });
    const run = start(w.deps(domain, { now: () => new Date(Date.now() + 3650 * DAY) }), { action: "retire" });
    expect((await run.execution).getResult()).toMatchObject({ status: "refused", reason: "TooEarly" });
    expect((await w.store.get(run.migrationId))?.state.detail).toMatch(
      /has no recorded migration away from it/,
    );
  });
});
