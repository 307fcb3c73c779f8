/**
 * Where an origin's client-CA bundle comes from, and fetching it with a deadline and a size cap:
 * - `s3://bucket/key`: S3 GetObject (the rotator publishes `trust/origin-client-ca.pem` with a `sha256`
 *   metadata entry; when present, the body must match it);
 * - `https://...`: an HTTPS GET (plain `http://` is refused: a trust bundle fetched without TLS could be
 *   swapped on the way), redirects followed to https only;
 * - a local file: an absolute path, `./` or `../` relative, or a `file://` URL;
 * - anything else: a Secrets Manager secret id or ARN (also `secretsmanager:<id>`), SecretString = PEM.
 *
 * The SDK clients read the standard environment (AWS_REGION, AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, the credentials chain).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsErrorName } from "../adapters/errors.ts";
import { regionOfArn } from "../wiring/clients.ts";

export type SourceSpec =
  | { kind: "s3"; bucket: string; key: string; display: string }
  | { kind: "https"; url: URL; display: string }
  | { kind: "file"; path: string; display: string }
  | { kind: "secret"; secretId: string; display: string };

/** A source that could not be used: `invalid` (exit 2: bad spec or bad content) or `unreachable` (exit 5). */
export class SourceError extends Error {
  override name = "SourceError";
  readonly kind: "invalid" | "unreachable";
  constructor(kind: "invalid" | "unreachable", message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** Parses `--source`. `fileExists` decides whether a bare name is ambiguous (a file and a secret id). */
export function parseSource(text: string, fileExists: (path: string) => boolean = existsSync): SourceSpec {
  const source = text.trim();
  if (source === "") throw new SourceError("invalid", "--source is empty");
  if (/^s3:\/\//i.test(source)) {
    const rest = source.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? "" : rest.slice(slash + 1);
    if (!bucket || !key) throw new SourceError("invalid", `--source ${source}: expected s3://bucket/key`);
    return { kind: "s3", bucket, key, display: `s3://${bucket}/${key}` };
  }
  if (/^https:\/\//i.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new SourceError("invalid", `--source ${source}: not a valid URL`);
    }
    return { kind: "https", url, display: redactUrl(url) };
  }
  if (/^http:\/\//i.test(source)) {
    let shown = "http://…";
    try {
      shown = redactUrl(new URL(source));
    } catch {
      // keep the placeholder
    }
    throw new SourceError(
      "invalid",
      `--source ${shown}: plain http is refused (a trust bundle must not travel without TLS); use https://`,
    );
  }
  if (/^file:/i.test(source)) {
    try {
      const path = fileURLToPath(source);
      return { kind: "file", path, display: path };
    } catch {
      throw new SourceError("invalid", `--source ${source}: not a valid file:// URL`);
    }
  }
  if (source.startsWith("/") || source.startsWith("./") || source.startsWith("../")) {
    return { kind: "file", path: source, display: source };
  }
  if (/^secretsmanager:/i.test(source)) {
    const secretId = source.slice("secretsmanager:".length);
    if (!secretId)
      throw new SourceError("invalid", "--source secretsmanager: needs a secret id after the colon");
    return { kind: "secret", secretId, display: `secretsmanager:${secretId}` };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new SourceError(
      "invalid",
      `--source ${source}: unsupported scheme (use s3://, https://, a file path or a secret id)`,
    );
  }
  if (!source.startsWith("arn:") && fileExists(source)) {
    throw new SourceError(
      "invalid",
      `--source ${source} is ambiguous: a local file of that name exists, and it is also a valid secret id. ` +
        `Write ./${source} for the file or secretsmanager:${source} for the secret.`,
    );
  }
  return { kind: "secret", secretId: source, display: `secretsmanager:${source}` };
}

/** A URL for messages: no user info, no query string (either could carry a token). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
}

export interface FetchSettings {
  timeoutMs: number;
  maxBytes: number;
  /** CA certificates (PEM) to trust for an https source, instead of the system roots. */
  httpsCaPem?: string;
}

