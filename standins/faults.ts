/**
 * Faults on demand: throttling, 5xx and timeouts, injected per service and operation.
 */
export type FaultKind = "throttle" | "server-error" | "timeout";

export interface FaultRule {
  /** e.g. "acm", "acm-pca", "secretsmanager", "cloudfront"; any service when omitted. */
  service?: string;
  /** e.g. "IssueCertificate"; any operation when omitted. */
  operation?: string;
  kind: FaultKind;
  /** How many matching calls fail; 1 when omitted. */
  times?: number;
}

interface ArmedRule extends FaultRule {
  remaining: number;
}

export class FaultInjector {
  readonly #rules: ArmedRule[] = [];
  #injected = 0;

  inject(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`fault 'times' must be a positive integer`);
    this.#rules.push({ ...rule, remaining: times });
  }

  /** The fault to apply to this call, consuming one use of the first matching rule. */
  take(service: string, operation: string): FaultKind | undefined {
    const rule = this.#rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.service === undefined || r.service === service) &&
        (r.operation === undefined || r.operation === operation),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.#injected += 1;
    return rule.kind;
  }

  /** Faults armed but not yet delivered. */
  get pending(): number {
    return this.#rules.reduce((sum, r) => sum + r.remaining, 0);
  }

  get injected(): number {
    return this.#injected;
  }

  clear(): void {
    this.#rules.length = 0;
  }
}
