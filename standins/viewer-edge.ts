/**
 * Viewers reaching CloudFront with client certificates (viewer mTLS), on this machine. The viewer edge is a
 * real TLS listener on 127.0.0.1 that plays CloudFront's viewer side for the given distributions (by SNI:
 * `<id>.cloudfront.net`), and it plays the viewers too: each viewer's requests are real TLS handshakes that
 * present the viewer's certificate and chain, signed with the viewer's key (which never leaves this process).
 * What the edge does with a viewer follows the distribution's LIVE (deployed) `ViewerMtlsConfig`:
 *
 * - required: the handshake verifies the viewer's chain against the trust store's bundle in effect (the last
 *   one that validated: a pending or failed update does not count; CloudFrontTrustStores.effectiveBundle);
 *   no certificate, or one the bundle does not anchor, is refused at the edge.
 * - optional: as required, except that a viewer presenting no certificate passes.
 * - passthrough: no validation at the edge; CloudFront sends the viewer's certificate to the origin as RFC
 *   9440 headers, `Client-Cert: :<base64 DER of the leaf>:` and `Client-Cert-Chain: :<b64>:, :<b64>:` (left
 *   out when the viewer sent its leaf alone), after removing any copies the viewer sent itself.
 * - no ViewerMtlsConfig: no certificate is asked for or looked at.
 *
 * A viewer that passes goes to the default cache behaviour's origin the way the origin edge (edge.ts) goes
 * there: over mTLS with the distribution's live origin-mTLS certificate and ACM's key (edge-traffic.ts). The
 * origin receives the headers the behaviour's origin request policy forwards (the Client-Cert pair only when
 * the policy lists them: cloudfront-origin-request-policies.ts). Host and hop-by-hop headers are the edge's
 * own, not the viewer's.
 *
 * The edge answers a viewer 200 when the origin did, 403 when the edge refused it, 502 when the origin
 * refused, 504 when it timed out; the reason travels in `x-viewer-edge-reason` (real CloudFront ends a refused
 * handshake instead, but a viewer whose handshake broke cannot say why: the stand-in tells the tally).
 *
 * Traffic and tallies: every viewer has its own loop (a request every `intervalMs` unless
 * `maxInFlightPerViewer` are open), or `round()` sends one request per viewer now. Sent / accepted / refused,
 * refusal times and reasons are counted per viewer and per distribution. Bounded: `stop()`, `maxDurationMs`,
 * `maxRequests`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import { type CloudFrontStandin, domainNameOf, type ViewerAccess } from "./cloudfront.ts";
import type { CloudFrontOriginRequestPolicies } from "./cloudfront-origin-request-policies.ts";
import { type HeaderValues, headersForOrigin } from "./cloudfront-origin-request-policies.ts";
import type { CloudFrontTrustStores } from "./cloudfront-trust-stores.ts";
import { type OriginReach, RealDate, requestOrigin, TrafficLoops } from "./edge-traffic.ts";
import { mtlsRequest } from "./mtls-client.ts";
import { createRootCa, type IssuedCredential, issueServerCredential } from "./pki.ts";

/** A viewer: who it is, what it presents, which distribution it visits. */
export interface Viewer {
  /** Unique among the edge's viewers. */
  name: string;
  /** The viewer's leaf certificate (PEM); undefined for a viewer that presents none. */
  certificatePem: string | undefined;
  /** Certificates the viewer sends after its leaf (PEM each, issuing CA first), if any. */
  chainPems: string[];
  /** The viewer's private key (PEM), used only in this process for the viewer's own handshakes. */
  keyPem: string | undefined;
  distributionId: string;
  /** Request headers the viewer sends (e.g. a forged `Client-Cert` the edge must remove). */
  headers?: Record<string, string>;
}

