/**
 * Runs a viewer scenario (sandbox/viewer-scenario.ts): a whole viewer CA migration on this machine. The
 * viewer world (sandbox/viewer-world.ts) is built, viewers holding certificates from CA A reach every
 * distribution through the viewer edge (standins/viewer-edge.ts: real TLS handshakes; required/optional
 * validated against the trust store's bundle in effect, passthrough forwarded over origin mTLS to origins
 * that check it with the passthrough kit), and the real viewer migration workflow runs on the local durable
 * runner. Only once it announced "viewer CA ready" do viewers move to certificates from CA B (half at once,
 * the rest a second later). Traffic runs the whole time; every refusal is counted.
 */

import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { workflow } from "sst/aws/workflow";
import { splitPem } from "../functions/core/pem.ts";
import type { ViewerMigrationEvent } from "../functions/core/viewer-migration.ts";
import {
  createViewerMigrationWorkflow,
  type ViewerMigrationOutcome,
} from "../functions/workflow/viewer-migration.ts";
import { startLocalDurableEnvironment } from "../standins/durable.ts";
import { type Viewer, ViewerEdge, type ViewerEdgeSummary } from "../standins/viewer-edge.ts";
import type { ViewerScenario } from "./viewer-scenario.ts";
import { buildViewerWorld, VIEWER_BUCKET, type ViewerAuthority, type ViewerWorld } from "./viewer-world.ts";

export interface ViewerExpectationResult {
  expectation: string;
  passed: boolean;
  detail: string;
}

export interface ViewerSandboxReport {
  kind: "viewer";
  scenario: string;
  scenarioFile?: string;
  passed: boolean;
  startedAt: string;
  durationMs: number;
  migration: {
    migrationId: string;
    status: string;
    reason?: string;
    detail?: string;
    retireAfter?: string;
    history: Array<{ type: string; at: string }>;
  };
  viewers: {
    movedAt?: string;
    endOn: "authority" | "nextAuthority";
    edge: Omit<ViewerEdgeSummary, "viewers" | "distributions"> & {
      distributions: Array<{
        distributionId: string;
        sent: number;
        refused: number;
        reasons: Record<string, number>;
      }>;
    };
  };
  originSync: { runs: number; updates: number; failures: number };
  notifications: string[];
  viewerCaReadyEvents: number;
  expectations: ViewerExpectationResult[];
}

export interface ViewerSandboxRun {
  report: ViewerSandboxReport;
  passed: boolean;
  exitCode: number;
  lines: string[];
}

