/**
 * A one-shot HTTPS request that presents a TLS client certificate (mutual TLS), for asserting what a real
 * origin (see ./nginx-origin.ts) answers to a given client certificate (tests, the edge client, the sandbox).
 *
 * Assert on `status`, never on "the handshake worked": nginx with `ssl_verify_client on` completes the
 * handshake with an untrusted client certificate and answers HTTP 400 afterwards, and under TLS 1.3 the
 * client's handshake finishes before the server has even looked at the client certificate.
 *
 * Each call uses its own connection (`agent: false`, `Connection: close`): no session reuse, so every
 * request is a fresh full handshake judged by the origin's CURRENT configuration.
 */
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";

export interface MtlsRequestOptions {
  port: number;
  /** Where to connect (default `127.0.0.1`). */
  host?: string;
  /**
   * Client leaf certificate (PEM). Undefined only for a request that presents no certificate on purpose (a
   * viewer without one, for servers that ask but do not insist).
   */
  certificatePem: string | undefined;
  /** Intermediate CA certificates sent after the leaf (PEM, may be several), if any. */
  chainPem?: string;
  /** Private key of the client leaf (PEM); undefined with `certificatePem`. */
  privateKeyPem: string | undefined;
  /** Trust anchor(s) for verifying the SERVER certificate (PEM). The server is always verified. */
  caPem: string;
  /** SNI and the name the server certificate must match (default `localhost`). */
  servername?: string;
  /** Request path (default `/`). */
  path?: string;
  /** Deadline for the whole request, connection to last body byte (default 5000 ms). */
  timeoutMs?: number;
  /** Request headers besides `Connection: close`. */
  headers?: Record<string, string>;
}

/** The request's deadline (`timeoutMs`) passed before the response ended. */
export class MtlsTimeoutError extends Error {
  override name = "MtlsTimeoutError";
}

export interface MtlsResponse {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  /** Negotiated protocol, e.g. `TLSv1.3`. */
  tlsProtocol: string | null;
}

/**
 * GET `https://<host>:<port><path>` with a client certificate. Resolves with the HTTP status and body for
 * ANY status (400 included); rejects only on transport failures (refused, reset, server certificate not
 * trusted, timeout: {@link MtlsTimeoutError}), with the target in the message.
 */
export function mtlsRequest(options: MtlsRequestOptions): Promise<MtlsResponse> {
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/";
  const timeoutMs = options.timeoutMs ?? 5000;
  const target = `https://${host}:${options.port}${path}`;
  return new Promise<MtlsResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, response?: MtlsResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(response!);
    };
    const req = request(
      {
        host,
        port: options.port,
        path,
        method: "GET",
        servername: options.servername ?? "localhost",
        // Leaf first, then the chain: Node hands the whole PEM list to OpenSSL as the certificate chain.
        cert:
          options.chainPem && options.certificatePem
            ? joinPem(options.certificatePem, options.chainPem)
            : options.certificatePem,
        key: options.privateKeyPem,
        ca: options.caPem,
        rejectUnauthorized: true,
        agent: false,
        headers: { ...options.headers, connection: "close" },
      },
      (res) => {
        const tlsProtocol = (res.socket as TLSSocket).getProtocol?.() ?? null;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) =>
          finish(new Error(`mTLS request to ${target} failed: ${error.message}`, { cause: error })),
        );
        res.on("end", () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            headers: res.headers,
            tlsProtocol,
          }),
        );
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new MtlsTimeoutError(`mTLS request to ${target} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (error) => {
      // Keep the original error (and its `code`, e.g. ECONNREFUSED) as `cause`.
      finish(
        error.message.includes(target)
          ? error
          : new Error(`mTLS request to ${target} failed: ${error.message}`, { cause: error }),
      );
    });
    req.end();
  });
}

/** Concatenates PEM blocks, making sure each ends with a newline. */
function joinPem(...pems: string[]): string {
  return pems.map((pem) => (pem.endsWith("\n") ? pem : `${pem}\n`)).join("");
}
