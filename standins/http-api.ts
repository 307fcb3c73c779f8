/**
 * Amazon API Gateway HTTP API stand-in with IAM authorization, on 127.0.0.1 only: what the operator CLI
 * talks to in tests. Every route needs a SigV4 signature for `execute-api` in the API's region, checked the
 * way API Gateway checks it, and a route's handler receives a payload format 2.0 event
 * (`APIGatewayProxyEventV2WithIAMAuthorizer`) exactly as a Lambda integration would.
 *
 * The signature is verified by recomputing it here from the request as received on the wire (canonical
 * request per the SigV4 spec, key derivation, HMAC), with node:crypto only: nothing is shared with the
 * signer the client uses, so a client that signs wrongly fails here as it would against AWS.
 *
 * Answers as API Gateway gives them (403 bodies `{"message": ...}`):
 * - no route for the method and path -> 404 `Not Found` (API Gateway matches routes before authorizing);
 * - no Authorization header -> 403 `Missing Authentication Token`;
 * - a malformed Authorization header, host or x-amz-date not signed -> 403 with AWS's wording;
 * - credential scope for another region -> 403 `Credential should be scoped to a valid region.`;
 *   another service -> `Credential should be scoped to correct service: 'execute-api'.`;
 * - x-amz-date more than 5 minutes away from the clock -> 403 `Signature expired: ...` (or `not yet current`);
 * - unknown access key, or a session token that does not belong to it -> 403
 *   `The security token included in the request is invalid.`;
 * - a signature that does not match -> 403 `The request signature we calculated does not match ...` with the
 *   canonical request and string to sign this side computed, as AWS prints them;
 * - a principal without execute-api:Invoke on the route (`allowedRoutes`) -> 403 `Forbidden`;
 * - a handler that throws or answers something API Gateway cannot map -> 500 `Internal Server Error`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";

/** A principal that may call the API, with the credentials it signs with. */
export interface HttpApiAccount {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: requests must carry exactly this X-Amz-Security-Token. */
  sessionToken?: string;
  /** IAM user or assumed-role session ARN (requestContext.authorizer.iam.userArn). */
  principalArn: string;
  accountId: string;
  /** IAM unique id (AIDA.../AROA...:session); derived from the ARN when absent. */
  userId?: string;
  principalOrgId?: string;
  /** Route keys this principal may invoke (its execute-api:Invoke grants); all when absent. */
  allowedRoutes?: string[];
}

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
) => Promise<APIGatewayProxyResultV2<unknown>>;

export interface HttpApiOptions {
  region: string;
  accounts: HttpApiAccount[];
  /** "METHOD /path/{param}" (ANY for every method, {name+} for a greedy last segment) -> handler. */
  routes: Record<string, HttpApiHandler>;
  apiId?: string;
  now?: () => Date;
}

/** One request as the stand-in saw it. */
export interface HttpApiRequestRecord {
  method: string;
  path: string;
  rawQueryString: string;
  /** The route matched, if any. */
  routeKey?: string;
  /** The signing principal's ARN, once the signature was verified. */
  principal?: string;
  accessKeyId?: string;
  status: number;
  /** Why API Gateway refused the request (its message), when it did. */
  refused?: string;
}

export interface HttpApiStandin {
  /** Base URL, e.g. http://127.0.0.1:41234 (the `$default` stage: no stage segment). */
  url: string;
  apiId: string;
  region: string;
  requests: HttpApiRequestRecord[];
  close(): Promise<void>;
}

/** How far x-amz-date may be from the clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const SERVICE = "execute-api";
const ALGORITHM = "AWS4-HMAC-SHA256";

// ---- SigV4, computed independently ---------------------------------------------------------------------

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper case). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Canonical URI for a non-S3 service: the path as sent, normalized (empty, "." and ".." segments removed)
 * and URI-encoded once more (so "%2F" on the wire is "%252F" here), slashes kept.
 */
export function canonicalUri(wirePath: string): string {
  const segments: string[] = [];
  for (const segment of wirePath.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && wirePath.endsWith("/") ? "/" : "";
  return `/${segments.map(uriEncode).join("/")}${trailing}`;
}

/** Canonical query: every parameter decoded, re-encoded, sorted by name then value. */
export function canonicalQuery(rawQueryString: string): string {
  if (rawQueryString === "") return "";
  return rawQueryString
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const at = pair.indexOf("=");
      const name = at === -1 ? pair : pair.slice(0, at);
      const value = at === -1 ? "" : pair.slice(at + 1);
      return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
    })
    .filter(([name]) => name !== "X-Amz-Signature")
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

export interface SignatureInput {
  method: string;
  /** Path as sent on the wire (percent-encoded once). */
  path: string;
  rawQueryString: string;
  /** Header name (any case) -> value(s), as received. */
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  body: Uint8Array | string;
  amzDate: string;
  /** "YYYYMMDD/region/service/aws4_request" */
  scope: string;
  secretAccessKey: string;
}

