/**
 * The passthrough check for Node `http`/`https` servers that terminate CloudFront's origin-mTLS connection
 * themselves: `(req, res, next)` middleware (Express/Connect style) and `wrap(handler)` for a plain
 * `https.createServer` listener. A refused request is answered 403 `{ "error": reason }`; an accepted one
 * reaches the handler with the verified viewer attached (`viewerOf(req)`).
 *
 * The server must ask for client certificates and check them against the origin-client CA bundle without
 * refusing the handshake: `https.createServer({ ca: <origin-client bundle>, requestCert: true,
 * rejectUnauthorized: false, maxHeaderSize: 64 * 1024 })`. Then `socket.authorized` says whether CloudFront's
 * certificate verified, and a connection without it reaches the middleware to be refused with a reason.
 *
 * The viewer CA bundle is the file `origin-sync` keeps (`--out`); it is re-read when it changes, so an update
 * takes effect without a restart. Unreadable or invalid, it refuses every request (fail closed).
 */

import { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import {
  type ForwardedCertificateInput,
  loadViewerBundle,
  type OriginClientTrust,
  type OriginConnection,
  type VerifiedViewer,
  type ViewerBundle,
  type ViewerVerdict,
  verifyForwardedClientCertificate,
} from "./forwarded-certificate.ts";

/** Where bundle loads (`log`) and failures (`warn`) are reported; never with key material. */
export interface BundleReports {
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

/**
 * The viewer CA bundle file, re-read when its inode, size or mtime changes (one `stat` per request).
 * `origin-sync` replaces the file by rename, so each update is a new inode even within one mtime tick.
 */
export class ViewerBundleFile {
  readonly path: string;
  readonly #report: BundleReports;
  #key: string | undefined;
  #loaded: Promise<ViewerBundle | Error> | undefined;

  constructor(path: string, report: BundleReports = {}) {
    this.path = path;
    this.#report = report;
  }

  /** The bundle in effect, or the error that makes every request refused. */
  async current(): Promise<ViewerBundle | Error> {
    let key: string;
    try {
      const info = await stat(this.path);
      key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      return this.#failed(`stat:${(error as NodeJS.ErrnoException).code}`, error);
    }
    if (key !== this.#key || !this.#loaded) {
      this.#key = key;
      this.#loaded = this.#load();
    }
    return this.#loaded;
  }

  async #load(): Promise<ViewerBundle | Error> {
    try {
      const bundle = loadViewerBundle(await readFile(this.path, "utf8"));
      this.#report.log?.(
        `viewer CA bundle ${this.path}: ${bundle.certificates.length} CA certificate(s), SHA-256 ${bundle.sha256}`,
      );
      return bundle;
    } catch (error) {
      this.#report.warn?.(
        `viewer CA bundle ${this.path} refused, so is every request: ${(error as Error).message}`,
      );
      return error as Error;
    }
  }

  /** A file that cannot be stat'ed: logged once per distinct failure, never cached as a bundle. */
  #failed(key: string, error: unknown): Error {
    if (this.#key !== key) {
      this.#key = key;
      this.#loaded = undefined;
      this.#report.warn?.(
        `viewer CA bundle ${this.path} unreadable, every request refused: ${(error as Error).message}`,
      );
    }
    return error as Error;
  }
}

/** What the TLS layer of a Node server knows about the connection a request arrived on. */
export function tlsConnectionOf(req: IncomingMessage): OriginConnection {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== "function") return { clientCertificateVerified: false };
  const peer = socket.getPeerCertificate(true);
  if (!peer?.raw) return { clientCertificateVerified: false };
  const issuers: X509Certificate[] = [];
  // The issuer chain as OpenSSL built it; a self-signed root points at itself.
  for (
    let issuer: DetailedPeerCertificate | undefined = peer.issuerCertificate;
    issuer?.raw && issuers.length < 8;
    issuer = issuer.issuerCertificate === issuer ? undefined : issuer.issuerCertificate
  ) {
    issuers.push(new X509Certificate(issuer.raw));
  }
  return {
    clientCertificateVerified: socket.authorized === true,
    clientCertificate: new X509Certificate(peer.raw),
    clientCertificateIssuers: issuers,
  };
}

export interface ViewerCheckOptions extends BundleReports {
  /** The viewer CA bundle file `origin-sync` writes (e.g. /etc/origin/viewer-ca.pem). */
  bundlePath: string;
  originClientTrust?: OriginClientTrust;
  limits?: ForwardedCertificateInput["limits"];
  /** Clock (default: the system's). */
  now?: () => Date;
  /** How the origin-mTLS state of a request is known (default: {@link tlsConnectionOf}). */
  connectionOf?: (req: IncomingMessage) => OriginConnection;
}

/** Checks requests against the bundle file; shared by the middleware and the nginx verifier. */
export function viewerCheck(options: ViewerCheckOptions): (req: IncomingMessage) => Promise<ViewerVerdict> {
  const file = new ViewerBundleFile(options.bundlePath, options);
  const now = options.now ?? (() => new Date());
  const connectionOf = options.connectionOf ?? tlsConnectionOf;
  return async (req) => {
    const bundle = await file.current();
    if (bundle instanceof Error) {
      return { ok: false, status: 403, code: "BundleUnavailable", reason: "viewer CA bundle unavailable" };
    }
    return verifyForwardedClientCertificate({
      // headersDistinct keeps repeated lines apart (a repeated Client-Cert is refused); plain objects work too.
      headers: req.headersDistinct ?? req.headers,
      connection: connectionOf(req),
      viewerBundle: bundle,
      now: now(),
      ...(options.originClientTrust ? { originClientTrust: options.originClientTrust } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
  };
}

const VIEWERS = new WeakMap<IncomingMessage, VerifiedViewer>();

/** The viewer the middleware verified for this request (undefined before the check, or when refused). */
export function viewerOf(req: IncomingMessage): VerifiedViewer | undefined {
  return VIEWERS.get(req);
}

/** The 403 answer of a refused request. */
export function answerRefusal(res: ServerResponse, reason: string): void {
  const body = `${JSON.stringify({ error: reason })}\n`;
  res.writeHead(403, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export type NextFunction = (error?: unknown) => void;
export type ViewerHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  viewer: VerifiedViewer,
) => void | Promise<void>;

export interface ViewerMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** A request listener that runs the check, then `handler` with the verified viewer. */
  wrap(handler: ViewerHandler): (req: IncomingMessage, res: ServerResponse) => void;
  /** The check alone. */
  check(req: IncomingMessage): Promise<ViewerVerdict>;
}

/** The passthrough check as middleware for Node servers that terminate origin mTLS themselves. */
export function viewerCertificateMiddleware(options: ViewerCheckOptions): ViewerMiddleware {
  const check = viewerCheck(options);
  const run = async (req: IncomingMessage, res: ServerResponse): Promise<VerifiedViewer | undefined> => {
    const verdict = await check(req);
    if (!verdict.ok) {
      answerRefusal(res, verdict.reason);
      return undefined;
    }
    VIEWERS.set(req, verdict.viewer);
    return verdict.viewer;
  };
  const middleware = ((req, res, next) => {
    run(req, res).then((viewer) => viewer && next(), next);
  }) as ViewerMiddleware;
  middleware.check = check;
  middleware.wrap = (handler) => (req, res) => {
    run(req, res)
      .then((viewer) => viewer && handler(req, res, viewer))
      .catch((error: unknown) => {
        options.warn?.(`viewer middleware: handler failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end();
      });
  };
  return middleware;
}
