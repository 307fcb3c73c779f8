/**
 * Sandbox scenario files: the schema (zod), strict validation with messages that name the problem and the
 * path (`distributions[1].origins[0].trustsNewIssuer: expected "now" | "late" | "never", got "soon"`), and
 * the cross-checks a schema cannot express (names that must exist, behaviours that need a second CA, workflow
 * step names). Everything is checked before anything is started. The format is documented field by field in
 * docs/sandbox.md.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ACK_ID, ACK_ID_RULE } from "../functions/core/acknowledgement.ts";
import { PREFLIGHT_PROOFS } from "../functions/core/preflight.ts";
import { TRIGGER_PATHS } from "./concurrent-triggers.ts";
import { authorityNameProblem, parseSubject, printable } from "./distinguished-name.ts";
import { originFeatureProblems } from "./scenario-origins.ts";

// ---- schema ---------------------------------------------------------------------------------------------

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const NAME_RULE = "must be 1-40 lowercase letters, digits or '-', starting with a letter or digit";

const name = () => z.string().regex(NAME, { error: NAME_RULE });
const wholeNumber = (min: number, max: number) =>
  z.number().int({ error: "expected a whole number" }).min(min).max(max);
const number = (min: number, max: number) => z.number().min(min).max(max);

/** Key types of a client certificate: the two CloudFront presents. */
export const KEY_TYPES = ["RSA_2048", "EC_prime256v1"] as const;
const keyType = z.enum(KEY_TYPES);
/** Key types of a CA: the two above, and larger RSA keys and P-384 (whose leaves are RSA_2048 / P-256). */
export const CA_KEY_TYPES = ["RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"] as const;

/**
 * A string that must also pass `problem` (checked only within the length bounds, which report themselves):
 * the issue says what is wrong and shows the value, escaped.
 */
const checkedString = (min: number, max: number, problem: (value: string) => string | undefined) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      if (value.length < min || value.length > max) return;
      const why = problem(value);
      if (why) ctx.addIssue({ code: "custom", message: `${why}, got ${printable(value)}` });
    });

const authority = z.strictObject({
  /** Common name of the issuing CA (its root is named after it): a plain name, one attribute value. */
  name: checkedString(1, 64, authorityNameProblem),
  keyType: z.enum(CA_KEY_TYPES).optional(),
});

/**
 * The CA replacements come from. `rekeyed`: the same CA re-keyed under its name (authority's subject and
 * root, a new key): a CA is known by its key, not its name.
 */
const nextAuthority = authority.extend({ rekeyed: z.boolean().optional() });

const certificate = z.strictObject({
  name: name(),
  keyType: keyType.optional(),
  /** A distinguished name, "CN=<name>, O=<organization>" (./distinguished-name.ts). */
  subject: checkedString(1, 256, (value) => {
    const parsed = parseSubject(value);
    return parsed.ok ? undefined : `not a valid distinguished name: ${parsed.problem}`;
  }).optional(),
  dnsNames: z
    .array(z.string().regex(/^[a-z0-9*][a-z0-9.-]{0,252}$/, { error: "expected a DNS name" }))
    .max(10)
    .optional(),
  /** Days from now until the certificate expires (fractions allowed). */
  expiresInDays: number(0.01, 3650),
  /** Its whole lifetime in days (it was issued validityDays - expiresInDays days ago). */
  validityDays: wholeNumber(1, 3650).optional(),
});

export const TRUSTS_NEW_ISSUER = ["now", "late", "never"] as const;
/** Who can connect to an origin's address: anyone, or CloudFront's edge only (a firewall drops the rest). */
export const ORIGIN_REACHABLE = ["anywhere", "edge-only"] as const;
/** "<distribution>/<origin>", as origins are named in actions and expectations. */
const originPath = () =>
  z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, { error: 'expected "<distribution>/<origin>"' });

const origin = z.strictObject({
  name: name(),
  /** The certificate (by name) this origin's distribution presents to it; none when omitted. */
  certificate: name().optional(),
  trustsNewIssuer: z.enum(TRUSTS_NEW_ISSUER).optional(),
  /** With "late": seconds after the new bundle was published before this origin picks it up. */
  trustDelaySeconds: number(0, 120).optional(),
  stopsTrustingAfterSwap: z.boolean().optional(),
  slowMs: wholeNumber(0, 10_000).optional(),
  down: z.boolean().optional(),
  /** "edge-only": its address drops every connection but CloudFront's edge (the workflow's probes time out). */
  reachable: z.enum(ORIGIN_REACHABLE).optional(),
  /** The proof the preflight counts for it (the stage settings' preflight.proofs); "probe" when omitted. */
  proof: z.enum(PREFLIGHT_PROOFS).optional(),
  /** The id its origin-sync acknowledges with (--ack-id); default "<distribution>-<origin>". */
  ackId: z
    .string()
    .regex(ACK_ID, { error: `must be ${ACK_ID_RULE}` })
    .optional(),
});

