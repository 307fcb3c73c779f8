/**
 * The shipped viewer scenarios, run as `npm run sandbox -- <name>` runs them (the CLI in process): a whole
 * viewer CA migration against real TLS origins with viewers on the air, and a control run that moves viewers
 * to CA B before any trust point trusts it (refused: the edge and the origins do say no).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSandboxCli, SCENARIO_DIR } from "../../sandbox/cli.ts";
import type { ViewerSandboxReport } from "../../sandbox/viewer-runner.ts";
import { parseViewerScenario } from "../../sandbox/viewer-scenario.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "viewer-scenarios-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(scenario: string, reportName = scenario) {
  const lines: string[] = [];
  const report = join(dir, `${reportName}.json`);
  const exitCode = await runSandboxCli([scenario, "--report", report, "--quiet"], {
    stdout: (line) => lines.push(line),
    stderr: (line) => lines.push(line),
  });
  const written = JSON.parse(await readFile(report, "utf8")) as ViewerSandboxReport;
  return { exitCode, lines, report: written };
}

describe("shipped viewer scenarios", () => {
  it("viewer-ca-migration: viewers move from CA A to CA B with zero refused requests", async () => {
    const { exitCode, report, lines } = await run("viewer-ca-migration");
    expect(exitCode, lines.join("\n")).toBe(0);
    expect(report.migration.status).toBe("announced");
    expect(report.viewers.endOn).toBe("nextAuthority");
    expect(report.viewers.edge.refused).toBe(0);
    // Traffic ran on every distribution, before and after the move.
    expect(report.viewers.edge.distributions).toHaveLength(3);
    for (const d of report.viewers.edge.distributions) expect(d.sent).toBeGreaterThan(10);
    expect(report.migration.history.map((e) => e.type)).toEqual([
      "viewer-planned",
      "viewer-trust-published",
      "viewer-trust-published",
      "viewer-trust-published",
      "viewer-proved",
      "viewer-announced",
      "viewer-ended",
    ]);
    // The viewers moved only after the announcement.
    const announced = report.migration.history.find((e) => e.type === "viewer-announced")!;
    expect(Date.parse(report.viewers.movedAt!)).toBeGreaterThanOrEqual(Date.parse(announced.at));
    expect(report.expectations.every((e) => e.passed)).toBe(true);
    expect(JSON.stringify(report) + lines.join("\n")).not.toMatch(/PRIVATE KEY/);
  });

  it("viewer-trust-store-failed: nothing announced, every trust point back on CA A, no viewer refused", async () => {
    const { exitCode, report, lines } = await run("viewer-trust-store-failed");
    expect(exitCode, lines.join("\n")).toBe(0);
    expect(report.migration).toMatchObject({ status: "failed", reason: "TrustStoreFailed" });
    expect(report.migration.detail).toMatch(/maximum chain depth is 4/);
    expect(report.viewerCaReadyEvents).toBe(0);
    expect(report.viewers.edge.refused).toBe(0);
    expect(report.viewers.edge.sent).toBeGreaterThan(50);
  });
});

describe("the control run", () => {
  it("viewers moved to CA B before the migration are refused: the scenario fails (exit 1)", async () => {
    const shipped = JSON.parse(await readFile(join(SCENARIO_DIR, "viewer-ca-migration.json"), "utf8"));
    const early = { ...shipped, name: "viewer-moved-early", moveViewersAt: "start" };
    const path = join(dir, "viewer-moved-early.json");
    await writeFile(path, JSON.stringify(early));
    const { exitCode, report } = await run(path, "viewer-moved-early");
    expect(exitCode).toBe(1);
    expect(report.viewers.edge.refused).toBeGreaterThan(0);
    const reasons = report.viewers.edge.distributions.flatMap((d) => Object.keys(d.reasons));
    // Refused at the edge (trust store) and by the passthrough origin (its viewer bundle lacks CA B).
    expect(reasons.some((r) => /trust store does not trust/.test(r))).toBe(true);
    expect(reasons.some((r) => !/trust store/.test(r))).toBe(true);
    expect(report.expectations.find((e) => e.expectation === "maxRefusals")?.passed).toBe(false);
  });
});

describe("viewer scenario files", () => {
  it("are checked before anything starts, each problem named by its path", async () => {
    const parsed = parseViewerScenario({
      kind: "viewer",
      name: "bad",
      trustStores: ["edge"],
      distributions: [
        { name: "a", mode: "passthrough", trustStore: "edge" },
        { name: "b", mode: "required", trustStore: "nowhere" },
        { name: "b", mode: "optional" },
      ],
      expect: { migration: "announced", viewersEndOn: "nextAuthority" },
    });
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^distributions\.0\.trustStore: a passthrough distribution takes no trust store/,
        ),
        expect.stringMatching(
          /^distributions\.1\.trustStore: mode required needs one of the scenario's trustStores/,
        ),
        expect.stringMatching(/^distributions\.2\.name: b is named twice/),
      ]),
    );
    const path = join(dir, "bad.json");
    await writeFile(path, JSON.stringify({ kind: "viewer", name: "bad", distributions: [] }));
    const lines: string[] = [];
    expect(await runSandboxCli([path], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) })).toBe(
      2,
    );
    expect(lines.join("\n")).toMatch(/distributions/);
  });
});
