/**
 * The passthrough check for nginx origins: a tiny HTTP service on loopback (or a unix socket) that answers
 * nginx `auth_request` subrequests 204 (believe the viewer) or 403 (refuse), see docs/viewer-passthrough.md
 * and docs/viewer-passthrough-nginx.conf.
 *
 * nginx terminates CloudFront's origin-mTLS connection, so the verifier learns the connection's state from
 * headers nginx itself sets on the subrequest: `X-Origin-Mtls-Verify` ($ssl_client_verify) and
 * `X-Origin-Mtls-Cert` ($ssl_client_escaped_cert). The documented configuration sends the subrequest with
 * `proxy_pass_request_headers off`, so a viewer's own copies of these headers never reach the verifier; and
 * the verifier listens on loopback only, because whoever can talk to it can claim any connection state.
 *
 * A 204 carries the verified viewer for nginx to pass on (`auth_request_set`): X-Viewer-Sha256,
 * X-Viewer-Serial, X-Viewer-Subject (percent-encoded), X-Viewer-Not-After. A 403 carries X-Viewer-Error.
 */
import { X509Certificate } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import type { CliIo } from "../origin-sync/cli.ts";
import type { OriginClientTrust, OriginConnection } from "./forwarded-certificate.ts";
import { type ViewerCheckOptions, viewerCheck } from "./middleware.ts";

/** Headers nginx sets on the auth subrequest (lower-case, as Node exposes them). */
export const NGINX_CONNECTION_HEADERS = {
  /** `$ssl_client_verify`: SUCCESS, NONE or FAILED:<reason>. */
  verify: "x-origin-mtls-verify",
  /** `$ssl_client_escaped_cert`: the origin-mTLS client certificate, URL-encoded PEM. */
  certificate: "x-origin-mtls-cert",
} as const;