const distribution = z.strictObject({
  name: name(),
  origins: z.array(origin).min(1).max(10),
});

const waveSize = z.union(
  [z.strictObject({ count: wholeNumber(1, 1000) }), z.strictObject({ percent: number(0.01, 100) })],
  {
    error: 'expected { "count": <whole number> } or { "percent": <number> }',
  },
);

const policy = z.strictObject({
  waves: z
    .strictObject({
      canarySize: wholeNumber(1, 1000).optional(),
      waves: z.array(waveSize).max(100).optional(),
      canaryPreference: z.array(name()).optional(),
    })
    .optional(),
  bakeSeconds: wholeNumber(0, 30).optional(),
  approval: z
    .strictObject({
      mode: z.enum(["none", "between-waves"]),
      timeoutSeconds: wholeNumber(1, 120).optional(),
      onTimeout: z.enum(["rollback", "proceed"]).optional(),
    })
    .optional(),
  gate: z
    .strictObject({
      maxIncreasePoints: number(0, 100).optional(),
      floorPercent: number(0, 100).optional(),
      minDatapoints: wholeNumber(1, 100).optional(),
      metricsDeadlineSeconds: wholeNumber(0, 120).optional(),
      onNoData: z.enum(["fail", "pass"]).optional(),
    })
    .optional(),
  metricsDelaySeconds: number(0, 30).optional(),
  preflight: z
    .strictObject({
      timeoutSeconds: wholeNumber(0, 120).optional(),
      intervalSeconds: wholeNumber(1, 30).optional(),
    })
    .optional(),
  deploySeconds: number(0, 20).optional(),
  graceSeconds: wholeNumber(0, 30).optional(),
  validityDays: wholeNumber(1, 3650).optional(),
  revokeRetired: z.boolean().optional(),
  caRetirementGraceSeconds: wholeNumber(0, 300).optional(),
});

/**
 * The sandbox's health gate over the stand-in edge's datapoints: one-second CloudWatch periods (the edge
 * publishes every 50 ms; AWS has one-minute periods), two of them per distribution after its swap deployed,
 * within 15 s of the deployment, else the wave fails (scenario files may change all but the period).
 */
export const SANDBOX_GATE = {
  periodSeconds: 1,
  minDatapoints: 2,
  metricsDeadlineSeconds: 15,
  onNoData: "fail",
} as const;
/** How late the CloudWatch stand-in shows AWS/* datapoints in the sandbox (AWS: minutes). */
export const SANDBOX_METRICS_DELAY_SECONDS = 1;

/** When a foreign write comes: before the rotation's UpdateDistribution of a swap, or of a rollback. */
export const FOREIGN_WRITE_WHEN = ["swap", "rollback"] as const;

/** The most triggers a concurrentTriggers action releases at once. */
export const MAX_CONCURRENT_TRIGGERS = 50;

/** The scenario's `seed` when it gives none. */
export const DEFAULT_SEED = 1;
export const MAX_SEED = 0xffff_ffff;

/** Stand-in services a fault can target (the SigV4 service names the stand-ins answer as). */
export const FAULT_SERVICES = [
  "acm",
  "acm-pca",
  "cloudfront",
  "secretsmanager",
  "s3",
  "sns",
  "monitoring",
] as const;

const fault = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.enum(["throttle", "5xx"]),
    service: z.enum(FAULT_SERVICES),
    operation: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]{1,63}$/, { error: "expected an API operation name, e.g. IssueCertificate" })
      .optional(),
    times: wholeNumber(1, 50).optional(),
    /** A share of the matching calls (seeded by the scenario's `seed`); `times` then caps the total. */
    rate: z.number().gt(0).max(1).optional(),
    /** With a rate: the most matching calls answered with the fault in a row. */
    maxConsecutive: wholeNumber(1, 50).optional(),
  }),
  z.strictObject({
    kind: z.literal("foreignWrite"),
    /** The distribution someone else changes (its Comment) right before the rotation's own write of it. */
    distribution: name(),
    when: z.enum(FOREIGN_WRITE_WHEN).optional(),
    times: wholeNumber(1, 10).optional(),
  }),
  z.strictObject({
    kind: z.literal("crashBetweenSteps"),
    step: z.string().min(1).max(120),
    when: z.enum(["before", "after"]).optional(),
    times: wholeNumber(1, 5).optional(),
    /** The crash's error is final: the runtime does not retry the step (it fails at once, out of retries). */
    final: z.boolean().optional(),
  }),
]);

