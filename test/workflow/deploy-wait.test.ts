/**
 * A deploy wait polls only the distributions still deploying: on the real durable runtime (local runner, time
 * skipped) against the stand-ins, each poll after the first reads only what the previous poll (a checkpointed
 * step result) left pending, counted per distribution at the CloudFront stand-in. Its step results name the
 * pending ones by a bit per distribution (small at any wave size), and checkpoints recorded by earlier
 * versions (every pending id; a bare list) still replay.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { describe, expect, it } from "vitest";
import { pendingMaskOf, pendingOfMask, waitDeployed } from "../../functions/workflow/phases/waves.ts";
import { createRotationWorkflow } from "../../functions/workflow/rotation-workflow.ts";
import type { Rotation } from "../../functions/workflow/steps.ts";
import { countReads, sum } from "../support/cloudfront-reads.ts";
import { useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import { useFleets } from "../support/fleets.ts";

useDurableRunner({ skipTime: true });

const fleet = useFleets();

describe("deploy waits poll only the distributions still deploying", () => {
  it("after the first poll, each poll reads only what the previous one left pending", async () => {
    const f = await fleet({
      distributions: 6,
      settings: { waves: { canarySize: 1, waves: [{ percent: 100 }] } },
    });
    const { reads } = countReads(f);
    const real = f.deps.distributions;
    const wave1 = [...f.distributionIds].sort().slice(1);
    const slow = wave1[2]!;
    // CloudFront takes longer for one distribution of wave 1: it stays InProgress for its first 3 polls.
    let slowPolls = 0;
    const asked: string[][] = [];
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), {
      ...f.deps,
      distributions: {
        findDistributionsPresenting: (arn) => real.findDistributionsPresenting(arn),
        originEndpoints: (...a) => real.originEndpoints(...a),
        swapOriginCertificate: (...a) => real.swapOriginCertificate(...a),
        deploymentStatus: async (ids) => {
          if (ids.some((id) => wave1.includes(id))) asked.push([...ids]);
          const statuses = await real.deploymentStatus(ids);
          if (ids.includes(slow)) {
            slowPolls += 1;
            if (slowPolls <= 3) statuses[slow] = "InProgress";
          }
          return statuses;
        },
      },
    });
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    const result = await runner.run({ payload: f.input() });

    expect(result.getStatus()).toBe("SUCCEEDED");
    // Wave 1: every distribution once, then only the slow one at each later poll.
    expect(asked).toEqual([wave1, [slow], [slow], [slow]]);
    expect(sum(reads.status, wave1)).toBe(wave1.length + 3);
    expect(reads.status.get(slow)).toBe(4);
    for (const id of wave1.filter((id) => id !== slow)) expect(reads.status.get(id)).toBe(1);
    // The polls' checkpoints name the pending ones by a bit per distribution, with a count.
    const polls = result
      .getOperations()
      .filter((op) => /^wave:1:deploy:\d+$/.test(op.getName() ?? ""))
      .map((op) => op.getStepDetails()?.result as { pendingCount: number; firstPending: string[] });
    expect(polls.map((p) => p.pendingCount)).toEqual([1, 1, 1, 0]);
    expect(polls[0]!.firstPending).toEqual([slow]);
  });
});

describe("the pending distributions of a deploy poll, a bit each", () => {
  const ids = Array.from({ length: 5_000 }, (_, i) => `E${String(i).padStart(13, "0")}`);

  it("a wave of 5,000 with 2,500 pending: under 1 KB, and read back exactly", () => {
    const pending = ids.filter((_, i) => i % 2 === 1);
    const mask = pendingMaskOf(ids, new Set(pending));
    expect(mask.length).toBeLessThan(1_000);
    expect(pendingOfMask(ids, mask)).toEqual(pending);
  });

  it("none and all pending", () => {
    expect(pendingOfMask(ids, pendingMaskOf(ids, new Set()))).toEqual([]);
    expect(pendingOfMask(ids, pendingMaskOf(ids, new Set(ids)))).toEqual(ids);
  });
});

describe("checkpoints recorded by earlier versions replay", () => {
  /**
   * A rotation whose steps answer from recorded checkpoints (a replay) and run the rest: only what
   * waitDeployed uses.
   */
  function replaying(recorded: Record<string, unknown>, asked: string[][]) {
    const waits: string[] = [];
    const r = {
      settings: { deploy: { timeoutSeconds: 3600, pollSeconds: 30 } },
      deps: {
        distributions: {
          deploymentStatus: async (ids: string[]) => {
            asked.push([...ids]);
            return Object.fromEntries(ids.map((id) => [id, "Deployed"]));
          },
        },
        store: {},
      },
      at: () => "2026-12-04T10:01:00.000Z",
      act: async (name: string, run: () => Promise<unknown>) => (name in recorded ? recorded[name] : run()),
      wait: async (name: string) => {
        waits.push(name);
      },
    };
    return { r: r as unknown as Rotation, waits };
  }

  it("a poll that kept every pending id: the next poll reads only those", async () => {
    const asked: string[][] = [];
    const { r, waits } = replaying(
      { "wave:1:deploy:1": { pending: ["E2", "E3"], at: "2026-12-04T10:00:00.000Z" } },
      asked,
    );
    expect(await waitDeployed(r, "wave:1", ["E1", "E2", "E3", "E4"])).toBe(true);
    expect(asked).toEqual([["E2", "E3"]]);
    expect(waits).toEqual(["wave:1:deploy:1:wait"]);
  });

  it("a poll that kept a bare list: the next poll reads only those", async () => {
    const asked: string[][] = [];
    const { r } = replaying({ "rollback:deploy:1": ["E4"] }, asked);
    expect(await waitDeployed(r, "rollback", ["E1", "E4"])).toBe(true);
    expect(asked).toEqual([["E4"]]);
  });

  it("a poll of this version: the next poll reads the ones its mask names", async () => {
    const asked: string[][] = [];
    const ids = ["E1", "E2", "E3"];
    const { r } = replaying(
      {
        "wave:0:deploy:1": {
          at: "2026-12-04T10:00:00.000Z",
          pendingCount: 1,
          pendingMask: pendingMaskOf(ids, new Set(["E3"])),
          firstPending: ["E3"],
        },
      },
      asked,
    );
    expect(await waitDeployed(r, "wave:0", ids)).toBe(true);
    expect(asked).toEqual([["E3"]]);
  });
});
