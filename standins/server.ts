/**
 * One loopback HTTP server in front of every stand-in. Point the real AWS SDK at `endpoint` (or set the
 * per-service AWS_ENDPOINT_URL_* variables) and it talks to the stand-ins exactly as it would to AWS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector, type FaultKind } from "./faults.ts";
import { modelChecks, type ServiceModelCheck, serviceCheck } from "./model/checks.ts";
import type { Protocol } from "./model/wire.ts";
import {
  AwsError,
  type JsonService,
  jsonError,
  type RestService,
  regionOf,
  type StandinRequest,
  type StandinResponse,
  xmlError,
} from "./protocol.ts";

/** A request header naming who made a call (e.g. "origin-sync"), for call logs that separate callers. */
export const CALLER_HEADER = "x-standin-caller";

export interface CallRecord {
  service: string;
  /** The CALLER_HEADER of the request, when it had one. */
  caller?: string;
  operation: string;
  status: number;
  /** Error code answered, if any (including injected faults). */
  error?: string;
  region?: string;
}

/** A request as the server hands it to services: the body also as the bytes received (binary S3 objects). */
export interface WireRequest extends StandinRequest {
  readonly bytes: Buffer;
}

/** A response whose body may be bytes. */
export interface WireResponse extends Omit<StandinResponse, "body"> {
  body: string | Uint8Array;
}

/**
 * A REST or query-protocol service that reads the request's bytes, may answer bytes, and may shape its own
 * error documents (S3's `<Error>`, SNS's namespaced `<ErrorResponse>`). Every RestService is one too.
 */
export interface WireService {
  readonly service: string;
  /** The operation name for a request this service serves, or undefined. */
  operationFor(request: WireRequest): string | undefined;
  handle(operation: string, request: WireRequest): Promise<WireResponse> | WireResponse;
  /** The error answer for this service; the CloudFront-style `<ErrorResponse>` when absent. */
  errorResponse?(error: AwsError, request: WireRequest): WireResponse;
}

/** The service a request is signed for (SigV4 credential scope: "s3", "sns", ...), as AWS routes it. */
export function signingServiceOf(request: StandinRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth !== "string") return undefined;
  return /Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/([a-z0-9-]+)\/aws4_request/.exec(auth)?.[1];
}

/**
 * The operation of an awsQuery request (SNS, ELBv2): a form-encoded POST signed for `service`, whose
 * `Action` names the operation ("MissingAction" when absent, which the service then refuses).
 */
export function queryActionOf(request: WireRequest, service: string): string | undefined {
  if (request.method !== "POST" || signingServiceOf(request) !== service) return undefined;
  return new URLSearchParams(request.body).get("Action") ?? "MissingAction";
}

/** A call as an interceptor sees it: checked against AWS's model, not yet answered (nor faulted). */
export interface InterceptedCall {
  service: string;
  operation: string;
  request: WireRequest;
  /** The call's record in `calls`: its status and error are filled in once the call is answered. */
  record: CallRecord;
}

/**
 * Runs before a call is answered, and is awaited: e.g. to make another write first, as a second writer would
 * whose request arrives just before this one. An AwsError it throws is the call's answer.
 */
export type CallInterceptor = (call: InterceptedCall) => void | Promise<void>;

export interface StandinServerOptions {
  /** How long an injected timeout holds the request before dropping the connection (ms). */
  timeoutHoldMs?: number;
  /** Simulated latency added to every call (ms), for benchmarks. */
  latencyMs?: number;
}

export class StandinServer {
  readonly faults = new FaultInjector();
  readonly calls: CallRecord[] = [];
  readonly #interceptors: CallInterceptor[] = [];
  readonly #json = new Map<string, JsonService>();
  readonly #rest: WireService[] = [];
  /** AWS's model of every service served (botocore): each request and answer is checked against it. */
  readonly #checks = new Map<string, ServiceModelCheck>();
  readonly #server: Server;
  readonly #options: StandinServerOptions;
  #endpoint: string | undefined;
  /** Simulated latency per call (ms); settable, e.g. after seeding a benchmark. */
  latencyMs: number;

