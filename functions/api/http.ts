/**
 * HTTP plumbing of the API (API Gateway HTTP API, IAM authorization, payload format 2.0), as middy
 * middlewares, each a small factory: request logging (never bodies), error answers, JSON answers, the IAM
 * principal, body size limit, JSON parsing, validation against the zod schemas.
 *
 * The error contract: every error answer is `{ error: { code, message, problems?, rotationId? } }` with
 * `content-type: application/json`. Bad input is a 4xx naming the field; anything unexpected is a 500
 * `InternalError` whose message says nothing about internals (the log has the details).
 *
 * Order in a handler: requestLog, errorResponse, jsonResponse, iamPrincipal, bodyLimit, jsonBody, validate.
 * middy runs `before` in that order and `after`/`onError` in reverse, so the log line sees the final answer.
 */
import middy, { type MiddlewareObj } from "@middy/core";
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import * as z from "zod/mini";
import { type LogFn, log, logger } from "../wiring/observability.ts";
import { firstDuplicateKey } from "./json-keys.ts";
import { type AnswerOf, type ErrorCode, MAX_BODY_BYTES, type Problem, type Route } from "./schemas.ts";

export type ApiEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;
export type { LogFn };

export interface HttpOptions {
  /** One structured line per call; JSON on stdout by default. */
  log?: LogFn;
}

/** Powertools' structured logger (functions/wiring/observability.ts). */
export const jsonLog: LogFn = log;

const STATUS: Record<ErrorCode, number> = {
  ValidationError: 400,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  InternalError: 500,
};

/**
 * The API refuses the request on purpose (a 4xx answer): its code, status and message (meant for the
 * caller), the fields at fault, the rotation a conflict is about. The CLI's counterpart, the answer as the
 * operator's client receives it, is functions/cli/errors.ts ApiAnswerError.
 */
export class RequestRefusedError extends Error {
  override name = "RequestRefusedError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly problems?: Problem[];
  readonly rotationId?: string;
  constructor(
    code: ErrorCode,
    message: string,
    details: { problems?: Problem[]; rotationId?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = STATUS[code];
    if (details.problems) this.problems = details.problems;
    if (details.rotationId) this.rotationId = details.rotationId;
  }
}

export function validationError(problems: Problem[]): RequestRefusedError {
  const shown = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
  return new RequestRefusedError("ValidationError", `invalid request: ${shown}`, { problems });
}

export function notFound(message: string): RequestRefusedError {
  return new RequestRefusedError("NotFound", message);
}

export function conflict(message: string, rotationId?: string): RequestRefusedError {
  return new RequestRefusedError("Conflict", message, rotationId ? { rotationId } : {});
}

/** The route has no IAM principal: it is not behind IAM authorization. Never answered in detail. */
export class MisconfiguredRouteError extends Error {
  override name = "MisconfiguredRouteError";
}

export const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const;

/** A JSON answer. */
export function json(statusCode: number, body: unknown): ApiResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/** The answer for an error: a refusal as it is, anything else as a 500 that reveals nothing. */
export function answerForError(error: unknown): ApiResult {
  if (error instanceof RequestRefusedError) {
    return json(error.status, {
      error: {
        code: error.code,
        message: error.message,
        ...(error.problems ? { problems: error.problems } : {}),
        ...(error.rotationId ? { rotationId: error.rotationId } : {}),
      },
    });
  }
  return json(500, { error: { code: "InternalError", message: "internal error; the request was logged" } });
}

/** A zod path as callers write it: `waves.waves[0].percent`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>, prefix = ""): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "body" : out;
}

/** Each issue of a failed parse as a Problem naming its field (unknown keys each named on their own). */
export function problemsOf(error: z.core.$ZodError, prefix = ""): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({ field: fieldPath([...issue.path, key], prefix), message: "unknown field" });
      }
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      problems.push({ field: fieldPath(issue.path, prefix), message: "is required" });
    } else {
      problems.push({ field: fieldPath(issue.path, prefix), message: issue.message });
    }
  }
  return problems;
}

// ---- middlewares ----------------------------------------------------------------------------------------

/**
 * One log line per call: route, request id, principal, status, duration. Never the body, the query values
 * or headers (they may carry tokens). Errors behind a 500 are logged with their name and message.
 */
/**
 * Every line of an invocation carries the Lambda context (request id, cold start) and the API Gateway
 * request id as `correlation_id`, the id operators find in the access log.
 */
export function correlation(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    before: (request) => {
      logger.resetKeys();
      logger.addContext(request.context);
      const requestId = request.event.requestContext?.requestId;
      if (requestId) logger.appendKeys({ correlation_id: requestId });
    },
  };
}

