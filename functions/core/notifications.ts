/**
 * Notifications: a short human subject, a JSON body and attributes subscribers can filter on
 * (`event`, `severity`, `certificateArn`). Built from rotation state only, which holds no key material.
 *
 * Bounded at any fleet size: a body carries counts, the first few names and where to read the rest (the
 * rotation in the API and the CLI), never a list that grows with the number of distributions; every list is
 * cut to {@link NAMED_ITEMS} (its length beside it, `<name>Count`), every text to {@link MAX_TEXT}
 * characters, and the whole body is at most {@link MAX_NOTIFICATION_BYTES} as compact JSON (SNS takes 256 KB;
 * an email subscriber reads the first lines).
 */
import type { AuthorityCertificate } from "./authority-expiry.ts";
import { gateCounts } from "./gate.ts";
import type { DistributionState, GateResult, RotationState } from "./rotation.ts";
import { type ViewerDriftFinding, viewerDriftSeverity } from "./viewer-inventory.ts";

/** The largest notification body, compact JSON in UTF-8 bytes. */
export const MAX_NOTIFICATION_BYTES = 16 * 1024;
/** How many entries of a list a notification names; the rest are counted. */
export const NAMED_ITEMS = 10;
/** The longest text a notification carries (an error, a detail); the rest is in the rotation's history. */
export const MAX_TEXT = 1_000;

export const NotificationEvent = {
  CertificateExpiring: "certificate-expiring",
  RotationStarted: "rotation-started",
  TrustPublished: "trust-published",
  WaveCompleted: "wave-completed",
  RotationCompleted: "rotation-completed",
  RolledBack: "rolled-back",
  RotationFailed: "rotation-failed",
  RotationAborted: "rotation-aborted",
  DriftFound: "drift-found",
  /** Viewer mTLS drift: a passthrough policy not forwarding the certificate, a failed trust store, a quota near. */
  ViewerMtlsDrift: "viewer-mtls-drift",
  /** Every viewer trust point trusts the new viewer CA, proved: it may issue viewer certificates. */
  ViewerCaReady: "viewer-ca-ready",
  /** A viewer CA migration or retirement failed (trust points restored) or was rolled back. */
  ViewerMigrationFailed: "viewer-migration-failed",
  /** CAs viewers moved away from left every viewer trust point. */
  ViewerCaRetired: "viewer-ca-retired",
  /** A CA certificate the service relies on crossed an expiry threshold: plan a CA migration. */
  CaExpiring: "ca-expiring",
  /** A replacement was issued for fewer days than asked: its CA's chain expires sooner. */
  ValidityCapped: "validity-capped",
  /** An operator put a viewer certificate's serial on the edge's revocation list. */
  ViewerCertificateRevoked: "viewer-certificate-revoked",
  /** An operator took a viewer certificate's serial off the revocation list: it connects again. */
  ViewerCertificateReinstated: "viewer-certificate-reinstated",
} as const;
export type NotificationEvent = (typeof NotificationEvent)[keyof typeof NotificationEvent];

export type Severity = "info" | "warning" | "critical";

/** Events told about a rotation (rotationNotification); the others are about a resource. */
type RotationNotificationEvent =
  | "rotation-started"
  | "trust-published"
  | "wave-completed"
  | "rotation-completed"
  | "rolled-back"
  | "rotation-failed"
  | "rotation-aborted";

export interface Notification {
  event: NotificationEvent;
  severity: Severity;
  certificateArn: string;
  /** < 100 printable ASCII characters, no line breaks (SNS rules). */
  subject: string;
  body: Record<string, unknown>;
}

const SEVERITY: Record<NotificationEvent, Severity> = {
  "certificate-expiring": "warning",
  "rotation-started": "info",
  "trust-published": "info",
  "wave-completed": "info",
  "rotation-completed": "info",
  "rolled-back": "critical",
  "rotation-failed": "critical",
  "rotation-aborted": "warning",
  "drift-found": "warning",
  "viewer-mtls-drift": "warning",
  "viewer-ca-ready": "info",
  "viewer-migration-failed": "critical",
  "viewer-ca-retired": "info",
  "ca-expiring": "warning",
  "validity-capped": "warning",
  // Both change who may connect at the edge: whoever watches the list hears of every change.
  "viewer-certificate-revoked": "warning",
  "viewer-certificate-reinstated": "warning",
};

