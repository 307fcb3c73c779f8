/**
 * The names of the workflow's durable operations, pinned. A running execution replays from checkpoints keyed by
 * each operation's position and checked against its type and name, so a rotation in flight across a deploy
 * fails (non-determinism) if a name, a type or the order of operations changes. Every significant path of the
 * real workflow runs here on the local runner (time skipped) against the stand-ins, and the trail of operations
 * the runtime checkpointed is compared with the one recorded from the workflow before it was split into phases.
 *
 * The issue phase's pacing waits (`issue:pace:pca:wait`, `issue:pace:import:wait`) are taken only when the
 * account's slot is more than about two seconds away (functions/core/pacing.ts waitForSlot): one path below.
 * An import ACM throttled takes the next slot (`issue:pace:import:<slot>`, `issue:import:<slot>`): another.
 * A replacement its CA's chain caps tells subscribers right after `issue:request` (`notify:validity-capped`,
 * taken from that step's checkpointed result, so a replay takes it exactly when the first run did): a third.
 *
 * A trail entry is `<TYPE> <name>`, with distribution ids as d0, d1, ... (wave order). A polling loop
 * (`preflight:<n>`, `wave:<w>:deploy:<n>`, `rollback:deploy:<n>`, `gate:<w>:metrics:<n>`, each followed by a
 * durable wait `<name>:wait` before the next poll) is one entry `STEP <base>:<n>… (WAIT <base>:<n>:wait between)`
 * once its numbering was checked to run 1, 2, ..., k: how many polls a run takes depends on timing.
 */
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import { AccountPacer } from "../../functions/adapters/pacer.ts";
import { ItemTooLargeError } from "../../functions/adapters/rotation-store.ts";
import {
  createRotationWorkflow,
  type RotationInput,
  type StepFaults,
} from "../../functions/workflow/rotation-workflow.ts";
import { useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import { buildFleet, type Fleet, type FleetOptions } from "../support/fleet.ts";

useDurableRunner({ skipTime: true });

type Runner = LocalDurableTestRunner<unknown>;
type Result = Awaited<ReturnType<Runner["run"]>>;
type Operation = ReturnType<Result["getOperations"]>[number];

let fleets: Fleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  fleets = [];
});

/** Polling loops: a numbered step, then `<step>:wait` before the next number. */
const LOOP = /^(preflight|wave:\d+:deploy|rollback:deploy|gate:\d+:metrics):(\d+)$/;

/** Distribution ids as d0, d1, ... in wave order (planning sorts them). */
function normalizer(f: Fleet): (name: string) => string {
  const ids = [...f.distributionIds].sort();
  return (name) => ids.reduce((named, id, i) => named.replaceAll(id, `d${i}`), name);
}

/** The operations the runtime checkpointed, in order, as `<TYPE> <name>` with polling loops folded. */
function trailOf(f: Fleet, result: Result): string[] {
  const normalize = normalizer(f);
  const ops = result.getOperations().map((op: Operation) => ({
    type: String(op.getType()),
    name: normalize(op.getName() ?? "<unnamed>"),
  }));
  const trail: string[] = [];
  for (let i = 0; i < ops.length; i += 1) {
    const op = ops[i]!;
    const loop = op.type === "STEP" ? LOOP.exec(op.name) : null;
    if (loop?.[2] !== "1") {
      trail.push(`${op.type} ${op.name}`);
      continue;
    }
    const base = loop[1];
    let n = 1;
    while (
      ops[i + 1]?.type === "WAIT" &&
      ops[i + 1]?.name === `${base}:${n}:wait` &&
      ops[i + 2]?.type === "STEP" &&
      ops[i + 2]?.name === `${base}:${n + 1}`
    ) {
      i += 2;
      n += 1;
    }
    trail.push(`STEP ${base}:<n>… (WAIT ${base}:<n>:wait between)`);
  }
  return trail;
}

