/**
 * Origins that change during a run (`{ "action": "origin", ... }`): the moments a change can wait for
 * (sandbox/moments.ts, shared with the rollback action), and two whole runs against real nginx origins —
 * an origin of wave 1 that goes down while wave 1 bakes (its gate fails, everything rolls back), and an origin
 * of wave 0 that gets slow while wave 1 bakes (wave 1's gate judges wave 1's distributions only: the
 * rotation completes while the edge's requests to that origin time out).
 */
import { describe, expect, it } from "vitest";
import type { RotationState } from "../../functions/core/rotation.ts";
import { findMoment } from "../../sandbox/moments.ts";
import { runSandbox } from "../../sandbox/runner.ts";
import { parseScenario } from "../../sandbox/scenario.ts";
import { describeWithNginx } from "../support/tools.ts";
import { refusedByOrigin } from "./run-scenario.ts";

type Wave = RotationState["waves"][number];
const wave = (index: number, status: Wave["status"], extra: Partial<Wave> = {}): Wave =>
  ({
    index,
    canary: index === 0,
    status,
    distributions: [{ distributionId: `E${index}`, originIds: ["o"], outcome: "swapped" }],
    ...extra,
  }) as Wave;

describe("rotation moments (findMoment)", () => {
  const closed = (...keys: string[]) => ({ closed: new Set(keys) });

  it("finds a wave's bake window only while it is open, and calls it past once closed or judged", () => {
    const state = { waves: [wave(0, "passed"), wave(1, "baking")] };
    expect(
      findMoment(state, { open: "bake:1", closed: new Set(["bake:0"]) }, "baking", 1, 2).there?.index,
    ).toBe(1);
    expect(findMoment(state, { open: "bake:1", closed: new Set() }, "baking", 0, 2)).toEqual({});
    expect(findMoment(state, closed("bake:0", "bake:1"), "baking", 1, 2)).toEqual({ past: state.waves[1] });
  });

  it("finds the deploy wait once every distribution of the wave is swapped, and the gate's wait after the bake", () => {
    const swapping = wave(1, "swapping");
    const half = wave(1, "swapping", {
      distributions: [
        { distributionId: "E1", originIds: ["o"], outcome: "swapped" },
        { distributionId: "E2", originIds: ["o"], outcome: "pending" },
      ] as Wave["distributions"],
    });
    expect(findMoment({ waves: [half] }, undefined, "deploying", 1, 2)).toEqual({});
    expect(findMoment({ waves: [swapping] }, undefined, "deploying", 1, 2).there).toBe(swapping);
    const baking = wave(1, "baking");
    expect(findMoment({ waves: [baking] }, undefined, "deploying", 1, 2)).toEqual({ past: baking });
    // The gate's wait: deployed, the bake window closed (or none), no control point open.
    expect(findMoment({ waves: [baking] }, { open: "bake:1", closed: new Set() }, "gate", 1, 2)).toEqual({});
    expect(findMoment({ waves: [baking] }, closed("bake:1"), "gate", 1, 2).there).toBe(baking);
    expect(findMoment({ waves: [baking] }, undefined, "gate", undefined, 0).there).toBe(baking);
  });

  it("finds an approval while it is open", () => {
    const state = { waves: [wave(0, "passed")] };
    expect(findMoment(state, { open: "approval:0", closed: new Set() }, "approval", 0, 2).there?.index).toBe(
      0,
    );
    expect(findMoment(state, closed("approval:0"), "approval", undefined, 2).past?.index).toBe(0);
  });
});

/** Two distributions in two waves (shop the canary), one certificate, 2 s bake windows. */
function scenario(name: string, actions: unknown[], expect: Record<string, unknown>) {
  return parseScenario({
    name,
    origins: "nginx",
    timeoutSeconds: 60,
    authority: { name: "CA 1" },
    certificates: [{ name: "edge", expiresInDays: 10, validityDays: 90 }],
    distributions: [
      { name: "shop", origins: [{ name: "api", certificate: "edge" }] },
      { name: "blog", origins: [{ name: "web", certificate: "edge" }] },
    ],
    policy: { waves: { canarySize: 1, canaryPreference: ["shop"] }, bakeSeconds: 2 },
    actions: [{ action: "rotate", certificate: "edge" }, ...actions],
    expect,
  });
}

