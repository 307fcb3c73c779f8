/**
 * The settings schema: the rotation policy, the trust bundle's targets and the expiry tracking, with their
 * defaults and derived values. infra/ parses the stage table with it at deploy time (stage.ts); every
 * function parses what infra linked to it with it again at cold start (links.ts). One definition, so the
 * two can never disagree. Durations are whole seconds (the durable runtime's `{ seconds }`, JSON-friendly).
 *
 * Rules that belong to a domain object stay with it in functions/core (the wave sizes, the gate's relations,
 * the renewal point); the schema checks their shape and asks core for the rest.
 */
import * as z from "zod/mini";
import { ACK_ID, ACK_ID_RULE } from "../core/acknowledgement.ts";
import { DEFAULT_ALERT_THRESHOLDS_DAYS } from "../core/alerts.ts";
import { DEFAULT_GATE_POLICY, type GatePolicy, gatePolicyProblems } from "../core/gate.ts";
import { PREFLIGHT_PROOFS } from "../core/preflight.ts";
import { DEFAULT_RENEW_BEFORE, type RenewBefore, validateRenewBefore } from "../core/renewal.ts";
import { DEFAULT_WAVE_POLICY, validateWavePolicy, type WavePolicy } from "../core/waves.ts";
import {
  ALB_TRUST_STORE_ARN,
  BUNDLE_KEY,
  CLOUDFRONT_TRUST_STORE_ID,
  DISTRIBUTION_ID,
  DOMAIN_NAME,
  EVENT_BUS,
  flag,
  listOf,
  MAX_SECONDS,
  mustBe,
  numberWhere,
  oneOf,
  PRIVATE_CA_ARN,
  parseWith,
  SECRET_NAME,
  seconds,
  strict,
  text,
  webhookUrlProblem,
  whole,
} from "./rules.ts";

/** A problem a core rule found, reported under the path of the object it judged. */
function coreProblem<T>(ctx: z.core.$RefinementCtx<T>, input: unknown, message: string) {
  ctx.addIssue({ code: "custom", message, input, params: { relative: true } });
}

/** Whether a value is a plain object (the shape checks of the core rules run only on those). */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const privateCaArn = () => text(PRIVATE_CA_ARN, "a Private CA ARN");

const renewBefore = z
  .union(
    [
      strict({ fractionOfLifetime: numberWhere(Number.isFinite, "a number") }),
      strict({ durationMs: numberWhere(Number.isFinite, "a number") }),
    ],
    { error: mustBe("{ fractionOfLifetime } or { durationMs }") },
  )
  .check(
    z.superRefine((value, ctx) => {
      try {
        validateRenewBefore(value);
      } catch (error) {
        coreProblem(ctx, value, (error as Error).message.replace(/^renewBefore\./, ""));
      }
    }),
  );

const waveSize = z.union(
  [
    strict({ count: numberWhere(Number.isFinite, "a number") }),
    strict({ percent: numberWhere(Number.isFinite, "a number") }),
  ],
  { error: mustBe("{ count } or { percent }") },
);

const waves = strict({
  canarySize: z._default(numberWhere(Number.isFinite, "a number"), DEFAULT_WAVE_POLICY.canarySize),
  waves: z._default(z.array(waveSize, { error: mustBe("a list of wave sizes") }), DEFAULT_WAVE_POLICY.waves),
  canaryPreference: z.optional(z.array(z.string({ error: mustBe("a distribution id") }))),
}).check(
  z.superRefine((value, ctx) => {
    try {
      validateWavePolicy(value as WavePolicy);
    } catch (error) {
      coreProblem(ctx, value, (error as Error).message);
    }
  }),
);