/** An expiry alert's severity: critical from the 7-day threshold on (leaves and CA certificates alike). */
export function expirySeverity(thresholdDays: number): Severity {
  return thresholdDays <= 7 ? "critical" : "warning";
}

/** What a CA certificate's expiry, or a leaf capped by it, asks of the operator. */
export const CA_MIGRATION_ADVICE =
  "plan a CA migration: once this CA certificate expires, every certificate chaining to it fails validation, " +
  "and none is issued that outlives it; move to a CA whose chain outlives it before then (README: CA migrations)";

/** SNS subjects: printable ASCII, no line breaks, fewer than 100 characters (the SDK model's wording). */
export function toSubject(text: string): string {
  // Line breaks and tabs become spaces before anything else is stripped, so words stay apart.
  const ascii = text
    .normalize("NFKD")
    .replace(/\s/g, " ")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/ +/g, " ")
    .trim();
  return ascii.length < 100 ? ascii : `${ascii.slice(0, 96)}...`;
}

function shortArn(arn: string): string {
  return arn.split("/").pop() ?? arn;
}

/** Where the whole rotation can be read: the API route and the CLI command. */
export function rotationPointer(rotationId: string): { api: string; cli: string } {
  return { api: `GET /rotations/${rotationId}`, cli: `mtls-rotator watch ${rotationId}` };
}

function truncateText(text: string): string {
  return text.length <= MAX_TEXT
    ? text
    : `${text.slice(0, MAX_TEXT)}… (${text.length - MAX_TEXT} more characters)`;
}

/**
 * `value` with every list cut to its first NAMED_ITEMS entries (an object's list `key` gets `keyCount`
 * beside it when cut) and every text to MAX_TEXT characters, to any depth.
 */
export function bounded(value: unknown): unknown {
  if (typeof value === "string") return truncateText(value);
  if (Array.isArray(value)) return value.slice(0, NAMED_ITEMS).map(bounded);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = bounded(item);
    if (Array.isArray(item) && item.length > NAMED_ITEMS && !(`${key}Count` in value)) {
      out[`${key}Count`] = item.length;
    }
  }
  return out;
}

const bytesOf = (body: unknown) => Buffer.byteLength(JSON.stringify(body), "utf8");

/**
 * The body bounded; should it still pass MAX_NOTIFICATION_BYTES (many long fields), only the fields named
 * in `essential` are kept, with `truncated: true`.
 */
function boundedBody(body: Record<string, unknown>, essential: readonly string[]): Record<string, unknown> {
  const cut = bounded(body) as Record<string, unknown>;
  if (bytesOf(cut) <= MAX_NOTIFICATION_BYTES) return cut;
  const kept = Object.fromEntries(essential.filter((k) => k in cut).map((k) => [k, cut[k]]));
  return { ...kept, truncated: true };
}

/** Counts per value of `key` (e.g. distributions per outcome). */
function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Distributions an operator must look at: a failed rollback, or any recorded error. */
const needsAttention = (d: DistributionState) => d.outcome === "rollback-failed" || d.error !== undefined;

/**
 * The rotation in numbers, bounded at any fleet size: distributions and waves counted by outcome and status,
 * the first distributions that need attention (with their error), the current wave's first distributions
 * (`currentWave`, for a wave's notification).
 */
function rotationSummary(state: RotationState, wave: unknown): Record<string, unknown> {
  const all = state.waves.flatMap((w) => w.distributions.map((d) => ({ wave: w.index, d })));
  const attention = all.filter(({ d }) => needsAttention(d));
  const current = typeof wave === "number" ? state.waves.find((w) => w.index === wave) : undefined;
  return {
    distributions: { total: all.length, ...countBy(all, ({ d }) => d.outcome) },
    waves: { total: state.waves.length, ...countBy(state.waves, (w) => w.status) },
    ...(current
      ? {
          currentWave: {
            index: current.index,
            status: current.status,
            distributions: current.distributions.slice(0, NAMED_ITEMS).map((d) => ({
              id: d.distributionId,
              outcome: d.outcome,
            })),
            distributionCount: current.distributions.length,
          },
        }
      : {}),
    attention: attention.slice(0, NAMED_ITEMS).map(({ wave: index, d }) => ({
      wave: index,
      id: d.distributionId,
      outcome: d.outcome,
      ...(d.error ? { error: d.error } : {}),
    })),
    attentionCount: attention.length,
  };
}

