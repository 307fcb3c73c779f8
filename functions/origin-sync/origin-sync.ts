/**
 * `origin-sync`: for origins that run their own TLS server (nginx, envoy, haproxy) and read the client-CA
 * bundle from a file. Fetch the bundle the rotator publishes, validate every certificate in it, and only
 * then replace the live file atomically, check the server's configuration, reload the server and verify.
 *
 * The live file is never left holding something invalid: an empty, garbage, expired, leaf or key-bearing
 * bundle is refused before anything is written; a failing `--check` or `--reload` puts the previous content
 * back (atomically) and nothing more is reloaded. Running it again with the same source changes nothing
 * ("already up to date": no write, no reload), so it can run from cron or a systemd timer. A run killed
 * between writing the file and reloading leaves a marker next to the file (`.<name>.origin-sync-pending`,
 * holding the previous content); the next run sees it and checks and reloads again (or puts the previous
 * content back if the check fails) instead of calling the unreloaded file "up to date".
 *
 * No key material is ever printed: a bundle holds public CA certificates only, and a private key in the
 * source refuses it with a message that says so without repeating the key.
 */
import { readFile } from "node:fs/promises";
import { ACK_ID_RULE, isAckId } from "../core/acknowledgement.ts";
import { sha256Hex } from "../core/pem.ts";
import type { BundleEntry } from "../core/trust-bundle.ts";
import { acknowledge, type InstallRecord, readInstallRecord, writeInstallRecord } from "./acknowledge.ts";
import {
  type CommandRunner,
  CommandSyntaxError,
  describeFailure,
  outputTail,
  quoteCommand,
  runCommand,
  splitCommand,
} from "./command.ts";
import {
  clearPending,
  type LiveFile,
  LiveFileError,
  pendingPath,
  readLiveFile,
  readPending,
  restore,
  writeAtomically,
  writePending,
} from "./live-file.ts";
import {
  defaultSourceClients,
  fetchSource,
  parseSource,
  redactUrl,
  regionOfSource,
  type SourceClients,
  SourceError,
  type SourceSpec,
} from "./source.ts";
import { validateBundle } from "./validate.ts";
import { verifyUrl } from "./verify.ts";

