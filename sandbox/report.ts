/**
 * The sandbox's JSON report: what ran, what it did, what it cost, and whether the scenario's expectations
 * held. Every field is documented in docs/sandbox.md ("The report"). It holds ARNs, serials, subjects,
 * names, counts and timings only: never key material.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { RotationPlan } from "../functions/workflow/plan.ts";
import type { AwsFaultReport } from "./aws-faults.ts";
import type { ForeignWriteReport } from "./foreign-writes.ts";
import type { MetricHistoryReport } from "./metric-history.ts";
import type { ScenarioExpectations } from "./scenario.ts";

/** 2: dry runs are `dryRuns[]` (the plan, as the API answers it), no longer rotations with status dry-run. */
export const REPORT_VERSION = 2;

export interface PhaseTiming {
  phase: string;
  /** ms since the start of the sandbox run. */
  startMs: number;
  durationMs: number;
}

export interface RotationReport {
  rotationId: string;
  certificate: string;
  certificateArn: string;
  /** Who asked for it: scan, acm-event, manual (several when triggers converged). */
  triggers: Array<{ source: string; actor: string; started: boolean; atMs: number }>;
  /** Final status in the rotation store. */
  status: string;
  reason?: string;
  detail?: string;
  newCertificateArn?: string;
  newSerial?: string;
  /** Key type of the certificate Private CA issued for it (read off the certificate itself). */
  newKeyType?: string;
  /** The durable execution: SUCCEEDED / FAILED (a rollback, abort or failure ends it FAILED on purpose). */
  execution: { status: string; invocations: number; error?: string };
  waves: Array<{
    index: number;
    canary: boolean;
    status: string;
    gatePassed?: boolean;
    distributions: Array<{ name: string; id: string; outcome: string }>;
  }>;
  preflightAttempts: number;
  /**
   * The pre-rotation 5xx error rate (percent) of each distribution it planned to change, by distribution
   * name, as its plan read it from CloudWatch (null: no datapoint): what the gate's thresholds are over.
   */
  baselines?: Record<string, number | null>;
  /**
   * The distributions it waited for while another rotation was changing them (history
   * waiting-for-distributions), as "<distribution> (rotation <id>)"; absent when it never waited.
   */
  waitedFor?: string[];
  phases: PhaseTiming[];
  durationMs?: number;
  /**
   * The last preflight attempt's verdict on each origin: the new certificate's answer (`status`, `error`),
   * the proof that counted and, for an acknowledgement, what it showed. Absent when it never probed.
   */
  preflight?: PreflightVerdict[];
}

export interface PreflightVerdict {
  /** "<distribution>/<origin>" */
  origin: string;
  accepted: boolean;
  reason?: string;
  proof?: string;
  /** What the new certificate got: an HTTP status, or none (`error` says why; null for an origin not probed). */
  status: number | null;
  error?: string;
  acknowledgement?: {
    ackId: string;
    accepted: boolean;
    reason: string;
    host?: string;
    bundleSha256?: string;
  };
}

/**
 * A dry run: the plan `planRotation` answered (what `POST /rotations` with `dryRun: true` returns), from
 * read-only calls. It started no rotation: no execution, no lock, no store write, no notification.
 */
export interface DryRunReport {
  certificate: string;
  actor: string;
  /** ms since the start of the sandbox run. */
  atMs: number;
  durationMs: number;
  /** The plan's waves with the scenario's distribution names, canary first. */
  waves: Array<{ index: number; canary: boolean; distributions: string[] }>;
  /** The scenario's name of the plan's issuer: "authority" or "nextAuthority". */
  issuer: string;
  /** The plan exactly as the API answers it (distribution ids, origin ids, ARNs). */
  plan: RotationPlan;
}