/** The pattern of a trail entry: waves, distributions and poll numbers as placeholders. */
function patternOf(entry: string): string {
  return entry
    .replace(/ \(WAIT .*\)$/, "")
    .replace(/:d\d+\b/g, ":<distribution>")
    .replace(/^(STEP preflight):<n>…$/, "$1:<attempt>")
    .replace(/^(STEP claim):\d+$/, "$1:<attempt>")
    .replace(/^(STEP issue:(?:pace:)?import):\d+$/, "$1:<slot>")
    .replace(/:<n>…/, ":<poll>")
    .replace(/^(\w+ (?:swap|wave|deployed|bake|gate|approval|approved|notify:wave)):\d+/, "$1:<wave>");
}

interface Scenario {
  fleet: FleetOptions;
  input?: Partial<RotationInput>;
  faults?: (f: Fleet, normalize: (name: string) => string) => StepFaults;
  /** Runs beside the execution: answers callbacks. */
  operator?: (runner: Runner) => Promise<void>;
  before?: (f: Fleet) => Promise<void>;
}

async function trailFor(scenario: Scenario): Promise<{ trail: string[]; result: Result; f: Fleet }> {
  const f = await buildFleet(scenario.fleet);
  fleets.push(f);
  await scenario.before?.(f);
  const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), {
    ...f.deps,
    faults: scenario.faults?.(f, normalizer(f)),
  });
  const runner: Runner = new LocalDurableTestRunner({ handlerFunction: handler });
  const execution = runner.run({ payload: f.input(scenario.input) });
  execution.catch(() => undefined);
  await scenario.operator?.(runner);
  const result = await execution;
  return { trail: trailOf(f, result), result, f };
}

/** Answers the control callback `name` once it is open. */
function answer(name: string, message: Record<string, string>) {
  return async (runner: Runner) => {
    const callback = await runner.getOperation(name).waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation(`${name}:open`).waitForData(WaitingOperationStatus.COMPLETED);
    await callback.sendCallbackSuccess(JSON.stringify(message));
  };
}

const denied = (what: string) =>
  Object.assign(new Error(`User is not authorized to perform: ${what}`), { name: "AccessDeniedException" });

/** Faults that make the step `name` (ids normalized) throw every time it runs. */
const failing =
  (name: string, error: () => Error): Scenario["faults"] =>
  (_f, normalize) => ({
    before: (step) => {
      if (normalize(step) === name) throw error();
    },
  });

/**
 * A fault hook: once the second wave deployed, its distribution's 5xx rate for the first whole minute after is
 * bad, which fails that wave's gate.
 */
function secondWaveGoesBad(f: Fleet, normalize: (name: string) => string) {
  return (step: string) => {
    if (normalize(step) !== "deployed:1") return;
    f.standins.cloudwatch.record(
      "AWS/CloudFront",
      "5xxErrorRate",
      { DistributionId: [...f.distributionIds].sort()[1]!, Region: "Global" },
      50,
      new Date(Math.ceil(Date.now() / 60_000) * 60_000),
    );
  };
}

