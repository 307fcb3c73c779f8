/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the handlers validate
 * with (schemas.ts), so the document and the behaviour cannot drift apart. `npm run openapi` writes it to
 * docs/openapi.json; a test fails when the committed document differs from what this generates.
 *
 * Requests are described as callers send them (zod "input": query values are text), answers as the API
 * gives them ("output").
 */
import * as z from "zod/mini";
import { MAX_PAGE_BYTES } from "./certificates.ts";
import {
  ApproveBody,
  CertificateAnswer,
  CertificateListAnswer,
  CertificatePath,
  CertificateView,
  ControlAnswer,
  DryRunAnswer,
  ErrorAnswer,
  ListCertificatesQuery,
  ListRotationsQuery,
  MAX_BODY_BYTES,
  Problem,
  RollbackBody,
  RotationAnswer,
  RotationEventView,
  RotationListAnswer,
  RotationPath,
  RotationPlanView,
  RotationStartedAnswer,
  RotationStateView,
  RotationSummaryView,
  ScanAcceptedAnswer,
  ScanBody,
  StartRotationBody,
  WaveSize,
} from "./schemas.ts";

export const API_VERSION = "1.0.0";

type ZodType = z.core.$ZodType;
type ZodObject = z.ZodMiniObject;

/** Request schemas (described as sent) and answer schemas (as given), by their component name. */
const REQUEST_SCHEMAS: Record<string, ZodType> = {
  StartRotationRequest: StartRotationBody,
  WaveSize,
  RollbackRequest: RollbackBody,
  ApproveRequest: ApproveBody,
  ScanRequest: ScanBody,
};
const ANSWER_SCHEMAS: Record<string, ZodType> = {
  Error: ErrorAnswer,
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
  RotationEvent: RotationEventView,
  RotationAnswer,
  ControlAnswer,
  ScanAccepted: ScanAcceptedAnswer,
};

type Method = "get" | "post";

interface Route {
  method: Method;
  path: string;
  operationId: string;
  /** The Lambda entry serving it (functions/handlers/api/<handler>.ts). */
  handler: string;
  summary: string;
  description?: string;
  params?: ZodObject;
  query?: ZodObject;
  body?: { schema: string; required: boolean };
  /** Success statuses and the component schema each answers. */
  answers: Record<number, { description: string; schema: string }>;
  /** Error statuses this route may answer, besides 400 and 500. */
  errors?: number[];
}

/** Every route of the API. Handlers: functions/handlers/api/<handler>.ts. */
export const ROUTES: readonly Route[] = [
  {
    method: "get",
    path: "/certificates",
    operationId: "listCertificates",
    handler: "list-certificates",
    summary: "Certificates in the inventory, soonest expiry first, a page at a time",
    description:
      "Ordered by notAfter, then ARN. The filters apply before paging; follow nextToken (with the same " +
      "filters) until an answer has none. A page holds at most `limit` certificates and is kept under " +
      `${MAX_PAGE_BYTES} bytes, so it may hold fewer and still have a nextToken.`,
    query: ListCertificatesQuery,
    answers: {
      200: { description: "A page of the certificates matching every filter.", schema: "CertificateList" },
    },
  },
  {
    method: "get",
    path: "/certificates/{id}",
    operationId: "getCertificate",
    handler: "get-certificate",
    summary: "One certificate of the inventory",
    params: CertificatePath,
    answers: { 200: { description: "The certificate.", schema: "CertificateAnswer" } },
    errors: [404],
  },
  {
    method: "post",
    path: "/rotations",
    operationId: "startRotation",
    handler: "start-rotation",
    summary: "Start a rotation of a certificate, or plan one (dryRun)",
    description:
      "The serial of the certificate in service is read from ACM. A dry run answers 200 with the plan and " +
      "changes nothing. A certificate that already has a rotation running answers 409 with its rotationId.",
    body: { schema: "StartRotationRequest", required: true },
    answers: {
      200: { description: "Dry run: the plan; nothing was changed.", schema: "DryRunAnswer" },
      202: {
        description: "The rotation was started (or converged on an existing one).",
        schema: "RotationStarted",
      },
    },
    errors: [404, 409, 413, 415],
  },
  {
    method: "get",
    path: "/rotations",
    operationId: "listRotations",
    handler: "list-rotations",
    summary: "Rotations, newest first",
    query: ListRotationsQuery,
    answers: { 200: { description: "A page of rotations.", schema: "RotationList" } },
  },
  {
    method: "get",
    path: "/rotations/{id}",
    operationId: "getRotation",
    handler: "get-rotation",
    summary: "A rotation's state and history",
    params: RotationPath,
    answers: { 200: { description: "The rotation and its history.", schema: "RotationAnswer" } },
    errors: [404],
  },
  {
    method: "post",
    path: "/rotations/{id}/rollback",
    operationId: "rollbackRotation",
    handler: "rollback-rotation",
    summary: "Roll a rotation back at its bake window or approval",
    description:
      "Delivered while a wave bakes or waits for approval; at any other moment the answer is 409 (retry then).",
    params: RotationPath,
    body: { schema: "RollbackRequest", required: false },
    answers: { 202: { description: "The rollback was delivered.", schema: "ControlAnswer" } },
    errors: [404, 409, 413, 415],
  },
  {
    method: "post",
    path: "/rotations/{id}/approve",
    operationId: "approveRotation",
    handler: "approve-rotation",
    summary: "Approve the next wave of a rotation waiting for approval",
    params: RotationPath,
    body: { schema: "ApproveRequest", required: false },
    answers: { 202: { description: "The approval was delivered.", schema: "ControlAnswer" } },
    errors: [404, 409, 413, 415],
  },
  {
    method: "post",
    path: "/scan",
    operationId: "startScan",
    handler: "start-scan",
    summary: "Scan the fleet now (asynchronously)",
    body: { schema: "ScanRequest", required: false },
    answers: { 202: { description: "The scan was queued.", schema: "ScanAccepted" } },
    errors: [413, 415],
  },
];

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "ValidationError: the request is malformed; `problems` names each field.",
  404: "NotFound.",
  409: "Conflict: the rotation's state does not allow this now; `rotationId` names the rotation.",
  413: `PayloadTooLarge: the body is over ${MAX_BODY_BYTES} bytes.`,
  415: "UnsupportedMediaType: the body is not application/json.",
  500: "InternalError: nothing about the cause is revealed; the request was logged.",
};

type JsonSchema = Record<string, unknown>;

function ref(name: string): JsonSchema {
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

/** One OpenAPI parameter per field of a path or query schema, as callers send them. */
function parameters(schema: ZodObject | undefined, where: "path" | "query"): JsonSchema[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) as {
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
  for (const route of ROUTES) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, answer] of Object.entries(route.answers)) {
      responses[status] = { description: answer.description, content: jsonContent(ref(answer.schema)) };
    }
    for (const status of [...new Set([400, ...(route.errors ?? []), 500])].sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: ERROR_DESCRIPTIONS[status],
        content: jsonContent(ref("Error")),
      };
    }
    const operation: JsonSchema = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
      ...(route.body
        ? { requestBody: { required: route.body.required, content: jsonContent(ref(route.body.schema)) } }
        : {}),
      responses,
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation;
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