export interface SourceClients {
  s3(): S3Client;
  secrets(): SecretsManagerClient;
}

export interface FetchedSource {
  /** The raw bytes, as fetched. */
  body: Buffer;
  /** Details for the log, e.g. "S3 version 3f…". */
  details: string[];
}

/** Default SDK clients, made only when a source needs them. A custom endpoint gets path-style S3 URLs. */
export function defaultSourceClients(settings: { region?: string; timeoutMs: number }): SourceClients {
  const common = {
    ...(settings.region ? { region: settings.region } : {}),
    maxAttempts: 3,
    requestHandler: {
      requestTimeout: settings.timeoutMs,
      connectionTimeout: 3_000,
      throwOnRequestTimeout: true,
    },
  };
  let s3: S3Client | undefined;
  let secrets: SecretsManagerClient | undefined;
  return {
    s3: () => {
      const customEndpoint = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
      s3 ??= new S3Client({ ...common, forcePathStyle: customEndpoint, followRegionRedirects: true });
      return s3;
    },
    secrets: () => {
      secrets ??= new SecretsManagerClient(common);
      return secrets;
    },
  };
}

/** Region a secret ARN names, when `--source` is one (used when no region is configured). */
export function regionOfSource(spec: SourceSpec): string | undefined {
  return spec.kind === "secret" && spec.secretId.startsWith("arn:") ? regionOfArn(spec.secretId) : undefined;
}

export async function fetchSource(
  spec: SourceSpec,
  settings: FetchSettings,
  clients: SourceClients,
): Promise<FetchedSource> {
  switch (spec.kind) {
    case "file":
      return fetchFile(spec.path, settings);
    case "https":
      return fetchHttps(spec.url, settings);
    case "s3":
      return fetchS3(spec, settings, clients);
    case "secret":
      return fetchSecret(spec, settings, clients);
  }
}

function tooLarge(display: string, size: number | string, maxBytes: number): SourceError {
  return new SourceError(
    "invalid",
    `${display} is ${size} bytes, more than the ${maxBytes} a CA bundle may have (--max-bytes)`,
  );
}

async function fetchFile(path: string, settings: FetchSettings): Promise<FetchedSource> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SourceError("invalid", `${path} is not a regular file`);
    if (info.size > settings.maxBytes) throw tooLarge(path, info.size, settings.maxBytes);
    const body = await readFile(path);
    if (body.length > settings.maxBytes) throw tooLarge(path, body.length, settings.maxBytes);
    return { body, details: [] };
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError("unreachable", `cannot read ${path}: ${code ?? (error as Error).message}`, {
      cause: error,
    });
  }
}

const MAX_REDIRECTS = 5;