export interface ComputedSignature {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** The signature a request with these parts must carry (SigV4: canonical request, string to sign, HMAC chain). */
export function computeSignature(input: SignatureInput): ComputedSignature {
  const lower = new Map<string, string[]>();
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    lower.set(key, [...(lower.get(key) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  const canonicalHeaders = input.signedHeaders
    .map((name) => {
      const values = (lower.get(name) ?? []).map((v) => v.trim().replace(/\s+/g, " "));
      return `${name}:${values.join(",")}\n`;
    })
    .join("");
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(input.path),
    canonicalQuery(input.rawQueryString),
    canonicalHeaders,
    input.signedHeaders.join(";"),
    sha256Hex(input.body),
  ].join("\n");
  const stringToSign = [ALGORITHM, input.amzDate, input.scope, sha256Hex(canonicalRequest)].join("\n");
  const [date = "", region = "", service = "", terminator = ""] = input.scope.split("/");
  const key = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, date), region), service), terminator);
  return { canonicalRequest, stringToSign, signature: hmac(key, stringToSign).toString("hex") };
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function refuse(message: string): never {
  throw new Refusal(403, message);
}

function parseAuthorization(header: string): ParsedAuthorization {
  if (!header.startsWith(`${ALGORITHM} `)) {
    refuse(
      `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' ` +
        `parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${header}`,
    );
  }
  const params = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const at = part.indexOf("=");
    if (at > 0) params.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const missing = ["Credential", "Signature", "SignedHeaders"]
    .filter((name) => !params.get(name))
    .map((name) => `Authorization header requires '${name}' parameter.`);
  if (missing.length > 0) refuse(`${missing.join(" ")} Authorization=${header}`);
  const credential = params.get("Credential")!.split("/");
  if (credential.length !== 5) {
    refuse(
      `Credential should be scoped to a valid region. ` +
        `Malformed credential: ${params.get("Credential")}; expected <key>/<date>/<region>/<service>/aws4_request.`,
    );
  }
  const [accessKeyId = "", date = "", region = "", service = "", terminator = ""] = credential;
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: params.get("SignedHeaders")!.split(";"),
    signature: params.get("Signature")!,
  };
}

