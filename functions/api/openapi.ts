/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the contract the handlers validate with and
 * answer by (schemas.ts ROUTES: each route's method, path, request schemas, answers and error statuses), so
 * the document and the behaviour cannot drift apart. What is written here is prose only: summaries,
 * descriptions, and which Lambda entry serves each route. `npm run openapi` writes it to docs/openapi.json;
 * a test fails when the committed document differs from what this generates.
 *
 * Request bodies are described as callers send them (zod "input"), path and query parameters by the values
 * their text stands for (as OpenAPI serializes parameters), answers as the API gives them ("output").
 */
import * as z from "zod/mini";
import {
  CertificateAnswer,
  CertificateListAnswer,
  CertificateView,
  ControlAnswer,
  DryRunAnswer,
  ErrorAnswer,
  GateResultView,
  GatewayMessage,
  PreflightComparisonView,
  ProbeResultView,
  Problem,
  RecordedReplacementKey,
  ROUTE_ANSWERS,
  RotationAnswer,
  RotationEventView,
  RotationListAnswer,
  RotationPlanView,
  RotationRequestView,
  RotationStartedAnswer,
  RotationStateView,
  RotationSummaryView,
  ScanAcceptedAnswer,
  TrustStoreView,
  ViewerControlAnswer,
  ViewerDistributionView,
  ViewerDriftView,
  ViewerMigrationAnswer,
  ViewerMigrationEventView,
  ViewerMigrationListAnswer,
  ViewerMigrationPlanView,
  ViewerMigrationRequestView,
  ViewerMigrationStartedAnswer,
  ViewerMigrationStateView,
  ViewerMigrationSummaryView,
  ViewerMtlsAnswer,
  ViewerReinstatedAnswer,
  ViewerRevocationAnswer,
  ViewerRevocationView,
  ViewerRevokedAnswer,
} from "./answers.ts";
import { MAX_PAGE_BYTES } from "./certificates.ts";
import {
  ApproveBody,
  MAX_BODY_BYTES,
  type OperationId,
  RevokeViewerBody,
  ROUTES,
  RollbackBody,
  type Route,
  ScanBody,
  StartRotationBody,
  StartViewerMigrationBody,
  WaveSize,
} from "./schemas.ts";

export const API_VERSION = "1.0.0";

type ZodType = z.core.$ZodType;

/**
 * The component name of each schema a route names, and of the parts the document shows on their own:
 * requests described as sent, answers as given.
 */
const REQUEST_SCHEMAS: Record<string, ZodType> = {
  StartRotationRequest: StartRotationBody,
  WaveSize,
  RollbackRequest: RollbackBody,
  ApproveRequest: ApproveBody,
  ScanRequest: ScanBody,
  RevokeViewerRequest: RevokeViewerBody,
  StartViewerMigrationRequest: StartViewerMigrationBody,
};
const ANSWER_SCHEMAS: Record<string, ZodType> = {
  Error: ErrorAnswer,
  GatewayMessage,
  Problem,
  CertificateView,
  CertificateList: CertificateListAnswer,
  CertificateAnswer,
  RotationPlan: RotationPlanView,
  DryRunAnswer,
  RotationStarted: RotationStartedAnswer,
  RotationSummary: RotationSummaryView,
  RotationList: RotationListAnswer,
  RotationState: RotationStateView,
  RotationRequest: RotationRequestView,
  ReplacementKey: RecordedReplacementKey,
  GateResult: GateResultView,
  ProbeResult: ProbeResultView,
  PreflightComparison: PreflightComparisonView,
  WaveSize,
  RotationEvent: RotationEventView,
  RotationAnswer,
  ControlAnswer,
  ScanAccepted: ScanAcceptedAnswer,
  ViewerRevocation: ViewerRevocationView,
  ViewerRevoked: ViewerRevokedAnswer,
  ViewerRevocationState: ViewerRevocationAnswer,
  ViewerReinstated: ViewerReinstatedAnswer,
  ViewerMigrationStarted: ViewerMigrationStartedAnswer,
  ViewerMigrationSummary: ViewerMigrationSummaryView,
  ViewerMigrationList: ViewerMigrationListAnswer,
  ViewerMigrationRequest: ViewerMigrationRequestView,
  ViewerMigrationPlan: ViewerMigrationPlanView,
  ViewerMigrationState: ViewerMigrationStateView,
  ViewerMigrationEvent: ViewerMigrationEventView,
  ViewerMigrationAnswer,
  ViewerControlAnswer,
  ViewerDistribution: ViewerDistributionView,
  TrustStore: TrustStoreView,
  ViewerDrift: ViewerDriftView,
  ViewerMtls: ViewerMtlsAnswer,
};
/** Each schema's component name (WaveSize is one of both lists: the same either way). */
const COMPONENT_NAMES = new Map<ZodType, string>(
  [...Object.entries(REQUEST_SCHEMAS), ...Object.entries(ANSWER_SCHEMAS)].map(([name, schema]) => [
    schema,
    name,
  ]),
);

/** What the document says of a route besides its schemas (schemas.ts ROUTES). */
interface RouteDoc<R extends Route> {
  /** The Lambda entry serving it (functions/handlers/api/<handler>.ts). */
  handler: string;
  summary: string;
  description?: string;
  /** What each success status means. */
  answers: { [S in keyof R["answers"]]: string };
}

const DOCS: { [K in OperationId]: RouteDoc<(typeof ROUTES)[K]> } = {
  listCertificates: {
    handler: "list-certificates",
    summary: "Certificates in the inventory, soonest expiry first, a page at a time",
    description:
      "Ordered by notAfter, then ARN. The filters apply before paging; follow nextToken (with the same " +
      "filters) until an answer has none. A page holds at most `limit` certificates and is kept under " +
      `${MAX_PAGE_BYTES} bytes, so it may hold fewer and still have a nextToken.`,
    answers: { 200: "A page of the certificates matching every filter." },
  },
  getCertificate: {
    handler: "get-certificate",
    summary: "One certificate of the inventory",
    answers: { 200: "The certificate." },
  },
  startRotation: {
    handler: "start-rotation",
    summary: "Start a rotation of a certificate, or plan one (dryRun)",
    description:
      "The serial of the certificate in service is read from ACM. A dry run answers 200 with the plan and " +
      "changes nothing. A certificate that already has a rotation running answers 409 with its rotationId.",
    answers: {
      200: "Dry run: the plan; nothing was changed.",
      202:
        "The rotation was started (or converged on an existing one). Its execution records it moments " +
        "later (its first step): until then GET /rotations/{id} answers 404 and `status` is `started`.",
    },
  },
  listRotations: {
    handler: "list-rotations",
    summary: "Rotations, newest first",
    answers: { 200: "A page of rotations." },
  },
  getRotation: {
    handler: "get-rotation",
    summary: "A rotation's state and history",
    answers: { 200: "The rotation and its history." },
  },
  rollbackRotation: {
    handler: "rollback-rotation",
    summary: "Roll a rotation back at its bake window or approval",
    description:
      "Delivered while a wave bakes or waits for approval; at any other moment the answer is 409 (retry then).",
    answers: { 202: "The rollback was delivered." },
  },
  approveRotation: {
    handler: "approve-rotation",
    summary: "Approve the next wave of a rotation waiting for approval",
    answers: { 202: "The approval was delivered." },
  },
  startScan: {
    handler: "start-scan",
    summary: "Scan the fleet now (asynchronously)",
    answers: { 202: "The scan was queued." },
  },
  revokeViewer: {
    handler: "revoke-viewer",
    summary: "Revoke a viewer certificate at the edge (put its serial on the revocation list)",
    description:
      "Writes the serial, in its normal form, to the stage's revocation KeyValueStore with the reason, the " +
      "time and the caller; the connection function (docs/viewer-revocation.md) then refuses the certificate " +
      "once the change has propagated to CloudFront's edge locations. A serial already revoked keeps its " +
      "earlier record. A stage without a revocation store answers 409 and changes nothing.",
    answers: { 200: "The serial is on the list (now, or already)." },
  },
  getViewerRevocation: {
    handler: "get-viewer-revocation",
    summary: "Whether a viewer certificate is revoked, and by whom, when and why",
    description: "A stage without a revocation store answers 409.",
    answers: { 200: "Its state on the list." },
  },
  reinstateViewer: {
    handler: "reinstate-viewer",
    summary: "Reinstate a revoked viewer certificate (take its serial off the revocation list)",
    description:
      "For a revocation made by mistake: the certificate connects again once the change has propagated. " +
      "The reason is a query value (a DELETE request's body has no defined meaning). A serial not on the " +
      "list changes nothing. A stage without a revocation store answers 409 and changes nothing.",
    answers: { 200: "The serial is off the list (now, or it was not on it)." },
  },
  startViewerMigration: {
    handler: "start-viewer-migration",
    summary:
      "Migrate a viewer trust domain to its next CA, or retire the CAs its viewers left (dryRun: plan only)",
    description:
      "Starts the viewer CA migration workflow for a domain of the stage's settings (an unknown domain is a " +
      "404 naming the configured ones). A domain whose lock another migration holds answers 409 naming it. " +
      "Duplicate requests for the same domain, action and CAs converge on one migration. A dry run plans " +
      "(its plan is in GET /viewer-migrations/{id} moments later) and publishes nothing.",
    answers: {
      202:
        "The migration was started (or converged on an existing one). Its execution records it moments " +
        "later (its plan): until then GET /viewer-migrations/{id} answers 404.",
    },
  },
  listViewerMigrations: {
    handler: "list-viewer-migrations",
    summary: "Viewer CA migrations, newest first",
    answers: { 200: "A page of viewer migrations." },
  },
  getViewerMigration: {
    handler: "get-viewer-migration",
    summary: "A viewer CA migration's request, state (plan, proof, announcement) and history",
    answers: { 200: "The migration and its history (CA facts only, never certificate bodies)." },
  },
  approveViewerMigration: {
    handler: "approve-viewer-migration",
    summary: "Approve the announcement of a viewer migration waiting for approval",
    description:
      "Delivered while the migration waits for approval (a domain with approval before-announce, after its " +
      "proof); at any other moment the answer is 409 with the status found.",
    answers: { 202: "The approval was delivered." },
  },
  rollbackViewerMigration: {
    handler: "rollback-viewer-migration",
    summary: "Roll a running viewer migration back",
    description:
      "Every trust point this run reached gets its previous bundle back and nothing is announced. Delivered " +
      "to the approval when the migration waits at one (kind approval); while it publishes or proves, " +
      "recorded and acted on at its next safe point, before the next publish or after the current proof " +
      "attempt (kind requested; a second request changes nothing). A migration that has ended answers 409 " +
      "with its status.",
    answers: { 202: "The rollback was delivered, or recorded for the next safe point." },
  },
  getViewerMtls: {
    handler: "get-viewer-mtls",
    summary: "Viewer mTLS inventory: distributions by mode and trust store, trust stores, drift",
    description:
      "What the last full scan found: every distribution counted by viewer mTLS mode, those with viewer mTLS " +
      "(trust store; for passthrough, whether each cache behaviour's origin request policy forwards " +
      "Client-Cert and Client-Cert-Chain), every trust store with its status, CA certificates and " +
      "distributions, and drift (passthrough policies not forwarding the certificate or not known to, failed " +
      "trust stores, quotas near). 404 until a full scan has run.",
    answers: { 200: "The viewer mTLS inventory of the last full scan." },
  },
};

/**
 * OpenAPI links: where a value of an answer can be used in another request (a rotation's id, a
 * certificate's ARN). Only links that hold for every answer of that status; a list's link names its first
 * item. Clients and API tools (schemathesis' stateful tests) follow them.
 */
interface Link {
  operationId: OperationId;
  description: string;
  /** Target parameter -> runtime expression. */
  parameters?: Record<string, string>;
  /** Fields of the target's body -> runtime expressions (the rest of the body is the caller's). */
  requestBody?: Record<string, string>;
}

/** The links that lead to a rotation from an answer naming it at `pointer`. */
function rotationLinks(pointer: string): Record<string, Link> {
  const parameters = { id: `$response.body#${pointer}` };
  return {
    GetRotation: { operationId: "getRotation", parameters, description: "The rotation's state and history." },
    RollbackRotation: {
      operationId: "rollbackRotation",
      parameters,
      description: "Roll the rotation back (at its bake window or approval).",
    },
    ApproveRotation: {
      operationId: "approveRotation",
      parameters,
      description: "Approve the rotation's next wave (when it waits for approval).",
    },
  };
}

/** The links that lead to a certificate from an answer naming its ARN at `pointer`. */
function certificateLinks(pointer: string, withGet: boolean): Record<string, Link> {
  return {
    ...(withGet
      ? {
          GetCertificate: {
            operationId: "getCertificate",
            parameters: { id: `$response.body#${pointer}` },
            description: "The certificate (by its ARN).",
          } satisfies Link,
        }
      : {}),
    StartRotation: {
      operationId: "startRotation",
      requestBody: { certificateArn: `$response.body#${pointer}` },
      description: "Rotate the certificate, or plan its rotation (dryRun).",
    },
  };
}

/** The links that lead to a viewer migration from an answer naming it at `pointer`. */
function viewerMigrationLinks(pointer: string): Record<string, Link> {
  const parameters = { id: `$response.body#${pointer}` };
  return {
    GetViewerMigration: {
      operationId: "getViewerMigration",
      parameters,
      description: "The migration's state and history.",
    },
    ApproveViewerMigration: {
      operationId: "approveViewerMigration",
      parameters,
      description: "Approve its announcement (when it waits for approval).",
    },
    RollbackViewerMigration: {
      operationId: "rollbackViewerMigration",
      parameters,
      description: "Roll it back (when it waits for approval).",
    },
  };
}

const LINKS: { [K in OperationId]?: Record<number, Record<string, Link>> } = {
  startViewerMigration: { 202: viewerMigrationLinks("/migrationId") },
  listViewerMigrations: { 200: viewerMigrationLinks("/migrations/0/migrationId") },
  getViewerMigration: { 200: viewerMigrationLinks("/request/migrationId") },
  listCertificates: { 200: certificateLinks("/certificates/0/arn", true) },
  getCertificate: { 200: certificateLinks("/certificate/arn", false) },
  startRotation: { 202: rotationLinks("/rotationId") },
  listRotations: { 200: rotationLinks("/rotations/0/rotationId") },
  getRotation: { 200: rotationLinks("/rotation/rotationId") },
  revokeViewer: {
    200: {
      GetViewerRevocation: {
        operationId: "getViewerRevocation",
        parameters: { serial: "$response.body#/serial" },
        description: "The serial's state on the revocation list.",
      },
    },
  },
};

/** A route of the contract with what the document says of it. */
export interface DocumentedRoute {
  operationId: OperationId;
  route: Route;
  doc: RouteDoc<Route>;
}

/** Every route of the API, in the contract's order. Handlers: functions/handlers/api/<handler>.ts. */
export const DOCUMENTED_ROUTES: readonly DocumentedRoute[] = (Object.keys(ROUTES) as OperationId[]).map(
  (operationId) => ({ operationId, route: ROUTES[operationId], doc: DOCS[operationId] as RouteDoc<Route> }),
);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "ValidationError: the request is malformed; `problems` names each field.",
  403:
    "Forbidden, by API Gateway before any handler ran: IAM authorization refused the request (unsigned, " +
    "badly signed, expired, or a principal without execute-api:Invoke on this route); body `{ message }`.",
  404: "NotFound.",
  409:
    "Conflict: the state does not allow this now: a rotation's (`rotationId` names it), or the stage has no " +
    "viewer revocation store configured.",
  413: `PayloadTooLarge: the body is over ${MAX_BODY_BYTES} bytes.`,
  415: "UnsupportedMediaType: the body is not application/json.",
  500: "InternalError: nothing about the cause is revealed; the request was logged.",
};

