/**
 * `watch` against the HTTP API stand-in: each GET /rotations/{id} answers the next state of a rotation,
 * folded by the core from the events a real workflow records. Watch shows the progress a person wants
 * (status, waves with each distribution's outcome, gates, what it waits for and how to act, latest events),
 * redraws in place on a terminal, prints only changes otherwise, and exits with how the rotation ended.
 */
import { describe, expect, it } from "vitest";
import type { RotationAnswer } from "../../functions/cli/api-types.ts";
import { MAX_FAILED_POLLS, NOT_FOUND_GRACE_MS } from "../../functions/cli/commands/watch.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../../functions/cli/main.ts";
import { gateLine } from "../../functions/cli/render.ts";
import { evaluateGate } from "../../functions/core/gate.ts";
import type { RotationEvent } from "../../functions/core/rotation.ts";
import {
  abortedRotation,
  capture,
  completedRotation,
  detailOf,
  environmentFor,
  gateFailedRotation,
  NOW,
  ROTATION_ID,
  rollbackIncompleteRotation,
  useContractApi,
  withApproval,
} from "./fixtures.ts";

const contract = useContractApi();

const watch = OPERATOR_COMMANDS.find((c) => c.name === "watch")!;

/** Serves `events` cut at each of `cuts` (one GET each), then runs watch. */
async function watchTimeline(
  timeline: Array<RotationAnswer | "error" | "not-yet">,
  options: { args?: string[]; environment?: Partial<OperatorEnvironment> } = {},
) {
  contract.api.backend.timelines.set(ROTATION_ID, [...timeline]);
  const out = capture();
  const sleeps: number[] = [];
  const from = contract.api.standin.requests.length;
  const code = await runOperatorCommand(
    watch,
    [ROTATION_ID, ...(options.args ?? [])],
    out.io,
    environmentFor(contract.api.standin, {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options.environment,
    }),
  );
  return {
    code,
    stdout: out.stdout(),
    stderr: out.stderr(),
    sleeps,
    requests: contract.api.standin.requests.slice(from),
  };
}

const cutsOf = (events: RotationEvent[], cuts: number[]) => cuts.map((n) => detailOf(events.slice(0, n)));