export interface OriginReport {
  name: string;
  originId: string;
  port: number;
  behaviour: Record<string, unknown>;
  /** Which certificate (name) the distribution presented to this origin at the start. */
  certificate?: string;
  initialCertificateArn?: string;
  finalCertificateArn?: string;
  /** "initial", "new from <rotation id>", "none" or "unknown". */
  finalCertificate: string;
  /** The edge's requests to this origin, and how many were refused (HTTP errors, transport failures, timeouts). */
  requests: number;
  refused: number;
  /** Of `refused`: the edge gave up waiting (`edge.requestTimeoutMs`). */
  timedOut: number;
  /**
   * The same counts per second of the run (by when the request was sent), from the first second the edge
   * sent this origin a request to the last, seconds without one included (as 0): a slow or dead origin
   * shows here, and "0 refused" can be read against how many requests each second had.
   */
  perSecond: EdgeSecond[];
  /** Issuing CAs in the bundle this origin trusts at the end (subjects). */
  trusts: string[];
  /** Whether the origin follows the published bundle with origin-sync at the end. */
  followsBundle: boolean;
  originSync?: { runs: number; updates: number; failures: number };
  /** An origin action changed it: when, to what, at which rotation moment. */
  changes?: Array<{ atMs: number; down: boolean; slowMs: number; at?: string }>;
  /** Edge-only: the port the edge reached it on (`port`, its configured address, drops everyone else). */
  edgePort?: number;
  /** Edge-only: when (ms since the start) something other than the edge connected to its address (dropped). */
  directConnections?: number[];
  /**
   * Proof "acknowledgement" or "both": its origin-sync's acknowledgements (`written`: runs that wrote one,
   * `notWritten`: runs that exited 7) and the last one in the bucket (public facts).
   */
  acknowledgement?: {
    ackId: string;
    key: string;
    written: number;
    notWritten: number;
    last?: { host: string; bundleSha256: string; acknowledgedAt: string; probes: number };
  };
}

/** The edge's requests to one origin in one second of the run. */
export interface EdgeSecond {
  /** Whole seconds since the start of the run: second 3 is from 3.0 s to 4.0 s. */
  second: number;
  requests: number;
  refused: number;
  timedOut: number;
}

/**
 * An origin's per-second counts as the report lists them: every second from its first to its last with
 * requests, the seconds between included as zeros (the edge lists only seconds with requests).
 */
export function everySecond(seconds: readonly EdgeSecond[]): EdgeSecond[] {
  if (seconds.length === 0) return [];
  const bySecond = new Map(seconds.map((s) => [s.second, s]));
  const first = Math.min(...bySecond.keys());
  const last = Math.max(...bySecond.keys());
  const out: EdgeSecond[] = [];
  for (let second = first; second <= last; second += 1) {
    const s = bySecond.get(second);
    out.push({ second, requests: s?.requests ?? 0, refused: s?.refused ?? 0, timedOut: s?.timedOut ?? 0 });
  }
  return out;
}

export interface ExpectationResult {
  name: string;
  passed: boolean;
  expected: unknown;
  actual: unknown;
}

export interface ActionReport {
  index: number;
  action: string;
  detail: string;
  outcome: "ok" | "failed";
  startMs: number;
  durationMs: number;
}

/** One version of a credential secret, by its public facts (no key, no certificate body). */
export interface CredentialVersionReport {
  versionId: string;
  certificateArn: string;
  serial: string;
  rotationId: string;
}

/**
 * A credential secret at the end of a run: the versions AWSCURRENT (in service) and AWSPREVIOUS (the
 * rollback record) point at, how many of its versions are not complete credentials (always 0: it is
 * written only at promotion), and where AWSPENDING is still attached (nowhere once every rotation ended).
 */
export interface CredentialSecretReport {
  name: string;
  versions: number;
  current?: CredentialVersionReport;
  previous?: CredentialVersionReport;
  incomplete: number;
  /** "credential secret" and/or "issuance secret" (`<name>/issuance`, a rotation's in-flight material). */
  pending: string[];
}