const gate = strict({
  maxIncreasePoints: z._default(
    numberWhere(Number.isFinite, "a number"),
    DEFAULT_GATE_POLICY.maxIncreasePoints,
  ),
  floorPercent: z._default(numberWhere(Number.isFinite, "a number"), DEFAULT_GATE_POLICY.floorPercent),
  baselineWindowSeconds: z._default(seconds(60), 60 * 60),
  minDatapoints: z._default(numberWhere(Number.isFinite, "a number"), DEFAULT_GATE_POLICY.minDatapoints),
  metricsDeadlineSeconds: z._default(seconds(0), DEFAULT_GATE_POLICY.metricsDeadlineSeconds),
  periodSeconds: z._default(numberWhere(Number.isFinite, "a number"), DEFAULT_GATE_POLICY.periodSeconds),
  onNoData: z._default(oneOf(["fail", "pass"]), DEFAULT_GATE_POLICY.onNoData),
}).check(
  z.superRefine((value, ctx) => {
    for (const message of gatePolicyProblems(value as GatePolicy))
      coreProblem(ctx, value, message.replace(/^gate\./, ""));
  }),
);

/** "distributionId/originId", as the preflight names an origin. */
const ORIGIN_KEY = /^[A-Z0-9]{8,20}\/[^\s]{1,128}$/;

/**
 * How the preflight proves that an origin accepts the new certificate: "probe" (a real mTLS request from
 * the workflow), "acknowledgement" (origin-sync on the host acknowledged the rotation's bundle, for origins
 * the workflow cannot reach), or "both".
 */
const originProof = strict({
  proof: oneOf(PREFLIGHT_PROOFS),
  ackId: z.optional(text(ACK_ID, `an acknowledgement id (${ACK_ID_RULE})`)),
}).check(
  z.superRefine((value, ctx) => {
    if (value.proof !== "probe" && value.ackId === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["ackId"],
        input: value.ackId,
        message: `is required when the proof is "${value.proof}" (the id origin-sync acknowledges with, --ack-id)`,
      });
  }),
);