async function fetchHttps(url: URL, settings: FetchSettings): Promise<FetchedSource> {
  const deadline = AbortSignal.timeout(settings.timeoutMs);
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const answer = await httpsGetOnce(current, settings, deadline);
    if ("redirect" in answer) {
      let next: URL;
      try {
        next = new URL(answer.redirect, current);
      } catch {
        throw new SourceError("unreachable", `${redactUrl(current)} redirected to an invalid URL`);
      }
      if (next.protocol !== "https:") {
        throw new SourceError(
          "invalid",
          `${redactUrl(current)} redirected to ${next.protocol}// (refused: the bundle must come over https)`,
        );
      }
      current = next;
      continue;
    }
    const details = current.href === url.href ? [] : [`redirected to ${redactUrl(current)}`];
    return { body: answer.body, details };
  }
  throw new SourceError("unreachable", `${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
}

function httpsGetOnce(
  url: URL,
  settings: FetchSettings,
  deadline: AbortSignal,
): Promise<{ body: Buffer } | { redirect: string }> {
  const display = redactUrl(url);
  return new Promise((resolve, reject) => {
    const fail = (error: SourceError) => {
      req.destroy();
      reject(error);
    };
    const req = httpsRequest(
      url,
      {
        method: "GET",
        signal: deadline,
        agent: false,
        headers: { accept: "application/x-pem-file, text/plain, */*", connection: "close" },
        ...(settings.httpsCaPem ? { ca: settings.httpsCaPem } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
          res.resume();
          resolve({ redirect: res.headers.location });
          return;
        }
        if (status !== 200) {
          res.resume();
          fail(new SourceError("unreachable", `${display} answered HTTP ${status}`));
          return;
        }
        const length = Number(res.headers["content-length"]);
        if (Number.isFinite(length) && length > settings.maxBytes) {
          fail(tooLarge(display, length, settings.maxBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > settings.maxBytes) {
            fail(tooLarge(display, `over ${settings.maxBytes}`, settings.maxBytes));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve({ body: Buffer.concat(chunks) }));
        res.on("error", (error) => reject(unreachable(display, error, deadline, settings.timeoutMs)));
      },
    );
    req.on("error", (error) => reject(unreachable(display, error, deadline, settings.timeoutMs)));
    req.end();
  });
}

function unreachable(display: string, error: Error, deadline: AbortSignal, timeoutMs: number): SourceError {
  if (deadline.aborted) {
    return new SourceError("unreachable", `${display} did not answer within ${timeoutMs / 1000} s`, {
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException).code;
  return new SourceError("unreachable", `${display}: ${code ? `${code}: ` : ""}${error.message}`, {
    cause: error,
  });
}

function awsFailure(display: string, error: unknown): SourceError {
  const name = awsErrorName(error) ?? "Error";
  const message = error instanceof Error ? error.message : String(error);
  if (/region is missing/i.test(message)) {
    return new SourceError(
      "invalid",
      `${display}: no AWS region configured (pass --region or set AWS_REGION)`,
      { cause: error },
    );
  }
  return new SourceError("unreachable", `${display}: ${name}: ${message}`, { cause: error });
}

async function fetchS3(
  spec: Extract<SourceSpec, { kind: "s3" }>,
  settings: FetchSettings,
  clients: SourceClients,
): Promise<FetchedSource> {
  let body: Buffer;
  let metadataSha: string | undefined;
  let version: string | undefined;
  try {
    const out = await clients.s3().send(new GetObjectCommand({ Bucket: spec.bucket, Key: spec.key }), {
      abortSignal: AbortSignal.timeout(settings.timeoutMs),
    });
    if (out.ContentLength !== undefined && out.ContentLength > settings.maxBytes) {
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw tooLarge(spec.display, out.ContentLength, settings.maxBytes);
    }
    body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    metadataSha = out.Metadata?.sha256;
    version = out.VersionId;
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw awsFailure(spec.display, error);
  }
  if (body.length > settings.maxBytes) throw tooLarge(spec.display, body.length, settings.maxBytes);
  const details: string[] = [];
  if (version && version !== "null") details.push(`version ${version}`);
  if (metadataSha !== undefined) {
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== metadataSha.toLowerCase()) {
      throw new SourceError(
        "invalid",
        `${spec.display}: the body's SHA-256 ${actual} does not match the object's sha256 metadata ` +
          `${metadataSha} (corrupt or tampered with)`,
      );
    }
    details.push("body matches its sha256 metadata");
  }
  return { body, details };
}

async function fetchSecret(
  spec: Extract<SourceSpec, { kind: "secret" }>,
  settings: FetchSettings,
  clients: SourceClients,
): Promise<FetchedSource> {
  try {
    const out = await clients.secrets().send(new GetSecretValueCommand({ SecretId: spec.secretId }), {
      abortSignal: AbortSignal.timeout(settings.timeoutMs),
    });
    const body =
      out.SecretString !== undefined
        ? Buffer.from(out.SecretString, "utf8")
        : Buffer.from(out.SecretBinary ?? new Uint8Array());
    if (body.length > settings.maxBytes) throw tooLarge(spec.display, body.length, settings.maxBytes);
    return { body, details: out.VersionId ? [`version ${out.VersionId}`] : [] };
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw awsFailure(spec.display, error);
  }
}