export interface SandboxReport {
  reportVersion: number;
  scenario: { name: string; description?: string; file?: string };
  sandbox: {
    startedAt: string;
    origins: "nginx" | "node";
    originsNote: string;
    node: string;
  };
  result: { passed: boolean; exitCode: number; timedOut: boolean; interrupted?: boolean; error?: string };
  expectations: ExpectationResult[];
  rotations: RotationReport[];
  /** Every dry run's plan, in order. */
  dryRuns: DryRunReport[];
  actions: ActionReport[];
  certificates: Array<{
    name: string;
    keyType: string;
    serial: string;
    subject: string;
    notAfter: string;
    initialArn: string;
    /** The ARNs the distributions present for this certificate's origins at the end. */
    finalArns: string[];
    /** What the certificate lineage's credential secret holds at the end. */
    credentialSecret: CredentialSecretReport;
  }>;
  authorities: Array<{
    ref: string;
    subject: string;
    keyType: string;
    arn: string;
    fingerprint: string;
    rootSubject: string;
    rootFingerprint: string;
  }>;
  distributions: Array<{ name: string; id: string; origins: OriginReport[] }>;
  /**
   * The edge's traffic, all origins together: requests, refused (timeouts included), timedOut; how often
   * each origin's loop sends (`intervalMs`), how many of an origin's requests may be open at once
   * (`maxInFlightPerOrigin`), and how long a request may take (`requestTimeoutMs`).
   */
  edge: {
    requests: number;
    refused: number;
    timedOut: number;
    intervalMs: number;
    maxInFlightPerOrigin: number;
    requestTimeoutMs: number;
  };
  notifications: Array<{ subject: string; event: string; severity: string; certificateArn: string }>;
  /** Calls the service made to AWS (the stand-ins' counters, by "service:Operation", faulted calls and
   * retries included) after the setup, less the origins' origin-sync calls. DynamoDB (dynalite) is not
   * counted. */
  awsCalls: Record<string, number>;
  /** Calls that were not the service's: building the world, and the origins' origin-sync polls. */
  awsCallsOutsideTheService: {
    setup: Record<string, number>;
    originSync: Record<string, number>;
    /** The sandbox's foreign writer (faults of kind foreignWrite), when it wrote. */
    foreignWrites?: Record<string, number>;
  };
  /**
   * Every AWS call of this run (setup and origin-sync included) checked against AWS's published service
   * models (botocore, standins/model/): how many, and how many violated them (each described). A run with
   * a violation fails.
   */
  modelChecks: { botocore: string; checked: number; violations: number; details: string[] };
  faults: {
    /** Throttle / 5xx faults: per rule, faults delivered out of the matching calls it decided on. */
    aws: AwsFaultReport[];
    crashes: Array<{ step: string; when: string; times: number; final?: boolean; delivered: number }>;
    /** Foreign writes (someone else changing a distribution during a swap / rollback) and the 412s after. */
    foreignWrites: ForeignWriteReport[];
  };
  /** CloudWatch history seeded before the run (the scenario's metricHistory), per distribution. */
  metricHistory: MetricHistoryReport[];
  trustBundle: { published: string[]; sha256?: string };
  scans: Array<{
    source: string;
    certificates: number;
    managed: number;
    due: number;
    alerts: number;
    drift: number;
    errors: string[];
    retiredAuthorities: string[];
  }>;
  timings: {
    totalMs: number;
    setupMs: number;
    actionsMs: number;
    /** Waiting for rotations still running after the last action. */
    drainMs: number;
    teardownMs: number;
  };
}

/** What the expectations are checked against (gathered while the world still runs). */
export interface Observed {
  timedOut: boolean;
  /**
   * Injected faults armed and how many of each were delivered: count faults (`times`) must deliver all;
   * rate faults (`rate`) deliver what their rate gives, and must have seen a matching call (`matched`).
   */
  faults: Array<{ fault: string; times?: number; rate?: number; matched?: number; delivered: number }>;
  /** Distributions a foreign writer changed, and whether its change is still there at the end. */
  foreignChanges: Array<{ distribution: string; kept: boolean }>;
  actions: ActionReport[];
  rotations: RotationReport[];
  rotationCount: number;
  /** Dry runs answered, in order, with their waves' distribution names and the replacement's key type. */
  dryRuns: Array<{ certificate: string; waves: string[][]; keyType: string }>;
  issuedCertificates: number;
  edgeRefused: number;
  refusingOrigins: string[];
  /** certificate name -> final ARNs of its origins, its initial ARN, the latest rotation's new ARN. */
  presenting: Record<string, { finalArns: string[]; initialArn: string; newArn?: string }>;
  awsCalls: Record<string, number>;
  /** AWS calls that violated AWS's published models (standins/model/), described. */
  modelViolations: string[];
  /** Authority refs (authority / nextAuthority) in the published bundle and in each following origin's. */
  bundles: Array<{ where: string; authorities: string[] }>;
  notificationEvents: string[];
  /** certificate name -> its lineage's credential secret at the end. */
  credentialSecrets: Record<string, CredentialSecretReport>;
  /**
   * "<distribution>/<origin>" -> acknowledgements its origin-sync wrote, and the latest rotation's last
   * preflight verdict on it (accepted, the acknowledgement's reason), for origins that acknowledge.
   */
  acknowledgements?: Record<string, { written: number; accepted: boolean; acknowledgement: string }>;
}

/**
 * Every expectation of the scenario, plus the three every run has (in time; no call AWS's models forbid;
 * every action completed).
 */
