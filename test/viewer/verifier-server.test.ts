/**
 * The nginx verifier on its own: where it may listen, how it reads nginx's report of the origin-mTLS
 * connection, what it answers, and its command line (a unix socket, driven with node:http).
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../functions/core/pem.ts";
import { formatClientCertHeaders } from "../../functions/viewer/forwarded-certificate.ts";
import {
  type ListenAddress,
  parseListenAddress,
  runViewerVerifierCli,
  startViewerVerifier,
  type ViewerVerifier,
} from "../../functions/viewer/verifier-server.ts";
import { createRootCa, createSubordinateCa, issueClientCredential } from "../../standins/pki.ts";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

/** One auth subrequest as nginx sends it, over the unix socket. */
function ask(socketPath: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/_viewer_verify", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

let dir: string;
let bundlePath: string;
/** nginx's report of a connection that presented CloudFront's verified certificate, and viewer headers. */
let fromCloudFront: Record<string, string>;
let viewerPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "viewer-verifier-"));
  bundlePath = join(dir, "viewer-ca.pem");
  // The verifier runs on the real clock: certificates valid around now.
  const viewerRoot = await createRootCa({ name: "CN=Viewer Root" });
  const viewerIssuing = await createSubordinateCa(viewerRoot, { name: "CN=Viewer Issuing" });
  await writeFile(bundlePath, viewerRoot.certificatePem);
  const viewer = await issueClientCredential(viewerIssuing, { subject: "CN=viewer, O=Example" });
  viewerPem = viewer.certificatePem;
  const originClient = await createRootCa({ name: "CN=Origin Client Root" });
  const cloudFront = await issueClientCredential(originClient, { subject: "CN=cloudfront-origin" });
  fromCloudFront = {
    "x-origin-mtls-verify": "SUCCESS",
    "x-origin-mtls-cert": encodeURIComponent(cloudFront.certificatePem),
    ...formatClientCertHeaders(viewer.certificatePem, [viewerIssuing.certificatePem]),
  };
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("parseListenAddress", () => {
  it.each<[string, ListenAddress]>([
    ["127.0.0.1:9181", { host: "127.0.0.1", port: 9181 }],
    ["127.0.0.53:0", { host: "127.0.0.53", port: 0 }],
    ["[::1]:9181", { host: "::1", port: 9181 }],
    ["localhost:9181", { host: "localhost", port: 9181 }],
    ["unix:/run/viewer-verifier.sock", { path: "/run/viewer-verifier.sock" }],
  ])("accepts %s", (text, address) => {
    expect(parseListenAddress(text)).toEqual(address);
  });

  it.each<[string, RegExp]>([
    ["0.0.0.0:9181", /0\.0\.0\.0 is not a loopback address/],
    ["10.0.0.5:9181", /not a loopback address/],
    ["[::]:9181", /:: is not a loopback address/],
    ["example.com:9181", /not a loopback address/],
    ["9181", /host:port or unix:\/path/],
    ["127.0.0.1:70000", /host:port or unix:\/path/],
    ["unix:relative.sock", /absolute path/],
  ])("refuses %s", (text, message) => {
    expect(() => parseListenAddress(text)).toThrow(message);
  });
});

