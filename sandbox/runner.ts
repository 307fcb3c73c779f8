/**
 * Runs a scenario: whole rotations on this machine with the real workflow code on the local durable runner,
 * real CA signatures, real TLS origins (nginx when installed, Node TLS servers otherwise), the AWS stand-ins
 * and dynalite; a continuous edge client presenting each distribution's live certificate; then the report.
 *
 * The service's code runs as deployed: the workflow's dependencies come from the deployed wiring
 * (rotationDepsFrom over the linked resources infra/ declares), the scan and the ACM expiry event are the
 * Lambda handlers over scanDepsFrom, rotations start through the dispatcher (startRotation over
 * sstWorkflowStarter, answered by a local Lambda), rollback and approval go through controlRotation, and a
 * dry run is the API's: planRotation over the deps the API's wiring builds (rotationRoutesDepsFrom), read-only.
 * The sandbox adds only what AWS would be: stand-ins, a local durable runtime, origins and an edge.
 *
 * Everything listens on 127.0.0.1, stops by itself (at the end, on failure, or at the scenario's timeout) and
 * leaves no temp directory behind.
 */
import { createPrivateKey, randomUUID, X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { workflow } from "sst/aws/workflow";
import type { RotationStore } from "../functions/adapters/rotation-store.ts";
import { isCompleteCredential, issuanceSecretName } from "../functions/adapters/secrets.ts";
import { keyAlgorithmOf } from "../functions/core/certificate.ts";
import { fingerprintOf, splitPem, tryParseCertificate } from "../functions/core/pem.ts";
import {
  type ControlPointKind,
  type RotationEvent,
  type RotationState,
  TERMINAL_STATUSES,
} from "../functions/core/rotation.ts";
import { controlRotation, type RollbackRequester } from "../functions/dispatch/control-rotation.ts";
import { sstWorkflowStarter, startRotation } from "../functions/dispatch/start-rotation.ts";
import { acmExpiryHandler } from "../functions/handlers/acm-expiry-event.ts";
import { ScanIncompleteError, scanHandler } from "../functions/handlers/scan.ts";
import type { ScanDeps, ScanReport } from "../functions/tracking/scan-fleet.ts";
import { rotationRoutesDepsFrom, rotationsApiConfig } from "../functions/wiring/api-rotations.ts";
import { scanDepsFrom } from "../functions/wiring/scan.ts";
import { trackingConfig } from "../functions/wiring/tracking.ts";
import { trustReconcilerFrom } from "../functions/wiring/trust-reconciliation.ts";
import { rotationDepsFrom } from "../functions/wiring/workflow.ts";
import { type PlanDeps, planRotation } from "../functions/workflow/plan.ts";
import {
  createRotationWorkflow,
  credentialSecretName,
  type RotationDeps,
  type RotationStorePort,
} from "../functions/workflow/rotation-workflow.ts";
import {
  type LocalExecutionResult,
  localCallbackSender,
  localDurableStarter,
  localWorkflowSdk,
  startLocalDurableEnvironment,
} from "../standins/durable.ts";
import { dynamoDbClient } from "../standins/dynamodb.ts";
import { Edge } from "../standins/edge.ts";
import type { OriginKind } from "../standins/fleet-origin.ts";
import { modelCheckedCallbackSender } from "../standins/lambda.ts";
import { botocoreVersion, describeModelViolation, modelChecks } from "../standins/model/checks.ts";
import type { SecretsManagerStandin } from "../standins/secrets-manager.ts";
import { toolPath, toolSearchDescription } from "../standins/tools.ts";
import {
  acknowledgementsObserved,
  edgeView,
  lastPreflight,
  reachabilityReport,
  reachabilitySummary,
} from "./acknowledgements.ts";
import { type ArmedAwsFaults, armAwsFaults, awsFaultTally, describeAwsFault } from "./aws-faults.ts";
import {
  describeConcurrentTriggers,
  type FireTrigger,
  releaseTogether,
  TRIGGER_PATHS,
  type TriggerAnswer,
} from "./concurrent-triggers.ts";
import { buildSandboxFleet, countDynamoCalls, SANDBOX_RESOURCES, type SandboxFleet } from "./fleet.ts";
import {
  armForeignWrites,
  FOREIGN_WRITER,
  type ForeignWriters,
  foreignWriteTally,
} from "./foreign-writes.ts";
import { type MetricHistoryReport, seedMetricHistory } from "./metric-history.ts";
import { DeadlineError, findMoment } from "./moments.ts";
import { changeOrigin, describeOriginChange } from "./origin-changes.ts";
import { originTrafficLine, Printer } from "./printer.ts";
import {
  type ActionReport,
  type CredentialSecretReport,
  type CredentialVersionReport,
  type DryRunReport,
  evaluateExpectations,
  everySecond,
  type Observed,
  type PhaseTiming,
  REPORT_VERSION,
  type RotationReport,
  type SandboxReport,
} from "./report.ts";
import type { Scenario, ScenarioAction } from "./scenario.ts";

const RealDate = globalThis.Date;
// The edge: each origin's own loop sends it a request every EDGE_INTERVAL_MS while fewer than
// EDGE_MAX_IN_FLIGHT_PER_ORIGIN are open; a request unanswered after EDGE_REQUEST_TIMEOUT_MS is refused (timed out).
const EDGE_INTERVAL_MS = 50;
const EDGE_MAX_IN_FLIGHT_PER_ORIGIN = 4;
const EDGE_REQUEST_TIMEOUT_MS = 3_000;
const EDGE_SETTINGS = {
  intervalMs: EDGE_INTERVAL_MS,
  maxInFlightPerOrigin: EDGE_MAX_IN_FLIGHT_PER_ORIGIN,
  requestTimeoutMs: EDGE_REQUEST_TIMEOUT_MS,
} as const;
const POLL_MS = 100;
const OPERATOR = "sandbox-operator";

export interface RunSandboxOptions {
  scenario: Scenario;
  /** Where the scenario came from (for the report). */
  scenarioFile?: string;
  /** Overrides the scenario's `origins`. */
  origins?: "auto" | "nginx" | "node";
  /** Progress lines go here (default: stdout). */
  write?: (line: string) => void;
  quiet?: boolean;
  /**
   * Called with the running world once it is built ("ready") and just before it is torn down ("teardown"),
   * for tests that inspect it (e.g. to collect every private key for a leak check).
   */
  inspect?: (stage: "ready" | "teardown", fleet: SandboxFleet) => void | Promise<void>;
  /** Stops the run early (everything is still torn down and reported). */
  signal?: AbortSignal;
}

export interface SandboxRun {
  report: SandboxReport;
  passed: boolean;
  exitCode: number;
  lines: string[];
}

/** The origins to run, and a sentence saying why. */
export function chooseOrigins(wanted: "auto" | "nginx" | "node"): { kind: OriginKind; note: string } {
  const nginx = toolPath("nginx");
  if (wanted === "node") return { kind: "node", note: "Node TLS servers (asked for)" };
  if (nginx) return { kind: "nginx", note: `nginx (${nginx})` };
  if (wanted === "nginx")
    throw new Error(
      `nginx was asked for but ${toolSearchDescription("nginx")} (apt-get install nginx-light)`,
    );
  return { kind: "node", note: `Node TLS servers (nginx ${toolSearchDescription("nginx")})` };
}

class InjectedCrash extends Error {
  override name = "InjectedCrash";
  /** A final crash: the workflow's retry policy reads `retryable` and does not try the step again. */
  readonly retryable?: boolean;
  constructor(message: string, final: boolean) {
    super(message);
    if (final) this.retryable = false;
  }
}

interface TrackedRotation {
  rotationId: string;
  certificate: string;
  certificateArn: string;
  triggers: RotationReport["triggers"];
  /** A durable execution runs (or ran) for it; false while only known from a trigger that converged. */
  executing: boolean;
  result?: LocalExecutionResult;
  error?: unknown;
  ended: boolean;
}

/** Runs the scenario and returns its report (written by the caller). Never leaves anything running. */
export async function runSandbox(options: RunSandboxOptions): Promise<SandboxRun> {
  const { scenario } = options;
  const printer = new Printer({
    ...(options.write ? { write: options.write } : {}),
    quiet: options.quiet ?? false,
  });
  const timeoutMs = (scenario.timeoutSeconds ?? 90) * 1000;
  // The deadline moves to "now" when the run is interrupted: every wait below then gives up.
  const limit = { deadline: printer.startedAt + timeoutMs, interrupted: false };
  options.signal?.addEventListener("abort", () => {
    limit.deadline = 0;
    limit.interrupted = true;
  });
  const timings = { setupMs: 0, actionsMs: 0, drainMs: 0, teardownMs: 0 };
  const startedAtIso = new RealDate(printer.startedAt).toISOString();

  printer.always(
    `sandbox: scenario ${scenario.name}${scenario.description ? ` — ${scenario.description}` : ""}`,
  );
  let origins: { kind: OriginKind; note: string };
  try {
    origins = chooseOrigins(options.origins ?? scenario.origins ?? "auto");
  } catch (error) {
    // Nothing was started: a report that says why, and exit code 3.
    const message = (error as Error).message;
    printer.always(`sandbox failed: ${message}`);
    const report = emptyReport(scenario, options, { kind: "node", note: "not started" }, startedAtIso, []);
    report.expectations = [{ name: "sandbox ran", passed: false, expected: "no error", actual: message }];
    report.result = { passed: false, exitCode: 3, timedOut: false, error: message };
    report.timings.totalMs = printer.elapsedMs();
    return { report, passed: false, exitCode: 3, lines: printer.lines };
  }
  printer.always(`origins: ${origins.note}`);

  const teardown: Array<() => Promise<unknown>> = [];
  const timers = new Set<NodeJS.Timeout>();
  let fatal: Error | undefined;
  let timedOut = false;
  const actions: ActionReport[] = [];
  const rotations = new Map<string, TrackedRotation>();
  const dryRuns: DryRunReport[] = [];
  const scans: SandboxReport["scans"] = [];
  const crashes = (scenario.faults ?? [])
    .filter((f) => f.kind === "crashBetweenSteps")
    .map((f) => ({
      step: f.step,
      when: f.when ?? "after",
      times: f.times ?? 1,
      ...(f.final ? { final: true } : {}),
      delivered: 0,
    }));
  let awsFaults: ArmedAwsFaults | undefined;
  let foreignWrites: ForeignWriters | undefined;
  let metricHistory: MetricHistoryReport[] = [];
  let report: SandboxReport | undefined;
  let extra: ObservedExtra = { issuedCertificates: 0, bundles: [] };
  // The process's model-check tally before this run (tests run several scenarios in one process).
  const modelBefore = { checked: modelChecks.counts().checked, violations: modelChecks.all().length };
  let setupCalls: Record<string, number> = {};

  try {
    // ---- setup ------------------------------------------------------------------------------------------
    const tempDir = await mkdtemp(join(tmpdir(), "mtls-rotator-sandbox-"));
    teardown.push(() => rm(tempDir, { recursive: true, force: true }));
    const stopDurable = await startLocalDurableEnvironment();
    teardown.push(stopDurable);
    const world = await buildSandboxFleet({ scenario, originKind: origins.kind, tempDir, printer });
    teardown.push(() => world.close());
    const certificateByArn = new Map([...world.certificates.values()].map((c) => [c.arn, c.name]));

    // The workflow's dependencies, as the deployed wiring builds them, observed by the sandbox.
    // The table (the account's pacer, the trust announcements) through the stand-in's credentials.
    const base = rotationDepsFrom(
      world.config,
      world.clients,
      countDynamoCalls(dynamoDbClient(world.dynamo.endpoint), world.dynamoCalls),
    );
    const seen = new Map<string, Set<number>>();
    // Each rotation's open control point, and the ones it closed ("<kind>:<wave>"), for rollbacks timed by them.
    const controls: ControlTracker = new Map();
    const observedStore: RotationStorePort & Pick<RotationStore, "statusOf" | "getControl"> = {
      acquireLock: (arn, id) => world.store.acquireLock(arn, id),
      releaseLock: (arn, id) => world.store.releaseLock(arn, id),
      claimDistributions: (id, arn, ids, options) => world.store.claimDistributions(id, arn, ids, options),
      releaseDistributions: (id, ids) => world.store.releaseDistributions(id, ids),
      plannedTargetsPage: (id, options) => world.store.plannedTargetsPage(id, options),
      statusOf: (id) => world.store.statusOf(id),
      getControl: (id) => world.store.getControl(id),
      // Rollbacks an operator asked for between control points (POST /rollback answered "requested").
      rollbackRequestOf: (id) => world.store.rollbackRequestOf(id),
      setControl: async (id, control) => {
        await world.store.setControl(id, control);
        printer.control(id, control);
        const tracked = controls.get(id) ?? { closed: new Set<string>() };
        if (control) tracked.open = `${control.kind}:${control.wave}`;
        else if (tracked.open) {
          tracked.closed.add(tracked.open);
          delete tracked.open;
        }
        controls.set(id, tracked);
      },
      record: async (state, event, sequence) => {
        await world.store.record(state, event, sequence);
        const sequences = seen.get(state.rotationId) ?? new Set<number>();
        seen.set(state.rotationId, sequences);
        const retried = sequences.has(sequence);
        sequences.add(sequence);
        printer.event(state.rotationId, event, state, retried);
        await onEvent(event, state);
      },
    };
    const normalizeStep = (step: string) =>
      world.distributions.reduce((name, d) => name.replaceAll(d.id, d.name), step);
    const crash = (when: "before" | "after") => (raw: string) => {
      const step = normalizeStep(raw);
      const fault = crashes.find((c) => c.step === step && c.when === when && c.delivered < c.times);
      if (!fault) return;
      fault.delivered += 1;
      printer.line(
        `fault: crash ${when} step ${step} (${fault.delivered}/${fault.times}): ` +
          (fault.final
            ? "a final error, the runtime does not retry the step"
            : "the runtime retries the step"),
      );
      throw new InjectedCrash(`injected crash ${when} ${step}`, fault.final === true);
    };
    const deps: RotationDeps = {
      ...base,
      // The store the wiring built has no credentials for dynalite; the same table through the stand-in's.
      store: observedStore,
      notify: async (notification) => {
        const result = await base.notify(notification);
        printer.notification(notification);
        return result;
      },
      log: (message, data) => printer.line(`workflow: ${message}${data ? ` ${JSON.stringify(data)}` : ""}`),
      faults: {
        before: (step) => {
          foreignWrites?.stepStarting(step);
          return crash("before")(step);
        },
        after: (step) => {
          foreignWrites?.stepDone(step);
          return crash("after")(step);
        },
      },
    };

    // Behaviours that follow the rotation: late trust, distrust after the swap.
    let lateScheduled = false;
    async function onEvent(event: RotationEvent, state: RotationState): Promise<void> {
      if (event.type === "trust-published" && !lateScheduled) {
        lateScheduled = true;
        for (const origin of world.origins) {
          if (origin.spec.trustsNewIssuer !== "late" || !origin.follower) continue;
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              printer.line(
                `origin ${origin.path}: starts following the published bundle (late by ${origin.spec.trustDelaySeconds} s)`,
              );
              void origin.follower!.start();
            },
            (origin.spec.trustDelaySeconds ?? 0) * 1000,
          );
          timers.add(timer);
        }
      }
      if (event.type === "deployed") {
        const wave = state.waves.find((w) => w.index === event.wave);
        const ids = new Set(wave?.distributions.map((d) => d.distributionId) ?? []);
        for (const origin of world.origins) {
          if (!origin.spec.stopsTrustingAfterSwap || origin.distrustedAt || !ids.has(origin.distributionId))
            continue;
          origin.distrustedAt = RealDate.now();
          printer.line(
            `origin ${origin.path}: stops trusting the new issuer (its distribution now presents the new certificate)`,
          );
          await origin.follower?.stop();
          await origin.server!.trust(world.authority.trustPem);
        }
      }
    }

    // Rotations start through the dispatcher, on a local Lambda running the real workflow handler.
    const handler = createRotationWorkflow(workflow, deps);
    const starter = localDurableStarter(handler);
    const trackingStarter: typeof starter = {
      ...starter,
      async start(name, payload) {
        const result = await starter.start(name, payload);
        if (result.started) {
          const certificate = certificateByArn.get(payload.certificateArn) ?? payload.certificateArn;
          printer.nameRotation(name, certificate);
          const tracked: TrackedRotation = rotations.get(name) ?? {
            rotationId: name,
            certificate,
            certificateArn: payload.certificateArn,
            triggers: [],
            executing: true,
            ended: false,
          };
          tracked.executing = true;
          rotations.set(name, tracked);
          void starter.execution(name)!.done.then(({ result: r, error }) => {
            tracked.ended = true;
            if (r) tracked.result = r as LocalExecutionResult;
            if (error) tracked.error = error;
            const execution = tracked.result;
            printer.line(
              `${printer.who(name)}: durable execution ended ${execution?.getStatus() ?? "with an error"}` +
                `${execution ? ` after ${execution.getInvocations().length} invocation(s)` : ""}`,
            );
          });
        }
        return result;
      },
    };
    const sdk = localWorkflowSdk(trackingStarter);
    const dispatcher = sstWorkflowStarter(SANDBOX_RESOURCES.workflow, sdk);
    const dynamo = countDynamoCalls(dynamoDbClient(world.dynamo.endpoint), world.dynamoCalls);
    // Dry runs: what POST /rotations with dryRun answers, over the deps the API's wiring builds from the
    // same linked resources (settings, ACM, CloudFront, trust target names). planRotation only reads.
    const routeDeps = rotationRoutesDepsFrom(rotationsApiConfig(world.wiring), {
      aws: world.clients,
      dynamo,
      starter: dispatcher,
      callbacks: modelCheckedCallbackSender(localCallbackSender()),
    });
    const planDeps: PlanDeps = routeDeps;
    // Rollbacks asked for between control points are recorded as the API records them.
    const rollbackRequests = routeDeps.rollbackRequests!;
    const trackingWiring = trackingConfig(world.wiring);
    const scanClients = { ...world.clients, dynamo, privateCa: () => world.clients.privateCa };
    const scanLog = (message: string, data?: Record<string, unknown>) => {
      if (message === "trust bundle reconciled") {
        const retired = (data?.retiredFingerprints as string[] | undefined) ?? [];
        printer.line(
          `scan: trust bundle reconciled (kept ${JSON.stringify(data?.kept ?? [])}` +
            `${retired.length ? `, retired ${retired.length} CA(s): ${retired.map((f) => authorityName(world, f)).join(", ")}` : ""})`,
        );
      } else printer.line(`scan: ${message}${data ? ` ${JSON.stringify(data)}` : ""}`);
    };
    const scanDeps: ScanDeps = await scanDepsFrom(trackingWiring, {
      clients: scanClients,
      workflowSdk: sdk,
      writeMetrics: () => undefined,
      log: scanLog,
      // Trust reconciliation in process: what the deployed TrustReconciliation function runs.
      reconcile: await trustReconcilerFrom(trackingWiring, { clients: scanClients, log: scanLog }),
    });

    // Origins follow the published bundle (origin-sync), the edge starts sending requests.
    for (const origin of world.origins) {
      if (origin.follower && (origin.spec.trustsNewIssuer ?? "now") === "now") await origin.follower.start();
    }
    teardown.push(async () => {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(world.origins.map((o) => o.follower?.stop()));
    });
    // CloudWatch history from before the run (the gate's baseline reads it at the plan), then live traffic.
    metricHistory = seedMetricHistory(
      world.standins.cloudwatch,
      scenario,
      world.distributions.map((d) => ({
        name: d.name,
        id: d.id,
        presentingOrigins: d.origins.filter((o) => o.certificate !== undefined).length,
      })),
      printer,
      {
        now: new RealDate(),
        requestsPerMinutePerOrigin: 60_000 / EDGE_INTERVAL_MS,
        baselineWindowSeconds: world.config.settings.gate.baselineWindowSeconds,
      },
    );
    const liveEdge = new Edge({
      // Edge-only origins are reached by CloudFront's own path (./acknowledgements.ts).
      standins: edgeView(world),
      distributionIds: world.distributions.map((d) => d.id),
      serverCaPem: world.serverCaPem,
      ...EDGE_SETTINGS,
      // Per-second counts are by seconds of the run, as every other time in the report.
      epochMs: printer.startedAt,
      maxDurationMs: timeoutMs,
    });
    teardown.push(() => liveEdge.stop());
    await liveEdge.round();
    liveEdge.start();
    printer.line(
      `edge: real mTLS requests to every origin every ${EDGE_INTERVAL_MS} ms, presenting each distribution's live certificate ` +
        `(each origin on its own: at most ${EDGE_MAX_IN_FLIGHT_PER_ORIGIN} open, each given up after ${EDGE_REQUEST_TIMEOUT_MS / 1000} s)`,
    );

    // AWS faults, armed once the world is built (so they hit the service, not the setup).
    awsFaults = armAwsFaults(world.standins.server, scenario, printer, { exceptCallers: [FOREIGN_WRITER] });
    teardown.push(async () => awsFaults?.stop());
    foreignWrites = armForeignWrites(world.standins, scenario, world.distributions, printer);
    teardown.push(async () => foreignWrites?.stop());
    for (const c of crashes) printer.line(`fault armed: crash ${c.when} workflow step ${c.step} x${c.times}`);
    await options.inspect?.("ready", world);
    setupCalls = world.standins.server.callsByOperation();
    timings.setupMs = printer.elapsedMs();
    printer.line(`setup done in ${(timings.setupMs / 1000).toFixed(1)} s`);

    // ---- actions ------------------------------------------------------------------------------------------
    const ctx: ActionContext = {
      world,
      printer,
      limit,
      rotations,
      dryRuns,
      scans,
      dispatcher,
      planDeps,
      scanDeps,
      rollbackRequests,
      controls,
      latestRotation: (certificate) =>
        [...rotations.values()].filter((r) => r.certificate === certificate).at(-1),
      triggered: (rotationId, certificate, trigger) => {
        const tracked =
          rotations.get(rotationId) ??
          ({
            rotationId,
            certificate,
            certificateArn: world.certificates.get(certificate)?.arn ?? "",
            triggers: [],
            executing: false,
            ended: false,
          } satisfies TrackedRotation);
        tracked.triggers.push(trigger);
        rotations.set(rotationId, tracked);
      },
    };
    const actionsStarted = printer.elapsedMs();
    for (const [index, action] of scenario.actions.entries()) {
      if (RealDate.now() > limit.deadline) {
        timedOut = true;
        break;
      }
      const startMs = printer.elapsedMs();
      printer.line(`action ${index + 1}/${scenario.actions.length}: ${describeAction(action)}`);
      let outcome: ActionReport["outcome"] = "ok";
      let detail = describeAction(action);
      try {
        const result = await runAction(action, ctx);
        if (result) detail = result;
      } catch (error) {
        outcome = "failed";
        detail = (error as Error).message;
        if (error instanceof DeadlineError) timedOut = true;
        printer.always(`action ${index + 1} (${action.action}) failed: ${detail}`);
      }
      actions.push({
        index,
        action: action.action,
        detail,
        outcome,
        startMs,
        durationMs: printer.elapsedMs() - startMs,
      });
    }
    timings.actionsMs = printer.elapsedMs() - actionsStarted;

    // ---- drain: every rotation runs to its end ------------------------------------------------------------
    const drainStarted = printer.elapsedMs();
    if (!(await allRotationsEnded(rotations, limit))) {
      timedOut = true;
      printer.always(
        limit.interrupted
          ? "interrupted: stopping everything"
          : `timeout: rotations still running after ${scenario.timeoutSeconds ?? 90} s; stopping everything`,
      );
    }
    // Origins that follow the bundle pick up the last published one; one more round of edge traffic.
    await Promise.all(world.origins.map((o) => (o.follower?.following ? o.follower.syncNow() : undefined)));
    await liveEdge.round();
    await liveEdge.stop();
    timings.drainMs = printer.elapsedMs() - drainStarted;

    ({ report, extra } = await gatherReport({
      scenario,
      options,
      world,
      edge: liveEdge,
      rotations,
      dryRuns,
      actions,
      scans,
      crashes,
      awsFaults: awsFaults?.report() ?? [],
      foreignWrites: foreignWrites?.report() ?? [],
      metricHistory,
      printer,
      origins,
      timedOut,
      startedAtIso,
      setupCalls,
    }));
    await options.inspect?.("teardown", world);
  } catch (error) {
    fatal = error as Error;
    printer.always(`sandbox failed: ${fatal.message}`);
  } finally {
    const teardownStarted = printer.elapsedMs();
    for (const timer of timers) clearTimeout(timer);
    for (const step of teardown.reverse()) {
      await step().catch((error: unknown) => printer.line(`teardown: ${(error as Error).message}`));
    }
    timings.teardownMs = printer.elapsedMs() - teardownStarted;
  }

  if (!report) {
    report = emptyReport(scenario, options, origins, startedAtIso, actions);
    report.dryRuns = dryRuns;
  }
  report.timings = { totalMs: printer.elapsedMs(), ...timings };
  const modelViolations = modelChecks.all().slice(modelBefore.violations).map(describeModelViolation);
  report.modelChecks = {
    botocore: botocoreVersion(),
    checked: modelChecks.counts().checked - modelBefore.checked,
    violations: modelViolations.length,
    details: modelViolations,
  };
  const expectations = fatal
    ? [{ name: "sandbox ran", passed: false, expected: "no error", actual: fatal.message }]
    : evaluateExpectations(scenario.expect, observedFrom(report, extra, timedOut));
  report.expectations = expectations;
  const passed = !fatal && expectations.every((e) => e.passed);
  const exitCode = fatal ? 3 : passed ? 0 : 1;
  report.result = {
    passed,
    exitCode,
    timedOut,
    ...(limit.interrupted ? { interrupted: true } : {}),
    ...(fatal ? { error: fatal.message } : {}),
  };

  summarize(printer, report);
  return { report, passed, exitCode, lines: printer.lines };
}

