/**
 * `mtls-rotator origin-sync` against a REAL nginx (`ssl_verify_client on`), run exactly as an operator
 * runs it: `node bin/mtls-rotator.ts origin-sync ...` in a child process, writing the bundle file nginx's
 * live configuration names, testing it with `nginx -t` and reloading with `nginx -s reload`.
 *
 * nginx starts out trusting CA A (pki A: issuing + root). The bundle A+B must make a client certificate
 * from CA B accepted (HTTP 200) once the reload took effect; a garbage bundle or a failing check must leave
 * the file and the running nginx exactly as they were (B still refused with HTTP 400, same workers).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { computeTrustBundle } from "../../functions/core/trust-bundle.ts";
import { quoteCommand } from "../../functions/origin-sync/command.ts";
import { S3BundleTarget } from "../../functions/trust/publish-bundle.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { type MtlsResponse, mtlsRequest } from "../support/mtls-client.ts";
import { isProcessAlive, type NginxOrigin, startNginxOrigin, stopAllNginxOrigins } from "../support/nginx.ts";
import {
  joinPem,
  makeTestPki,
  opensslIssueCertificate,
  type PemKeyPair,
  type TestPki,
} from "../support/openssl.ts";
import { describeWithNginx } from "../support/tools.ts";

const BIN = fileURLToPath(new URL("../../bin/mtls-rotator.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const BUCKET = "origin-sync-nginx";
/** How long a reload may take to be visible on fresh connections. */
const RELOAD_BOUND_MS = 10_000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, "origin-sync", ...args],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 60_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describeWithNginx()("origin-sync against a real nginx", () => {
  let pkiA: TestPki;
  let pkiB: TestPki;
  let clientA: PemKeyPair;
  let clientB: PemKeyPair;
  let standins: Standins;
  let files: string;
  let origin: NginxOrigin;
  /** Canonical bundles, as origin-sync installs them. */
  let bundleAB: string;

  const request = (client: PemKeyPair, pki: TestPki): Promise<MtlsResponse> =>
    mtlsRequest({
      port: origin.port,
      certificatePem: client.certificatePem,
      chainPem: pki.issuing.certificatePem,
      privateKeyPem: client.privateKeyPem,
      caPem: pkiA.root.certificatePem, // nginx presents a server certificate from PKI A
    });

  /** Requests with client B on fresh connections until one is answered 200, within RELOAD_BOUND_MS. */
  async function untilAccepted(client: PemKeyPair, pki: TestPki): Promise<MtlsResponse> {
    const deadline = Date.now() + RELOAD_BOUND_MS;
    let last = await request(client, pki);
    while (last.status !== 200 && Date.now() < deadline) {
      await sleep(25);
      last = await request(client, pki);
    }
    return last;
  }

  async function oldWorkersGone(pids: number[]): Promise<boolean> {
    const deadline = Date.now() + RELOAD_BOUND_MS;
    while (pids.some(isProcessAlive) && Date.now() < deadline) await sleep(20);
    return !pids.some(isProcessAlive);
  }

  /** `--out`, `--check` and `--reload` for this origin, as an operator would write them. */
  function nginxArgs(extraCheck: string[] = []): string[] {
    const control = origin.control();
    return [
      "--out",
      control.clientCaBundlePath,
      "--check",
      quoteCommand([control.binary, "-t", ...control.cliArgs, ...extraCheck]),
      "--reload",
      quoteCommand([control.binary, "-s", "reload", ...control.cliArgs]),
    ];
  }

  async function snapshot(path: string) {
    const info = await stat(path);
    return { bytes: await readFile(path, "utf8"), mtimeMs: info.mtimeMs, ino: info.ino };
  }

  beforeAll(async () => {
    [pkiA, pkiB] = await Promise.all([
      makeTestPki({ name: "origin-sync A" }),
      makeTestPki({ name: "origin-sync B" }),
    ]);
    [clientA, clientB] = await Promise.all([
      opensslIssueCertificate({ issuer: pkiA.issuing, profile: "client", commonName: "client-a" }),
      opensslIssueCertificate({ issuer: pkiB.issuing, profile: "client", commonName: "client-b" }),
    ]);
    bundleAB = computeTrustBundle({ current: [pkiA.caBundlePem, pkiB.caBundlePem], now: new Date() }).pem;
    standins = await startStandins();
    standins.s3.createBucket(BUCKET, { versioned: true });
    files = await mkdtemp(join(tmpdir(), "origin-sync-nginx-"));
    await writeFile(join(files, "bundle-ab.pem"), joinPem(pkiA.caBundlePem, pkiB.caBundlePem));
    await writeFile(
      join(files, "client-b.pem"),
      joinPem(clientB.certificatePem, pkiB.issuing.certificatePem),
    );
    await writeFile(join(files, "client-b.key"), clientB.privateKeyPem, { mode: 0o600 });
    await writeFile(join(files, "server-root.pem"), pkiA.root.certificatePem);
  });

  beforeEach(async () => {
    origin = await startNginxOrigin({
      name: "origin-sync",
      serverCertPem: pkiA.server.fullChainPem,
      serverKeyPem: pkiA.server.privateKeyPem,
      clientCaBundlePem: pkiA.caBundlePem,
    });
    // The starting point of every test: A trusted, B refused (HTTP 400 after the handshake).
    expect((await request(clientA, pkiA)).status).toBe(200);
    expect((await request(clientB, pkiB)).status).toBe(400);
  });

  afterEach(async () => {
    await origin?.stop();
  });

  afterAll(async () => {
    await stopAllNginxOrigins();
    await standins?.close();
    if (files) await rm(files, { recursive: true, force: true });
  });

  it("A -> A+B from a file: after nginx -t and the reload, a client from CA B gets 200; a second run changes nothing", async () => {
    const live = origin.control().clientCaBundlePath;
    const workersBefore = origin.workerPids();
    expect(workersBefore.length).toBeGreaterThan(0);

    const run = await runCli([
      "--source",
      join(files, "bundle-ab.pem"),
      ...nginxArgs(),
      "--verify-url",
      `https://127.0.0.1:${origin.port}/`,
      "--verify-cert",
      join(files, "client-b.pem"),
      "--verify-key",
      join(files, "client-b.key"),
      "--verify-ca",
      join(files, "server-root.pem"),
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("check passed");
    expect(run.stdout).toContain("reloaded");
    expect(run.stdout).toMatch(/verified: https:\/\/127\.0\.0\.1:\d+\/ answered HTTP 200/);
    expect(run.stdout).toContain(`updated ${live}`);
    expect(await readFile(live, "utf8")).toBe(bundleAB);

    // nginx really re-read the bundle: fresh connections with B are accepted, old workers exited.
    expect((await untilAccepted(clientB, pkiB)).status).toBe(200);
    expect(await oldWorkersGone(workersBefore)).toBe(true);
    for (let i = 0; i < 3; i++) expect((await request(clientB, pkiB)).status).toBe(200);
    expect((await request(clientA, pkiA)).status).toBe(200);
    const log = await origin.accessLog({ minEntries: 1 });
    expect(log.some((entry) => entry.clientSubject.includes("CN=client-b") && entry.status === 200)).toBe(
      true,
    );

    // Idempotent: the same source again is "already up to date", nothing written, nginx not reloaded.
    const workersAfter = origin.workerPids();
    const before = await snapshot(live);
    const again = await runCli(["--source", join(files, "bundle-ab.pem"), ...nginxArgs()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already up to date");
    expect(again.stdout).not.toContain("reloaded");
    expect(await snapshot(live)).toEqual(before);
    expect(origin.workerPids()).toEqual(workersAfter);
  }, 60_000);

  it("S3 source through AWS_ENDPOINT_URL: a garbage object is refused and nginx keeps serving the old bundle; then the published A+B is installed", async () => {
    const live = origin.control().clientCaBundlePath;
    const env = {
      AWS_ENDPOINT_URL: standins.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const clients = standins.clients({ maxAttempts: 1 });
    const key = "trust/origin-client-ca.pem";
    await clients.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "<html>503 Service Unavailable</html>\n" }),
    );

    const before = await snapshot(live);
    const workers = origin.workerPids();
    const garbage = await runCli(["--source", `s3://${BUCKET}/${key}`, ...nginxArgs()], env);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain("refused the bundle");
    expect(garbage.stderr).toContain("no PEM block");
    expect(garbage.stderr).toContain("is untouched");
    expect(garbage.stdout).not.toContain("reloaded");
    expect(await snapshot(live)).toEqual(before);
    // nginx was not touched: same workers, A accepted, B refused.
    expect(origin.workerPids()).toEqual(workers);
    expect((await request(clientA, pkiA)).status).toBe(200);
    expect((await request(clientB, pkiB)).status).toBe(400);

    // The rotator publishes A+B (sha256 metadata and all): the next run installs it.
    await new S3BundleTarget(clients.s3, BUCKET, key).write(
      computeTrustBundle({ current: [pkiA.caBundlePem, pkiB.caBundlePem], now: new Date() }),
    );
    const good = await runCli(["--source", `s3://${BUCKET}/${key}`, ...nginxArgs()], env);
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("body matches its sha256 metadata");
    expect(await readFile(live, "utf8")).toBe(bundleAB);
    expect((await untilAccepted(clientB, pkiB)).status).toBe(200);
    expect((await request(clientA, pkiA)).status).toBe(200);
  }, 60_000);

  it("a failing nginx -t puts the previous file back and nginx is not reloaded (exit 3)", async () => {
    const live = origin.control().clientCaBundlePath;
    const before = await snapshot(live);
    const workers = origin.workerPids();

    // A real nginx -t failure: the configuration test itself is refused by nginx.
    const run = await runCli([
      "--source",
      join(files, "bundle-ab.pem"),
      ...nginxArgs(["-g", "bogus_directive on;"]),
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("check exited with code 1");
    expect(run.stderr).toContain('unknown directive "bogus_directive"');
    expect(run.stderr).toContain("restored the previous");
    expect(run.stdout).not.toContain("reloaded");
    expect((await snapshot(live)).bytes).toBe(before.bytes);

    expect(origin.workerPids()).toEqual(workers);
    expect((await request(clientA, pkiA)).status).toBe(200);
    expect((await request(clientB, pkiB)).status).toBe(400);
    // The restored file still passes nginx's own test.
    const control = origin.control();
    const test = await new Promise<number>((resolve) =>
      execFile(control.binary, ["-t", ...control.cliArgs], (error) => resolve(error ? 1 : 0)),
    );
    expect(test).toBe(0);
  }, 60_000);

  it("a failing reload puts the previous file back (exit 4)", async () => {
    const control = origin.control();
    const before = await snapshot(control.clientCaBundlePath);
    const run = await runCli([
      "--source",
      join(files, "bundle-ab.pem"),
      "--out",
      control.clientCaBundlePath,
      "--check",
      quoteCommand([control.binary, "-t", ...control.cliArgs]),
      // Points nginx at a configuration file that does not exist: it cannot find the master and exits 1.
      "--reload",
      quoteCommand([
        control.binary,
        "-s",
        "reload",
        "-c",
        join(files, "missing.conf"),
        "-p",
        `${origin.dir}/`,
        "-e",
        join(origin.dir, "error.log"),
      ]),
    ]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain("reload exited with code 1");
    expect(run.stderr).toContain("restored the previous");
    expect((await snapshot(control.clientCaBundlePath)).bytes).toBe(before.bytes);
    expect((await request(clientB, pkiB)).status).toBe(400);
  }, 60_000);
});
