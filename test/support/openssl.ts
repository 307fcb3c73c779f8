/**
 * The `openssl` command line as an independent judge and as a stand-in CA for tests.
 *
 * Everything runs through `execFile` (never a shell) on files in a fresh private temp directory that is
 * removed afterwards. All keys are ECDSA P-256 (PKCS#8 PEM).
 *
 * - {@link opensslVerify}: `openssl verify -CAfile root -untrusted chain -purpose sslclient leaf`.
 * - {@link opensslCreateRootCa} / {@link opensslSignCsr} / {@link opensslIssueCertificate}: a small CA.
 * - {@link makeTestPki}: root CA -> issuing CA -> server certificate for `localhost` / `127.0.0.1`.
 *
 * Certificate profiles follow the AWS Private CA templates the rotator relies on:
 * - `root`: RootCACertificate/V1 (CA:TRUE critical; keyCertSign, cRLSign, digitalSignature critical).
 * - `issuing`: SubordinateCACertificate_PathLen0/V1 (CA:TRUE, pathlen:0 critical; same key usage).
 * - `client`: EndEntityClientAuthCertificate/V1 (CA:FALSE critical; digitalSignature critical;
 *   EKU clientAuth).
 * - `server`: a TLS server certificate (CA:FALSE; digitalSignature critical; EKU serverAuth), which must
 *   NOT pass `-purpose sslclient`.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolPathOrThrow } from "./tools.ts";

/** A certificate and its private key, both PEM. */
export interface PemKeyPair {
  certificatePem: string;
  privateKeyPem: string;
}

/** Certificate profiles understood by {@link opensslSignCsr}. */
export type CertificateProfile = "root" | "issuing" | "client" | "server";

/** `openssl verify -purpose` values worth testing here. */
export type VerifyPurpose = "sslclient" | "sslserver" | "any";