// ---- actions --------------------------------------------------------------------------------------------

function stopped(limit: { interrupted: boolean }): string {
  return limit.interrupted ? "when the run was interrupted" : "at the scenario's timeout";
}

/** Per rotation: its open control point and the ones it closed, as "<kind>:<wave>" ("bake:0"). */
type ControlTracker = Map<string, { open?: string; closed: Set<string> }>;

interface ActionContext {
  world: SandboxFleet;
  printer: Printer;
  limit: { deadline: number; interrupted: boolean };
  rotations: Map<string, TrackedRotation>;
  dryRuns: DryRunReport[];
  scans: SandboxReport["scans"];
  dispatcher: ReturnType<typeof sstWorkflowStarter>;
  /** What the API's dry run reads with (rotationRoutesDepsFrom). */
  planDeps: PlanDeps;
  /** Where the API records a rollback asked for between control points. */
  rollbackRequests: RollbackRequester;
  controls: ControlTracker;
  scanDeps: ScanDeps;
  latestRotation(certificate: string): TrackedRotation | undefined;
  triggered(rotationId: string, certificate: string, trigger: RotationReport["triggers"][number]): void;
}

function describeAction(action: ScenarioAction): string {
  switch (action.action) {
    case "scan":
      return "scheduled scan";
    case "rotate":
      return `rotate ${action.certificate} (${action.reason ?? "Manual"})`;
    case "dryRun":
      return `dry run for ${action.certificate}`;
    case "rollback":
      return `roll back ${action.certificate ?? "the rotation"}${action.afterWave !== undefined ? ` after wave ${action.afterWave}` : ""}${action.when ? ` when ${action.when === "gate" ? "its gate waits" : action.when}` : ""}`;
    case "approve":
      return `approve ${action.certificate ?? "the rotation"}${action.wave !== undefined ? ` wave ${action.wave}` : ""}`;
    case "duplicateTriggers":
      return `duplicate triggers for ${action.certificate}: scan + ACM expiry event + manual start at once`;
    case "concurrentTriggers":
      return `${action.count} triggers for ${action.certificate} released together (via ${(action.via ?? TRIGGER_PATHS).join(", ")})`;
    case "wait":
      return action.for ? `wait for every rotation to end` : `wait ${action.seconds} s`;
    case "origin":
      return describeOriginChange(action);
  }
}