/** Positions of `needles` in `text`, asserting each is there and they come in this order. */
function expectInOrder(text: string, needles: string[]) {
  let at = -1;
  for (const needle of needles) {
    const next = text.indexOf(needle, at + 1);
    expect(next, `"${needle}" after position ${at}`).toBeGreaterThan(at);
    at = next;
  }
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("not on a terminal: prints what changed, as a log", () => {
  it("follows a rotation to completion: every event once, each wave as it changes, exit 0", async () => {
    const events = completedRotation();
    const cuts = [2, 6, 8, 9, 12, 14, 15, events.length];
    const { code, stdout, stderr, sleeps, requests } = await watchTimeline(cutsOf(events, cuts), {
      args: ["--interval", "2"],
    });

    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      cuts.map(() => `GET /rotations/${ROTATION_ID} 200`),
    );
    expect(sleeps).toEqual(cuts.slice(1).map(() => 2000));
    expect(stdout).not.toContain("\x1b");

    expectInOrder(stdout, [
      `Watching rotation ${ROTATION_ID}. Ctrl-C stops watching; the rotation keeps running.`,
      "10:00:00  started by arn:aws:sts::111122223333:assumed-role/rotator-operators/alice",
      "10:00:02  planned 3 waves over 5 distributions; new key EC_prime256v1 (follows CA key EC_prime256v1; unchanged)",
      `Rotation ${ROTATION_ID}: planned (0/3 waves passed)`,
      "  wave 0 (canary): pending - E1CANARYAAAAAA pending",
      "10:00:12  preflight attempt 1: 1/2 origins accept the new certificate",
      "10:01:00  wave 0: E1CANARYAAAAAA swapped (origins api)",
      "10:05:00  wave 0 deployed",
      "  wave 0 (canary): baking - E1CANARYAAAAAA swapped",
      "Waiting: wave 0 is baking (manual rollback window); its health gate runs when it ends.",
      `  To roll back now: mtls-rotator rollback ${ROTATION_ID} --reason "<why>"`,
      "10:15:00  wave 0 gate passed: 5xx within threshold on 1/1 (highest 0.20% vs 2.10%); probes 1/1 accepted",
      "Wave 0 passed its gate. With --approval between-waves the rotation waits for you now:",
      `  To continue:     mtls-rotator approve ${ROTATION_ID}`,
      "  wave 1: baking - E2BBBBBBBBBBBB swapped, E3CCCCCCCCCCCC swapped",
      "  wave 2: swapping - E4DDDDDDDDDDDD swapped, E5EEEEEEEEEEEE pending",
      "  wave 2: swapping - E4DDDDDDDDDDDD swapped, E5EEEEEEEEEEEE swapped",
      "10:48:22  completed",
      `Rotation ${ROTATION_ID}: completed (3/3 waves passed)`,
      "  wave 2: passed - E4DDDDDDDDDDDD swapped, E5EEEEEEEEEEEE swapped",
      `Rotation ${ROTATION_ID} completed: every distribution presents certificate/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.`,
    ]);
    // Only changes: each event, each status and each wave state is printed once.
    for (const line of [
      "10:05:00  wave 0 deployed",
      "10:48:22  completed",
      "  wave 0 (canary): passed - E1CANARYAAAAAA swapped",
    ]) {
      expect(count(stdout, line)).toBe(1);
    }
    expect(count(stdout, `Rotation ${ROTATION_ID}: swapping (1/3 waves passed)`)).toBe(1);
    expect(stdout.split("\n").filter((l) => /^\d{2}:\d{2}:\d{2} {2}/.test(l))).toHaveLength(events.length);
  });

  it("a failed gate rolls back: the gate's rates and refused probes, every distribution put back, exit 6", async () => {
    const events = gateFailedRotation();
    const { code, stdout } = await watchTimeline(cutsOf(events, [13, 16, events.length]));
    expect(code).toBe(6);
    expectInOrder(stdout, [
      "10:30:40  wave 1 gate FAILED: 5xx over threshold: E2BBBBBBBBBBBB 7.50% > 2.10% (baseline 0.10%); " +
        "5xx within threshold on 1/2 (highest 0.30% vs 2.10%); probes 2/3 accepted (refused: E2BBBBBBBBBBBB/static HTTP 400)",
      "10:30:41  rollback requested by mtls-rotator (GateFailed)",
      `Rotation ${ROTATION_ID}: rolling-back (1/3 waves passed)`,
      "Rolling back: 2/3 distributions put back on the old certificate.",
      "10:31:40  rolled back: every distribution presents the old certificate",
      "  wave 1: failed - E2BBBBBBBBBBBB rolled-back, E3CCCCCCCCCCCC rolled-back",
      `Rotation ${ROTATION_ID} rolled back (GateFailed): wave 1: E2BBBBBBBBBBBB 5xx 7.50% > 2.10%`,
    ]);
  });

  it("a rollback that could not put a distribution back: names it, exit 7", async () => {
    const { code, stdout } = await watchTimeline([detailOf(rollbackIncompleteRotation())]);
    expect(code).toBe(7);
    expect(stdout).toContain(
      "  wave 1: failed - E2BBBBBBBBBBBB rollback-failed (PreconditionFailed after 5 attempts), E3CCCCCCCCCCCC rolled-back",
    );
    expect(stdout).toContain("could not put back E2BBBBBBBBBBBB: PreconditionFailed after 5 attempts");
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(
      `Rotation ${ROTATION_ID} FAILED (RollbackIncomplete): could not put back E2BBBBBBBBBBBB (it still presents ` +
        "arn:aws:acm:us-east-1:111122223333:certificate/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d). " +
        "Still presenting the new certificate: E2BBBBBBBBBBBB: look at them now.",
    );
  });

  it("a preflight that never passes: shows which origin refuses, then aborted, exit 6", async () => {
    const events = abortedRotation();
    const { code, stdout } = await watchTimeline(cutsOf(events, [5, events.length]));
    expect(code).toBe(6);
    expectInOrder(stdout, [
      "Preflight attempt 1: 1/2 origins accept the new certificate; waiting for E2BBBBBBBBBBBB/static HTTP 400.",
      "10:15:00  preflight attempt 30: 1/2 origins accept the new certificate (deadline passed)",
      `Rotation ${ROTATION_ID} aborted (PreflightRefused): E2BBBBBBBBBBBB/static refused the new certificate until the deadline. Nothing was swapped.`,
    ]);
  });

  it("an approval the API reports: says how to approve or roll back", async () => {
    const events = completedRotation();
    const { code, stdout } = await watchTimeline([
      detailOf(events.slice(0, 9), { kind: "approval", wave: 0 }),
      detailOf(events),
    ]);
    expect(code).toBe(0);
    expectInOrder(stdout, [
      "Waiting for approval: wave 0 passed its gate; the next wave starts when approved.",
      `  To continue:     mtls-rotator approve ${ROTATION_ID}`,
      `  To roll back:    mtls-rotator rollback ${ROTATION_ID} --reason "<why>"`,
    ]);
  });

  it("started with --approval between-waves: after a passed gate it says the rotation waits for approval", async () => {
    const events = withApproval(completedRotation(), "between-waves");
    const { stdout } = await watchTimeline([detailOf(events.slice(0, 9)), detailOf(events)]);
    expectInOrder(stdout, [
      "Waiting for approval: wave 0 passed its gate; the next wave starts when approved.",
      `  To continue:     mtls-rotator approve ${ROTATION_ID}`,
    ]);
  });

  it("started with --approval none: no approval hint, the next wave just comes", async () => {
    const events = withApproval(completedRotation(), "none");
    const { stdout } = await watchTimeline([detailOf(events.slice(0, 9)), detailOf(events)]);
    expect(stdout).not.toContain("approve");
    expect(stdout).toContain("Working: swapping distributions and waiting for CloudFront to deploy.");
  });

  it("a dry run ends at once with exit 0", async () => {
    const events = completedRotation().slice(0, 2);
    const { code, stdout } = await watchTimeline([
      detailOf([...events, { type: "dry-run", at: events[1]!.at }]),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Rotation ${ROTATION_ID} was a dry run: nothing changed.`);
  });
});

describe("on a terminal: redraws in place", () => {
  it("rewinds exactly the lines it drew, fits the width, and ends on the full picture", async () => {
    const events = completedRotation();
    const { code, stdout } = await watchTimeline(cutsOf(events, [8, 12, events.length]), {
      environment: { isTTY: true, columns: 100 },
    });
    expect(code).toBe(0);
    const ESC = String.fromCharCode(27);
    const frames = stdout.split(new RegExp(`${ESC}\\[(\\d+)A\r${ESC}\\[J`));
    // [frame0, n1, frame1, n2, frame2]: each rewind is the height of the frame before it.
    expect(frames).toHaveLength(5);
    const height = (frame: string) => frame.split("\n").length - 1;
    expect(Number(frames[1])).toBe(height(frames[0]!));
    expect(Number(frames[3])).toBe(height(frames[2]!));
    // Every redrawn line fits; only the closing line, printed once after the last frame, may wrap.
    for (const frame of [frames[0]!, frames[2]!, frames[4]!.trimEnd().split("\n").slice(0, -1).join("\n")]) {
      for (const line of frame.split("\n")) expect(line.length).toBeLessThanOrEqual(99);
    }
    expect(frames[0]).toContain("Waiting: wave 0 is baking (manual rollback window)");
    expect(frames[0]).toContain("Updated 11:00:00, refreshing every 5s. Ctrl-C stops watching");
    expect(frames[2]).toMatch(/wave 1 {10} baking {3}E2BBBBBBBBBBBB swapped, E3CCCCCCCCCCCC swapped/);

    const last = frames[4]!;
    expect(last).toMatch(new RegExp(`^Rotation ${ROTATION_ID}: completed \\(3/3 waves passed\\)\\n`));
    expect(last).toContain("  started      2026-03-02 10:00:00Z (1h ago), last change 11m 38s ago");
    expect(last).toContain(
      [
        "  wave 0 (canary)  passed  E1CANARYAAAAAA swapped",
        "                           gate passed: 5xx within threshold on 1/1 (highest 0.20% vs 2.10%)",
        "                                        probes 1/1 accepted",
      ].join("\n"),
    );
    expect(last).toMatch(/ {2}wave 2 {11}passed {2}E4DDDDDDDDDDDD swapped, E5EEEEEEEEEEEE swapped/);
    expect(last).toContain("Recent events:\n  10:33:21  wave 2: E5EEEEEEEEEEEE swapped (origins api)");
    expect(last).toContain("  10:48:22  completed");
    expect(last.trimEnd().split("\n").at(-1)).toBe(
      `Rotation ${ROTATION_ID} completed: every distribution presents certificate/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.`,
    );
  });
});

describe("when the API cannot be asked", () => {
  it("a refresh that fails is retried (stderr says so); the watch carries on", async () => {
    const events = completedRotation();
    const { code, stderr, requests } = await watchTimeline([
      detailOf(events.slice(0, 8)),
      "error",
      detailOf(events),
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^API error \(1\/5\), retrying in 5s: the API failed: 500 Internal Server Error \(request id \S+\)\./,
    );
    expect(requests.map((r) => r.status)).toEqual([200, 500, 200]);
  });

  it(`gives up after ${MAX_FAILED_POLLS} failed refreshes in a row: exit 1`, async () => {
    const { code, stderr, requests } = await watchTimeline([
      detailOf(completedRotation().slice(0, 8)),
      "error",
    ]);
    expect(code).toBe(1);
    expect(requests.map((r) => r.status)).toEqual([200, 500, 500, 500, 500, 500]);
    expect(stderr.trimEnd().split("\n").at(-1)).toMatch(
      /^mtls-rotator watch: the API failed: 500 Internal Server Error/,
    );
  });

  it("a rotation just started and not recorded yet is waited for, then followed", async () => {
    const { code, stdout, stderr, requests } = await watchTimeline([
      "not-yet",
      "not-yet",
      detailOf(completedRotation()),
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe(`Rotation ${ROTATION_ID} is not recorded yet; waiting for it to start…\n`);
    expect(requests.map((r) => r.status)).toEqual([404, 404, 200]);
    expect(stdout).toContain("completed");
  });

  it(`an unknown rotation ends the watch after ${NOT_FOUND_GRACE_MS / 1000}s: exit 2`, async () => {
    const out = capture();
    let clock = NOW.getTime();
    const code = await runOperatorCommand(
      watch,
      ["rot-unknown"],
      out.io,
      environmentFor(contract.api.standin, {
        now: () => new Date(clock),
        sleep: async (ms) => {
          clock += ms;
        },
      }),
    );
    expect(code).toBe(2);
    expect(clock - NOW.getTime()).toBeGreaterThanOrEqual(NOT_FOUND_GRACE_MS);
    expect(out.stderr()).toBe(
      "Rotation rot-unknown is not recorded yet; waiting for it to start…\n" +
        "mtls-rotator watch: the API refused the request (404 NotFound): no rotation rot-unknown\n",
    );
  });

  it("a bad --interval is a usage error", async () => {
    const out = capture();
    const code = await runOperatorCommand(
      watch,
      [ROTATION_ID, "--interval", "soon"],
      out.io,
      environmentFor(contract.api.standin),
    );
    expect(code).toBe(2);
    expect(out.stderr()).toContain('--interval must be a positive number of seconds, got "soon"');
  });
});

describe("a gate that failed for want of datapoints", () => {
  it("says which distributions had too few 5xx datapoints by the deadline, not a rate over its threshold", () => {
    const gate = evaluateGate({
      metrics: {
        E1AAAAAAAAAAAA: { errorRate: null, datapoints: 0 },
        E2BBBBBBBBBBBB: { errorRate: 0.1, datapoints: 5 },
      },
      baselines: {},
      probes: [{ target: "E1AAAAAAAAAAAA/web", status: 200, accepted: true }],
      elapsedSeconds: 1200,
    });
    expect(gateLine(gate)).toBe(
      "gate FAILED: too few 5xx datapoints: E1AAAAAAAAAAAA 0/5 within 1200 s; " +
        "5xx within threshold on 1/2 (highest 0.10% vs 2.00%); probes 1/1 accepted",
    );
  });
});
