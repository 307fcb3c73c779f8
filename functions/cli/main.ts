/**
 * Runs one operator command: parses its argv (node:util parseArgs), prints --help, builds the signed API
 * client from --endpoint/--region/--profile and the environment, runs the command, and turns any failure
 * into one actionable line on stderr and an exit code. Never throws.
 */
import { parseArgs } from "node:util";
import type { CliIo } from "../origin-sync/cli.ts";
import {
  type CredentialProvider,
  credentialSourceOf,
  defaultCredentials,
  HttpRotatorApi,
  resolveEndpoint,
  resolveRegion,
} from "./api-client.ts";
import type { RotatorApi } from "./api-types.ts";
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type CommandSpec,
  type OptionValues,
  seconds,
  text,
} from "./command.ts";
import { certificatesCommand } from "./commands/certificates.ts";
import { approveCommand, rollbackCommand } from "./commands/control.ts";
import { rotateCommand } from "./commands/rotate.ts";
import { scanCommand } from "./commands/scan.ts";
import { statusCommand } from "./commands/status.ts";
import {
  viewerApproveCommand,
  viewerMigrateCommand,
  viewerMigrationCommand,
  viewerMigrationsCommand,
  viewerRetireCommand,
  viewerRollbackCommand,
} from "./commands/viewer.ts";
import { viewerInventoryCommand } from "./commands/viewer-inventory.ts";
import {
  reinstateViewerCommand,
  revokeViewerCommand,
  viewerRevocationCommand,
} from "./commands/viewer-revocations.ts";
import { watchCommand } from "./commands/watch.ts";
import { EXIT_CODES_HELP, ExitCode, explainError, UsageError } from "./errors.ts";

/** What a command runs in: the process by default, anything in tests. */
export interface OperatorEnvironment {
  env: Record<string, string | undefined>;
  isTTY?: boolean;
  columns?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Credentials instead of the standard chain. */
  credentials?: CredentialProvider;
  /** A ready client instead of one built from the options and the environment. */
  api?: RotatorApi;
}

export const OPERATOR_COMMANDS: ReadonlyArray<CommandSpec<unknown>> = [
  statusCommand,
  certificatesCommand,
  rotateCommand,
  watchCommand,
  rollbackCommand,
  approveCommand,
  scanCommand,
  revokeViewerCommand,
  reinstateViewerCommand,
  viewerRevocationCommand,
  viewerMigrateCommand,
  viewerRetireCommand,
  viewerMigrationsCommand,
  viewerMigrationCommand,
  viewerApproveCommand,
  viewerRollbackCommand,
  viewerInventoryCommand,
];

export function usageOf(spec: CommandSpec<unknown>): string {
  return `${spec.usage}\n\n${API_OPTIONS_HELP}\n\n${EXIT_CODES_HELP}\n`;
}

function apiFor(values: OptionValues, environment: OperatorEnvironment): RotatorApi {
  if (environment.api) return environment.api;
  const endpoint = resolveEndpoint(text(values, "endpoint"), environment.env);
  const region = resolveRegion(text(values, "region"), environment.env, endpoint);
  const profile = text(values, "profile");
  return new HttpRotatorApi({
    endpoint,
    region: region.region,
    regionSource: region.source,
    credentials: environment.credentials ?? defaultCredentials(profile),
    credentialSource: environment.credentials
      ? "the credentials given"
      : credentialSourceOf(environment.env, profile),
    timeoutMs: seconds(values, "timeout"),
    now: environment.now,
  });
}

export async function runOperatorCommand(
  spec: CommandSpec<unknown>,
  args: string[],
  io: CliIo,
  environment: OperatorEnvironment,
): Promise<number> {
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args,
        options: { ...API_OPTIONS, ...spec.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const values = parsed.values as OptionValues;
    if (values.help === true) {
      io.stdout(usageOf(spec));
      return ExitCode.Ok;
    }
    const input = spec.parse(values, parsed.positionals);
    const api = apiFor(values, environment);
    return await spec.run(input, {
      api,
      out: io.stdout,
      err: io.stderr,
      now: environment.now ?? (() => new Date()),
      isTTY: environment.isTTY ?? false,
      columns: environment.columns,
      sleep: environment.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    });
  } catch (error) {
    const { message, exitCode } = explainError(error);
    const hint = error instanceof UsageError ? `\nRun "mtls-rotator ${spec.name} --help" for usage.` : "";
    io.stderr(`mtls-rotator ${spec.name}: ${message}${hint}\n`);
    return exitCode;
  }
}