/**
 * When a rollback action is delivered: at a control point (`baking`, `approval`: to its callback), or between
 * them (`deploying`: once every distribution of the wave is swapped and CloudFront deploys them; `gate`:
 * once the wave's bake is over and its gate waits for datapoints), where it is recorded for the next safe point.
 */
export const ROLLBACK_WHEN = ["baking", "approval", "deploying", "gate"] as const;
/** The rollbacks delivered between control points: the API records them (kind "requested"). */
export const REQUESTED_ROLLBACK_WHEN: ReadonlyArray<(typeof ROLLBACK_WHEN)[number]> = ["deploying", "gate"];

const action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("scan") }),
  z.strictObject({
    action: z.literal("rotate"),
    certificate: name(),
    reason: z.string().min(1).max(200).optional(),
  }),
  z.strictObject({ action: z.literal("dryRun"), certificate: name() }),
  z.strictObject({
    action: z.literal("rollback"),
    certificate: name().optional(),
    afterWave: wholeNumber(0, 1000).optional(),
    when: z.enum(ROLLBACK_WHEN).optional(),
    reason: z.string().min(1).max(200).optional(),
  }),
  z.strictObject({
    action: z.literal("approve"),
    certificate: name().optional(),
    wave: wholeNumber(0, 1000).optional(),
  }),
  z.strictObject({ action: z.literal("duplicateTriggers"), certificate: name() }),
  z.strictObject({
    action: z.literal("concurrentTriggers"),
    certificate: name(),
    count: wholeNumber(2, MAX_CONCURRENT_TRIGGERS),
    /** The paths the triggers take, in turn (trigger i takes via[i % length]); all three when omitted. */
    via: z.array(z.enum(TRIGGER_PATHS)).min(1).max(TRIGGER_PATHS.length).optional(),
  }),
  z.strictObject({
    action: z.literal("origin"),
    /** The origin that changes (sandbox/origin-changes.ts). */
    origin: originPath(),
    down: z.boolean().optional(),
    slowMs: wholeNumber(0, 10_000).optional(),
    /** With `when`: the rotation (of this certificate) whose moment the change waits for. */
    certificate: name().optional(),
    afterWave: wholeNumber(0, 1000).optional(),
    when: z.enum(ROLLBACK_WHEN).optional(),
  }),
  z.strictObject({
    action: z.literal("wait"),
    seconds: number(0, 120).optional(),
    for: z.enum(["rotations"]).optional(),
  }),
]);

/**
 * A distribution's 5xx error rate before the run (CloudWatch history): `errorRatePercent` for each of the
 * last `minutes` minutes, or `points` one minute each.
 */
const metricHistoryEntry = z.strictObject({
  distribution: name(),
  errorRatePercent: number(0, 100).optional(),
  minutes: wholeNumber(1, 60).optional(),
  points: z
    .array(z.strictObject({ minutesAgo: wholeNumber(1, 60), errorRatePercent: number(0, 100) }))
    .min(1)
    .max(60)
    .optional(),
  /** Requests each seeded minute stands for (default: what the edge sends the distribution in a minute). */
  requestsPerMinute: wholeNumber(1, 1_000_000).optional(),
});

export const ROTATION_STATUSES = [
  "started",
  "planned",
  "issued",
  "trust-published",
  "swapping",
  "finalizing",
  "completed",
  "rolling-back",
  "rolled-back",
  "aborted",
  "failed",
] as const;

export const ROTATION_REASONS = [
  "GateFailed",
  "ManualRollback",
  "ApprovalTimedOut",
  "PreflightRefused",
  "SwapFailed",
  "RollbackIncomplete",
  "DeployTimedOut",
  "IssuanceFailed",
  "AlreadyRotating",
  "Unexpected",
] as const;

export const NOTIFICATION_EVENTS = [
  "certificate-expiring",
  "rotation-started",
  "trust-published",
  "wave-completed",
  "rotation-completed",
  "rolled-back",
  "rotation-failed",
  "rotation-aborted",
  "drift-found",
  "ca-expiring",
  "validity-capped",
] as const;

