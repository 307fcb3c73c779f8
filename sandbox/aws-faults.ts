/**
 * The scenario's AWS faults (`throttle`, `5xx`), armed on the stand-ins' fault injector (standins/faults.ts)
 * once the world is built: count faults fail the first `times` matching calls; rate faults a seeded share of
 * them (`rate`), at most `times` in total and `maxConsecutive` in a row when given. Each rule's stream of
 * draws comes from the scenario's `seed` and the rule's place in `faults`, so the n-th matching call of a
 * rule gets the same answer in every run of the scenario (how many calls a run makes can still differ with
 * timing: retries, polls). Every fault is printed as it is delivered; the report says, per rule, how many
 * faults it delivered out of how many matching calls it decided on.
 */
import type { FaultRule } from "../standins/faults.ts";
import type { StandinServer } from "../standins/server.ts";
import type { Printer } from "./printer.ts";
import { DEFAULT_SEED, type Scenario, type ScenarioFault } from "./scenario.ts";

/** One throttle / 5xx fault of the scenario and what it did. */
export interface AwsFaultReport {
  /** Its place in the scenario's `faults`. */
  index: number;
  kind: string;
  service: string;
  operation?: string;
  /** A count fault: how many of the first matching calls fail. A rate fault: the most in total, if given. */
  times?: number;
  rate?: number;
  maxConsecutive?: number;
  /** A rate fault: the scenario's seed its draws come from (with its index). */
  seed?: number;
  /** Matching calls it decided on (until it was spent), made after it was armed. */
  matched: number;
  /** Faults it delivered. */
  delivered: number;
}

type AwsFault = Extract<ScenarioFault, { kind: "throttle" | "5xx" }>;

/** The seed of the rule at `index` of the scenario's faults: FNV-1a of "<seed>/<index>". */
export function ruleSeed(seed: number, index: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}/${index}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The injector's rule for a scenario fault (its rate rule seeded from the scenario's seed). */
export function faultRule(fault: AwsFault, index: number, seed: number): FaultRule {
  return {
    service: fault.service,
    ...(fault.operation ? { operation: fault.operation } : {}),
    kind: fault.kind === "5xx" ? "server-error" : "throttle",
    ...(fault.times !== undefined || fault.rate === undefined ? { times: fault.times ?? 1 } : {}),
    ...(fault.rate !== undefined ? { rate: fault.rate, seed: ruleSeed(seed, index) } : {}),
    ...(fault.maxConsecutive !== undefined ? { maxConsecutive: fault.maxConsecutive } : {}),
  };
}

/** "throttle on cloudfront:* at rate 0.4 (at most 2 in a row)", "5xx on acm-pca:IssueCertificate x2". */
export function describeAwsFault(
  f: Pick<AwsFaultReport, "kind" | "service" | "operation" | "times" | "rate" | "maxConsecutive">,
): string {
  const target = `${f.kind} on ${f.service}:${f.operation ?? "*"}`;
  if (f.rate === undefined) return `${target} x${f.times ?? 1}`;
  const bounds = [
    ...(f.times !== undefined ? [`at most ${f.times} in total`] : []),
    ...(f.maxConsecutive !== undefined ? [`at most ${f.maxConsecutive} in a row`] : []),
  ];
  return `${target} at rate ${f.rate}${bounds.length ? ` (${bounds.join(", ")})` : ""}`;
}

/** "faults[0] throttle on cloudfront:* at rate 0.4: delivered 5 of 14 matching calls (seed 7)". */
export function awsFaultTally(f: AwsFaultReport): string {
  return (
    `fault faults[${f.index}] ${describeAwsFault(f)}: delivered ${f.delivered} of ${f.matched} matching ` +
    `call(s)${f.seed !== undefined ? ` (seed ${f.seed})` : ""}`
  );
}

export interface ArmedAwsFaults {
  /** Every throttle / 5xx fault of the scenario, in order, with its counts so far. */
  report(): AwsFaultReport[];
  /** Stops printing deliveries. */
  stop(): void;
}

/**
 * Arms the scenario's throttle / 5xx faults on `server` (calls from `exceptCallers`, e.g. the sandbox's
 * own foreign writer, are left alone) and prints each fault as it is delivered.
 */
export function armAwsFaults(
  server: StandinServer,
  scenario: Scenario,
  printer: Printer,
  options: { exceptCallers?: readonly string[] } = {},
): ArmedAwsFaults {
  const seed = scenario.seed ?? DEFAULT_SEED;
  const faults = (scenario.faults ?? []).flatMap((f, index) =>
    f.kind === "throttle" || f.kind === "5xx" ? [{ fault: f, index }] : [],
  );
  const first = server.faults.rules().length;
  const armed = faults.map(({ fault, index }) => {
    const rule = faultRule(fault, index, seed);
    const stats = server.faults.inject({
      ...rule,
      ...(options.exceptCallers?.length ? { exceptCallers: options.exceptCallers } : {}),
    });
    const entry = {
      index,
      kind: fault.kind,
      service: fault.service,
      ...(fault.operation ? { operation: fault.operation } : {}),
      ...(rule.times !== undefined ? { times: rule.times } : {}),
      ...(fault.rate !== undefined ? { rate: fault.rate, seed } : {}),
      ...(fault.maxConsecutive !== undefined ? { maxConsecutive: fault.maxConsecutive } : {}),
    };
    printer.line(
      `fault armed: faults[${index}] ${describeAwsFault(entry)}${fault.rate !== undefined ? `, seed ${seed}` : ""}`,
    );
    return { entry, stats };
  });
  const stop = server.faults.listen((delivery) => {
    const rule = armed[delivery.index - first];
    if (!rule) return;
    printer.line(
      `fault: ${delivery.kind} answered to ${delivery.service}:${delivery.operation} ` +
        `(faults[${rule.entry.index}]: ${delivery.rule.delivered} of ${delivery.rule.matched} matching call(s))`,
    );
  });
  return {
    report: () =>
      armed.map(({ entry, stats }) => ({ ...entry, matched: stats.matched, delivered: stats.delivered })),
    stop,
  };
}