async function runAction(action: ScenarioAction, ctx: ActionContext): Promise<string | undefined> {
  const { world, printer } = ctx;
  switch (action.action) {
    case "scan":
      return describeScan(ctx, "scan", await runScan(ctx));
    case "dryRun":
      return dryRun(ctx, action.certificate);
    case "rotate": {
      const certificate = world.certificates.get(action.certificate)!;
      const at = printer.elapsedMs();
      const result = await startRotation(
        ctx.dispatcher,
        {
          certificateArn: certificate.arn,
          serial: certificate.serial,
          reason: action.reason ?? "Manual",
          actor: OPERATOR,
        },
        world.store,
      );
      ctx.triggered(result.rotationId, certificate.name, {
        source: "manual",
        actor: OPERATOR,
        started: result.started,
        atMs: at,
      });
      const text = `${certificate.name}: rotation ${result.rotationId} ${result.started ? "started" : "converged on the running one"}`;
      printer.line(text);
      return text;
    }
    case "rollback":
    case "approve": {
      if (action.action === "rollback" && (action.when === "deploying" || action.when === "gate"))
        return requestRollback(
          ctx,
          action.certificate ?? [...world.certificates.keys()][0]!,
          action.when,
          action.afterWave,
          action.reason,
        );
      const certificate = action.certificate ?? [...world.certificates.keys()][0]!;
      const wave = action.action === "rollback" ? action.afterWave : action.wave;
      const when = action.action === "rollback" ? action.when : "approval";
      const kind = when === "baking" ? "bake" : when === "approval" ? "approval" : undefined;
      return deliverControl(
        ctx,
        certificate,
        action.action,
        { wave, kind },
        action.action === "rollback" ? action.reason : undefined,
      );
    }
    case "duplicateTriggers": {
      const certificate = world.certificates.get(action.certificate)!;
      const at = printer.elapsedMs();
      const event = {
        version: "0",
        id: randomUUID(),
        "detail-type": "ACM Certificate Approaching Expiration",
        source: "aws.acm",
        account: "111122223333",
        time: new RealDate().toISOString(),
        region: "us-east-1",
        resources: [certificate.arn],
        detail: { DaysToExpiry: 10, CommonName: certificate.subject },
      };
      const [scan, acmEvent, manual] = await Promise.all([
        runScan(ctx),
        acmExpiryHandler({ deps: async () => ctx.scanDeps, log: () => undefined })(event).catch(
          (error: unknown) => (error instanceof ScanIncompleteError ? error.report : Promise.reject(error)),
        ),
        startRotation(
          ctx.dispatcher,
          { certificateArn: certificate.arn, serial: certificate.serial, reason: "Manual", actor: OPERATOR },
          world.store,
        ),
      ]);
      // The scan's own triggers were recorded by runScan; the event's here.
      for (const r of acmEvent?.rotations ?? [])
        if (r.certificateArn === certificate.arn)
          ctx.triggered(r.rotationId, certificate.name, {
            source: "acm-event",
            actor: "acm-expiry-event",
            started: r.started,
            atMs: at,
          });
      if (acmEvent) recordScan(ctx, "acm-event", acmEvent);
      ctx.triggered(manual.rotationId, certificate.name, {
        source: "manual",
        actor: OPERATOR,
        started: manual.started,
        atMs: at,
      });
      const ids = new Set([
        ...scan.rotations.filter((r) => r.certificateArn === certificate.arn).map((r) => r.rotationId),
        ...(acmEvent?.rotations
          .filter((r) => r.certificateArn === certificate.arn)
          .map((r) => r.rotationId) ?? []),
        manual.rotationId,
      ]);
      const started = [...ids].filter((id) => ctx.rotations.get(id)?.executing);
      const text =
        `3 triggers -> ${ids.size} rotation id(s) ${[...ids].join(", ")}; ` +
        `${started.length} execution(s) started (scan ${describeTrigger(scan, certificate.arn)}, ` +
        `event ${describeTrigger(acmEvent, certificate.arn)}, manual ${manual.started ? "started" : "converged"})`;
      printer.line(text);
      return text;
    }
    case "concurrentTriggers": {
      const result = await releaseTogether(
        action.count,
        action.via ?? TRIGGER_PATHS,
        fireTrigger(ctx, action.certificate),
      );
      const text = describeConcurrentTriggers(result);
      printer.line(text);
      if (result.triggers.some((t) => "error" in t)) throw new Error(text);
      return text;
    }
    case "wait": {
      if (action.for === "rotations") {
        if (!(await allRotationsEnded(ctx.rotations, ctx.limit)))
          throw new DeadlineError(`rotations were still running ${stopped(ctx.limit)}`);
        return "every rotation ended";
      }
      const ms = (action.seconds ?? 0) * 1000;
      if (RealDate.now() + ms > ctx.limit.deadline)
        throw new DeadlineError(`waiting ${action.seconds} s would pass the timeout`);
      await sleepUntil(ms, ctx.limit);
      return undefined;
    }
    case "origin":
      return changeOrigin(ctx, action);
  }
}

