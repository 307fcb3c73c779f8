/**
 * `origin-sync` with real files, real child processes for --check/--reload, the real SDK against the S3 and
 * Secrets Manager stand-ins, and a real HTTPS server on 127.0.0.1. Every refusal leaves the live file
 * byte-for-byte untouched (same inode, same mtime) and runs no command.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf, sha256Hex } from "../../functions/core/pem.ts";
import { computeTrustBundle } from "../../functions/core/trust-bundle.ts";
import { parseOriginSyncArgs, runOriginSyncCli } from "../../functions/origin-sync/cli.ts";
import { CommandSyntaxError, quoteCommand, splitCommand } from "../../functions/origin-sync/command.ts";
import {
  ExitCode,
  type OriginSyncOptions,
  type OriginSyncResult,
  originSync,
} from "../../functions/origin-sync/origin-sync.ts";
import { parseSource } from "../../functions/origin-sync/source.ts";
import { AcknowledgementStore } from "../../functions/trust/acknowledgements.ts";
import { S3BundleTarget, SecretBundleTarget } from "../../functions/trust/publish-bundle.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";

const DAY = 86_400_000;
const BUCKET = "origin-sync-test";
const BIN = fileURLToPath(new URL("../../bin/mtls-rotator.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

let standins: Standins;
let clients: AwsClients;
let alpha: CertificateAuthority;
let alphaIssuing: CertificateAuthority;
let bravo: CertificateAuthority;
let expired: CertificateAuthority;
let future: CertificateAuthority;
let leaf: IssuedCredential;
let https: { server: Server; port: number; rootPemFile: string; hits: string[] };
/** Shared files: the recorder script the --check/--reload commands run. */
let shared: string;
let counter = 0;

/** The canonical bundle of some CAs, as origin-sync installs it. */
function bundleOf(...cas: CertificateAuthority[]) {
  return computeTrustBundle({ current: cas.map((ca) => ca.certificatePem), now: new Date() });
}

/**
 * Records each command run in `log` (name and, when given, the SHA-256 of a file at that moment), then
 * exits with `code` after sleeping `sleepMs`.
 */
const RECORDER = `
import { appendFileSync, readFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
const [log, name, code, file, sleepMs] = process.argv.slice(2);
const sha = file && existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "-";
appendFileSync(log, name + " " + sha + "\\n");
process.stdout.write(name + " says hello\\n");
if (Number(code) !== 0) process.stderr.write(name + ": emerg: something is wrong in line 42\\n");
setTimeout(() => process.exit(Number(code)), Number(sleepMs ?? 0));
`;

