/**
 * Foreign writers: someone other than the service changes a distribution while a rotation swaps it (or puts
 * it back), as a person in the CloudFront console would. Right before the service's own UpdateDistribution of
 * that distribution reaches CloudFront, the sandbox makes a harmless change through CloudFront's real API
 * (GetDistributionConfig, then UpdateDistribution of the Comment with that config's ETag), so the service's
 * request carries a stale IfMatch and CloudFront answers it 412 PreconditionFailed. What the service does
 * then is what the scenario shows: the CloudFront adapter re-reads the config and applies its change to the
 * foreign one (keeping it), up to 5 times before it gives up (DistributionChangedError).
 *
 * The foreign writer's calls carry their own caller header (FOREIGN_WRITER): they are not the service's
 * (the report's awsCalls leaves them out) and no injected AWS fault touches them.
 */
import {
  type CloudFrontClient,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
} from "@aws-sdk/client-cloudfront";
import type { Standins } from "../standins/index.ts";
import { CALLER_HEADER, type CallRecord } from "../standins/server.ts";
import type { Printer } from "./printer.ts";
import type { FOREIGN_WRITE_WHEN, Scenario, ScenarioFault } from "./scenario.ts";

/** The caller header of the foreign writer's calls. */
export const FOREIGN_WRITER = "sandbox-foreign-writer";

export type ForeignWriteWhen = (typeof FOREIGN_WRITE_WHEN)[number];

export interface ForeignWriteReport {
  /** Its place in the scenario's `faults`. */
  index: number;
  distribution: string;
  /** The distribution's CloudFront id. */
  id: string;
  when: ForeignWriteWhen;
  times: number;
  /** Foreign writes made. */
  delivered: number;
  writes: Array<{ atMs: number; step: string; comment: string }>;
  /**
   * The service's UpdateDistribution calls of this distribution, and of those the ones CloudFront answered
   * 412 PreconditionFailed (a stale IfMatch), over the whole run.
   */
  serviceUpdates: number;
  preconditionFailed: number;
  /** Whether the distribution's config at the end still has the last foreign change (its Comment). */
  keptAtEnd: boolean;
}

type ForeignWriteFault = Extract<ScenarioFault, { kind: "foreignWrite" }>;

const UPDATE_PATH = /^\/2020-05-31\/distribution\/([^/]+)\/config$/;

export interface ForeignWriters {
  /** The workflow's step hooks: which step is changing which distribution (swap or rollback). */
  stepStarting(step: string): void;
  stepDone(step: string): void;
  report(): ForeignWriteReport[];
  stop(): void;
}

/**
 * Arms the scenario's foreign writes on the stand-ins (a server interceptor); nothing when it has none.
 * `distributions` maps the scenario's names to CloudFront ids.
 */
