/**
 * A loopback proxy that signs for a caller that cannot: a request that carries `Authorization: <token>` (the
 * proxy's own placeholder credential) is signed with SigV4 for `execute-api` with one account's credentials
 * and sent on to the HTTP API stand-in, byte for byte (method, path and query as received, body unchanged);
 * any other request (no Authorization, or another one) is sent on as it came, so the stand-in refuses it as
 * API Gateway would. The answer is handed back as the stand-in gave it. API tools such as schemathesis sign
 * nothing; behind this proxy they reach the real route handlers, and their requests without (or with broken)
 * credentials still meet API Gateway's refusals.
 *
 * Requests go through one at a time, each between two readings of `observe` (what the request could change:
 * table items, stand-in state), so a test can tell exactly which request changed what. The signature is the
 * one the stand-in's own verifier computes for the request as sent (standins/http-api.ts computeSignature):
 * the proxy is a caller that signs correctly, never a test of signing (test/standins/http-api.test.ts is).
 *
 * Listens on 127.0.0.1 only; `close()` stops it, and it never keeps the process alive.
 */
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { computeSignature, type HttpApiAccount } from "../../standins/http-api.ts";

/** One request through the proxy: what was sent, what came back, and what it changed. */
export interface ProxiedExchange {
  method: string;
  /** Path and query as received. */
  target: string;
  body: string;
  status: number;
  answer: string;
  /** `observe` before and after the request (equal when it changed nothing). */
  before: string;
  after: string;
}

export interface SigningProxy {
  url: string;
  exchanges: ProxiedExchange[];
  close(): Promise<void>;
}

/** Headers the proxy sets itself, or that describe one connection only. */
const NOT_FORWARDED = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "authorization",
  "x-amz-date",
  "x-amz-security-token",
  "x-amz-content-sha256",
]);

function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startSigningProxy(options: {
  upstream: string;
  region: string;
  account: HttpApiAccount;
  /** The Authorization value that asks the proxy to sign. */
  token: string;
  observe: () => Promise<string>;
}): Promise<SigningProxy> {
  const upstream = new URL(options.upstream);
  const exchanges: ProxiedExchange[] = [];
  let queue: Promise<unknown> = Promise.resolve();

  function forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const target = req.url ?? "/";
    if (req.headers.authorization !== options.token) return send(req, target, body, { ...req.headers });
    const q = target.indexOf("?");
    const date = amzDate(new Date());
    const signedPart: Record<string, string> = {
      host: upstream.host,
      "x-amz-date": date,
      ...(options.account.sessionToken ? { "x-amz-security-token": options.account.sessionToken } : {}),
    };
    const signedHeaders = Object.keys(signedPart).sort();
    const scope = `${date.slice(0, 8)}/${options.region}/execute-api/aws4_request`;
    const { signature } = computeSignature({
      method: req.method ?? "GET",
      path: q === -1 ? target : target.slice(0, q),
      rawQueryString: q === -1 ? "" : target.slice(q + 1),
      headers: signedPart,
      signedHeaders,
      body,
      amzDate: date,
      scope,
      secretAccessKey: options.account.secretAccessKey,
    });
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
    }
    Object.assign(headers, signedPart, {
      authorization:
        `AWS4-HMAC-SHA256 Credential=${options.account.accessKeyId}/${scope}, ` +
        `SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`,
      "content-length": String(body.length),
    });
    return send(req, target, body, headers);
  }

  function send(
    req: IncomingMessage,
    target: string,
    body: Buffer,
    given: Record<string, string | string[] | undefined>,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(given)) {
      if (value !== undefined && name !== "connection" && name !== "keep-alive") headers[name] = value;
    }
    headers.host = upstream.host;
    headers["content-length"] = String(body.length);
    delete headers["transfer-encoding"];
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: target,
          headers,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const answerHeaders: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined && name !== "connection" && name !== "transfer-encoding") {
                answerHeaders[name] = Array.isArray(value) ? value.join(", ") : value;
              }
            }
            resolve({ status: res.statusCode ?? 502, headers: answerHeaders, body: Buffer.concat(chunks) });
          });
          res.on("error", reject);
        },
      );
      out.on("timeout", () => out.destroy(new Error("upstream timed out")));
      out.on("error", reject);
      out.end(body);
    });
  }

  const server = createServer((req, res) => {
    const done = bodyOf(req).then((body) => {
      // One request at a time, each between two observations.
      const turn = queue.then(async () => {
        const before = await options.observe();
        const answer = await forward(req, body);
        const after = await options.observe();
        exchanges.push({
          method: req.method ?? "GET",
          target: req.url ?? "/",
          body: body.toString("utf8"),
          status: answer.status,
          answer: answer.body.toString("utf8"),
          before,
          after,
        });
        return answer;
      });
      queue = turn.catch(() => undefined);
      return turn;
    });
    done.then(
      (answer) => {
        res.writeHead(answer.status, { ...answer.headers, "content-length": String(answer.body.length) });
        res.end(answer.body);
      },
      (error: unknown) => {
        // Never an answer of the API: a 502 says the proxy failed, and the test fails on it (not declared).
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`signing proxy: ${String(error)}`);
      },
    );
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
