/**
 * Faults on demand: throttling, 5xx and timeouts, injected per service and operation.
 *
 * A rule fails either the first `times` matching calls (a count rule, the default), or a fraction `rate` of
 * them (a rate rule), decided call by call by a small seeded generator: the n-th matching call a rule
 * decides on gets the same answer in every run with the same seed. A rate rule may be bounded: `times`
 * caps how many faults it delivers in total (then it is spent), `maxConsecutive` how many matching calls in
 * a row it fails (the next one goes through). Rules are offered each call in the order they were injected;
 * the first that fires answers it, so a rule decides only on the matching calls no earlier rule answered.
 */
export type FaultKind = "throttle" | "server-error" | "timeout";

export interface FaultRule {
  /** e.g. "acm", "acm-pca", "secretsmanager", "cloudfront"; any service when omitted. */
  service?: string;
  /** e.g. "IssueCertificate"; any operation when omitted. */
  operation?: string;
  kind: FaultKind;
  /**
   * A count rule (no `rate`): how many matching calls fail, the first ones; 1 when omitted. A rate rule: the
   * most faults it delivers in total; no limit when omitted.
   */
  times?: number;
  /** The fraction of matching calls that fail, 0 < rate <= 1: makes this a rate rule. */
  rate?: number;
  /** A rate rule's seed, a whole number 0..2^32-1; 0 when omitted. */
  seed?: number;
  /** A rate rule: after this many faults in a row, the next matching call goes through. */
  maxConsecutive?: number;
  /** Calls made by these callers (the server's CALLER_HEADER) are neither faulted nor counted by this rule. */
  exceptCallers?: readonly string[];
}

/** What a rule did so far. */
export interface FaultRuleStats {
  readonly rule: Readonly<FaultRule>;
  /** Matching calls the rule decided on (while it was not spent; not those an earlier rule answered). */
  readonly matched: number;
  /** Of those, the ones it answered with its fault. */
  readonly delivered: number;
  /** No fault left to deliver (a count rule after `times`, a rate rule after its `times` cap). */
  readonly spent: boolean;
}

/** The generator behind rate rules: mulberry32, uniform fractions in [0, 1). */
export function seededFractions(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A rule's decision for each matching call, in order: true where it fails the call. Count rules fail the
 * first `times`; rate rules draw one fraction per matching call (even a call a bound lets through, so the
 * n-th call's draw never depends on the bounds).
 */
class Decider {
  readonly #rule: FaultRule;
  readonly #draw: (() => number) | undefined;
  #consecutive = 0;
  matched = 0;
  delivered = 0;

  constructor(rule: FaultRule) {
    this.#rule = rule;
    this.#draw = rule.rate === undefined ? undefined : seededFractions(rule.seed ?? 0);
  }

  get spent(): boolean {
    const { times, rate } = this.#rule;
    if (rate === undefined) return this.delivered >= (times ?? 1);
    return times !== undefined && this.delivered >= times;
  }

  decide(): boolean {
    this.matched += 1;
    let fire = true;
    if (this.#draw) {
      const drawn = this.#draw();
      fire =
        drawn < (this.#rule.rate ?? 0) &&
        (this.#rule.maxConsecutive === undefined || this.#consecutive < this.#rule.maxConsecutive);
    }
    if (fire) {
      this.delivered += 1;
      this.#consecutive += 1;
    } else this.#consecutive = 0;
    return fire;
  }
}

/**
 * The decisions a rule makes for its first `calls` matching calls (true: faulted), as `take` makes them
 * when no earlier rule answers any of them: for tests and reports that check a run against its seed.
 */
export function faultDecisions(rule: FaultRule, calls: number): boolean[] {
  checkRule(rule);
  const decider = new Decider(rule);
  const out: boolean[] = [];
  for (let i = 0; i < calls && !decider.spent; i += 1) out.push(decider.decide());
  return out;
}

function checkRule(rule: FaultRule): void {
  const { times, rate, seed, maxConsecutive } = rule;
  if (times !== undefined && (!Number.isInteger(times) || times < 1))
    throw new Error(`fault 'times' must be a positive integer`);
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0 && rate <= 1))
    throw new Error(`fault 'rate' must be a number with 0 < rate <= 1, got ${rate}`);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff))
    throw new Error(`fault 'seed' must be a whole number from 0 to 4294967295, got ${seed}`);
  if (maxConsecutive !== undefined) {
    if (rate === undefined) throw new Error(`fault 'maxConsecutive' applies to a rate rule only`);
    if (!Number.isInteger(maxConsecutive) || maxConsecutive < 1)
      throw new Error(`fault 'maxConsecutive' must be a positive integer, got ${maxConsecutive}`);
  }
  if (rate === 1 && times === undefined && maxConsecutive === undefined)
    throw new Error(
      `fault 'rate' 1 without 'times' or 'maxConsecutive' would fail every matching call for good`,
    );
}