export const ExitCode = {
  /** Updated, or already up to date. */
  Ok: 0,
  /** A bug or an environment failure nobody anticipated. */
  Unexpected: 1,
  /** Bad usage, an unusable `--out`, or an invalid bundle. The live file is untouched. */
  Invalid: 2,
  /** `--check` failed: the previous file was put back; nothing was reloaded. */
  CheckFailed: 3,
  /** `--reload` failed: the previous file was put back. */
  ReloadFailed: 4,
  /** The source could not be fetched. The live file is untouched. */
  SourceUnreachable: 5,
  /** After the reload, the live file or `--verify-url` did not show the new bundle in effect. */
  VerifyFailed: 6,
  /**
   * `--ack-id`: the bundle is installed and the server reloaded, but no acknowledgement was written (the
   * probe certificates are missing, are for another bundle or do not verify against the installed file, or
   * the write was refused).
   */
  AckFailed: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const DEFAULTS = {
  sourceTimeoutMs: 15_000,
  commandTimeoutMs: 60_000,
  verifyTimeoutMs: 15_000,
  /** A bundle of 25 CAs is ~20 KB; 1 MiB leaves room for big ones and still catches a wrong object. */
  maxBytes: 1024 * 1024,
};

export interface OriginSyncOptions {
  /** `s3://bucket/key`, `https://...`, a local path (`/`, `./`, `../`, `file://`) or a secret id/ARN. */
  source: string;
  /** The live bundle file the server reads. */
  out: string;
  /** Makes the server re-read `out`, e.g. `nginx -s reload`. Undefined: the server watches the file itself. */
  reload?: string;
  /** Validates the server configuration with the new file in place, e.g. `nginx -t`. */
  check?: string;
  /** After the reload, poll this https URL until 2xx/3xx (presenting `verifyCertFile` for mTLS). */
  verifyUrl?: string;
  verifyCertFile?: string;
  verifyKeyFile?: string;
  verifyCaFile?: string;
  verifyTimeoutMs?: number;
  /** CA certificates to trust for an https source (default: the system roots). */
  sourceCaFile?: string;
  region?: string;
  sourceTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxBytes?: number;
  /** Validate and compare only: write nothing, run nothing. */
  dryRun?: boolean;
  /**
   * Acknowledge the installed bundle to the rotator as this origin (acks/<ackId>.json in the bundle bucket,
   * written with this host's AWS credentials): ./acknowledge.ts.
   */
  ackId?: string;
  /** The bundle bucket to acknowledge in (default: the bucket of an s3:// source). */
  ackBucket?: string;
}

export interface OriginSyncDeps {
  now?: () => Date;
  /** SDK clients for S3 and Secrets Manager sources (default: built from the standard environment). */
  clients?: Partial<SourceClients>;
  run?: CommandRunner;
  /** Progress lines (stdout in the CLI). */
  log?: (line: string) => void;
  /** Warnings and errors (stderr in the CLI). */
  warn?: (line: string) => void;
  /** The host name an acknowledgement names (default os.hostname()). */
  host?: string;
}

export type Outcome =
  | "updated"
  | "unchanged"
  | "would-update"
  | "invalid"
  | "unreachable"
  | "check-failed"
  | "reload-failed"
  | "verify-failed"
  | "ack-failed";

export interface OriginSyncResult {
  exitCode: ExitCode;
  outcome: Outcome;
  /** One paragraph: what happened, and for a failure what state the live file is in. */
  message: string;
  /** SHA-256 of the bundle fetched (canonical form), when it was valid. */
  sha256?: string;
  /** SHA-256 of the live file before the run, when it existed. */
  previousSha256?: string;
  certificates?: BundleEntry[];
  /** `--ack-id`: the acknowledgement's S3 key, and whether this run wrote it (false: the same one was there). */
  acknowledgement?: { key: string; written: boolean };
}

const PREFIX = "origin-sync: ";

/** Runs one sync. Never throws for an expected failure: the result carries the exit code and message. */
export async function originSync(
  options: OriginSyncOptions,
  deps: OriginSyncDeps = {},
): Promise<OriginSyncResult> {
  const log = (line: string) => deps.log?.(`${PREFIX}${line}`);
  const warn = (line: string) => deps.warn?.(`${PREFIX}${line}`);
  const now = deps.now ?? (() => new Date());
  const run = deps.run ?? runCommand;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
  const finish = (
    exitCode: ExitCode,
    outcome: Outcome,
    message: string,
    extra: Partial<OriginSyncResult> = {},
  ) => ({ exitCode, outcome, message, ...extra }) satisfies OriginSyncResult;

  // 1. Everything that can be checked without touching anything: commands, source, live file, files.
  let checkArgs: string[] | undefined;
  let reloadArgs: string[] | undefined;
  let spec: SourceSpec;
  let live: LiveFile;
  let sourceCaPem: string | undefined;
  let verify: { url: URL; certificatePem?: string; privateKeyPem?: string; caPem?: string } | undefined;
  let ack: { id: string; bucket: string } | undefined;
  try {
    checkArgs = options.check === undefined ? undefined : parseCommand("--check", options.check);
    reloadArgs = options.reload === undefined ? undefined : parseCommand("--reload", options.reload);
    spec = parseSource(options.source);
    if (options.ackId !== undefined) {
      if (!isAckId(options.ackId)) {
        throw new InputError(`--ack-id ${JSON.stringify(options.ackId)}: must be ${ACK_ID_RULE}`);
      }
      const bucket = options.ackBucket ?? (spec.kind === "s3" ? spec.bucket : undefined);
      if (!bucket) {
        throw new InputError("--ack-id needs --ack-bucket (the bundle bucket) when --source is not s3://");
      }
      if (!reloadArgs) {
        throw new InputError(
          "--ack-id needs --reload: an acknowledgement attests that the server re-read the installed file",
        );
      }
      ack = { id: options.ackId, bucket };
    }
    live = await readLiveFile(options.out);
    sourceCaPem = options.sourceCaFile ? await readInput("--source-ca", options.sourceCaFile) : undefined;
    if (options.verifyUrl !== undefined) {
      verify = {
        url: parseVerifyUrl(options.verifyUrl),
        ...(options.verifyCertFile
          ? { certificatePem: await readInput("--verify-cert", options.verifyCertFile) }
          : {}),
        ...(options.verifyKeyFile
          ? { privateKeyPem: await readInput("--verify-key", options.verifyKeyFile) }
          : {}),
        ...(options.verifyCaFile ? { caPem: await readInput("--verify-ca", options.verifyCaFile) } : {}),
      };
    }
  } catch (error) {
    if (
      error instanceof CommandSyntaxError ||
      error instanceof LiveFileError ||
      error instanceof InputError
    ) {
      return finish(ExitCode.Invalid, "invalid", error.message);
    }
    if (error instanceof SourceError) return finish(ExitCode.Invalid, "invalid", error.message);
    throw error;
  }

  // A run killed between writing the live file and finishing left a marker: the file may hold a bundle the
  // server never re-read. Carry on from that run's state instead of calling the file "up to date".
  let interrupted = false;
  const pending = await readPending(live.path);
  if (pending === "corrupt") {
    warn(`warning: ignoring the unreadable marker ${pendingPath(live.path)} of an earlier run`);
    if (!options.dryRun) await clearPending(live.path);
  } else if (pending) {
    const liveSha = live.content === undefined ? undefined : sha256Hex(live.content);
    if (liveSha === pending.newSha256) {
      interrupted = true;
      // The content before that run is the last one known to be served; the new file was never confirmed.
      live = { ...live, content: pending.previous, mode: pending.mode };
      warn(
        `warning: an earlier run wrote ${options.out} (SHA-256 ${pending.newSha256}) and was interrupted ` +
          `before it finished; this run installs, checks and reloads again`,
      );
    } else if (!options.dryRun) {
      // That run put the previous content back itself (or someone replaced the file): nothing to finish.
      await clearPending(live.path);
    }
  }
  const previousSha256 = live.content === undefined ? undefined : sha256Hex(live.content);
  const untouched = `${options.out} is untouched`;

  // 2. Fetch.
  const defaults = defaultSourceClients({
    region: options.region ?? regionOfSource(spec),
    timeoutMs: options.sourceTimeoutMs ?? DEFAULTS.sourceTimeoutMs,
  });
  const clients: SourceClients = {
    s3: deps.clients?.s3 ?? defaults.s3,
    secrets: deps.clients?.secrets ?? defaults.secrets,
  };
  let body: Buffer;
  try {
    const fetched = await fetchSource(
      spec,
      {
        timeoutMs: options.sourceTimeoutMs ?? DEFAULTS.sourceTimeoutMs,
        maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
        ...(sourceCaPem ? { httpsCaPem: sourceCaPem } : {}),
      },
      clients,
    );
    body = fetched.body;
    log(`fetched ${spec.display} (${body.length} bytes${fetched.details.map((d) => `, ${d}`).join("")})`);
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    return error.kind === "invalid"
      ? finish(ExitCode.Invalid, "invalid", `refused the source: ${error.message}; ${untouched}`, {
          previousSha256,
        })
      : finish(
          ExitCode.SourceUnreachable,
          "unreachable",
          `cannot fetch the bundle: ${error.message}; ${untouched}`,
          {
            previousSha256,
          },
        );
  }

  // 3. Validate every certificate.
  const validation = validateBundle(body.toString("utf8"), now());
  for (const warning of validation.warnings) warn(`warning: ${warning}`);
  if (!validation.bundle) {
    const lines = [
      `refused the bundle from ${spec.display}; ${untouched}:`,
      ...validation.problems.map((problem) => `  - ${problem}`),
    ];
    if (validation.containsPrivateKey) {
      lines.push(
        `  The source holds private key material (not shown). Treat that key as exposed: remove it from ` +
          `${spec.display} and replace it.`,
      );
    }
    return finish(ExitCode.Invalid, "invalid", lines.join("\n"), { previousSha256 });
  }
  const bundle = validation.bundle;
  const summary = { sha256: bundle.sha256, previousSha256, certificates: bundle.entries };
  log(`valid: ${bundle.entries.length} CA certificate(s), SHA-256 ${bundle.sha256}`);
  for (const entry of bundle.entries) log(`  ${entry.subject} (expires ${entry.notAfter})`);

  // 4. Compare with the live file.
  if (!interrupted && previousSha256 === bundle.sha256) {
    if (verify) {
      const outcome = await verifyAfterReload(verify, options, log);
      if (outcome) return finish(ExitCode.VerifyFailed, "verify-failed", outcome, summary);
    }
    const upToDate = `${options.out} is already up to date (SHA-256 ${bundle.sha256})`;
    if (!ack || options.dryRun) return finish(ExitCode.Ok, "unchanged", upToDate, summary);
    let record = await readInstallRecord(live.path);
    if (record?.bundleSha256 !== bundle.sha256) {
      // Installed before acknowledgements were asked for (or by hand): nothing says the server re-read it
      // since. Check and reload once, so that the acknowledgement can attest it.
      log("no record of a reload with this bundle: checking and reloading once to acknowledge it");
      const installedAt = now().toISOString();
      for (const [what, args] of [
        ["check", checkArgs],
        ["reload", reloadArgs],
      ] as const) {
        if (!args) continue;
        const result = await run(args, commandTimeoutMs);
        if (!result.ok) {
          return finish(
            what === "check" ? ExitCode.CheckFailed : ExitCode.ReloadFailed,
            what === "check" ? "check-failed" : "reload-failed",
            `${what} ${describeFailure(result, commandTimeoutMs)}: ${quoteCommand(args)}\n` +
              `${outputTail(result.output)}${result.output ? "\n" : ""}${options.out} is unchanged; not acknowledged`,
            summary,
          );
        }
      }
      record = { bundleSha256: bundle.sha256, installedAt, reloadedAt: now().toISOString() };
      await writeInstallRecord(live.path, record);
    }
    return acknowledgeInstalled(ack, record, ExitCode.Ok, "unchanged", upToDate, summary);
  }
  if (options.dryRun) {
    return finish(
      ExitCode.Ok,
      "would-update",
      `dry run: ${options.out} would change from ${previousSha256 ? `SHA-256 ${previousSha256}` : "(missing)"} ` +
        `to SHA-256 ${bundle.sha256}${interrupted ? " (finishing an interrupted run)" : ""}; ` +
        "nothing written, nothing run",
      summary,
    );
  }

  // 5. Install atomically, leaving a marker until the run has finished.
  let installedAt: string;
  try {
    await writePending(live, bundle.sha256);
    await writeAtomically(live, bundle.pem);
    installedAt = now().toISOString();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (!interrupted) await clearPending(live.path).catch(() => undefined);
    return finish(
      ExitCode.Invalid,
      "invalid",
      `cannot write ${options.out} (${code}); ${untouched}`,
      summary,
    );
  }
  log(
    `wrote ${live.path}${live.path === options.out ? "" : ` (via ${options.out})`} ` +
      `(was ${previousSha256 ? `SHA-256 ${previousSha256}` : "missing"})`,
  );

  // 6. Check the server configuration with the new file in place.
  if (checkArgs) {
    const result = await run(checkArgs, commandTimeoutMs);
    if (!result.ok) {
      const restored = await restoreQuietly(live);
      return finish(
        ExitCode.CheckFailed,
        "check-failed",
        `check ${describeFailure(result, commandTimeoutMs)}: ${quoteCommand(checkArgs)}\n` +
          `${outputTail(result.output)}${result.output ? "\n" : ""}${restored}; nothing was reloaded`,
        summary,
      );
    }
    log(`check passed: ${quoteCommand(checkArgs)}`);
  }

  // 7. Reload.
  let reloadedAt: string | undefined;
  if (reloadArgs) {
    const result = await run(reloadArgs, commandTimeoutMs);
    if (!result.ok) {
      const restored = await restoreQuietly(live);
      return finish(
        ExitCode.ReloadFailed,
        "reload-failed",
        `reload ${describeFailure(result, commandTimeoutMs)}: ${quoteCommand(reloadArgs)}\n` +
          `${outputTail(result.output)}${result.output ? "\n" : ""}${restored}; ` +
          `the server may or may not have re-read the file: check it`,
        summary,
      );
    }
    log(`reloaded: ${quoteCommand(reloadArgs)}`);
    reloadedAt = now().toISOString();
  } else {
    log("no reload command (--no-reload): the server is expected to watch the file");
  }
  await clearPending(live.path);

  // 8. Verify: the live file holds what was validated, and (optionally) the origin accepts the client.
  let after: Buffer | undefined;
  try {
    after = await readFile(live.path);
  } catch {
    after = undefined;
  }
  const afterSha = after === undefined ? undefined : sha256Hex(after);
  if (afterSha !== bundle.sha256) {
    return finish(
      ExitCode.VerifyFailed,
      "verify-failed",
      `after the reload ${options.out} holds ${afterSha ? `SHA-256 ${afterSha}` : "nothing"}, not the bundle ` +
        `written (SHA-256 ${bundle.sha256}): something else changed it`,
      summary,
    );
  }
  if (verify) {
    const outcome = await verifyAfterReload(verify, options, log);
    if (outcome)
      return finish(
        ExitCode.VerifyFailed,
        "verify-failed",
        `${outcome}; ${options.out} keeps the new bundle`,
        summary,
      );
  }
  const updated = `updated ${options.out} to SHA-256 ${bundle.sha256}`;
  if (!ack || !reloadedAt) return finish(ExitCode.Ok, "updated", updated, summary);
  const record = { bundleSha256: bundle.sha256, installedAt, reloadedAt };
  await writeInstallRecord(live.path, record);
  return acknowledgeInstalled(ack, record, ExitCode.Ok, "updated", updated, summary);

  /**
   * 9. `--ack-id`: the probe certificates verified against the installed file, then the acknowledgement
   * written. Only reached once the file is installed, checked, reloaded and verified.
   */
  async function acknowledgeInstalled(
    target: { id: string; bucket: string },
    record: InstallRecord,
    exitCode: ExitCode,
    outcome: Outcome,
    message: string,
    extra: Partial<OriginSyncResult>,
  ): Promise<OriginSyncResult> {
    const result = await acknowledge({
      ackId: target.id,
      bucket: target.bucket,
      s3: clients.s3(),
      livePath: live.path,
      installedPem: await readFile(live.path, "utf8"),
      record,
      now: now(),
      ...(deps.host ? { host: deps.host } : {}),
    });
    if (!result.ok) {
      return finish(
        ExitCode.AckFailed,
        "ack-failed",
        `${message}, but NOT acknowledged as ${target.id}: ${result.message}`,
        extra,
      );
    }
    const where = `s3://${target.bucket}/${result.key}`;
    log(
      result.written
        ? `acknowledged as ${target.id}: ${where} (${result.acknowledgement.probes.length} probe certificate(s) verified)`
        : `already acknowledged as ${target.id}: ${where}`,
    );
    return finish(exitCode, outcome, message, {
      ...extra,
      acknowledgement: { key: result.key, written: result.written },
    });
  }
}

class InputError extends Error {
  override name = "InputError";
}

function parseCommand(flag: string, command: string): string[] {
  try {
    return splitCommand(command);
  } catch (error) {
    if (error instanceof CommandSyntaxError) throw new CommandSyntaxError(`${flag}: ${error.message}`);
    throw error;
  }
}

function parseVerifyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`--verify-url ${text}: not a valid URL`);
  }
  if (url.protocol !== "https:") throw new InputError(`--verify-url must be an https:// URL`);
  return url;
}