/** "20150830T123600Z" -> Date, or undefined. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

function amzDateOf(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function headerValue(headers: IncomingMessage["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

interface VerifiedCaller {
  account: HttpApiAccount;
}

/** Checks the request's signature as API Gateway does; throws a Refusal (403) otherwise. */
function verifyRequest(
  request: { method: string; path: string; rawQueryString: string; headers: IncomingMessage["headers"] },
  rawHeaders: Record<string, string[]>,
  body: Buffer,
  options: { region: string; accounts: readonly HttpApiAccount[]; now: Date },
): VerifiedCaller {
  const authorization = headerValue(request.headers, "authorization");
  if (authorization === undefined || authorization === "") refuse("Missing Authentication Token");
  const auth = parseAuthorization(authorization);
  const credentialText = `${auth.accessKeyId}/${auth.date}/${auth.region}/${auth.service}/${auth.terminator}`;
  if (auth.terminator !== "aws4_request") {
    refuse(`Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'. `);
  }
  if (auth.region !== options.region) refuse("Credential should be scoped to a valid region. ");
  if (auth.service !== SERVICE) refuse(`Credential should be scoped to correct service: '${SERVICE}'. `);
  if (!auth.signedHeaders.includes("host")) {
    refuse("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const amzDateText = headerValue(request.headers, "x-amz-date");
  const amzDate = amzDateText === undefined ? undefined : parseAmzDate(amzDateText);
  if (amzDateText === undefined || amzDate === undefined || !auth.signedHeaders.includes("x-amz-date")) {
    refuse(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, signed. " +
        `Authorization=${authorization}`,
    );
  }
  if (auth.date !== amzDateText.slice(0, 8)) {
    refuse(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${auth.date}' != '${amzDateText.slice(0, 8)}', from '${amzDateText}'.`,
    );
  }
  const skew = amzDate.getTime() - options.now.getTime();
  if (skew < -MAX_CLOCK_SKEW_MS) {
    const limit = amzDateOf(new Date(options.now.getTime() - MAX_CLOCK_SKEW_MS));
    refuse(
      `Signature expired: ${amzDateText} is now earlier than ${limit} (${amzDateOf(options.now)} - 5 min.)`,
    );
  }
  if (skew > MAX_CLOCK_SKEW_MS) {
    const limit = amzDateOf(new Date(options.now.getTime() + MAX_CLOCK_SKEW_MS));
    refuse(
      `Signature not yet current: ${amzDateText} is still later than ${limit} (${amzDateOf(options.now)} + 5 min.)`,
    );
  }
  const account = options.accounts.find((a) => a.accessKeyId === auth.accessKeyId);
  if (!account) refuse("The security token included in the request is invalid.");
  const token = headerValue(request.headers, "x-amz-security-token");
  if ((account.sessionToken ?? undefined) !== token) {
    refuse("The security token included in the request is invalid.");
  }
  const computed = computeSignature({
    method: request.method,
    path: request.path,
    rawQueryString: request.rawQueryString,
    headers: rawHeaders,
    signedHeaders: auth.signedHeaders,
    body,
    amzDate: amzDateText,
    scope: credentialText.slice(auth.accessKeyId.length + 1),
    secretAccessKey: account.secretAccessKey,
  });
  const expected = Buffer.from(computed.signature, "utf8");
  const given = Buffer.from(auth.signature, "utf8");
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    refuse(
      "The request signature we calculated does not match the signature you provided. Check your AWS " +
        "Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
        `The Canonical String for this request should have been\n'${computed.canonicalRequest}'\n\n` +
        `The String-to-Sign should have been\n'${computed.stringToSign}'\n`,
    );
  }
  return { account };
}

// ---- routes ---------------------------------------------------------------------------------------------

interface Route {
  routeKey: string;
  method: string;
  segments: string[];
  handler: HttpApiHandler;
}

function compileRoutes(routes: Record<string, HttpApiHandler>): Route[] {
  return Object.entries(routes).map(([routeKey, handler]) => {
    const m = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (\/\S*)$/.exec(routeKey);
    if (!m) throw new Error(`route key must be "METHOD /path", got ${JSON.stringify(routeKey)}`);
    const segments = m[2]!.split("/").filter((s) => s !== "");
    return { routeKey, method: m[1]!, segments, handler };
  });
}

/** The matching route (literal segments beat parameters, parameters beat greedy) and its path parameters. */
function matchRoute(
  routes: readonly Route[],
  method: string,
  wirePath: string,
): { route: Route; params: Record<string, string> } | undefined {
  const parts = wirePath.split("/").filter((s) => s !== "");
  let best: { route: Route; params: Record<string, string>; score: number } | undefined;
  for (const route of routes) {
    if (route.method !== method && route.method !== "ANY") continue;
    const params: Record<string, string> = {};
    let score = route.method === "ANY" ? 0 : 1;
    let matched = true;
    for (let i = 0; i < route.segments.length; i += 1) {
      const segment = route.segments[i]!;
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy) {
        if (i !== route.segments.length - 1 || parts.length <= i) matched = false;
        else params[greedy[1]!] = parts.slice(i).map(decode).join("/");
        break;
      }
      const part = parts[i];
      if (part === undefined) {
        matched = false;
        break;
      }
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param) {
        params[param[1]!] = decode(part);
        score += 2;
      } else if (segment === decode(part)) {
        score += 4;
      } else {
        matched = false;
        break;
      }
    }
    const greedyLast = route.segments.at(-1)?.endsWith("+}") ?? false;
    if (!greedyLast && parts.length !== route.segments.length) matched = false;
    if (matched && (!best || score > best.score)) best = { route, params, score };
  }
  return best && { route: best.route, params: best.params };
}

// ---- the event and the answer ---------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "12/Mar/2020:19:03:58 +0000", as requestContext.time has it. */
function clfTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** The IAM unique id API Gateway reports: AROA...:session for an assumed role, AIDA... for a user. */
function userIdOf(account: HttpApiAccount): string {
  if (account.userId) return account.userId;
  const digest = createHash("sha256").update(account.principalArn).digest("hex").slice(0, 17).toUpperCase();
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(account.principalArn)?.[1];
  return session ? `AROA${digest}:${session}` : `AIDA${digest}`;
}

