/**
 * The HTTP API's requests and answers as the CLI sends and reads them: every type here is inferred from
 * the API's contract (functions/api/schemas.ts) and named as the schema it comes from, requests as the
 * schemas take them (`z.input`), answers as they describe them (`z.output`). A change of the contract is a
 * type error here, not a surprise in an operator's terminal. Type-only imports: nothing of zod is loaded
 * for them.
 */
import type * as z from "zod/mini";
import type * as contract from "../api/schemas.ts";

/** One certificate as the API answers it. */
export type CertificateView = z.output<typeof contract.CertificateView>;
/** A certificate as GET /certificates/{id} names it: its id (UUID) or full ARN. */
export type CertificateRef = z.input<typeof contract.CertificatePath>["id"];
export type CertificateAnswer = z.output<typeof contract.CertificateAnswer>;

/**
 * The filters and page of GET /certificates, as the API reads them: the query carries them as text
 * (`due=true`, `limit=100`), and the client writes each value as such.
 */
export type ListCertificatesQuery = z.output<typeof contract.ListCertificatesQuery>;
/** One page of GET /certificates: `nextToken` when more certificates match. */
export type CertificateListAnswer = z.output<typeof contract.CertificateListAnswer>;

export type StartRotationBody = z.input<typeof contract.StartRotationBody>;
export type ApprovalMode = NonNullable<StartRotationBody["approval"]>;
export type RotationStartedAnswer = z.output<typeof contract.RotationStartedAnswer>;
export type DryRunAnswer = z.output<typeof contract.DryRunAnswer>;
/** The plan of a dry run. */
export type RotationPlanView = DryRunAnswer["plan"];
export type StartRotationAnswer = RotationStartedAnswer | DryRunAnswer;

/** The filters and page of GET /rotations (written as text, as for certificates). */
export type ListRotationsQuery = z.output<typeof contract.ListRotationsQuery>;
export type RotationListAnswer = z.output<typeof contract.RotationListAnswer>;
export type RotationSummaryView = RotationListAnswer["rotations"][number];

/**
 * GET /rotations/{id}: the rotation's state and history, and the control point it waits at when the API
 * reports one (without it the CLI infers bake windows from the wave status and says when an approval may
 * be awaited).
 */
export type RotationAnswer = z.output<typeof contract.RotationAnswer>;
export type RotationStateView = RotationAnswer["rotation"];
export type WaveView = RotationStateView["waves"][number];
export type DistributionView = WaveView["distributions"][number];
export type GateResultView = NonNullable<WaveView["gate"]>;
export type RotationEventView = RotationAnswer["history"][number];

/** The body of POST /rotations/{id}/rollback and /approve. */
export type DecisionBody = z.input<typeof contract.RollbackBody> & z.input<typeof contract.ApproveBody>;
/** Where a rollback or an approval was delivered; `action` is the operator's decision. */
export type ControlAnswer = z.output<typeof contract.ControlAnswer>;
export type ScanAcceptedAnswer = z.output<typeof contract.ScanAcceptedAnswer>;
/** GET /viewer-mtls: the last full scan's viewer mTLS inventory and drift. */
export type ViewerMtlsAnswer = z.output<typeof contract.ViewerMtlsAnswer>;

/** The body of POST /viewer-revocations (a serial as pasted; the API takes its normal form). */
export type RevokeViewerBody = z.input<typeof contract.RevokeViewerBody>;
/** A revocation as the list records it: why, when, who. */
export type ViewerRevocationView = z.output<typeof contract.ViewerRevocationView>;
export type ViewerRevokedAnswer = z.output<typeof contract.ViewerRevokedAnswer>;
export type ViewerRevocationAnswer = z.output<typeof contract.ViewerRevocationAnswer>;
export type ViewerReinstatedAnswer = z.output<typeof contract.ViewerReinstatedAnswer>;
/** POST /viewer-migrations and its answer. */
export type StartViewerMigrationBody = z.input<typeof contract.StartViewerMigrationBody>;
export type ViewerMigrationAction = NonNullable<StartViewerMigrationBody["action"]>;
export type ViewerMigrationStartedAnswer = z.output<typeof contract.ViewerMigrationStartedAnswer>;
/** The page of GET /viewer-migrations (written as text, as for certificates). */
export type ListViewerMigrationsQuery = z.output<typeof contract.ListViewerMigrationsQuery>;
export type ViewerMigrationListAnswer = z.output<typeof contract.ViewerMigrationListAnswer>;
/** GET /viewer-migrations/{id}: the request, the state (plan, proof, announcement) and history. */
export type ViewerMigrationAnswer = z.output<typeof contract.ViewerMigrationAnswer>;
export type ViewerMigrationStateView = ViewerMigrationAnswer["state"];
export type ViewerMigrationPlanView = NonNullable<ViewerMigrationStateView["plan"]>;
export type ViewerMigrationEventView = ViewerMigrationAnswer["history"][number];
/** Where an approval or a rollback of a viewer migration was delivered. */
export type ViewerControlAnswer = z.output<typeof contract.ViewerControlAnswer>;

/** Everything the commands need from the API: one method per route. */
export interface RotatorApi {
  /** Where the API is, for messages. */
  readonly endpoint: string;
  /** One page of the certificates; follow `nextToken` for the rest (see paging.ts). */
  listCertificates(query?: ListCertificatesQuery): Promise<CertificateListAnswer>;
  getCertificate(id: CertificateRef): Promise<CertificateAnswer>;
  startRotation(request: StartRotationBody): Promise<StartRotationAnswer>;
  listRotations(query?: ListRotationsQuery): Promise<RotationListAnswer>;
  getRotation(rotationId: string): Promise<RotationAnswer>;
  control(rotationId: string, action: ControlAnswer["action"], reason?: string): Promise<ControlAnswer>;
  scan(): Promise<ScanAcceptedAnswer>;
  revokeViewer(request: RevokeViewerBody): Promise<ViewerRevokedAnswer>;
  getViewerRevocation(serial: string): Promise<ViewerRevocationAnswer>;
  reinstateViewer(serial: string, reason: string): Promise<ViewerReinstatedAnswer>;
  startViewerMigration(request: StartViewerMigrationBody): Promise<ViewerMigrationStartedAnswer>;
  listViewerMigrations(query?: ListViewerMigrationsQuery): Promise<ViewerMigrationListAnswer>;
  getViewerMigration(migrationId: string): Promise<ViewerMigrationAnswer>;
  controlViewerMigration(
    migrationId: string,
    action: ViewerControlAnswer["action"],
    reason?: string,
  ): Promise<ViewerControlAnswer>;
  viewerMtls(): Promise<ViewerMtlsAnswer>;
}