beforeAll(async () => {
  standins = await startStandins();
  clients = standins.clients({ maxAttempts: 1 });
  standins.s3.createBucket(BUCKET, { versioned: true });
  const now = Date.now();
  [alpha, bravo, expired, future] = await Promise.all([
    createRootCa({ name: "CN=Alpha Client CA, O=origin-sync tests" }),
    createRootCa({ name: "CN=Bravo Client CA, O=origin-sync tests" }),
    createRootCa({
      name: "CN=Expired Client CA, O=origin-sync tests",
      notBefore: new Date(now - 400 * DAY),
      notAfter: new Date(now - DAY),
    }),
    createRootCa({
      name: "CN=Future Client CA, O=origin-sync tests",
      notBefore: new Date(now + 2 * DAY),
      notAfter: new Date(now + 400 * DAY),
    }),
  ]);
  alphaIssuing = await createSubordinateCa(alpha, { name: "CN=Alpha Issuing CA, O=origin-sync tests" });
  leaf = await issueClientCredential(alphaIssuing, { subject: "CN=origin-client, O=origin-sync tests" });

  shared = await mkdtemp(join(tmpdir(), "origin-sync-shared-"));
  await writeFile(join(shared, "recorder.mjs"), RECORDER);

  // A real HTTPS server on loopback, its certificate from a CA of our own.
  const serverCa = await createRootCa({ name: "CN=Origin Sync HTTPS Test CA" });
  const serverId = await issueServerCredential(serverCa);
  const rootPemFile = join(shared, "https-root.pem");
  await writeFile(rootPemFile, serverCa.certificatePem);
  const hits: string[] = [];
  const server = createServer({ cert: serverId.certificatePem, key: serverId.privateKeyPem }, (req, res) => {
    const path = req.url ?? "/";
    hits.push(path);
    if (path === "/bundle.pem") {
      res.writeHead(200, { "content-type": "application/x-pem-file" }).end(bundleOf(alpha, bravo).pem);
    } else if (path === "/redirect") {
      res.writeHead(302, { location: "/bundle.pem" }).end();
    } else if (path === "/redirect-http") {
      res.writeHead(302, { location: `http://127.0.0.1:${port()}/bundle.pem` }).end();
    } else if (path === "/big") {
      res.writeHead(200); // no content-length: the cap applies while streaming
      for (let i = 0; i < 64; i++) res.write(`${"x".repeat(1023)}\n`);
      res.end();
    } else if (path === "/html") {
      res.writeHead(200, { "content-type": "text/html" }).end("<html><body>Welcome to our CDN</body></html>");
    } else if (path === "/slow") {
      // Never answers: the source deadline must end the wait.
    } else if (path === "/unavailable") {
      res.writeHead(503).end("try later");
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = () => (server.address() as AddressInfo).port;
  https = { server, port: port(), rootPemFile, hits };
});

afterAll(async () => {
  https?.server.closeAllConnections();
  await new Promise((resolve) => https?.server.close(resolve));
  await standins?.close();
  if (shared) await rm(shared, { recursive: true, force: true });
});

/** A fresh directory per test, with a live bundle trusting Alpha (mode 0600, like the nginx harness). */
let dir: string;
let live: string;
let log: string;

beforeEach(async () => {
  counter += 1;
  dir = await mkdtemp(join(tmpdir(), `origin-sync-${counter}-`));
  live = join(dir, "client-ca.pem");
  log = join(dir, "commands.log");
  await writeFile(live, alpha.certificatePem, { mode: 0o600 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A command that records itself in `log` and exits with `code`. */
function recorder(name: string, code = 0, options: { hash?: string; sleepMs?: number } = {}): string {
  return quoteCommand([
    process.execPath,
    join(shared, "recorder.mjs"),
    log,
    name,
    String(code),
    options.hash ?? "",
    String(options.sleepMs ?? 0),
  ]);
}

async function commandsRun(): Promise<string[]> {
  try {
    return (await readFile(log, "utf8")).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function writeSource(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

interface Snapshot {
  bytes: Buffer;
  mtimeMs: number;
  ino: number;
  mode: number;
}

async function snapshot(path = live): Promise<Snapshot> {
  const info = await stat(path);
  return { bytes: await readFile(path), mtimeMs: info.mtimeMs, ino: info.ino, mode: info.mode & 0o777 };
}

/** Runs originSync in-process against the stand-ins; `output` is every line it printed. */
async function sync(
  options: Partial<OriginSyncOptions> & { source: string },
): Promise<OriginSyncResult & { output: string }> {
  const lines: string[] = [];
  const result = await originSync(
    { out: live, reload: recorder("reload"), check: recorder("check", 0, { hash: live }), ...options },
    {
      clients: { s3: () => clients.s3, secrets: () => clients.secrets },
      log: (line) => lines.push(line),
      warn: (line) => lines.push(line),
    },
  );
  return { ...result, output: [...lines, result.message].join("\n") };
}

/** Runs the real CLI (`node bin/mtls-rotator.ts ...`) in a child process. */
function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("sources", () => {
  it("a local file: validated, written atomically, checked with the new file in place, then reloaded", async () => {
    const expected = bundleOf(alpha, bravo);
    const source = await writeSource("source.pem", bravo.certificatePem + alpha.certificatePem);
    const before = await snapshot();

    const result = await sync({ source });

    expect(result.exitCode).toBe(ExitCode.Ok);
    expect(result.outcome).toBe("updated");
    expect(result.sha256).toBe(expected.sha256);
    expect(result.previousSha256).toBe(sha256Hex(alpha.certificatePem));
    const after = await snapshot();
    expect(after.bytes.toString()).toBe(expected.pem);
    expect(after.ino).not.toBe(before.ino); // replaced by rename, not rewritten in place
    expect(after.mode).toBe(0o600); // the live file's mode is kept
    // The check saw the NEW file; the reload came after it.
    expect(await commandsRun()).toEqual([`check ${expected.sha256}`, "reload -"]);
    expect(result.output).toContain("Alpha Client CA");
    expect(result.output).toContain("Bravo Client CA");
    expect(await readdir(dir)).toEqual(["client-ca.pem", "commands.log", "source.pem"].sort());
  });

  it("a file:// URL and a ./relative path name local files", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    expect((await sync({ source: pathToFileURL(source).href })).outcome).toBe("updated");
    expect(parseSource("./x.pem")).toMatchObject({ kind: "file", path: "./x.pem" });
    expect(parseSource("../x.pem")).toMatchObject({ kind: "file", path: "../x.pem" });
  });

  it("S3: the object the rotator publishes is installed; a second run is a no-op", async () => {
    const key = `trust/origin-client-ca-${counter}.pem`;
    await new S3BundleTarget(clients.s3, BUCKET, key).write(bundleOf(alpha, bravo));

    const first = await sync({ source: `s3://${BUCKET}/${key}` });
    expect(first.exitCode).toBe(ExitCode.Ok);
    expect(first.output).toContain("body matches its sha256 metadata");
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);

    const before = await snapshot();
    const second = await sync({ source: `s3://${BUCKET}/${key}` });
    expect(second.exitCode).toBe(ExitCode.Ok);
    expect(second.outcome).toBe("unchanged");
    expect(second.message).toContain("already up to date");
    expect(await snapshot()).toEqual(before);
    expect(await commandsRun()).toHaveLength(2); // check + reload of the first run only
  });

  it("S3: a body that does not match its sha256 metadata is refused (2); a missing object or bucket is unreachable (5)", async () => {
    const key = `trust/tampered-${counter}.pem`;
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: bundleOf(alpha, bravo).pem,
        Metadata: { sha256: "0".repeat(64) },
      }),
    );
    const before = await snapshot();
    const tampered = await sync({ source: `s3://${BUCKET}/${key}` });
    expect(tampered.exitCode).toBe(ExitCode.Invalid);
    expect(tampered.message).toMatch(/does not match the object's sha256 metadata/);

    const missingKey = await sync({ source: `s3://${BUCKET}/trust/nothing-here.pem` });
    expect(missingKey.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(missingKey.message).toContain("NoSuchKey");
    const missingBucket = await sync({ source: "s3://no-such-bucket-anywhere/trust/x.pem" });
    expect(missingBucket.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(missingBucket.message).toContain("NoSuchBucket");

    expect(await snapshot()).toEqual(before);
    expect(await commandsRun()).toEqual([]);
  });

  it("Secrets Manager: a bare secret id and secretsmanager:<id>; a missing secret is unreachable (5)", async () => {
    const secretId = `mtls-rotator/trust/origin-client-ca-${counter}`;
    await new SecretBundleTarget(clients.secrets, secretId).write(bundleOf(alpha, bravo));

    const bare = await sync({ source: secretId });
    expect(bare.exitCode).toBe(ExitCode.Ok);
    expect(bare.outcome).toBe("updated");
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);
    const prefixed = await sync({ source: `secretsmanager:${secretId}` });
    expect(prefixed.outcome).toBe("unchanged");

    const missing = await sync({ source: "mtls-rotator/trust/does-not-exist" });
    expect(missing.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(missing.message).toContain("ResourceNotFoundException");
  });

  it("https: fetched with the given CA, redirects followed; 404 and timeouts are unreachable (5)", async () => {
    const base = `https://127.0.0.1:${https.port}`;
    const ok = await sync({ source: `${base}/redirect`, sourceCaFile: https.rootPemFile });
    expect(ok.exitCode).toBe(ExitCode.Ok);
    expect(ok.output).toContain("redirected to");
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);

    const notFound = await sync({ source: `${base}/missing.pem`, sourceCaFile: https.rootPemFile });
    expect(notFound.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(notFound.message).toContain("answered HTTP 404");

    const started = Date.now();
    const slow = await sync({
      source: `${base}/slow`,
      sourceCaFile: https.rootPemFile,
      sourceTimeoutMs: 300,
    });
    expect(slow.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(slow.message).toContain("did not answer within 0.3 s");
    expect(Date.now() - started).toBeLessThan(3_000);

    // Without --source-ca the test CA is not trusted: the TLS handshake fails.
    const untrusted = await sync({ source: `${base}/bundle.pem` });
    expect(untrusted.exitCode).toBe(ExitCode.SourceUnreachable);
    expect(untrusted.message).toMatch(/certificate/i);
  });

  it("https: plain http, a redirect to http, an oversized body and an HTML page are refused (2)", async () => {
    const before = await snapshot();
    const base = `https://127.0.0.1:${https.port}`;
    const http = await sync({ source: `http://127.0.0.1:${https.port}/bundle.pem` });
    expect(http.exitCode).toBe(ExitCode.Invalid);
    expect(http.message).toContain("plain http is refused");

    const downgrade = await sync({ source: `${base}/redirect-http`, sourceCaFile: https.rootPemFile });
    expect(downgrade.exitCode).toBe(ExitCode.Invalid);
    expect(downgrade.message).toContain("redirected to http://");

    const big = await sync({ source: `${base}/big`, sourceCaFile: https.rootPemFile, maxBytes: 16 * 1024 });
    expect(big.exitCode).toBe(ExitCode.Invalid);
    expect(big.message).toContain("--max-bytes");

    const html = await sync({ source: `${base}/html`, sourceCaFile: https.rootPemFile });
    expect(html.exitCode).toBe(ExitCode.Invalid);
    expect(html.message).toContain("no PEM block");

    expect(await snapshot()).toEqual(before);
    expect(await commandsRun()).toEqual([]);
  });

  it("the CLI in a child process reaches S3 and Secrets Manager through AWS_ENDPOINT_URL and the standard env", async () => {
    const key = `trust/cli-${counter}.pem`;
    const secretId = `mtls-rotator/trust/cli-${counter}`;
    await new S3BundleTarget(clients.s3, BUCKET, key).write(bundleOf(alpha, bravo));
    await clients.secrets.send(
      new CreateSecretCommand({ Name: secretId, SecretString: bravo.certificatePem }),
    );
    const env = {
      AWS_ENDPOINT_URL: standins.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const args = ["origin-sync", "--out", live, "--reload", recorder("reload")];

    const fromS3 = await cli([...args, "--source", `s3://${BUCKET}/${key}`], env);
    expect(fromS3.stderr).toBe("");
    expect(fromS3.code).toBe(0);
    expect(fromS3.stdout).toContain(`updated ${live}`);
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);

    const fromSecret = await cli([...args, "--source", secretId], env);
    expect(fromSecret.code).toBe(0);
    expect(await readFile(live, "utf8")).toBe(bundleOf(bravo).pem);

    const missing = await cli([...args, "--source", `s3://${BUCKET}/trust/nope.pem`], env);
    expect(missing.code).toBe(ExitCode.SourceUnreachable);
    expect(missing.stderr).toContain("NoSuchKey");
    expect(await commandsRun()).toEqual(["reload -", "reload -"]);
  });
});

describe("invalid bundles are refused and the live file is untouched", () => {
  const cases: Array<{ name: string; content: () => string; expected: RegExp }> = [
    { name: "empty", content: () => "", expected: /the bundle is empty/ },
    { name: "whitespace only", content: () => "\n  \n\t\n", expected: /the bundle is empty/ },
    { name: "garbage", content: () => "this is not a certificate\n", expected: /no PEM block at all/ },
    {
      name: "binary (DER)",
      content: () => Buffer.from(alpha.certificate.rawData).toString("latin1"),
      expected: /no PEM block at all/,
    },
    {
      name: "an expired CA next to a good one",
      content: () => alpha.certificatePem + expired.certificatePem,
      expected: /block 2 of 2 \(CN=Expired Client CA.*\) expired at/,
    },
    {
      name: "a leaf certificate",
      content: () => alpha.certificatePem + leaf.certificatePem,
      expected: /block 2 of 2 \(CN=origin-client.*\) is not a CA certificate/,
    },
    {
      name: "a truncated certificate",
      content: () => alpha.certificatePem + bravo.certificatePem.slice(0, 200),
      expected: /block 2 \(CERTIFICATE\) has no END line \(truncated\?\)/,
    },
    {
      name: "a certificate with corrupted base64",
      content: () => alpha.certificatePem.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!corrupted!!!!!!!"),
      expected: /block 1 of 1 does not parse as an X\.509 certificate/,
    },
    {
      name: "a CSR block",
      content: () =>
        `${alpha.certificatePem}-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n`,
      expected: /block 2 of 2 is a CERTIFICATE REQUEST, not a CERTIFICATE/,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const source = await writeSource("source.pem", c.content());
      const before = await snapshot();
      const result = await sync({ source });
      expect(result.exitCode).toBe(ExitCode.Invalid);
      expect(result.outcome).toBe("invalid");
      expect(result.message).toMatch(c.expected);
      expect(result.message).toContain("is untouched");
      expect(await snapshot()).toEqual(before);
      expect(await commandsRun()).toEqual([]);
      expect((await readdir(dir)).sort()).toEqual(["client-ca.pem", "source.pem"]); // no temp file left
    });
  }

  it("a private key in the bundle: refused without repeating it, and called exposed", async () => {
    for (const content of [
      alpha.certificatePem + leaf.privateKeyPem,
      leaf.privateKeyPem.replace("PRIVATE KEY", "EC PRIVATE KEY").replace(/-----END[^\n]*\n?$/, ""), // damaged armour
    ]) {
      const source = await writeSource("source.pem", content);
      const before = await snapshot();
      const lines: string[] = [];
      const code = await runOriginSyncCli(
        ["--source", source, "--out", live, "--reload", recorder("reload")],
        { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t) },
      );
      expect(code).toBe(ExitCode.Invalid);
      const output = lines.join("");
      expect(output).toMatch(/private key/);
      expect(output).toContain("Treat that key as exposed");
      expectNoKeyMaterial(output, [leaf.privateKeyPem]);
      expect(await snapshot()).toEqual(before);
    }
    expect(await commandsRun()).toEqual([]);
  });

  it("every problem is reported, each naming its block", async () => {
    const source = await writeSource(
      "source.pem",
      alpha.certificatePem + expired.certificatePem + leaf.certificatePem + bravo.certificatePem,
    );
    const result = await sync({ source });
    expect(result.exitCode).toBe(ExitCode.Invalid);
    expect(result.message).toMatch(/block 2 of 4 \(CN=Expired Client CA/);
    expect(result.message).toMatch(/block 3 of 4 \(CN=origin-client/);
    expect(result.message).not.toMatch(/block [14] of 4/);
  });

  it("a source larger than --max-bytes is refused before it is parsed", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    const result = await sync({ source, maxBytes: 100 });
    expect(result.exitCode).toBe(ExitCode.Invalid);
    expect(result.message).toContain("more than the 100 a CA bundle may have");
  });
});

describe("check and reload failures put the previous file back", () => {
  it("--check fails: previous content restored, nothing reloaded, the check's output shown (3)", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    const before = await snapshot();
    const result = await sync({ source, check: recorder("check", 1, { hash: live }) });
    expect(result.exitCode).toBe(ExitCode.CheckFailed);
    expect(result.outcome).toBe("check-failed");
    expect(result.message).toContain("check exited with code 1");
    expect(result.message).toContain("check: emerg: something is wrong in line 42");
    expect(result.message).toContain("restored the previous");
    expect(result.message).toContain("nothing was reloaded");
    const after = await snapshot();
    expect(after.bytes).toEqual(before.bytes);
    expect(after.mode).toBe(before.mode);
    // The check did see the new bundle; reload never ran.
    expect(await commandsRun()).toEqual([`check ${bundleOf(alpha, bravo).sha256}`]);
    expect((await readdir(dir)).sort()).toEqual(["client-ca.pem", "commands.log", "source.pem"]);
  });

  it("--check fails when there was no live file before: the new file is removed again", async () => {
    await rm(live);
    const source = await writeSource("source.pem", bundleOf(alpha).pem);
    const result = await sync({ source, check: recorder("check", 2) });
    expect(result.exitCode).toBe(ExitCode.CheckFailed);
    expect(result.message).toContain("there was none before");
    await expect(stat(live)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("--reload fails or times out: previous content restored (4)", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    const before = await snapshot();
    const failed = await sync({ source, reload: recorder("reload", 1) });
    expect(failed.exitCode).toBe(ExitCode.ReloadFailed);
    expect(failed.message).toContain("reload exited with code 1");
    expect((await snapshot()).bytes).toEqual(before.bytes);

    const timedOut = await sync({
      source,
      reload: recorder("reload", 0, { sleepMs: 10_000 }),
      commandTimeoutMs: 500,
    });
    expect(timedOut.exitCode).toBe(ExitCode.ReloadFailed);
    expect(timedOut.message).toContain("timed out after 0.5 s and was killed");
    expect((await snapshot()).bytes).toEqual(before.bytes);

    const notFound = await sync({ source, reload: "/nonexistent/bin/nginx -s reload" });
    expect(notFound.exitCode).toBe(ExitCode.ReloadFailed);
    expect(notFound.message).toContain("command not found");
    expect((await snapshot()).bytes).toEqual(before.bytes);
  });

  it("a command that is not a plain argument vector is refused before anything is fetched (2)", async () => {
    const before = await snapshot();
    for (const reload of [
      "nginx -s reload && echo done",
      "nginx -s reload > /tmp/x",
      "kill -HUP $(cat pid)",
      "",
    ]) {
      const result = await sync({ source: "s3://unreachable-bucket/key", reload });
      expect(result.exitCode, reload).toBe(ExitCode.Invalid);
      expect(result.message).toContain("--reload");
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("a run killed midway", () => {
  const killer = () => quoteCommand([process.execPath, "-e", "process.kill(process.ppid, 'SIGKILL')"]);
  const marker = () => join(dir, ".client-ca.pem.origin-sync-pending");

  /** Runs the CLI with a --check that SIGKILLs it: the new file is written, nothing reloaded. */
  async function killedRun(source: string): Promise<void> {
    const killed = await cli([
      "origin-sync",
      "--source",
      source,
      "--out",
      live,
      "--check",
      killer(),
      "--reload",
      recorder("reload"),
    ]);
    expect(killed.code).toBe(-1); // killed by a signal
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);
    expect((await stat(marker())).isFile()).toBe(true);
    expect(await commandsRun()).toEqual([]);
  }

  it("is finished by the next run (check + reload), which does not call the file up to date", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    await killedRun(source);

    const next = await sync({ source });
    expect(next.exitCode).toBe(ExitCode.Ok);
    expect(next.outcome).toBe("updated");
    expect(next.output).toContain("was interrupted before it finished");
    expect(next.previousSha256).toBe(sha256Hex(alpha.certificatePem));
    expect(await commandsRun()).toEqual([`check ${bundleOf(alpha, bravo).sha256}`, "reload -"]);
    await expect(stat(marker())).rejects.toMatchObject({ code: "ENOENT" });

    const third = await sync({ source });
    expect(third.outcome).toBe("unchanged");
  });

  it("is undone when the next run's check fails: the content from before the killed run comes back", async () => {
    const source = await writeSource("source.pem", bundleOf(alpha, bravo).pem);
    await killedRun(source);
    const next = await sync({ source, check: recorder("check", 1) });
    expect(next.exitCode).toBe(ExitCode.CheckFailed);
    expect(await readFile(live, "utf8")).toBe(alpha.certificatePem);
    await expect(stat(marker())).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("behaviour", () => {
  it("the canonical bundle is installed: order, duplicates, CRLF and comments make no difference", async () => {
    const messy = `# bundle for the origin\r\n${bravo.certificatePem.replace(/\n/g, "\r\n")}subject=Alpha\n${alpha.certificatePem}${bravo.certificatePem}`;
    const first = await sync({ source: await writeSource("messy.pem", messy) });
    expect(first.outcome).toBe("updated");
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);
    const second = await sync({
      source: await writeSource("tidy.pem", alpha.certificatePem + bravo.certificatePem),
    });
    expect(second.outcome).toBe("unchanged");
  });

  it("--dry-run writes nothing and runs nothing", async () => {
    const before = await snapshot();
    const result = await sync({
      source: await writeSource("s.pem", bundleOf(alpha, bravo).pem),
      dryRun: true,
    });
    expect(result.exitCode).toBe(ExitCode.Ok);
    expect(result.outcome).toBe("would-update");
    expect(await snapshot()).toEqual(before);
    expect(await commandsRun()).toEqual([]);
  });

  it("a symlinked --out: the file it points at is replaced, the link stays", async () => {
    await mkdir(join(dir, "real"));
    const target = join(dir, "real", "bundle.pem");
    await writeFile(target, alpha.certificatePem);
    const link = join(dir, "link.pem");
    await symlink(target, link);
    const result = await sync({ source: await writeSource("s.pem", bundleOf(alpha, bravo).pem), out: link });
    expect(result.outcome).toBe("updated");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, "utf8")).toBe(bundleOf(alpha, bravo).pem);
  });

  it("a new file is created 0644; an --out in a missing directory is refused (2)", async () => {
    const fresh = join(dir, "fresh.pem");
    const created = await sync({ source: await writeSource("s.pem", bundleOf(alpha).pem), out: fresh });
    expect(created.outcome).toBe("updated");
    expect((await stat(fresh)).mode & 0o777).toBe(0o644);
    const missing = await sync({
      source: await writeSource("s.pem", bundleOf(alpha).pem),
      out: join(dir, "no/such/x.pem"),
    });
    expect(missing.exitCode).toBe(ExitCode.Invalid);
    expect(missing.message).toContain("does not exist");
  });

  it("a CA not valid yet is accepted with a warning", async () => {
    const result = await sync({
      source: await writeSource("s.pem", alpha.certificatePem + future.certificatePem),
    });
    expect(result.outcome).toBe("updated");
    expect(result.output).toMatch(/warning: .*CN=Future Client CA.* is not valid before/);
  });

  it("--no-reload (reload undefined) installs without running anything but the check", async () => {
    const result = await sync({
      source: await writeSource("s.pem", bundleOf(alpha, bravo).pem),
      reload: undefined,
    });
    expect(result.outcome).toBe("updated");
    expect((await commandsRun()).map((l) => l.split(" ")[0])).toEqual(["check"]);
  });

  it("--verify-url that never answers 2xx/3xx: verification fails (6) and the new file stays", async () => {
    const result = await sync({
      source: await writeSource("s.pem", bundleOf(alpha, bravo).pem),
      verifyUrl: `https://127.0.0.1:${https.port}/unavailable`,
      verifyCaFile: https.rootPemFile,
      verifyTimeoutMs: 600,
    });
    expect(result.exitCode).toBe(ExitCode.VerifyFailed);
    expect(result.message).toContain("last: HTTP 503");
    expect(await readFile(live, "utf8")).toBe(bundleOf(alpha, bravo).pem);
  });

  it("an ambiguous bare source (a local file that is also a valid secret id) is refused", () => {
    expect(() => parseSource("bundle.pem", () => true)).toThrow(/ambiguous/);
    expect(parseSource("bundle.pem", () => false)).toMatchObject({ kind: "secret", secretId: "bundle.pem" });
    expect(parseSource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf")).toMatchObject({
      kind: "secret",
    });
    expect(() => parseSource("ftp://example.com/x.pem")).toThrow(/unsupported scheme/);
  });
});

describe("command lines", () => {
  it("split like a shell, run without one", () => {
    expect(splitCommand("nginx -s reload")).toEqual(["nginx", "-s", "reload"]);
    expect(splitCommand(`nginx -t -g 'pid /tmp/a b.pid;'`)).toEqual([
      "nginx",
      "-t",
      "-g",
      "pid /tmp/a b.pid;",
    ]);
    expect(splitCommand(`a "b \\"c\\" d" e\\ f ''`)).toEqual(["a", 'b "c" d', "e f", ""]);
    expect(splitCommand("  systemctl\treload   nginx.service  ")).toEqual([
      "systemctl",
      "reload",
      "nginx.service",
    ]);
    expect(splitCommand("cp a~ b#c")).toEqual(["cp", "a~", "b#c"]);
    for (const bad of [
      "a | b",
      "a; b",
      "a && b",
      "a > f",
      "echo $HOME",
      "echo `id`",
      'echo "$HOME"',
      "ls *.pem",
      "cd ~",
      "x # c",
      "'open",
      "",
      "   ",
    ]) {
      expect(() => splitCommand(bad), bad).toThrow(CommandSyntaxError);
    }
  });

  it("quoteCommand round-trips through splitCommand", () => {
    for (const args of [
      ["/usr/sbin/nginx", "-t"],
      ["a b", "it's", 'say "hi"', "$x", "*", ""],
    ]) {
      expect(splitCommand(quoteCommand(args))).toEqual(args);
    }
  });
});

describe("command line interface", () => {
  it("parses options and refuses incomplete or contradictory ones", () => {
    expect(parseOriginSyncArgs(["--help"])).toBe("help");
    expect(
      parseOriginSyncArgs([
        "--source",
        "s3://b/k",
        "--out",
        "/x",
        "--reload",
        "nginx -s reload",
        "--timeout",
        "2.5",
      ]),
    ).toMatchObject({
      options: { source: "s3://b/k", out: "/x", reload: "nginx -s reload", sourceTimeoutMs: 2500 },
      quiet: false,
    });
    const refusals: Array<[string[], RegExp]> = [
      [["--out", "/x", "--reload", "r"], /--source is required/],
      [["--source", "s", "--reload", "r"], /--out is required/],
      [["--source", "s", "--out", "/x"], /--reload <command> is required/],
      [["--source", "s", "--out", "/x", "--reload", "r", "--no-reload"], /exclude each other/],
      [["--source", "s", "--out", "/x", "--reload", "r", "--bogus"], /Unknown option '--bogus'/],
      [["--source", "s", "--out", "/x", "--reload", "r", "--timeout=-1"], /positive number of seconds/],
      [["--source", "s", "--out", "/x", "--reload", "r", "--timeout", "soon"], /positive number of seconds/],
      [["--source", "s", "--out", "/x", "--reload", "r", "--verify-cert", "c"], /need --verify-url/],
      [["--source", "s", "--out", "/x", "--reload", "r", "extra"], /unexpected argument: extra/],
    ];
    for (const [args, message] of refusals)
      expect(() => parseOriginSyncArgs(args), args.join(" ")).toThrow(message);
  });

  it("bin/mtls-rotator.ts: --help, origin-sync --help, usage errors", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: mtls-rotator <command>");
    expect(top.stdout).toContain("origin-sync");
    const sub = await cli(["origin-sync", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("Usage: mtls-rotator origin-sync --source <source> --out <file>");
    expect(sub.stdout).toContain("Exit codes:");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const usage = await cli(["origin-sync", "--source", "x"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--out is required");
  });
});

describe("acknowledgements (--ack-id): only after install, reload and a verified probe certificate", () => {
  const bundleKey = "trust/ack-bundle.pem";
  const ackObject = (id: string) => standins.s3.object(BUCKET, `acks/${id}.json`);

  /** What the trust phase publishes: the bundle, and the probe certificates chosen for it. */
  async function publish(bundlePem: string, probes: string[]): Promise<string> {
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bundleKey, Body: bundlePem }));
    const sha = sha256Hex(bundlePem);
    await new AcknowledgementStore(clients.s3, BUCKET).publishProbeCertificates(sha, () => ({
      pem: probes.join(""),
    }));
    return sha;
  }

  it("installs, checks, reloads, verifies the probe certificate against the installed file, then acknowledges; a second run writes nothing", async () => {
    const bundle = bundleOf(alphaIssuing, alpha);
    await publish(bundle.pem, [leaf.certificatePem]);
    const result = await sync({ source: `s3://${BUCKET}/${bundleKey}`, ackId: "edge-1" });
    expect(result.exitCode).toBe(ExitCode.Ok);
    expect(result.outcome).toBe("updated");
    expect(result.acknowledgement).toEqual({ key: "acks/edge-1.json", written: true });
    expect(await commandsRun()).toEqual([`check ${bundle.sha256}`, expect.stringMatching(/^reload /)]);
    const written = ackObject("edge-1");
    const ack = JSON.parse(written!.body.toString("utf8"));
    const leafCert = new X509Certificate(leaf.certificatePem);
    expect(ack).toEqual({
      version: 1,
      originId: "edge-1",
      host: hostname(),
      bundleSha256: bundle.sha256,
      installedAt: expect.any(String),
      reloadedAt: expect.any(String),
      acknowledgedAt: expect.any(String),
      caKeyFingerprints: [alpha, alphaIssuing]
        .map((ca) => keyFingerprintOf(new X509Certificate(ca.certificatePem)))
        .sort(),
      probes: [
        {
          certificateSha256: fingerprintOf(leafCert),
          issuerKeySha256: keyFingerprintOf(new X509Certificate(alphaIssuing.certificatePem)),
        },
      ],
      unprobedCaKeyFingerprints: [],
      checks: { verified: true, reloaded: true },
    });
    expect(Date.parse(ack.reloadedAt)).toBeGreaterThanOrEqual(Date.parse(ack.installedAt));
    expect(written!.contentType).toBe("application/json");
    expectNoKeyMaterial(ack, [leaf.privateKeyPem]);

    const again = await sync({ source: `s3://${BUCKET}/${bundleKey}`, ackId: "edge-1" });
    expect(again).toMatchObject({ exitCode: ExitCode.Ok, outcome: "unchanged" });
    expect(again.acknowledgement).toEqual({ key: "acks/edge-1.json", written: false });
    expect(standins.s3.versions(BUCKET, "acks/edge-1.json")).toHaveLength(1);
    expect(await commandsRun()).toHaveLength(2);
  });

  it("a failing reload: the previous file is back and nothing is acknowledged (4)", async () => {
    const bundle = bundleOf(alphaIssuing, alpha);
    await publish(bundle.pem, [leaf.certificatePem]);
    const result = await sync({
      source: `s3://${BUCKET}/${bundleKey}`,
      ackId: "edge-reload-fails",
      reload: recorder("reload", 1),
    });
    expect(result.exitCode).toBe(ExitCode.ReloadFailed);
    expect(result.acknowledgement).toBeUndefined();
    expect(ackObject("edge-reload-fails")).toBeUndefined();
    expect(await readFile(live, "utf8")).toBe(alpha.certificatePem);
  });

  it("a bundle missing the new CA: its probe certificate does not verify against the installed file, nothing is acknowledged (7)", async () => {
    const bravoLeaf = await issueClientCredential(bravo, { subject: "CN=new edge, O=origin-sync tests" });
    const bundle = bundleOf(alphaIssuing, alpha);
    await publish(bundle.pem, [leaf.certificatePem, bravoLeaf.certificatePem]);
    const result = await sync({ source: `s3://${BUCKET}/${bundleKey}`, ackId: "edge-no-bravo" });
    expect(result.exitCode).toBe(ExitCode.AckFailed);
    expect(result.outcome).toBe("ack-failed");
    expect(result.message).toMatch(/NOT acknowledged as edge-no-bravo: probe certificate\(s\) do not verify/);
    expect(result.message).toContain("CN=new edge");
    expect(ackObject("edge-no-bravo")).toBeUndefined();
    // The bundle itself is installed and reloaded: only the acknowledgement is refused.
    expect(await readFile(live, "utf8")).toBe(bundle.pem);
  });

  it("probe certificates for another bundle, or none at all: nothing is acknowledged (7)", async () => {
    const bundle = bundleOf(alphaIssuing, alpha);
    await publish(bundleOf(alphaIssuing, alpha, bravo).pem, [leaf.certificatePem]);
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bundleKey, Body: bundle.pem }));
    const other = await sync({ source: `s3://${BUCKET}/${bundleKey}`, ackId: "edge-other" });
    expect(other.exitCode).toBe(ExitCode.AckFailed);
    expect(other.message).toContain("not for the installed one");
    expect(ackObject("edge-other")).toBeUndefined();
  });

  it("a bundle installed before acknowledgements were asked for: checked and reloaded once, then acknowledged", async () => {
    const bundle = bundleOf(alphaIssuing, alpha);
    await writeFile(live, bundle.pem);
    await publish(bundle.pem, [leaf.certificatePem]);
    const result = await sync({ source: `s3://${BUCKET}/${bundleKey}`, ackId: "edge-old-install" });
    expect(result).toMatchObject({ exitCode: ExitCode.Ok, outcome: "unchanged" });
    expect(result.output).toContain("no record of a reload with this bundle");
    expect(await commandsRun()).toEqual([`check ${bundle.sha256}`, expect.stringMatching(/^reload /)]);
    expect(ackObject("edge-old-install")).toBeDefined();
  });

  it("refuses a bad id, --no-reload, and a non-S3 source without --ack-bucket (2)", async () => {
    const source = `s3://${BUCKET}/${bundleKey}`;
    expect((await sync({ source, ackId: "a/b" })).message).toMatch(/--ack-id "a\/b": must be 1 to 128/);
    expect((await sync({ source, ackId: "x", reload: undefined })).exitCode).toBe(ExitCode.Invalid);
    const file = await writeSource("source.pem", bundleOf(alpha).pem);
    expect((await sync({ source: file, ackId: "x" })).message).toContain("--ack-id needs --ack-bucket");
    expect(() =>
      parseOriginSyncArgs(["--source", source, "--out", live, "--no-reload", "--ack-id", "x"]),
    ).toThrow(/--ack-id needs --reload/);
    expect(
      parseOriginSyncArgs(["--source", source, "--out", live, "--reload", "true", "--ack-id", "x"]),
    ).toMatchObject({ options: { ackId: "x" } });
  });
});