function buildEvent(input: {
  method: string;
  wirePath: string;
  rawQueryString: string;
  rawHeaders: Record<string, string[]>;
  body: Buffer;
  route: Route;
  params: Record<string, string>;
  account: HttpApiAccount;
  accessKeyId: string;
  apiId: string;
  requestId: string;
  sourceIp: string;
  now: Date;
}): APIGatewayProxyEventV2WithIAMAuthorizer {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(input.rawHeaders)) {
    if (name === "cookie") cookies = values.flatMap((v) => v.split(";").map((c) => c.trim()));
    else headers[name] = values.join(",");
  }
  const query: Record<string, string> = {};
  for (const pair of input.rawQueryString.split("&")) {
    if (pair === "") continue;
    const at = pair.indexOf("=");
    const name = decode(at === -1 ? pair : pair.slice(0, at));
    const value = decode(at === -1 ? "" : pair.slice(at + 1));
    query[name] = name in query ? `${query[name]},${value}` : value;
  }
  const domainName = headers.host ?? `${input.apiId}.execute-api.amazonaws.com`;
  const userId = userIdOf(input.account);
  return {
    version: "2.0",
    routeKey: input.route.routeKey,
    rawPath: input.wirePath,
    rawQueryString: input.rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: input.account.accountId,
      apiId: input.apiId,
      authorizer: {
        iam: {
          accessKey: input.accessKeyId,
          accountId: input.account.accountId,
          callerId: userId,
          cognitoIdentity: null,
          // API Gateway sends null outside an organization; @types/aws-lambda types it as a string.
          principalOrgId: input.account.principalOrgId ?? (null as unknown as string),
          userArn: input.account.principalArn,
          userId,
        },
      },
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: input.method,
        path: input.wirePath,
        protocol: "HTTP/1.1",
        sourceIp: input.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: input.requestId,
      routeKey: input.route.routeKey,
      stage: "$default",
      time: clfTime(input.now),
      timeEpoch: input.now.getTime(),
    },
    ...(Object.keys(input.params).length > 0 ? { pathParameters: input.params } : {}),
    ...(input.body.length > 0 ? { body: input.body.toString("utf8") } : {}),
    isBase64Encoded: false,
  };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function json(status: number, value: unknown): Answer {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(value)),
  };
}

/**
 * What API Gateway makes of a format 2.0 integration result: a structured result (it has statusCode) as
 * given; anything else is a 200 JSON document (a string is taken as the body itself).
 */
function answerOf(result: APIGatewayProxyResultV2<unknown>): Answer {
  const structured =
    typeof result === "object" && result !== null && "statusCode" in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    const body = typeof result === "string" ? result : JSON.stringify(result ?? null);
    return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(body) };
  }
  const status = structured.statusCode;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new Error(`integration answered an invalid statusCode ${String(status)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name] = String(value);
  const text = structured.body ?? "";
  const body = structured.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  return { status, headers, body };
}

/** Header name (lower case) -> every value received, in order (duplicates kept apart). */
function collectHeaders(req: IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    out[name] = [...(out[name] ?? []), req.rawHeaders[i + 1]!];
  }
  return out;
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApiStandin> {
  const routes = compileRoutes(options.routes);
  const now = options.now ?? (() => new Date());
  const apiId = options.apiId ?? randomBytes(5).toString("hex").slice(0, 10);
  const requests: HttpApiRequestRecord[] = [];

  async function serve(req: IncomingMessage): Promise<{ answer: Answer; record: HttpApiRequestRecord }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const wirePath = q === -1 ? target : target.slice(0, q);
    const rawQueryString = q === -1 ? "" : target.slice(q + 1);
    const method = (req.method ?? "GET").toUpperCase();
    const record: HttpApiRequestRecord = { method, path: wirePath, rawQueryString, status: 0 };

    const match = matchRoute(routes, method, wirePath);
    if (!match)
      return { answer: json(404, { message: "Not Found" }), record: { ...record, refused: "Not Found" } };
    record.routeKey = match.route.routeKey;

    const rawHeaders = collectHeaders(req);
    const at = now();
    let caller: VerifiedCaller;
    try {
      caller = verifyRequest(
        { method, path: wirePath, rawQueryString, headers: req.headers },
        rawHeaders,
        body,
        { region: options.region, accounts: options.accounts, now: at },
      );
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return {
        answer: json(error.status, { message: error.message }),
        record: { ...record, refused: error.message },
      };
    }
    record.principal = caller.account.principalArn;
    record.accessKeyId = caller.account.accessKeyId;
    const allowed = caller.account.allowedRoutes;
    if (allowed && !allowed.includes(match.route.routeKey)) {
      return { answer: json(403, { message: "Forbidden" }), record: { ...record, refused: "Forbidden" } };
    }

    const requestId = randomBytes(10).toString("base64");
    const event = buildEvent({
      method,
      wirePath,
      rawQueryString,
      rawHeaders,
      body,
      route: match.route,
      params: match.params,
      account: caller.account,
      accessKeyId: caller.account.accessKeyId,
      apiId,
      requestId,
      sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
      now: at,
    });
    try {
      const answer = answerOf(await match.route.handler(event));
      answer.headers["apigw-requestid"] = requestId;
      return { answer, record };
    } catch {
      const answer = json(500, { message: "Internal Server Error" });
      answer.headers["apigw-requestid"] = requestId;
      return { answer, record: { ...record, refused: "Internal Server Error" } };
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    serve(req)
      .then(({ answer, record }) => {
        requests.push({ ...record, status: answer.status });
        res.writeHead(answer.status, {
          "apigw-requestid": randomBytes(10).toString("base64"),
          ...answer.headers,
          "content-length": String(answer.body.length),
        });
        res.end(answer.body);
      })
      .catch(() => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "Internal Server Error" }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiId,
    region: options.region,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