  constructor(services: Array<JsonService | RestService | WireService>, options: StandinServerOptions = {}) {
    this.#options = options;
    this.latencyMs = options.latencyMs ?? 0;
    modelChecks.countServer();
    for (const service of services) {
      if ("targetPrefix" in service) this.#json.set(service.targetPrefix, service);
      else this.#rest.push(service);
      // Without the models the stand-ins do not start: a check that cannot run must not look like a pass.
      if (!this.#checks.has(service.service))
        this.#checks.set(service.service, serviceCheck(service.service));
    }
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  }

  /** Adds an interceptor (run in the order added, before every call is answered); returns its removal. */
  intercept(interceptor: CallInterceptor): () => void {
    this.#interceptors.push(interceptor);
    return () => {
      const at = this.#interceptors.indexOf(interceptor);
      if (at >= 0) this.#interceptors.splice(at, 1);
    };
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.#endpoint = `http://127.0.0.1:${port}`;
    return this.#endpoint;
  }

  get endpoint(): string {
    if (!this.#endpoint) throw new Error("stand-in server is not listening");
    return this.#endpoint;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Calls made, optionally narrowed to a service and/or operation (faulted and failed calls included). */
  count(service?: string, operation?: string): number {
    return this.calls.filter(
      (c) =>
        (service === undefined || c.service === service) &&
        (operation === undefined || c.operation === operation),
    ).length;
  }

  /** Calls by "service:Operation", for reports; only those of `caller` when given. */
  callsByOperation(caller?: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) {
      if (caller !== undefined && c.caller !== caller) continue;
      const key = `${c.service}:${c.operation}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://standin");
    const bytes = Buffer.concat(chunks);
    const request: WireRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: bytes.toString("utf8"),
      bytes,
      region: regionOf(req.headers),
    };
    if (this.latencyMs > 0) await sleep(this.latencyMs);

    const target = req.headers["x-amz-target"];
    const response =
      typeof target === "string"
        ? await this.#serveJson(target, request, res)
        : await this.#serveRest(request, res);
    if (!response) return; // connection dropped on purpose (timeout fault)
    res.writeHead(response.status, { "x-amzn-requestid": "standin", ...response.headers });
    res.end(response.body);
  }

  async #serveJson(target: string, request: WireRequest, res: ServerResponse) {
    const dot = target.lastIndexOf(".");
    const service = this.#json.get(target.slice(0, dot));
    const operation = target.slice(dot + 1);
    if (!service) {
      recordUnserved(target);
      return jsonError(new AwsError("UnknownOperationException", `no stand-in serves ${target}`));
    }
    // awsQueryCompatible services (CloudWatch) also name the error in x-amzn-query-error: "Code;Sender".
    const toError =
      request.headers["x-amzn-query-mode"] === "true"
        ? withQueryError
        : (error: AwsError) => jsonError(error);
    return this.#dispatch(service.service, operation, "json", request, res, toError, async () => {
      const input = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
      const output = await service.handle(operation, input, request);
      return {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: JSON.stringify(output ?? {}),
      };
    });
  }

  async #serveRest(request: WireRequest, res: ServerResponse) {
    for (const service of this.#rest) {
      const operation = service.operationFor(request);
      if (operation) {
        const toError = (error: AwsError) => service.errorResponse?.(error, request) ?? xmlError(error);
        const protocol = this.#checks.get(service.service)?.model.metadata.protocol as Protocol;
        return this.#dispatch(service.service, operation, protocol, request, res, toError, () =>
          service.handle(operation, request),
        );
      }
    }
    recordUnserved(`${request.method} ${request.path}`);
    return xmlError(new AwsError("NotFound", `no stand-in serves ${request.method} ${request.path}`, 404));
  }

  async #dispatch(
    service: string,
    operation: string,
    protocol: Protocol,
    request: WireRequest,
    res: ServerResponse,
    toError: (error: AwsError) => WireResponse,
    run: () => Promise<WireResponse> | WireResponse,
  ): Promise<WireResponse | undefined> {
    const caller = request.headers[CALLER_HEADER];
    const record: CallRecord = {
      service,
      operation,
      status: 0,
      region: request.region,
      ...(typeof caller === "string" ? { caller } : {}),
    };
    this.calls.push(record);
    const check = this.#checks.get(service);
    let response: WireResponse;
    try {
      // AWS's model first: a request it does not allow is refused as AWS refuses it and changes nothing.
      check?.checkRequest(operation, protocol, request);
      for (const interceptor of [...this.#interceptors])
        await interceptor({ service, operation, request, record });
      const fault = this.faults.take(service, operation, typeof caller === "string" ? caller : undefined);
      if (fault === "timeout") {
        record.error = "Timeout";
        await this.#hold(res);
        return undefined;
      }
      if (fault) throw faultError(fault, service);
      response = await run();
      check?.checkResponse(operation, protocol, response, request.method);
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      check?.checkError(operation, error.code, error.status);
      response = toError(error);
      record.error = error.code;
    }
    record.status = response.status;
    return response;
  }

  async #hold(res: ServerResponse): Promise<void> {
    const holdMs = this.#options.timeoutHoldMs ?? 5_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, holdMs);
      res.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    res.destroy();
  }
}

/** How each service says "slow down", where it differs from the JSON services' ThrottlingException (400). */
const THROTTLE_ERRORS: Record<string, { code: string; status: number }> = {
  cloudfront: { code: "Throttling", status: 400 },
  elasticloadbalancing: { code: "Throttling", status: 400 },
  monitoring: { code: "Throttling", status: 400 },
  sns: { code: "Throttled", status: 429 },
  s3: { code: "SlowDown", status: 503 },
  apigateway: { code: "TooManyRequestsException", status: 429 },
};

function faultError(kind: Exclude<FaultKind, "timeout">, service: string): AwsError {
  if (kind === "throttle") {
    const { code, status } = THROTTLE_ERRORS[service] ?? { code: "ThrottlingException", status: 400 };
    return new AwsError(code, "Rate exceeded", status);
  }
  return new AwsError("ServiceUnavailable", "Service is unavailable (injected fault)", 503);
}

/** A request no stand-in serves: the code under test called something the stand-ins (and the check) do not know. */
function recordUnserved(what: string): void {
  modelChecks.record({
    service: "unknown",
    operation: what,
    direction: "routing",
    violations: [{ member: "", path: "", constraint: "no stand-in serves this request", value: `'${what}'` }],
  });
}

function withQueryError(error: AwsError): StandinResponse {
  const response = jsonError(error);
  const type = error.sender ? "Sender" : "Receiver";
  return { ...response, headers: { ...response.headers, "x-amzn-query-error": `${error.code};${type}` } };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
