/**
 * One loopback HTTP server in front of every stand-in. Point the real AWS SDK at `endpoint` (or set the
 * per-service AWS_ENDPOINT_URL_* variables) and it talks to the stand-ins exactly as it would to AWS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector, type FaultKind } from "./faults.ts";
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

export interface CallRecord {
  service: string;
  operation: string;
  status: number;
  /** Error code answered, if any (including injected faults). */
  error?: string;
  region?: string;
}

export interface StandinServerOptions {
  /** How long an injected timeout holds the request before dropping the connection (ms). */
  timeoutHoldMs?: number;
  /** Simulated latency added to every call (ms), for benchmarks. */
  latencyMs?: number;
}

export class StandinServer {
  readonly faults = new FaultInjector();
  readonly calls: CallRecord[] = [];
  readonly #json = new Map<string, JsonService>();
  readonly #rest: RestService[] = [];
  readonly #server: Server;
  readonly #options: StandinServerOptions;
  #endpoint: string | undefined;

  constructor(services: Array<JsonService | RestService>, options: StandinServerOptions = {}) {
    this.#options = options;
    for (const service of services) {
      if ("targetPrefix" in service) this.#json.set(service.targetPrefix, service);
      else this.#rest.push(service);
    }
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
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

  /** Calls by "service:Operation", for reports. */
  callsByOperation(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) {
      const key = `${c.service}:${c.operation}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://standin");
    const request: StandinRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      region: regionOf(req.headers),
    };
    if (this.#options.latencyMs) await sleep(this.#options.latencyMs);

    const target = req.headers["x-amz-target"];
    const response =
      typeof target === "string"
        ? await this.#serveJson(target, request, res)
        : await this.#serveRest(request, res);
    if (!response) return; // connection dropped on purpose (timeout fault)
    res.writeHead(response.status, { "x-amzn-requestid": "standin", ...response.headers });
    res.end(response.body);
  }

  async #serveJson(target: string, request: StandinRequest, res: ServerResponse) {
    const dot = target.lastIndexOf(".");
    const service = this.#json.get(target.slice(0, dot));
    const operation = target.slice(dot + 1);
    if (!service) {
      return jsonError(new AwsError("UnknownOperationException", `no stand-in serves ${target}`));
    }
    return this.#dispatch(service.service, operation, request, res, jsonError, async () => {
      const input = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
      const output = await service.handle(operation, input, request);
      return {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: JSON.stringify(output ?? {}),
      };
    });
  }

  async #serveRest(request: StandinRequest, res: ServerResponse) {
    for (const service of this.#rest) {
      const operation = service.operationFor(request);
      if (operation) {
        return this.#dispatch(service.service, operation, request, res, xmlError, () =>
          service.handle(operation, request),
        );
      }
    }
    return xmlError(new AwsError("NotFound", `no stand-in serves ${request.method} ${request.path}`, 404));
  }

  async #dispatch(
    service: string,
    operation: string,
    request: StandinRequest,
    res: ServerResponse,
    toError: (error: AwsError) => StandinResponse,
    run: () => Promise<StandinResponse> | StandinResponse,
  ): Promise<StandinResponse | undefined> {
    const record: CallRecord = { service, operation, status: 0, region: request.region };
    this.calls.push(record);
    const fault = this.faults.take(service, operation);
    if (fault === "timeout") {
      record.error = "Timeout";
      await this.#hold(res);
      return undefined;
    }
    let response: StandinResponse;
    try {
      if (fault) throw faultError(fault, service);
      response = await run();
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
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

function faultError(kind: Exclude<FaultKind, "timeout">, service: string): AwsError {
  if (kind === "throttle") {
    return new AwsError(service === "cloudfront" ? "Throttling" : "ThrottlingException", "Rate exceeded");
  }
  return new AwsError("ServiceUnavailable", "Service is unavailable (injected fault)", 503);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
