/**
 * Server commands (`--check`, `--reload`) given as one string: split into an argument vector the way a
 * POSIX shell splits words (single quotes, double quotes, backslashes) and run WITHOUT a shell, with a
 * timeout. Nothing is expanded: no variables, globs or `~`; shell operators (pipes, `;`, `&&`,
 * redirections, subshells) are refused rather than passed on as arguments, so a command never means
 * something else than it reads.
 */
import { execFile } from "node:child_process";

export class CommandSyntaxError extends Error {
  override name = "CommandSyntaxError";
}

/** Characters a shell would treat as operators or expansions when unquoted. */
const SHELL_SPECIAL = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`", "*", "?", "[", "{", "}"]);
/** Special only at the start of a word (`~` expands to a home directory, `#` starts a comment). */
const WORD_START_SPECIAL = new Set(["~", "#"]);

/** Splits a command line into arguments. Throws {@link CommandSyntaxError} on anything ambiguous. */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = "";
  let inWord = false;
  let i = 0;
  while (i < command.length) {
    const c = command[i]!;
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) args.push(current);
      current = "";
      inWord = false;
      i += 1;
      continue;
    }
    const wordStart = !inWord;
    inWord = true;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError(`unterminated single quote in: ${command}`);
      current += command.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i += 1;
      for (;;) {
        if (i >= command.length) throw new CommandSyntaxError(`unterminated double quote in: ${command}`);
        const d = command[i]!;
        if (d === '"') break;
        if (d === "$" || d === "`") {
          throw new CommandSyntaxError(
            `"${d}" inside double quotes would be expanded by a shell; commands run without one (use single quotes)`,
          );
        }
        if (d === "\\" && i + 1 < command.length && '"\\'.includes(command[i + 1]!)) {
          current += command[i + 1];
          i += 2;
          continue;
        }
        current += d;
        i += 1;
      }
      i += 1;
      continue;
    }
    if (c === "\\") {
      if (i + 1 >= command.length) throw new CommandSyntaxError(`trailing backslash in: ${command}`);
      current += command[i + 1];
      i += 2;
      continue;
    }
    if (SHELL_SPECIAL.has(c) || (wordStart && WORD_START_SPECIAL.has(c))) {
      throw new CommandSyntaxError(
        `"${c}" is shell syntax, but commands run without a shell (quote it, or put the logic in a script): ${command}`,
      );
    }
    current += c;
    i += 1;
  }
  if (inWord) args.push(current);
  if (args.length === 0) throw new CommandSyntaxError("the command is empty");
  return args;
}

/** The inverse of {@link splitCommand}: one string that splits back into `args` (for messages and tests). */
export function quoteCommand(args: readonly string[]): string {
  return args
    .map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

export interface CommandResult {
  ok: boolean;
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr, trimmed. */
  output: string;
  /** Why it could not start (e.g. `ENOENT`: not found), if it did not. */
  startError?: string;
}

export type CommandRunner = (args: readonly string[], timeoutMs: number) => Promise<CommandResult>;

/** Runs `args` without a shell. Never rejects: failures are described in the result. */
export const runCommand: CommandRunner = (args, timeoutMs) => {
  const [file, ...rest] = args;
  return new Promise((resolve) => {
    execFile(
      file!,
      rest,
      {
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 1024 * 1024,
        encoding: "utf8",
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const output = `${stdout ?? ""}${stderr ?? ""}`.trim();
        if (!error) {
          resolve({ ok: true, code: 0, signal: null, timedOut: false, output });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null };
        if (typeof failure.code === "string") {
          resolve({ ok: false, code: null, signal: null, timedOut: false, output, startError: failure.code });
          return;
        }
        const timedOut = failure.killed === true && failure.signal === "SIGKILL";
        resolve({
          ok: false,
          code: typeof failure.code === "number" ? failure.code : null,
          signal: failure.signal ?? null,
          timedOut,
          output,
        });
      },
    );
  });
};

/** One line saying how a command failed, e.g. "exited with code 1" or "timed out after 30 s". */
export function describeFailure(result: CommandResult, timeoutMs: number): string {
  if (result.startError === "ENOENT") return "could not start: command not found";
  if (result.startError) return `could not start (${result.startError})`;
  if (result.timedOut) return `timed out after ${formatSeconds(timeoutMs)} and was killed`;
  if (result.signal) return `was killed by ${result.signal}`;
  return `exited with code ${result.code}`;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The last lines of a command's output, indented, for an error message. */
export function outputTail(output: string, lines = 20): string {
  if (!output) return "";
  return output
    .split("\n")
    .slice(-lines)
    .map((line) => `    ${line}`)
    .join("\n");
}