/** The rotation policy of a stage: how a rotation proceeds. Every field has a default. */
export const RotationPolicySchema = strict({
  validityDays: z._default(whole(1, 3650, " of days"), 90),
  renewBefore: z._default(renewBefore, DEFAULT_RENEW_BEFORE),
  waves: z._default(waves, { ...DEFAULT_WAVE_POLICY }),
  /** Manual-rollback window after each wave deployed, before its gate. */
  bakeSeconds: z._default(seconds(0), 15 * 60),
  deploy: z._default(
    strict({
      timeoutSeconds: z._default(seconds(1), 30 * 60),
      pollSeconds: z._default(seconds(1), 30),
    }).check(
      z.superRefine((d, ctx) => {
        // Judged only when both are valid on their own (each has its own problem otherwise).
        const valid = (v: unknown) =>
          Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SECONDS;
        if (valid(d.pollSeconds) && valid(d.timeoutSeconds) && d.pollSeconds > d.timeoutSeconds)
          ctx.addIssue({
            code: "custom",
            path: ["pollSeconds"],
            input: d.pollSeconds,
            message: `must not exceed deploy.timeoutSeconds (${d.timeoutSeconds}), got ${d.pollSeconds}`,
          });
      }),
    ),
    { timeoutSeconds: 30 * 60, pollSeconds: 30 },
  ),
  preflight: z._default(
    strict({
      timeoutSeconds: z._default(seconds(0), 15 * 60),
      intervalSeconds: z._default(seconds(1), 30),
      probePath: z._default(text(/^\//, 'a path starting with "/"'), "/"),
      /**
       * Which proof counts per origin (core/acknowledgement.ts), keyed by "distributionId/originId" or by
       * the origin's domain name (the first wins); an origin not listed is probed (absent: every origin).
       */
      proofs: z.optional(
        z.record(
          z.string().check(
            z.refine((key) => ORIGIN_KEY.test(key) || DOMAIN_NAME.test(key), {
              error: mustBe('"distributionId/originId" or a domain name'),
            }),
          ),
          originProof,
          {
            error: (issue) =>
              issue.code === "invalid_key"
                ? `must be named "distributionId/originId" or by a domain name, got ${JSON.stringify(issue.input)}`
                : mustBe('an object of origins ("distributionId/originId" or a domain name) to proofs')(
                    issue,
                  ),
          },
        ),
      ),
    }),
    { timeoutSeconds: 15 * 60, intervalSeconds: 30, probePath: "/" },
  ),
  /**
   * The health gate after each wave's bake (core/gate.ts): thresholds over the pre-rotation baseline, and
   * how it waits for CloudFront's late datapoints.
   */
  gate: z._default(gate, { ...DEFAULT_GATE_POLICY, baselineWindowSeconds: 60 * 60 }),
  approval: z._default(
    strict({
      mode: z._default(oneOf(["none", "between-waves"]), "none"),
      timeoutSeconds: z._default(seconds(1), 24 * 3600),
      onTimeout: z._default(oneOf(["rollback", "proceed"]), "rollback"),
    }),
    { mode: "none", timeoutSeconds: 24 * 3600, onTimeout: "rollback" },
  ),
  /** After the last wave: how long the retired certificate stays before it is deleted. */
  graceSeconds: z._default(seconds(0), 24 * 3600),
  revokeRetired: z._default(flag("true or false"), false),
});

export type RotationPolicy = z.output<typeof RotationPolicySchema>;

/** What the workflow runs with: the policy, the CA and where credentials live (linked as RotationSettings.rotation). */
export const RotationSettingsSchema = z.extend(RotationPolicySchema, {
  /** Private CA that issues replacements (the "next" CA during a migration). */
  authorityArn: privateCaArn(),
  /** Credential secret name = prefix + ACM certificate id. */
  credentialSecretPrefix: z._default(
    text(/^[A-Za-z0-9/_+=.@-]{0,400}$/, "a secret name prefix (characters Secrets Manager accepts)"),
    "mtls-rotator/credentials/",
  ),
  /**
   * The only distributions this deployment may change (MTLS_ROTATOR_DISTRIBUTION_IDS; IAM is scoped to
   * them). A certificate also presented elsewhere is refused at planning, before anything is issued.
   */
  distributionIds: z.optional(
    z
      .array(text(DISTRIBUTION_ID, "a CloudFront distribution id"), {
        error: mustBe("a list of CloudFront distribution ids"),
      })
      .check(z.minLength(1, { error: "must list at least one distribution when set" })),
  ),
  /** The longest a rotation may run (the durable execution's timeout); longer overrides are refused. */
  maxRotationSeconds: z.optional(whole(1, Number.MAX_SAFE_INTEGER, " of seconds")),
  /** Extra CA certificates trusted for origins' SERVER certificates when probing (private origins). */
  originServerCaPem: z.optional(z.string({ error: mustBe("PEM text") })),
});

export type RotationSettings = z.output<typeof RotationSettingsSchema>;
/** Rotation settings as written: every policy field may be left to its default. */
export type RotationSettingsInput = z.input<typeof RotationSettingsSchema>;

/** The defaults of every policy field (what a stage or a sandbox scenario leaves out). */
export const DEFAULT_SETTINGS: RotationPolicy = RotationPolicySchema.parse({});

export class SettingsError extends Error {
  override name = "SettingsError";
  /** Settings a retry cannot fix (functions/workflow/retry.ts). */
  readonly retryable = false;
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid rotation settings: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/**
 * Rotation settings with every default filled in, or SettingsError naming every problem. A field given as
 * `undefined` keeps its default (a config loader's `x: env.X ?? undefined`).
 */
export function resolveSettings(input: RotationSettingsInput): RotationSettings {
  const parsed = parseWith(RotationSettingsSchema, withoutUndefined(input));
  if (!parsed.ok) throw new SettingsError(parsed.problems);
  return parsed.value;
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, withoutUndefined(v)]),
  );
}

/**
 * The longest a rotation can take under this policy: every wave (canary, the listed sizes, a last wave of
 * whatever is left) deploying to its deadline, baking (or, if later, its gate waiting for datapoints until
 * the metrics deadline), waiting for approval; preflight to its deadline; a rollback's deploy wait; the grace
 * period. The deploy checks the stage's policy against the execution timeout with it; the API checks
 * per-request overrides with it.
 */