/**
 * A dry run as an operator gets it from the API (POST /rotations with dryRun: true): planRotation over the
 * API's deps, read-only (ACM GetCertificate, CloudFront listings). It starts no execution, takes no lock,
 * writes nothing to the store and notifies nobody; the plan is printed and kept in the report.
 */
async function dryRun(ctx: ActionContext, name: string): Promise<string> {
  const { world, printer } = ctx;
  const certificate = world.certificates.get(name)!;
  const at = printer.elapsedMs();
  const plan = await planRotation(ctx.planDeps, { certificateArn: certificate.arn });
  const entry: DryRunReport = {
    certificate: name,
    actor: OPERATOR,
    atMs: at,
    durationMs: printer.elapsedMs() - at,
    waves: plan.waves.map((w) => ({
      index: w.index,
      canary: w.canary,
      distributions: w.distributions.map((d) => printer.distribution(d.distributionId)),
    })),
    issuer: authorityRef(world, plan.issuer.authorityArn),
    plan,
  };
  ctx.dryRuns.push(entry);
  for (const line of describePlan(world, printer, entry)) printer.line(`dry run ${name}: ${line}`);
  return `${name}: ${planSummary(entry)}`;
}

/** "3 distribution(s) in 2 wave(s) (canary wave 0: shop; wave 1: blog, media), EC_prime256v1 key from ..." */
function planSummary(dry: DryRunReport): string {
  const count = dry.waves.reduce((n, w) => n + w.distributions.length, 0);
  const waves = dry.waves.map(
    (w) => `${w.canary ? "canary " : ""}wave ${w.index}: ${w.distributions.join(", ")}`,
  );
  const { typical, worstCase } = dry.plan.expectedDurationSeconds;
  return (
    `plan of ${count} distribution(s) in ${dry.waves.length} wave(s)${waves.length ? ` (${waves.join("; ")})` : ""}, ` +
    `new key ${dry.plan.replacementKey.message} from ${dry.issuer}; expected ${formatSeconds(typical)} ` +
    `(worst case ${formatSeconds(worstCase)}); read-only, no rotation started`
  );
}

