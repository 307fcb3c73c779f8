/**
 * The operator's client for the mtls-rotator HTTP API: every request signed with SigV4 for `execute-api`
 * (API Gateway IAM authorization) with credentials from the standard AWS chain, one method per route, and
 * every failure turned into a typed error (errors.ts) that names what to fix.
 */
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { type AwsCredentials, signedHeaders } from "../adapters/sigv4.ts";
import type {
  CertificateAnswer,
  CertificateListAnswer,
  CertificateRef,
  ControlAnswer,
  DecisionBody,
  ListCertificatesQuery,
  ListRotationsQuery,
  ListViewerMigrationsQuery,
  RevokeViewerBody,
  RotationAnswer,
  RotationListAnswer,
  RotatorApi,
  ScanAcceptedAnswer,
  StartRotationAnswer,
  StartRotationBody,
  StartViewerMigrationBody,
  ViewerControlAnswer,
  ViewerMigrationAnswer,
  ViewerMigrationListAnswer,
  ViewerMigrationStartedAnswer,
  ViewerMtlsAnswer,
  ViewerReinstatedAnswer,
  ViewerRevocationAnswer,
  ViewerRevokedAnswer,
} from "./api-types.ts";
import {
  ApiAnswerError,
  EndpointUnreachableError,
  NoCredentialsError,
  regionOfEndpoint,
  type SigningContext,
  UsageError,
} from "./errors.ts";

export type { AwsCredentials };

export type CredentialProvider = () => Promise<AwsCredentials>;

export interface ApiClientSettings {
  endpoint: string;
  region: string;
  /** For messages: "--region", "AWS_REGION", "the endpoint host". */
  regionSource?: string;
  credentials: CredentialProvider;
  /** For messages: where the credentials come from. */
  credentialSource?: string;
  /** Deadline per request (ms), connection to last byte. */
  timeoutMs?: number;
  /** Signing clock. */
  now?: () => Date;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

type Env = Record<string, string | undefined>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The API's base URL from --endpoint or MTLS_ROTATOR_API_URL; https only (plain http on loopback). */
export function resolveEndpoint(flag: string | undefined, env: Env): string {
  const raw = flag ?? env.MTLS_ROTATOR_API_URL;
  if (!raw) {
    throw new UsageError(
      "no API endpoint: pass --endpoint <url> or set MTLS_ROTATOR_API_URL to the HTTP API's URL " +
        "(`sst deploy` prints it, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com)",
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`the API endpoint is not a URL: ${raw}`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new UsageError(`the API endpoint must be an https:// URL, got ${raw}`);
  }
  if (url.search || url.hash)
    throw new UsageError(`the API endpoint must not have a query or fragment: ${raw}`);
  return url.toString().replace(/\/$/, "");
}

/**
 * The signing region: --region, else the region in an `execute-api.<region>.amazonaws.com` endpoint host
 * (the API's region, whatever the shell's AWS_REGION says: signing for another one is a 403 every time),
 * else AWS_REGION / AWS_DEFAULT_REGION (a custom domain has no region in its host).
 */
export function resolveRegion(
  flag: string | undefined,
  env: Env,
  endpoint: string,
): { region: string; source: string } {
  if (flag) return { region: flag, source: "--region" };
  const fromHost = regionOfEndpoint(endpoint);
  if (fromHost) return { region: fromHost, source: "the endpoint host" };
  if (env.AWS_REGION) return { region: env.AWS_REGION, source: "AWS_REGION" };
  if (env.AWS_DEFAULT_REGION) return { region: env.AWS_DEFAULT_REGION, source: "AWS_DEFAULT_REGION" };
  throw new UsageError(
    "no AWS region to sign for: pass --region <region> (the region the API was deployed to) or set AWS_REGION",
  );
}

/** Where the default chain will take credentials from, for messages. */
export function credentialSourceOf(env: Env, profile: string | undefined): string {
  if (profile) return `profile "${profile}" (--profile)`;
  if (env.AWS_ACCESS_KEY_ID) return "the environment (AWS_ACCESS_KEY_ID)";
  if (env.AWS_PROFILE) return `profile "${env.AWS_PROFILE}" (AWS_PROFILE)`;
  return "the default credential chain";
}

/**
 * Credentials from the standard chain (environment, SSO, web identity, shared files, process, container
 * and instance metadata), resolved once; failures become NoCredentialsError with what to do.
 */
export function defaultCredentials(profile?: string): CredentialProvider {
  const provider = defaultProvider(profile ? { profile } : {});
  return async () => {
    try {
      const c = await provider();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new NoCredentialsError(
        `no usable AWS credentials (${detail.split("\n")[0]}). Provide them the standard way: ` +
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), " +
          "--profile or AWS_PROFILE after `aws configure` / `aws sso login`, or a role on the machine.",
        { cause: error },
      );
    }
  };
}

/** RFC 3986 percent-encoding (what SigV4 and API Gateway expect in paths and queries). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed",
};

function networkError(url: string, error: unknown, timeoutMs: number): EndpointUnreachableError {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return new EndpointUnreachableError(url, "TIMEOUT", `no answer within ${timeoutMs / 1000} s`, {
      cause: error,
    });
  }
  const code = e.cause?.code ?? "UNKNOWN";
  const known = NETWORK_ERRORS[code];
  const detail = known ? `${known} (${code})` : (e.cause?.message ?? e.message ?? String(error));
  return new EndpointUnreachableError(url, code, detail, { cause: error });
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * The headers (host included) that sign a request to API Gateway with SigV4 for `execute-api`. `url` is the
 * URL as sent: path and query already percent-encoded (RFC 3986).
 */
export async function signRequest(
  request: { method: string; url: string; body?: string; headers?: Record<string, string> },
  signing: { credentials: AwsCredentials; region: string; date: Date },
): Promise<Record<string, string>> {
  const headers: Record<string, string> = { accept: "application/json", ...request.headers };
  if (request.body !== undefined) headers["content-type"] ??= "application/json";
  return signedHeaders({ ...request, headers }, { service: "execute-api", ...signing });
}

export class HttpRotatorApi implements RotatorApi {
  readonly endpoint: string;
  readonly #settings: ApiClientSettings;
  #credentials: Promise<AwsCredentials> | undefined;