export interface OpensslResult {
  /** Process exit code (`null` if killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `openssl <args>` (no shell) and resolves with its exit code and output; never rejects on a
 * non-zero exit (callers decide), only when openssl cannot be started at all.
 */
export function runOpenssl(
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<OpensslResult> {
  const binary = toolPathOrThrow("openssl");
  return new Promise<OpensslResult>((resolve, reject) => {
    execFile(
      binary,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 20_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number" && error.signal == null) {
          // ENOENT, EACCES, ...: openssl did not even start.
          reject(error);
          return;
        }
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like {@link runOpenssl} but throws (with the full command output) unless openssl exits with 0. */
async function openssl(args: string[], cwd: string): Promise<string> {
  const result = await runOpenssl(args, { cwd });
  if (result.code !== 0) {
    throw new Error(
      `openssl ${args.join(" ")} failed with exit code ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** Runs `fn` with a fresh 0700 temp directory and always removes the directory afterwards. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mtls-openssl-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a private file (0600) and returns its path. */
async function put(dir: string, name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

/** A random positive 128-bit serial number as openssl's `-set_serial 0x...` argument. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive, and no leading zero byte (full 16 bytes)
  return `0x${bytes.toString("hex")}`;
}

/** Builds a `-subj` argument; `/` and `\` in the common name are escaped as openssl expects. */
function subject(commonName: string, organization = "mtls-rotator tests"): string {
  const escapeValue = (value: string) => value.replace(/[\\/]/g, (c) => `\\${c}`);
  return `/O=${escapeValue(organization)}/CN=${escapeValue(commonName)}`;
}

/** The v3 extension section (named `ext`) for each profile; `san` is a ready `subjectAltName` value. */
function extensionConfig(profile: CertificateProfile, san: string | undefined): string {
  const lines = ["[ext]", "subjectKeyIdentifier = hash"];
  // A self-signed root has no issuer key id other than its own; openssl handles `keyid` for both.
  lines.push("authorityKeyIdentifier = keyid:always");
  switch (profile) {
    case "root":
      lines.push("basicConstraints = critical, CA:TRUE");
      lines.push("keyUsage = critical, digitalSignature, keyCertSign, cRLSign");
      break;
    case "issuing":
      lines.push("basicConstraints = critical, CA:TRUE, pathlen:0");
      lines.push("keyUsage = critical, digitalSignature, keyCertSign, cRLSign");
      break;
    case "client":
      lines.push("basicConstraints = critical, CA:FALSE");
      lines.push("keyUsage = critical, digitalSignature");
      lines.push("extendedKeyUsage = clientAuth");
      break;
    case "server":
      lines.push("basicConstraints = critical, CA:FALSE");
      lines.push("keyUsage = critical, digitalSignature");
      lines.push("extendedKeyUsage = serverAuth");
      break;
  }
  if (san) lines.push(`subjectAltName = ${san}`);
  return `${lines.join("\n")}\n`;
}

/** `["localhost", "127.0.0.1"]` -> `DNS:localhost, IP:127.0.0.1`. */
function formatSan(names: readonly string[] | undefined): string | undefined {
  if (!names || names.length === 0) return undefined;
  const isIp = (name: string) => /^[0-9.]+$/.test(name) || name.includes(":");
  return names.map((name) => (isIp(name) ? `IP:${name}` : `DNS:${name}`)).join(", ");
}

/** Generates an ECDSA P-256 private key (PKCS#8 PEM) with openssl. */
export async function opensslGenerateP256Key(): Promise<string> {
  return withTempDir(async (dir) => {
    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem"],
      dir,
    );
    return readText(join(dir, "key.pem"));
  });
}

function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/** Creates a CSR (PEM) for `privateKeyPem` with subject `/O=.../CN=commonName`. */
export async function opensslCreateCsr(options: {
  privateKeyPem: string;
  commonName: string;
}): Promise<string> {
  return withTempDir(async (dir) => {
    const key = await put(dir, "key.pem", options.privateKeyPem);
    await openssl(["req", "-new", "-key", key, "-subj", subject(options.commonName), "-out", "csr.pem"], dir);
    return readText(join(dir, "csr.pem"));
  });
}

export interface CreateRootCaOptions {
  commonName: string;
  /** Validity in days (default 3650). */
  days?: number;
}

/** A self-signed root CA (P-256, profile `root`). */
export async function opensslCreateRootCa(options: CreateRootCaOptions): Promise<PemKeyPair> {
  return withTempDir(async (dir) => {
    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem"],
      dir,
    );
    const ext = await put(dir, "ext.cnf", extensionConfig("root", undefined));
    await openssl(
      [
        "req",
        "-x509",
        "-new",
        "-key",
        "key.pem",
        "-sha256",
        "-subj",
        subject(options.commonName),
        "-days",
        String(options.days ?? 3650),
        "-set_serial",
        randomSerial(),
        "-config",
        ext,
        "-extensions",
        "ext",
        "-out",
        "cert.pem",
      ],
      dir,
    );
    return {
      certificatePem: await readText(join(dir, "cert.pem")),
      privateKeyPem: await readText(join(dir, "key.pem")),
    };
  });
}

export interface SignCsrOptions {
  csrPem: string;
  /** The signing CA (its certificate and key). */
  issuer: PemKeyPair;
  profile: Exclude<CertificateProfile, "root">;
  /** Subject alternative names; IPs are recognised (`127.0.0.1`, `::1`), everything else is DNS. */
  subjectAltNames?: readonly string[];
  /** Validity in days (default 30). */
  days?: number;
}

/**
 * Signs a CSR as a CA would (the stand-in for Private CA IssueCertificate): subject taken from the CSR,
 * extensions from `profile` only (extensions requested in the CSR are ignored, as the AWS templates do),
 * a random 128-bit serial, SHA-256.
 */
export async function opensslSignCsr(options: SignCsrOptions): Promise<string> {
  return withTempDir(async (dir) => {
    const csr = await put(dir, "csr.pem", options.csrPem);
    const caCert = await put(dir, "ca.pem", options.issuer.certificatePem);
    const caKey = await put(dir, "ca.key", options.issuer.privateKeyPem);
    const ext = await put(
      dir,
      "ext.cnf",
      extensionConfig(options.profile, formatSan(options.subjectAltNames)),
    );
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        caCert,
        "-CAkey",
        caKey,
        "-set_serial",
        randomSerial(),
        "-days",
        String(options.days ?? 30),
        "-sha256",
        "-extfile",
        ext,
        "-extensions",
        "ext",
        "-out",
        "cert.pem",
      ],
      dir,
    );
    return readText(join(dir, "cert.pem"));
  });
}

export interface IssueCertificateOptions extends Omit<SignCsrOptions, "csrPem"> {
  commonName: string;
}

/** Key + CSR + signature in one go: a fresh P-256 key pair certified by `issuer` with `profile`. */
export async function opensslIssueCertificate(options: IssueCertificateOptions): Promise<PemKeyPair> {
  const privateKeyPem = await opensslGenerateP256Key();
  const csrPem = await opensslCreateCsr({ privateKeyPem, commonName: options.commonName });
  const certificatePem = await opensslSignCsr({ ...options, csrPem });
  return { certificatePem, privateKeyPem };
}

export interface TestPki {
  root: PemKeyPair;
  issuing: PemKeyPair;
  /** Server identity for `localhost` and `127.0.0.1`, signed by the issuing CA. */
  server: PemKeyPair & {
    /** Server leaf followed by the issuing CA: what nginx's `ssl_certificate` should contain. */
    fullChainPem: string;
  };
  /** Issuing CA followed by the root: the bundle an origin trusts for clients issued by this PKI. */
  caBundlePem: string;
}

/**
 * A complete small PKI built by openssl: root CA, issuing CA (pathlen 0) and a TLS server certificate for
 * `localhost` / `127.0.0.1` (EKU serverAuth) for an nginx origin's own identity. Clients connecting to
 * that origin verify it with `root.certificatePem`. Issue client certificates with
 * `opensslIssueCertificate({ issuer: pki.issuing, profile: "client", ... })`.
 */
export async function makeTestPki(options: { name?: string } = {}): Promise<TestPki> {
  const name = options.name ?? "mtls-rotator test";
  const root = await opensslCreateRootCa({ commonName: `${name} root CA` });
  const issuing = await opensslIssueCertificate({
    issuer: root,
    profile: "issuing",
    commonName: `${name} issuing CA`,
    days: 1825,
  });
  const server = await opensslIssueCertificate({
    issuer: issuing,
    profile: "server",
    commonName: "localhost",
    subjectAltNames: ["localhost", "127.0.0.1"],
  });
  return {
    root,
    issuing,
    server: { ...server, fullChainPem: joinPem(server.certificatePem, issuing.certificatePem) },
    caBundlePem: joinPem(issuing.certificatePem, root.certificatePem),
  };
}

/** Concatenates PEM blocks, making sure each ends with a newline. */
export function joinPem(...pems: string[]): string {
  return pems.map((pem) => (pem.endsWith("\n") ? pem : `${pem}\n`)).join("");
}

export interface OpensslVerifyOptions {
  leafPem: string;
  /** Intermediate certificates offered with the leaf (`-untrusted`); omitted when empty. */
  untrustedChainPem?: string;
  /** The trust anchor(s) (`-CAfile`). */
  trustedRootPem: string;
  purpose: VerifyPurpose;
  /** Verify as of this instant (`-attime`) instead of now. */
  atTime?: Date;
}

/**
 * `openssl verify -CAfile root [-untrusted chain] -purpose <purpose> [-attime t] leaf`.
 * `ok` is true only when openssl exits with 0 and reports `<leaf>: OK`; `output` is stdout + stderr
 * (the reason when not ok, e.g. "unsupported certificate purpose").
 */
export async function opensslVerify(options: OpensslVerifyOptions): Promise<{ ok: boolean; output: string }> {
  return withTempDir(async (dir) => {
    const leaf = await put(dir, "leaf.pem", options.leafPem);
    const root = await put(dir, "root.pem", options.trustedRootPem);
    const args = ["verify", "-CAfile", root];
    if (options.untrustedChainPem?.trim()) {
      args.push("-untrusted", await put(dir, "chain.pem", options.untrustedChainPem));
    }
    args.push("-purpose", options.purpose);
    if (options.atTime) args.push("-attime", String(Math.floor(options.atTime.getTime() / 1000)));
    args.push(leaf);
    const result = await runOpenssl(args, { cwd: dir });
    const output = `${result.stdout}${result.stderr}`.trim();
    return { ok: result.code === 0 && result.stdout.includes(`${leaf}: OK`), output };
  });
}