async function run(s: ReturnType<typeof parseScenario>) {
  const result = await runSandbox({ scenario: s, write: () => undefined });
  if (!result.passed) console.log(result.lines.join("\n"));
  return result;
}

describeWithNginx()("origins that change during a run (nginx origins)", () => {
  it("an origin that goes down while its wave bakes fails that wave's gate: everything rolls back; it comes back up after", async () => {
    const { report, lines, exitCode } = await run(
      scenario(
        "origin-down-during-bake",
        [
          { action: "origin", origin: "blog/web", down: true, when: "baking", afterWave: 1 },
          { action: "wait", for: "rotations" },
          { action: "origin", origin: "blog/web", down: false },
          { action: "wait", seconds: 1.5 },
        ],
        {
          rotations: [{ certificate: "edge", status: "rolled-back", reason: "GateFailed" }],
          presenting: { edge: "old" },
          refusalsOnlyAt: ["blog/web"],
        },
      ),
    );
    expect(exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation!.waves.map((w) => [w.index, w.gatePassed])).toEqual([
      [0, true],
      [1, false],
    ]);
    // Its gate failed on what the edge saw (the 5xx rate) and on its probe (reset).
    const blog = report.distributions.find((d) => d.name === "blog")!.id;
    expect(rotation!.detail).toMatch(
      new RegExp(`^wave 1: ${blog}: 5xx \\d+\\.\\d+% > 2\\.00%; ${blog}/web: probe failed \\(.*ECONNRESET`),
    );
    const web = report.distributions.find((d) => d.name === "blog")!.origins[0]!;
    expect(web.changes).toEqual([
      {
        atMs: expect.any(Number),
        down: true,
        slowMs: 0,
        at: `wave 1 baking (bake window open) of rotation edge`,
      },
      { atMs: expect.any(Number), down: false, slowMs: 0 },
    ]);
    const [down, up] = web.changes!;
    // Refused only from the second it went down until the second it came back.
    const refusedSeconds = web.perSecond.filter((s) => s.refused > 0).map((s) => s.second);
    expect(refusedSeconds.length).toBeGreaterThan(1);
    expect(Math.min(...refusedSeconds)).toBeGreaterThanOrEqual(Math.floor(down!.atMs / 1000));
    expect(Math.max(...refusedSeconds)).toBeLessThanOrEqual(Math.floor(up!.atMs / 1000));
    expect(web.perSecond.at(-1)!.refused).toBe(0);
    expect(refusedByOrigin(report)["shop/api"]).toBe(0);
    expect(lines.join("\n")).toMatch(
      /origin blog\/web: serving -> down \(connections reset\) at wave 1 baking \(bake window open\) of rotation edge/,
    );
    expect(lines.join("\n")).toMatch(/origin blog\/web: down \(connections reset\) -> serving/);
  }, 90_000);

  it("an origin of an earlier wave that gets slow while wave 1 bakes: wave 1's gate judges wave 1 only, the rotation completes", async () => {
    const { report, exitCode } = await run(
      scenario(
        "origin-slow-after-its-wave",
        [
          { action: "origin", origin: "shop/api", slowMs: 4000, when: "baking", afterWave: 1 },
          { action: "wait", for: "rotations" },
        ],
        {
          rotations: [{ certificate: "edge", status: "completed" }],
          presenting: { edge: "new" },
          refusalsOnlyAt: ["shop/api"],
        },
      ),
    );
    expect(exitCode).toBe(0);
    const api = report.distributions.find((d) => d.name === "shop")!.origins[0]!;
    expect(api.changes).toEqual([
      {
        atMs: expect.any(Number),
        down: false,
        slowMs: 4000,
        at: "wave 1 baking (bake window open) of rotation edge",
      },
    ]);
    // Slower than the edge waits (3 s): every request after the change timed out.
    expect(api.timedOut).toBeGreaterThan(0);
    expect(api.refused).toBe(api.timedOut);
    const after = api.perSecond.filter((s) => s.second > Math.ceil(api.changes![0]!.atMs / 1000));
    expect(after.length).toBeGreaterThan(0);
    for (const second of after) expect(second.refused).toBe(second.requests);
    expect(report.rotations[0]!.waves.map((w) => w.gatePassed)).toEqual([true, true]);
  }, 90_000);
});