/** What the viewer edge reads: the live distributions, their trust stores and policies, ACM's keys. */
export interface ViewerEdgeWorld extends OriginReach {
  cloudfront: Pick<CloudFrontStandin, "originsOf" | "viewerAccessOf"> & {
    trustStores: Pick<CloudFrontTrustStores, "effectiveBundle">;
    originRequestPolicies: Pick<CloudFrontOriginRequestPolicies, "headerRule">;
  };
}

export interface ViewerEdgeOptions {
  standins: ViewerEdgeWorld;
  viewers: Viewer[];
  /** CA that signed the origins' server certificates. */
  serverCaPem: string;
  /** Each viewer's loop sends one request this often (default 50 ms). */
  intervalMs?: number;
  /** At most this many open requests per viewer (default 4). */
  maxInFlightPerViewer?: number;
  /** A viewer's request not answered within this is refused as timed out (default 3000 ms). */
  requestTimeoutMs?: number;
  maxDurationMs?: number;
  maxRequests?: number;
}

/** Why the edge refused a viewer (the reasons a tally counts besides the origin's). */
export const REFUSAL = {
  untrusted: "trust store does not trust the viewer's CA",
  noCertificate: "viewer presented no certificate",
  noBundle: "trust store has no bundle that validated",
  notDeployed: "distribution has no deployed configuration",
} as const;

export interface Tally {
  sent: number;
  accepted: number;
  refused: number;
  /** Real-clock times of refusals (ms). */
  refusedAt: number[];
  /** Refusals by reason. */
  reasons: Record<string, number>;
}

export interface ViewerTally extends Tally {
  viewer: string;
  distributionId: string;
}

export interface DistributionTally extends Tally {
  distributionId: string;
}

export interface ViewerEdgeSummary {
  sent: number;
  accepted: number;
  refused: number;
  viewers: ViewerTally[];
  distributions: DistributionTally[];
}

/** The response header that carries the reason of a refusal to the viewer's tally. */
const REASON_HEADER = "x-viewer-edge-reason";

/** Headers the edge's connection to the origin owns (RFC 9110 connection-specific ones, and Host). */
const CONNECTION_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "upgrade",
  "content-length",
]);

/** The RFC 9440 headers CloudFront makes in passthrough mode; viewers' own copies are removed. */
const CLIENT_CERT = "client-cert";
const CLIENT_CERT_CHAIN = "client-cert-chain";

/** OpenSSL verification errors that mean "no anchor for this chain in the trust store". */
const UNTRUSTED_CHAIN = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
]);

/** The edge's decision on a viewer: refused (with why), or on to the origin with these CloudFront headers. */
type Admission = { refusal: string } | { refusal: undefined; cloudFrontHeaders: HeaderValues };

export class ViewerEdge {
  readonly #options: Required<Omit<ViewerEdgeOptions, "standins" | "viewers" | "serverCaPem">> &
    ViewerEdgeOptions;
  readonly #viewers = new Map<string, Viewer>();
  readonly #distributionByName = new Map<string, string>();
  readonly #traffic: TrafficLoops;
  readonly #byViewer = new Map<string, ViewerTally>();
  readonly #byDistribution = new Map<string, DistributionTally>();
  /** Secure contexts by the trust bundle they verify viewers with ("" for none). */
  readonly #contexts = new Map<string, SecureContext>();
  readonly #sendByName = (name: string) => this.#send(name);
  #listening: Promise<void> | undefined;
  #identity: { ca: string; server: IssuedCredential } | undefined;
  #server: Server | undefined;
  #port = 0;

