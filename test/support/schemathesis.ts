/**
 * schemathesis (PyPI) as an independent API fuzzer: it generates requests from docs/openapi.json and checks
 * every answer against the document (test/api/fuzz.test.ts). Nobody here wrote it, so it does not share our
 * beliefs about what the API takes and answers.
 *
 * It comes from the project-local virtual environment `.venv` (scripts/setup.sh installs it, hash-pinned,
 * from scripts/python/requirements.txt), as moto does (./moto.ts): a missing schemathesis FAILS the test file
 * with a message saying how to install it, in CI and everywhere else; the fuzz test never skips silently.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The schemathesis command: `SCHEMATHESIS_BIN` when set (another virtual environment), else `.venv`'s. */
export function schemathesisBin(): string {
  return process.env.SCHEMATHESIS_BIN || join(ROOT, ".venv", "bin", "schemathesis");
}

const INSTALL_HINT =
  "run `bash scripts/setup.sh` (it installs schemathesis, hash-pinned, into the project's .venv from scripts/python/requirements.txt)";

/** Throws (failing the test file, in CI and everywhere else) unless schemathesis runs; returns its version. */
export function requireSchemathesis(bin = schemathesisBin()): string {
  if (!existsSync(bin)) {
    throw new Error(
      `schemathesis is required for the API fuzz test, but ${bin} does not exist: ${INSTALL_HINT}`,
    );
  }
  let out: string;
  try {
    out = execFileSync(bin, ["--version"], {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`schemathesis at ${bin} does not run (${stderr}): ${INSTALL_HINT}`, { cause: error });
  }
  const version = /version (\S+)/.exec(out)?.[1];
  if (!version) throw new Error(`schemathesis at ${bin} printed no version (${out.trim()}): ${INSTALL_HINT}`);
  return version;
}