const authorityRef = z.enum(["authority", "nextAuthority"]);

/** The phases the report times (RotationReport.phases). */
const PHASE_NAME = /^(plan|issue|trust|preflight|wave (0|[1-9]\d{0,3})|rollback|finalize)$/;

const expectations = z.strictObject({
  rotations: z
    .array(
      z.strictObject({
        certificate: name(),
        status: z.enum(ROTATION_STATUSES),
        reason: z.enum(ROTATION_REASONS).optional(),
        /** Key type of the certificate the rotation had issued. */
        keyType: keyType.optional(),
        /** Whether it waited for distributions another rotation was changing (history waiting-for-distributions). */
        waited: z.boolean().optional(),
        /** The longest each named phase of the report (plan, preflight, wave 0, rollback, ...) may take, in seconds. */
        maxPhaseSeconds: z
          .record(
            z.string().regex(PHASE_NAME, {
              error:
                'expected a phase: "plan", "issue", "trust", "preflight", "wave <n>", "rollback" or "finalize"',
            }),
            number(0, 300),
          )
          .optional(),
      }),
    )
    .optional(),
  dryRuns: z
    .array(
      z.strictObject({
        certificate: name(),
        /** Distribution names per wave, canary first (order within a wave is not significant). */
        waves: z.array(z.array(name()).min(1)).max(100).optional(),
        /** Key type the plan gives the replacement. */
        keyType: keyType.optional(),
      }),
    )
    .optional(),
  rotationCount: wholeNumber(0, 1000).optional(),
  maxRefusals: wholeNumber(0, 1_000_000).optional(),
  refusalsOnlyAt: z.array(originPath()).optional(),
  issuedCertificates: wholeNumber(0, 1000).optional(),
  presenting: z.record(name(), z.enum(["new", "old"])).optional(),
  awsCalls: z
    .record(
      z.string().regex(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/, { error: 'expected "<service>:<Operation>"' }),
      wholeNumber(0, 1_000_000),
    )
    .optional(),
  trustBundle: z
    .strictObject({
      contains: z.array(authorityRef).optional(),
      excludes: z.array(authorityRef).optional(),
    })
    .optional(),
  notifications: z.array(z.enum(NOTIFICATION_EVENTS)).optional(),
  /** Origins whose acknowledgement was written and counted by the latest rotation's preflight. */
  acknowledged: z.array(originPath()).optional(),
});