export function armForeignWrites(
  standins: Pick<Standins, "server" | "cloudfront" | "clients">,
  scenario: Scenario,
  distributions: ReadonlyArray<{ name: string; id: string }>,
  printer: Printer,
): ForeignWriters {
  const rules = (scenario.faults ?? []).flatMap((f, index) =>
    f.kind === "foreignWrite" ? [{ fault: f as ForeignWriteFault, index }] : [],
  );
  const idOf = new Map(distributions.map((d) => [d.name, d.id]));
  const nameOf = new Map(distributions.map((d) => [d.id, d.name]));
  const armed = rules.map(({ fault, index }) => ({
    index,
    distribution: fault.distribution,
    id: idOf.get(fault.distribution) ?? "",
    when: fault.when ?? "swap",
    times: fault.times ?? 1,
    writes: [] as ForeignWriteReport["writes"],
  }));
  // What the workflow is doing to each distribution now, from its step names (ids in them).
  const phase = new Map<string, { when: ForeignWriteWhen; step: string }>();
  // Every service UpdateDistribution of each distribution, as the server records it.
  const updates = new Map<string, CallRecord[]>();
  const phaseOf = (step: string): { id: string; when: ForeignWriteWhen } | undefined => {
    const swap = /^swap:\d+:(.+)$/.exec(step);
    if (swap && nameOf.has(swap[1]!)) return { id: swap[1]!, when: "swap" };
    const rollback = /^rollback:(.+)$/.exec(step);
    if (rollback && nameOf.has(rollback[1]!)) return { id: rollback[1]!, when: "rollback" };
    return undefined;
  };
  if (armed.length === 0)
    return {
      stepStarting: () => undefined,
      stepDone: () => undefined,
      report: () => [],
      stop: () => undefined,
    };

  for (const rule of armed)
    printer.line(
      `fault armed: faults[${rule.index}] foreign write to ${rule.distribution} (its Comment) before the rotation's ` +
        `UpdateDistribution of it during a ${rule.when} x${rule.times}`,
    );
  const cloudfront = foreignClient(standins);
  const remove = standins.server.intercept(async ({ service, operation, request, record }) => {
    if (service !== "cloudfront" || operation !== "UpdateDistribution" || record.caller !== undefined) return;
    const id = UPDATE_PATH.exec(request.path)?.[1];
    if (!id || !nameOf.has(id)) return;
    const seen = updates.get(id) ?? [];
    updates.set(id, seen);
    const previous = seen.at(-1);
    if (previous?.error === "PreconditionFailed")
      printer.line(
        `foreign write: the rotation's UpdateDistribution of ${nameOf.get(id)} was answered 412 PreconditionFailed ` +
          "(stale IfMatch); it writes again",
      );
    seen.push(record);
    const now = phase.get(id);
    const rule = now && armed.find((r) => r.id === id && r.when === now.when && r.writes.length < r.times);
    if (!rule || !now) return;
    const n = rule.writes.length + 1;
    const comment = `changed by hand during a ${now.when} (sandbox foreign write ${n} of ${rule.distribution})`;
    let etag: string;
    try {
      etag = await writeComment(cloudfront, id, comment);
    } catch (error) {
      // Not the service's call: its request goes on as if nobody had written (and this rule stays armed).
      printer.line(`foreign write to ${rule.distribution} failed: ${(error as Error).message}`);
      return;
    }
    rule.writes.push({ atMs: printer.elapsedMs(), step: now.step.replace(id, rule.distribution), comment });
    printer.line(
      `foreign write ${n}/${rule.times}: ${rule.distribution}'s Comment changed through CloudFront's API ` +
        `(GetDistributionConfig, UpdateDistribution with its ETag; now ${etag}) just before the rotation's ` +
        `UpdateDistribution of it (${now.when})`,
    );
  });

  return {
    stepStarting(step) {
      const at = phaseOf(step);
      if (at) phase.set(at.id, { when: at.when, step });
    },
    stepDone(step) {
      const at = phaseOf(step);
      if (at && phase.get(at.id)?.step === step) phase.delete(at.id);
    },
    report: () =>
      armed.map((rule) => {
        const seen = updates.get(rule.id) ?? [];
        const last = rule.writes.at(-1);
        return {
          index: rule.index,
          distribution: rule.distribution,
          id: rule.id,
          when: rule.when,
          times: rule.times,
          delivered: rule.writes.length,
          writes: rule.writes,
          serviceUpdates: seen.length,
          preconditionFailed: seen.filter((r) => r.error === "PreconditionFailed").length,
          keptAtEnd:
            last !== undefined &&
            standins.cloudfront.configXml(rule.id).includes(`<Comment>${last.comment}</Comment>`),
        };
      }),
    stop: () => {
      remove();
      cloudfront.destroy();
    },
  };
}

/** One line per foreign write rule, for the end of the run. */
export function foreignWriteTally(r: ForeignWriteReport): string {
  return (
    `foreign writes faults[${r.index}] to ${r.distribution} before its ${r.when}: ${r.delivered} of ${r.times} made; ` +
    `the service's UpdateDistribution of ${r.distribution} answered 412 PreconditionFailed ${r.preconditionFailed} ` +
    `time(s) of ${r.serviceUpdates}; the foreign change ${r.delivered === 0 ? "was never made" : r.keptAtEnd ? "is kept" : "was OVERWRITTEN"}`
  );
}

/** A CloudFront client whose calls carry the foreign writer's caller header. */
function foreignClient(standins: Pick<Standins, "clients">): CloudFrontClient {
  const client = standins.clients().cloudfront;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[CALLER_HEADER] = FOREIGN_WRITER;
      return next(args);
    },
    { step: "build", name: "sandboxForeignWriter" },
  );
  return client;
}

/** What a person in the console does: read the config, change the Comment, write it with the ETag read. */
async function writeComment(cloudfront: CloudFrontClient, id: string, comment: string): Promise<string> {
  const read = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
  if (!read.DistributionConfig || !read.ETag) throw new Error(`GetDistributionConfig of ${id}: no config`);
  const written = await cloudfront.send(
    new UpdateDistributionCommand({
      Id: id,
      IfMatch: read.ETag,
      DistributionConfig: { ...read.DistributionConfig, Comment: comment },
    }),
  );
  return written.ETag ?? "";
}
