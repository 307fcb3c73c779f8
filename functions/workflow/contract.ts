/**
 * The rotation workflow's contract with the rest of the service: what starts a rotation, what the workflow is
 * given (its dependencies, built once per cold start), and what it answers.
 */
import type { AcmAdapter } from "../adapters/acm.ts";
import type { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import type { DistributionMetrics } from "../adapters/metrics.ts";
import type { SlotReserver } from "../adapters/pacer.ts";
import type { PrivateCaAdapter } from "../adapters/private-ca.ts";
import type { RotationSettings } from "../config/settings.ts";
import type { Notification } from "../core/notifications.ts";
import type { PresentedBy } from "../core/presented-by.ts";
import type {
  ControlPointKind,
  DistributionClaim,
  PlannedTargetsPage,
  RotationEvent,
  RotationRequest,
  RotationState,
} from "../core/rotation.ts";
import type { IssuanceDeps } from "../issuance/issue-certificate.ts";
import type { probeAll } from "../probe/origin-probe.ts";
import type { AcknowledgementStore } from "../trust/acknowledgements.ts";
import type { TrustTarget } from "../trust/publish-bundle.ts";

export interface RotationInput extends RotationRequest {
  rotationId: string;
  /**
   * The scan's listing of the distributions presenting the certificate (core/presented-by.ts): the plan uses
   * it instead of listing the account again when it is small and fresh. Not part of the request's record.
   */
  presentedBy?: PresentedBy;
}

export interface ControlPoint {
  callbackId: string;
  kind: ControlPointKind;
  wave: number;
}

/** What the workflow needs from the rotation store (DynamoDB). */
export interface RotationStorePort {
  acquireLock(
    certificateArn: string,
    rotationId: string,
    options?: { leaseSeconds?: number },
  ): Promise<{ acquired: true } | { acquired: false; heldBy: string }>;
  releaseLock(certificateArn: string, rotationId: string): Promise<unknown>;
  /** One rotation at a time per distribution (RotationStore.claimDistributions). */
  claimDistributions(
    rotationId: string,
    certificateArn: string,
    distributionIds: readonly string[],
    options: { leaseSeconds: number },
  ): Promise<{ claimed: true } | { claimed: false; heldBy: DistributionClaim[] }>;
  releaseDistributions(rotationId: string, distributionIds: readonly string[]): Promise<unknown>;
  record(state: RotationState, event: RotationEvent, sequence: number): Promise<unknown>;
  /** A page of the distributions a plan too large for one step keeps in the store (RotationReads). */
  plannedTargetsPage(
    rotationId: string,
    options: { limit: number; next?: string; summary: RotationState },
  ): Promise<PlannedTargetsPage>;
  setControl(rotationId: string, control: ControlPoint | undefined): Promise<unknown>;
  /**
   * A rollback an operator asked for between control points (absent: none asked for), read at the
   * rotation's safe points: each swap, each deploy poll and each gate poll of a wave.
   */
  rollbackRequestOf?(rotationId: string): Promise<{ actor: string; reason: string } | undefined>;
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
  /**
   * The account's pacer (functions/adapters/pacer.ts): slots for Private CA IssueCertificate and ACM
   * ImportCertificate shared by every execution, so rotations due together stay within the quotas.
   */
  pacer: SlotReserver;
  /** In-process sleep before a paced call (the rest of the way to its slot); a real timer when absent. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The managed CAs (the configured one first, then those being migrated away from), each reached in its
   * own region: a retired certificate is revoked at the CA that issued it. Absent: the configured CA only.
   */
  authorities?: {
    authorityArns: string[];
    privateCaOf(authorityArn: string): Pick<PrivateCaAdapter, "authorityChainPem" | "revoke">;
  };
  trustTargets: TrustTarget[];
  /**
   * The bundle bucket's acknowledgements: the trust phase publishes the probe certificates there, the
   * preflight reads origins' acknowledgements (settings `preflight.proofs`). Absent: neither happens, and a
   * proof other than "probe" fails the preflight.
   */
  acknowledgements?: Pick<AcknowledgementStore, "publishProbeCertificates" | "read" | "bucket">;
  metrics: Pick<DistributionMetrics, "errorRates" | "errorRateReadings">;
  store: RotationStorePort;
  notify(notification: Notification): Promise<unknown>;
  /** Adds to a metric of the service's namespace (CloudWatch); absent: nothing is counted. */
  countMetric?(name: string, value: number): Promise<unknown>;
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