const wave = (w: number, d: string, { bake = true } = {}) => [
  `STEP swap:${w}:${d}`,
  `STEP wave:${w}:deploy:<n>… (WAIT wave:${w}:deploy:<n>:wait between)`,
  `STEP deployed:${w}`,
  ...(bake ? [`CALLBACK bake:${w}`, `STEP bake:${w}:open`, `STEP bake:${w}:close`] : []),
  `STEP gate:${w}:metrics:<n>… (WAIT gate:${w}:metrics:<n>:wait between)`,
  `STEP gate:${w}`,
];
/** A wave that passed its gate: subscribers are told. */
const passedWave = (w: number, d: string, options?: { bake: boolean }) => [
  ...wave(w, d, options),
  `STEP notify:wave:${w}`,
];
const START = ["STEP lock", "STEP start", "STEP notify:started", "STEP plan"];
const ISSUE = [
  "STEP issue:key",
  "STEP issue:pace:pca",
  "STEP issue:request",
  "STEP issue:pace:import",
  "STEP issue:import",
  "STEP issue:complete",
];
const TRUST = ["STEP trust:publish", "STEP notify:trust"];
const PREFLIGHT = ["STEP preflight:<n>… (WAIT preflight:<n>:wait between)"];
/** Every distribution of the plan claimed at the first attempt (nothing else is changing them). */
const CLAIM = ["STEP claim:1"];
const BEFORE_SWAPS = [...START, ...CLAIM, ...ISSUE, ...TRUST, ...PREFLIGHT];
const END = ["STEP unlock", "STEP notify:end"];
const FINALIZE = [
  "STEP finalize:promote",
  "WAIT finalize:grace",
  "STEP finalize:retire",
  "STEP complete",
  ...END,
];
const rollback = (...distributions: string[]) => [
  "STEP rollback:requested",
  ...distributions.flatMap((d) => [`STEP rollback:${d}`, `STEP rollback:${d}:result`]),
  "STEP rollback:deploy:<n>… (WAIT rollback:deploy:<n>:wait between)",
  "STEP rollback:secret",
];
const ROLLED_BACK = ["STEP rollback:retire-new", "STEP rollback:done", ...END];
const ABORTED = ["STEP abort:secret", "STEP abort", ...END];
const approval = (w: number) => [
  `CALLBACK approval:${w}`,
  `STEP approval:${w}:open`,
  `STEP approval:${w}:close`,
];

/** After issuance, a single distribution's rotation without a bake window: trust, preflight, its wave, the end. */
const ONE_UNBAKED_WAVE_AFTER_ISSUE = [
  ...TRUST,
  ...PREFLIGHT,
  ...passedWave(0, "d0", { bake: false }),
  ...FINALIZE,
];

/** Every trail seen, for the catalogue of patterns at the end. */
const seen: string[][] = [];

async function expectTrail(scenario: Scenario, expected: string[]): Promise<Result> {
  const { trail, result } = await trailFor(scenario);
  seen.push(trail);
  expect(trail).toEqual(expected);
  return result;
}