  constructor(options: ViewerEdgeOptions) {
    this.#options = {
      intervalMs: 50,
      maxInFlightPerViewer: 4,
      requestTimeoutMs: 3_000,
      maxDurationMs: 120_000,
      maxRequests: 200_000,
      ...options,
    };
    for (const viewer of options.viewers) {
      if (this.#viewers.has(viewer.name)) throw new Error(`two viewers are named ${viewer.name}`);
      if ((viewer.certificatePem === undefined) !== (viewer.keyPem === undefined)) {
        throw new Error(`viewer ${viewer.name} needs both a certificate and its key, or neither`);
      }
      this.#viewers.set(viewer.name, viewer);
      this.#distributionByName.set(domainNameOf(viewer.distributionId), viewer.distributionId);
    }
    this.#traffic = new TrafficLoops({
      intervalMs: this.#options.intervalMs,
      maxInFlight: this.#options.maxInFlightPerViewer,
      maxDurationMs: this.#options.maxDurationMs,
      maxRequests: this.#options.maxRequests,
    });
  }

  /**
   * A viewer joins (its loop starts with the next discovery, within 250 ms): e.g. a viewer holding a
   * certificate from a new CA. Its distribution must be one the edge already serves.
   */
  addViewer(viewer: Viewer): void {
    if (this.#viewers.has(viewer.name)) throw new Error(`two viewers are named ${viewer.name}`);
    if ((viewer.certificatePem === undefined) !== (viewer.keyPem === undefined)) {
      throw new Error(`viewer ${viewer.name} needs both a certificate and its key, or neither`);
    }
    this.#viewers.set(viewer.name, viewer);
    this.#distributionByName.set(domainNameOf(viewer.distributionId), viewer.distributionId);
  }

  /** A viewer leaves: it sends nothing more (its open requests still end and are counted). */
  removeViewer(name: string): void {
    this.#viewers.delete(name);
  }

  /** Starts the edge's listener (once) and every viewer's loop. */
  async start(): Promise<void> {
    await this.listen();
    this.#traffic.start(() => this.#viewers.keys(), this.#sendByName);
  }

  /** Starts the edge's listener on 127.0.0.1 (once): its own CA and a `*.cloudfront.net` certificate. */
  listen(): Promise<void> {
    this.#listening ??= this.#listen();
    return this.#listening;
  }

  /** One request from every viewer now, all at once. */
  async round(): Promise<void> {
    await this.listen();
    await Promise.all(
      [...this.#viewers.keys()].map((name) => this.#traffic.dispatch(name, this.#sendByName)),
    );
  }

  /** Stops the loops, waits for open requests (each ends by its deadline), closes the listener. */
  async stop(): Promise<ViewerEdgeSummary> {
    await this.#traffic.stop();
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    return this.summary();
  }

  summary(): ViewerEdgeSummary {
    const copy = <T extends Tally>(t: T): T => ({
      ...t,
      refusedAt: [...t.refusedAt],
      reasons: { ...t.reasons },
    });
    const viewers = [...this.#byViewer.values()].map(copy);
    return {
      sent: viewers.reduce((sum, v) => sum + v.sent, 0),
      accepted: viewers.reduce((sum, v) => sum + v.accepted, 0),
      refused: viewers.reduce((sum, v) => sum + v.refused, 0),
      viewers,
      distributions: [...this.#byDistribution.values()].map(copy),
    };
  }

  // ---- the viewer side -----------------------------------------------------------------------------------

  /** One request of one viewer through the edge; counted. */
  async #send(name: string): Promise<void> {
    const viewer = this.#viewers.get(name);
    const identity = this.#identity;
    if (!viewer || !identity) return;
    let refusal: string | undefined;
    try {
      const response = await mtlsRequest({
        port: this.#port,
        host: "127.0.0.1",
        servername: domainNameOf(viewer.distributionId),
        certificatePem: viewer.certificatePem,
        chainPem: viewer.chainPems.join(""),
        privateKeyPem: viewer.keyPem,
        caPem: identity.ca,
        timeoutMs: this.#options.requestTimeoutMs,
        headers: viewer.headers,
      });
      const reason = response.headers[REASON_HEADER];
      if (response.status !== 200) {
        refusal = typeof reason === "string" ? reason : `edge answered ${response.status}`;
      }
    } catch (error) {
      refusal = `viewer request failed: ${(error as Error).message}`;
    }
    this.#count(viewer, refusal);
  }

  #count(viewer: Viewer, refusal: string | undefined): void {
    const blank = (): Tally => ({ sent: 0, accepted: 0, refused: 0, refusedAt: [], reasons: {} });
    let byViewer = this.#byViewer.get(viewer.name);
    if (!byViewer) {
      byViewer = { viewer: viewer.name, distributionId: viewer.distributionId, ...blank() };
      this.#byViewer.set(viewer.name, byViewer);
    }
    let byDistribution = this.#byDistribution.get(viewer.distributionId);
    if (!byDistribution) {
      byDistribution = { distributionId: viewer.distributionId, ...blank() };
      this.#byDistribution.set(viewer.distributionId, byDistribution);
    }
    for (const tally of [byViewer, byDistribution]) {
      tally.sent += 1;
      if (refusal === undefined) {
        tally.accepted += 1;
      } else {
        tally.refused += 1;
        tally.refusedAt.push(RealDate.now());
        tally.reasons[refusal] = (tally.reasons[refusal] ?? 0) + 1;
      }
    }
  }

  // ---- the edge side -------------------------------------------------------------------------------------

  async #listen(): Promise<void> {
    const ca = await createRootCa({ name: "CN=mtls-rotator viewer edge stand-in CA" });
    const server = await issueServerCredential(ca, { dnsNames: ["*.cloudfront.net", "localhost"] });
    this.#identity = { ca: ca.certificatePem, server };
    this.#server = createServer(
      {
        cert: server.certificatePem,
        key: server.privateKeyPem,
        // Every handshake asks for a certificate; whether it must verify is the distribution's mode, judged
        // per request from the verification result.
        requestCert: true,
        rejectUnauthorized: false,
        SNICallback: (servername, done) => {
          try {
            done(null, this.#contextFor(servername));
          } catch (error) {
            done(error as Error, undefined);
          }
        },
      },
      (req, res) => {
        this.#serve(req, res).catch((error: unknown) => {
          // A fault of the stand-in itself: the viewer sees a 500 and its tally says why.
          if (!res.headersSent)
            res.writeHead(500, { [REASON_HEADER]: `viewer edge failed: ${(error as Error).message}` });
          res.end();
        });
      },
    );
    const listening = this.#server;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    this.#port = (listening.address() as AddressInfo).port;
  }

  /** The TLS context a handshake for `servername` gets: verifying with the live trust bundle, if any. */
  #contextFor(servername: string): SecureContext {
    const distributionId = this.#distributionByName.get(servername);
    const access = distributionId === undefined ? undefined : this.#access(distributionId);
    const bundle = this.#bundleOf(access);
    const key = bundle ?? "";
    let context = this.#contexts.get(key);
    if (!context) {
      const identity = this.#identity;
      if (!identity) throw new Error("the viewer edge is not listening");
      context = createSecureContext({
        cert: identity.server.certificatePem,
        key: identity.server.privateKeyPem,
        ...(bundle === undefined ? {} : { ca: bundle }),
      });
      this.#contexts.set(key, context);
    }
    return context;
  }

  #access(distributionId: string): ViewerAccess | undefined {
    return this.#options.standins.cloudfront.viewerAccessOf(distributionId);
  }

  /** The PEM bundle that validates viewers of a distribution now (required/optional modes only). */
  #bundleOf(access: ViewerAccess | undefined): string | undefined {
    const mtls = access?.viewerMtls;
    if (!mtls || mtls.mode === "passthrough" || mtls.trustStoreId === undefined) return undefined;
    return this.#options.standins.cloudfront.trustStores.effectiveBundle(mtls.trustStoreId)?.pem;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const servername = typeof socket.servername === "string" ? socket.servername : "";
    const distributionId = this.#distributionByName.get(servername);
    const access = distributionId === undefined ? undefined : this.#access(distributionId);
    const answer = (status: number, reason: string | undefined) => {
      res.writeHead(status, reason === undefined ? {} : { [REASON_HEADER]: reason });
      res.end();
    };
    if (distributionId === undefined || !access) return answer(403, REFUSAL.notDeployed);
    const admission = this.#admit(access, socket);
    if (admission.refusal !== undefined) return answer(403, admission.refusal);

    const viewerHeaders: HeaderValues = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || CONNECTION_HEADERS.has(name)) continue;
      // CloudFront removes what a viewer claims to be its certificate.
      if (name === CLIENT_CERT || name === CLIENT_CERT_CHAIN) continue;
      viewerHeaders[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const rule =
      access.originRequestPolicyId === undefined
        ? undefined
        : this.#options.standins.cloudfront.originRequestPolicies.headerRule(access.originRequestPolicyId);
    const origin = await requestOrigin(this.#options.standins, distributionId, access.targetOriginId, {
      serverCaPem: this.#options.serverCaPem,
      timeoutMs: this.#options.requestTimeoutMs,
      headers: headersForOrigin(rule, viewerHeaders, admission.cloudFrontHeaders),
    });
    if (!origin) {
      return answer(
        502,
        `origin ${access.targetOriginId} presents no client certificate in the live configuration`,
      );
    }
    if (origin.outcome === "ok") return answer(200, undefined);
    answer(origin.outcome === "timedOut" ? 504 : 502, origin.reason);
  }

  /** The edge's decision by the distribution's viewer-mTLS mode (see the file comment). */
  #admit(access: ViewerAccess, socket: TLSSocket): Admission {
    const mtls = access.viewerMtls;
    if (!mtls) return { refusal: undefined, cloudFrontHeaders: {} };
    const chain = presentedChain(socket);
    if (mtls.mode === "passthrough") {
      const [leaf, ...rest] = chain;
      return {
        refusal: undefined,
        cloudFrontHeaders: leaf === undefined ? {} : clientCertHeaders(leaf, rest),
      };
    }
    if (chain.length === 0) {
      return mtls.mode === "optional"
        ? { refusal: undefined, cloudFrontHeaders: {} }
        : { refusal: REFUSAL.noCertificate };
    }
    if (this.#bundleOf(access) === undefined) return { refusal: REFUSAL.noBundle };
    if (socket.authorized) return { refusal: undefined, cloudFrontHeaders: {} };
    const code = String(socket.authorizationError ?? "");
    return {
      refusal: UNTRUSTED_CHAIN.has(code) ? REFUSAL.untrusted : `viewer certificate not valid: ${code}`,
    };
  }
}