function isGateResult(value: unknown): value is GateResult {
  const v = value as Partial<GateResult> | null;
  return typeof v === "object" && v !== null && Array.isArray(v.checks) && Array.isArray(v.probes);
}

/**
 * A wave's gate in a notification: its verdict, every check and probe counted, the first failures named
 * (a recorded gate names its failures first; an older record's whole lists are counted the same way).
 */
export function gateNotice(gate: GateResult): Record<string, unknown> {
  const failing = gate.checks.filter((c) => !c.passed);
  const refused = gate.probes.filter((p) => !p.accepted);
  return {
    passed: gate.passed,
    ...(gate.verdict ? { verdict: gate.verdict } : {}),
    counts: gateCounts(gate),
    failing: failing.slice(0, NAMED_ITEMS).map((c) => ({
      id: c.distributionId,
      ...(c.reason ? { reason: c.reason } : {}),
      errorRate: c.errorRate,
      threshold: c.threshold,
      ...(c.datapoints !== undefined ? { datapoints: c.datapoints } : {}),
    })),
    refused: refused.slice(0, NAMED_ITEMS).map((p) => ({
      target: p.target,
      status: p.status,
      ...(p.error ? { error: p.error } : {}),
    })),
  };
}

export function rotationNotification(
  event: NotificationEvent,
  state: RotationState,
  detail: Record<string, unknown> = {},
): Notification {
  const certificateArn = state.request?.certificateArn ?? "unknown";
  const headline: Record<NotificationEvent, string> = {
    "certificate-expiring": "certificate expiring",
    "rotation-started": "rotation started",
    "trust-published": "trust bundle published",
    "wave-completed": `wave ${String(detail.wave ?? "?")} completed`,
    "rotation-completed": "rotation completed",
    "rolled-back": "rotation rolled back",
    "rotation-failed": "rotation failed",
    "rotation-aborted": "rotation aborted before any swap",
    "drift-found": "drift found",
    "viewer-mtls-drift": "viewer mTLS drift found",
    "viewer-ca-ready": "viewer CA ready",
    "viewer-migration-failed": "viewer CA migration failed",
    "viewer-ca-retired": "viewer CA retired",
    "ca-expiring": "CA certificate expiring",
    "validity-capped": "certificate validity capped by its CA",
    "viewer-certificate-revoked": VIEWER_REVOCATION_HEADLINES["viewer-certificate-revoked"],
    "viewer-certificate-reinstated": VIEWER_REVOCATION_HEADLINES["viewer-certificate-reinstated"],
  };
  return {
    event,
    severity: SEVERITY[event],
    certificateArn,
    subject: toSubject(`[mtls-rotator] ${headline[event]}: ${shortArn(certificateArn)}`),
    body: boundedBody(
      {
        event,
        rotationId: state.rotationId,
        status: state.status,
        certificateArn,
        newCertificateArn: state.issued?.certificateArn,
        reason: state.rollback?.reason ?? state.outcome?.reason,
        ...rotationSummary(state, detail.wave),
        see: rotationPointer(state.rotationId),
        ...detail,
        ...(isGateResult(detail.gate) ? { gate: gateNotice(detail.gate) } : {}),
      },
      [
        "event",
        "rotationId",
        "status",
        "certificateArn",
        "newCertificateArn",
        "reason",
        "distributions",
        "waves",
        "see",
      ],
    ),
  };
}

/**
 * Notifications about one resource (a certificate's expiry alert or drift, a viewer CA's migration): built
 * from public facts only. `certificateArn` names the resource (a certificate or a CA ARN).
 */
export function certificateNotification(
  event: Exclude<NotificationEvent, RotationNotificationEvent>,
  certificateArn: string,
  headline: string,
  body: Record<string, unknown>,
  severity: Severity = SEVERITY[event],
): Notification {
  return {
    event,
    severity,
    certificateArn,
    subject: toSubject(`[mtls-rotator] ${headline}: ${shortArn(certificateArn)}`),
    body: boundedBody({ event, certificateArn, ...body }, ["event", "certificateArn"]),
  };
}