function single(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The origin-mTLS state nginx reports. Verified only with SUCCESS and a certificate that parses: a
 * configuration that forgot to pass the certificate refuses everything rather than trusting half a report.
 */
export function nginxConnectionOf(req: IncomingMessage): OriginConnection {
  const escaped = single(req, NGINX_CONNECTION_HEADERS.certificate);
  let clientCertificate: X509Certificate | undefined;
  try {
    if (escaped) clientCertificate = new X509Certificate(decodeURIComponent(escaped));
  } catch {
    clientCertificate = undefined;
  }
  return {
    clientCertificateVerified:
      single(req, NGINX_CONNECTION_HEADERS.verify) === "SUCCESS" && !!clientCertificate,
    ...(clientCertificate ? { clientCertificate } : {}),
  };
}

export type ListenAddress = { host: string; port: number } | { path: string };

/**
 * `127.0.0.1:9181`, `[::1]:9181`, `localhost:9181` or `unix:/run/viewer-verifier.sock`. Anything else is
 * refused: the verifier believes the connection state it is told, so only nginx on this host may reach it.
 */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (!path.startsWith("/")) throw new Error(`--listen unix: needs an absolute path, got "${path}"`);
    return { path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || !Number.isInteger(port) || port > 65_535) {
    throw new Error(`--listen must be host:port or unix:/path, got "${text}"`);
  }
  if (!(host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    throw new Error(
      `--listen ${host} is not a loopback address; the verifier must be reachable by nginx only`,
    );
  }
  return { host, port };
}

export interface ViewerVerifierOptions extends Omit<ViewerCheckOptions, "connectionOf"> {
  listen: ListenAddress;
}

export interface ViewerVerifier {
  /** `127.0.0.1:<port>` or `unix:<path>`. */
  address: string;
  close(): Promise<void>;
}

/** Starts the verifier; resolves once it listens. */
export async function startViewerVerifier(options: ViewerVerifierOptions): Promise<ViewerVerifier> {
  const check = viewerCheck({ ...options, connectionOf: nginxConnectionOf });
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const verdict = await check(req);
    if (!verdict.ok) {
      res.writeHead(403, { "content-type": "application/json", "x-viewer-error": verdict.reason });
      res.end(`${JSON.stringify({ error: verdict.reason })}\n`);
      return;
    }
    const { viewer } = verdict;
    res.writeHead(204, {
      "x-viewer-sha256": viewer.sha256,
      "x-viewer-serial": viewer.serialNumber,
      "x-viewer-subject": encodeURIComponent(viewer.subject),
      "x-viewer-not-after": viewer.notAfter,
    });
    res.end();
  };
  // A forwarded chain of several certificates exceeds Node's default 16 KiB of headers.
  const server = createServer({ maxHeaderSize: 128 * 1024 }, (req, res) => {
    req.resume();
    answer(req, res).catch((error: unknown) => {
      options.warn?.(`viewer-verifier: check failed: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if ("path" in options.listen) server.listen(options.listen.path, resolve);
    else server.listen(options.listen.port, options.listen.host, resolve);
  });
  const bound = server.address() as AddressInfo | string;
  const address =
    typeof bound === "string"
      ? `unix:${bound}`
      : `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const VIEWER_VERIFIER_USAGE = `Usage: mtls-rotator viewer-verifier --bundle <file> [--listen <address>] [options]

Answers nginx auth_request subrequests for CloudFront viewer mTLS in passthrough mode: 204 when the viewer
certificate CloudFront forwarded (Client-Cert, Client-Cert-Chain) verifies against the viewer CA bundle AND
the request came over CloudFront's verified origin-mTLS connection (as nginx reports it), 403 otherwise.
The bundle file is re-read when it changes (origin-sync --out); unreadable or invalid, everything is refused.
See docs/viewer-passthrough.md for the nginx configuration.

Required:
  --bundle <file>              the viewer CA bundle (PEM CA certificates) kept by origin-sync

Options:
  --listen <address>           127.0.0.1:<port>, [::1]:<port>, localhost:<port> or unix:/path
                               (default 127.0.0.1:9181; loopback only)
  --cloudfront-subject <dn>    accept only CloudFront origin-mTLS certificates with this subject
                               ("CN=..., O=..."); repeatable
  --cloudfront-sha256 <hex>    accept only CloudFront origin-mTLS certificates with this SHA-256; repeatable
  --quiet                      print only errors
  -h, --help                   show this help

Runs until SIGINT or SIGTERM. Exit codes: 0 stopped by a signal, 2 bad usage, 1 could not listen.
`;

/** Runs `viewer-verifier` until a signal (or `deps.signal`) stops it; returns the exit code. */
export async function runViewerVerifierCli(
  args: string[],
  io: CliIo,
  deps: { signal?: AbortSignal } = {},
): Promise<number> {
  let options: ViewerVerifierOptions;
  let quiet = false;
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        bundle: { type: "string" },
        listen: { type: "string", default: "127.0.0.1:9181" },
        "cloudfront-subject": { type: "string", multiple: true },
        "cloudfront-sha256": { type: "string", multiple: true },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.stdout(VIEWER_VERIFIER_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument: ${positionals[0]}`);
    if (!values.bundle) throw new Error("--bundle is required");
    const sha256 = (values["cloudfront-sha256"] ?? []).map((hex) => hex.toLowerCase().replaceAll(":", ""));
    if (sha256.some((hex) => !/^[0-9a-f]{64}$/.test(hex))) {
      throw new Error("--cloudfront-sha256 takes a SHA-256 in hex (64 digits)");
    }
    const subjects = values["cloudfront-subject"] ?? [];
    const trust: OriginClientTrust | undefined =
      subjects.length + sha256.length > 0 ? { subjects, sha256 } : undefined;
    quiet = values.quiet ?? false;
    options = {
      bundlePath: values.bundle,
      listen: parseListenAddress(values.listen),
      ...(trust ? { originClientTrust: trust } : {}),
    };
  } catch (error) {
    io.stderr(
      `viewer-verifier: ${(error as Error).message}\nRun "mtls-rotator viewer-verifier --help" for usage.\n`,
    );
    return 2;
  }
  let verifier: ViewerVerifier;
  try {
    verifier = await startViewerVerifier({
      ...options,
      ...(quiet ? {} : { log: (line: string) => io.stdout(`viewer-verifier: ${line}\n`) }),
      warn: (line) => io.stderr(`viewer-verifier: ${line}\n`),
    });
  } catch (error) {
    io.stderr(`viewer-verifier: cannot listen: ${(error as Error).message}\n`);
    return 1;
  }
  if (!quiet) io.stdout(`viewer-verifier: listening on ${verifier.address}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    deps.signal?.addEventListener("abort", stop, { once: true });
  });
  await verifier.close();
  if (!quiet) io.stdout("viewer-verifier: stopped\n");
  return 0;
}
