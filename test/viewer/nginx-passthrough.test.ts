/**
 * The documented nginx set-up (docs/viewer-passthrough-nginx.conf, included as it is shipped) in front of a
 * real application, with `mtls-rotator viewer-verifier` run as an operator runs it (a child process of
 * bin/mtls-rotator.ts) answering nginx's auth_request subrequests. nginx asks for CloudFront's origin-mTLS
 * certificate with `ssl_verify_client optional` against the origin-client CA bundle.
 *
 * Without nginx the file is skipped outside CI and FAILS in CI (test/support/tools.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fingerprintOf } from "../../functions/core/pem.ts";
import type { IssuedCredential } from "../../standins/pki.ts";
import { type NginxOrigin, startNginxOrigin } from "../support/nginx.ts";
import { describeWithTools } from "../support/tools.ts";
import {
  errorOf,
  type PassthroughCast,
  passthroughCast,
  requestAs,
  viewerHeaders,
} from "../support/viewer-passthrough.ts";

const BIN = fileURLToPath(new URL("../../bin/mtls-rotator.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SNIPPET = fileURLToPath(new URL("../../docs/viewer-passthrough-nginx.conf", import.meta.url));
/** The two addresses the documented snippet names: the verifier and the application. */
const DOC_VERIFIER = "http://127.0.0.1:9181;";
const DOC_APPLICATION = "http://127.0.0.1:8080;";

/** The shipped snippet with the test's addresses; fails if the document no longer names each once. */
function snippetFor(verifier: string, application: number): string {
  const text = readFileSync(SNIPPET, "utf8");
  for (const literal of [DOC_VERIFIER, DOC_APPLICATION]) {
    if (text.split(literal).length !== 2) throw new Error(`${SNIPPET} must name ${literal} exactly once`);
  }
  return text
    .replace(DOC_VERIFIER, `http://${verifier};`)
    .replace(DOC_APPLICATION, `http://127.0.0.1:${application};`);
}

/** Runs `mtls-rotator viewer-verifier` and resolves with its address once it says it listens. */
function startVerifierCli(bundlePath: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [BIN, "viewer-verifier", "--bundle", bundlePath, "--listen", "127.0.0.1:0"],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`viewer-verifier did not start:\n${output}`)), 15_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, address: match[1] });
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`viewer-verifier exited with ${code}:\n${output}`));
    });
  });
}

describeWithTools("nginx")("viewer passthrough behind a real nginx (auth_request to viewer-verifier)", () => {
  let cast: PassthroughCast;
  let origin: NginxOrigin;
  let application: Server;
  let verifier: ChildProcess | undefined;
  /** Headers of each request that reached the application, in order. */
  const reached: IncomingHttpHeaders[] = [];

  const request = (client: IssuedCredential | undefined, headers: Record<string, string>) =>
    requestAs(cast, origin.port, client, headers);

  /** Status and the verifier's reason, for a refusal answered by the documented @viewer_refused page. */
  async function refusal(client: IssuedCredential | undefined, headers: Record<string, string>) {
    const before = reached.length;
    const response = await request(client, headers);
    expect(reached.length, "a refused request must not reach the application").toBe(before);
    return { status: response.status, error: errorOf(response) };
  }

  beforeAll(async () => {
    cast = await passthroughCast("nginx");
    application = createServer((req, res) => {
      reached.push(req.headers);
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("application\n");
    });
    await new Promise<void>((resolve) => application.listen(0, "127.0.0.1", resolve));
    const started = await startVerifierCli(cast.bundlePath);
    verifier = started.child;
    origin = await startNginxOrigin({
      name: "viewer-passthrough",
      serverCertPem: cast.server.certificatePem,
      serverKeyPem: cast.server.privateKeyPem,
      clientCaBundlePem: cast.originClientBundlePem,
      serverDirectives: {
        verifyClient: "optional",
        text: snippetFor(started.address, (application.address() as AddressInfo).port),
      },
    });
  });

  afterAll(async () => {
    await origin?.stop();
    if (verifier?.exitCode === null) {
      const exited = new Promise((resolve) => verifier?.once("exit", resolve));
      verifier.kill("SIGTERM");
      await exited;
    }
    await new Promise<void>((resolve) => (application ? application.close(() => resolve()) : resolve()));
    await cast?.cleanup();
  });

  it("passes CloudFront's connection with a valid viewer to the application, with the viewer's identity", async () => {
    const response = await request(cast.cloudFront, {
      ...viewerHeaders(cast.viewersA),
      // A client's own copy is replaced by what the verifier answered.
      "x-viewer-sha256": "forged",
    });
    expect([response.status, response.body]).toEqual([200, "application\n"]);
    const seen = reached.at(-1);
    expect(seen?.["x-viewer-sha256"]).toBe(
      fingerprintOf(new X509Certificate(cast.viewersA.viewer.certificatePem)),
    );
    expect(decodeURIComponent(String(seen?.["x-viewer-subject"]))).toBe("CN=viewer of A, O=Example");
    expect(seen?.["x-viewer-serial"]).toBe(
      new X509Certificate(cast.viewersA.viewer.certificatePem).serialNumber.toLowerCase(),
    );
  });

  it("refuses forged headers on a connection without CloudFront's certificate, even claiming nginx's verdict", async () => {
    const forged = {
      ...viewerHeaders(cast.viewersA),
      // What a forger would add to impersonate nginx's report to the verifier: never reaches it.
      "x-origin-mtls-verify": "SUCCESS",
      "x-origin-mtls-cert": encodeURIComponent(cast.cloudFront.certificatePem),
    };
    expect(await refusal(undefined, forged)).toEqual({
      status: 403,
      error: "request did not arrive over CloudFront's origin-mTLS connection",
    });
  });

  it("lets nginx refuse a client certificate the origin-client bundle does not trust (ssl_verify_client optional)", async () => {
    const before = reached.length;
    const response = await request(cast.stranger, viewerHeaders(cast.viewersA));
    expect(response.status).toBe(400);
    expect(response.body).toMatch(/SSL certificate error/);
    expect(reached.length).toBe(before);
  });

  it("refuses a viewer from a CA the viewer bundle does not hold", async () => {
    expect(await refusal(cast.cloudFront, viewerHeaders(cast.viewersB))).toEqual({
      status: 403,
      error: "viewer certificate not issued by a trusted viewer CA",
    });
  });

  it("refuses CloudFront's connection without Client-Cert", async () => {
    expect(await refusal(cast.cloudFront, {})).toEqual({ status: 403, error: "no Client-Cert header" });
    const chainOnly = { "client-cert-chain": viewerHeaders(cast.viewersA)["client-cert-chain"] ?? "" };
    expect(await refusal(cast.cloudFront, chainOnly)).toEqual({
      status: 403,
      error: "Client-Cert-Chain without Client-Cert",
    });
  });

  it("follows a replaced viewer bundle without restarting nginx or the verifier", async () => {
    try {
      await cast.installBundle(cast.viewersB.rootPem);
      expect((await request(cast.cloudFront, viewerHeaders(cast.viewersB))).status).toBe(200);
      expect((await refusal(cast.cloudFront, viewerHeaders(cast.viewersA))).error).toBe(
        "viewer certificate not issued by a trusted viewer CA",
      );
    } finally {
      await cast.installBundle(cast.viewersA.rootPem);
    }
    expect((await request(cast.cloudFront, viewerHeaders(cast.viewersA))).status).toBe(200);
  });
});