/**
 * A viewer mTLS drift finding (`viewer-mtls-drift`), its severity by kind (core/viewer-inventory.ts
 * viewerDriftSeverity): names the distribution (and behaviour and policy) or the trust store it is about.
 */
export function viewerDriftNotification(finding: ViewerDriftFinding): Notification {
  return certificateNotification(
    NotificationEvent.ViewerMtlsDrift,
    finding.resourceArn,
    `viewer mTLS ${finding.kind}`,
    { ...finding },
    viewerDriftSeverity(finding.kind),
  );
}

/**
 * A CA certificate crossing an expiry threshold (`ca-expiring`): which certificate (subject, fingerprint,
 * root or intermediate), when it expires, which tracked CAs rely on it, and the advice. Public facts only,
 * and compact: no PEM. Its `certificateArn` attribute is the first CA relying on it (the body names all).
 */
export function caExpiringNotification(
  certificate: AuthorityCertificate,
  alert: { thresholdDays: number; daysLeft: number },
): Notification {
  const event = NotificationEvent.CaExpiring;
  const certificateArn = certificate.authorityArns[0] ?? "unknown";
  const { subject, issuer, role, fingerprint, serial, notAfter, authorityArns } = certificate;
  return {
    event,
    severity: expirySeverity(alert.thresholdDays),
    certificateArn,
    subject: toSubject(
      `[mtls-rotator] ${role} CA certificate expires in ${Math.max(alert.daysLeft, 0)} days: ${subject}`,
    ),
    body: boundedBody(
      {
        event,
        certificateArn,
        caCertificate: { subject, issuer, role, fingerprint, serial, notAfter },
        thresholdDays: alert.thresholdDays,
        daysLeft: alert.daysLeft,
        authorityArns,
        advice: CA_MIGRATION_ADVICE,
      },
      ["event", "certificateArn", "caCertificate", "thresholdDays", "daysLeft", "advice"],
    ),
  };
}

/** The events of the viewer revocation list (POST and DELETE /viewer-revocations). */
export type ViewerRevocationEvent = "viewer-certificate-revoked" | "viewer-certificate-reinstated";

const VIEWER_REVOCATION_HEADLINES: Record<ViewerRevocationEvent, string> = {
  "viewer-certificate-revoked": "viewer certificate revoked",
  "viewer-certificate-reinstated": "viewer certificate reinstated",
};

/** A revocation as the list records it (functions/adapters/viewer-revocations.ts RevocationRecord). */
export interface RecordedRevocation {
  reason: string;
  revokedAt: string;
  revokedBy?: string;
}

/** Where a serial's revocation can be read: the API route and the CLI command. */
export function viewerRevocationPointer(serial: string): { api: string; cli: string } {
  return { api: `GET /viewer-revocations/${serial}`, cli: `mtls-rotator viewer-revocation ${serial}` };
}

/**
 * A change of the viewer revocation list, for the audit trail: which serial (normal form), who changed it,
 * when and why, and for a reinstatement the revocation it took back. Its `certificateArn` attribute is the
 * revocation store's ARN (a viewer certificate has no ARN); the subject names the serial. Serials, reasons
 * and principals only: no certificate, no key.
 */
export function viewerRevocationNotification(
  event: ViewerRevocationEvent,
  change: {
    serial: string;
    storeArn: string;
    actor: string;
    reason: string;
    at: string;
    /** The reinstatement's: the revocation taken off the list. */
    revocation?: RecordedRevocation;
  },
): Notification {
  const { serial, storeArn, actor, reason, at, revocation } = change;
  return {
    event,
    severity: SEVERITY[event],
    certificateArn: storeArn,
    subject: toSubject(`[mtls-rotator] ${VIEWER_REVOCATION_HEADLINES[event]}: serial ${serial}`),
    body: boundedBody(
      {
        event,
        serial,
        storeArn,
        actor,
        reason,
        at,
        ...(revocation ? { revocation } : {}),
        takesEffect:
          "at CloudFront's edge locations once the store's change has propagated; connections already established are not cut",
        see: viewerRevocationPointer(serial),
      },
      ["event", "serial", "storeArn", "actor", "at", "see"],
    ),
  };
}
