/** Command line of `mtls-rotator origin-sync`: options, usage text, and the run that maps to an exit code. */
import { parseArgs } from "node:util";
import { ACK_ID_RULE, ACK_PREFIX, PROBE_CERTIFICATES_KEY } from "../core/acknowledgement.ts";
import {
  DEFAULTS,
  ExitCode,
  type OriginSyncDeps,
  type OriginSyncOptions,
  originSync,
} from "./origin-sync.ts";

export const ORIGIN_SYNC_USAGE = `Usage: mtls-rotator origin-sync --source <source> --out <file> (--reload <command> | --no-reload) [options]

Installs the CA bundle an origin trusts for client certificates (e.g. nginx ssl_client_certificate,
envoy/haproxy ca-file): fetches it, validates every certificate in it, replaces the live file atomically,
runs --check, reloads the server and verifies. An invalid or empty bundle, or a failing check, never
replaces the live file. Running it again with the same source changes nothing (safe for cron/timers);
a run killed midway is finished by the next one (marker file .<out name>.origin-sync-pending).

Required:
  --source <source>        where the bundle comes from:
                             s3://bucket/key                  S3 object (GetObject)
                             https://host/path                HTTPS URL (plain http:// is refused)
                             /path, ./path, ../path, file://  local file
                             secretsmanager:<id>, an ARN, or any other <id>
                                                              Secrets Manager secret (SecretString)
  --out <file>             the live bundle file the server reads
  --reload <command>       makes the server re-read it, e.g. "nginx -s reload"
  --no-reload              instead of --reload: the server watches the file itself

Options:
  --check <command>        validates the server configuration with the new file in place, e.g. "nginx -t";
                           if it fails, the previous file is put back and nothing is reloaded
  --verify-url <url>       after the reload, request this https URL until it answers 2xx/3xx
  --verify-cert <file>     client certificate (PEM) to present to --verify-url
  --verify-key <file>      private key (PEM) of --verify-cert
  --verify-ca <file>       CA certificates to trust for --verify-url's server (default: system roots)
  --verify-timeout <sec>   how long to keep trying --verify-url (default ${DEFAULTS.verifyTimeoutMs / 1000})
  --source-ca <file>       CA certificates to trust for an https --source (default: system roots)
  --region <region>        AWS region of the S3 bucket or secret (default: AWS_REGION, the profile, the ARN)
  --timeout <sec>          deadline for fetching the source (default ${DEFAULTS.sourceTimeoutMs / 1000})
  --command-timeout <sec>  deadline for --check and for --reload, each (default ${DEFAULTS.commandTimeoutMs / 1000})
  --max-bytes <n>          refuse a bundle larger than this (default ${DEFAULTS.maxBytes})
  --ack-id <id>            after installing, reloading and verifying, acknowledge the bundle to the rotator
                           as this origin (the id its preflight settings name; ${ACK_ID_RULE}):
                           verify each probe certificate the rotator publishes next to the bundle
                           (s3://<bucket>/${PROBE_CERTIFICATES_KEY}) against the installed file, then write
                           s3://<bucket>/${ACK_PREFIX}<id>.json with this host's AWS credentials; needs --reload
  --ack-bucket <bucket>    the bundle bucket to acknowledge in (default: the bucket of an s3:// --source)
  --dry-run                fetch, validate and compare only: write nothing, run nothing
  --quiet                  print only warnings and errors
  -h, --help               show this help

Commands are split into words like a shell does (quotes, backslashes) but run without a shell: pipes,
redirections, variables and globs are refused. AWS access uses the standard environment (AWS_REGION,
AWS_PROFILE, credentials chain, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SECRETS_MANAGER).

Exit codes:
  0  updated, or already up to date
  2  bad usage, unusable --out, or an invalid bundle (the live file is untouched)
  3  --check failed (the previous file was put back; nothing was reloaded)
  4  --reload failed (the previous file was put back)
  5  the source could not be fetched (the live file is untouched)
  6  after the reload, the live file or --verify-url did not show the new bundle in effect
  7  --ack-id: installed and reloaded, but not acknowledged (probe certificates missing, for another
     bundle or not verifying against the installed file; or the write was refused)
  1  unexpected error

Example:
  mtls-rotator origin-sync --source s3://acme-trust/trust/origin-client-ca.pem \\
    --out /etc/nginx/client-ca.pem --check "nginx -t" --reload "nginx -s reload"
`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

