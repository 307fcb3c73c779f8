/**
 * The HTTP API's answers as the CLI reads them (the contract functions/api/ implements). Where the server
 * has the type (the certificate view's schema, the plan, rotation summaries, state and history, control
 * answers) it is imported, type-only, so a change of the contract is a type error here, not a surprise in
 * an operator's terminal.
 */
import type { RotationSummary } from "../adapters/rotation-store.ts";
import type { CertificateListAnswer, CertificateView } from "../api/schemas.ts";
import type { RotationEvent, RotationState, RotationStatus } from "../core/rotation.ts";
import type { WaveSize } from "../core/waves.ts";
import type { ControlAction, ControlResult as ControlAnswer } from "../dispatch/control-rotation.ts";
import type { RotationPlan } from "../workflow/plan.ts";

/** One certificate as the API answers it (the API's own schema, so the CLI cannot drift from it). */
export type { CertificateView } from "../api/schemas.ts";

export interface CertificateQuery {
  due?: boolean;
  expiringWithinDays?: number;
  managed?: boolean;
  /** Certificates per page (the API's default when absent). */
  limit?: number;
  /** The nextToken of the previous page (valid with the same filters only). */
  nextToken?: string;
}

/** One page of GET /certificates: `nextToken` when more certificates match. */
export type CertificateList = CertificateListAnswer;

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

/** The plan of a dry run: the workflow's own plan (functions/workflow/plan.ts). */
export type { RotationPlan } from "../workflow/plan.ts";

export interface DryRunAnswer {
  dryRun: true;
  plan: RotationPlan;
}

export type StartRotationAnswer = RotationStarted | DryRunAnswer;

export type { RotationSummary } from "../adapters/rotation-store.ts";

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

export type { ControlAction, ControlResult as ControlAnswer } from "../dispatch/control-rotation.ts";

/** Everything the commands need from the API: one method per route. */
export interface RotatorApi {
  /** Where the API is, for messages. */
  readonly endpoint: string;
  /** One page of the certificates; follow `nextToken` for the rest (see paging.ts). */
  listCertificates(query?: CertificateQuery): Promise<CertificateList>;
  getCertificate(id: string): Promise<{ certificate: CertificateView }>;
  startRotation(request: StartRotationRequest): Promise<StartRotationAnswer>;
  listRotations(query?: RotationQuery): Promise<RotationList>;
  getRotation(rotationId: string): Promise<RotationDetail>;
  control(rotationId: string, action: ControlAction, reason?: string): Promise<ControlAnswer>;
  scan(): Promise<{ accepted: boolean }>;
}