interface ArmedRule {
  rule: FaultRule;
  decider: Decider;
}

/** One fault delivered: to which call, by which rule (its statistics include this fault). */
export interface FaultDelivery {
  kind: FaultKind;
  service: string;
  operation: string;
  caller?: string;
  /** The rule's position among the rules armed (0: the first). */
  index: number;
  rule: FaultRuleStats;
}

export class FaultInjector {
  readonly #rules: ArmedRule[] = [];
  readonly #listeners: Array<(delivery: FaultDelivery) => void> = [];
  #injected = 0;

  /** Tells `listener` of every fault delivered from now on; returns its removal. */
  listen(listener: (delivery: FaultDelivery) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const at = this.#listeners.indexOf(listener);
      if (at >= 0) this.#listeners.splice(at, 1);
    };
  }

  /** Arms a rule (after the ones armed before it); its live statistics. */
  inject(rule: FaultRule): FaultRuleStats {
    checkRule(rule);
    const armed: ArmedRule = { rule: { ...rule }, decider: new Decider(rule) };
    this.#rules.push(armed);
    return statsOf(armed);
  }

  /** The fault to apply to this call (made by `caller`, if named), from the first rule that fires. */
  take(service: string, operation: string, caller?: string): FaultKind | undefined {
    for (const [index, armed] of this.#rules.entries()) {
      const { rule, decider } = armed;
      if (decider.spent) continue;
      if (rule.service !== undefined && rule.service !== service) continue;
      if (rule.operation !== undefined && rule.operation !== operation) continue;
      if (caller !== undefined && rule.exceptCallers?.includes(caller)) continue;
      if (!decider.decide()) continue;
      this.#injected += 1;
      const delivery: FaultDelivery = {
        kind: rule.kind,
        service,
        operation,
        ...(caller !== undefined ? { caller } : {}),
        index,
        rule: statsOf(armed),
      };
      for (const listener of [...this.#listeners]) listener(delivery);
      return rule.kind;
    }
    return undefined;
  }

  /** Every rule armed, in order, with what it did so far. */
  rules(): FaultRuleStats[] {
    return this.#rules.map((armed) => {
      const { matched, delivered, spent } = statsOf(armed);
      return { rule: armed.rule, matched, delivered, spent };
    });
  }

  /** Faults armed but not yet delivered, of count rules (a rate rule promises no number). */
  get pending(): number {
    return this.#rules.reduce(
      (sum, { rule, decider }) =>
        rule.rate === undefined ? sum + Math.max(0, (rule.times ?? 1) - decider.delivered) : sum,
      0,
    );
  }

  get injected(): number {
    return this.#injected;
  }

  clear(): void {
    this.#rules.length = 0;
  }
}

function statsOf({ rule, decider }: ArmedRule): FaultRuleStats {
  return {
    rule,
    get matched() {
      return decider.matched;
    },
    get delivered() {
      return decider.delivered;
    },
    get spent() {
      return decider.spent;
    },
  };
}