export function requestLog(options: HttpOptions = {}): MiddlewareObj<ApiEvent, ApiResult> {
  const log = options.log ?? jsonLog;
  const started = new WeakMap<object, number>();
  const line = (event: ApiEvent, response: ApiResult | null | undefined, error?: unknown) => {
    const status = response?.statusCode ?? 500;
    const startedAt = started.get(event);
    log(status >= 500 ? "ERROR" : status >= 400 ? "WARN" : "INFO", "api request", {
      routeKey: event.routeKey,
      requestId: event.requestContext?.requestId,
      principal: event.requestContext?.authorizer?.iam?.userArn,
      status,
      ...(startedAt !== undefined ? { durationMs: Math.round(performance.now() - startedAt) } : {}),
      ...(status >= 500 && error !== undefined ? { error: describe(error) } : {}),
      ...(status < 500 && error instanceof RequestRefusedError ? { code: error.code } : {}),
    });
  };
  return {
    before: (request) => {
      started.set(request.event, performance.now());
    },
    after: (request) => line(request.event, request.response),
    onError: (request) => line(request.event, request.response, request.error),
  };
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      ...(error.cause instanceof Error ? { cause: `${error.cause.name}: ${error.cause.message}` } : {}),
    };
  }
  return { value: String(error) };
}

/** Turns every error into its JSON answer (a refusal: its status; anything else: 500 InternalError). */
export function errorResponse(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    onError: (request) => {
      request.response = answerForError(request.error);
    },
  };
}

/** Every answer is JSON with `content-type: application/json` (and never cached). */
export function jsonResponse(): MiddlewareObj<ApiEvent, ApiResult> {
  return {
    after: (request) => {
      const response = request.response;
      if (!response) return;
      response.headers = { ...response.headers, ...JSON_HEADERS };
      if (typeof response.body !== "string") response.body = JSON.stringify(response.body ?? {});
    },
  };
}

export type PrincipalContext = Context & { actor: string };

/**
 * The caller: the IAM principal API Gateway authorized (`requestContext.authorizer.iam.userArn`). A request
 * without one reached a route without IAM authorization: a misconfiguration, answered 500, never trusted.
 */
export function iamPrincipal(): MiddlewareObj<ApiEvent, ApiResult, Error, PrincipalContext> {
  return {
    before: (request) => {
      const arn = request.event.requestContext?.authorizer?.iam?.userArn;
      if (typeof arn !== "string" || !/^arn:aws[\w-]*:(iam|sts)::\d{12}:\S{1,1000}$/.test(arn)) {
        throw new MisconfiguredRouteError(
          `route ${request.event.routeKey} has no IAM principal: is it behind IAM authorization?`,
        );
      }
      request.context.actor = arn;
    },
  };
}

type BodyInternal = { rawBody?: string; json?: unknown };

/** Standard base64 with its padding, as API Gateway encodes bodies (nothing else: no whitespace, no URL alphabet). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The body as text (decoded from base64 when API Gateway encoded it); undefined when there is none. A body
 * marked base64 that is not valid base64, or whose bytes are not UTF-8, is refused (400), never decoded
 * leniently into something else.
 */
function bodyText(event: ApiEvent): string | undefined {
  if (event.body === undefined || event.body === null || event.body === "") return undefined;
  if (!event.isBase64Encoded) return event.body;
  if (!BASE64.test(event.body)) throw validationError([{ field: "body", message: "is not valid base64" }]);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      Buffer.from(event.body, "base64"),
    );
  } catch {
    throw validationError([{ field: "body", message: "is not valid UTF-8" }]);
  }
}

/** Nothing but JSON's own whitespace (RFC 8259 §2: space, tab, line feed, carriage return). */
const JSON_WHITESPACE_ONLY = /^[ \t\n\r]*$/;

/** Bodies over `maxBytes` (decoded) are refused with 413 before anything reads them. */
export function bodyLimit(
  maxBytes = MAX_BODY_BYTES,
): MiddlewareObj<ApiEvent, ApiResult, Error, Context, BodyInternal> {
  return {
    before: (request) => {
      const raw = request.event.body;
      if (raw === undefined || raw === null || raw === "") return;
      // Base64 is 4/3 of the bytes it encodes: a cheap bound before decoding.
      const bytes = request.event.isBase64Encoded
        ? Buffer.byteLength(raw, "base64")
        : Buffer.byteLength(raw, "utf8");
      if (bytes > maxBytes) {
        throw new RequestRefusedError(
          "PayloadTooLarge",
          `the body is ${bytes} bytes; at most ${maxBytes} are accepted`,
          {
            problems: [{ field: "body", message: `must be at most ${maxBytes} bytes` }],
          },
        );
      }
    },
  };
}

function header(event: ApiEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** `application/json` or `application/<x>+json`, with no charset or UTF-8. */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json" && !/^application\/[a-z0-9.+-]+\+json$/.test(type ?? "")) return false;
  return parameters.every((p) => !p.startsWith("charset=") || /^charset="?utf-8"?$/.test(p));
}

