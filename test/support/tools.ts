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
import { describe } from "vitest";
import {
  TOOL_SPECS as SPECS,
  type Tool,
  toolPath,
  toolPathOrThrow,
  toolSearchDescription,
} from "../../standins/tools.ts";

// The lookup itself lives in standins/tools.ts (the sandbox uses it too); the CI gating stays here.
export { type Tool, toolPath, toolPathOrThrow };

/** What a suite gated by {@link describeWithTools} looks like (`describe` or a skipped `describe`). */
export type GatedDescribe = ReturnType<typeof describe.runIf>;

/** Tools for which the "skipping" warning was already printed. */
const warned = new Set<Tool>();

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
    const where = toolSearchDescription(name);
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
