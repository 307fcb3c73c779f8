/**
 * A rotation of more distributions than one step's result can list (issue 12): the real workflow on the local
 * durable runner (time skipped), the stand-ins, dynalite and real TLS origins shared by the distributions.
 * The plan goes to the store's distribution items and comes back a page a step; no step result, no stored item
 * grows with the fleet; the API pages what the rotation changed.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { workflow } from "sst/aws/workflow";
import { describe, expect, it } from "vitest";
import { RotationPages } from "../../functions/adapters/rotation-pages.ts";
import { itemSizeBytes } from "../../functions/adapters/rotation-store.ts";
import { PLAN_INLINE_TARGETS, PLANNED_TARGETS_PAGE } from "../../functions/core/rotation.ts";
import { createRotationWorkflow } from "../../functions/workflow/rotation-workflow.ts";
import { useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import type { Fleet } from "../support/fleet.ts";
import { useFleets } from "../support/fleets.ts";

useDurableRunner({ skipTime: true });

const fleet = useFleets();

/** Over PLAN_INLINE_TARGETS, so the plan is stored and read back in two pages. */
const DISTRIBUTIONS = PLAN_INLINE_TARGETS + 100;

describe("a rotation of more distributions than one step's result lists", () => {
  it("stores its plan, reads it back a page a step, swaps every distribution, and nothing it writes grows with the fleet", async () => {
    const f = await fleet({ distributions: DISTRIBUTIONS, sharedOrigins: 3 });
    const timed = new Map<string, [number, number]>();
    const time = <T extends object>(what: string, target: T): T =>
      new Proxy(target, {
        get(t, p, r) {
          const v = Reflect.get(t, p, r);
          if (typeof v !== "function") return v;
          if (!process.env.SCALE_TIMES) return v.bind(t);
          return async (...args: unknown[]) => {
            const start = performance.now();
            try {
              return await v.apply(t, args);
            } finally {
              const k = `${what}.${String(p)}`;
              const [n, ms] = timed.get(k) ?? [0, 0];
              timed.set(k, [n + 1, ms + performance.now() - start]);
            }
          };
        },
      });
    const deps = {
      ...f.deps,
      store: time("store", f.deps.store),
      distributions: time("cf", f.deps.distributions),
      metrics: time("metrics", f.deps.metrics),
      acm: time("acm", f.deps.acm),
    };
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), deps);
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    const result = await runner.run({ payload: f.input() });
    expect(
      result.getStatus(),
      JSON.stringify(result.getStatus() === "SUCCEEDED" ? null : result.getError()),
    ).toBe("SUCCEEDED");

    const operations = result.getOperations();
    if (process.env.SCALE_TIMES) {
      const byKind = new Map<string, number>();
      let previous: number | undefined;
      for (const op of operations) {
        const start = op.getStartTimestamp()?.getTime();
        const kind = (op.getName() ?? "?").replace(/[:][^:]*$/, "").replace(/E[A-Z0-9]{8,}/g, "d");
        if (start !== undefined && previous !== undefined)
          byKind.set(kind, (byKind.get(kind) ?? 0) + start - previous);
        if (start !== undefined) previous = start;
      }
      console.log([...byKind].sort((a, b) => b[1] - a[1]).slice(0, 15));
      console.log([...timed].map(([k, [n, ms]]) => `${k} ${n} ${Math.round(ms)}ms`).join("\n"));
    }
    const names = operations.map((op) => op.getName());
    const pages = Math.ceil(DISTRIBUTIONS / PLANNED_TARGETS_PAGE);
    expect(names.filter((n) => n?.startsWith("plan:targets:"))).toEqual(
      Array.from({ length: pages }, (_, i) => `plan:targets:${i + 1}`),
    );
    // Every step's result (its checkpoint) stays far below Lambda's 256 KB: the largest is a plan page.
    const largest = Math.max(
      ...operations
        .filter((op) => String(op.getType()) === "STEP")
        .map((op) => JSON.stringify(op.getStepDetails()?.result ?? null).length),
    );
    const sized = operations
      .filter((op) => String(op.getType()) === "STEP")
      .map((op) => [op.getName(), JSON.stringify(op.getStepDetails()?.result ?? null).length] as const)
      .sort((a, b) => b[1] - a[1]);
    expect(largest, JSON.stringify(sized.slice(0, 5))).toBeLessThan(64 * 1024);

    // Every distribution presents the new certificate.
    const rotationId = f.input().rotationId;
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("completed");
    const newArn = state!.issued!.certificateArn;
    const presenting = f.distributionIds.filter(
      (id) => f.standins.cloudfront.originCertificates(id)["origin-1"] === newArn,
    );
    expect(presenting).toHaveLength(DISTRIBUTIONS);
    const all = state!.waves.flatMap((w) => w.distributions);
    expect(all).toHaveLength(DISTRIBUTIONS);
    expect(new Set(all.map((d) => d.outcome))).toEqual(new Set(["swapped"]));
    expect(Object.keys(state!.baselines ?? {})).toHaveLength(DISTRIBUTIONS);

    // The history names the plan's size, not its distributions.
    const planned = (await f.store.history(rotationId)).find((e) => e.type === "planned");
    expect(planned).toMatchObject({ stored: { distributions: DISTRIBUTIONS } });
    expect(JSON.stringify(planned).length).toBeLessThan(8 * 1024);

    // No item of the rotation holds more than a summary's worth: the state item is the largest.
    const items = await rotationItems(f, rotationId);
    expect(items.filter((i) => String(i.sk).startsWith("DIST#"))).toHaveLength(DISTRIBUTIONS);
    const sizes = items.map((i) => itemSizeBytes(i));
    expect(Math.max(...sizes)).toBeLessThan(16 * 1024);

    // The API pages it: a page of 100, each wave with its size and counts for all pages.
    const page = await new RotationPages(f.store.tableReads).rotationPage(rotationId, { limit: 100 });
    expect(page?.state.waves.flatMap((w) => w.distributions)).toHaveLength(100);
    expect(page?.state.waves.map((w) => w.size)).toEqual(state!.waves.map((w) => w.distributions.length));
    expect(page?.state.waves.reduce((n, w) => n + (w.counts?.swapped ?? 0), 0)).toBe(DISTRIBUTIONS);
    expect(page?.nextToken).toBeDefined();
  }, 300_000);
});

async function rotationItems(f: Fleet, rotationId: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await f.table.client.send(
      new QueryCommand({
        TableName: f.table.name,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: `ROT#${rotationId}` } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) items.push(unmarshall(item));
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items;
}
