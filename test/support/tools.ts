/**
 * Gates for tests that need real external programs (nginx, openssl).
 *
 * Policy:
 * - The binary is present: the tests run.
 * - The binary is missing and `process.env.CI === "true"`: the test FILE FAILS at collection time with an
 *   error that says how to install the program. CI must never go green by silently skipping real-TLS tests.
 * - The binary is missing outside CI: the suite is skipped (`describe.runIf(false)`) and one console warning
 *   per tool explains why, so a developer without nginx can still run everything else.
 *
 * Usage:
 * ```ts
 * import { describeWithTools } from "./tools.ts";
 * describeWithTools("nginx", "openssl")("real mTLS origin", () => { ... });
 * ```
 * `requireTool("nginx")` is the boolean form (for `it.runIf(...)` or custom gating); `toolPath("nginx")`
 * gives the absolute path the helpers in this folder execute.
 *
 * Binaries are looked up in `NGINX_BIN` / `OPENSSL_BIN` (explicit override), then `PATH`, then the usual
 * sbin directories (Debian installs nginx to /usr/sbin, which is not on a non-root user's PATH). A candidate
 * counts only if it actually runs (`nginx -v`, `openssl version`).
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { describe } from "vitest";

export type Tool = "nginx" | "openssl";

/** What a suite gated by {@link describeWithTools} looks like (`describe` or a skipped `describe`). */
export type GatedDescribe = ReturnType<typeof describe.runIf>;

interface ToolSpec {
  /** Environment variable that may name the binary explicitly. */
  envVar: string;
  /** Arguments of a cheap "are you alive" invocation. */
  probeArgs: string[];
  /** How to install it on the CI image (Debian/Ubuntu). */
  install: string;
}

const SPECS: Record<Tool, ToolSpec> = {
  nginx: { envVar: "NGINX_BIN", probeArgs: ["-v"], install: "apt-get install nginx-light" },
  openssl: { envVar: "OPENSSL_BIN", probeArgs: ["version"], install: "apt-get install openssl" },
};

/** Directories searched after PATH: Debian's nginx lives in /usr/sbin, Homebrew's in /opt/homebrew/bin. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/bin", "/opt/homebrew/bin"];

/** Resolved paths (or `null` when missing), so each tool is probed at most once per test process. */
const resolved = new Map<Tool, string | null>();
/** Tools for which the "skipping" warning was already printed. */
const warned = new Set<Tool>();

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
  const spec = SPECS[name];
  const override = process.env[spec.envVar];
  const candidates = override
    ? [override]
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS].map((dir) =>
        join(dir, name),
      );
  const found = candidates.find((candidate) => runsFine(candidate, spec.probeArgs)) ?? null;
  resolved.set(name, found);
  return found ?? undefined;
}

/** `toolPath` that throws a clear error instead of returning `undefined` (for helpers that need the tool). */
export function toolPathOrThrow(name: Tool): string {
  const path = toolPath(name);
  if (!path) throw new Error(`${name} is not installed: install it with ${SPECS[name].install}`);
  return path;
}

/**
 * Gate for one tool. Returns `true` when it is installed. When it is missing: throws in CI
 * (`CI === "true"`), otherwise prints one warning and returns `false`.
 */
export function requireTool(name: Tool): boolean {
  if (toolPath(name)) return true;
  const spec = SPECS[name];
  if (process.env.CI === "true") {
    throw new Error(
      `${name} is required in CI: install it with ${spec.install}` +
        ` (or point ${spec.envVar} at the binary). Real-TLS tests must not be skipped in CI.`,
    );
  }
  if (!warned.has(name)) {
    warned.add(name);
    const override = process.env[spec.envVar];
    const where = override
      ? `${spec.envVar}=${override} does not run`
      : `not found in PATH or ${EXTRA_DIRS.join(", ")}`;
    console.warn(
      `[test/support] ${name}: ${where}; skipping the tests that need it. Install it with ${spec.install}.`,
    );
  }
  return false;
}

/** `requireTool` for several tools; every missing tool is reported (not only the first). */
export function requireTools(...names: Tool[]): boolean {
  const missing = names.filter((name) => !toolPath(name));
  if (missing.length > 1 && process.env.CI === "true") {
    throw new Error(
      missing.map((name) => `${name} is required in CI: install it with ${SPECS[name].install}`).join("; "),
    );
  }
  // Throws in CI for the single missing tool, warns (once per tool) outside CI.
  for (const name of missing) requireTool(name);
  return missing.length === 0;
}

/**
 * `describe` when all `names` are installed, a skipped `describe` otherwise (outside CI), and a thrown
 * error in CI. Call it at module level: `describeWithTools("nginx", "openssl")("suite", () => {...})`.
 */
export function describeWithTools(...names: Tool[]): GatedDescribe {
  return describe.runIf(requireTools(...names));
}

/** Shorthand for suites that run nginx origins (which also need openssl to build their PKI). */
export const describeWithNginx = (): GatedDescribe => describeWithTools("nginx", "openssl");
