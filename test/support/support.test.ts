/**
 * Proves the real-TLS harness with real processes: openssl builds the PKI, nginx judges client
 * certificates, Node presents them. Nothing in here is mocked.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { mtlsRequest } from "./mtls-client.ts";
import { isProcessAlive, type NginxOrigin, startNginxOrigin, stopAllNginxOrigins } from "./nginx.ts";
import {
  joinPem,
  makeTestPki,
  opensslIssueCertificate,
  opensslVerify,
  type PemKeyPair,
  type TestPki,
} from "./openssl.ts";
import { describeWithNginx } from "./tools.ts";

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

describeWithNginx()("real mTLS harness (openssl + nginx + node https)", () => {
  /** The PKI whose issuing CA signs the rotator's client certificates. */
  let pki: TestPki;
  /** An unrelated PKI: its bundle must not let our client in. */
  let otherPki: TestPki;
  let client: PemKeyPair;
  let serverOnly: PemKeyPair;
  /** Trusts `pki` from the start. */
  let trusting: NginxOrigin;
  /** Starts trusting `otherPki` only. */
  let stranger: NginxOrigin;

  const request = (origin: NginxOrigin, who: PemKeyPair = client) =>
    mtlsRequest({
      port: origin.port,
      certificatePem: who.certificatePem,
      chainPem: pki.issuing.certificatePem,
      privateKeyPem: who.privateKeyPem,
      caPem: pki.root.certificatePem, // both origins present a server certificate from `pki`
    });

  beforeAll(async () => {
    [pki, otherPki] = await Promise.all([makeTestPki({ name: "rotator" }), makeTestPki({ name: "other" })]);
    [client, serverOnly] = await Promise.all([
      opensslIssueCertificate({ issuer: pki.issuing, profile: "client", commonName: "origin-mtls-client" }),
      opensslIssueCertificate({ issuer: pki.issuing, profile: "server", commonName: "server-only" }),
    ]);
    [trusting, stranger] = await Promise.all([
      startNginxOrigin({
        name: "trusting",
        serverCertPem: pki.server.fullChainPem,
        serverKeyPem: pki.server.privateKeyPem,
        clientCaBundlePem: pki.caBundlePem,
      }),
      startNginxOrigin({
        name: "stranger",
        serverCertPem: pki.server.fullChainPem,
        serverKeyPem: pki.server.privateKeyPem,
        clientCaBundlePem: otherPki.caBundlePem,
      }),
    ]);
  });

  afterAll(async () => {
    await stopAllNginxOrigins();
  });

  it("opensslVerify accepts the client certificate for sslclient and rejects a serverAuth-only one", async () => {
    const good = await opensslVerify({
      leafPem: client.certificatePem,
      untrustedChainPem: pki.issuing.certificatePem,
      trustedRootPem: pki.root.certificatePem,
      purpose: "sslclient",
    });
    expect(good.ok, good.output).toBe(true);

    const wrongEku = await opensslVerify({
      leafPem: serverOnly.certificatePem,
      untrustedChainPem: pki.issuing.certificatePem,
      trustedRootPem: pki.root.certificatePem,
      purpose: "sslclient",
    });
    expect(wrongEku.ok).toBe(false);
    expect(wrongEku.output).toMatch(/unsuitable certificate purpose/);

    // Same client certificate, wrong trust anchor: not ok either.
    const wrongRoot = await opensslVerify({
      leafPem: client.certificatePem,
      untrustedChainPem: pki.issuing.certificatePem,
      trustedRootPem: otherPki.root.certificatePem,
      purpose: "sslclient",
    });
    expect(wrongRoot.ok).toBe(false);
  });

  it("an origin trusting the issuing chain answers 200 and sees the client's subject", async () => {
    const response = await request(trusting);
    expect(response.status).toBe(200);
    expect(response.body).toBe("ok CN=origin-mtls-client,O=mtls-rotator tests\n");
    expect(response.headers["x-client-verify"]).toBe("SUCCESS");
    expect(response.tlsProtocol).toBe("TLSv1.3");

    const [entry] = await trusting.accessLog({ minEntries: 1 });
    expect(entry).toMatchObject({ status: 200, clientVerify: "SUCCESS", generation: 1 });
    expect(entry?.clientSubject).toBe("CN=origin-mtls-client,O=mtls-rotator tests");
  });

  it("an origin trusting another CA completes the handshake but answers 400", async () => {
    const response = await request(stranger);
    expect(response.status).toBe(400);
    expect(String(response.headers["x-client-verify"])).toMatch(/^FAILED:/);
    expect(response.tlsProtocol).toBe("TLSv1.3"); // the handshake itself succeeded: only the status tells
  });

  it("setClientCaBundle reloads nginx and returns only once the new bundle is in effect", async () => {
    const workersBefore = stranger.workerPids();
    expect(workersBefore.length).toBeGreaterThan(0);

    await stranger.setClientCaBundle(joinPem(otherPki.caBundlePem, pki.caBundlePem));

    // Old workers (holding the old bundle) are gone, and the very next request is judged by the new one.
    expect(workersBefore.filter(isProcessAlive)).toEqual([]);
    expect(stranger.generation).toBe(2);
    const response = await request(stranger);
    expect(response.status).toBe(200);
    expect(response.headers["x-config-generation"]).toBe("2");
    expect(workersBefore).not.toContain(Number(response.headers["x-worker-pid"]));
  });

  it("a garbage bundle is rejected with nginx's reason and the origin keeps serving the old bundle", async () => {
    const generation = stranger.generation;
    const workers = stranger.workerPids();

    await expect(stranger.setClientCaBundle("this is not a certificate\n")).rejects.toThrow(
      /nginx rejected the new client CA bundle[\s\S]*nginx -t failed[\s\S]*SSL_CTX_load_verify_locations/,
    );

    expect(stranger.generation).toBe(generation);
    expect(stranger.workerPids()).toEqual(workers); // not even reloaded
    const response = await request(stranger);
    expect(response.status).toBe(200);
    expect(response.headers["x-config-generation"]).toBe(String(generation));

    // And the origin can still be reloaded after the refusal: back to the other CA only -> 400 again.
    await stranger.setClientCaBundle(otherPki.caBundlePem);
    expect((await request(stranger)).status).toBe(400);
  });

  it("concurrent reloads are serialised and the last bundle wins", async () => {
    await Promise.all([
      trusting.setClientCaBundle(otherPki.caBundlePem),
      trusting.setClientCaBundle(pki.caBundlePem),
    ]);
    expect(trusting.clientCaBundlePem).toBe(pki.caBundlePem);
    expect((await request(trusting)).status).toBe(200);
  });

  it("mtlsRequest rejects when the server certificate is not trusted", async () => {
    await expect(
      mtlsRequest({
        port: trusting.port,
        certificatePem: client.certificatePem,
        chainPem: pki.issuing.certificatePem,
        privateKeyPem: client.privateKeyPem,
        caPem: otherPki.root.certificatePem,
      }),
    ).rejects.toThrow(/mTLS request to https:\/\/127\.0\.0\.1:\d+\/ failed/);
  });

  it("stop() leaves no nginx process and no temp dir behind", async () => {
    const origin = await startNginxOrigin({
      name: "short-lived",
      serverCertPem: pki.server.fullChainPem,
      serverKeyPem: pki.server.privateKeyPem,
      clientCaBundlePem: pki.caBundlePem,
    });
    const pids = [origin.masterPid, ...origin.workerPids()];
    expect(pids.every(isProcessAlive)).toBe(true);
    await origin.stop();
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(existsSync(origin.dir)).toBe(false);
    await expect(request(origin)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("nginx dies with a test process that is SIGKILLed (watchdog)", async () => {
    // A separate Node process starts an origin, prints its pids, and is then killed without any cleanup.
    const script = `
      import { startNginxOrigin } from ${JSON.stringify(fileURLToPath(new URL("./nginx.ts", import.meta.url)))};
      const pki = JSON.parse(process.argv[1]);
      const origin = await startNginxOrigin({ name: "orphan", ...pki });
      console.log(JSON.stringify({ pids: [origin.masterPid, ...origin.workerPids()], dir: origin.dir }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        script,
        JSON.stringify({
          serverCertPem: pki.server.fullChainPem,
          serverKeyPem: pki.server.privateKeyPem,
          clientCaBundlePem: pki.caBundlePem,
        }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`child exited early with ${code}: ${out}`)));
    });
    const { pids, dir } = JSON.parse(line) as { pids: number[]; dir: string };
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.every(isProcessAlive)).toBe(true);

    child.kill("SIGKILL");
    expect(await waitUntil(() => pids.every((pid) => !isProcessAlive(pid)) && !existsSync(dir), 5000)).toBe(
      true,
    );
  });
});