export function evaluateExpectations(
  expect: ScenarioExpectations | undefined,
  o: Observed,
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  const check = (name: string, passed: boolean, expected: unknown, actual: unknown) =>
    results.push({ name, passed, expected, actual });

  check("finished within timeoutSeconds", !o.timedOut, true, !o.timedOut);
  const failed = o.actions.filter((a) => a.outcome === "failed");
  check(
    "every action completed",
    failed.length === 0,
    "all ok",
    failed.length === 0 ? "all ok" : failed.map((a) => `actions[${a.index}] ${a.action}: ${a.detail}`),
  );
  if (o.faults.length > 0) {
    const undelivered = o.faults.filter((f) =>
      f.rate !== undefined ? (f.matched ?? 0) === 0 : f.delivered < (f.times ?? 1),
    );
    check(
      "every injected fault was delivered",
      undelivered.length === 0,
      "all delivered",
      undelivered.length === 0
        ? "all delivered"
        : undelivered.map((f) =>
            f.rate !== undefined
              ? `${f.fault}: no matching call (the run never reached it)`
              : `${f.fault}: ${f.delivered}/${f.times ?? 1} (the run never reached it)`,
          ),
    );
  }
  // The service never overwrites someone else's change to a distribution (it re-reads after a 412).
  if (o.foreignChanges.length > 0) {
    const lost = o.foreignChanges.filter((c) => !c.kept).map((c) => c.distribution);
    check(
      "no foreign change was overwritten",
      lost.length === 0,
      "every foreign change kept",
      lost.length === 0 ? "every foreign change kept" : lost.map((d) => `${d}: its foreign change is gone`),
    );
  }
  // Every run with a rotation: the credential secret holds only complete credentials, AWSCURRENT is the
  // latest completed rotation's credential (none before a first completed rotation), nothing is pending
  // (but the credential distributions still present after an incomplete rollback).
  if (!o.timedOut) {
    for (const [certificate, secret] of Object.entries(o.credentialSecrets)) {
      const own = o.rotations.filter((r) => r.certificate === certificate);
      if (own.length === 0) continue;
      const completed = own.filter((r) => r.status === "completed").at(-1);
      // A rollback that could not put every distribution back keeps the still-presented credential staged.
      const stuck = own.at(-1)?.reason === "RollbackIncomplete";
      const expected = {
        current: completed?.newCertificateArn ?? "none",
        incomplete: 0,
        pending: stuck ? ["issuance secret"] : [],
      };
      const actual = {
        current: secret.current?.certificateArn ?? "none",
        incomplete: secret.incomplete,
        pending: secret.pending,
      };
      check(
        `credential secret of ${certificate}`,
        JSON.stringify(actual) === JSON.stringify(expected),
        expected,
        actual,
      );
    }
  }
  if (!expect) return results;

  for (const wanted of expect.rotations ?? []) {
    const latest = o.rotations.filter((r) => r.certificate === wanted.certificate).at(-1);
    const phases = Object.fromEntries(
      Object.keys(wanted.maxPhaseSeconds ?? {}).map((phase) => {
        const timing = latest?.phases.find((p) => p.phase === phase);
        return [phase, timing ? Math.round(timing.durationMs) / 1000 : "not reached"];
      }),
    );
    const actual = latest
      ? {
          status: latest.status,
          ...(latest.reason ? { reason: latest.reason } : {}),
          ...(wanted.keyType ? { keyType: latest.newKeyType ?? "none issued" } : {}),
          ...(wanted.waited !== undefined ? { waited: latest.waitedFor !== undefined } : {}),
          ...(wanted.maxPhaseSeconds ? { maxPhaseSeconds: phases } : {}),
        }
      : "none";
    const passed =
      latest !== undefined &&
      latest.status === wanted.status &&
      (wanted.reason === undefined || latest.reason === wanted.reason) &&
      (wanted.keyType === undefined || latest.newKeyType === wanted.keyType) &&
      (wanted.waited === undefined || (latest.waitedFor !== undefined) === wanted.waited) &&
      Object.entries(wanted.maxPhaseSeconds ?? {}).every(([phase, max]) => {
        const seconds = phases[phase];
        return typeof seconds === "number" && seconds <= max;
      });
    check(`rotation of ${wanted.certificate}`, passed, wanted, actual);
  }
  for (const wanted of expect.dryRuns ?? []) {
    const latest = o.dryRuns.filter((d) => d.certificate === wanted.certificate).at(-1);
    const { certificate: _, ...asked } = wanted;
    const expected = Object.keys(asked).length > 0 ? asked : "planned";
    const actual = !latest
      ? "no dry run"
      : Object.keys(asked).length > 0
        ? {
            ...(wanted.waves ? { waves: latest.waves } : {}),
            ...(wanted.keyType ? { keyType: latest.keyType } : {}),
          }
        : "planned";
    const passed =
      latest !== undefined &&
      (wanted.waves === undefined || sameWaves(latest.waves, wanted.waves)) &&
      (wanted.keyType === undefined || latest.keyType === wanted.keyType);
    check(`dry run of ${wanted.certificate}`, passed, expected, actual);
  }
  if (expect.rotationCount !== undefined)
    check("rotationCount", o.rotationCount === expect.rotationCount, expect.rotationCount, o.rotationCount);
  if (expect.maxRefusals !== undefined)
    check("maxRefusals", o.edgeRefused <= expect.maxRefusals, `<= ${expect.maxRefusals}`, o.edgeRefused);
  if (expect.refusalsOnlyAt !== undefined) {
    const allowed = new Set(expect.refusalsOnlyAt);
    check(
      "refusalsOnlyAt",
      o.refusingOrigins.every((origin) => allowed.has(origin)),
      expect.refusalsOnlyAt,
      o.refusingOrigins,
    );
  }
  if (expect.issuedCertificates !== undefined)
    check(
      "issuedCertificates",
      o.issuedCertificates === expect.issuedCertificates,
      expect.issuedCertificates,
      o.issuedCertificates,
    );
  for (const [certificate, wanted] of Object.entries(expect.presenting ?? {})) {
    const seen = o.presenting[certificate];
    let actual: string;
    if (!seen || seen.finalArns.length === 0) actual = "no origin presents it";
    else if (seen.finalArns.every((arn) => arn === seen.initialArn)) actual = "old";
    else if (seen.newArn && seen.finalArns.every((arn) => arn === seen.newArn)) actual = "new";
    else actual = `mixed: ${[...new Set(seen.finalArns)].join(", ")}`;
    check(`presenting ${certificate}`, actual === wanted, wanted, actual);
  }
  for (const [call, count] of Object.entries(expect.awsCalls ?? {})) {
    const actual = o.awsCalls[call] ?? 0;
    check(`awsCalls ${call}`, actual === count, count, actual);
  }
  if (expect.trustBundle) {
    const contains = expect.trustBundle.contains ?? [];
    const excludes = expect.trustBundle.excludes ?? [];
    const wrong = o.bundles.flatMap((bundle) => [
      ...contains
        .filter((ref) => !bundle.authorities.includes(ref))
        .map((ref) => `${bundle.where} lacks ${ref}`),
      ...excludes
        .filter((ref) => bundle.authorities.includes(ref))
        .map((ref) => `${bundle.where} has ${ref}`),
    ]);
    check(
      "trustBundle (published, and every origin following it)",
      wrong.length === 0,
      expect.trustBundle,
      wrong.length === 0 ? o.bundles : wrong,
    );
  }
  for (const event of expect.notifications ?? [])
    check(
      `notification ${event}`,
      o.notificationEvents.includes(event),
      "sent",
      o.notificationEvents.includes(event) ? "sent" : "not sent",
    );
  for (const path of expect.acknowledged ?? []) {
    const seen = o.acknowledgements?.[path];
    const expected = { written: ">= 1", accepted: true, acknowledgement: "Acknowledged" };
    check(
      `acknowledged ${path}`,
      seen !== undefined && seen.written >= 1 && seen.accepted && seen.acknowledgement === "Acknowledged",
      expected,
      seen ?? "no acknowledgement proof",
    );
  }
  check(
    "no AWS call violated AWS's published models",
    o.modelViolations.length === 0,
    0,
    o.modelViolations.length === 0 ? 0 : o.modelViolations,
  );
  return results;
}

/** Same number of waves, each with the same distributions (order within a wave is not significant). */
function sameWaves(actual: string[][], wanted: string[][]): boolean {
  const key = (wave: string[]) => JSON.stringify([...wave].sort());
  return actual.length === wanted.length && actual.every((wave, i) => key(wave) === key(wanted[i]!));
}

/** `reports/sandbox/<scenario>.json` under `cwd`. */
export function defaultReportPath(scenarioName: string, cwd = process.cwd()): string {
  return resolve(cwd, "reports", "sandbox", `${scenarioName}.json`);
}

export async function writeReport(path: string, report: SandboxReport): Promise<string> {
  const absolute = resolve(path);
  await mkdir(dirname(absolute), { recursive: true });
  await writeFile(absolute, `${JSON.stringify(report, null, 2)}\n`);
  return absolute;
}