describe("the verifier's answers to nginx", () => {
  let verifier: ViewerVerifier;
  let socketPath: string;

  beforeAll(async () => {
    socketPath = join(dir, "verifier.sock");
    verifier = await startViewerVerifier({ bundlePath, listen: { path: socketPath } });
  });
  afterAll(async () => {
    await verifier?.close();
  });

  it("listens where it was told", () => {
    expect(verifier.address).toBe(`unix:${socketPath}`);
  });

  it("answers 204 with the viewer's identity for nginx to pass on", async () => {
    const answer = await ask(socketPath, fromCloudFront);
    expect(answer.status).toBe(204);
    expect(answer.headers["x-viewer-sha256"]).toBe(fingerprintOf(new X509Certificate(viewerPem)));
    expect(answer.headers["x-viewer-subject"]).toBe(encodeURIComponent("CN=viewer, O=Example"));
    expect(answer.headers["x-viewer-error"]).toBeUndefined();
  });

  it.each<[string, (headers: Record<string, string>) => Record<string, string>, string]>([
    [
      "nginx reports a failed verification",
      (h) => ({ ...h, "x-origin-mtls-verify": "FAILED:unable to get local issuer certificate" }),
      "request did not arrive over CloudFront's origin-mTLS connection",
    ],
    [
      "nginx reports no certificate",
      (h) => ({ ...h, "x-origin-mtls-verify": "NONE", "x-origin-mtls-cert": "" }),
      "request did not arrive over CloudFront's origin-mTLS connection",
    ],
    [
      "SUCCESS without the certificate (half a report: a configuration error)",
      ({ "x-origin-mtls-cert": _dropped, ...h }) => h,
      "request did not arrive over CloudFront's origin-mTLS connection",
    ],
    [
      "SUCCESS with a certificate that does not parse",
      (h) => ({ ...h, "x-origin-mtls-cert": "%E0%A4%A" }),
      "request did not arrive over CloudFront's origin-mTLS connection",
    ],
    [
      "no viewer headers",
      ({ "client-cert": _leaf, "client-cert-chain": _chain, ...h }) => h,
      "no Client-Cert header",
    ],
  ])("answers 403 with X-Viewer-Error when %s", async (_name, change, reason) => {
    const answer = await ask(socketPath, change(fromCloudFront));
    expect(answer.status).toBe(403);
    expect(answer.headers["x-viewer-error"]).toBe(reason);
    expect(answer.headers["x-viewer-sha256"]).toBeUndefined();
  });
});

describe("mtls-rotator viewer-verifier", () => {
  function io() {
    const out = { stdout: "", stderr: "" };
    const cli = {
      stdout: (text: string) => {
        out.stdout += text;
      },
      stderr: (text: string) => {
        out.stderr += text;
      },
    };
    return { out, io: cli };
  }

  it.each<[string[], RegExp]>([
    [[], /--bundle is required/],
    [["--bundle", "/x", "--listen", "0.0.0.0:9181"], /not a loopback address/],
    [["--bundle", "/x", "--cloudfront-sha256", "abc"], /SHA-256 in hex/],
    [["--bundle", "/x", "extra"], /unexpected argument: extra/],
    [["--bundle", "/x", "--no-such-flag"], /Unknown option '--no-such-flag'/],
  ])("refuses %j with exit code 2", async (args, message) => {
    const { out, io: cli } = io();
    expect(await runViewerVerifierCli(args, cli)).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toMatch(/Run "mtls-rotator viewer-verifier --help" for usage/);
  });

  it("prints its usage with --help", async () => {
    const { out, io: cli } = io();
    expect(await runViewerVerifierCli(["--help"], cli)).toBe(0);
    expect(out.stdout).toMatch(/^Usage: mtls-rotator viewer-verifier --bundle <file>/);
  });

  it("exits 1 when it cannot listen (the port is taken)", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const { out, io: cli } = io();
      const args = ["--bundle", bundlePath, "--listen", `127.0.0.1:${(taken.address() as AddressInfo).port}`];
      expect(await runViewerVerifierCli(args, cli)).toBe(1);
      expect(out.stderr).toMatch(/viewer-verifier: cannot listen: .*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it("runs until stopped, applying --cloudfront-subject to nginx's report", async () => {
    const socketPath = join(dir, "cli.sock");
    const { out, io: cli } = io();
    const stop = new AbortController();
    const run = runViewerVerifierCli(
      ["--bundle", bundlePath, "--listen", `unix:${socketPath}`, "--cloudfront-subject", "CN=someone else"],
      cli,
      { signal: stop.signal },
    );
    for (let i = 0; i < 200 && !out.stdout.includes("listening on"); i += 1) await sleep(10);
    expect(out.stdout).toContain(`viewer-verifier: listening on unix:${socketPath}`);
    const answer = await ask(socketPath, fromCloudFront);
    expect([answer.status, answer.headers["x-viewer-error"]]).toEqual([
      403,
      "origin-mTLS client certificate is not an allowed CloudFront identity",
    ]);
    stop.abort();
    expect(await run).toBe(0);
    expect(out.stdout).toMatch(/viewer CA bundle .*1 CA certificate\(s\)[\s\S]*viewer-verifier: stopped\n$/);
  });
});