export function worstCaseSeconds(p: RotationPolicy): number {
  const waveCount = 1 + p.waves.waves.length + 1;
  const approvals = p.approval.mode === "between-waves" ? (waveCount - 1) * p.approval.timeoutSeconds : 0;
  return (
    p.preflight.timeoutSeconds +
    waveCount * (p.deploy.timeoutSeconds + Math.max(p.bakeSeconds, p.gate.metricsDeadlineSeconds)) +
    approvals +
    p.deploy.timeoutSeconds +
    p.graceSeconds
  );
}

/** Where the trust bundle goes besides the bundle object and secret (each optional). */
export const TrustTargetsSchema = strict({
  /** CloudFront viewer-mTLS trust stores (ids): at most 25 CAs / 64 KB, checked before anything is written. */
  cloudFrontTrustStoreIds: listOf(
    text(CLOUDFRONT_TRUST_STORE_ID, "a trust store id"),
    "trust store ids",
  ).check(
    // CloudFront allows 20 trust stores per account.
    z.maxLength(20, { error: "must list at most 20 CloudFront trust stores (an account's quota)" }),
  ),
  /** ALB (ELBv2) trust stores, by ARN, in the service region. */
  albTrustStoreArns: listOf(
    text(
      ALB_TRUST_STORE_ARN,
      "an ALB trust store ARN (arn:aws:elasticloadbalancing:<region>:<account>:truststore/<name>/<id>)",
    ),
    "ALB trust store ARNs",
  ),
  /** API Gateway custom domain names with mutual TLS, in the service region. */
  apiGatewayDomainNames: listOf(text(DOMAIN_NAME, "a domain name"), "domain names"),
  /** A signed (HMAC, timestamped) push of the bundle to custom origins; the key lives in Secrets Manager. */
  webhook: z.optional(
    strict({
      url: z.string({ error: mustBe("a URL") }).check(
        z.superRefine((url, ctx) => {
          const problem = webhookUrlProblem(url);
          if (problem)
            ctx.addIssue({ code: "custom", message: problem, input: url, params: { whole: true } });
        }),
      ),
      secretName: text(SECRET_NAME, "a secret name (the secret holding the webhook's HMAC key)"),
    }),
  ),
  /** Bus (name or ARN) that receives a TrustBundlePublished event (bundle SHA-256 and version, no PEM). */
  eventBus: z.optional(text(EVENT_BUS, "an event bus name or ARN")),
});

export type TrustTargets = z.output<typeof TrustTargetsSchema>;

export const NO_TRUST_TARGETS: TrustTargets = TrustTargetsSchema.parse({});

/** Where the trust bundle is published: the bundle object's key, the bundle secret, the other targets. */
export const TrustSchema = strict({
  bucketKey: text(BUNDLE_KEY, "an S3 object key"),
  bundleSecretName: text(SECRET_NAME, "a secret name"),
  targets: z._default(TrustTargetsSchema, NO_TRUST_TARGETS),
});

export type TrustSettings = z.output<typeof TrustSchema>;

/** How long a CA no managed certificate uses any more stays in the bundle, unless configured: 7 days. */
export const DEFAULT_CA_RETIREMENT_GRACE_SECONDS = 7 * 86_400;

/** Expiry tracking's policy (the scan and the ACM expiry event; linked as TrackingSettings). */
export const TrackingPolicySchema = strict({
  /** Days before expiry at which a managed certificate is alerted, once each. */
  thresholdsDays: z._default(z.array(whole(0, 3650, " of days"), { error: mustBe("a list of whole days") }), [
    ...DEFAULT_ALERT_THRESHOLDS_DAYS,
  ]),
  /** Private CAs being migrated away from: certificates they issued still count as managed. */
  previousAuthorityArns: listOf(privateCaArn(), "Private CA ARNs"),
  /**
   * Seconds a CA stays in the published trust bundle after the last managed certificate in service stopped
   * chaining to it (0: removed by the first scan that finds it unused).
   */
  caRetirementGraceSeconds: z._default(seconds(0), DEFAULT_CA_RETIREMENT_GRACE_SECONDS),
});

export type TrackingPolicy = z.output<typeof TrackingPolicySchema>;

export type { RenewBefore };
export { privateCaArn, renewBefore as RenewBeforeSchema };
