#!/usr/bin/env node
/**
 * `mtls-rotator`: command-line entry. A small dispatcher: each subcommand is one entry in COMMANDS, with
 * its own options, help and exit codes. Runs on Node >= 22.18 directly (type stripping):
 * `node bin/mtls-rotator.ts <command> ...`.
 */
import { readFileSync } from "node:fs";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../functions/cli/main.ts";
import { type CliIo, runOriginSyncCli } from "../functions/origin-sync/cli.ts";
import { runViewerVerifierCli } from "../functions/viewer/verifier-server.ts";

interface Command {
  summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** The operator commands run against the real process: its environment, terminal and clock. */
function processEnvironment(): OperatorEnvironment {
  return { env: process.env, isTTY: process.stdout.isTTY === true, columns: process.stdout.columns };
}

const COMMANDS: Record<string, Command> = {
  ...Object.fromEntries(
    OPERATOR_COMMANDS.map((spec): [string, Command] => [
      spec.name,
      { summary: spec.summary, run: (args, io) => runOperatorCommand(spec, args, io, processEnvironment()) },
    ]),
  ),
  "origin-sync": {
    summary: "install the client-CA bundle on an origin you run yourself (nginx, envoy, haproxy)",
    run: runOriginSyncCli,
  },
  "viewer-verifier": {
    summary: "answer nginx auth_request for viewer mTLS passthrough (forwarded viewer certificates)",
    run: runViewerVerifierCli,
  },
  sandbox: {
    summary:
      "run whole rotations on this machine: real CA, real TLS origins, AWS stand-ins (npm run sandbox)",
    // Loaded on demand: the sandbox needs the dev dependencies (local durable runner, dynalite).
    run: async (args) => (await import("../sandbox/cli.ts")).runSandboxProcess(args),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: mtls-rotator <command> [options]

Rotation of CloudFront origin-mTLS client certificates: tools for operators and origins.

Commands:
${lines.join("\n")}

Options:
  -h, --help     show this help
  -v, --version  print the version

Run "mtls-rotator <command> --help" for a command's options and exit codes.
`;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Runs the CLI and returns the exit code (2 for usage errors). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "-v" || name === "--version") {
    io.stdout(`mtls-rotator ${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`mtls-rotator: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(rest, io);
}

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const code = await main(process.argv.slice(2), io);
process.exitCode = code;
// Output is flushed by the normal exit; a lingering keep-alive socket must not hold the process up.
setTimeout(() => process.exit(code), 2_000).unref();
