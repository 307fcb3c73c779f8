/**
 * One process of the mass run (scripts/bench-scale-mass.ts): the durable executions of its share of the
 * certificates, each with its own dependencies (`dueDepsFrom`: own SDK clients and adapters, as a fresh Lambda
 * environment), against the parent's stand-ins and dynalite over loopback. Lambda runs each rotation in its own
 * environment; one event loop for a thousand executions (and the stand-ins) was itself the bottleneck:
 * measured at M = 1,000 in one process, p99 event-loop delay 199 ms, max 2.8 s, and calls timed out.
 *
 * Protocol (IPC, structured clone): the parent sends `{ account, inputs }`; this process answers one
 * `{ type: "ended", outcome }` per execution, then `{ type: "done", cpuSeconds, eventLoopDelayMs }`, and exits.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import {
  createRotationWorkflow,
  type RotationInput,
  type RotationOutcome,
} from "../functions/workflow/rotation-workflow.ts";
import { type DueAccount, dueDepsFrom } from "../test/support/certificates-due.ts";

export interface MassOutcome {
  status: string;
  error?: string;
  waitedForImport: boolean;
  waitedForIssue: boolean;
  importSlots: number;
  operations: number;
}

export type MassWorkerMessage =
  | { type: "ended"; outcome: MassOutcome }
  | {
      type: "done";
      cpuSeconds: number;
      eventLoopDelayMs: { p50: number; p99: number; max: number };
    };

/** Runs every input in this process at once; each outcome is reported as it ends. */
export async function runExecutions(
  account: DueAccount,
  inputs: RotationInput[],
  report: (outcome: MassOutcome) => void,
): Promise<void> {
  const closes: Array<() => void> = [];
  try {
    await Promise.all(
      inputs.map(async (input) => {
        const runner = new LocalDurableTestRunner<RotationOutcome>({
          handlerFunction: createRotationWorkflow(workflow, () => {
            const { deps, close } = dueDepsFrom(account);
            closes.push(close);
            return deps;
          }),
        });
        const result = await runner.run({ payload: input });
        const names = result.getOperations().map((op) => op.getName() ?? "");
        const succeeded = result.getStatus() === "SUCCEEDED";
        report({
          status: succeeded ? (result.getResult()?.status ?? "unknown") : "failed",
          ...(succeeded ? {} : { error: result.getError()?.errorMessage ?? "unknown" }),
          waitedForImport: names.some((n) => /^issue:pace:import(:\d+)?:wait$/.test(n)),
          waitedForIssue: names.includes("issue:pace:pca:wait"),
          importSlots: names.filter((n) => /^issue:import(:\d+)?$/.test(n)).length,
          operations: names.length,
        });
      }),
    );
  } finally {
    for (const close of closes) close();
  }
}

if (import.meta.main && process.send) {
  process.once("message", async (message: { account: DueAccount; inputs: RotationInput[] }) => {
    const send = (m: MassWorkerMessage) => process.send!(m);
    await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpu = process.cpuUsage();
    try {
      await runExecutions(message.account, message.inputs, (outcome) => send({ type: "ended", outcome }));
    } finally {
      delay.disable();
      const used = process.cpuUsage(cpu);
      send({
        type: "done",
        cpuSeconds: (used.user + used.system) / 1e6,
        eventLoopDelayMs: {
          p50: delay.percentile(50) / 1e6,
          p99: delay.percentile(99) / 1e6,
          max: delay.max / 1e6,
        },
      });
      await LocalDurableTestRunner.teardownTestEnvironment();
      process.disconnect();
    }
  });
}
