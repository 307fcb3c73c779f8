/**
 * Wire-level plumbing shared by every AWS stand-in: the real AWS SDK talks to these over loopback HTTP,
 * so requests are really serialized, errors really parsed and retries really taken by the SDK.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** An error the stand-in answers with, shaped like the AWS service's own. */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** true when the caller is at fault (4xx), false for service faults (5xx). */
  readonly sender: boolean;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
    this.sender = status < 500;
  }
}

export interface StandinRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Region from the SigV4 credential scope, as AWS routes it. */
  region: string | undefined;
}

export interface StandinResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** A JSON-protocol service (ACM, Private CA, Secrets Manager): `X-Amz-Target: <prefix>.<Operation>`. */
export interface JsonService {
  readonly service: string;
  readonly targetPrefix: string;
  handle(
    operation: string,
    input: Record<string, unknown>,
    request: StandinRequest,
  ): Promise<unknown> | unknown;
}

/** A REST service (CloudFront): decides by method and path. */
export interface RestService {
  readonly service: string;
  /** The operation name for a request this service serves, or undefined. */
  operationFor(request: StandinRequest): string | undefined;
  handle(operation: string, request: StandinRequest): Promise<StandinResponse> | StandinResponse;
}

export function regionOf(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== "string") return undefined;
  const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/[a-z0-9-]+\/aws4_request/.exec(auth);
  return scope?.[1];
}

export function jsonError(error: AwsError): StandinResponse {
  return {
    status: error.status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": error.code },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

export function xmlError(error: AwsError): StandinResponse {
  const type = error.sender ? "Sender" : "Receiver";
  return {
    status: error.status,
    headers: { "content-type": "text/xml" },
    body:
      `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">` +
      `<Error><Type>${type}</Type><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
      `<RequestId>standin</RequestId></ErrorResponse>`,
  };
}

/** REST-JSON errors (API Gateway v2, CloudFront KeyValueStore): the code in `x-amzn-errortype`, `body` as the service words it. */
export function restJsonError(error: AwsError, body: Record<string, string>): StandinResponse {
  return {
    status: error.status,
    headers: { "content-type": "application/json", "x-amzn-errortype": error.code },
    body: JSON.stringify(body),
  };
}

/** What a REST stand-in answers for a request it routes but does not model: it refuses rather than pretends. */
export function notImplemented(request: { method: string; path: string }): AwsError {
  return new AwsError(
    "NotImplemented",
    `The stand-in does not implement ${request.method} ${request.path}.`,
    501,
  );
}

/** The error document of awsQuery services (SNS, ELBv2): `<ErrorResponse>` in the service's namespace. */
export function queryErrorResponse(xmlns: string, error: AwsError): StandinResponse {
  return {
    status: error.status,
    headers: { "content-type": "text/xml" },
    body:
      `<ErrorResponse xmlns="${xmlns}"><Error><Type>${error.sender ? "Sender" : "Receiver"}</Type>` +
      `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

// ---- input checks: the SDK does not validate required members, so the stand-ins must -------------------

export function requireString(input: Record<string, unknown>, field: string, max = 2048): string {
  const value = input[field];
  if (typeof value !== "string" || value.length === 0) {
    throw new AwsError("ValidationException", `1 validation error detected: '${field}' must not be null`);
  }
  if (value.length > max) {
    throw new AwsError(
      "ValidationException",
      `1 validation error detected: '${field}' must have length less than or equal to ${max}`,
    );
  }
  return value;
}

export function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new AwsError("ValidationException", `1 validation error detected: '${field}' must be a string`);
  }
  return value;
}

/** JSON-protocol blobs travel base64-encoded. */
export function requireBlob(input: Record<string, unknown>, field: string): Buffer {
  const encoded = requireString(input, field, 1_000_000);
  return Buffer.from(encoded, "base64");
}

export function optionalBlob(input: Record<string, unknown>, field: string): Buffer | undefined {
  const encoded = optionalString(input, field);
  return encoded === undefined ? undefined : Buffer.from(encoded, "base64");
}

export const ACCOUNT_ID = "111122223333";
