/**
 * End to end: `node bin/mtls-rotator.ts <command>` in a child process, credentials from the standard AWS
 * chain (environment variables, a shared credentials profile), real SigV4 against the HTTP API stand-in
 * on loopback. The child gets a clean environment: nothing from the developer's AWS setup leaks in.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CERT_ARN,
  type ContractApi,
  detailOf,
  gateFailedRotation,
  newBackend,
  OPERATOR,
  REGION,
  ROTATION_ID,
  startContractApi,
} from "./fixtures.ts";

const BIN = fileURLToPath(new URL("../../bin/mtls-rotator.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

let api: ContractApi;
let home: string;

beforeAll(async () => {
  // The child signs with the real clock, so the stand-in checks against it too.
  api = await startContractApi(newBackend(), { now: () => new Date() });
  home = await mkdtemp(join(tmpdir(), "mtls-rotator-cli-"));
});

afterAll(async () => {
  await api?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(api.backend, newBackend());
});

/** An environment with no AWS configuration at all: no files, no metadata service. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    AWS_CONFIG_FILE: join(home, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

const operatorEnv = () =>
  cleanEnv({
    MTLS_ROTATOR_API_URL: api.standin.url,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: OPERATOR.accessKeyId,
    AWS_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
    AWS_SESSION_TOKEN: OPERATOR.sessionToken!,
  });

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO, env, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("mtls-rotator in a child process", () => {
  it("status: temporary credentials from the environment, signed, answered", async () => {
    const from = api.standin.requests.length;
    const { code, stdout, stderr } = await cli(["status"], operatorEnv());
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("Certificates: 4 tracked, 2 managed");
    expect(stdout).toContain("Rotations running: none");
    const seen = api.standin.requests.slice(from);
    expect(seen.map((r) => [r.routeKey, r.principal, r.status]).sort()).toEqual([
      ["GET /certificates", OPERATOR.principalArn, 200],
      ["GET /rotations", OPERATOR.principalArn, 200],
    ]);
  });

  it("watch: follows a rotation to its rollback through a pipe, exit 6", async () => {
    const events = gateFailedRotation();
    api.backend.timelines.set(ROTATION_ID, [
      detailOf(events.slice(0, 12)),
      detailOf(events.slice(0, 16)),
      detailOf(events),
    ]);
    const { code, stdout, stderr } = await cli(["watch", ROTATION_ID, "--interval", "0.05"], operatorEnv());
    expect(stderr).toBe("");
    expect(code).toBe(6);
    expect(stdout).not.toContain("\x1b");
    expect(stdout).toContain(
      "wave 1 gate FAILED: 5xx over threshold: E2BBBBBBBBBBBB 7.50% > 2.10% (baseline 0.10%)",
    );
    expect(stdout).toContain(`Rotation ${ROTATION_ID} rolled back (GateFailed)`);
  });

  it("rotate --dry-run --json with --profile: credentials from a shared credentials file", async () => {
    const credentialsFile = join(home, "credentials");
    await writeFile(
      credentialsFile,
      `[ops]\naws_access_key_id = ${OPERATOR.accessKeyId}\naws_secret_access_key = ${OPERATOR.secretAccessKey}\n` +
        `aws_session_token = ${OPERATOR.sessionToken}\n`,
    );
    const env = cleanEnv({
      MTLS_ROTATOR_API_URL: api.standin.url,
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    });
    const { code, stdout, stderr } = await cli(
      ["rotate", CERT_ARN, "--dry-run", "--json", "--profile", "ops", "--region", REGION],
      env,
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const answer = JSON.parse(stdout);
    expect(answer.dryRun).toBe(true);
    expect(answer.plan.waves.map((w: { distributions: unknown[] }) => w.distributions.length)).toEqual([
      1, 3, 1,
    ]);
    expect(api.backend.started).toEqual([{ certificateArn: CERT_ARN, dryRun: true }]);
  });

  it("no credentials anywhere: exit 3, what to provide, no stack trace, nothing sent", async () => {
    const from = api.standin.requests.length;
    const { code, stdout, stderr } = await cli(
      ["certificates"],
      cleanEnv({ MTLS_ROTATOR_API_URL: api.standin.url, AWS_REGION: REGION }),
    );
    expect(code).toBe(3);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^mtls-rotator certificates: no usable AWS credentials \(.+\)\. Provide them the standard way: /,
    );
    expect(stderr).toContain("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(api.standin.requests.length).toBe(from);
  });

  it("signed for the wrong region: exit 3 with the region used and where it came from", async () => {
    const { code, stderr } = await cli(["status"], { ...operatorEnv(), AWS_REGION: "us-west-2" });
    expect(code).toBe(3);
    expect(stderr).toContain(
      "the request was signed for us-west-2 (from AWS_REGION), but the API is in another region.",
    );
  });

  it("--help lists the operator commands next to origin-sync, which still works", async () => {
    const help = await cli(["--help"], cleanEnv());
    expect(help.code).toBe(0);
    for (const name of ["status", "certificates", "rotate", "watch", "rollback", "approve", "origin-sync"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    }
    const originSync = await cli(["origin-sync", "--help"], cleanEnv());
    expect(originSync.code).toBe(0);
    expect(originSync.stdout).toMatch(/^Usage: mtls-rotator origin-sync --source <source> --out <file>/);
    const missing = await cli(["origin-sync"], cleanEnv());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("origin-sync: --source is required");
  });
});