/** The plan, one line per part, as an operator reads the API's answer. */
function describePlan(world: SandboxFleet, printer: Printer, dry: DryRunReport): string[] {
  const { plan } = dry;
  const authority = [world.authority, world.nextAuthority].find((a) => a?.arn === plan.issuer.authorityArn);
  const count = dry.waves.reduce((n, w) => n + w.distributions.length, 0);
  const lines = [
    `plan (read-only, as POST /rotations with dryRun answers it; no rotation started): ` +
      `${count} distribution(s) in ${plan.waves.length} wave(s)`,
    `  in service: serial ${plan.serial}, ${plan.subject.replaceAll("\n", ", ")}, expires ${plan.notAfter}`,
    `  replacement: ${plan.replacementKey.message}, issued by ${dry.issuer}` +
      `${authority ? ` (${authority.subject})` : ""} ${plan.issuer.authorityArn}`,
    `  trust bundle published first to: ${plan.trustTargets.join(", ") || "(no target)"}`,
  ];
  if (plan.waves.length === 0) lines.push("  waves: none (no distribution presents the certificate)");
  for (const wave of plan.waves)
    lines.push(
      `  ${wave.canary ? "canary " : ""}wave ${wave.index}: ${wave.distributions
        .map((d) => `${printer.distribution(d.distributionId)} (${d.originIds.join(", ")})`)
        .join(", ")}`,
    );
  lines.push(
    `  expected duration (the plan's estimate for AWS; the sandbox deploys faster): typical ${formatSeconds(plan.expectedDurationSeconds.typical)}, ` +
      `worst case ${formatSeconds(plan.expectedDurationSeconds.worstCase)}`,
  );
  return lines;
}

