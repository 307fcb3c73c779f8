/**
 * External programs the real-TLS harness runs (nginx, openssl): where they are, and whether they work.
 * Shared by the tests (test/support/tools.ts adds the CI gating on top) and the sandbox (which falls back to
 * Node TLS origins when nginx is missing).
 *
 * Binaries are looked up in `NGINX_BIN` / `OPENSSL_BIN` (explicit override), then `PATH`, then the usual
 * sbin directories (Debian installs nginx to /usr/sbin, which is not on a non-root user's PATH). A candidate
 * counts only if it actually runs (`nginx -v`, `openssl version`).
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export type Tool = "nginx" | "openssl";

export interface ToolSpec {
  /** Environment variable that may name the binary explicitly. */
  envVar: string;
  /** Arguments of a cheap "are you alive" invocation. */
  probeArgs: string[];
  /** How to install it on the CI image (Debian/Ubuntu). */
  install: string;
}

export const TOOL_SPECS: Record<Tool, ToolSpec> = {
  nginx: { envVar: "NGINX_BIN", probeArgs: ["-v"], install: "apt-get install nginx-light" },
  openssl: { envVar: "OPENSSL_BIN", probeArgs: ["version"], install: "apt-get install openssl" },
};

/** Directories searched after PATH: Debian's nginx lives in /usr/sbin, Homebrew's in /opt/homebrew/bin. */
export const EXTRA_TOOL_DIRS = [
  "/usr/sbin",
  "/usr/local/sbin",
  "/sbin",
  "/usr/local/bin",
  "/opt/homebrew/bin",
];

/** Resolved paths (or `null` when missing), so each tool is probed at most once per process. */
const resolved = new Map<Tool, string | null>();

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when `path` is executable and answers its probe invocation with exit code 0. */
function runsFine(path: string, probeArgs: string[]): boolean {
  if (!isExecutable(path)) return false;
  try {
    execFileSync(path, probeArgs, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of a working `name` binary, or `undefined` when none is installed.
 * The result is cached for the life of the process.
 */
export function toolPath(name: Tool): string | undefined {
  const cached = resolved.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const spec = TOOL_SPECS[name];
  const override = process.env[spec.envVar];
  const candidates = override
    ? [override]
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_TOOL_DIRS].map((dir) =>
        join(dir, name),
      );
  const found = candidates.find((candidate) => runsFine(candidate, spec.probeArgs)) ?? null;
  resolved.set(name, found);
  return found ?? undefined;
}

/** `toolPath` that throws a clear error instead of returning `undefined` (for helpers that need the tool). */
export function toolPathOrThrow(name: Tool): string {
  const path = toolPath(name);
  if (!path) throw new Error(`${name} is not installed: install it with ${TOOL_SPECS[name].install}`);
  return path;
}

/** Where the tool was looked for, for messages ("not found in ..."). */
export function toolSearchDescription(name: Tool): string {
  const override = process.env[TOOL_SPECS[name].envVar];
  return override
    ? `${TOOL_SPECS[name].envVar}=${override} does not run`
    : `not found in PATH or ${EXTRA_TOOL_DIRS.join(", ")}`;
}
