/**
 * One durable workflow per viewer CA migration (core/viewer-migration.ts): lock -> plan -> publish (trust
 * stores in waves, each `active` before the next; then the passthrough origins' bundle) -> prove -> approval
 * (optional) -> announce "viewer CA ready"; or, for a retirement, lock -> plan (refused before the recorded
 * retirement time) -> publish without the retired CAs -> prove the CA in service is still accepted -> done.
 * Any failure after the first write restores every trust point to the bundle it held before (the CAs the
 * domain trusted before this run) and announces nothing.
 *
 * The same durable rules as the rotation workflow (rotation-workflow.ts): side effects and clock readings
 * only inside steps, step results are public facts (no PEM, no key: the probe viewer key lives and dies
 * inside the proof step), every step idempotent (a trust point given the bundle it already holds makes no
 * new version and no update), step names are checkpoint keys.
 */
import type { workflow } from "sst/aws/workflow";
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import { certificateNotification, type Notification, type NotificationEvent } from "../core/notifications.ts";
import {
  computeTrustBundle,
  TRUST_TARGET_LIMITS,
  type TrustBundle,
  TrustBundleError,
} from "../core/trust-bundle.ts";
import {
  type AuthorityIssuance,
  applyViewerEvent,
  initialViewerState,
  type OriginProof,
  type PlannedDomain,
  type RetiringAuthority,
  retireAfter,
  retirementDecision,
  retirementDelaySeconds,
  type TrustPointResult,
  trustStoreWaves,
  type ViewerMigrationEvent,
  type ViewerMigrationPlan,
  ViewerMigrationReason,
  type ViewerMigrationRequest,
  type ViewerMigrationState,
  type ViewerMigrationStatus,
  type WaitingAuthority,
} from "../core/viewer-migration.ts";
import type { TrustTarget } from "../trust/publish-bundle.ts";
import type { StepFaults } from "./contract.ts";
import { controlWindow, durableStep } from "./steps.ts";

export type ViewerMigrationInput = ViewerMigrationRequest;

/** A CloudFront trust store as the migration writes and inspects it (trust/targets/cloudfront-trust-store.ts). */
export interface ViewerTrustStorePoint extends TrustTarget {
  /** Its status, CloudFront's reason for a failure, and how many CA certificates it holds (its count only). */
  status(): Promise<{ status: string; reason?: string; caCertificates?: number }>;
  /** The bundle in effect when the store is `active` and still holds this target's last update; else undefined. */
  verifiedBundle(): Promise<string | undefined>;
}

/** What the migration keeps in the table (adapters/viewer-migration-store.ts). */
export interface ViewerMigrationStorePort {
  /** One migration at a time per domain. */
  acquireLock(
    domain: string,
    migrationId: string,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }>;
  releaseLock(domain: string, migrationId: string): Promise<unknown>;
  record(
    request: ViewerMigrationRequest,
    state: ViewerMigrationState,
    event: ViewerMigrationEvent,
    sequence: number,
  ): Promise<unknown>;
  setControl(migrationId: string, control: { callbackId: string } | undefined): Promise<unknown>;
  /**
   * The rollback an operator asked for while the migration waited at no approval (POST
   * /viewer-migrations/{id}/rollback), read at each safe point: before each publish, after each proof attempt.
   */
  rollbackRequestOf(
    migrationId: string,
  ): Promise<{ actor: string; reason: string; requestedAt: string } | undefined>;
  /** CAs viewers moved away from, with when each may retire (recorded at each announcement). */
  retiringOf(domain: string): Promise<RetiringAuthority[]>;
  saveRetiring(domain: string, entries: RetiringAuthority[]): Promise<unknown>;
  /** CAs a retirement removed from the domain's trust points: never trusted again by a later migration. */
  retiredOf(domain: string): Promise<string[]>;
  saveRetired(domain: string, authorityArns: string[], migrationId: string): Promise<unknown>;
}

/** The EventBridge event "viewer CA ready" (detail-type ViewerCaReady): public facts only. */
export interface ViewerCaReadyDetail {
  domain: string;
  migrationId: string;
  authorityArn: string;
  certificates: Array<{ subject: string; fingerprint: string; notAfter: string }>;
  trustStores: string[];
  passthroughOrigins: string[];
  announcedAt: string;
  /** The CA(s) viewers move away from stay trusted until then. */
  retiring: string[];
  retireAfter: string;
}