describe("the operations a rotation checkpoints, by path", () => {
  it("three waves, each baked and gated, then finalize", async () => {
    const result = await expectTrail({ fleet: { distributions: 3 } }, [
      ...BEFORE_SWAPS,
      ...passedWave(0, "d0"),
      ...passedWave(1, "d1"),
      ...passedWave(2, "d2"),
      ...FINALIZE,
    ]);
    expect(result.getStatus()).toBe("SUCCEEDED");
  });

  it("a record over an AWS size limit: the rotation stops in place (no rollback)", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2, settings: { bakeSeconds: 0 } },
        faults: (_f, normalize) => ({
          before: (step) => {
            if (normalize(step) === "swap:1:d1") throw new ItemTooLargeError("an item over 400 KB");
          },
        }),
      },
      [
        ...BEFORE_SWAPS,
        ...passedWave(0, "d0", { bake: false }),
        "STEP swap:1:d1",
        "STEP stop:presenting",
        "STEP stop",
        ...END,
      ],
    );
    expect(result.getError()?.errorMessage).toMatch(/failed \(StorageLimit\)/);
  });

  it("a step that fails once is retried as the same operation", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2, settings: { bakeSeconds: 0 } },
        faults: (_f, normalize) => {
          let failed = false;
          return {
            before: (step) => {
              if (normalize(step) !== "swap:0:d0" || failed) return;
              failed = true;
              throw new Error("CloudFront answered 503 once");
            },
          };
        },
      },
      [
        ...BEFORE_SWAPS,
        ...passedWave(0, "d0", { bake: false }),
        ...passedWave(1, "d1", { bake: false }),
        ...FINALIZE,
      ],
    );
    expect(result.getStatus()).toBe("SUCCEEDED");
    const swap = result.getOperations().find((op) => op.getName()?.startsWith("swap:0:"));
    expect(swap?.getOperationData()?.StepDetails?.Attempt).toBe(2);
  });

  it("approval between waves: approved", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2 },
        input: { overrides: { approval: "between-waves" } },
        operator: answer("approval:0", { action: "approve", actor: "carol", reason: "ok" }),
      },
      [
        ...BEFORE_SWAPS,
        ...passedWave(0, "d0"),
        ...approval(0),
        "STEP approved:0",
        ...passedWave(1, "d1"),
        ...FINALIZE,
      ],
    );
    expect(result.getStatus()).toBe("SUCCEEDED");
  });

  it("approval between waves: timed out, the policy rolls back", async () => {
    const result = await expectTrail(
      {
        fleet: {
          distributions: 2,
          settings: { approval: { mode: "between-waves", timeoutSeconds: 1, onTimeout: "rollback" } },
        },
      },
      [...BEFORE_SWAPS, ...passedWave(0, "d0"), ...approval(0), ...rollback("d0"), ...ROLLED_BACK],
    );
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(ApprovalTimedOut\)/);
  });

  it("an operator rolls back during a bake", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2 },
        input: { overrides: { bakeSeconds: 300 } },
        operator: answer("bake:0", { action: "rollback", actor: "dave", reason: "test" }),
      },
      [
        ...BEFORE_SWAPS,
        "STEP swap:0:d0",
        "STEP wave:0:deploy:<n>… (WAIT wave:0:deploy:<n>:wait between)",
        "STEP deployed:0",
        "CALLBACK bake:0",
        "STEP bake:0:open",
        "STEP bake:0:close",
        ...rollback("d0"),
        ...ROLLED_BACK,
      ],
    );
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(ManualRollback\)/);
  });

  it.each([
    {
      what: "a failing gate in the second wave rolls both waves back",
      stuck: false,
      ending: ROLLED_BACK,
      message: /rolled-back \(GateFailed\)/,
    },
    {
      what: "a rollback that cannot put a distribution back ends failed",
      stuck: true,
      ending: ["STEP rollback:done", ...END],
      message: /failed \(RollbackIncomplete\)/,
    },
  ])("$what", async ({ stuck, ending, message }) => {
    const cannotPutBack = failing("rollback:d0", () => new Error("CloudFront keeps answering 503"));
    const result = await expectTrail(
      {
        fleet: { distributions: 3, settings: { bakeSeconds: 0 } },
        faults: (f, normalize) => ({
          after: secondWaveGoesBad(f, normalize),
          ...(stuck ? cannotPutBack?.(f, normalize) : {}),
        }),
      },
      [
        ...BEFORE_SWAPS,
        ...passedWave(0, "d0", { bake: false }),
        ...wave(1, "d1", { bake: false }),
        ...rollback("d1", "d0"),
        ...ending,
      ],
    );
    expect(result.getError()?.errorMessage).toMatch(message);
  });

  it("a gate step that cannot run rolls back (Unexpected)", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2, settings: { bakeSeconds: 0 } },
        faults: failing("gate:0", () => denied("cloudwatch:GetMetricData")),
      },
      [...BEFORE_SWAPS, ...wave(0, "d0", { bake: false }), ...rollback("d0"), ...ROLLED_BACK],
    );
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(Unexpected\)/);
  });

  it("a swap that keeps failing after its retries rolls back (SwapFailed)", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2, settings: { bakeSeconds: 0 } },
        faults: failing("swap:1:d1", () => new Error("CloudFront keeps failing")),
      },
      [
        ...BEFORE_SWAPS,
        ...passedWave(0, "d0", { bake: false }),
        "STEP swap:1:d1",
        ...rollback("d0"),
        ...ROLLED_BACK,
      ],
    );
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(SwapFailed\)/);
  });

  it("a dry run plans, records and unlocks", async () => {
    const result = await expectTrail({ fleet: { distributions: 2 }, input: { dryRun: true } }, [
      ...START,
      "STEP dry-run",
      "STEP unlock",
    ]);
    expect(result.getStatus()).toBe("SUCCEEDED");
  });

  it.each([
    {
      what: "a plan that fails",
      step: "plan",
      trail: [...START, ...ABORTED],
      message: /failed \(Unexpected\): plan failed/,
    },
    {
      what: "issuance that fails",
      step: "issue:request",
      trail: [...START, ...CLAIM, "STEP issue:key", "STEP issue:pace:pca", "STEP issue:request", ...ABORTED],
      message: /failed \(IssuanceFailed\)/,
    },
    {
      what: "a trust bundle that cannot be published (the new certificate retired)",
      step: "trust:publish",
      trail: [...START, ...CLAIM, ...ISSUE, "STEP trust:publish", "STEP abort:retire-new", ...ABORTED],
      message: /failed \(Unexpected\): trust bundle not published/,
    },
    {
      what: "a preflight that cannot probe",
      step: "preflight:1",
      trail: [...BEFORE_SWAPS, "STEP abort:retire-new", ...ABORTED],
      message: /failed \(Unexpected\): preflight failed/,
    },
  ])("$what ends failed", async ({ step, trail, message }) => {
    const result = await expectTrail(
      { fleet: { distributions: 2 }, faults: failing(step, () => denied("the step's AWS call")) },
      trail,
    );
    expect(result.getError()?.errorMessage).toMatch(message);
  });

  it("origins that keep refusing the new certificate abort the rotation", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 2, newIssuer: "other" },
        before: async (f) => {
          await f.origins.get([...f.distributionIds].sort()[0]!)!.trust(f.bothTrustPem);
        },
      },
      [...BEFORE_SWAPS, "STEP abort:retire-new", ...ABORTED],
    );
    expect(result.getError()?.errorMessage).toMatch(/aborted \(PreflightRefused\)/);
  });

  it("a certificate another rotation holds the lock of is not rotated", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 1 },
        before: async (f) => {
          await f.store.acquireLock(f.oldCertificateArn, "another-rotation");
        },
      },
      ["STEP lock"],
    );
    expect(result.getError()?.errorMessage).toMatch(/failed \(AlreadyRotating\)/);
  });

  it("a rotation behind others in the account's schedules waits for its slots durably", async () => {
    const result = await expectTrail(
      {
        fleet: { distributions: 1, settings: { bakeSeconds: 0 } },
        // Other rotations reserved before it: its Private CA slot and its import slot are seconds away.
        before: async (f) => {
          // One reservation holding each schedule (Private CA: 8 s, ACM: a minute), as many others' slots would.
          const others = new AccountPacer(f.table.client, {
            tableName: "mtls-rotator",
            intervalsMs: { "pca-issue": 8_000, "acm-import": 60_000 },
          });
          await others.reserve("pca-issue", "others");
          await others.reserve("acm-import", "others");
        },
      },
      [
        ...START,
        ...CLAIM,
        "STEP issue:key",
        "STEP issue:pace:pca",
        "WAIT issue:pace:pca:wait",
        "STEP issue:request",
        "STEP issue:pace:import",
        "WAIT issue:pace:import:wait",
        "STEP issue:import",
        "STEP issue:complete",
        ...ONE_UNBAKED_WAVE_AFTER_ISSUE,
      ],
    );
    expect(result.getStatus()).toBe("SUCCEEDED");
  });

  it.each([
    // Throttled: the rotation takes the account's next free slot instead of retrying at once.
    { fault: "throttle", answered: "ThrottlingException", attempts: 1 },
    // Failed otherwise: the step's retry finds its slot gone, sends nothing and takes the next one.
    { fault: "server-error", answered: "ServiceUnavailable", attempts: 2 },
  ] as const)(
    "an import answered $answered is never sent outside a slot: it takes the next free one",
    async ({ fault, answered, attempts }) => {
      let fleet: Fleet | undefined;
      let callsBefore = 0;
      const result = await expectTrail(
        {
          fleet: { distributions: 1, settings: { bakeSeconds: 0 } },
          before: async (f) => {
            fleet = f;
            callsBefore = f.standins.server.calls.length;
            f.standins.server.faults.inject({ service: "acm", operation: "ImportCertificate", kind: fault });
          },
        },
        [
          ...START,
          ...CLAIM,
          "STEP issue:key",
          "STEP issue:pace:pca",
          "STEP issue:request",
          "STEP issue:pace:import",
          "STEP issue:import",
          "STEP issue:pace:import:2",
          "STEP issue:import:2",
          "STEP issue:complete",
          ...ONE_UNBAKED_WAVE_AFTER_ISSUE,
        ],
      );
      expect(result.getStatus()).toBe("SUCCEEDED");
      // Two calls: the refused one (sent once: no SDK retry) and the one in the next slot, which imported.
      const imports = fleet!.standins.server.calls
        .slice(callsBefore)
        .filter((c) => c.operation === "ImportCertificate");
      expect(imports.map((c) => c.error ?? "ok")).toEqual([answered, "ok"]);
      const first = result.getOperations().find((op) => op.getName() === "issue:import");
      expect(first?.getOperationData()?.StepDetails?.Attempt).toBe(attempts);
    },
  );

  it("a replacement its CA's chain caps: subscribers are told right after the request, from its result", async () => {
    // The issuing CA's certificate has about 1,824 days left; 2,000 are asked for (issue 13).
    const result = await expectTrail(
      { fleet: { distributions: 1, settings: { bakeSeconds: 0, validityDays: 2_000 } } },
      [
        ...START,
        ...CLAIM,
        "STEP issue:key",
        "STEP issue:pace:pca",
        "STEP issue:request",
        "STEP notify:validity-capped",
        "STEP issue:pace:import",
        "STEP issue:import",
        "STEP issue:complete",
        ...ONE_UNBAKED_WAVE_AFTER_ISSUE,
      ],
    );
    expect(result.getStatus()).toBe("SUCCEEDED");
  });
});

