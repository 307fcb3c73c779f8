/**
 * The HTTP API's requests and answers as the CLI sends and reads them: every type here is inferred from
 * the API's contract (functions/api/schemas.ts), requests as the schemas take them (`z.input`), answers as
 * they describe them (`z.output`). A change of the contract is a type error here, not a surprise in an
 * operator's terminal. Type-only imports: nothing of zod is loaded for them.
 */
import type * as z from "zod/mini";
import type {
  CertificateAnswer as CertificateAnswerSchema,
  CertificateListAnswer,
  CertificatePath,
  CertificateView as CertificateViewSchema,
  ControlAnswer as ControlAnswerSchema,
  DryRunAnswer as DryRunAnswerSchema,
  ListCertificatesQuery,
  ListRotationsQuery,
  RollbackBody,
  RotationAnswer,
  RotationListAnswer,
  RotationStartedAnswer,
  ScanAcceptedAnswer,
  StartRotationBody,
} from "../api/schemas.ts";

/** One certificate as the API answers it. */
export type CertificateView = z.output<typeof CertificateViewSchema>;
/** A certificate as GET /certificates/{id} names it: its id (UUID) or full ARN. */
export type CertificateRef = z.input<typeof CertificatePath>["id"];
export type CertificateAnswer = z.output<typeof CertificateAnswerSchema>;

/**
 * The filters and page of GET /certificates, as the API reads them: the query carries them as text
 * (`due=true`, `limit=100`), and the client writes each value as such.
 */
export type CertificateQuery = z.output<typeof ListCertificatesQuery>;
/** One page of GET /certificates: `nextToken` when more certificates match. */
export type CertificateList = z.output<typeof CertificateListAnswer>;

export type StartRotationRequest = z.input<typeof StartRotationBody>;
export type ApprovalMode = NonNullable<StartRotationRequest["approval"]>;
export type RotationStarted = z.output<typeof RotationStartedAnswer>;
export type DryRunAnswer = z.output<typeof DryRunAnswerSchema>;
/** The plan of a dry run. */
export type RotationPlan = DryRunAnswer["plan"];
export type StartRotationAnswer = RotationStarted | DryRunAnswer;

/** The filters and page of GET /rotations (written as text, as for certificates). */
export type RotationQuery = z.output<typeof ListRotationsQuery>;
export type RotationList = z.output<typeof RotationListAnswer>;
export type RotationSummary = RotationList["rotations"][number];

/**
 * GET /rotations/{id}: the rotation's state and history, and the control point it waits at when the API
 * reports one (without it the CLI infers bake windows from the wave status and says when an approval may
 * be awaited).
 */
export type RotationDetail = z.output<typeof RotationAnswer>;
export type RotationState = RotationDetail["rotation"];
export type RotationStatus = RotationState["status"];
export type WaveState = RotationState["waves"][number];
export type DistributionState = WaveState["distributions"][number];
export type GateResult = NonNullable<WaveState["gate"]>;
export type RotationEvent = RotationDetail["history"][number];

/** An operator's decision at a control point: roll back, or approve the next wave. */
export type OperatorDecision = ControlAnswer["action"];
/** The body of POST /rotations/{id}/rollback and /approve. */
export type DecisionRequest = z.input<typeof RollbackBody>;
export type ControlAnswer = z.output<typeof ControlAnswerSchema>;
export type ScanAccepted = z.output<typeof ScanAcceptedAnswer>;

/** Everything the commands need from the API: one method per route. */
export interface RotatorApi {
  /** Where the API is, for messages. */
  readonly endpoint: string;
  /** One page of the certificates; follow `nextToken` for the rest (see paging.ts). */
  listCertificates(query?: CertificateQuery): Promise<CertificateList>;
  getCertificate(id: CertificateRef): Promise<CertificateAnswer>;
  startRotation(request: StartRotationRequest): Promise<StartRotationAnswer>;
  listRotations(query?: RotationQuery): Promise<RotationList>;
  getRotation(rotationId: string): Promise<RotationDetail>;
  control(rotationId: string, action: OperatorDecision, reason?: string): Promise<ControlAnswer>;
  scan(): Promise<ScanAccepted>;
}