export interface ViewerMigrationDeps {
  domains: readonly ViewerTrustDomain[];
  now: () => Date;
  /** The CA's certificate followed by its chain (GetCertificateAuthorityCertificate), PEM. */
  authorityChainPem(authorityArn: string): Promise<string>;
  /**
   * Whether the CA can still issue (DescribeCertificateAuthority: Status, LastStateChangeAt): a retirement
   * waits for a previous CA to stop issuing (core retirementDecision).
   */
  authorityIssuance(authorityArn: string): Promise<AuthorityIssuance>;
  trustStore(trustStoreId: string): ViewerTrustStorePoint;
  /** The passthrough origins' viewer bundle: the S3 object (and secret) origin-sync reads. */
  passthroughTargets(domain: PlannedDomain): TrustTarget[];
  /**
   * Each passthrough origin's answer to a viewer certificate from `authorityArn`, forwarded as CloudFront
   * forwards it (RFC 9440 headers) over CloudFront's origin-mTLS connection. The probe key never leaves it.
   */
  proveOrigins(domain: PlannedDomain, authorityArn: string): Promise<OriginProof[]>;
  store: ViewerMigrationStorePort;
  notify(notification: Notification): Promise<unknown>;
  /** Puts the ViewerCaReady event on the service's bus. */
  announce(detail: ViewerCaReadyDetail): Promise<unknown>;
  faults?: StepFaults;
  log?: (message: string, data?: Record<string, unknown>) => void;
}

export interface ViewerMigrationOutcome {
  migrationId: string;
  status: ViewerMigrationStatus;
  reason?: string;
  retireAfter?: string;
}

type Ending = Omit<Extract<ViewerMigrationEvent, { type: "viewer-ended" }>, "type" | "at">;

/** One migration as its steps see it. */
interface Migration {
  readonly request: ViewerMigrationRequest;
  readonly deps: ViewerMigrationDeps;
  readonly state: ViewerMigrationState;
  act<T>(name: string, run: () => Promise<T>): Promise<T>;
  record<E extends ViewerMigrationEvent>(name: string, produce: () => Promise<E>): Promise<E>;
  wait(name: string, seconds: number): Promise<void>;
  control(name: string, seconds: number): ReturnType<typeof controlWindow>;
}

function openMigration(
  input: ViewerMigrationInput,
  ctx: workflow.Context,
  deps: ViewerMigrationDeps,
): Migration {
  const request: ViewerMigrationRequest = {
    migrationId: input.migrationId,
    domain: input.domain,
    action: input.action,
    actor: input.actor,
    reason: input.reason,
    ...(input.dryRun ? { dryRun: true } : {}),
  };
  let state = initialViewerState(request.migrationId);
  let sequence = 0;
  const act = <T>(name: string, run: () => Promise<T>) => durableStep(ctx, deps.faults, name, run);
  return {
    request,
    deps,
    get state() {
      return state;
    },
    act,
    async record(name, produce) {
      const event = await act(name, async () => {
        const produced = await produce();
        await deps.store.record(request, applyViewerEvent(state, produced), produced, sequence);
        return produced;
      });
      state = applyViewerEvent(state, event);
      sequence += 1;
      return event;
    },
    wait: (name, seconds) => ctx.wait(name, { seconds }),
    control: (name, seconds) =>
      controlWindow(ctx, act, name, seconds, (control) =>
        deps.store.setControl(request.migrationId, control),
      ),
  };
}

export async function runViewerMigration(
  input: ViewerMigrationInput,
  ctx: workflow.Context,
  deps: ViewerMigrationDeps,
): Promise<ViewerMigrationOutcome> {
  const m = openMigration(input, ctx, deps);
  const lock = await m.act("viewer:lock", () => deps.store.acquireLock(input.domain, input.migrationId));
  if (!lock.acquired) {
    return end(
      m,
      {
        status: "refused",
        reason: ViewerMigrationReason.Locked,
        detail: `migration ${lock.heldBy} of viewer trust domain ${input.domain} is running`,
      },
      { locked: false },
    );
  }
  const touched = new Set<string>();
  let ending: Ending;
  try {
    ending = await migrate(m, touched);
  } catch (error) {
    // A step that failed for good (its retries spent): restore what this run may have written, end failed.
    ending = await restoreAndFail(
      m,
      touched,
      ViewerMigrationReason.StepFailed,
      (error as Error).message.slice(0, 1_000),
    );
  }
  return end(m, ending, { locked: true });
}

/**
 * `touched`: the trust points this run has written or started to write (by name), the ones a restore puts
 * back. Filled outside steps from checkpointed progress only, so a replay fills it the same way.
 */