  constructor(settings: ApiClientSettings) {
    this.#settings = settings;
    this.endpoint = settings.endpoint.replace(/\/$/, "");
  }

  listCertificates(query: ListCertificatesQuery = {}): Promise<CertificateListAnswer> {
    return this.#call("GET", ["certificates"], { query: { ...query } });
  }

  getCertificate(id: CertificateRef): Promise<CertificateAnswer> {
    return this.#call("GET", ["certificates", id]);
  }

  startRotation(request: StartRotationBody): Promise<StartRotationAnswer> {
    return this.#call("POST", ["rotations"], { body: request });
  }

  listRotations(query: ListRotationsQuery = {}): Promise<RotationListAnswer> {
    return this.#call("GET", ["rotations"], { query: { ...query } });
  }

  getRotation(rotationId: string): Promise<RotationAnswer> {
    return this.#call("GET", ["rotations", rotationId]);
  }

  control(rotationId: string, action: ControlAnswer["action"], reason?: string): Promise<ControlAnswer> {
    const body: DecisionBody = reason ? { reason } : {};
    return this.#call("POST", ["rotations", rotationId, action], { body });
  }

  scan(): Promise<ScanAcceptedAnswer> {
    return this.#call("POST", ["scan"], { body: {} });
  }

  revokeViewer(request: RevokeViewerBody): Promise<ViewerRevokedAnswer> {
    return this.#call("POST", ["viewer-revocations"], { body: request });
  }

  getViewerRevocation(serial: string): Promise<ViewerRevocationAnswer> {
    return this.#call("GET", ["viewer-revocations", serial]);
  }

  /** DELETE's reason travels in the query (schemas.ts ReinstateViewerQuery). */
  reinstateViewer(serial: string, reason: string): Promise<ViewerReinstatedAnswer> {
    return this.#call("DELETE", ["viewer-revocations", serial], { query: { reason } });
  }