/**
 * Parses a JSON body into `request.internal.json`. A body that is not declared JSON -> 415; one that does
 * not parse, or gives a key twice in one object -> 400 naming the field. No body (nothing, or JSON
 * whitespace only): `{}` where the body is optional, 400 where it is required.
 */
export function jsonBody(
  options: { required?: boolean } = {},
): MiddlewareObj<ApiEvent, ApiResult, Error, Context, BodyInternal> {
  return {
    before: (request) => {
      const text = bodyText(request.event);
      // Not String.prototype.trim(): it also empties a BOM, NBSP, U+2028, U+3000..., which are not "no body".
      if (text === undefined || JSON_WHITESPACE_ONLY.test(text)) {
        if (options.required) {
          throw validationError([{ field: "body", message: "a JSON object is required" }]);
        }
        request.internal.json = {};
        return;
      }
      if (!isJsonMediaType(header(request.event, "content-type"))) {
        throw new RequestRefusedError(
          "UnsupportedMediaType",
          "the body must be JSON (content-type: application/json)",
          {
            problems: [{ field: "content-type", message: "must be application/json" }],
          },
        );
      }
      try {
        request.internal.json = JSON.parse(text);
      } catch (error) {
        throw validationError([
          { field: "body", message: `is not valid JSON (${(error as Error).message})` },
        ]);
      }
      const duplicate = firstDuplicateKey(text);
      if (duplicate)
        throw validationError([{ field: fieldPath(duplicate), message: "is given more than once" }]);
    },
  };
}

/** Any zod schema, zod/mini (the API's) or full zod. */
type ZodType = z.core.$ZodType;

type Parsed<S> = S extends ZodType ? z.output<S> : undefined;

export type InputContext<P, Q, B> = Context & {
  input: { params: Parsed<P>; query: Parsed<Q>; body: Parsed<B> };
};

/**
 * Validates path parameters, query and body (parsed by jsonBody) against the route's schemas, all at once:
 * every problem of every part in one 400, each naming its field (body fields by their path, e.g.
 * `waves.waves[0].percent`; path and query fields by name). A part without a schema must be empty.
 */
export function validate<
  P extends ZodType | undefined = undefined,
  Q extends ZodType | undefined = undefined,
  B extends ZodType | undefined = undefined,
>(schemas: {
  params?: P;
  query?: Q;
  body?: B;
}): MiddlewareObj<ApiEvent, ApiResult, Error, InputContext<P, Q, B>, BodyInternal> {
  const parts = {
    params: schemas.params ?? z.strictObject({}),
    query: schemas.query ?? z.strictObject({}),
    body: schemas.body,
  };
  return {
    before: (request) => {
      const problems: Problem[] = [];
      const parse = (schema: ZodType | undefined, value: unknown) => {
        if (!schema) return undefined;
        const result = z.safeParse(schema, value, { reportInput: true });
        if (!result.success) {
          problems.push(...problemsOf(result.error));
          return undefined;
        }
        return result.data;
      };
      const params = parse(parts.params, request.event.pathParameters ?? {});
      const query = parse(parts.query, request.event.queryStringParameters ?? {});
      let body: unknown;
      if (parts.body) {
        const value = request.internal.json;
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          problems.push({ field: "body", message: "must be a JSON object" });
        } else {
          body = parse(parts.body, value);
        }
      }
      if (problems.length > 0) throw validationError(problems);
      request.context.input = { params, query, body } as InputContext<P, Q, B>["input"];
    },
  };
}

/** The validated input of a route: what its schemas parse path parameters, query and body into. */
export type RouteInput<R extends Route> = InputContext<R["params"], R["query"], R["body"]>["input"];

/**
 * A route's whole middleware chain, the same for every route: request log (no bodies), error mapping
 * (4xx naming the field; a 500 never shows internals), JSON answers, the IAM principal as the actor, then
 * for routes with a body its size limit and JSON parsing, then validation of path, query and body against
 * the route's schemas (schemas.ts ROUTES). `run` gets the validated input and the actor, and answers one of
 * the route's success statuses with that status's answer.
 */
export function apiRoute<R extends Route>(
  route: R,
  run: (input: RouteInput<R>, actor: string) => Promise<AnswerOf<R>>,
  options: HttpOptions = {},
) {
  const chain = middy<ApiEvent, ApiResult>()
    .use(correlation())
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal());
  if (route.body) chain.use(bodyLimit()).use(jsonBody({ required: route.bodyRequired === true }));
  const schemas = {
    ...(route.params ? { params: route.params } : {}),
    ...(route.query ? { query: route.query } : {}),
    ...(route.body ? { body: route.body } : {}),
  } as { params?: R["params"]; query?: R["query"]; body?: R["body"] };
  return chain.use(validate(schemas)).handler(async (_event, context) => {
    const { input, actor } = context as unknown as InputContext<R["params"], R["query"], R["body"]> &
      PrincipalContext;
    const answer = await run(input, actor);
    return json(answer.status, answer.body);
  });
}