describe("the catalogue of names", () => {
  it("every operation name the workflow checkpointed above, as patterns, in order of first appearance", () => {
    const patterns = [...new Set(seen.flat().map(patternOf))];
    expect(patterns).toEqual([
      "STEP lock",
      "STEP start",
      "STEP notify:started",
      "STEP plan",
      "STEP claim:<attempt>",
      "STEP issue:key",
      "STEP issue:pace:pca",
      "STEP issue:request",
      "STEP issue:pace:import",
      "STEP issue:import",
      "STEP issue:complete",
      "STEP trust:publish",
      "STEP notify:trust",
      "STEP preflight:<attempt>",
      "STEP swap:<wave>:<distribution>",
      "STEP wave:<wave>:deploy:<poll>",
      "STEP deployed:<wave>",
      "CALLBACK bake:<wave>",
      "STEP bake:<wave>:open",
      "STEP bake:<wave>:close",
      "STEP gate:<wave>:metrics:<poll>",
      "STEP gate:<wave>",
      "STEP notify:wave:<wave>",
      "STEP finalize:promote",
      "WAIT finalize:grace",
      "STEP finalize:retire",
      "STEP complete",
      "STEP unlock",
      "STEP notify:end",
      "STEP stop:presenting",
      "STEP stop",
      "CALLBACK approval:<wave>",
      "STEP approval:<wave>:open",
      "STEP approval:<wave>:close",
      "STEP approved:<wave>",
      "STEP rollback:requested",
      "STEP rollback:<distribution>",
      "STEP rollback:<distribution>:result",
      "STEP rollback:deploy:<poll>",
      "STEP rollback:secret",
      "STEP rollback:retire-new",
      "STEP rollback:done",
      "STEP dry-run",
      "STEP abort:secret",
      "STEP abort",
      "STEP abort:retire-new",
      "WAIT issue:pace:pca:wait",
      "WAIT issue:pace:import:wait",
      "STEP issue:pace:import:<slot>",
      "STEP issue:import:<slot>",
      "STEP notify:validity-capped",
    ]);
  });
});