/** Reads a small input file; the message never includes its content (it may be a key). */
async function readInput(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(
      `${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** Puts the previous content back and, once that worked, removes the marker of this run. */
async function restoreQuietly(live: LiveFile): Promise<string> {
  try {
    await restore(live);
    await clearPending(live.path);
    return live.content === undefined
      ? `removed the new ${live.path} (there was none before)`
      : `restored the previous ${live.path}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return `COULD NOT RESTORE the previous ${live.path} (${code}): it holds the new bundle`;
  }
}

/** Polls `--verify-url`; returns a failure message, or undefined when it answered 2xx/3xx. */
async function verifyAfterReload(
  verify: { url: URL; certificatePem?: string; privateKeyPem?: string; caPem?: string },
  options: OriginSyncOptions,
  log: (line: string) => void,
): Promise<string | undefined> {
  const timeoutMs = options.verifyTimeoutMs ?? DEFAULTS.verifyTimeoutMs;
  const outcome = await verifyUrl({ ...verify, timeoutMs });
  const target = redactUrl(verify.url);
  if (outcome.ok) {
    log(`verified: ${target} answered ${outcome.last} (attempt ${outcome.attempts})`);
    return undefined;
  }
  return `verification failed: ${target} did not answer 2xx/3xx within ${timeoutMs / 1000} s (last: ${outcome.last})`;
}