async function migrate(m: Migration, touched: Set<string>): Promise<Ending> {
  const planned = await m.record("viewer:plan", () => planMigration(m));
  if (planned.type === "viewer-ended") return planned;
  const plan = planned.plan;
  if (m.request.dryRun) return { status: "dry-run" };

  for (const [index, wave] of plan.trustStoreWaves.entries()) {
    const asked = await rollbackAsked(m, touched, `wave:${index + 1}`);
    if (asked) return asked;
    const failed = await publishTrustStores(m, touched, index + 1, wave);
    if (failed) return failed;
  }
  if (plan.passthrough) {
    const asked = await rollbackAsked(m, touched, "passthrough");
    if (asked) return asked;
    await publishPassthrough(m, touched, plan.trustStoreWaves.length + 1);
  }

  const unproved = await prove(m, touched, "viewer:prove");
  if (unproved) return unproved;

  const settings = plan.settings;
  if (m.request.action === "migrate" && settings.approval === "before-announce") {
    const decision = await m.control("viewer:approval", settings.approvalTimeoutSeconds);
    await m.record("viewer:approval:decision", async () => ({
      type: "viewer-control",
      at: m.deps.now().toISOString(),
      action: decision.action,
      ...(decision.action === "timeout" ? {} : { actor: decision.actor, reason: decision.reason }),
    }));
    if (decision.action !== "approve") {
      const why =
        decision.action === "timeout"
          ? `approval did not come within ${settings.approvalTimeoutSeconds} s`
          : `${decision.actor} asked for a rollback: ${decision.reason}`;
      return restoreAndFail(m, touched, ViewerMigrationReason.RollbackRequested, why, "rolled-back");
    }
    // The approval may have waited hours: what was proved then is proved again before anything is announced.
    const stale = await prove(m, touched, "viewer:reprove", { once: true });
    if (stale) return stale;
  }
  // The last safe point: after it the announcement (or retirement) is made and cannot be taken back; a
  // rollback asked for from here on finds the migration ended (GET shows it announced).
  const asked = await rollbackAsked(m, touched, "proved");
  if (asked) return asked;
  return m.request.action === "migrate" ? announce(m, touched, plan) : retire(m);
}

// ---- plan ----------------------------------------------------------------------------------------------