  startViewerMigration(request: StartViewerMigrationBody): Promise<ViewerMigrationStartedAnswer> {
    return this.#call("POST", ["viewer-migrations"], { body: request });
  }

  listViewerMigrations(query: ListViewerMigrationsQuery = {}): Promise<ViewerMigrationListAnswer> {
    return this.#call("GET", ["viewer-migrations"], { query: { ...query } });
  }

  getViewerMigration(migrationId: string): Promise<ViewerMigrationAnswer> {
    return this.#call("GET", ["viewer-migrations", migrationId]);
  }

  controlViewerMigration(
    migrationId: string,
    action: ViewerControlAnswer["action"],
    reason?: string,
  ): Promise<ViewerControlAnswer> {
    const body: DecisionBody = reason ? { reason } : {};
    return this.#call("POST", ["viewer-migrations", migrationId, action], { body });
  }

  viewerMtls(): Promise<ViewerMtlsAnswer> {
    return this.#call("GET", ["viewer-mtls"]);
  }

  /** Credentials, resolved once per client (a failed resolution is retried on the next call). */
  async #resolveCredentials(): Promise<AwsCredentials> {
    this.#credentials ??= this.#settings.credentials();
    try {
      return await this.#credentials;
    } catch (error) {
      this.#credentials = undefined;
      throw error;
    }
  }

  async #call<T>(
    method: string,
    segments: string[],
    input: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const s = this.#settings;
    const timeoutMs = s.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    for (const segment of segments) {
      // URLs resolve "." and ".." (even percent-encoded): an id like that would address another route.
      if (segment === "" || /^(\.|%2e){1,2}$/i.test(segment))
        throw new UsageError(`not a valid id: "${segment}"`);
    }
    const base = new URL(this.endpoint);
    const path = `${base.pathname.replace(/\/$/, "")}/${segments.map(uriEncode).join("/")}`;
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined) query[name] = String(value);
    }
    const queryString = Object.entries(query)
      .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
      .join("&");
    const url = `${base.origin}${path}${queryString ? `?${queryString}` : ""}`;
    const body = input.body === undefined ? undefined : JSON.stringify(input.body);

    const credentials = await this.#resolveCredentials();
    // fetch sets Host itself, from the URL: the same value that was signed.
    const { host: _host, ...headers } = await signRequest(
      { method, url, body },
      { credentials, region: s.region, date: (s.now ?? (() => new Date()))() },
    );

    let status: number;
    let text: string;
    let requestId: string | undefined;
    try {
      const response = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      requestId =
        response.headers.get("apigw-requestid") ?? response.headers.get("x-amzn-requestid") ?? undefined;
      text = await response.text();
    } catch (error) {
      throw networkError(this.endpoint, error, timeoutMs);
    }

    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (status >= 200 && status < 300) {
      if (parsed === undefined || parsed === null || typeof parsed !== "object") {
        throw new ApiAnswerError({
          status,
          method,
          url,
          message: `${status} with something that is not a JSON object: ${text.slice(0, 200)}`,
          requestId,
          gateway: false,
        });
      }
      return parsed as T;
    }
    const signing: SigningContext = {
      accessKeyId: credentials.accessKeyId,
      credentialSource: s.credentialSource ?? "the default credential chain",
      region: s.region,
      regionSource: s.regionSource ?? "--region",
    };
    const document = (parsed ?? {}) as {
      error?: {
        code?: string;
        message?: string;
        problems?: Array<{ field: string; message: string }>;
        rotationId?: string;
      };
      message?: string;
      Message?: string;
    };
    if (document.error && typeof document.error === "object") {
      throw new ApiAnswerError({
        status,
        method,
        url,
        message: document.error.message ?? `HTTP ${status}`,
        code: document.error.code,
        problems: Array.isArray(document.error.problems) ? document.error.problems : [],
        rotationId: document.error.rotationId,
        requestId,
        gateway: false,
        signing,
      });
    }
    throw new ApiAnswerError({
      status,
      method,
      url,
      message: document.message ?? document.Message ?? (text.slice(0, 500) || `HTTP ${status}`),
      requestId,
      gateway: true,
      signing,
    });
  }
}
