/**
 * One durable workflow per rotation: plan -> issue -> trust -> preflight -> swap wave by wave (deploy, bake
 * with a manual-rollback window, health gate, optional approval) -> finalize; or back.
 *
 * The invariant: trust before swap, retire after success. Nothing presents the new certificate before every
 * target origin accepted it in a real mTLS preflight; the old certificate, key and CA stay valid and
 * trusted until every wave passed and the grace period is over, so every step before that is reversible.
 *
 * Durable-execution rules this code keeps:
 * - everything with a side effect or a clock reading happens inside a step; code between steps only folds
 *   checkpointed step results, so a replay takes the same path;
 * - step results are events (ARNs, serials, statuses): never key material;
 * - every step is idempotent (a step can run again after a crash before its checkpoint);
 * - rollback is this file's own loop: it carries on past a distribution that fails, and reports each.
 */

import { X509Certificate } from "node:crypto";
import type { RetryDecision } from "@aws/durable-execution-sdk-js";
import type { workflow } from "sst/aws/workflow";
import { type AcmAdapter, LINEAGE_TAGS } from "../adapters/acm.ts";
import type { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import type { DistributionMetrics } from "../adapters/metrics.ts";
import { isCredentialSecretName } from "../adapters/secrets.ts";
import type { RotationSettings } from "../config/settings.ts";
import { factsOf } from "../core/certificate.ts";
import { describeGateFailure, evaluateGate, type MetricsReading, resolveGatePolicy } from "../core/gate.ts";
import { type Notification, type NotificationEvent, rotationNotification } from "../core/notifications.ts";
import {
  applyEvent,
  initialState,
  type ProbeResult,
  type RotationEvent,
  RotationReason,
  type RotationRequest,
  type RotationState,
  swappedDistributions,
} from "../core/rotation.ts";
import {
  abandonIssuance,
  completeIssuance,
  type IssuanceDeps,
  type IssuanceRequest,
  prepareKey,
  promoteCredential,
  readStagedCredential,
  requestCertificate,
} from "../issuance/issue-certificate.ts";
import { type OriginEndpoint, probeAll } from "../probe/origin-probe.ts";
import { publishTrustBundle, type TrustTarget } from "../trust/publish-bundle.ts";
import { planTargets, settingsWithOverrides } from "./plan.ts";

type Context = workflow.Context;

/** One poll of the gate's metrics (a step result): seconds since the wave deployed, and what CloudWatch had. */
interface GateReading {
  elapsedSeconds: number;
  metrics: Record<string, MetricsReading>;
}

export interface RotationInput extends RotationRequest {
  rotationId: string;
}

export interface ControlPoint {
  callbackId: string;
  kind: "bake" | "approval";
  wave: number;
}

/** What the workflow needs from the rotation store (DynamoDB). */
export interface RotationStorePort {
  acquireLock(
    certificateArn: string,
    rotationId: string,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }>;
  releaseLock(certificateArn: string, rotationId: string): Promise<unknown>;
  record(state: RotationState, event: RotationEvent, sequence: number): Promise<unknown>;
  setControl(rotationId: string, control: ControlPoint | undefined): Promise<unknown>;
}

/** Test hooks to crash a step before or after its side effects (chaos testing). */
export interface StepFaults {
  before?(step: string): void | Promise<void>;
  after?(step: string): void | Promise<void>;
}

export interface RotationDeps {
  settings: RotationSettings;
  now: () => Date;
  acm: Pick<AcmAdapter, "getCertificate" | "deleteIfUnused" | "tagsOf">;
  distributions: Pick<
    CloudFrontAdapter,
    "findDistributionsPresenting" | "swapOriginCertificate" | "deploymentStatus" | "originEndpoints"
  >;
  issuance: IssuanceDeps;
  trustTargets: TrustTarget[];
  metrics: Pick<DistributionMetrics, "errorRates" | "errorRateReadings">;
  store: RotationStorePort;
  notify(notification: Notification): Promise<unknown>;
  probe?: typeof probeAll;
  faults?: StepFaults;
  log?: (message: string, data?: Record<string, unknown>) => void;
}

export interface RotationOutcome {
  rotationId: string;
  status: RotationState["status"];
  newCertificateArn?: string;
  waves: number;
}

/** The workflow ends FAILED (so alarms fire) when a rotation is rolled back, aborted or fails. */
export class RotationEndedError extends Error {
  override name = "RotationEndedError";
  readonly reason: RotationReason;
  readonly status: RotationState["status"];
  constructor(status: RotationState["status"], reason: RotationReason, detail: string) {
    super(`rotation ${status} (${reason}): ${detail}`);
    this.status = status;
    this.reason = reason;
  }
}

/** Errors a retry cannot fix. */
const PERMANENT_ERRORS = new Set([
  "CertificateValidationError",
  "IssuanceError",
  "SettingsError",
  "TrustBundleError",
  "UnsafeUpdateError",
  "PolicyError",
  "ReplacementKeyError",
  "AccessDeniedException",
  "ValidationException",
  "InvalidArgument",
]);

export function stepRetry(error: Error, attempt: number): RetryDecision {
  if (PERMANENT_ERRORS.has(error.name) || attempt >= 5) return { shouldRetry: false };
  return { shouldRetry: true, delay: { seconds: Math.min(60, 2 ** attempt) } };
}

type ControlAction =
  | { action: "timeout" }
  | { action: "rollback" | "approve"; actor: string; reason: string };

function parseControl(raw: unknown): ControlAction {
  try {
    const value = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, unknown>;
    const action =
      value.action === "approve" ? "approve" : value.action === "rollback" ? "rollback" : undefined;
    if (!action) return { action: "rollback", actor: "unknown", reason: "unreadable control message" };
    return { action, actor: String(value.actor ?? "unknown"), reason: String(value.reason ?? "") };
  } catch {
    // A message that cannot be read is treated as the safe choice.
    return { action: "rollback", actor: "unknown", reason: "unreadable control message" };
  }
}

/** The credential secret a certificate gets when nothing names one: the prefix and the ARN's id. */
export function credentialSecretName(
  settings: Pick<RotationSettings, "credentialSecretPrefix">,
  certificateArn: string,
): string {
  return `${settings.credentialSecretPrefix}${certificateArn.split("/").pop() ?? "credential"}`;
}

/**
 * The credential secret of the certificate being rotated: the one its lineage tag names when this service
 * imported it (so every rotation of a lineage writes the same secret, and AWSPREVIOUS is the credential
 * before), else the one named after its ARN (a certificate imported by someone else: its first rotation).
 * A tag naming anything but a credential secret under this stage's prefix is ignored.
 */
export function credentialSecretFor(
  settings: RotationSettings,
  certificateArn: string,
  tags: Record<string, string>,
): string {
  const tagged = tags[LINEAGE_TAGS.credential];
  if (tagged && isCredentialSecretName(settings.credentialSecretPrefix, tagged)) return tagged;
  return credentialSecretName(settings, certificateArn);
}

export async function runRotation(
  input: RotationInput,
  ctx: Context,
  deps: RotationDeps,
): Promise<RotationOutcome> {
  const rotationId = input.rotationId;
  const request: RotationRequest = {
    certificateArn: input.certificateArn,
    serial: input.serial,
    reason: input.reason,
    actor: input.actor,
    ...(input.dryRun ? { dryRun: true } : {}),
    ...(input.overrides ? { overrides: input.overrides } : {}),
  };
  // The request's overrides (waves, bake window, approval) apply to this rotation only.
  const settings = settingsWithOverrides(deps.settings, request.overrides);
  const log = deps.log ?? (() => undefined);
  const at = () => deps.now().toISOString();
  let state = initialState(rotationId);
  let sequence = 0;

  /** A step whose result is a rotation event: recorded in the store inside the step, folded outside. */
  const record = async <E extends RotationEvent>(name: string, produce: () => Promise<E>): Promise<E> => {
    const event = (await ctx.step(
      name,
      async () => {
        await deps.faults?.before?.(name);
        const produced = await produce();
        await deps.store.record(applyEvent(state, produced), produced, sequence);
        await deps.faults?.after?.(name);
        return produced;
      },
      { retryStrategy: stepRetry },
    )) as E;
    state = applyEvent(state, event);
    sequence += 1;
    return event;
  };

  /** A step with side effects and a plain result. */
  const act = <T>(name: string, run: () => Promise<T>): Promise<T> =>
    ctx.step(
      name,
      async () => {
        await deps.faults?.before?.(name);
        const result = await run();
        await deps.faults?.after?.(name);
        return result;
      },
      { retryStrategy: stepRetry },
    );

  /** Notifications never decide a rotation: a failure to publish is logged, not fatal. */
  const notify = async (name: string, event: NotificationEvent, detail: Record<string, unknown> = {}) => {
    const snapshot = state;
    try {
      await act(`notify:${name}`, async () => {
        await deps.notify(rotationNotification(event, snapshot, detail));
        return true;
      });
    } catch (error) {
      log("notification failed", { event, error: (error as Error).message });
    }
  };

  /**
   * Wait for an operator's message (rollback / approve) until the window closes. The window is the
   * callback's own timeout, so no callback is left open once the rotation moves on.
   */
  const control = async (
    name: string,
    kind: ControlPoint["kind"],
    wave: number,
    seconds: number,
  ): Promise<ControlAction> => {
    const [message, callbackId] = await ctx.createCallback(name, {
      timeout: { seconds: Math.max(1, seconds) },
    });
    await act(`${name}:open`, () => deps.store.setControl(rotationId, { callbackId, kind, wave }));
    let outcome: ControlAction;
    try {
      outcome = parseControl(await message);
    } catch (error) {
      // Timeout: the window closed with no intervention. Any other callback failure (an operator's
      // SendDurableExecutionCallbackFailure, a broken callback) is treated as a rollback request: the safe way.
      outcome =
        (error as { errorType?: string }).errorType === "CallbackTimeoutError"
          ? { action: "timeout" }
          : {
              action: "rollback",
              actor: "unknown",
              reason: `control ${name} failed: ${(error as Error).message}`,
            };
    }
    await act(`${name}:close`, () => deps.store.setControl(rotationId, undefined));
    return outcome;
  };

  // ---- start ----------------------------------------------------------------------------------------
  const lock = await act("lock", () => deps.store.acquireLock(request.certificateArn, rotationId));
  if (!lock.acquired) {
    throw new RotationEndedError(
      "failed",
      RotationReason.AlreadyRotating,
      `rotation ${lock.heldBy} is already running`,
    );
  }
  await record("start", async () => ({ type: "started", at: at(), request }));
  await notify("started", "rotation-started", { reason: request.reason, actor: request.actor });

  const finish = async (event: NotificationEvent, detail: Record<string, unknown> = {}) => {
    await act("unlock", () => deps.store.releaseLock(request.certificateArn, rotationId));
    await notify("end", event, detail);
  };

  // Named at planning (checkpointed); a rotation planned before the name was recorded used the ARN's.
  const secretName = () => state.credentialSecret ?? credentialSecretName(settings, request.certificateArn);
  const inFlight = () => ({ rotationId, credential: secretName() });

  /**
   * Before any swap: undo what exists (new ACM certificate, AWSPENDING in the issuance secret) and end. The
   * credential secret was never written: it stays as it was.
   */
  const abort = async (
    status: "aborted" | "failed",
    reason: RotationReason,
    detail: string,
  ): Promise<never> => {
    if (state.issued) {
      const newArn = state.issued.certificateArn;
      await act("abort:retire-new", () => deps.acm.deleteIfUnused(newArn));
    }
    await act("abort:secret", () => abandonIssuance(deps.issuance, inFlight()).then(() => true));
    await record("abort", async () =>
      status === "aborted"
        ? { type: "aborted", at: at(), reason, detail }
        : { type: "failed", at: at(), reason, detail },
    );
    await finish(status === "aborted" ? "rotation-aborted" : "rotation-failed", { detail });
    throw new RotationEndedError(status, reason, detail);
  };

  // ---- plan -----------------------------------------------------------------------------------------
  try {
    await record("plan", async () => {
      const { old, replacementKey, targets, waves } = await planTargets(
        { ...deps, privateCa: deps.issuance.privateCa },
        {
          certificateArn: request.certificateArn,
          authorityArn: settings.authorityArn,
          wavePolicy: settings.waves,
          allowedDistributionIds: settings.distributionIds,
        },
      );
      const credentialSecret = credentialSecretFor(
        settings,
        request.certificateArn,
        await deps.acm.tagsOf(request.certificateArn),
      );
      const now = deps.now();
      const baselines = targets.length
        ? await deps.metrics.errorRates(
            targets.map((t) => t.distributionId),
            new Date(now.getTime() - settings.gate.baselineWindowSeconds * 1000),
            now,
          )
        : {};
      return {
        type: "planned",
        at: now.toISOString(),
        old,
        waves: waves.map((w) => ({ index: w.index, canary: w.canary, targets: w.targets })),
        newIssuerArn: settings.authorityArn,
        replacementKey,
        baselines,
        credentialSecret,
      };
    });
  } catch (error) {
    // Nothing exists yet but the lock: end failed, releasing it (never leave a certificate locked).
    return abort("failed", RotationReason.Unexpected, `plan failed: ${(error as Error).message}`);
  }
  const old = state.old!;

  if (request.dryRun) {
    await record("dry-run", async () => ({ type: "dry-run", at: at() }));
    await act("unlock", () => deps.store.releaseLock(request.certificateArn, rotationId));
    return outcome();
  }

  // ---- issue ----------------------------------------------------------------------------------------
  const issuance: IssuanceRequest = {
    rotationId,
    credential: secretName(),
    authorityArn: settings.authorityArn,
    // The plan's choice: the issuing CA's key type, in a size CloudFront presents (replacementKeyFor).
    keyAlgorithm: state.replacementKey!.keyAlgorithm,
    subject: { certificatePem: old.certificatePem },
    sans: factsOf(new X509Certificate(old.certificatePem)).sans,
    validityDays: settings.validityDays,
    previousCertificateArn: old.arn,
  };

  try {
    await act("issue:key", () => prepareKey(deps.issuance, issuance));
    const { privateCaCertificateArn } = await act("issue:request", () =>
      requestCertificate(deps.issuance, issuance),
    );
    await record("issue:complete", async () => {
      const issued = await completeIssuance(deps.issuance, issuance, privateCaCertificateArn);
      return {
        type: "issued",
        at: at(),
        certificateArn: issued.certificateArn,
        serial: issued.serial,
        notAfter: issued.notAfter,
        fingerprint: issued.fingerprint,
      };
    });
  } catch (error) {
    return abort("failed", RotationReason.IssuanceFailed, (error as Error).message);
  }
  const newArn = state.issued!.certificateArn;

  // ---- trust ----------------------------------------------------------------------------------------
  try {
    await record("trust:publish", async () => {
      const [{ chainPem: currentChainPem }, incomingChainPem] = await Promise.all([
        deps.acm.getCertificate(old.arn),
        deps.issuance.privateCa.authorityChainPem(settings.authorityArn),
      ]);
      const result = await publishTrustBundle({
        targets: deps.trustTargets,
        currentChainPem,
        incomingChainPem,
        now: deps.now(),
      });
      return {
        type: "trust-published",
        at: at(),
        bundleSha256: result.bundleSha256,
        targets: result.targets.map((t) => ({ target: t.target, changed: t.changed })),
      };
    });
  } catch (error) {
    return abort(
      "failed",
      RotationReason.Unexpected,
      `trust bundle not published: ${(error as Error).message}`,
    );
  }
  await notify("trust", "trust-published", { bundleSha256: state.bundleSha256 });

  // ---- preflight: every target origin must accept the new certificate before anything presents it ----
  const targets = state.waves.flatMap((w) => w.distributions);
  const probeWithNewCertificate = async (): Promise<ProbeResult[]> => {
    const endpoints: OriginEndpoint[] = [];
    for (const target of targets) {
      for (const origin of await deps.distributions.originEndpoints(
        target.distributionId,
        target.originIds,
      )) {
        endpoints.push({
          target: `${target.distributionId}/${origin.originId}`,
          host: origin.domainName,
          port: origin.httpsPort,
          path: settings.preflight.probePath,
        });
      }
    }
    // The staged credential lives in the issuance secret until promotion.
    const credential = await readStagedCredential(deps.issuance, issuance);
    const probe = deps.probe ?? probeAll;
    return probe(
      endpoints,
      {
        certificatePem: credential.certificatePem,
        chainPem: credential.chainPem,
        privateKeyPem: credential.privateKeyPem,
      },
      { originServerCaPem: settings.originServerCaPem },
    );
  };

  // Deadlines count attempts (timeout / interval), not clock readings: deterministic on replay.
  const preflightAttempts =
    1 + Math.floor(settings.preflight.timeoutSeconds / settings.preflight.intervalSeconds);
  for (let attempt = 1; targets.length > 0; attempt += 1) {
    let result: Extract<RotationEvent, { type: "preflight" }>;
    try {
      result = await record(`preflight:${attempt}`, async () => ({
        type: "preflight",
        at: at(),
        attempt,
        probes: await probeWithNewCertificate(),
        deadlinePassed: attempt >= preflightAttempts,
      }));
    } catch (error) {
      // Probing itself failed (not an origin refusing): nothing was swapped, so undo and end.
      return abort("failed", RotationReason.Unexpected, `preflight failed: ${(error as Error).message}`);
    }
    const refused = result.probes.filter((p) => !p.accepted);
    if (refused.length === 0) break;
    if (result.deadlinePassed) {
      return abort(
        "aborted",
        RotationReason.PreflightRefused,
        `origins refused the new certificate: ${refused.map((p) => `${p.target} (${p.status ?? p.error})`).join(", ")}`,
      );
    }
    await ctx.wait(`preflight:${attempt}:wait`, { seconds: settings.preflight.intervalSeconds });
  }

  // ---- swap, wave by wave ---------------------------------------------------------------------------
  const rollback = async (reason: RotationReason, actor: string, detail: string): Promise<never> => {
    await record("rollback:requested", async () => ({
      type: "rollback-requested",
      at: at(),
      reason,
      actor,
      detail,
    }));
    const back = swappedDistributions(state).reverse();
    for (const distribution of back) {
      let error: string | undefined;
      try {
        await act(`rollback:${distribution.distributionId}`, () =>
          deps.distributions.swapOriginCertificate({
            distributionId: distribution.distributionId,
            fromArn: newArn,
            toArn: old.arn,
            originIds: distribution.changedOriginIds,
          }),
        );
      } catch (e) {
        error = (e as Error).message;
      }
      await record(`rollback:${distribution.distributionId}:result`, async () => ({
        type: "rolled-back-distribution",
        at: at(),
        distributionId: distribution.distributionId,
        ok: error === undefined,
        ...(error ? { error } : {}),
      }));
    }
    const restored = back
      .map((d) => d.distributionId)
      .filter((id) => !swappedDistributions(state).some((d) => d.distributionId === id));
    await waitDeployed("rollback", restored);
    const stuck = swappedDistributions(state).map((d) => d.distributionId);
    // The credential secret was never written (promotion comes after every wave): only AWSPENDING goes —
    // unless distributions still present the new certificate: then its staged credential (its only key
    // copy besides ACM) keeps AWSPENDING, so Secrets Manager never prunes it as an unlabeled version.
    await act("rollback:secret", async () => {
      if (stuck.length === 0) await abandonIssuance(deps.issuance, issuance);
      return true;
    });
    if (stuck.length > 0) {
      // The new certificate stays: those distributions still present it. An operator must look.
      const incomplete = `${detail}; could not put back ${stuck.join(", ")} (they still present ${newArn})`;
      await record("rollback:done", async () => ({
        type: "failed",
        at: at(),
        reason: RotationReason.RollbackIncomplete,
        detail: incomplete,
      }));
      await finish("rotation-failed", { detail: incomplete, stuck });
      throw new RotationEndedError("failed", RotationReason.RollbackIncomplete, incomplete);
    }
    await act("rollback:retire-new", () => deps.acm.deleteIfUnused(newArn));
    await record("rollback:done", async () => ({ type: "rolled-back", at: at() }));
    await finish("rolled-back", { detail });
    throw new RotationEndedError("rolled-back", reason, detail);
  };

  /** Poll until the distributions are Deployed (durable waits between polls); false at the deadline. */
  async function waitDeployed(name: string, ids: string[]): Promise<boolean> {
    if (ids.length === 0) return true;
    const polls = 1 + Math.floor(settings.deploy.timeoutSeconds / settings.deploy.pollSeconds);
    for (let poll = 1; ; poll += 1) {
      const pending = await act(`${name}:deploy:${poll}`, async () => {
        const statuses = await deps.distributions.deploymentStatus(ids);
        return ids.filter((id) => statuses[id] !== "Deployed");
      });
      if (pending.length === 0) return true;
      if (poll >= polls) return false;
      await ctx.wait(`${name}:deploy:${poll}:wait`, { seconds: settings.deploy.pollSeconds });
    }
  }

  type Halt = { reason: RotationReason; actor: string; detail: string };

  /** Every wave in order; a reason to roll back, or undefined when all passed. */
  const runWaves = async (): Promise<Halt | undefined> => {
    const waves = state.waves.map((w) => w.index);
    for (const waveIndex of waves) {
      const halt = await runWave(waveIndex);
      if (halt) return halt;
      const gate = state.waves.find((w) => w.index === waveIndex)?.gate;
      await notify(`wave:${waveIndex}`, "wave-completed", { wave: waveIndex, gate });

      const last = waveIndex === waves[waves.length - 1];
      if (last || settings.approval.mode !== "between-waves") continue;
      const decision = await control(
        `approval:${waveIndex}`,
        "approval",
        waveIndex,
        settings.approval.timeoutSeconds,
      );
      if (decision.action === "rollback") {
        return {
          reason: RotationReason.ManualRollback,
          actor: decision.actor,
          detail: decision.reason || "rollback requested at approval",
        };
      }
      if (decision.action === "timeout" && settings.approval.onTimeout === "rollback") {
        return {
          reason: RotationReason.ApprovalTimedOut,
          actor: "policy",
          detail: `no approval within ${settings.approval.timeoutSeconds} s`,
        };
      }
      const actor = decision.action === "approve" ? decision.actor : "policy";
      await record(`approved:${waveIndex}`, async () => ({
        type: "approved",
        at: at(),
        wave: waveIndex,
        actor,
      }));
    }
    return undefined;
  };

  // Once the first swap may have happened, every way out that is not success goes through the rollback:
  // a failed gate, an operator, and any error a retry could not fix (a step out of retries, a failed
  // callback). The rollback itself runs outside this try, so it is never entered twice.
  let halt: Halt | undefined;
  try {
    halt = await runWaves();
  } catch (error) {
    halt = { reason: RotationReason.Unexpected, actor: "mtls-rotator", detail: (error as Error).message };
  }
  if (halt) return rollback(halt.reason, halt.actor, halt.detail);

  /** Swap, deploy, bake, gate one wave; a reason to roll back, or undefined when the wave passed. */
  async function runWave(
    waveIndex: number,
  ): Promise<{ reason: RotationReason; actor: string; detail: string } | undefined> {
    const distributions = state.waves.find((w) => w.index === waveIndex)!.distributions;
    for (const distribution of distributions) {
      try {
        await record(`swap:${waveIndex}:${distribution.distributionId}`, async () => {
          const swap = await deps.distributions.swapOriginCertificate({
            distributionId: distribution.distributionId,
            fromArn: old.arn,
            toArn: newArn,
          });
          return {
            type: "swapped",
            at: at(),
            wave: waveIndex,
            distributionId: distribution.distributionId,
            outcome: swap.notPresenting ? "not-presenting" : "swapped",
            changedOriginIds: swap.alreadySwapped ? distribution.originIds : swap.changedOriginIds,
          };
        });
      } catch (error) {
        return {
          reason: RotationReason.SwapFailed,
          actor: "mtls-rotator",
          detail: `${distribution.distributionId}: ${(error as Error).message}`,
        };
      }
    }
    const swapped = distributions.map((d) => d.distributionId);
    if (!(await waitDeployed(`wave:${waveIndex}`, swapped))) {
      return {
        reason: RotationReason.DeployTimedOut,
        actor: "mtls-rotator",
        detail: `wave ${waveIndex} did not deploy in time`,
      };
    }
    const deployedAt = (
      await record(`deployed:${waveIndex}`, async () => ({ type: "deployed", at: at(), wave: waveIndex }))
    ).at;

    const bake: ControlAction =
      settings.bakeSeconds > 0
        ? await control(`bake:${waveIndex}`, "bake", waveIndex, settings.bakeSeconds)
        : { action: "timeout" };
    if (bake.action === "rollback") {
      return {
        reason: RotationReason.ManualRollback,
        actor: bake.actor,
        detail: bake.reason || `rollback requested during bake of wave ${waveIndex}`,
      };
    }

    // The gate: CloudFront's datapoints reach CloudWatch minutes late, so an empty window means "not yet".
    // Poll (durable waits between polls) until every swapped distribution has enough datapoints after its
    // swap deployed, one is over its threshold, or the metrics deadline (counted from the checkpointed
    // deployment time, so replays agree) has passed. Every clock reading happens inside a step.
    const gatePolicy = resolveGatePolicy(settings.gate);
    const baselines = state.baselines ?? {};
    let reading: GateReading | undefined;
    for (let poll = 1; ; poll += 1) {
      reading = await act(`gate:${waveIndex}:metrics:${poll}`, async () => {
        const now = deps.now();
        return {
          elapsedSeconds: Math.max(0, (now.getTime() - Date.parse(deployedAt)) / 1000),
          metrics: await deps.metrics.errorRateReadings(
            swapped,
            new Date(deployedAt),
            now,
            gatePolicy.periodSeconds,
          ),
        };
      });
      const { verdict } = evaluateGate({ ...reading, baselines, probes: [], policy: gatePolicy });
      if (verdict !== "waiting") break;
      // Look again after one period (new datapoints come at most that often), or at the deadline.
      const untilDeadline = Math.ceil(gatePolicy.metricsDeadlineSeconds - reading.elapsedSeconds);
      await ctx.wait(`gate:${waveIndex}:metrics:${poll}:wait`, {
        seconds: Math.max(1, Math.min(gatePolicy.periodSeconds, untilDeadline)),
      });
    }
    const metricsReading = reading;
    const gate = await record(`gate:${waveIndex}`, async () => ({
      type: "gate",
      at: at(),
      wave: waveIndex,
      // The metrics as the last poll read them (checkpointed), judged together with fresh probes.
      result: evaluateGate({
        ...metricsReading,
        baselines,
        probes: await probeWithNewCertificateFor(swapped),
        policy: gatePolicy,
      }),
    }));
    if (!gate.result.passed) {
      return {
        reason: RotationReason.GateFailed,
        actor: "mtls-rotator",
        detail: `wave ${waveIndex}: ${describeGateFailure(gate.result)}`,
      };
    }
    return undefined;
  }

  async function probeWithNewCertificateFor(distributionIds: string[]): Promise<ProbeResult[]> {
    const all = await probeWithNewCertificate();
    return all.filter((p) => distributionIds.some((id) => p.target.startsWith(`${id}/`)));
  }

  // ---- finalize: promote, grace, retire ---------------------------------------------------------------
  // The credential secret's only write: AWSCURRENT = the new credential, AWSPREVIOUS = the one it replaces.
  await record("finalize:promote", async () => {
    await promoteCredential(deps.issuance, issuance, state.issued!);
    return { type: "promoted", at: at() };
  });
  await ctx.wait("finalize:grace", { seconds: Math.max(1, settings.graceSeconds) });
  await record("finalize:retire", async () => {
    const retired = await deps.acm.deleteIfUnused(old.arn);
    let revoked = false;
    if (settings.revokeRetired && retired.deleted) {
      try {
        await deps.issuance.privateCa.revoke(settings.authorityArn, old.serial);
        revoked = true;
      } catch (error) {
        // The retired certificate may come from another CA (e.g. before a migration): report, do not fail.
        log("revocation skipped", { error: (error as Error).message });
      }
    }
    return { type: "retired", at: at(), deleted: retired.deleted, revoked, detail: retired.detail };
  });
  await record("complete", async () => ({ type: "completed", at: at() }));
  await finish("rotation-completed", { newCertificateArn: newArn });
  return outcome();

  function outcome(): RotationOutcome {
    return {
      rotationId,
      status: state.status,
      newCertificateArn: state.issued?.certificateArn,
      waves: state.waves.length,
    };
  }
}

/** The Lambda handler for the workflow, with dependencies built once per cold start. */
export function createRotationWorkflow(
  sst: typeof workflow,
  deps: RotationDeps | (() => RotationDeps),
): ReturnType<typeof workflow.handler> {
  let built: RotationDeps | undefined;
  const resolve = () => {
    built ??= typeof deps === "function" ? deps() : deps;
    return built;
  };
  return sst.handler<RotationInput, RotationOutcome>((input, ctx) => runRotation(input, ctx, resolve()));
}
