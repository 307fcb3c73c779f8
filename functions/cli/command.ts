/**
 * What every operator command is made of: its options and help, a parse step that turns argv into a typed
 * input (usage errors before anything is sent), and a run over injected dependencies (API client, output,
 * clock, terminal), so the command logic is tested without a process around it.
 */
import type { ParseArgsOptionsConfig } from "node:util";
import { Reason } from "../api/schemas.ts";
import type { RotatorApi } from "./api-types.ts";
import { UsageError } from "./errors.ts";

export interface CommandDeps {
  api: RotatorApi;
  out(text: string): void;
  err(text: string): void;
  now(): Date;
  /** Whether stdout is a terminal (watch redraws in place on one). */
  isTTY: boolean;
  /** Terminal width, when known. */
  columns?: number;
  sleep(ms: number): Promise<void>;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandSpec<Input> {
  name: string;
  summary: string;
  /** Full --help text (the shared API options and exit codes are appended). */
  usage: string;
  options: ParseArgsOptionsConfig;
  parse(values: OptionValues, positionals: string[]): Input;
  run(input: Input, deps: CommandDeps): Promise<number>;
}

/** Options every command that talks to the API takes. */
export const API_OPTIONS: ParseArgsOptionsConfig = {
  endpoint: { type: "string" },
  region: { type: "string" },
  profile: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const API_OPTIONS_HELP = `API options (every command):
  --endpoint <url>     the mtls-rotator HTTP API (default: MTLS_ROTATOR_API_URL; \`sst deploy\` prints it)
  --region <region>    region to sign for (default: the region in an execute-api URL, else AWS_REGION,
                       else AWS_DEFAULT_REGION); it must be the API's region
  --profile <name>     AWS profile for credentials (default: the standard chain: environment, AWS_PROFILE,
                       SSO, shared files, container or instance role)
  --timeout <seconds>  deadline per request (default 30)
  -h, --help           show this help

Requests are signed with SigV4 (execute-api): the caller needs execute-api:Invoke on the API's routes.`;

export function text(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** A whole number within [min, max], or undefined when the option was not given. */
export function wholeNumber(
  values: OptionValues,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = text(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/**
 * `--reason`, checked with the API's own schema (length, no control characters) so a reason the API would
 * refuse is a usage error before any request; undefined when the option was not given.
 */
export function reasonOption(
  values: OptionValues,
  name = "reason",
  schema: Pick<typeof Reason, "safeParse"> = Reason,
): string | undefined {
  const raw = text(values, name);
  if (raw === undefined) return undefined;
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new UsageError(`--${name} ${result.error.issues.map((i) => i.message).join("; ")}`);
  }
  return raw;
}

/** A positive number of seconds, as milliseconds. */
export function seconds(values: OptionValues, name: string): number | undefined {
  const raw = text(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return Math.round(n * 1000);
}

/** Exactly `names.length` positionals, named for the message. */
export function positionalsOf(positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(
      `missing ${names
        .slice(positionals.length)
        .map((n) => `<${n}>`)
        .join(" ")}`,
    );
  }
  if (positionals.length > names.length)
    throw new UsageError(`unexpected argument: ${positionals[names.length]}`);
  return positionals;
}