class PlanRefusal extends Error {
  readonly reason: ViewerMigrationReason;
  constructor(reason: ViewerMigrationReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The domain as the settings name it now: read by the plan only (later steps follow the plan's copy). */
function configuredDomain(m: Migration): ViewerTrustDomain {
  const domain = m.deps.domains.find((d) => d.name === m.request.domain);
  if (!domain) {
    const known = m.deps.domains.map((d) => d.name).join(", ") || "none";
    throw new PlanRefusal(
      ViewerMigrationReason.Refused,
      `no viewer trust domain named "${m.request.domain}" (configured: ${known})`,
    );
  }
  return domain;
}

function plannedDomain(domain: ViewerTrustDomain): PlannedDomain {
  return {
    name: domain.name,
    trustStoreIds: [...domain.trustStoreIds],
    ...(domain.passthrough
      ? {
          passthrough: {
            bucketKey: domain.passthrough.bucketKey,
            ...(domain.passthrough.bundleSecretName
              ? { bundleSecretName: domain.passthrough.bundleSecretName }
              : {}),
            origins: domain.passthrough.origins.map((o) => ({ ...o })),
          },
        }
      : {}),
    maxViewerCertificateLifetimeDays: domain.maxViewerCertificateLifetimeDays,
    retirementGraceSeconds: domain.retirementGraceSeconds,
    proofTimeoutSeconds: domain.proofTimeoutSeconds,
    proofIntervalSeconds: domain.proofIntervalSeconds,
    approval: domain.approval,
    approvalTimeoutSeconds: domain.approvalTimeoutSeconds,
  };
}

type Authorities = ViewerMigrationPlan["authorities"];

/** A previous CA that may not retire yet, as a refusal or a plan names it. */
const waitingText = (w: WaitingAuthority) =>
  `${w.authorityArn}: ${w.because}${w.retireAfter ? `, may retire after ${w.retireAfter}` : ""}`;

/** Which CAs the trust points hold before this run and after it, by role, and the CAs still waiting. */
async function authoritiesFor(
  m: Migration,
  domain: ViewerTrustDomain,
): Promise<{
  authorities: Authorities;
  to: string;
  waiting: WaitingAuthority[];
}> {
  const { current, next, previous } = domain.authorities;
  const retired = new Set(await m.deps.store.retiredOf(domain.name));
  const back = [current, ...(next ? [next] : []), ...previous].filter((arn) => retired.has(arn));
  if (back.length > 0) {
    throw new PlanRefusal(
      ViewerMigrationReason.Refused,
      `${back.join(", ")} left this domain's trust points in a retirement: it is never trusted again (remove it from authorities)`,
    );
  }
  if (m.request.action === "migrate") {
    if (!next) {
      throw new PlanRefusal(
        ViewerMigrationReason.Refused,
        `viewer trust domain ${domain.name} names no authorities.next: set the CA viewers move to, then migrate`,
      );
    }
    // A migration away from `current` was announced already: viewers may hold certificates from the CA it
    // moved to, and a run from settings that were not moved on could restore a bundle without that CA.
    const announced = (await m.deps.store.retiringOf(domain.name)).find((r) => r.authorityArn === current);
    if (announced) {
      throw new PlanRefusal(
        ViewerMigrationReason.Refused,
        `migration ${announced.migrationId} announced the move away from ${current} already: move the settings ` +
          `on (authorities.current = the CA it moved to, ${current} in authorities.previous) before migrating again`,
      );
    }
    return {
      authorities: { kept: [current, ...previous], added: [next], removed: [] },
      to: next,
      waiting: [],
    };
  }
  const decision = retirementDecision(previous, await m.deps.store.retiringOf(domain.name), m.deps.now(), {
    authorities: await Promise.all(previous.map((arn) => m.deps.authorityIssuance(arn))),
    delaySeconds: retirementDelaySeconds(domain),
  });
  if (decision.retire.length === 0) {
    const when = decision.waiting.map(waitingText).join("; ");
    throw new PlanRefusal(
      ViewerMigrationReason.TooEarly,
      decision.waiting.length === 0
        ? `viewer trust domain ${domain.name} lists no previous CA to retire`
        : `no previous CA may retire yet (viewer certificates it issued may still be valid): ${when}`,
    );
  }
  return {
    authorities: {
      kept: [current, ...(next ? [next] : []), ...decision.waiting.map((w) => w.authorityArn)],
      added: [],
      removed: decision.retire,
    },
    to: current,
    waiting: decision.waiting,
  };
}

/** The bundle every trust point gets (`after`), and the one each held before this run (`before`). */
async function bundles(
  m: Migration,
  authorities: Authorities,
  limited: boolean,
): Promise<{ before: TrustBundle; after: TrustBundle }> {
  const arns = [...new Set([...authorities.kept, ...authorities.added, ...authorities.removed])];
  const chains = new Map(
    await Promise.all(arns.map(async (arn) => [arn, await m.deps.authorityChainPem(arn)] as const)),
  );
  const pems = (list: string[]) => list.map((arn) => chains.get(arn)!);
  const after = computeTrustBundle({
    current: pems(authorities.kept),
    incoming: pems(authorities.added),
    now: m.deps.now(),
    ...(limited ? { limits: TRUST_TARGET_LIMITS.cloudfrontTrustStore } : {}),
  });
  return { before: await beforeBundle(m, authorities, chains), after };
}

/**
 * What the trust points held before this run: the CAs kept and the ones it removes. Expired ones are allowed
 * (a retirement may remove a CA that already expired, and a restore must work whatever expired since the
 * plan), so nothing is checked against now here.
 */
async function beforeBundle(
  m: Migration,
  authorities: Authorities,
  known: ReadonlyMap<string, string> = new Map(),
): Promise<TrustBundle> {
  const arns = [...new Set([...authorities.kept, ...authorities.removed])];
  const pems = await Promise.all(arns.map(async (arn) => known.get(arn) ?? m.deps.authorityChainPem(arn)));
  return computeTrustBundle({ current: pems, now: new Date(0) });
}

/**
 * The CAs a trust point holds now that the new bundle would drop without a retirement allowing it: a CA
 * removed from `previous` too early, or one added outside mtls-rotator (a partner's). A trust store this
 * service never wrote shows nothing (CloudFront does not say which bundle it loaded): it is not judged.
 */
async function unallowedDrops(
  m: Migration,
  domain: PlannedDomain,
  before: TrustBundle,
  after: TrustBundle,
  removable: Set<string>,
): Promise<string[]> {
  const kept = new Set(after.entries.map((e) => e.fingerprint));
  const stores = domain.trustStoreIds.map((id) => m.deps.trustStore(id));
  const points: TrustTarget[] = [...stores, ...m.deps.passthroughTargets(domain)];
  const drops: string[] = [];
  for (const point of points) {
    const held = await point.read();
    if (!held) {
      // A store this service never wrote (published by hand, by other tooling): CloudFront gives only its
      // count of CA certificates. More than the domain's CAs make means CAs the domain does not name, which
      // the publish (and a restore) would drop.
      const store = stores.find((s) => s.name === point.name);
      const counted = store ? (await store.status()).caCertificates : undefined;
      if (counted !== undefined && counted > before.entries.length)
        drops.push(
          `${counted - before.entries.length} CA certificate(s) the domain's CAs do not account for from ` +
            `${point.name} (CloudFront counts ${counted}, the domain's CAs make ${before.entries.length})`,
        );
      continue;
    }
    for (const entry of entriesOf(held))
      if (!kept.has(entry.fingerprint) && !removable.has(entry.fingerprint))
        drops.push(`${entry.subject} (${entry.fingerprint.slice(0, 16)}) from ${point.name}`);
  }
  return [...new Set(drops)];
}

async function planMigration(
  m: Migration,
): Promise<Extract<ViewerMigrationEvent, { type: "viewer-planned" | "viewer-ended" }>> {
  const at = m.deps.now();
  try {
    const configured = configuredDomain(m);
    const domain = plannedDomain(configured);
    const { authorities, to, waiting } = await authoritiesFor(m, configured);
    const { before, after } = await bundles(m, authorities, domain.trustStoreIds.length > 0);
    const removable = new Set(
      before.entries.map((e) => e.fingerprint).filter((f) => !after.entries.some((a) => a.fingerprint === f)),
    );
    const drops = await unallowedDrops(m, domain, before, after, removable);
    if (drops.length > 0) {
      throw new PlanRefusal(
        ViewerMigrationReason.Refused,
        `the new bundle would drop CA certificates no retirement allows: ${drops.slice(0, 5).join("; ")}` +
          `${drops.length > 5 ? ` and ${drops.length - 5} more` : ""} (list their CA in authorities.previous, or retire it first)`,
      );
    }
    const delay = retirementDelaySeconds(domain);
    const plan: ViewerMigrationPlan = {
      domain: domain.name,
      settings: domain,
      authorities,
      before: { sha256: before.sha256 },
      action: m.request.action,
      fromAuthorityArns:
        m.request.action === "migrate" ? [configured.authorities.current] : authorities.removed,
      toAuthorityArn: to,
      bundle: {
        sha256: after.sha256,
        bytes: after.bytes,
        certificates: after.entries.map((e) => ({
          subject: e.subject,
          fingerprint: e.fingerprint,
          notAfter: e.notAfter,
        })),
      },
      trustStoreWaves: trustStoreWaves(domain.trustStoreIds, configured.canaryTrustStores),
      ...(domain.passthrough
        ? {
            passthrough: {
              bundleTargets: m.deps.passthroughTargets(domain).map((t) => t.name),
              origins: domain.passthrough.origins.map((o) => o.name),
            },
          }
        : {}),
      retirement:
        m.request.action === "migrate"
          ? {
              afterAnnouncementSeconds: delay,
              earliestIfAnnouncedNow: retireAfter(at, domain).toISOString(),
              note:
                `${configured.authorities.current} stays trusted until ${domain.maxViewerCertificateLifetimeDays} days ` +
                `(the longest viewer certificate lifetime) + ${domain.retirementGraceSeconds} s after "viewer CA ready", ` +
                "and as long after it stops issuing (disabled in AWS Private CA)",
            }
          : {
              afterAnnouncementSeconds: delay,
              earliestIfAnnouncedNow: at.toISOString(),
              note:
                `retiring ${authorities.removed.join(", ")}` +
                (waiting.length > 0 ? `; still trusted: ${waiting.map(waitingText).join("; ")}` : ""),
            },
    };
    return { type: "viewer-planned", at: at.toISOString(), plan };
  } catch (error) {
    if (error instanceof PlanRefusal || error instanceof TrustBundleError) {
      return {
        type: "viewer-ended",
        at: at.toISOString(),
        status: "refused",
        reason: error instanceof PlanRefusal ? error.reason : ViewerMigrationReason.Refused,
        detail: error.message,
      };
    }
    throw error;
  }
}

/**
 * The bundles of this run, recomputed inside a step (never checkpointed) from the plan's CA ARNs, and
 * checked against the plan: a CA whose certificate changed since (re-issued, re-keyed) is refused.
 */
async function plannedBundles(m: Migration): Promise<{ before: TrustBundle; after: TrustBundle }> {
  const plan = m.state.plan!;
  const computed = await bundles(m, plan.authorities, plan.settings.trustStoreIds.length > 0);
  if (computed.after.sha256 !== plan.bundle.sha256) {
    throw Object.assign(
      new Error(
        `the viewer bundle changed since the plan (${plan.bundle.sha256.slice(0, 12)} -> ${computed.after.sha256.slice(0, 12)}): a CA certificate of domain ${plan.domain} changed`,
      ),
      { retryable: false },
    );
  }
  return computed;
}

// ---- publish -------------------------------------------------------------------------------------------

/** One wave of trust stores, one step each (so a retry re-writes one store, not the wave). */
async function publishTrustStores(
  m: Migration,
  touched: Set<string>,
  wave: number,
  ids: string[],
): Promise<Ending | undefined> {
  const results: TrustPointResult[] = [];
  for (const id of ids) {
    touched.add(trustStoreName(m, id));
    const outcome = await m.act(`viewer:publish:${id}`, async () => {
      const { after } = await plannedBundles(m);
      const store = m.deps.trustStore(id);
      try {
        const written = await store.write(after);
        return {
          ok: true as const,
          result: {
            trustPoint: store.name,
            ok: true,
            changed: written.changed,
            ...(written.version ? { version: written.version } : {}),
          },
        };
      } catch (error) {
        const failed = error as { code?: string; reason?: string; message: string };
        // CloudFront refused the bundle (the store ended `failed`): final, reported with its reason.
        if (failed.code === "TrustStoreFailed") {
          return { ok: false as const, trustPoint: store.name, reason: failed.reason ?? failed.message };
        }
        throw error;
      }
    });
    if (!outcome.ok) {
      await m.record(`viewer:publish:${id}:failed`, async () => ({
        type: "viewer-trust-failed",
        at: m.deps.now().toISOString(),
        trustPoint: outcome.trustPoint,
        reason: outcome.reason,
      }));
      return restoreAndFail(
        m,
        touched,
        ViewerMigrationReason.TrustStoreFailed,
        `CloudFront trust store ${id} failed to load the bundle: ${outcome.reason}`,
      );
    }
    results.push(outcome.result);
  }
  await m.record(`viewer:wave:${wave}`, async () => ({
    type: "viewer-trust-published",
    at: m.deps.now().toISOString(),
    wave,
    results,
  }));
  return undefined;
}

const trustStoreName = (m: Migration, id: string) => m.deps.trustStore(id).name;

async function publishPassthrough(m: Migration, touched: Set<string>, wave: number): Promise<void> {
  const targets = m.deps.passthroughTargets(m.state.plan!.settings);
  for (const target of targets) touched.add(target.name);
  const results = await m.act("viewer:publish:passthrough", async () => {
    const { after } = await plannedBundles(m);
    const out: TrustPointResult[] = [];
    for (const target of targets) {
      const written = await target.write(after);
      out.push({
        trustPoint: target.name,
        ok: true,
        changed: written.changed,
        ...(written.version ? { version: written.version } : {}),
      });
    }
    return out;
  });
  await m.record(`viewer:wave:${wave}`, async () => ({
    type: "viewer-trust-published",
    at: m.deps.now().toISOString(),
    wave,
    results,
  }));
}

// ---- prove ---------------------------------------------------------------------------------------------

/**
 * Proof that every trust point accepts what viewers will present: each trust store `active` and still
 * holding this run's bundle (no other writer since), with every CA of the plan's bundle; each passthrough
 * origin accepting a viewer certificate from the CA viewers move to (retire: the CA in service) forwarded as
 * CloudFront forwards it, and refusing one from a CA nobody trusts (an origin that accepts anything proves
 * nothing). Origins pick their bundle up on their own schedule (origin-sync), so the proof is repeated until
 * the plan's deadline (`once`: a single attempt, after an approval).
 */
async function prove(
  m: Migration,
  touched: Set<string>,
  name: string,
  options: { once?: boolean } = {},
): Promise<Ending | undefined> {
  const plan = m.state.plan!;
  const settings = plan.settings;
  let deadline = Number.POSITIVE_INFINITY;
  for (let attempt = 1; ; attempt++) {
    const proved = await m.record(`${name}:${attempt}`, async () => {
      const expected = new Set(plan.bundle.certificates.map((c) => c.fingerprint));
      const trustStores = await Promise.all(
        plan.trustStoreWaves.flat().map(async (id) => {
          const store = m.deps.trustStore(id);
          const [{ status }, bundlePem] = await Promise.all([store.status(), store.verifiedBundle()]);
          const held = new Set(bundlePem ? entriesOf(bundlePem).map((e) => e.fingerprint) : []);
          return { trustStoreId: id, status, trustsNewCa: [...expected].every((f) => held.has(f)) };
        }),
      );
      const origins = plan.passthrough ? await m.deps.proveOrigins(settings, plan.toAuthorityArn) : [];
      const ok =
        trustStores.every((s) => s.status === "active" && s.trustsNewCa) && origins.every((o) => o.accepted);
      return { type: "viewer-proved", at: m.deps.now().toISOString(), attempt, ok, trustStores, origins };
    });
    if (proved.ok) return undefined;
    // The deadline runs from the first attempt (recorded, so a replay computes the same one).
    if (attempt === 1) deadline = Date.parse(proved.at) + settings.proofTimeoutSeconds * 1000;
    if (options.once || Date.parse(proved.at) + settings.proofIntervalSeconds * 1000 > deadline) {
      const refused = [
        ...proved.trustStores
          .filter((s) => s.status !== "active" || !s.trustsNewCa)
          .map(
            (s) =>
              `trust store ${s.trustStoreId} (${s.status}${s.trustsNewCa ? "" : ", bundle without the CA or changed by another writer"})`,
          ),
        ...proved.origins
          .filter((o) => !o.accepted)
          .map(
            (o) =>
              `origin ${o.origin} (${o.status ?? o.error ?? "no answer"}${o.status !== null && o.error ? `: ${o.error}` : ""})`,
          ),
      ];
      return restoreAndFail(
        m,
        touched,
        ViewerMigrationReason.ProofFailed,
        `not proved${options.once ? " again after the approval" : ` within ${settings.proofTimeoutSeconds} s (${attempt} attempts)`}: ${refused.join("; ")}`,
      );
    }
    const asked = await rollbackAsked(m, touched, `${name}:${attempt}`);
    if (asked) return asked;
    await m.wait(`${name}:${attempt}:wait`, settings.proofIntervalSeconds);
  }
}

/**
 * A safe point: a rollback an operator asked for since the last one (recorded by POST
 * /viewer-migrations/{id}/rollback while no approval was open) is recorded in the history, and every trust
 * point this run reached gets its previous bundle back, as after a refused approval. Nothing is ever
 * half-published: the points are between publishes and between proof attempts.
 */
async function rollbackAsked(m: Migration, touched: Set<string>, point: string): Promise<Ending | undefined> {
  const asked = await m.act(
    `viewer:rollback-check:${point}`,
    async () => (await m.deps.store.rollbackRequestOf(m.request.migrationId)) ?? null,
  );
  if (!asked) return undefined;
  await m.record(`viewer:rollback:${point}`, async () => ({
    type: "viewer-control",
    at: m.deps.now().toISOString(),
    action: "rollback",
    actor: asked.actor,
    reason: asked.reason,
  }));
  return restoreAndFail(
    m,
    touched,
    ViewerMigrationReason.RollbackRequested,
    `${asked.actor} asked for a rollback: ${asked.reason}`,
    "rolled-back",
  );
}

/** A bundle's CA certificates (an unreadable bundle holds none the proof could count). */
function entriesOf(bundlePem: string): Array<{ fingerprint: string; subject: string }> {
  try {
    return computeTrustBundle({ current: [bundlePem], now: new Date(0) }).entries;
  } catch {
    return [];
  }
}

// ---- announce / retire ---------------------------------------------------------------------------------

async function announce(m: Migration, touched: Set<string>, plan: ViewerMigrationPlan): Promise<Ending> {
  const settings = plan.settings;
  // The time is taken once, in its own step, so that the event and the record say the same.
  const at = await m.act("viewer:announce:at", async () => m.deps.now().toISOString());
  const retireAt = retireAfter(new Date(at), settings).toISOString();
  // The event first: should EventBridge refuse it for good, nothing is recorded as announced (no retirement
  // time exists for a CA nobody was told to move away from) and every trust point is restored.
  try {
    await m.act("viewer:announce:event", async () => {
      await m.deps.announce({
        domain: plan.domain,
        migrationId: m.request.migrationId,
        authorityArn: plan.toAuthorityArn,
        certificates: plan.bundle.certificates,
        trustStores: plan.trustStoreWaves.flat(),
        passthroughOrigins: plan.passthrough?.origins ?? [],
        announcedAt: at,
        retiring: plan.fromAuthorityArns,
        retireAfter: retireAt,
      });
      return true;
    });
  } catch (error) {
    return restoreAndFail(
      m,
      touched,
      ViewerMigrationReason.StepFailed,
      `the ViewerCaReady event was not put: ${(error as Error).message.slice(0, 500)}`,
    );
  }
  await m.record("viewer:announce", async () => {
    await m.deps.store.saveRetiring(
      plan.domain,
      plan.fromAuthorityArns.map((authorityArn) => ({
        authorityArn,
        retireAfter: retireAt,
        migrationId: m.request.migrationId,
      })),
    );
    return {
      type: "viewer-announced",
      at,
      authorityArn: plan.toAuthorityArn,
      retireAfter: retireAt,
      retiring: plan.fromAuthorityArns,
    };
  });
  return { status: "announced" };
}

async function retire(m: Migration): Promise<Ending> {
  const plan = m.state.plan!;
  await m.record("viewer:retired", async () => {
    const { before, after } = await plannedBundles(m);
    const kept = new Set(after.entries.map((e) => e.fingerprint));
    await m.deps.store.saveRetired(plan.domain, plan.authorities.removed, m.request.migrationId);
    return {
      type: "viewer-retired",
      at: m.deps.now().toISOString(),
      removed: before.entries
        .filter((e) => !kept.has(e.fingerprint))
        .map((e) => ({ subject: e.subject, fingerprint: e.fingerprint, notAfter: e.notAfter })),
    };
  });
  return { status: "retired" };
}

// ---- restore -------------------------------------------------------------------------------------------

/**
 * Every trust point this run wrote or started to write (`touched`) gets the bundle it held before: the
 * plan's CAs before this run (`before`), one step per point; a restore that fails is reported and does not
 * stop the others. Trust points this run never reached are left alone.
 */
async function restoreAndFail(
  m: Migration,
  touched: Set<string>,
  reason: ViewerMigrationReason,
  detail: string,
  status: ViewerMigrationStatus = "failed",
): Promise<Ending> {
  const plan = m.state.plan;
  if (plan && touched.size > 0) {
    const points: TrustTarget[] = [
      ...plan.trustStoreWaves.flat().map((id) => m.deps.trustStore(id)),
      ...(plan.passthrough ? m.deps.passthroughTargets(plan.settings) : []),
    ].filter((point) => touched.has(point.name));
    const results: TrustPointResult[] = [];
    for (const point of points) {
      const result = await m
        .act(`viewer:restore:${point.name}`, async (): Promise<TrustPointResult> => {
          // Only what the points held before: a CA that expired since the plan must not stop a restore.
          const written = await point.write(await beforeBundle(m, plan.authorities));
          return { trustPoint: point.name, ok: true, changed: written.changed };
        })
        .catch(
          (error: unknown): TrustPointResult => ({
            trustPoint: point.name,
            ok: false,
            error: (error as Error).message.slice(0, 500),
          }),
        );
      results.push(result);
    }
    await m.record("viewer:restored", async () => ({
      type: "viewer-trust-restored",
      at: m.deps.now().toISOString(),
      results,
    }));
  }
  return { status, reason, detail };
}

async function end(
  m: Migration,
  ending: Ending,
  options: { locked: boolean },
): Promise<ViewerMigrationOutcome> {
  if (m.state.status === "running")
    await m.record("viewer:end", async () => ({
      type: "viewer-ended",
      at: m.deps.now().toISOString(),
      ...ending,
    }));
  const state = m.state;
  const event = notificationEventOf(state.status);
  if (event) {
    await m
      .act("viewer:notify", async () => {
        await m.deps.notify(viewerNotification(event, m.request, state));
        return true;
      })
      .catch((error: unknown) => m.deps.log?.("notification failed", { error: (error as Error).message }));
  }
  if (options.locked) {
    await m.act("viewer:unlock", () => m.deps.store.releaseLock(m.request.domain, m.request.migrationId));
  }
  return {
    migrationId: m.request.migrationId,
    status: state.status,
    ...(state.reason ? { reason: state.reason } : {}),
    ...(state.announced ? { retireAfter: state.announced.retireAfter } : {}),
  };
}

function notificationEventOf(status: ViewerMigrationStatus): NotificationEvent | undefined {
  switch (status) {
    case "announced":
      return "viewer-ca-ready";
    case "retired":
      return "viewer-ca-retired";
    case "failed":
    case "rolled-back":
      return "viewer-migration-failed";
    default:
      return undefined;
  }
}

/** The migration's notification: public facts, bounded like every other. */
export function viewerNotification(
  event: NotificationEvent,
  request: ViewerMigrationRequest,
  state: ViewerMigrationState,
): Notification {
  const plan = state.plan;
  const authorityArn = plan?.toAuthorityArn ?? "unknown";
  const headline = `${request.domain}`;
  return certificateNotification(
    event as Parameters<typeof certificateNotification>[0],
    authorityArn,
    headline,
    {
      migrationId: request.migrationId,
      domain: request.domain,
      action: request.action,
      status: state.status,
      ...(state.reason ? { reason: state.reason } : {}),
      ...(state.detail ? { detail: state.detail } : {}),
      ...(plan
        ? { from: plan.fromAuthorityArns, to: plan.toAuthorityArn, bundleSha256: plan.bundle.sha256 }
        : {}),
      ...(state.announced
        ? { retireAfter: state.announced.retireAfter, retiring: state.announced.retiring }
        : {}),
      ...(state.restored
        ? {
            restored: state.restored.map((r) => ({
              trustPoint: r.trustPoint,
              ok: r.ok,
              ...(r.error ? { error: r.error } : {}),
            })),
          }
        : {}),
      see: {
        api: `GET /viewer-migrations/${request.migrationId}`,
        cli: `mtls-rotator viewer-migration ${request.migrationId}`,
      },
    },
  );
}

/** The Lambda handler for the workflow, with dependencies built once per cold start. */
export function createViewerMigrationWorkflow(
  sst: typeof workflow,
  deps: ViewerMigrationDeps | (() => ViewerMigrationDeps),
): ReturnType<typeof workflow.handler> {
  let built: ViewerMigrationDeps | undefined;
  const resolve = () => {
    built ??= typeof deps === "function" ? deps() : deps;
    return built;
  };
  return sst.handler<ViewerMigrationInput, ViewerMigrationOutcome>((input, ctx) =>
    runViewerMigration(input, ctx, resolve()),
  );
}
