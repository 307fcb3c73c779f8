/**
 * Notifications: a short human subject, a JSON body and attributes subscribers can filter on
 * (`event`, `severity`, `certificateArn`). Built from rotation state only, which holds no key material.
 */
import type { RotationState } from "./rotation.ts";

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
} as const;
export type NotificationEvent = (typeof NotificationEvent)[keyof typeof NotificationEvent];

export type Severity = "info" | "warning" | "critical";

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
};

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
  };
  return {
    event,
    severity: SEVERITY[event],
    certificateArn,
    subject: toSubject(`[mtls-rotator] ${headline[event]}: ${shortArn(certificateArn)}`),
    body: {
      event,
      rotationId: state.rotationId,
      status: state.status,
      certificateArn,
      newCertificateArn: state.issued?.certificateArn,
      reason: state.rollback?.reason ?? state.outcome?.reason,
      waves: state.waves.map((w) => ({
        index: w.index,
        status: w.status,
        distributions: w.distributions.map((d) => ({
          id: d.distributionId,
          outcome: d.outcome,
          error: d.error,
        })),
      })),
      ...detail,
    },
  };
}

/** Certificate-level notifications (expiry alerts, drift): built from inventory data only. */
export function certificateNotification(
  event: Extract<NotificationEvent, "certificate-expiring" | "drift-found">,
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
    body: { event, certificateArn, ...body },
  };
}