type JsonSchema = Record<string, unknown>;

/** A reference to the component of `schema` (every schema a route names is one). */
function ref(schema: ZodType): JsonSchema {
  const name = COMPONENT_NAMES.get(schema);
  if (name === undefined) throw new Error("a route names a schema that is not a component of the document");
  return { $ref: `#/components/schemas/${name}` };
}

/** Component schemas: each named schema, with references between them, without per-document keywords. */
function components(schemas: Record<string, ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    io,
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(out).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
}

/**
 * One OpenAPI parameter per field of a path or query schema, by the value the API takes (zod "output":
 * `limit` an integer from 1 to 500, `due` a boolean, a certificate id a UUID or an ARN), which callers
 * serialize as OpenAPI says (`limit=25`, `due=true`, a path value percent-encoded): described as the text
 * on the wire, a query value's range and a path id's form would not show (`limit=0` would look valid).
 */
function parameters(schema: z.ZodMiniObject | undefined, where: "path" | "query"): JsonSchema[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: "output", target: "draft-2020-12" }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || (json.required ?? []).includes(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

function jsonContent(schema: JsonSchema) {
  return { "application/json": { schema } };
}

/** The OpenAPI 3.1 document. Deterministic: the same schemas always give the same document. */
export function openApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const { operationId, route, doc } of DOCUMENTED_ROUTES) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, schema] of Object.entries(ROUTE_ANSWERS[operationId])) {
      const links = LINKS[operationId]?.[Number(status)];
      responses[status] = {
        description: doc.answers[Number(status)],
        content: jsonContent(ref(schema)),
        ...(links ? { links } : {}),
      };
    }
    for (const status of [...new Set([400, 403, ...(route.errors ?? []), 500])].sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: ERROR_DESCRIPTIONS[status],
        content: jsonContent(ref(status === 403 ? GatewayMessage : ErrorAnswer)),
      };
    }
    const operation: JsonSchema = {
      operationId,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
      ...(route.body
        ? { requestBody: { required: route.bodyRequired === true, content: jsonContent(ref(route.body)) } }
        : {}),
      responses,
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mtls-rotator API",
      version: API_VERSION,
      description:
        "Rotation of CloudFront origin-mTLS client certificates. API Gateway HTTP API with IAM " +
        "authorization: every request is signed with SigV4 for the service `execute-api`; the signing " +
        "principal is the actor recorded in rotations. Every answer is JSON; errors are " +
        "`{ error: { code, message, problems?, rotationId? } }`.",
    },
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description: "AWS Signature Version 4 (service execute-api); API Gateway IAM authorization.",
          "x-amazon-apigateway-authtype": "awsSigv4",
        },
      },
      schemas: { ...components(REQUEST_SCHEMAS, "input"), ...components(ANSWER_SCHEMAS, "output") },
    },
  };
}

/** The document as text (scripts/openapi.ts writes it to docs/openapi.json, then Biome formats it). */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

/**
 * Whether two texts hold the same document: the same values with the keys in the same order, whatever
 * the whitespace (the committed file is laid out by the formatter).
 */
export function sameDocument(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
