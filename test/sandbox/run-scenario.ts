/**
 * Runs a sandbox scenario (a shipped one, or a test's own document) in process and collects every private
 * key that existed during the run (the certificates in service, issued replacements, staged credential
 * versions) so that a test can assert none of them appears in the progress lines or the report.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { SCENARIO_DIR } from "../../sandbox/cli.ts";
import type { SandboxFleet } from "../../sandbox/fleet.ts";
import type { SandboxReport } from "../../sandbox/report.ts";
import { type RunSandboxOptions, runSandbox } from "../../sandbox/runner.ts";
import { loadScenario, parseScenario, type Scenario } from "../../sandbox/scenario.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";

export interface ScenarioRun {
  report: SandboxReport;
  lines: string[];
  exitCode: number;
  privateKeys: string[];
}

function keysIn(fleet: SandboxFleet, into: Set<string>): void {
  for (const arn of fleet.standins.acm.arns()) {
    const key = fleet.standins.acm.presentable(arn)?.privateKeyPem;
    if (key) into.add(key);
  }
  for (const name of fleet.standins.secrets.names()) {
    for (const value of fleet.standins.secrets.valuesOf(name)) {
      for (const match of value.matchAll(
        /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
      ))
        into.add(match[0]);
      try {
        const parsed = JSON.parse(value) as { privateKeyPem?: unknown };
        if (typeof parsed.privateKeyPem === "string") into.add(parsed.privateKeyPem);
      } catch {
        // not a JSON credential
      }
    }
  }
}

export async function runShippedScenario(
  name: string,
  options: {
    origins?: "nginx" | "node";
    /** A variant of the shipped scenario (the result is validated again). */
    edit?: (scenario: Scenario) => unknown;
    /** Also called with the running world ("ready", "teardown"), after the keys were collected. */
    inspect?: RunSandboxOptions["inspect"];
  } = {},
): Promise<ScenarioRun> {
  const shipped = await loadScenario(join(SCENARIO_DIR, `${name}.json`));
  const scenario = options.edit ? parseScenario(options.edit(structuredClone(shipped)), name) : shipped;
  return runScenario(scenario, options);
}

/**
 * Runs a scenario document (validated as a file would be); `inspect` also sees the world when it is ready
 * and before it is torn down.
 */
export async function runScenarioDocument(
  document: unknown,
  options: { origins?: "nginx" | "node"; inspect?: RunSandboxOptions["inspect"] } = {},
): Promise<ScenarioRun> {
  return runScenario(parseScenario(document, "test scenario"), options);
}

async function runScenario(
  scenario: Scenario,
  options: { origins?: "nginx" | "node"; inspect?: RunSandboxOptions["inspect"] },
): Promise<ScenarioRun> {
  const keys = new Set<string>();
  const output: string[] = [];
  const run = await runSandbox({
    scenario,
    origins: options.origins ?? "nginx",
    write: (line) => output.push(line),
    inspect: async (stage, fleet) => {
      keysIn(fleet, keys);
      await options.inspect?.(stage, fleet);
    },
  });
  // The summary line names every expectation that failed: show it when a test fails.
  if (!run.passed) console.log(run.lines.join("\n"));
  return { report: run.report, lines: run.lines, exitCode: run.exitCode, privateKeys: [...keys] };
}

/** No key material in the progress lines or the report (as JSON, as it is written). */
export function expectNoKeysLeaked(run: ScenarioRun): void {
  expect(run.privateKeys.length).toBeGreaterThan(0);
  expectNoKeyMaterial(run.lines.join("\n"), run.privateKeys);
  expectNoKeyMaterial(JSON.stringify(run.report, null, 2), run.privateKeys);
}

/** Every origin (by "distribution/origin") of the report with its final certificate ARN. */
export function finalArns(report: SandboxReport): Record<string, string | undefined> {
  return Object.fromEntries(
    report.distributions.flatMap((d) => d.origins.map((o) => [`${d.name}/${o.name}`, o.finalCertificateArn])),
  );
}

export function refusedByOrigin(report: SandboxReport): Record<string, number> {
  return Object.fromEntries(
    report.distributions.flatMap((d) => d.origins.map((o) => [`${d.name}/${o.name}`, o.refused])),
  );
}
