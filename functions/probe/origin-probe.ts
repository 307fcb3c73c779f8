/**
 * Synthetic probe: a real mTLS request to an origin with a client credential, exactly what CloudFront will
 * do once it presents that credential. The origin is the only verifier, so only the origin can say yes.
 * `accepted` here is the TLS-level rule (an answer, and not 400/495/496); an origin that refuses at the
 * application level (403...) is caught only by comparing with the current certificate (core/preflight.ts).
 */
import { request } from "node:https";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { REFUSAL_STATUSES } from "../core/preflight.ts";
import type { ProbeResult } from "../core/rotation.ts";

export interface OriginEndpoint {
  /** "distributionId/originId", for reports. */
  target: string;
  host: string;
  port: number;
  path?: string;
}

/** Held only in memory by the step that probes; never returned. */
export interface ClientIdentity {
  certificatePem: string;
  chainPem: string;
  privateKeyPem: string;
}

export interface ProbeOptions {
  /** The whole probe, connection to last byte (not a socket's idle time). Default 5 s. */
  timeoutMs?: number;
  /** Extra CA certificates trusted for the ORIGIN's server certificate (private origins, tests). */
  originServerCaPem?: string;
  /** Request headers besides the probe's own (a forwarded viewer certificate: viewer-probe.ts). */
  headers?: Record<string, string>;
}

export function probeOrigin(
  endpoint: OriginEndpoint,
  identity: ClientIdentity,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise<ProbeResult>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (result: Omit<ProbeResult, "target">) => {
      clearTimeout(timer);
      resolve({ target: endpoint.target, ...result });
    };
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        path: endpoint.path || "/",
        method: "GET",
        agent: false,
        cert: identity.certificatePem + identity.chainPem,
        key: identity.privateKeyPem,
        ca: options.originServerCaPem ? [...rootCertificates, options.originServerCaPem] : undefined,
        ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
        headers: { ...options.headers, "user-agent": "mtls-rotator-probe/1", connection: "close" },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          done({ status, accepted: !REFUSAL_STATUSES.has(status) });
        });
      },
    );
    // One deadline for the whole exchange: a socket timeout is idle time, which a slow origin that keeps
    // sending (a handshake, then headers, then a trickle of body) would stretch without end.
    timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    // Transport failures: refused connection, handshake rejected, untrusted origin certificate. The message
    // names the failure only; it never contains the credential.
    req.on("error", (error) => done({ status: null, accepted: false, error: error.message }));
    req.end();
  }).catch((error: Error) => ({
    // An unusable credential (unreadable key, key not matching the certificate) throws while the TLS context
    // is built: a failed probe, not a crashed one. OpenSSL's message names the failure, never the key.
    target: endpoint.target,
    status: null,
    accepted: false,
    error: error.message,
  }));
}

/** Probe many endpoints with bounded concurrency. */
export async function probeAll(
  endpoints: OriginEndpoint[],
  identity: ClientIdentity,
  options: ProbeOptions & { concurrency?: number } = {},
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(endpoints.length);
  let next = 0;
  const worker = async () => {
    while (next < endpoints.length) {
      const i = next++;
      results[i] = await probeOrigin(endpoints[i]!, identity, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, endpoints.length) }, worker));
  return results;
}
