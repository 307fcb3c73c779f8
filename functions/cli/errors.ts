/**
 * What can go wrong between the operator and the API, as typed errors that keep their cause, and the one
 * place that turns each into an actionable message and an exit code (no stack traces for the operator).
 */

/** Exit codes of the operator commands (documented in every command's --help). */
export const ExitCode = {
  Ok: 0,
  /** The API failed (5xx) or something unexpected happened. */
  Failed: 1,
  /** Bad usage, missing configuration, or a request the API refused as invalid (400, 404). */
  Usage: 2,
  /** Not authorized: no credentials, wrong region, bad signature, clock skew, no execute-api:Invoke. */
  Unauthorized: 3,
  /** The API could not be reached (connection refused, unknown host, timeout). */
  Unreachable: 4,
  /** The API refused the request in the rotation's current state (409): already rotating, no control point. */
  Conflict: 5,
  /** watch: the rotation was rolled back or aborted; distributions present the old certificate. */
  RolledBack: 6,
  /** watch: the rotation failed; some distributions may still present the new certificate. Look now. */
  RotationFailed: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  the API failed (5xx) or an unexpected error
  2  bad usage, missing --endpoint, or a request the API refused as invalid
  3  not authorized: no credentials, wrong region, bad signature, clock skew, or no execute-api:Invoke
  4  the API could not be reached (connection refused, unknown host, timeout)
  5  conflict: the rotation's state does not allow it now (already rotating, not at a control point)`;

/** An error whose message is already what the operator should read. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}

/** How the request was signed: what a 403 explanation needs to name. */
export interface SigningContext {
  accessKeyId: string;
  /** Where the credentials came from ("environment (AWS_ACCESS_KEY_ID)", 'profile "ops"', ...). */
  credentialSource: string;
  region: string;
  /** Where the region came from ("--region", "AWS_REGION", "the endpoint host"). */
  regionSource: string;
}

/**
 * The API answered with an error status (its refusals, its failures, API Gateway's own answers: `gateway`
 * when API Gateway answered, not the API's code).
 */
export class ApiAnswerError extends Error {
  override name = "ApiAnswerError";
  readonly status: number;
  readonly method: string;
  readonly url: string;
  /** The API's error code (`error.code`), absent for API Gateway's own answers. */
  readonly code?: string;
  readonly problems: Array<{ field: string; message: string }>;
  readonly rotationId?: string;
  readonly requestId?: string;
  readonly gateway: boolean;
  readonly signing?: SigningContext;
  constructor(input: {
    status: number;
    method: string;
    url: string;
    message: string;
    code?: string;
    problems?: Array<{ field: string; message: string }>;
    rotationId?: string;
    requestId?: string;
    gateway: boolean;
    signing?: SigningContext;
  }) {
    super(input.message);
    this.status = input.status;
    this.method = input.method;
    this.url = input.url;
    this.code = input.code;
    this.problems = input.problems ?? [];
    this.rotationId = input.rotationId;
    this.requestId = input.requestId;
    this.gateway = input.gateway;
    this.signing = input.signing;
  }
}

/** The endpoint did not answer: refused, unknown host, timeout, TLS failure. */
export class EndpointUnreachableError extends Error {
  override name = "EndpointUnreachableError";
  readonly url: string;
  /** ECONNREFUSED, ENOTFOUND, TIMEOUT, ... */
  readonly code: string;
  constructor(url: string, code: string, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.url = url;
    this.code = code;
  }
}

/** The standard credential chain found nothing usable. */
export class NoCredentialsError extends Error {
  override name = "NoCredentialsError";
}

/** The region named by the endpoint host (`<id>.execute-api.<region>.amazonaws.com[.cn]`), if any. */
export function regionOfEndpoint(url: string): string | undefined {
  try {
    return /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/.exec(
      new URL(url).hostname,
    )?.[1];
  } catch {
    return undefined;
  }
}

function apiIdOf(url: string): string {
  try {
    return /^([a-z0-9]+)\.execute-api\./.exec(new URL(url).hostname)?.[1] ?? "<api-id>";
  } catch {
    return "<api-id>";
  }
}

/** The route part of an execute-api resource ARN for a request: "GET/rotations/rot-1". */
function resourceOf(error: ApiAnswerError): string {
  try {
    return `${error.method}${new URL(error.url).pathname}`;
  } catch {
    return `${error.method}/*`;
  }
}

function describeForbidden(error: ApiAnswerError): string {
  const s = error.signing;
  const hostRegion = regionOfEndpoint(error.url);
  const message = error.message;
  const who = s
    ? `access key ${s.accessKeyId} (credentials from ${s.credentialSource})`
    : "the credentials in use";

  if (/Credential should be scoped to a valid region/i.test(message)) {
    const signedFor = s ? `${s.region} (from ${s.regionSource})` : "another region";
    const fix = hostRegion
      ? s?.regionSource === "--region"
        ? `Pass --region ${hostRegion} (the region in the API URL), or leave --region out: the CLI then signs for the URL's region.`
        : `Pass --region ${hostRegion} (the region in the API URL).`
      : "Pass --region with the region the API was deployed to (the region `sst deploy` used), or set AWS_REGION to it.";
    return `the request was signed for ${signedFor}, but the API is in another region. ${fix}`;
  }
  if (/Signature expired|Signature not yet current/i.test(message)) {
    return (
      "the signature's time is more than 5 minutes away from AWS's clock: this machine's clock is off. " +
      `Synchronize it (e.g. timedatectl set-ntp true) and retry. (API Gateway said: ${firstLine(message)})`
    );
  }
  if (/security token included in the request is invalid/i.test(message)) {
    return (
      `the API does not recognise ${who}: the key may be deactivated or from another partition, or ` +
      "temporary credentials expired or lost their session token. Refresh them (e.g. `aws sso login`, " +
      "or export AWS_SESSION_TOKEN together with the key) and retry."
    );
  }
  if (/signature we calculated does not match/i.test(message)) {
    return (
      `the signature did not match: the secret key does not belong to ${who}, or something between you and ` +
      "the API (a proxy) changed the request. Check AWS_SECRET_ACCESS_KEY / the profile."
    );
  }
  if (/Missing Authentication Token/i.test(message)) {
    return (
      "API Gateway found no signature on the request: a proxy may have dropped the Authorization header, or " +
      "the URL is not the mtls-rotator HTTP API (a REST API answers this for paths it does not have)."
    );
  }
  const named = /User: (\S+) is not authorized/.exec(message)?.[1];
  const principal = named ? named : `the IAM principal behind ${who}`;
  const region = hostRegion ?? s?.region ?? "<region>";
  return (
    `403 Forbidden: ${principal} may be missing execute-api:Invoke on ` +
    `arn:aws:execute-api:${region}:<account-id>:${apiIdOf(error.url)}/*/${resourceOf(error)}. ` +
    "Grant it in the principal's IAM policy (see who you are with `aws sts get-caller-identity`)."
  );
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function describeApiAnswer(error: ApiAnswerError): { message: string; exitCode: ExitCode } {
  const where = `${error.method} ${error.url}`;
  const requestId = error.requestId ? ` (request id ${error.requestId})` : "";
  if (error.status < 400) {
    return {
      message: `unexpected answer to ${where}: ${error.message}. Is --endpoint the mtls-rotator API?`,
      exitCode: ExitCode.Failed,
    };
  }
  if (error.status === 403 || error.status === 401) {
    return { message: describeForbidden(error), exitCode: ExitCode.Unauthorized };
  }
  if (error.status === 404 && error.gateway) {
    return {
      message:
        `the endpoint has no route for ${where}: is --endpoint / MTLS_ROTATOR_API_URL the mtls-rotator API ` +
        "(the URL `sst deploy` prints)?",
      exitCode: ExitCode.Usage,
    };
  }
  if (error.status >= 500) {
    return {
      message:
        `the API failed: ${error.status} ${firstLine(error.message)}${requestId}. Nothing indicates your ` +
        "request was wrong: retry, and if it persists look at the API function's logs for that request id.",
      exitCode: ExitCode.Failed,
    };
  }
  if (error.status === 409) {
    const see = error.rotationId ? `\nSee it: mtls-rotator watch ${error.rotationId}` : "";
    return { message: `refused in the current state: ${error.message}${see}`, exitCode: ExitCode.Conflict };
  }
  const code = error.code ? ` ${error.code}` : "";
  // The API's message often recaps the problems ("invalid request: a: ...; b: ..."): then list them only.
  const recap = error.problems.length > 0 && error.problems.every((p) => error.message.includes(p.message));
  const problems = error.problems.map((p) => `\n  ${p.field}: ${p.message}`).join("");
  return {
    message: `the API refused the request (${error.status}${code})${recap ? ":" : `: ${error.message}`}${problems}`,
    exitCode: ExitCode.Usage,
  };
}

/** The operator's message and exit code for any error a command ends with. */
export function explainError(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ApiAnswerError) return describeApiAnswer(error);
  if (error instanceof EndpointUnreachableError) {
    return {
      message:
        `cannot reach the API at ${error.url}: ${error.message}. Check --endpoint / MTLS_ROTATOR_API_URL ` +
        "(the URL `sst deploy` prints) and your network.",
      exitCode: ExitCode.Unreachable,
    };
  }
  if (error instanceof NoCredentialsError) return { message: error.message, exitCode: ExitCode.Unauthorized };
  const text = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${text}`, exitCode: ExitCode.Failed };
}