export const scenarioSchema = z.strictObject({
  name: name(),
  description: z.string().max(500).optional(),
  origins: z.enum(["auto", "nginx", "node"]).optional(),
  timeoutSeconds: wholeNumber(5, 300).optional(),
  /** Seeds every random choice the scenario asks for (fault rates), so a run is reproducible. */
  seed: wholeNumber(0, MAX_SEED).optional(),
  authority,
  nextAuthority: nextAuthority.optional(),
  certificates: z.array(certificate).min(1).max(20),
  distributions: z.array(distribution).min(1).max(20),
  policy: policy.optional(),
  faults: z.array(fault).max(20).optional(),
  metricHistory: z.array(metricHistoryEntry).max(20).optional(),
  actions: z.array(action).min(1).max(50),
  expect: expectations.optional(),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioAction = Scenario["actions"][number];
export type ScenarioFault = NonNullable<Scenario["faults"]>[number];
export type ScenarioOrigin = Scenario["distributions"][number]["origins"][number];
export type ScenarioExpectations = NonNullable<Scenario["expect"]>;
export type KeyType = (typeof KEY_TYPES)[number];
export type CaKeyType = (typeof CA_KEY_TYPES)[number];

/**
 * A certificate's key type when the scenario does not name one: of its CA's key type (RSA_2048 for any RSA
 * CA, P-256 for any EC CA), as ACM imports a certificate only with its signing CA's key type.
 */
export function defaultKeyType(authorityKeyType: CaKeyType | undefined): KeyType {
  return (authorityKeyType ?? "EC_prime256v1").startsWith("RSA_") ? "RSA_2048" : "EC_prime256v1";
}

// ---- validation -----------------------------------------------------------------------------------------

/** The scenario cannot be run; `problems` lists every reason, each starting with the path it is about. */
export class ScenarioError extends Error {
  override name = "ScenarioError";
  readonly problems: string[];
  readonly source: string;
  constructor(source: string, problems: string[]) {
    super(`invalid scenario ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
    this.source = source;
  }
}

type Path = ReadonlyArray<PropertyKey>;

/** `distributions[1].origins[0].trustsNewIssuer`; "(scenario)" for the document itself. */
export function formatPath(path: Path): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(scenario)" : out;
}

function quote(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(" | ");
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  record: "an object",
};

/** One zod issue as `path: message`. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = (extra: PropertyKey[] = []) => formatPath([...issue.path, ...extra]);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (input === undefined) return [`${at()}: required (${expected})`];
      if (issue.expected === "int") return [`${at()}: expected a whole number, got ${describeValue(input)}`];
      return [`${at()}: expected ${expected}, got ${describeValue(input)}`];
    }
    case "invalid_value":
      // Report version 1 listed a dry run as a rotation with status "dry-run"; a dry run starts none now.
      if (input === "dry-run" && /^expect\.rotations\[\d+\]\.status$/.test(at()))
        return [
          `${at()}: "dry-run" is not a rotation status: a dry run starts no rotation, it answers the plan` +
            ` (as POST /rotations with dryRun does); expect it with "dryRuns": [{ "certificate": "<name>" }]`,
        ];
      return [
        `${at()}: expected ${quote(issue.values)}${input === undefined ? "" : `, got ${describeValue(input)}`}`,
      ];
    case "unrecognized_keys":
      return issue.keys.map((key) => `${at([key])}: unknown field`);
    case "invalid_union": {
      const discriminated = issue as { discriminator?: string; options?: unknown[] };
      if (discriminated.options) {
        const given = (input as Record<string, unknown> | undefined)?.[discriminated.discriminator ?? ""];
        return [
          `${at()}: ${given === undefined ? "required, " : ""}expected ${quote(discriminated.options)}` +
            `${given === undefined ? "" : `, got ${describeValue(given)}`}`,
        ];
      }
      return [`${at()}: ${issue.message}`];
    }
    case "too_small": {
      const bound = Number(issue.minimum);
      if (issue.origin === "array") return [`${at()}: needs at least ${bound} item${bound === 1 ? "" : "s"}`];
      if (issue.origin === "string") return [`${at()}: must not be empty`];
      return [`${at()}: must be ${issue.inclusive ? ">=" : ">"} ${bound}, got ${describeValue(input)}`];
    }
    case "too_big": {
      const bound = Number(issue.maximum);
      if (issue.origin === "array")
        return [`${at()}: at most ${bound} item${bound === 1 ? "" : "s"} allowed`];
      if (issue.origin === "string") return [`${at()}: at most ${bound} characters allowed`];
      return [`${at()}: must be ${issue.inclusive ? "<=" : "<"} ${bound}, got ${describeValue(input)}`];
    }
    case "invalid_format":
      return [`${at()}: ${issue.message}${input === undefined ? "" : `, got ${describeValue(input)}`}`];
    case "invalid_key":
      return issue.issues.flatMap((inner) =>
        describeIssue({ ...inner, path: [...issue.path] } as z.core.$ZodIssue),
      );
    default:
      return [`${at()}: ${issue.message}`];
  }
}

/** The workflow's step names (functions/workflow/phases/); `<d>` is a distribution name. */
const STEP_PATTERNS: Array<{ pattern: string; regex: (d: string) => RegExp }> = [
  ...[
    "lock",
    "start",
    "plan",
    "issue:key",
    "issue:pace:pca",
    "issue:request",
    "issue:pace:import",
    "issue:import",
    "issue:complete",
    "trust:publish",
    "finalize:promote",
    "finalize:retire",
    "complete",
    "unlock",
    "notify:started",
    "notify:trust",
    "notify:end",
    "notify:validity-capped",
    "abort",
    "abort:retire-new",
    "abort:secret",
    "rollback:requested",
    "rollback:secret",
    "rollback:retire-new",
    "rollback:done",
    "stop:presenting",
    "stop",
  ].map((step) => ({ pattern: step, regex: () => new RegExp(`^${step}$`) })),
  { pattern: "issue:pace:import:<slot>", regex: () => /^issue:pace:import:[2-9]\d*$/ },
  { pattern: "issue:import:<slot>", regex: () => /^issue:import:[2-9]\d*$/ },
  { pattern: "preflight:<attempt>", regex: () => /^preflight:[1-9]\d*$/ },
  { pattern: "swap:<wave>:<distribution>", regex: (d) => new RegExp(`^swap:\\d+:(${d})$`) },
  { pattern: "wave:<wave>:deploy:<poll>", regex: () => /^wave:\d+:deploy:[1-9]\d*$/ },
  { pattern: "deployed:<wave>", regex: () => /^deployed:\d+$/ },
  { pattern: "bake:<wave>:open|close", regex: () => /^bake:\d+:(open|close)$/ },
  { pattern: "gate:<wave>:metrics:<poll>", regex: () => /^gate:\d+:metrics:[1-9]\d*$/ },
  { pattern: "gate:<wave>", regex: () => /^gate:\d+$/ },
  { pattern: "notify:wave:<wave>", regex: () => /^notify:wave:\d+$/ },
  { pattern: "approval:<wave>:open|close", regex: () => /^approval:\d+:(open|close)$/ },
  { pattern: "approved:<wave>", regex: () => /^approved:\d+$/ },
  { pattern: "rollback:<distribution>", regex: (d) => new RegExp(`^rollback:(${d})(:result)?$`) },
  { pattern: "rollback:deploy:<poll>", regex: () => /^rollback:deploy:[1-9]\d*$/ },
];

/** The step names a crash can target, for messages and docs. */
export const STEP_NAMES = STEP_PATTERNS.map((s) => s.pattern);

function isKnownStep(step: string, distributionNames: string[]): boolean {
  const names = distributionNames.length > 0 ? distributionNames.join("|") : "(?!)";
  return STEP_PATTERNS.some((s) => s.regex(names).test(step));
}

/** A throttle / 5xx fault's fields that do not go together. */
function awsFaultProblems(f: { rate?: number; times?: number; maxConsecutive?: number }) {
  const problems: Array<{ field: string; message: string }> = [];
  if (f.maxConsecutive !== undefined && f.rate === undefined)
    problems.push({
      field: "maxConsecutive",
      message: "only applies with a rate (without one, the first `times` matching calls fail, in a row)",
    });
  if (f.rate === 1 && f.times === undefined && f.maxConsecutive === undefined)
    problems.push({
      field: "rate",
      message:
        "1 without times or maxConsecutive answers every matching call with the fault for good, so nothing " +
        "that needs the call could ever succeed: give times (the most faults in total) or maxConsecutive " +
        "(the most in a row)",
    });
  return problems;
}

/** Checks that need the whole document: references, uniqueness, behaviours that need a second CA. */
function crossCheck(scenario: Scenario): string[] {
  const problems: string[] = [];
  const at = (path: Path, message: string) => problems.push(`${formatPath(path)}: ${message}`);

  if (scenario.nextAuthority?.rekeyed && scenario.nextAuthority.name !== scenario.authority.name)
    at(
      ["nextAuthority", "name"],
      `a re-keyed CA keeps its name: expected ${JSON.stringify(scenario.authority.name)} (authority.name), got ${JSON.stringify(scenario.nextAuthority.name)}`,
    );

  const certificates = new Set<string>();
  const authorityKeyType = scenario.authority.keyType ?? "EC_prime256v1";
  scenario.certificates.forEach((c, i) => {
    if (certificates.has(c.name)) at(["certificates", i, "name"], `duplicate certificate name "${c.name}"`);
    certificates.add(c.name);
    if (c.keyType !== undefined && c.keyType !== defaultKeyType(authorityKeyType)) {
      at(
        ["certificates", i, "keyType"],
        `"${c.keyType}" cannot come from authority (key ${authorityKeyType}): ACM imports a certificate only ` +
          `with its signing CA's key type; use "${defaultKeyType(authorityKeyType)}", or give authority.keyType ` +
          "of the certificate's type",
      );
    }
    const validity = c.validityDays ?? 90;
    if (c.expiresInDays >= validity) {
      at(
        ["certificates", i, "expiresInDays"],
        `must be less than validityDays (${validity}${c.validityDays === undefined ? ", the default" : ""}): ` +
          "the certificate must already be valid",
      );
    }
  });
  const knownCertificates = [...certificates].map((n) => JSON.stringify(n)).join(", ");
  const certificateRef = (path: Path, ref: string | undefined) => {
    if (ref !== undefined && !certificates.has(ref))
      at(path, `no certificate named "${ref}" (certificates: ${knownCertificates})`);
  };

  const distributions = new Set<string>();
  const originPaths = new Set<string>();
  let presented = 0;
  scenario.distributions.forEach((d, i) => {
    if (distributions.has(d.name))
      at(["distributions", i, "name"], `duplicate distribution name "${d.name}"`);
    distributions.add(d.name);
    const origins = new Set<string>();
    d.origins.forEach((o, j) => {
      const path = ["distributions", i, "origins", j];
      if (origins.has(o.name))
        at([...path, "name"], `duplicate origin name "${o.name}" in distribution "${d.name}"`);
      origins.add(o.name);
      originPaths.add(`${d.name}/${o.name}`);
      certificateRef([...path, "certificate"], o.certificate);
      if (o.certificate !== undefined) presented += 1;
      const trusts = o.trustsNewIssuer ?? "now";
      if (trusts !== "now" && !scenario.nextAuthority) {
        at(
          [...path, "trustsNewIssuer"],
          `"${trusts}" needs a nextAuthority: replacements come from the same CA the origin already trusts`,
        );
      }
      if (trusts === "late" && o.trustDelaySeconds === undefined)
        at([...path, "trustDelaySeconds"], `required when trustsNewIssuer is "late"`);
      if (trusts !== "late" && o.trustDelaySeconds !== undefined)
        at([...path, "trustDelaySeconds"], `only applies when trustsNewIssuer is "late"`);
      if (o.stopsTrustingAfterSwap && !scenario.nextAuthority) {
        at(
          [...path, "stopsTrustingAfterSwap"],
          "needs a nextAuthority: with one CA, distrusting the new certificate distrusts the old one too",
        );
      }
      if (o.stopsTrustingAfterSwap && trusts !== "now")
        at([...path, "stopsTrustingAfterSwap"], `only applies to an origin that trusts the new issuer "now"`);
      if (o.down && (o.slowMs !== undefined || o.stopsTrustingAfterSwap || o.trustsNewIssuer !== undefined))
        at(
          [...path, "down"],
          "a down origin takes no other behaviour (trustsNewIssuer, stopsTrustingAfterSwap, slowMs)",
        );
    });
  });
  if (presented === 0) at(["distributions"], "no origin presents a certificate: there is nothing to rotate");

  for (const [i, preferred] of (scenario.policy?.waves?.canaryPreference ?? []).entries()) {
    if (!distributions.has(preferred))
      at(["policy", "waves", "canaryPreference", i], `no distribution named "${preferred}"`);
  }

  const distributionNames = [...distributions];
  scenario.faults?.forEach((f, i) => {
    if (f.kind === "throttle" || f.kind === "5xx") {
      for (const problem of awsFaultProblems(f)) at(["faults", i, problem.field], problem.message);
      return;
    }
    if (f.kind === "foreignWrite") {
      if (!distributions.has(f.distribution))
        at(
          ["faults", i, "distribution"],
          `no distribution named "${f.distribution}" (distributions: ${distributionNames.join(", ")})`,
        );
      const when = f.when ?? "swap";
      const first = scenario.faults!.findIndex(
        (g) => g.kind === "foreignWrite" && g.distribution === f.distribution && (g.when ?? "swap") === when,
      );
      if (first !== i)
        at(
          ["faults", i],
          `a second foreignWrite to "${f.distribution}" during a ${when} (faults[${first}]): give that one more times`,
        );
      return;
    }
    if (f.kind !== "crashBetweenSteps") return;
    if (!isKnownStep(f.step, distributionNames)) {
      at(
        ["faults", i, "step"],
        `unknown workflow step ${JSON.stringify(f.step)} (steps: ${STEP_NAMES.join(", ")}; ` +
          `<distribution> is a distribution name: ${distributionNames.join(", ")})`,
      );
    }
  });

  scenario.metricHistory?.forEach((h, i) => {
    const path = ["metricHistory", i];
    if (!distributions.has(h.distribution))
      at(
        [...path, "distribution"],
        `no distribution named "${h.distribution}" (distributions: ${distributionNames.join(", ")})`,
      );
    const first = scenario.metricHistory!.findIndex((g) => g.distribution === h.distribution);
    if (first !== i)
      at([...path, "distribution"], `"${h.distribution}" already has a history (metricHistory[${first}])`);
    if ((h.errorRatePercent === undefined) === (h.points === undefined))
      at(path, `needs exactly one of "errorRatePercent" (with "minutes") or "points"`);
    if (h.minutes !== undefined && h.errorRatePercent === undefined)
      at([...path, "minutes"], `only applies with "errorRatePercent"`);
    h.points?.forEach((p, j) => {
      const earlier = h.points!.findIndex((q) => q.minutesAgo === p.minutesAgo);
      if (earlier !== j)
        at([...path, "points", j, "minutesAgo"], `minute ${p.minutesAgo} is already points[${earlier}]`);
    });
  });

  // The gate counts second-long datapoints in the sandbox: minDatapoints of them need minDatapoints + 1 s.
  const gate = scenario.policy?.gate;
  const minDatapoints = gate?.minDatapoints ?? SANDBOX_GATE.minDatapoints;
  const deadline = gate?.metricsDeadlineSeconds ?? SANDBOX_GATE.metricsDeadlineSeconds;
  if ((gate?.onNoData ?? "fail") === "fail" && deadline < minDatapoints + 1)
    at(
      ["policy", "gate", "metricsDeadlineSeconds"],
      `${deadline} s is too short for ${minDatapoints} one-second datapoint(s) after a deployment (at least ${minDatapoints + 1}): with onNoData "fail" every gate would fail`,
    );

  const approval = scenario.policy?.approval?.mode === "between-waves";
  scenario.actions.forEach((a, i) => {
    const path = ["actions", i];
    if ("certificate" in a) certificateRef([...path, "certificate"], a.certificate);
    if (a.action === "wait" && (a.seconds === undefined) === (a.for === undefined))
      at(path, `a wait needs exactly one of "seconds" or "for"`);
    if (a.action === "concurrentTriggers")
      a.via?.forEach((way, j) => {
        if (a.via!.indexOf(way) !== j) at([...path, "via", j], `"${way}" is listed twice`);
      });
    if (a.action === "approve" && !approval)
      at(path, `approve needs policy.approval.mode "between-waves" (nothing ever waits for an approval)`);
    if ((a.action === "rollback" || a.action === "origin") && a.when === "approval" && !approval)
      at([...path, "when"], `"approval" needs policy.approval.mode "between-waves"`);
    const requested =
      a.action === "rollback" && a.when !== undefined && REQUESTED_ROLLBACK_WHEN.includes(a.when);
    if (
      a.action === "rollback" &&
      a.when !== "approval" &&
      !requested &&
      (scenario.policy?.bakeSeconds ?? 2) === 0 &&
      !approval
    )
      at(path, "a rollback needs a bake window (policy.bakeSeconds > 0) or approvals to be delivered to");
    if (a.action === "rollback" && a.when === "deploying" && (scenario.policy?.deploySeconds ?? 1) < 2)
      at(
        [...path, "when"],
        `"deploying" needs policy.deploySeconds >= 2 (got ${scenario.policy?.deploySeconds ?? 1}${scenario.policy?.deploySeconds === undefined ? ", the default" : ""}): the rollback must arrive while CloudFront still deploys the wave`,
      );
  });
  if (certificates.size > 1) {
    scenario.actions.forEach((a, i) => {
      if (
        (a.action === "rollback" || a.action === "approve" || (a.action === "origin" && a.when)) &&
        a.certificate === undefined
      )
        at(["actions", i, "certificate"], "required when the scenario has more than one certificate");
    });
  }

  const expect = scenario.expect;
  for (const [i, r] of (expect?.rotations ?? []).entries())
    certificateRef(["expect", "rotations", i, "certificate"], r.certificate);
  for (const [i, d] of (expect?.dryRuns ?? []).entries()) {
    certificateRef(["expect", "dryRuns", i, "certificate"], d.certificate);
    for (const [w, wave] of (d.waves ?? []).entries())
      for (const [j, distribution] of wave.entries())
        if (!distributions.has(distribution))
          at(["expect", "dryRuns", i, "waves", w, j], `no distribution named "${distribution}"`);
  }
  for (const certificate of Object.keys(expect?.presenting ?? {}))
    certificateRef(["expect", "presenting", certificate], certificate);
  expect?.refusalsOnlyAt?.forEach((path, i) => {
    if (!originPaths.has(path))
      at(["expect", "refusalsOnlyAt", i], `no origin "${path}" (origins: ${[...originPaths].join(", ")})`);
  });
  originFeatureProblems(scenario, at);
  for (const key of ["contains", "excludes"] as const) {
    expect?.trustBundle?.[key]?.forEach((ref, i) => {
      if (ref === "nextAuthority" && !scenario.nextAuthority)
        at(["expect", "trustBundle", key, i], `"nextAuthority" is not configured`);
    });
  }
  return problems;
}

/** A parsed and checked scenario, or ScenarioError listing every problem. */
export function parseScenario(document: unknown, source = "scenario"): Scenario {
  const parsed = scenarioSchema.safeParse(document, { reportInput: true });
  if (!parsed.success) {
    throw new ScenarioError(source, parsed.error.issues.flatMap(describeIssue));
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new ScenarioError(source, problems);
  return parsed.data;
}

/** Read, parse (JSON) and validate a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ScenarioError(path, [
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    ]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseScenario(document, path);
}