class UsageError extends Error {
  override name = "UsageError";
}

function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds`);
  return Math.round(n * 1000);
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer`);
  return n;
}

/** Parses `origin-sync` arguments (without the subcommand itself). `"help"` when help was asked for. */
export function parseOriginSyncArgs(args: string[]): { options: OriginSyncOptions; quiet: boolean } | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[0]}`);
  }
  if (!v.source) throw new UsageError("--source is required");
  if (!v.out) throw new UsageError("--out is required");
  if (v.reload === undefined && !v["no-reload"]) {
    throw new UsageError("--reload <command> is required (or --no-reload when the server watches the file)");
  }
  if (v.reload !== undefined && v["no-reload"])
    throw new UsageError("--reload and --no-reload exclude each other");
  if ((v["verify-cert"] || v["verify-key"] || v["verify-ca"]) && !v["verify-url"]) {
    throw new UsageError("--verify-cert, --verify-key and --verify-ca need --verify-url");
  }
  if (v["ack-id"] !== undefined && v["no-reload"]) {
    throw new UsageError(
      "--ack-id needs --reload: an acknowledgement attests that the server re-read the file",
    );
  }
  if (v["ack-bucket"] !== undefined && v["ack-id"] === undefined) {
    throw new UsageError("--ack-bucket needs --ack-id");
  }
  if (Boolean(v["verify-cert"]) !== Boolean(v["verify-key"])) {
    throw new UsageError("--verify-cert and --verify-key go together");
  }
  const options: OriginSyncOptions = {
    source: v.source,
    out: v.out,
    reload: v.reload,
    check: v.check,
    verifyUrl: v["verify-url"],
    verifyCertFile: v["verify-cert"],
    verifyKeyFile: v["verify-key"],
    verifyCaFile: v["verify-ca"],
    verifyTimeoutMs: seconds("--verify-timeout", v["verify-timeout"]),
    sourceCaFile: v["source-ca"],
    region: v.region,
    sourceTimeoutMs: seconds("--timeout", v.timeout),
    commandTimeoutMs: seconds("--command-timeout", v["command-timeout"]),
    maxBytes: positiveInteger("--max-bytes", v["max-bytes"]),
    dryRun: v["dry-run"] ?? false,
    ...(v["ack-id"] !== undefined ? { ackId: v["ack-id"] } : {}),
    ...(v["ack-bucket"] !== undefined ? { ackBucket: v["ack-bucket"] } : {}),
  };
  return { options, quiet: v.quiet ?? false };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      source: { type: "string" },
      out: { type: "string" },
      reload: { type: "string" },
      "no-reload": { type: "boolean" },
      check: { type: "string" },
      "verify-url": { type: "string" },
      "verify-cert": { type: "string" },
      "verify-key": { type: "string" },
      "verify-ca": { type: "string" },
      "verify-timeout": { type: "string" },
      "source-ca": { type: "string" },
      region: { type: "string" },
      timeout: { type: "string" },
      "command-timeout": { type: "string" },
      "max-bytes": { type: "string" },
      "dry-run": { type: "boolean" },
      "ack-id": { type: "string" },
      "ack-bucket": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** Runs `origin-sync` with `args` and returns the exit code. Never throws. */
export async function runOriginSyncCli(
  args: string[],
  io: CliIo,
  deps: OriginSyncDeps = {},
): Promise<number> {
  let parsed: ReturnType<typeof parseOriginSyncArgs>;
  try {
    parsed = parseOriginSyncArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`origin-sync: ${error.message}\nRun "mtls-rotator origin-sync --help" for usage.\n`);
    return ExitCode.Invalid;
  }
  if (parsed === "help") {
    io.stdout(ORIGIN_SYNC_USAGE);
    return ExitCode.Ok;
  }
  const { options, quiet } = parsed;
  try {
    const result = await originSync(options, {
      log: quiet ? undefined : (line) => io.stdout(`${line}\n`),
      warn: (line) => io.stderr(`${line}\n`),
      ...deps,
    });
    if (result.exitCode === ExitCode.Ok) {
      if (!quiet) io.stdout(`origin-sync: ${result.message}\n`);
    } else {
      io.stderr(`origin-sync: ${result.message}\n`);
    }
    return result.exitCode;
  } catch (error) {
    io.stderr(`origin-sync: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Unexpected;
  }
}
