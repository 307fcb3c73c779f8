/**
 * API Gateway HTTP API events (payload format 2.0, IAM authorization) as a Lambda integration receives
 * them, a canned Lambda context, and a helper that invokes a handler and reads its JSON answer.
 */
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";

export const API_ACCOUNT = "123456789012";
/** The IAM principal API Gateway authorized (requestContext.authorizer.iam.userArn). */
export const PRINCIPAL = `arn:aws:iam::${API_ACCOUNT}:user/alice`;
export const ROLE_SESSION = `arn:aws:sts::${API_ACCOUNT}:assumed-role/mtls-operator/bob`;

export interface ApiEventOptions {
  /** Path parameters of the route, e.g. `{ id: "rot-…" }` (substituted into the path, URL-encoded). */
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** A JSON value (sent as application/json) or, as a string, the body exactly as sent. */
  body?: unknown;
  /** The content-type header; null: none. Default application/json when there is a body. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** The authorized principal; null: a route without IAM authorization (no authorizer in the event). */
  principal?: string | null;
  /** Send the body base64-encoded, as API Gateway does for binary media types. */
  base64?: boolean;
}

let sequence = 0;

/** An event for `route` ("POST /rotations/{id}/rollback"), as API Gateway would deliver it. */
export function apiEvent(
  route: string,
  options: ApiEventOptions = {},
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const [method, template] = route.split(" ") as [string, string];
  const params = options.params;
  const rawPath = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(params?.[name] ?? ""),
  );
  const query = options.query;
  const rawQueryString = query ? new URLSearchParams(query).toString() : "";
  const bodyText =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  const contentType =
    options.contentType === null
      ? undefined
      : (options.contentType ?? (bodyText !== undefined ? "application/json" : undefined));
  const now = new Date();
  sequence += 1;
  const requestId = `req-${sequence.toString().padStart(6, "0")}`;
  const principal = options.principal === undefined ? PRINCIPAL : options.principal;
  const event = {
    version: "2.0",
    routeKey: route,
    rawPath,
    rawQueryString,
    headers: {
      accept: "application/json",
      host: "abcdef1234.execute-api.eu-west-1.amazonaws.com",
      "user-agent": "mtls-rotator-cli/0.1.0",
      "x-amz-date": now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, ""),
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-port": "443",
      "x-forwarded-proto": "https",
      ...(contentType !== undefined ? { "content-type": contentType } : {}),
      ...(bodyText !== undefined ? { "content-length": String(Buffer.byteLength(bodyText)) } : {}),
      ...options.headers,
    },
    ...(query ? { queryStringParameters: { ...query } } : {}),
    requestContext: {
      accountId: API_ACCOUNT,
      apiId: "abcdef1234",
      ...(principal !== null
        ? {
            authorizer: {
              iam: {
                accessKey: "ASIAEXAMPLEACCESSKEY",
                accountId: API_ACCOUNT,
                callerId: "AIDAEXAMPLECALLERID",
                cognitoIdentity: null,
                principalOrgId: "o-exampleorg",
                userArn: principal,
                userId: "AIDAEXAMPLECALLERID",
              },
            },
          }
        : {}),
      domainName: "abcdef1234.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abcdef1234",
      http: {
        method,
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "mtls-rotator-cli/0.1.0",
      },
      requestId,
      routeKey: route,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(params ? { pathParameters: { ...params } } : {}),
    ...(bodyText !== undefined
      ? { body: options.base64 ? Buffer.from(bodyText, "utf8").toString("base64") : bodyText }
      : {}),
    isBase64Encoded: options.base64 === true,
  };
  return event as APIGatewayProxyEventV2WithIAMAuthorizer;
}

/** A Lambda context as the runtime passes it. */
export function lambdaContext(functionName = "mtls-rotator-api"): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:${API_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: `aws-${sequence}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/03/01/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of every shape
  body: any;
  raw: string;
}

/** Invokes a handler (as the Lambda runtime does) and parses its JSON answer. */
export async function invoke(
  handler: (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: never) => Promise<unknown>,
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): Promise<ApiAnswer> {
  const result = (await handler(event, lambdaContext() as never)) as APIGatewayProxyStructuredResultV2;
  const raw = result.body ?? "";
  return { status: result.statusCode ?? 200, headers: result.headers ?? {}, body: JSON.parse(raw), raw };
}