/** The certificates the viewer presented, leaf first (DER); empty when it presented none. */
function presentedChain(socket: TLSSocket): Buffer[] {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf?.raw) return [];
  const chain = [leaf.raw];
  // Each certificate links to its issuer among those the viewer sent; a self-signed root links to itself.
  // CloudFront takes chains at most 4 deep; 10 only guards against a loop.
  let current = leaf;
  while (current.issuerCertificate?.raw && current.issuerCertificate !== current && chain.length < 10) {
    current = current.issuerCertificate;
    chain.push(current.raw);
  }
  return chain;
}

/**
 * RFC 9440's headers for a viewer's certificate: each certificate a Byte Sequence (`:base64 DER:`), the
 * chain a comma-separated List, omitted when the viewer sent its leaf alone.
 *
 * Deliberately written apart from the service's own formatter and parser (functions/viewer/
 * forwarded-certificate.ts): the stand-in plays CloudFront, so the kit is tested against a second reading of
 * RFC 9440, not against itself.
 */
function clientCertHeaders(leaf: Buffer, chain: Buffer[]): HeaderValues {
  const item = (der: Buffer) => `:${der.toString("base64")}:`;
  const headers: HeaderValues = { [CLIENT_CERT]: item(leaf) };
  if (chain.length > 0) headers[CLIENT_CERT_CHAIN] = chain.map(item).join(", ");
  return headers;
}