/** 75 -> "1 min 15 s", 3725 -> "1 h 2 min", 40 -> "40 s". */
function formatSeconds(total: number): string {
  const seconds = Math.round(total);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ""}`;
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${Math.floor(seconds / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
}

function describeTrigger(report: ScanReport | undefined, arn: string): string {
  const r = report?.rotations.find((x) => x.certificateArn === arn);
  if (!r) return "not due";
  return r.started ? "started" : "converged";
}

/**
 * One trigger for the certificate through a real path (the scan, the ACM expiry event, the dispatcher's
 * manual start), recorded as duplicateTriggers records them.
 */
function fireTrigger(ctx: ActionContext, name: string): FireTrigger {
  const certificate = ctx.world.certificates.get(name)!;
  const mine = (report: ScanReport | undefined): TriggerAnswer => {
    const r = report?.rotations.find((x) => x.certificateArn === certificate.arn);
    return r ? { rotationId: r.rotationId, started: r.started } : { started: false };
  };
  return async (path) => {
    const at = ctx.printer.elapsedMs();
    if (path === "scan") return mine(await runScan(ctx));
    if (path === "acm-event") {
      const report = await acmExpiryHandler({ deps: async () => ctx.scanDeps, log: () => undefined })(
        acmExpiryEvent(certificate),
      ).catch((error: unknown) =>
        error instanceof ScanIncompleteError ? error.report : Promise.reject(error),
      );
      const answer = mine(report);
      if (answer.rotationId)
        ctx.triggered(answer.rotationId, name, {
          source: "acm-event",
          actor: "acm-expiry-event",
          started: answer.started,
          atMs: at,
        });
      if (report) recordScan(ctx, "acm-event", report);
      return answer;
    }
    const manual = await startRotation(
      ctx.dispatcher,
      { certificateArn: certificate.arn, serial: certificate.serial, reason: "Manual", actor: OPERATOR },
      ctx.world.store,
    );
    ctx.triggered(manual.rotationId, name, {
      source: "manual",
      actor: OPERATOR,
      started: manual.started,
      atMs: at,
    });
    return { rotationId: manual.rotationId, started: manual.started };
  };
}

/** EventBridge's ACM "approaching expiration" event for a certificate. */
function acmExpiryEvent(certificate: { arn: string; subject: string }) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "ACM Certificate Approaching Expiration",
    source: "aws.acm",
    account: "111122223333",
    time: new RealDate().toISOString(),
    region: "us-east-1",
    resources: [certificate.arn],
    detail: { DaysToExpiry: 10, CommonName: certificate.subject },
  };
}

async function runScan(ctx: ActionContext): Promise<ScanReport> {
  const at = ctx.printer.elapsedMs();
  let report: ScanReport;
  try {
    report = await scanHandler({ deps: async () => ctx.scanDeps, log: () => undefined })({});
  } catch (error) {
    if (!(error instanceof ScanIncompleteError)) throw error;
    report = error.report;
  }
  for (const r of report.rotations) {
    const name =
      [...ctx.world.certificates.values()].find((c) => c.arn === r.certificateArn)?.name ?? r.certificateArn;
    ctx.triggered(r.rotationId, name, {
      source: "scan",
      actor: "scheduled-scan",
      started: r.started,
      atMs: at,
    });
  }
  recordScan(ctx, "scan", report);
  return report;
}

function recordScan(ctx: ActionContext, source: string, report: ScanReport): void {
  ctx.scans.push({
    source,
    certificates: report.certificates,
    managed: report.managed,
    due: report.due,
    alerts: report.alerts.length,
    drift: report.drift.length,
    errors: report.errors.map((e) => `${e.certificateArn}: ${e.error}`),
    retiredAuthorities: (report.trust?.retiredFingerprints ?? []).map((f) => authorityName(ctx.world, f)),
  });
}

function describeScan(ctx: ActionContext, source: string, report: ScanReport): string {
  const name = (arn: string) => [...ctx.world.certificates.values()].find((c) => c.arn === arn)?.name ?? arn;
  const rotations = report.rotations.map(
    (r) =>
      `${name(r.certificateArn)} -> ${r.rotationId} (${r.reason}, ${r.started ? "started" : "converged"})`,
  );
  const text =
    `${source}: ${report.certificates} certificate(s), ${report.managed} managed, ${report.due} due` +
    `${rotations.length ? `; rotations: ${rotations.join(", ")}` : ""}` +
    `${report.alerts.length ? `; ${report.alerts.length} expiry alert(s)` : ""}` +
    `${report.drift.length ? `; ${report.drift.length} drift finding(s)` : ""}` +
    `${report.errors.length ? `; ${report.errors.length} error(s): ${report.errors.map((e) => e.error).join("; ")}` : ""}`;
  ctx.printer.line(text);
  if (report.errors.length) throw new Error(text);
  return text;
}

/** Waits for the rotation's control point (a bake or an approval of the given wave) and delivers the decision. */
async function deliverControl(
  ctx: ActionContext,
  certificate: string,
  action: "rollback" | "approve",
  at: { wave?: number; kind?: ControlPointKind },
  reason: string | undefined,
): Promise<string> {
  const { world, printer } = ctx;
  const where = `${at.kind ?? "control point"}${at.wave !== undefined ? ` of wave ${at.wave}` : ""}`;
  for (;;) {
    if (RealDate.now() > ctx.limit.deadline)
      throw new DeadlineError(`no ${where} reached: ${stopped(ctx.limit)}`);
    const rotation = ctx.latestRotation(certificate);
    if (rotation) {
      const status = await world.store.statusOf(rotation.rotationId);
      if (status && TERMINAL_STATUSES.includes(status))
        throw new Error(`rotation ${rotation.rotationId} ended (${status}) before its ${where}`);
      const control = await world.store.getControl(rotation.rotationId);
      if (
        control &&
        (at.wave === undefined || control.wave === at.wave) &&
        (at.kind === undefined || control.kind === at.kind)
      ) {
        try {
          const result = await controlRotation(
            world.store,
            modelCheckedCallbackSender(localCallbackSender()),
            rotation.rotationId,
            {
              action,
              actor: OPERATOR,
              reason: reason ?? `${action} requested by the sandbox scenario`,
            },
          );
          const text = `${action} delivered to ${rotation.rotationId} at its ${result.kind} of wave ${result.wave}`;
          printer.line(text);
          return text;
        } catch (error) {
          // The window closed between reading and sending (or a wrong kind): look again.
          printer.line(`${action}: not delivered (${(error as Error).message}); looking again`);
        }
      }
    }
    await sleep(POLL_MS);
  }
}

/**
 * A rollback asked for between control points, as an operator's POST /rollback while the wave deploys or its
 * gate waits for datapoints: waits until the certificate's latest rotation is there (wave `afterWave`, or
 * any), then asks through controlRotation with the API's rollback requests. It must be recorded for the next
 * safe point (kind "requested"); anything else fails the action.
 */
async function requestRollback(
  ctx: ActionContext,
  certificate: string,
  when: "deploying" | "gate",
  afterWave: number | undefined,
  reason: string | undefined,
): Promise<string> {
  const { world, printer } = ctx;
  const where = `${when === "deploying" ? "deploy wait" : "gate's wait for datapoints"}${afterWave !== undefined ? ` of wave ${afterWave}` : ""}`;
  for (;;) {
    if (RealDate.now() > ctx.limit.deadline)
      throw new DeadlineError(`no ${where} reached: ${stopped(ctx.limit)}`);
    const rotation = ctx.latestRotation(certificate);
    const state = rotation ? await world.store.get(rotation.rotationId) : undefined;
    if (rotation && state) {
      if (TERMINAL_STATUSES.includes(state.status))
        throw new Error(`rotation ${rotation.rotationId} ended (${state.status}) before its ${where}`);
      const { there, past } = findMoment(
        state,
        ctx.controls.get(rotation.rotationId),
        when,
        afterWave,
        world.config.settings.bakeSeconds ?? 0,
      );
      if (!there && past && afterWave !== undefined)
        throw new Error(
          `rotation ${rotation.rotationId} moved past its ${where} before the rollback was asked for`,
        );
      if (there) {
        const result = await controlRotation(
          world.store,
          modelCheckedCallbackSender(localCallbackSender()),
          rotation.rotationId,
          {
            action: "rollback",
            actor: OPERATOR,
            reason: reason ?? `rollback requested by the sandbox scenario`,
          },
          { requester: ctx.rollbackRequests, now: () => new RealDate() },
        );
        if (result.kind !== "requested")
          throw new Error(
            `rollback asked for during the ${where} was delivered at a ${result.kind} of wave ${result.wave}, not recorded for the next safe point`,
          );
        const text = `rollback requested for ${rotation.rotationId} during its ${where.replace(/ of wave \d+$/, "")} of wave ${there.index}: recorded for the next safe point (kind requested)`;
        printer.line(text);
        return text;
      }
    }
    await sleep(POLL_MS);
  }
}

async function allRotationsEnded(
  rotations: Map<string, TrackedRotation>,
  limit: { deadline: number },
): Promise<boolean> {
  for (;;) {
    const running = [...rotations.values()].filter((r) => r.executing && !r.ended);
    if (running.length === 0) return true;
    if (RealDate.now() > limit.deadline) return false;
    await sleep(POLL_MS);
  }
}

/** Sleeps `ms`, or less when the deadline moves (an interruption). */
async function sleepUntil(ms: number, limit: { deadline: number }): Promise<void> {
  const end = RealDate.now() + ms;
  while (RealDate.now() < end && RealDate.now() < limit.deadline)
    await sleep(Math.min(POLL_MS, end - RealDate.now()));
}

// ---- the report -----------------------------------------------------------------------------------------

/** "authority" or "nextAuthority" for a Private CA ARN of the scenario (the ARN itself otherwise). */
function authorityRef(world: SandboxFleet, arn: string): string {
  return [world.authority, world.nextAuthority].find((a) => a?.arn === arn)?.ref ?? arn;
}

function authorityName(world: SandboxFleet, fingerprint: string): string {
  for (const authority of [world.authority, world.nextAuthority]) {
    if (authority?.fingerprint === fingerprint) return `${authority.ref} (${authority.subject})`;
    if (authority?.rootFingerprint === fingerprint) return `${authority.ref} root (${authority.rootSubject})`;
  }
  return fingerprint;
}

/** Authority refs present in a PEM bundle (by issuing-CA fingerprint). */
function authoritiesIn(world: SandboxFleet, pem: string): string[] {
  const fingerprints = new Set(
    splitPem(pem).flatMap((block) => {
      const certificate = tryParseCertificate(block);
      return certificate ? [fingerprintOf(certificate)] : [];
    }),
  );
  return [world.authority, world.nextAuthority].flatMap((a) =>
    a && fingerprints.has(a.fingerprint) ? [a.ref] : [],
  );
}

/** Subjects of the issuing CAs in a bundle (roots, self-signed, left out). */
function subjectsIn(pem: string): string[] {
  return splitPem(pem).flatMap((block) => {
    const certificate = tryParseCertificate(block);
    return certificate && certificate.subject !== certificate.issuer
      ? [certificate.subject.replaceAll("\n", ", ")]
      : [];
  });
}

/**
 * The distributions a rotation waited for (its history's waiting-for-distributions events): each as
 * "<distribution> (rotation <id>)", in the order first seen; nothing when it never waited.
 */
function waitedFor(history: RotationEvent[], idToName: Map<string, string>): { waitedFor?: string[] } {
  const held = new Set<string>();
  for (const event of history)
    if (event.type === "waiting-for-distributions")
      for (const h of event.heldBy)
        held.add(`${idToName.get(h.distributionId) ?? h.distributionId} (rotation ${h.rotationId})`);
  return held.size > 0 ? { waitedFor: [...held] } : {};
}

function phasesOf(
  history: RotationEvent[],
  runStartedAt: number,
): { phases: PhaseTiming[]; durationMs?: number } {
  const ms = (at: string) => new RealDate(at).getTime() - runStartedAt;
  const phases: PhaseTiming[] = [];
  const open = new Map<string, number>();
  const begin = (phase: string, at: string) => {
    if (!open.has(phase) && !phases.some((p) => p.phase === phase)) open.set(phase, ms(at));
  };
  const end = (phase: string, at: string) => {
    const start = open.get(phase);
    if (start === undefined) return;
    open.delete(phase);
    phases.push({ phase, startMs: start, durationMs: ms(at) - start });
  };
  let lastAt: string | undefined;
  let preflightOver = false;
  for (const event of history) {
    if (preflightOver && event.type !== "preflight") {
      end("preflight", event.at);
      preflightOver = false;
    }
    switch (event.type) {
      case "started":
        begin("plan", event.at);
        break;
      case "planned":
        end("plan", event.at);
        begin("issue", event.at);
        break;
      case "issued":
        end("issue", event.at);
        begin("trust", event.at);
        break;
      case "trust-published":
        end("trust", event.at);
        begin("preflight", event.at);
        break;
      case "preflight":
        // An attempt's event is stamped when it starts: the preflight ends with the event that follows its
        // last attempt (the first swap, or the abort), so a slow last attempt counts.
        if (event.probes.every((p) => p.accepted) || event.deadlinePassed) preflightOver = true;
        break;
      case "swapped":
        begin(`wave ${event.wave}`, event.at);
        break;
      case "gate":
        if (!event.result.passed) end(`wave ${event.wave}`, event.at);
        break;
      case "approved":
        end(`wave ${event.wave}`, event.at);
        break;
      case "rollback-requested":
        for (const phase of [...open.keys()]) end(phase, event.at);
        begin("rollback", event.at);
        break;
      case "promoted":
        for (const phase of [...open.keys()]) end(phase, event.at);
        begin("finalize", event.at);
        break;
      default:
        break;
    }
    // A wave without approval ends when the next wave starts or the rotation finalizes.
    if (event.type === "swapped") {
      for (const phase of [...open.keys()])
        if (phase.startsWith("wave ") && phase !== `wave ${event.wave}`) end(phase, event.at);
    }
    lastAt = event.at;
  }
  if (lastAt) for (const phase of [...open.keys()]) end(phase, lastAt);
  phases.sort((a, b) => a.startMs - b.startMs);
  const first = history[0];
  return {
    phases,
    ...(first && lastAt ? { durationMs: ms(lastAt) - ms(first.at) } : {}),
  };
}

interface GatherInput {
  scenario: Scenario;
  options: RunSandboxOptions;
  world: SandboxFleet;
  edge: Edge;
  rotations: Map<string, TrackedRotation>;
  dryRuns: DryRunReport[];
  actions: ActionReport[];
  scans: SandboxReport["scans"];
  crashes: SandboxReport["faults"]["crashes"];
  awsFaults: SandboxReport["faults"]["aws"];
  foreignWrites: SandboxReport["faults"]["foreignWrites"];
  metricHistory: MetricHistoryReport[];
  printer: Printer;
  origins: { kind: OriginKind; note: string };
  timedOut: boolean;
  startedAtIso: string;
  /** Calls the stand-ins had served when the setup was done. */
  setupCalls: Record<string, number>;
}

async function gatherReport(input: GatherInput): Promise<{ report: SandboxReport; extra: ObservedExtra }> {
  const { world, printer } = input;
  const idToName = new Map(world.distributions.map((d) => [d.id, d.name]));
  const summary = input.edge.summary();
  const tally = new Map(summary.origins.map((o) => [`${o.distributionId}/${o.originId}`, o]));

  const rotations: RotationReport[] = [];
  for (const tracked of input.rotations.values()) {
    if (!tracked.executing) continue;
    const state = await world.store.get(tracked.rotationId);
    const history = await world.store.history(tracked.rotationId);
    const { phases, durationMs } = phasesOf(history, printer.startedAt);
    const result = tracked.result;
    const error = result?.getStatus() === "FAILED" ? result.getError()?.errorMessage : undefined;
    rotations.push({
      rotationId: tracked.rotationId,
      certificate: tracked.certificate,
      certificateArn: tracked.certificateArn,
      triggers: tracked.triggers,
      status: state?.status ?? "unknown",
      ...(state?.outcome?.reason ? { reason: state.outcome.reason } : {}),
      ...(state?.outcome?.detail ? { detail: state.outcome.detail } : {}),
      ...(state?.issued
        ? {
            newCertificateArn: state.issued.certificateArn,
            newSerial: state.issued.serial,
            ...issuedKeyType(world, state.issued.serial),
          }
        : {}),
      execution: {
        status: result?.getStatus() ?? (tracked.ended ? "ERROR" : "RUNNING"),
        invocations: result?.getInvocations().length ?? 0,
        ...(error
          ? { error }
          : tracked.error
            ? { error: String((tracked.error as Error).message ?? tracked.error) }
            : {}),
      },
      waves: (state?.waves ?? []).map((w) => ({
        index: w.index,
        canary: w.canary,
        status: w.status,
        ...(w.gate ? { gatePassed: w.gate.passed } : {}),
        distributions: w.distributions.map((d) => ({
          name: idToName.get(d.distributionId) ?? d.distributionId,
          id: d.distributionId,
          outcome: d.outcome,
        })),
      })),
      preflightAttempts: state?.preflightAttempts ?? 0,
      ...(state?.baselines
        ? {
            baselines: Object.fromEntries(
              Object.entries(state.baselines).map(([id, rate]) => [idToName.get(id) ?? id, rate]),
            ),
          }
        : {}),
      ...waitedFor(history, idToName),
      phases,
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...lastPreflight(history, idToName),
    });
  }
  const newArns = new Map(
    rotations.flatMap((r) => (r.newCertificateArn ? [[r.newCertificateArn, r.rotationId] as const] : [])),
  );

  const distributions: SandboxReport["distributions"] = [];
  for (const d of world.distributions) {
    const live = world.standins.cloudfront.originCertificates(d.id);
    const origins = [];
    for (const o of d.origins) {
      const finalArn = live[o.originId];
      const counts = tally.get(`${d.id}/${o.originId}`);
      const trusted = o.server ? await o.server.trustedBundle() : "";
      origins.push({
        name: o.name,
        originId: o.originId,
        port: o.port,
        behaviour: {
          trustsNewIssuer: o.spec.trustsNewIssuer ?? "now",
          ...(o.spec.trustDelaySeconds !== undefined ? { trustDelaySeconds: o.spec.trustDelaySeconds } : {}),
          ...(o.spec.stopsTrustingAfterSwap ? { stopsTrustingAfterSwap: true } : {}),
          ...(o.spec.slowMs ? { slowMs: o.spec.slowMs } : {}),
          ...(o.spec.down ? { down: true } : {}),
          ...(o.distrustedAt ? { distrustedAtMs: o.distrustedAt - printer.startedAt } : {}),
          ...(o.spec.reachable ? { reachable: o.spec.reachable } : {}),
          ...(o.spec.proof ? { proof: o.spec.proof } : {}),
          ...(o.ackId ? { ackId: o.ackId } : {}),
        },
        ...(o.certificate ? { certificate: o.certificate, initialCertificateArn: o.initialArn } : {}),
        ...(finalArn ? { finalCertificateArn: finalArn } : {}),
        finalCertificate:
          finalArn === undefined
            ? "none"
            : finalArn === o.initialArn
              ? "initial"
              : newArns.has(finalArn)
                ? `new from ${newArns.get(finalArn)}`
                : "unknown",
        requests: counts?.sent ?? 0,
        refused: counts?.refused ?? 0,
        timedOut: counts?.timedOut ?? 0,
        perSecond: everySecond(counts?.perSecond ?? []),
        trusts: subjectsIn(trusted),
        followsBundle: o.follower?.following ?? false,
        ...(o.follower
          ? {
              originSync: {
                runs: o.follower.syncs,
                updates: o.follower.updates,
                failures: o.follower.failures,
              },
            }
          : {}),
        ...(o.changes ? { changes: o.changes } : {}),
        ...reachabilityReport(world, o, SANDBOX_RESOURCES.bucket, printer.startedAt),
      });
    }
    distributions.push({ name: d.name, id: d.id, origins });
  }

  // The foreign writer's CloudFront calls (origin-sync's are S3 calls: the two never share an operation).
  const foreignCalls = world.standins.server.callsByOperation(FOREIGN_WRITER);
  const publishedObject = world.standins.s3.object(SANDBOX_RESOURCES.bucket, SANDBOX_RESOURCES.bundleKey);
  const published = publishedObject?.body.toString("utf8") ?? "";
  const bundles: Observed["bundles"] = [
    { where: "published bundle", authorities: authoritiesIn(world, published) },
  ];
  for (const o of world.origins) {
    if (o.follower?.following && o.server)
      bundles.push({
        where: `origin ${o.path}`,
        authorities: authoritiesIn(world, await o.server.trustedBundle()),
      });
  }

  const certificates = [...world.certificates.values()].map((c) => ({
    name: c.name,
    keyType: c.keyType,
    serial: c.serial,
    subject: c.subject,
    notAfter: c.notAfter,
    initialArn: c.arn,
    finalArns: world.origins
      .filter((o) => o.certificate === c.name)
      .map((o) => world.standins.cloudfront.originCertificates(o.distributionId)[o.originId] ?? "none"),
    // Every rotation of a lineage writes the secret named after the certificate it started from.
    credentialSecret: credentialSecretReport(
      world.standins.secrets,
      credentialSecretName(SANDBOX_RESOURCES, c.arn),
    ),
  }));

  const report: SandboxReport = {
    reportVersion: REPORT_VERSION,
    scenario: {
      name: input.scenario.name,
      ...(input.scenario.description ? { description: input.scenario.description } : {}),
      ...(input.options.scenarioFile ? { file: input.options.scenarioFile } : {}),
    },
    sandbox: {
      startedAt: input.startedAtIso,
      origins: input.origins.kind,
      originsNote: input.origins.note,
      node: process.version,
    },
    result: { passed: false, exitCode: 1, timedOut: input.timedOut },
    expectations: [],
    rotations,
    dryRuns: input.dryRuns,
    actions: input.actions,
    certificates,
    authorities: [world.authority, world.nextAuthority].flatMap((a) =>
      a
        ? [
            {
              ref: a.ref,
              subject: a.subject,
              keyType: a.keyType,
              arn: a.arn,
              fingerprint: a.fingerprint,
              rootSubject: a.rootSubject,
              rootFingerprint: a.rootFingerprint,
            },
          ]
        : [],
    ),
    distributions,
    edge: {
      requests: summary.requests,
      refused: summary.refused,
      timedOut: summary.timedOut,
      ...EDGE_SETTINGS,
    },
    notifications: world.standins.sns.messages(world.topicArn).map((m) => ({
      subject: m.subject ?? "",
      event: m.attributes.event ?? "",
      severity: m.attributes.severity ?? "",
      certificateArn: m.attributes.certificateArn ?? "",
    })),
    awsCalls: serviceCalls(world.standins.server.callsByOperation(), input.setupCalls, {
      ...world.originSyncCalls,
      ...foreignCalls,
    }),
    awsCallsOutsideTheService: {
      setup: sorted(input.setupCalls),
      originSync: sorted(world.originSyncCalls),
      ...(Object.keys(foreignCalls).length > 0 ? { foreignWrites: sorted(foreignCalls) } : {}),
    },
    modelChecks: { botocore: "", checked: 0, violations: 0, details: [] },
    faults: { aws: input.awsFaults, crashes: input.crashes, foreignWrites: input.foreignWrites },
    metricHistory: input.metricHistory,
    trustBundle: {
      published: subjectsIn(published),
      ...(publishedObject?.metadata.sha256 ? { sha256: publishedObject.metadata.sha256 } : {}),
    },
    scans: input.scans,
    timings: { totalMs: 0, setupMs: 0, actionsMs: 0, drainMs: 0, teardownMs: 0 },
  };
  return { report, extra: { issuedCertificates: world.standins.privateCa.issuedCount, bundles } };
}

/**
 * A credential secret as the stand-in holds it (an inspection, not an AWS call: the awsCalls counts stay the
 * service's own), by public facts only. The values hold private keys: they are parsed here and dropped.
 */
function credentialSecretReport(secrets: SecretsManagerStandin, name: string): CredentialSecretReport {
  const versionsOf = (secretId: string) =>
    secrets.names().includes(secretId) ? secrets.versionsOf(secretId) : [];
  const versions = versionsOf(name);
  const described = versions.map((v) => ({ stages: v.stages, facts: wholeCredential(v.versionId, v.value) }));
  const at = (stage: string) => described.find((v) => v.stages.includes(stage))?.facts;
  const current = at("AWSCURRENT");
  const previous = at("AWSPREVIOUS");
  const pendingIn = (secretId: string) => versionsOf(secretId).some((v) => v.stages.includes("AWSPENDING"));
  return {
    name,
    versions: versions.length,
    ...(current ? { current } : {}),
    ...(previous ? { previous } : {}),
    incomplete: described.filter((v) => !v.facts).length,
    pending: [
      ...(pendingIn(name) ? ["credential secret"] : []),
      ...(pendingIn(issuanceSecretName(name)) ? ["issuance secret"] : []),
    ],
  };
}

/** The public facts of a complete credential whose key matches its certificate; undefined otherwise. */
function wholeCredential(versionId: string, text: string): CredentialVersionReport | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (!isCompleteCredential(value)) return undefined;
    const certificate = new X509Certificate(value.certificatePem);
    if (!certificate.checkPrivateKey(createPrivateKey(value.privateKeyPem))) return undefined;
    return {
      versionId,
      certificateArn: value.certificateArn,
      serial: value.serial,
      rotationId: value.rotationId,
    };
  } catch {
    return undefined;
  }
}

/** The key type of the certificate Private CA issued under `serial`, read off the certificate itself. */
function issuedKeyType(world: SandboxFleet, serial: string): { newKeyType?: string } {
  const issued = world.standins.privateCa.issuedCertificates().find((c) => c.serial === serial);
  return issued ? { newKeyType: keyAlgorithmOf(new X509Certificate(issued.certificatePem)) } : {};
}

/** What the expectations need beyond the report itself. */
interface ObservedExtra {
  issuedCertificates: number;
  bundles: Observed["bundles"];
}

function observedFrom(report: SandboxReport, extra: ObservedExtra, timedOut: boolean): Observed {
  const presenting: Observed["presenting"] = {};
  for (const c of report.certificates) {
    const latest = report.rotations.filter((r) => r.certificate === c.name).at(-1);
    presenting[c.name] = {
      finalArns: c.finalArns,
      initialArn: c.initialArn,
      ...(latest?.newCertificateArn ? { newArn: latest.newCertificateArn } : {}),
    };
  }
  return {
    timedOut,
    faults: [
      ...report.faults.aws.map((f) => ({
        fault: `faults[${f.index}] ${describeAwsFault(f)}`,
        ...(f.rate !== undefined ? { rate: f.rate, matched: f.matched } : { times: f.times ?? 1 }),
        delivered: f.delivered,
      })),
      ...report.faults.foreignWrites.map((f) => ({
        fault: `faults[${f.index}] foreign write to ${f.distribution} before its ${f.when}`,
        times: f.times,
        delivered: f.delivered,
      })),
      ...report.faults.crashes.map((c) => ({
        fault: `crash ${c.when} ${c.step}`,
        times: c.times,
        delivered: c.delivered,
      })),
    ],
    foreignChanges: report.faults.foreignWrites
      .filter((f) => f.delivered > 0)
      .map((f) => ({ distribution: f.distribution, kept: f.keptAtEnd })),
    actions: report.actions,
    rotations: report.rotations,
    rotationCount: report.rotations.length,
    dryRuns: report.dryRuns.map((d) => ({
      certificate: d.certificate,
      waves: d.waves.map((w) => w.distributions),
      keyType: d.plan.keyAlgorithm,
    })),
    issuedCertificates: extra.issuedCertificates,
    modelViolations: report.modelChecks.details,
    edgeRefused: report.edge.refused,
    refusingOrigins: report.distributions.flatMap((d) =>
      d.origins.filter((o) => o.refused > 0).map((o) => `${d.name}/${o.name}`),
    ),
    presenting,
    awsCalls: report.awsCalls,
    bundles: extra.bundles,
    notificationEvents: [...new Set(report.notifications.map((n) => n.event))],
    credentialSecrets: Object.fromEntries(report.certificates.map((c) => [c.name, c.credentialSecret])),
    acknowledgements: acknowledgementsObserved(report),
  };
}

function sorted(calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).sort(([a], [b]) => a.localeCompare(b)));
}

/** The service's calls: everything after the setup, less the origins' origin-sync calls. */
function serviceCalls(
  all: Record<string, number>,
  setup: Record<string, number>,
  originSync: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [operation, count] of Object.entries(all)) {
    const own = count - (setup[operation] ?? 0) - (originSync[operation] ?? 0);
    if (own > 0) out[operation] = own;
  }
  return sorted(out);
}

function emptyReport(
  scenario: Scenario,
  options: RunSandboxOptions,
  origins: { kind: OriginKind; note: string },
  startedAt: string,
  actions: ActionReport[],
): SandboxReport {
  return {
    reportVersion: REPORT_VERSION,
    scenario: {
      name: scenario.name,
      ...(scenario.description ? { description: scenario.description } : {}),
      ...(options.scenarioFile ? { file: options.scenarioFile } : {}),
    },
    sandbox: { startedAt, origins: origins.kind, originsNote: origins.note, node: process.version },
    result: { passed: false, exitCode: 3, timedOut: false },
    expectations: [],
    rotations: [],
    dryRuns: [],
    actions,
    certificates: [],
    authorities: [],
    distributions: [],
    edge: { requests: 0, refused: 0, timedOut: 0, ...EDGE_SETTINGS },
    notifications: [],
    awsCalls: {},
    awsCallsOutsideTheService: { setup: {}, originSync: {} },
    modelChecks: { botocore: "", checked: 0, violations: 0, details: [] },
    faults: { aws: [], crashes: [], foreignWrites: [] },
    metricHistory: [],
    trustBundle: { published: [] },
    scans: [],
    timings: { totalMs: 0, setupMs: 0, actionsMs: 0, drainMs: 0, teardownMs: 0 },
  };
}

function summarize(printer: Printer, report: SandboxReport): void {
  for (const d of report.dryRuns) printer.always(`dry run ${d.certificate}: ${planSummary(d)}`);
  for (const r of report.rotations) {
    printer.always(
      `rotation ${r.certificate} (${r.rotationId}): ${r.status}${r.reason ? ` (${r.reason})` : ""}` +
        `${r.durationMs !== undefined ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : ""}` +
        `${r.newCertificateArn ? `; ${r.status === "completed" ? "new certificate" : "issued"} ${r.newCertificateArn}` : ""}`,
    );
  }
  for (const f of report.faults.aws) printer.always(awsFaultTally(f));
  for (const f of report.faults.foreignWrites) printer.always(foreignWriteTally(f));
  for (const d of report.distributions)
    for (const o of d.origins) if (o.requests > 0) printer.line(originTrafficLine(`${d.name}/${o.name}`, o));
  for (const line of reachabilitySummary(report)) printer.line(line);
  printer.always(
    `edge: ${report.edge.requests} requests, ${report.edge.refused} refused` +
      (report.edge.timedOut > 0 ? ` (${report.edge.timedOut} timed out)` : ""),
  );
  const calls = Object.values(report.awsCalls).reduce((a, b) => a + b, 0);
  printer.always(
    `AWS calls: ${calls} (${Object.keys(report.awsCalls).length} operations); notifications: ${report.notifications.length}`,
  );
  printer.always(
    `AWS model checks (botocore ${report.modelChecks.botocore}): ${report.modelChecks.checked} calls checked, ` +
      `${report.modelChecks.violations} violation(s)`,
  );
  for (const detail of report.modelChecks.details) printer.always(`model violation: ${detail}`);
  const failed = report.expectations.filter((e) => !e.passed);
  for (const e of failed)
    printer.always(
      `expectation FAILED: ${e.name}: expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)}`,
    );
  printer.always(
    `${failed.length === 0 ? "PASSED" : "FAILED"}: ${report.expectations.length - failed.length}/${report.expectations.length} expectations held; ` +
      `total ${(report.timings.totalMs / 1000).toFixed(1)} s (setup ${(report.timings.setupMs / 1000).toFixed(1)} s, ` +
      `actions ${(report.timings.actionsMs / 1000).toFixed(1)} s, drain ${(report.timings.drainMs / 1000).toFixed(1)} s, ` +
      `teardown ${(report.timings.teardownMs / 1000).toFixed(1)} s)`,
  );
}