export interface RunViewerSandboxOptions {
  scenario: ViewerScenario;
  scenarioFile?: string;
  write?: (line: string) => void;
  quiet?: boolean;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runViewerSandbox(options: RunViewerSandboxOptions): Promise<ViewerSandboxRun> {
  const { scenario } = options;
  const lines: string[] = [];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const say = (line: string, always = false) => {
    lines.push(line);
    if (always || !options.quiet) write(line);
  };
  const started = Date.now();
  say(`viewer scenario ${scenario.name}: ${scenario.description ?? ""}`.trim(), true);

  const stopDurable = await startLocalDurableEnvironment();
  let world: ViewerWorld | undefined;
  let edge: ViewerEdge | undefined;
  try {
    world = await buildViewerWorld({
      trustStores: scenario.trustStores,
      distributions: scenario.distributions,
      nextChainDepth: scenario.nextAuthority.chainDepth,
      log: (line) => say(line),
    });
    const w = world;

    // Viewers of CA A on every distribution, from the start.
    const viewersOf = async (authority: ViewerAuthority, tag: string): Promise<Viewer[]> => {
      const out: Viewer[] = [];
      for (const d of w.distributions) {
        for (let i = 1; i <= scenario.viewersPerDistribution; i++) {
          const name = `${d.name}-${tag}-${i}`;
          const credential = await w.viewer(authority, name);
          out.push({
            name,
            certificatePem: credential.certificatePem,
            chainPems: [authority.presentedChainPem],
            keyPem: credential.privateKeyPem,
            distributionId: d.id,
          });
        }
      }
      return out;
    };
    const onA = await viewersOf(w.a, "a");
    const onB = await viewersOf(w.b, "b");
    edge = new ViewerEdge({
      standins: w.standins,
      viewers: onA,
      serverCaPem: w.originServerCaPem,
      intervalMs: 50,
      maxDurationMs: 10 * 60_000,
    });
    await edge.start();
    say(`viewer edge: ${onA.length} viewers of CA A on ${w.distributions.length} distributions`);
    await sleep(1_000);
    if (options.signal?.aborted) throw new Error("interrupted");

    const liveEdge = edge;
    const moveViewers = async (): Promise<string> => {
      const at = new Date().toISOString();
      const half = Math.ceil(onB.length / 2);
      for (const [i, viewer] of onB.entries()) {
        if (i === half) await sleep(1_000);
        liveEdge.addViewer(viewer);
        liveEdge.removeViewer(onA[i]!.name);
      }
      say(`viewers: ${onB.length} moved to certificates from CA B`);
      return at;
    };
    let movedAt: string | undefined;
    if (scenario.moveViewersAt === "start") movedAt = await moveViewers();

    // The migration, as an operator starts it.
    const migrationId = `vm-${scenario.name}`;
    const domain = w.domain(scenario.policy);
    const runner = new LocalDurableTestRunner<ViewerMigrationOutcome>({
      handlerFunction: createViewerMigrationWorkflow(workflow, w.deps(domain)),
    });
    say(`migration ${migrationId}: ${domain.name}, CA A -> CA B`);
    const execution = await runner.run({
      payload: {
        migrationId,
        domain: domain.name,
        action: "migrate",
        actor: "sandbox",
        reason: scenario.name,
      },
    });
    const outcome = execution.getResult();
    const record = await w.store.get(migrationId);
    const history = await w.store.history(migrationId);
    for (const event of history) say(`migration ${migrationId}: ${describe(event)}`);
    const status = outcome?.status ?? record?.state.status ?? "unknown";
    say(
      `migration ${migrationId}: ${status}${record?.state.reason ? ` (${record.state.reason})` : ""}${record?.state.detail ? `: ${record.state.detail}` : ""}`,
      true,
    );

    // Viewers move to CA B only once "viewer CA ready" was announced: half now, the rest a second later.
    if (movedAt === undefined && status === "announced") movedAt = await moveViewers();
    await sleep(scenario.afterSeconds * 1000 + 500);
    const summary = await edge.stop();
    edge = undefined;

    const notifications = w.standins.sns
      .messages(w.topicArn)
      .map((m) => String((JSON.parse(m.message) as { event?: unknown }).event));
    const readyEvents = w.standins.eventbridge
      .events()
      .filter((e) => e.detailType === "ViewerCaReady").length;
    const passthroughBundle = await readObject(w, w.passthroughBundleKey);
    const expectations = evaluate(scenario, w, {
      status,
      reason: record?.state.reason,
      summary,
      endOn: movedAt ? "nextAuthority" : "authority",
      notifications,
      readyEvents,
      passthroughBundle,
    });
    for (const e of expectations) say(`${e.passed ? "PASS" : "FAIL"} ${e.expectation}: ${e.detail}`, true);
    const passed = expectations.every((e) => e.passed);
    say(
      `viewer edge: ${summary.sent} requests, ${summary.accepted} accepted, ${summary.refused} refused; ` +
        `${passed ? "every expectation held" : "an expectation failed"} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      true,
    );
    const report: ViewerSandboxReport = {
      kind: "viewer",
      scenario: scenario.name,
      ...(options.scenarioFile ? { scenarioFile: options.scenarioFile } : {}),
      passed,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      migration: {
        migrationId,
        status,
        ...(record?.state.reason ? { reason: record.state.reason } : {}),
        ...(record?.state.detail ? { detail: record.state.detail } : {}),
        ...(outcome?.retireAfter ? { retireAfter: outcome.retireAfter } : {}),
        history: history.map((e) => ({ type: e.type, at: e.at })),
      },
      viewers: {
        ...(movedAt ? { movedAt } : {}),
        endOn: movedAt ? "nextAuthority" : "authority",
        edge: {
          sent: summary.sent,
          accepted: summary.accepted,
          refused: summary.refused,
          distributions: summary.distributions.map((d) => ({
            distributionId: d.distributionId,
            sent: d.sent,
            refused: d.refused,
            reasons: d.reasons,
          })),
        },
      },
      originSync: w.syncs(),
      notifications,
      viewerCaReadyEvents: readyEvents,
      expectations,
    };
    return { report, passed, exitCode: passed ? 0 : 1, lines };
  } finally {
    await edge?.stop().catch(() => undefined);
    await world?.close();
    await stopDurable();
  }
}

function describe(event: ViewerMigrationEvent): string {
  switch (event.type) {
    case "viewer-planned":
      return `planned: ${event.plan.bundle.certificates.length} CA certificates, trust-store waves ${JSON.stringify(event.plan.trustStoreWaves)}${event.plan.passthrough ? `, passthrough origins ${event.plan.passthrough.origins.join(", ")}` : ""}; ${event.plan.retirement.note}`;
    case "viewer-trust-published":
      return `wave ${event.wave}: ${event.results.map((r) => `${r.trustPoint}${r.changed ? " updated" : " unchanged"}`).join(", ")}`;
    case "viewer-trust-failed":
      return `${event.trustPoint} failed: ${event.reason}`;
    case "viewer-trust-restored":
      return `restored: ${event.results.map((r) => `${r.trustPoint} ${r.ok ? "ok" : `FAILED (${r.error})`}`).join(", ")}`;
    case "viewer-proved":
      return `proof ${event.attempt}: ${event.ok ? "ok" : "not yet"} (stores ${event.trustStores.map((s) => `${s.trustStoreId} ${s.status}${s.trustsNewCa ? "" : " without the CA"}`).join(", ") || "none"}; origins ${event.origins.map((o) => `${o.origin} ${o.status ?? o.error}`).join(", ") || "none"})`;
    case "viewer-announced":
      return `viewer CA ready: ${event.authorityArn}; ${event.retiring.join(", ")} may retire after ${event.retireAfter}`;
    case "viewer-retired":
      return `retired ${event.removed.map((c) => c.subject).join(", ")}`;
    case "viewer-control":
      return `control: ${event.action}`;
    case "viewer-ended":
      return `ended ${event.status}`;
  }
}

async function readObject(w: ViewerWorld, key: string): Promise<string> {
  const out = await w.standins
    .clients({ maxAttempts: 1 })
    .s3.send(new GetObjectCommand({ Bucket: VIEWER_BUCKET, Key: key }));
  return (await out.Body?.transformToString("utf8")) ?? "";
}

/** Which of CA A and CA B (their issuing CAs) a bundle holds. */
function holds(bundlePem: string, w: ViewerWorld): Record<"authority" | "nextAuthority", boolean> {
  const blocks = new Set(splitPem(bundlePem).map((b) => b.replace(/\s/g, "")));
  const has = (pem: string) => blocks.has(pem.replace(/\s/g, ""));
  return { authority: has(w.a.issuing.certificatePem), nextAuthority: has(w.b.issuing.certificatePem) };
}

function evaluate(
  scenario: ViewerScenario,
  w: ViewerWorld,
  observed: {
    status: string;
    reason: string | undefined;
    summary: ViewerEdgeSummary;
    endOn: "authority" | "nextAuthority";
    notifications: string[];
    readyEvents: number;
    passthroughBundle: string;
  },
): ViewerExpectationResult[] {
  const e = scenario.expect;
  const results: ViewerExpectationResult[] = [];
  const check = (expectation: string, passed: boolean, detail: string) =>
    results.push({ expectation, passed, detail });

  check("migration", observed.status === e.migration, `expected ${e.migration}, got ${observed.status}`);
  if (e.reason)
    check("reason", observed.reason === e.reason, `expected ${e.reason}, got ${observed.reason ?? "none"}`);
  const refusals = observed.summary.distributions.flatMap((d) =>
    Object.entries(d.reasons).map(([why, n]) => `${n}x ${why} (${d.distributionId})`),
  );
  check(
    "maxRefusals",
    observed.summary.refused <= e.maxRefusals && observed.summary.sent > 0,
    `${observed.summary.refused} refused of ${observed.summary.sent} (at most ${e.maxRefusals})${refusals.length ? `: ${refusals.join("; ")}` : ""}`,
  );
  check(
    "viewersEndOn",
    observed.endOn === e.viewersEndOn,
    `expected ${e.viewersEndOn}, got ${observed.endOn}`,
  );
  const bundleCheck = (label: string, pem: string, wanted: { contains: string[]; excludes: string[] }) => {
    const held = holds(pem, w);
    const wrong = [
      ...wanted.contains.filter((a) => !held[a as keyof typeof held]).map((a) => `lacks ${a}`),
      ...wanted.excludes.filter((a) => held[a as keyof typeof held]).map((a) => `still holds ${a}`),
    ];
    check(label, wrong.length === 0, wrong.length === 0 ? `holds ${JSON.stringify(held)}` : wrong.join(", "));
  };
  if (e.trustStores) {
    for (const [name, id] of Object.entries(w.trustStoreIds)) {
      const status = w.standins.cloudfront.trustStores.status(id);
      check(`trustStore ${name} active`, status === "active", `status ${status}`);
      bundleCheck(
        `trustStore ${name}`,
        w.standins.cloudfront.trustStores.effectiveBundle(id)?.pem ?? "",
        e.trustStores,
      );
    }
  }
  if (e.passthroughBundle) bundleCheck("passthroughBundle", observed.passthroughBundle, e.passthroughBundle);
  if (e.notifications)
    check(
      "notifications",
      JSON.stringify(observed.notifications) === JSON.stringify(e.notifications),
      `expected ${JSON.stringify(e.notifications)}, got ${JSON.stringify(observed.notifications)}`,
    );
  if (e.viewerCaReadyEvent !== undefined)
    check(
      "viewerCaReadyEvent",
      observed.readyEvents > 0 === e.viewerCaReadyEvent,
      `${observed.readyEvents} ViewerCaReady event(s)`,
    );
  return results;
}
