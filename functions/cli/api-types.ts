/**
 * The HTTP API's answers as the CLI reads them (the contract functions/api/ implements). Rotation state and
 * history are the core's own types: the API stores and returns the fold of the workflow's events.
 */
import type { RotationEvent, RotationState, RotationStatus } from "../core/rotation.ts";
import type { WaveSize } from "../core/waves.ts";

export interface CertificateDrift {
  kind: string;
  distributionId: string;
  originId: string;
  detail: string;
}

export interface CertificateView {
  id: string;
  arn: string;
  subject: string;
  issuer: string;
  keyAlgorithm: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  daysToExpiry: number;
  managed: boolean;
  retired: boolean;
  due: boolean;
  usage: Array<{ distributionId: string; originId: string }>;
  decision: { reason: string; message: string; renewAt?: string };
  alerted: number[];
  drift?: CertificateDrift[];
  lastSeenAt: string;
}

export interface CertificateQuery {
  due?: boolean;
  expiringWithinDays?: number;
  managed?: boolean;
}

export type ApprovalMode = "none" | "between-waves";

export interface StartRotationRequest {
  certificateArn: string;
  dryRun?: boolean;
  waves?: { canarySize?: number; waves?: WaveSize[] };
  bakeSeconds?: number;
  approval?: ApprovalMode;
  reason?: string;
}

export interface RotationStarted {
  rotationId: string;
  started: boolean;
  status: RotationStatus;
}

export interface RotationPlan {
  certificateArn: string;
  serial: string;
  subject: string;
  keyAlgorithm: string;
  notAfter: string;
  issuer: { authorityArn: string };
  trustTargets: string[];
  waves: Array<{
    index: number;
    canary: boolean;
    distributions: Array<{ distributionId: string; originIds: string[] }>;
  }>;
  expectedDurationSeconds: { typical: number; worstCase: number };
}

export interface DryRunAnswer {
  dryRun: true;
  plan: RotationPlan;
}

export type StartRotationAnswer = RotationStarted | DryRunAnswer;

export interface RotationSummary {
  rotationId: string;
  certificateArn: string;
  status: RotationStatus;
  startedAt: string;
  updatedAt: string;
}

export interface RotationQuery {
  status?: string;
  limit?: number;
  nextToken?: string;
}

export interface RotationList {
  rotations: RotationSummary[];
  nextToken?: string;
}

export interface RotationDetail {
  rotation: RotationState;
  history: RotationEvent[];
  /**
   * The control point the rotation waits at, when the API reports it (the store keeps it); without it the
   * CLI infers bake windows from the wave status and says when an approval may be awaited.
   */
  control?: { kind: "bake" | "approval"; wave: number };
}

export type ControlAction = "rollback" | "approve";

export interface ControlAnswer {
  rotationId: string;
  action: ControlAction;
  kind: "bake" | "approval";
  wave: number;
}

/** Everything the commands need from the API: one method per route. */
export interface RotatorApi {
  /** Where the API is, for messages. */
  readonly endpoint: string;
  listCertificates(query?: CertificateQuery): Promise<{ certificates: CertificateView[] }>;
  getCertificate(id: string): Promise<{ certificate: CertificateView }>;
  startRotation(request: StartRotationRequest): Promise<StartRotationAnswer>;
  listRotations(query?: RotationQuery): Promise<RotationList>;
  getRotation(rotationId: string): Promise<RotationDetail>;
  control(rotationId: string, action: ControlAction, reason?: string): Promise<ControlAnswer>;
  scan(): Promise<{ accepted: boolean }>;
}
