/**
 * Deploy time and cold start cannot disagree. infra/ checks a stage's settings with deploySettings
 * (functions/config/stage.ts) before it declares anything, and links the result to the functions
 * (infra/rotation.ts RotationSettings, infra/tracking.ts TrackingSettings); every function parses what is
 * linked to it again at cold start (functions/wiring/: wiringConfig, rotationsApiConfig, trackingConfig).
 * Here the same inputs go through both, over a table of mutations of every linked field (boundaries just
 * inside and just outside each range, wrong types, missing fields, good and bad list entries) and a seeded
 * pseudo-random mix of them on every stage:
 *
 * (a) whatever deploySettings accepts, every cold-start parser accepts as infra links it, and resolves to
 *     exactly the values the deploy produced;
 * (b) whatever deploySettings refuses for a rule both share, every cold-start parser refuses too, given the
 *     same value where infra links it, with the same problem text after the path prefix: deploy
 *     `rotation.x` is `RotationSettings.rotation.x` (and `TrackingSettings.x` for authorityArn and
 *     renewBefore), `trust.x` is `RotationSettings.trust.x` / `TrackingSettings.trust.x`, `tracking.x` is
 *     `TrackingSettings.x` (and `RotationSettings.previousAuthorityArns`);
 * (c) only the rules in DEPLOY_ONLY refuse at deploy alone (stricter there on purpose); for each of them cold
 *     start accepts the linked values. Nothing else may differ (one shared rule is worded for the deployer at
 *     deploy time, a missing CA: WORDED_FOR_THE_DEPLOYER).
 */
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { WiringError, type WiringSources } from "../../functions/config/links.ts";
import {
  type DeploySettings,
  DeploySettingsError,
  deploySettings,
  SHELL_SOURCES,
  type StageSettings,
} from "../../functions/config/stage.ts";
import { rotationsApiConfig } from "../../functions/wiring/api-rotations.ts";
import { viewerRevocationListConfig } from "../../functions/wiring/api-viewer-revocations.ts";
import { trackingConfig } from "../../functions/wiring/tracking.ts";
import { wiringConfig } from "../../functions/wiring/workflow.ts";
import {
  ACCOUNT,
  AUTHORITY_ARN,
  importInfra,
  isolateStubs,
  KEY_ARN,
  loadInfra,
  REGION,
  stageSst,
  VIEWER_ENV,
} from "../support/sst-infra.ts";

isolateStubs();

const DAY = 86_400;
const MAX_SECONDS = 366 * DAY;
const CA = AUTHORITY_ARN;
const CA_ELSEWHERE = `arn:aws:acm-pca:eu-west-1:${ACCOUNT}:certificate-authority/22222222-3333-4444-8555-666666666666`;
const PREVIOUS = `arn:aws:acm-pca:us-east-1:${ACCOUNT}:certificate-authority/11111111-2222-4333-8444-555555555555`;
const PREVIOUS_2 = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/33333333-4444-4555-8666-777777777777`;
const alb = (region: string, name = "origins", id = "0123456789abcdef") =>
  `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:truststore/${name}/${id}`;
const ALB_HOME = alb(REGION);
const ALB_ELSEWHERE = alb("us-west-2");
const DISTRIBUTION = "E2QWRUHAPOMQZL";
const DISTRIBUTION_2 = "E3ABCDEFGHIJKL";

/** The stages every variant runs on: the table's own, and one without an entry (its `default`). */
const STAGE_NAMES = ["production", "staging", "alice"] as const;

type Env = Record<string, string | undefined>;
type Stages = Record<string, StageSettings> & { default: StageSettings };
type Tree = Record<string, unknown>;

/** The stage table exactly as infra/settings.ts has it (loaded against SST's stand-in globals). */
let STAGES: Stages;
/** What infra links for each stage, unmutated. */
const baseline = new Map<string, Tree>();

beforeAll(async () => {
  stageSst("production");
  STAGES = structuredClone((await importInfra("settings")).STAGES as Stages);
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  for (const stage of STAGE_NAMES) baseline.set(stage, linksOf(deploySettings(stage, baseEnv(), STAGES)));
});

/** The deploying shell of every variant before its mutations: only the CA (infra/settings.ts reads more). */
const baseEnv = (): Env => ({ MTLS_ROTATOR_AUTHORITY_ARN: CA });

/**
 * What infra links to the functions from a stage's checked settings (infra/rotation.ts rotationSettingsLink,
 * infra/tracking.ts trackingSettingsLink) and the other linked resources, as the functions read them: SST
 * passes linked properties as JSON.
 */
function linksOf(deployed: DeploySettings): Tree {
  const stage = deployed.stage;
  return JSON.parse(
    JSON.stringify({
      RotationTable: { name: `mtls-rotator-${stage}-RotationsTable-abcdef` },
      TrustBundleBucket: { name: `mtls-rotator-${stage}-trustbundlesbucket-abcdef` },
      NotificationTopic: {
        arn: `arn:aws:sns:${deployed.region}:${ACCOUNT}:mtls-rotator-${stage}-Notifications`,
      },
      RotationWorkflowStarter: { name: `mtls-rotator-${stage}-RotationWorkflowHandler`, qualifier: "3" },
      RotationSettings: {
        rotation: deployed.rotation,
        trust: deployed.trust,
        credentialsKeyArn: KEY_ARN,
        workflowRoleArn: `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-${stage}-RotationWorkflowRole`,
        // The viewer CA migration's role reads credential secrets only to prove passthrough origins.
        credentialReaderRoleArns: deployed.viewerTrustDomains.some(
          (d) => (d.passthrough?.origins.length ?? 0) > 0,
        )
          ? [`arn:aws:iam::${ACCOUNT}:role/mtls-rotator-${stage}-ViewerMigrationWorkflowRole`]
          : [],
        previousAuthorityArns: deployed.tracking.previousAuthorityArns,
      },
      TrackingSettings: {
        authorityArn: deployed.rotation.authorityArn,
        previousAuthorityArns: deployed.tracking.previousAuthorityArns,
        renewBefore: deployed.rotation.renewBefore,
        thresholdsDays: deployed.tracking.thresholdsDays,
        trust: deployed.trust,
        caRetirementGraceSeconds: deployed.tracking.caRetirementGraceSeconds,
        viewerTrustDomains: deployed.viewerTrustDomains,
      },
      ViewerRevocationSettings: deployed.viewerRevocations,
      ViewerSettings: { domains: deployed.viewerTrustDomains },
    }),
  ) as Tree;
}

// ---------------------------------------------------------------------------------------------------------
// Mutations: one value put where the deploy reads it, and the same value where infra links it.

/** A field left out (deleted), not set to undefined. */
const MISSING = Symbol("missing");

interface Mutation {
  label: string;
  /** A variant changes each of these at most once (fields that feed the same linked value share one). */
  roots: string[];
  /** Where deploySettings reads it: the stage's entry of the table, or the deploying shell. */
  deploy(entry: Tree, env: Env): void;
  /** Where infra links the same value, and the function's environment (nothing for a field no function reads). */
  link(links: Tree, coldEnv: Env): void;
}

function setPath(target: Tree, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  const last = path.at(-1)!;
  if (value === MISSING) delete node[last];
  else node[last] = structuredClone(value);
}

function show(value: unknown): string {
  if (value === MISSING) return "(missing)";
  if (typeof value === "number") return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
}

const split = (path: string) => path.split(".");

/** STAGES[stage].policy.<path> ↔ RotationSettings.rotation.<path> (renewBefore: TrackingSettings too). */
function policy(path: string, value: unknown): Mutation {
  return {
    label: `policy.${path} = ${show(value)}`,
    roots: [`policy.${split(path)[0]}`],
    deploy: (entry) => setPath(entry, ["policy", ...split(path)], value),
    link: (links) => {
      setPath(links, ["RotationSettings", "rotation", ...split(path)], value);
      if (split(path)[0] === "renewBefore") setPath(links, ["TrackingSettings", ...split(path)], value);
    },
  };
}

/** The Private CA, from the deploying shell (`linked`: what the deploy makes of it) or the stage's entry. */
function authority(value: string | typeof MISSING, from: "env" | "stage" = "env", linked = value): Mutation {
  return {
    label: `authorityArn (${from === "env" ? "MTLS_ROTATOR_AUTHORITY_ARN" : "STAGES"}) = ${show(value)}`,
    roots: ["authorityArn"],
    deploy: (entry, env) => {
      if (from === "stage") {
        delete env.MTLS_ROTATOR_AUTHORITY_ARN;
        setPath(entry, ["authorityArn"], value);
      } else if (value === MISSING) delete env.MTLS_ROTATOR_AUTHORITY_ARN;
      else env.MTLS_ROTATOR_AUTHORITY_ARN = value;
    },
    link: (links) => {
      setPath(links, ["RotationSettings", "rotation", "authorityArn"], linked);
      setPath(links, ["TrackingSettings", "authorityArn"], linked);
    },
  };
}

/** STAGES[stage].distributionIds ↔ RotationSettings.rotation.distributionIds. */
function distributions(value: unknown, linked = value): Mutation {
  return {
    label: `distributionIds = ${show(value)}`,
    roots: ["distributionIds"],
    deploy: (entry) => setPath(entry, ["distributionIds"], value),
    link: (links) => setPath(links, ["RotationSettings", "rotation", "distributionIds"], linked),
  };
}

const TARGET_LINKS = [
  ["RotationSettings", "trust", "targets"],
  ["TrackingSettings", "trust", "targets"],
];

/** STAGES[stage].trustTargets.<key> ↔ RotationSettings.trust.targets.<key> and TrackingSettings.trust.targets.<key>. */
function target(key: string, value: unknown, linked = value): Mutation {
  return {
    label: `trustTargets.${key} = ${show(value)}`,
    roots: [`trustTargets.${key}`],
    deploy: (entry) => setPath(entry, ["trustTargets", key], value),
    link: (links) => {
      for (const at of TARGET_LINKS) setPath(links, [...at, key], linked);
    },
  };
}

/** STAGES[stage].tracking.<key> ↔ TrackingSettings.<key> (previousAuthorityArns: RotationSettings too). */
function tracking(key: string, value: unknown, linked = value): Mutation {
  return {
    label: `tracking.${key} = ${show(value)}`,
    roots: [`tracking.${key}`],
    deploy: (entry) => setPath(entry, ["tracking", key], value),
    link: (links) => {
      setPath(links, ["TrackingSettings", key], linked);
      if (key === "previousAuthorityArns") setPath(links, ["RotationSettings", key], linked);
    },
  };
}

/** A variable of the deploying shell, and where the deploy links what it makes of it. */
function shell(
  variable: string,
  value: string,
  root: string,
  linked: [path: string[], value: unknown][],
): Mutation {
  return {
    label: `${variable}=${show(value)}`,
    roots: [root],
    deploy: (_entry, env) => {
      env[variable] = value;
    },
    link: (links) => {
      for (const [path, v] of linked) setPath(links, path, v);
    },
  };
}
const shellTarget = (variable: string, value: string, key: string, linked: unknown) =>
  shell(
    variable,
    value,
    `trustTargets.${key}`,
    TARGET_LINKS.map((at) => [[...at, key], linked]),
  );
const shellWebhook = (url: string, secretName: string | undefined, linked: unknown) => ({
  ...shell(
    "MTLS_ROTATOR_WEBHOOK_URL",
    url,
    "trustTargets.webhook",
    TARGET_LINKS.map((at) => [[...at, "webhook"], linked]),
  ),
  label: `MTLS_ROTATOR_WEBHOOK_URL=${show(url)}, MTLS_ROTATOR_WEBHOOK_SECRET_NAME=${show(secretName ?? MISSING)}`,
  deploy: (_entry: Tree, env: Env) => {
    env.MTLS_ROTATOR_WEBHOOK_URL = url;
    if (secretName !== undefined) env.MTLS_ROTATOR_WEBHOOK_SECRET_NAME = secretName;
  },
});

/** The viewer revocation store, from the deploying shell or the stage's entry ↔ ViewerRevocationSettings.storeArn. */
function revocationStore(value: unknown, from: "env" | "stage" = "env", linked = value): Mutation {
  return {
    label: `viewer revocation store (${from === "env" ? "MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN" : "STAGES"}) = ${show(value)}`,
    roots: ["viewerRevocationStoreArn"],
    deploy: (entry, env) => {
      if (from === "env") env.MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN = value as string;
      else setPath(entry, ["viewerRevocationStoreArn"], value);
    },
    link: (links) => setPath(links, ["ViewerRevocationSettings", "storeArn"], linked),
  };
}
const STORE = `arn:aws:cloudfront::${ACCOUNT}:key-value-store/0f9c5e6a-1111-2222-3333-444455556666`;

// Fields only the deployment reads (DEPLOY_ONLY's rules): nothing of them is linked but what is noted.

/** The home region (sst.config.ts providers.aws.region): the functions run there (AWS_REGION). */
function homeRegion(region: string, allowUnlisted?: string): Mutation {
  return {
    label: `MTLS_ROTATOR_REGION=${region}${allowUnlisted === undefined ? "" : `, MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=${allowUnlisted}`}`,
    roots: ["region"],
    deploy: (_entry, env) => {
      env.MTLS_ROTATOR_REGION = region;
      if (allowUnlisted !== undefined) env.MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION = allowUnlisted;
    },
    link: (_links, coldEnv) => {
      coldEnv.AWS_REGION = region;
    },
  };
}

function schedule(value: string, from: "env" | "stage" = "stage"): Mutation {
  return {
    label: `scan schedule (${from === "env" ? "MTLS_ROTATOR_SCAN_SCHEDULE" : "STAGES"}) = ${show(value)}`,
    roots: ["schedule"],
    deploy: (entry, env) => {
      if (from === "env") env.MTLS_ROTATOR_SCAN_SCHEDULE = value;
      else setPath(entry, ["tracking", "schedule"], value);
    },
    link: () => {},
  };
}

/** STAGES[stage].workflow.<key>; the execution timeout is linked as RotationSettings.rotation.maxRotationSeconds. */
function workflow(key: "executionTimeoutDays" | "retentionDays", value: number): Mutation {
  return {
    label: `workflow.${key} = ${show(value)}`,
    roots: [`workflow.${key}`],
    deploy: (entry) => setPath(entry, ["workflow", key], value),
    link: (links) => {
      // Derived only from a valid timeout (1..366 days); an invalid one is refused at deploy by its own
      // rule and derives nothing (functions/config/stage.ts).
      if (key !== "executionTimeoutDays") return;
      const rotation = (links as { RotationSettings: { rotation: Record<string, unknown> } }).RotationSettings
        .rotation;
      if (Number.isInteger(value) && value >= 1 && value <= 366) rotation.maxRotationSeconds = value * DAY;
      else delete rotation.maxRotationSeconds;
    },
  };
}

function emails(value: string | string[]): Mutation {
  return {
    label: `notification emails (${typeof value === "string" ? "MTLS_ROTATOR_NOTIFY_EMAILS" : "STAGES"}) = ${show(value)}`,
    roots: ["emails"],
    deploy: (entry, env) => {
      if (typeof value === "string") env.MTLS_ROTATOR_NOTIFY_EMAILS = value;
      else setPath(entry, ["notifyEmails"], value);
    },
    link: () => {},
  };
}

// ---------------------------------------------------------------------------------------------------------
// The comparison.

/**
 * The rules only a deployment has, and nothing else: each is stricter at deploy on purpose (what AWS allows
 * the deployment to create), and cold start accepts what they refuse.
 */
const DEPLOY_ONLY = [
  { rule: "home region", pattern: /^(home region |MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION must be 1)/ },
  { rule: "scan schedule", pattern: /^scan schedule / },
  {
    rule: "rotation.gate.periodSeconds a multiple of 60",
    pattern:
      /^rotation\.gate\.periodSeconds must be a multiple of 60 \(CloudFront's one-minute metrics\), got /,
  },
  {
    rule: "workflow.executionTimeoutDays and retentionDays",
    pattern: /^workflow\.(executionTimeoutDays must be 1\.\.366|retentionDays must be 1\.\.90), got /,
  },
  {
    rule: "worst-case rotation within the execution timeout",
    pattern:
      /^a rotation can take up to [\d.]+ days under this policy, longer than workflow\.executionTimeoutDays \(\S+\): the execution would time out mid-rotation$/,
  },
  {
    rule: "ALB trust stores in the home region",
    pattern: /^ALB trust store \S+ is in \S+, not in the service region \S+ \(MTLS_ROTATOR_REGION\)$/,
  },
  { rule: "notification emails", pattern: /^notification email "[^"]*" is not an address$/ },
] as const;

const deployOnlyRule = (problem: string) => DEPLOY_ONLY.find(({ pattern }) => pattern.test(problem))?.rule;

/**
 * Where the deploying shell can set a linked value: deploySettings names the variable after a problem with it
 * (`… (MTLS_ROTATOR_X)`), which is no part of the rule.
 */
const SHELL_VARIABLES = SHELL_SOURCES;

/**
 * The one shared rule the deploy words for the deployer (what to set), not as its path: a missing CA. The
 * rule is the same (authorityArn is required); the comparison reads the deploy's sentence as the path's.
 */
const WORDED_FOR_THE_DEPLOYER: { deploy: RegExp; rule: string }[] = [
  {
    deploy:
      /^no Private CA: set MTLS_ROTATOR_AUTHORITY_ARN=arn:aws:acm-pca:<region>:<account>:certificate-authority\/<id> \(or authorityArn in STAGES\["[^"]*"\]\)$/,
    rule: "rotation.authorityArn is missing",
  },
];

/** A deploy problem without the deploying shell's variable, and in its path's words. */
function canonical(problem: string): string {
  const source = SHELL_VARIABLES.find(([prefix]) => problem.startsWith(prefix));
  const suffix = source ? ` (${source[1]})` : "";
  const bare = suffix && problem.endsWith(suffix) ? problem.slice(0, -suffix.length) : problem;
  return WORDED_FOR_THE_DEPLOYER.find(({ deploy }) => deploy.test(bare))?.rule ?? bare;
}

/** A cold-start reader of the linked settings. */
interface ColdStart {
  name: string;
  /**
   * RotationSettings (the workflow, POST /rotations), TrackingSettings (the scan, the ACM event) or
   * ViewerRevocationSettings (the /viewer-revocations routes).
   */
  reads: "RotationSettings" | "TrackingSettings" | "ViewerRevocationSettings";
  /** The settings it resolved (throws WiringError). */
  read(sources: WiringSources): Record<string, unknown>;
  /** The same settings as the deploy produced them. */
  deployed(deployed: DeploySettings): Record<string, unknown>;
}

const authorityArnsOf = (d: DeploySettings) => [d.rotation.authorityArn, ...d.tracking.previousAuthorityArns];

const COLD_STARTS: ColdStart[] = [
  {
    name: "wiringConfig (rotation workflow)",
    reads: "RotationSettings",
    read: (sources) => {
      const c = wiringConfig(sources);
      const trust = { bucketKey: c.bundleKey, bundleSecretName: c.bundleSecretName, targets: c.targets };
      return { region: c.region, rotation: c.settings, trust, credentialsKeyArn: c.credentialsKeyArn };
    },
    deployed: (d) => ({ region: d.region, rotation: d.rotation, trust: d.trust, credentialsKeyArn: KEY_ARN }),
  },
  {
    name: "rotationsApiConfig (POST /rotations)",
    reads: "RotationSettings",
    read: (sources) => {
      const c = rotationsApiConfig(sources);
      const trust = { bucketKey: c.bundleKey, bundleSecretName: c.bundleSecretName, targets: c.targets };
      return { rotation: c.settings, trust, authorityArns: c.authorityArns };
    },
    deployed: (d) => ({ rotation: d.rotation, trust: d.trust, authorityArns: authorityArnsOf(d) }),
  },
  {
    name: "trackingConfig (scan, ACM expiry event)",
    reads: "TrackingSettings",
    read: (sources) => {
      const c = trackingConfig(sources);
      const trust = { bucketKey: c.bundleKey, bundleSecretName: c.bundleSecretName, targets: c.targets };
      return {
        authorityArns: c.authorityArns,
        renewBefore: c.renewBefore,
        thresholdsDays: c.thresholdsDays,
        caRetirementGraceSeconds: c.caRetirementGraceSeconds,
        trust,
      };
    },
    deployed: (d) => ({
      authorityArns: authorityArnsOf(d),
      renewBefore: d.rotation.renewBefore,
      thresholdsDays: d.tracking.thresholdsDays,
      caRetirementGraceSeconds: d.tracking.caRetirementGraceSeconds,
      trust: d.trust,
    }),
  },
  {
    name: "viewerRevocationListConfig (/viewer-revocations)",
    reads: "ViewerRevocationSettings",
    read: (sources) => ({ storeArn: viewerRevocationListConfig(sources).storeArn }),
    deployed: (d) => ({ storeArn: d.viewerRevocations.storeArn }),
  },
];

/**
 * A deploy problem (canonical) as `reads`'s link names it at cold start, or undefined when that link does
 * not carry the field. The first field after the root decides.
 */
function coldStartPath(reads: ColdStart["reads"], problem: string): string | undefined {
  const match = /^(rotation|trust|tracking|viewerRevocations)((?:\.[A-Za-z]+)?)(?=[.[ :]|$)([\s\S]*)$/.exec(
    problem,
  );
  if (!match) return undefined;
  const [, root, field, rest] = match as unknown as [string, string, string, string];
  if ((root === "viewerRevocations") !== (reads === "ViewerRevocationSettings")) return undefined;
  if (reads === "ViewerRevocationSettings") return `ViewerRevocationSettings${field}${rest}`;
  if (reads === "RotationSettings") {
    if (root === "rotation") return `RotationSettings.rotation${field}${rest}`;
    if (root === "trust") return `RotationSettings.trust${field}${rest}`;
    return field === ".previousAuthorityArns" ? `RotationSettings${field}${rest}` : undefined;
  }
  if (root === "rotation")
    return field === ".authorityArn" || field === ".renewBefore"
      ? `TrackingSettings${field}${rest}`
      : undefined;
  if (root === "trust") return `TrackingSettings.trust${field}${rest}`;
  return `TrackingSettings${field}${rest}`;
}

interface Variant {
  stage: string;
  mutations: Mutation[];
}

type Deploy = (stage: string, env: Env, stages: Stages) => DeploySettings;

type Outcome =
  | { verdict: "accepted"; deployed: DeploySettings }
  | { verdict: "refused" | "deploy-only"; problems: string[] }
  | { verdict: "crashed"; error: string };

function deployVariant(variant: Variant, deploy: Deploy = deploySettings): Outcome {
  const stages = structuredClone(STAGES);
  const entry = (stages[variant.stage] ?? stages.default) as unknown as Tree;
  const env = baseEnv();
  for (const mutation of variant.mutations) mutation.deploy(entry, env);
  try {
    return { verdict: "accepted", deployed: deploy(variant.stage, env, stages) };
  } catch (error) {
    if (!(error instanceof DeploySettingsError))
      return { verdict: "crashed", error: `${(error as Error).name}: ${(error as Error).message}` };
    const problems = error.problems.map(canonical);
    return { verdict: problems.every(deployOnlyRule) ? "deploy-only" : "refused", problems };
  }
}

function readColdStart(coldStart: ColdStart, sources: WiringSources) {
  try {
    return { ok: true as const, value: coldStart.read(sources) };
  } catch (error) {
    if (error instanceof WiringError) return { ok: false as const, problems: error.problems };
    return { ok: false as const, problems: [`threw ${(error as Error).name}: ${(error as Error).message}`] };
  }
}

/** Each element of `a` not matched by one of `b` (a multiset difference). */
function without(a: readonly string[], b: readonly string[]): string[] {
  const left = [...b];
  return a.filter((item) => {
    const i = left.indexOf(item);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** How deploy time and cold start disagree on `variant` (none: they agree). */
function disagreements(
  variant: Variant,
  { coldStarts = COLD_STARTS, deploy = deploySettings }: { coldStarts?: ColdStart[]; deploy?: Deploy } = {},
): string[] {
  const outcome = deployVariant(variant, deploy);
  const found: string[] = [];
  if (outcome.verdict === "crashed") return [`the deploy threw ${outcome.error}, not a DeploySettingsError`];

  if (outcome.verdict === "accepted") {
    // (a) What infra links from the accepted settings: each reader accepts it and resolves the same values.
    const sources = { resource: linksOf(outcome.deployed), env: { AWS_REGION: outcome.deployed.region } };
    for (const coldStart of coldStarts) {
      const read = readColdStart(coldStart, sources);
      if (!read.ok) {
        found.push(`${coldStart.name} refuses what the deploy accepted: ${read.problems.join("; ")}`);
        continue;
      }
      for (const [key, value] of Object.entries(coldStart.deployed(outcome.deployed)))
        if (!isDeepStrictEqual(read.value[key], value))
          found.push(
            `${coldStart.name} resolves ${key} to ${JSON.stringify(read.value[key])}, the deploy to ${JSON.stringify(value)}`,
          );
    }
    return found;
  }

  // (b), (c) The same values where infra links them: each reader refuses exactly the deploy's shared problems.
  const shared = outcome.problems.filter((problem) => !deployOnlyRule(problem));
  for (const problem of shared)
    if (COLD_STARTS.every(({ reads }) => coldStartPath(reads, problem) === undefined))
      found.push(`the deploy refuses "${problem}": not a deploy-only rule, and at no linked path`);
  const resource = structuredClone(baseline.get(variant.stage) ?? baseline.get("alice")!);
  const env: Env = { AWS_REGION: REGION };
  for (const mutation of variant.mutations) mutation.link(resource, env);
  for (const coldStart of coldStarts) {
    const expected = shared.flatMap((problem) => coldStartPath(coldStart.reads, problem) ?? []);
    const read = readColdStart(coldStart, { resource, env });
    const actual = read.ok ? [] : read.problems;
    for (const problem of without(expected, actual))
      found.push(`${coldStart.name} does not refuse "${problem}" (the deploy does)`);
    for (const problem of without(actual, expected))
      found.push(`${coldStart.name} refuses "${problem}" (the deploy does not)`);
  }
  return found;
}

/** `found`, at most its first 6 (a list spread into characters has hundreds), for a readable failure. */
function firstOf(found: string[]): string[] {
  return found.length > 6 ? [...found.slice(0, 6), `… and ${found.length - 6} more`] : found;
}

// ---------------------------------------------------------------------------------------------------------
// The variants.

type Verdict = "accepted" | "refused" | "deploy-only";
const accepted = (...mutations: Mutation[]) => ({ mutations, verdict: "accepted" as Verdict });
const refused = (...mutations: Mutation[]) => ({ mutations, verdict: "refused" as Verdict });

const ids = (n: number) => Array.from({ length: n }, (_, i) => `ts-${i}`);
const label63 = "a".repeat(63);

/** Mutations of every linked field, on production (its policy is the baseline the verdicts assume). */
const LINKED_FIELDS = [
  // The rotation policy (RotationSettings.rotation; renewBefore also TrackingSettings.renewBefore).
  accepted(policy("validityDays", 1)),
  accepted(policy("validityDays", 3650)),
  accepted(policy("validityDays", MISSING)),
  refused(policy("validityDays", 0)),
  refused(policy("validityDays", 3651)),
  refused(policy("validityDays", 1.5)),
  refused(policy("validityDays", "90")),
  refused(policy("validityDays", null)),
  accepted(policy("renewBefore", { fractionOfLifetime: 0.5 })),
  accepted(policy("renewBefore", { fractionOfLifetime: 0.999 })),
  accepted(policy("renewBefore", { durationMs: 86_400_000 })),
  accepted(policy("renewBefore", MISSING)),
  refused(policy("renewBefore", { fractionOfLifetime: 0 })),
  refused(policy("renewBefore", { fractionOfLifetime: 1 })),
  refused(policy("renewBefore", { durationMs: 0 })),
  refused(policy("renewBefore", { durationMs: -1 })),
  refused(policy("renewBefore", {})),
  refused(policy("renewBefore", { fractionOfLifetime: 0.5, durationMs: 1 })),
  refused(policy("renewBefore", "1/3")),
  accepted(policy("waves", { canarySize: 2, waves: [{ count: 1 }, { percent: 100 }] })),
  accepted(policy("waves", { canarySize: 1, waves: [] })),
  accepted(policy("waves", { canarySize: 1, waves: [{ percent: 50 }], canaryPreference: [DISTRIBUTION] })),
  accepted(policy("waves", MISSING)),
  refused(policy("waves.canarySize", 0)),
  refused(policy("waves.canarySize", 1.5)),
  refused(policy("waves.canarySize", "1")),
  refused(policy("waves.waves", [{ percent: 0 }])),
  refused(policy("waves.waves", [{ percent: 101 }])),
  refused(policy("waves.waves", [{ count: 0 }])),
  refused(policy("waves.waves", [{ percent: 50, count: 1 }])),
  refused(policy("waves", "canary first")),
  refused(policy("waves", { canarySize: 1, size: 3 })),
  accepted(policy("bakeSeconds", 0)),
  accepted(policy("bakeSeconds", MISSING)),
  refused(policy("bakeSeconds", -1)),
  refused(policy("bakeSeconds", 1.5)),
  refused(policy("bakeSeconds", MAX_SECONDS + 1)),
  refused(policy("bakeSeconds", "900")),
  accepted(policy("deploy", { timeoutSeconds: 30, pollSeconds: 30 })),
  accepted(policy("deploy", { pollSeconds: 1 })),
  accepted(policy("deploy", MISSING)),
  refused(policy("deploy", { timeoutSeconds: 29, pollSeconds: 30 })),
  refused(policy("deploy", { timeoutSeconds: 0, pollSeconds: 30 })),
  refused(policy("deploy.pollSeconds", 0)),
  refused(policy("deploy", "30 minutes")),
  accepted(policy("preflight.timeoutSeconds", 0)),
  accepted(policy("preflight.intervalSeconds", 1)),
  accepted(policy("preflight.probePath", "/healthz")),
  refused(policy("preflight.timeoutSeconds", -1)),
  refused(policy("preflight.intervalSeconds", 0)),
  refused(policy("preflight.probePath", "healthz")),
  refused(policy("preflight.probePath", "")),
  refused(policy("preflight.probePath", 5)),
  accepted(policy("gate.maxIncreasePoints", 0)),
  accepted(policy("gate.maxIncreasePoints", 100)),
  refused(policy("gate.maxIncreasePoints", 100.5)),
  refused(policy("gate.maxIncreasePoints", -0.1)),
  accepted(policy("gate.floorPercent", 100)),
  refused(policy("gate.floorPercent", 101)),
  accepted(policy("gate.baselineWindowSeconds", 60)),
  refused(policy("gate.baselineWindowSeconds", 59)),
  accepted(policy("gate.minDatapoints", 1)),
  refused(policy("gate.minDatapoints", 0)),
  refused(policy("gate.minDatapoints", 1.5)),
  accepted(policy("gate.metricsDeadlineSeconds", 360)),
  accepted(policy("gate.metricsDeadlineSeconds", 240 * 60)),
  refused(policy("gate.metricsDeadlineSeconds", 359)),
  refused(policy("gate.metricsDeadlineSeconds", 240 * 60 + 1)),
  refused(policy("gate.metricsDeadlineSeconds", -1)),
  accepted(policy("gate.periodSeconds", 120)),
  refused(policy("gate.periodSeconds", 90)),
  refused(policy("gate.periodSeconds", 0)),
  refused(policy("gate.periodSeconds", 1)),
  accepted(policy("gate.onNoData", "pass")),
  refused(policy("gate.onNoData", "ignore")),
  refused(policy("gate", { threshold: 1 })),
  accepted(policy("gate", MISSING)),
  accepted(policy("approval", { mode: "none" })),
  accepted(policy("approval.timeoutSeconds", 1)),
  accepted(policy("approval.onTimeout", "proceed")),
  refused(policy("approval.mode", "always")),
  refused(policy("approval.timeoutSeconds", 0)),
  refused(policy("approval.onTimeout", "roll-back")),
  accepted(policy("graceSeconds", 0)),
  accepted(policy("graceSeconds", 20 * DAY)),
  refused(policy("graceSeconds", -1)),
  refused(policy("graceSeconds", MAX_SECONDS + 1)),
  accepted(policy("revokeRetired", false)),
  refused(policy("revokeRetired", "yes")),
  refused(policy("revokeRetired", 1)),
  accepted(policy("originServerCaPem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")),
  refused(policy("originServerCaPem", 5)),
  refused(policy("bakeSecs", 5)),
  // The Private CA (RotationSettings.rotation.authorityArn, TrackingSettings.authorityArn).
  accepted(authority(CA_ELSEWHERE)),
  accepted(authority(CA.replace("arn:aws:", "arn:aws-cn:"))),
  accepted(authority(` ${CA} `, "env", CA)),
  accepted(authority(CA, "stage")),
  refused(authority("arn:aws:acm:us-east-1:1:x")),
  refused(authority(CA.toUpperCase().replace("ARN:AWS:ACM-PCA", "arn:aws:acm-pca"))),
  refused(authority(CA.slice(0, -1))),
  refused(authority("not-an-arn", "stage")),
  refused(authority("", "env", MISSING)),
  refused(authority("   ", "env", MISSING)),
  refused(authority(MISSING)),
  // The distributions it may change (RotationSettings.rotation.distributionIds).
  accepted(distributions([DISTRIBUTION])),
  accepted(distributions([DISTRIBUTION, DISTRIBUTION], [DISTRIBUTION])),
  accepted(distributions(["ABCDEFGH", "A".repeat(20)])),
  accepted(distributions(MISSING)),
  accepted(
    shell("MTLS_ROTATOR_DISTRIBUTION_IDS", ` ${DISTRIBUTION},${DISTRIBUTION_2} `, "distributionIds", [
      [
        ["RotationSettings", "rotation", "distributionIds"],
        [DISTRIBUTION, DISTRIBUTION_2],
      ],
    ]),
  ),
  refused(distributions([])),
  refused(distributions(["e2qwruhapomqzl"])),
  refused(distributions(["ABCDEFG"])),
  refused(distributions(["A".repeat(21)])),
  refused(distributions([DISTRIBUTION, 7])),
  refused(distributions(DISTRIBUTION)),
  refused(
    shell("MTLS_ROTATOR_DISTRIBUTION_IDS", `${DISTRIBUTION},bad`, "distributionIds", [
      [
        ["RotationSettings", "rotation", "distributionIds"],
        [DISTRIBUTION, "bad"],
      ],
    ]),
  ),
  // Trust targets (RotationSettings.trust.targets, TrackingSettings.trust.targets).
  accepted(target("cloudFrontTrustStoreIds", ["ts-1"])),
  accepted(target("cloudFrontTrustStoreIds", ["a".repeat(64)])),
  accepted(target("cloudFrontTrustStoreIds", ids(20))),
  accepted(target("cloudFrontTrustStoreIds", ["ts-1", "ts-1"], ["ts-1"])),
  accepted(target("cloudFrontTrustStoreIds", MISSING)),
  accepted(
    shellTarget("MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS", "ts-1, ts-2", "cloudFrontTrustStoreIds", [
      "ts-1",
      "ts-2",
    ]),
  ),
  refused(target("cloudFrontTrustStoreIds", ["a".repeat(65)])),
  refused(target("cloudFrontTrustStoreIds", ["has space"])),
  refused(target("cloudFrontTrustStoreIds", [""])),
  refused(target("cloudFrontTrustStoreIds", ids(21))),
  refused(target("cloudFrontTrustStoreIds", "ts-1")),
  refused(target("cloudFrontTrustStoreIds", 5)),
  refused(
    shellTarget("MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS", "ts-1,has space", "cloudFrontTrustStoreIds", [
      "ts-1",
      "has space",
    ]),
  ),
  accepted(target("albTrustStoreArns", [ALB_HOME])),
  accepted(target("albTrustStoreArns", [ALB_HOME, alb(REGION, "b".repeat(32), "fedcba9876543210")])),
  refused(
    target("albTrustStoreArns", [`arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/x/y`]),
  ),
  refused(target("albTrustStoreArns", [alb(REGION, "origins", "0123456789abcde")])),
  refused(target("albTrustStoreArns", [alb(REGION, "b".repeat(33))])),
  refused(target("albTrustStoreArns", ALB_HOME)),
  refused(shellTarget("MTLS_ROTATOR_ALB_TRUST_STORE_ARNS", "nope", "albTrustStoreArns", ["nope"])),
  accepted(target("apiGatewayDomainNames", ["api.example.com"])),
  accepted(target("apiGatewayDomainNames", [`${label63}.example.com`])),
  accepted(target("apiGatewayDomainNames", ["API.Example.COM"], ["api.example.com"])),
  accepted(
    shellTarget(
      "MTLS_ROTATOR_APIGATEWAY_DOMAINS",
      "Api.Example.com, b.example.org",
      "apiGatewayDomainNames",
      ["api.example.com", "b.example.org"],
    ),
  ),
  refused(target("apiGatewayDomainNames", ["not a domain"])),
  refused(target("apiGatewayDomainNames", ["localhost"])),
  refused(target("apiGatewayDomainNames", ["a-.example.com"])),
  refused(target("apiGatewayDomainNames", [`a${label63}.example.com`])),
  refused(target("apiGatewayDomainNames", "api.example.com")),
  accepted(target("webhook", { url: "https://origins.example.com/hook", secretName: "mtls/webhook" })),
  accepted(target("webhook", { url: "http://127.0.0.1:8080/hook", secretName: "mtls/webhook" })),
  accepted(target("webhook", { url: "http://localhost/hook", secretName: "mtls/webhook" })),
  accepted(target("webhook", { url: "http://[::1]:9000/", secretName: "mtls/webhook" })),
  accepted(target("webhook", { url: "https://origins.example.com/", secretName: "s".repeat(512) })),
  accepted(
    shellWebhook("https://origins.example.com/hook", "mtls/webhook", {
      url: "https://origins.example.com/hook",
      secretName: "mtls/webhook",
    }),
  ),
  refused(target("webhook", { url: "http://origins.example.com/hook", secretName: "mtls/webhook" })),
  refused(target("webhook", { url: "ftp://origins.example.com/hook", secretName: "mtls/webhook" })),
  refused(target("webhook", { url: "https://user:pw@origins.example.com/", secretName: "mtls/webhook" })),
  refused(target("webhook", { url: "not a url", secretName: "mtls/webhook" })),
  refused(target("webhook", { url: "https://origins.example.com/", secretName: "" })),
  refused(target("webhook", { url: "https://origins.example.com/", secretName: "has space" })),
  refused(target("webhook", { url: "https://origins.example.com/", secretName: "s".repeat(513) })),
  refused(target("webhook", { url: "https://origins.example.com/" })),
  refused(target("webhook", { url: "https://origins.example.com/", secretName: "s", retries: 3 })),
  refused(target("webhook", "https://origins.example.com/")),
  refused(
    shellWebhook("https://origins.example.com/hook", undefined, {
      url: "https://origins.example.com/hook",
      secretName: "",
    }),
  ),
  accepted(target("eventBus", "mtls-rotator.bundles")),
  accepted(target("eventBus", "default")),
  accepted(target("eventBus", `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/mtls_rotator-bundles`)),
  accepted(target("eventBus", "b".repeat(256))),
  accepted(target("eventBus", "", MISSING)),
  refused(target("eventBus", "team/bus")),
  refused(target("eventBus", "bus name")),
  refused(target("eventBus", "partner/example.com/bus")),
  refused(target("eventBus", `arn:aws:sns:us-east-1:${ACCOUNT}:topic`)),
  refused(target("eventBus", "b".repeat(257))),
  refused(target("eventBus", 7)),
  refused(shellTarget("MTLS_ROTATOR_EVENT_BUS", "team/bus", "eventBus", "team/bus")),
  // The viewer revocation store (ViewerRevocationSettings.storeArn): optional, by AWS's endpoint rules.
  accepted(revocationStore(STORE)),
  accepted(revocationStore(STORE, "stage")),
  accepted(revocationStore(`arn:aws:cloudfront::${ACCOUNT}:key-value-store/${"a".repeat(64)}`, "stage")),
  accepted(revocationStore("  ", "env", MISSING)),
  refused(revocationStore(`arn:aws:cloudfront::${ACCOUNT}:key-value-store/${"a".repeat(65)}`)),
  refused(revocationStore(`arn:aws-cn:cloudfront::${ACCOUNT}:key-value-store/kvs`)),
  refused(revocationStore(`arn:aws:cloudfront:us-east-1:${ACCOUNT}:key-value-store/kvs`)),
  refused(revocationStore(`arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`, "stage")),
  refused(revocationStore(42, "stage")),
  // Expiry tracking (TrackingSettings; previousAuthorityArns also RotationSettings.previousAuthorityArns).
  accepted(tracking("thresholdsDays", [30, 7, 1])),
  accepted(tracking("thresholdsDays", [0, 3650])),
  accepted(tracking("thresholdsDays", [7, 7, 30])),
  accepted(tracking("thresholdsDays", [])),
  refused(tracking("thresholdsDays", [3651])),
  refused(tracking("thresholdsDays", [30, -1])),
  refused(tracking("thresholdsDays", [1.5])),
  refused(tracking("thresholdsDays", "30")),
  accepted(tracking("previousAuthorityArns", [PREVIOUS])),
  accepted(tracking("previousAuthorityArns", [PREVIOUS, PREVIOUS_2])),
  accepted(tracking("previousAuthorityArns", [PREVIOUS, PREVIOUS], [PREVIOUS])),
  // The configured CA is no previous one: the deploy drops it (never combined with another CA here).
  accepted({
    ...tracking("previousAuthorityArns", [CA, PREVIOUS], [PREVIOUS]),
    roots: ["authorityArn", "tracking.previousAuthorityArns"],
  }),
  accepted(
    shell(
      "MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS",
      `${PREVIOUS}, ${PREVIOUS_2}`,
      "tracking.previousAuthorityArns",
      [
        [
          ["TrackingSettings", "previousAuthorityArns"],
          [PREVIOUS, PREVIOUS_2],
        ],
        [
          ["RotationSettings", "previousAuthorityArns"],
          [PREVIOUS, PREVIOUS_2],
        ],
      ],
    ),
  ),
  // Bad entries unlike any CA value above: the deploy drops the configured CA from this list before checking it.
  refused(tracking("previousAuthorityArns", ["not-a-previous-ca"])),
  refused(tracking("previousAuthorityArns", [PREVIOUS, "arn:aws:acm:us-east-1:1:previous"])),
  refused(tracking("previousAuthorityArns", PREVIOUS)),
  refused(
    shell("MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS", `${PREVIOUS},bad`, "tracking.previousAuthorityArns", [
      [
        ["TrackingSettings", "previousAuthorityArns"],
        [PREVIOUS, "bad"],
      ],
      [
        ["RotationSettings", "previousAuthorityArns"],
        [PREVIOUS, "bad"],
      ],
    ]),
  ),
  accepted(tracking("caRetirementGraceSeconds", 0)),
  accepted(tracking("caRetirementGraceSeconds", MAX_SECONDS)),
  refused(tracking("caRetirementGraceSeconds", -1)),
  refused(tracking("caRetirementGraceSeconds", 1.5)),
  refused(tracking("caRetirementGraceSeconds", MAX_SECONDS + 1)),
  refused(tracking("caRetirementGraceSeconds", "7 days")),
  // The execution timeout is linked as maxRotationSeconds (its days in seconds): none at all is refused by both.
  // Several at once: every problem of every field, on both sides.
  refused(
    policy("bakeSeconds", -1),
    authority("arn:aws:acm:us-east-1:1:x"),
    target("eventBus", "team/bus"),
    tracking("thresholdsDays", [-1]),
  ),
  refused(policy("gate.minDatapoints", 0), tracking("previousAuthorityArns", ["nope"]), distributions([])),
  refused(authority(MISSING), target("cloudFrontTrustStoreIds", ["has space"])),
].map((c) => ({ ...c, name: `${c.mutations.map((m) => m.label).join(" + ")}: ${c.verdict}` }));

/** For each rule only a deployment has: mutations it refuses (and nothing else), and some it lets through. */
const DEPLOY_ONLY_CASES: { rule: (typeof DEPLOY_ONLY)[number]["rule"]; mutations: Mutation[] }[] = [
  { rule: "home region", mutations: [homeRegion("us-east-1")] },
  { rule: "home region", mutations: [homeRegion("eu-west-1")] },
  { rule: "home region", mutations: [homeRegion("mars")] },
  { rule: "home region", mutations: [homeRegion(REGION, "yes")] },
  { rule: "scan schedule", mutations: [schedule("rate(1 hours)")] },
  { rule: "scan schedule", mutations: [schedule("rate(2 day)")] },
  { rule: "scan schedule", mutations: [schedule("rate(0 minutes)")] },
  { rule: "scan schedule", mutations: [schedule("cron(0 6 * * * *)")] },
  { rule: "scan schedule", mutations: [schedule("every day", "env")] },
  { rule: "rotation.gate.periodSeconds a multiple of 60", mutations: [policy("gate.periodSeconds", 30)] },
  { rule: "rotation.gate.periodSeconds a multiple of 60", mutations: [policy("gate.periodSeconds", 10)] },
  { rule: "rotation.gate.periodSeconds a multiple of 60", mutations: [policy("gate.periodSeconds", 5)] },
  {
    rule: "workflow.executionTimeoutDays and retentionDays",
    mutations: [workflow("executionTimeoutDays", 0)],
  },
  {
    rule: "workflow.executionTimeoutDays and retentionDays",
    mutations: [workflow("executionTimeoutDays", -1)],
  },
  {
    rule: "workflow.executionTimeoutDays and retentionDays",
    mutations: [workflow("executionTimeoutDays", 367)],
  },
  {
    rule: "workflow.executionTimeoutDays and retentionDays",
    mutations: [workflow("executionTimeoutDays", 30.5)],
  },
  { rule: "workflow.executionTimeoutDays and retentionDays", mutations: [workflow("retentionDays", 0)] },
  { rule: "workflow.executionTimeoutDays and retentionDays", mutations: [workflow("retentionDays", 91)] },
  { rule: "workflow.executionTimeoutDays and retentionDays", mutations: [workflow("retentionDays", 1.5)] },
  {
    rule: "worst-case rotation within the execution timeout",
    mutations: [workflow("executionTimeoutDays", 7)],
  },
  { rule: "worst-case rotation within the execution timeout", mutations: [policy("graceSeconds", 30 * DAY)] },
  {
    rule: "worst-case rotation within the execution timeout",
    mutations: [policy("approval.timeoutSeconds", 10 * DAY)],
  },
  {
    rule: "worst-case rotation within the execution timeout",
    mutations: [policy("bakeSeconds", MAX_SECONDS)],
  },
  { rule: "ALB trust stores in the home region", mutations: [target("albTrustStoreArns", [ALB_ELSEWHERE])] },
  {
    rule: "ALB trust stores in the home region",
    mutations: [
      shellTarget("MTLS_ROTATOR_ALB_TRUST_STORE_ARNS", ALB_ELSEWHERE, "albTrustStoreArns", [ALB_ELSEWHERE]),
    ],
  },
  {
    rule: "ALB trust stores in the home region",
    mutations: [homeRegion("eu-west-1", "1"), target("albTrustStoreArns", [ALB_HOME])],
  },
  { rule: "notification emails", mutations: [emails("ops@example.com,not-an-address")] },
  { rule: "notification emails", mutations: [emails(["pki@localhost"])] },
  { rule: "notification emails", mutations: [emails(["two@example.com,three@example.com"])] },
];

/** The same fields within what the deployment allows: accepted, and read alike. */
const DEPLOY_ONLY_FIELDS_ACCEPTED = [
  accepted(homeRegion("eu-west-1", "1")),
  accepted(homeRegion("eu-west-1", "1"), target("albTrustStoreArns", [alb("eu-west-1")])),
  accepted(schedule("rate(12 hours)")),
  accepted(schedule("rate(1 day)", "env")),
  accepted(schedule("cron(0 6 ? * MON *)")),
  accepted(policy("gate.periodSeconds", 120)),
  accepted(workflow("executionTimeoutDays", 366)),
  accepted(workflow("executionTimeoutDays", 11)),
  accepted(workflow("retentionDays", 1)),
  accepted(workflow("retentionDays", 90)),
  accepted(emails("Ops@Example.com, pki@example.org")),
  accepted(emails(["ops@example.com"])),
  accepted(policy("graceSeconds", 25 * DAY)),
].map((c) => ({ ...c, name: `${c.mutations.map((m) => m.label).join(" + ")}: ${c.verdict}` }));

/** A stage name derives linked names (the credential prefix, the bundle secret): one Secrets Manager refuses. */
const renamedStage = (stage: string): Mutation => ({
  label: `stage ${JSON.stringify(stage)}`,
  roots: ["stage"],
  deploy: () => {},
  link: (links) => {
    setPath(
      links,
      ["RotationSettings", "rotation", "credentialSecretPrefix"],
      `mtls-rotator/${stage}/credentials/`,
    );
    for (const link of ["RotationSettings", "TrackingSettings"])
      setPath(links, [link, "trust", "bundleSecretName"], `mtls-rotator/${stage}/trust/origin-client-ca`);
  },
});

// ---------------------------------------------------------------------------------------------------------

describe("what the comparison stands on", () => {
  it("links exactly what infra/rotation.ts, infra/tracking.ts and infra/viewer-migration.ts declare, for every stage", async () => {
    for (const stage of STAGE_NAMES) {
      // The stage's own viewer trust domains (none in the table), and domains from the deploying shell.
      for (const env of [{}, VIEWER_ENV]) {
        const { one } = await loadInfra(stage, env);
        const linkable = (name: string) =>
          JSON.parse(JSON.stringify((one("sst:Linkable", name).args as { properties: unknown }).properties));
        const links = linksOf(deploySettings(stage, { ...baseEnv(), ...env }, STAGES));
        if (Object.keys(env).length === 0) expect(links, stage).toEqual(baseline.get(stage));
        else expect((links.ViewerSettings as { domains: unknown[] }).domains, stage).toHaveLength(1);
        for (const name of [
          "RotationSettings",
          "TrackingSettings",
          "ViewerSettings",
          "ViewerRevocationSettings",
        ])
          expect(linkable(name), `${stage} ${name}`).toEqual(links[name]);
      }
    }
  });

  it("maps each deploy path to the path its link has at cold start", () => {
    const paths = (problem: string) => COLD_STARTS.map(({ reads }) => coldStartPath(reads, problem));
    expect(paths("rotation.bakeSeconds must be x")).toEqual([
      "RotationSettings.rotation.bakeSeconds must be x",
      "RotationSettings.rotation.bakeSeconds must be x",
      undefined,
      undefined,
    ]);
    expect(paths("rotation.renewBefore.durationMs must be x")).toEqual([
      "RotationSettings.rotation.renewBefore.durationMs must be x",
      "RotationSettings.rotation.renewBefore.durationMs must be x",
      "TrackingSettings.renewBefore.durationMs must be x",
      undefined,
    ]);
    expect(paths("rotation has unknown field(s) x")).toEqual([
      "RotationSettings.rotation has unknown field(s) x",
      "RotationSettings.rotation has unknown field(s) x",
      undefined,
      undefined,
    ]);
    expect(paths("trust.targets.webhook.url: webhook URL x")).toEqual([
      "RotationSettings.trust.targets.webhook.url: webhook URL x",
      "RotationSettings.trust.targets.webhook.url: webhook URL x",
      "TrackingSettings.trust.targets.webhook.url: webhook URL x",
      undefined,
    ]);
    expect(paths("tracking.previousAuthorityArns[1] must be x")).toEqual([
      "RotationSettings.previousAuthorityArns[1] must be x",
      "RotationSettings.previousAuthorityArns[1] must be x",
      "TrackingSettings.previousAuthorityArns[1] must be x",
      undefined,
    ]);
    expect(paths("tracking.thresholdsDays[0] must be x")).toEqual([
      undefined,
      undefined,
      "TrackingSettings.thresholdsDays[0] must be x",
      undefined,
    ]);
    expect(paths("viewerRevocations.storeArn must be x")).toEqual([
      undefined,
      undefined,
      undefined,
      "ViewerRevocationSettings.storeArn must be x",
    ]);
    expect(paths("notification email x")).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("fails when a cold start is stricter, more lenient, worded differently or resolves another value", () => {
    const bake = (value: number): Variant => ({
      stage: "production",
      mutations: [policy("bakeSeconds", value)],
    });
    const [workflowReader] = COLD_STARTS as [ColdStart];
    const fake = (read: ColdStart["read"]): ColdStart[] => [{ ...workflowReader, read }];
    // Stricter: refuses a bake the deploy accepts.
    const stricter = fake((sources) => {
      const read = workflowReader.read(sources);
      if ((read.rotation as { bakeSeconds: number }).bakeSeconds > 600)
        throw new WiringError(["RotationSettings.rotation.bakeSeconds must be at most 600"]);
      return read;
    });
    expect(disagreements(bake(900), { coldStarts: stricter })).toEqual([
      "wiringConfig (rotation workflow) refuses what the deploy accepted: RotationSettings.rotation.bakeSeconds must be at most 600",
    ]);
    expect(disagreements(bake(600), { coldStarts: stricter })).toEqual([]);
    // More lenient: accepts what the deploy refuses.
    const lenient = fake((sources) => {
      try {
        return workflowReader.read(sources);
      } catch {
        return {};
      }
    });
    expect(disagreements(bake(-1), { coldStarts: lenient })).toEqual([
      'wiringConfig (rotation workflow) does not refuse "RotationSettings.rotation.bakeSeconds must be a whole number of seconds from 0 to 31622400, got -1" (the deploy does)',
    ]);
    // The same verdict, another problem text.
    const reworded = fake((sources) => {
      try {
        return workflowReader.read(sources);
      } catch (error) {
        throw new WiringError(
          (error as WiringError).problems.map((p) => p.replace(" must be ", " should be ")),
        );
      }
    });
    expect(disagreements(bake(-1), { coldStarts: reworded })).toEqual([
      'wiringConfig (rotation workflow) does not refuse "RotationSettings.rotation.bakeSeconds must be a whole number of seconds from 0 to 31622400, got -1" (the deploy does)',
      'wiringConfig (rotation workflow) refuses "RotationSettings.rotation.bakeSeconds should be a whole number of seconds from 0 to 31622400, got -1" (the deploy does not)',
    ]);
    // Accepted alike, resolved to another value.
    const drifting = fake((sources) => {
      const read = workflowReader.read(sources);
      return { ...read, rotation: { ...(read.rotation as object), bakeSeconds: 901 } };
    });
    expect(disagreements(bake(900), { coldStarts: drifting })).toHaveLength(1);
    expect(disagreements(bake(900), { coldStarts: drifting })[0]).toMatch(
      /^wiringConfig \(rotation workflow\) resolves rotation to .*"bakeSeconds":901.*, the deploy to .*"bakeSeconds":900/,
    );
  });

  it("fails when the deploy refuses what no cold start checks, beyond the deploy-only rules", () => {
    const variant: Variant = { stage: "production", mutations: [] };
    const refusing =
      (problem: string): Deploy =>
      (stage) => {
        throw new DeploySettingsError(stage, [problem]);
      };
    expect(
      disagreements(variant, { deploy: refusing("rotation.bakeSeconds must be at most 600, got 900") }),
    ).toEqual(
      COLD_STARTS.filter(({ reads }) => reads === "RotationSettings").map(
        ({ name }) =>
          `${name} does not refuse "RotationSettings.rotation.bakeSeconds must be at most 600, got 900" (the deploy does)`,
      ),
    );
    expect(disagreements(variant, { deploy: refusing("the moon is in the wrong phase") })).toEqual([
      'the deploy refuses "the moon is in the wrong phase": not a deploy-only rule, and at no linked path',
    ]);
    expect(disagreements(variant, { deploy: refusing('notification email "x" is not an address') })).toEqual(
      [],
    );
  });
});

describe("(a) every stage as infra/settings.ts has it", () => {
  it.each(STAGE_NAMES)("%s: accepted, and read at cold start as deployed", (stage) => {
    const variant = { stage, mutations: [] };
    expect(deployVariant(variant).verdict).toBe("accepted");
    expect(firstOf(disagreements(variant))).toEqual([]);
  });
});

describe("(a), (b) each linked field: the same verdict and problems on both sides", () => {
  it.each(LINKED_FIELDS)("$name", ({ mutations, verdict }) => {
    const variant = { stage: "production", mutations };
    const outcome = deployVariant(variant);
    expect(outcome.verdict, JSON.stringify(outcome)).toBe(verdict);
    expect(firstOf(disagreements(variant))).toEqual([]);
  });

  it.each([
    { name: '"pr-7"', stage: "pr-7" },
    { name: '"pr 7" (a space)', stage: "pr 7" },
    { name: "of 401 characters (a credential prefix over 400)", stage: `p${"r".repeat(400)}` },
  ])("a stage named $name derives linked names alike", ({ stage }) => {
    const variant = { stage, mutations: [renamedStage(stage)] };
    expect(["accepted", "refused"]).toContain(deployVariant(variant).verdict);
    expect(firstOf(disagreements(variant))).toEqual([]);
  });
});

describe("(c) the rules only a deployment has", () => {
  it("are exactly DEPLOY_ONLY, each with cases here", () => {
    expect(DEPLOY_ONLY.map(({ rule }) => rule)).toEqual([
      "home region",
      "scan schedule",
      "rotation.gate.periodSeconds a multiple of 60",
      "workflow.executionTimeoutDays and retentionDays",
      "worst-case rotation within the execution timeout",
      "ALB trust stores in the home region",
      "notification emails",
    ]);
    expect(new Set(DEPLOY_ONLY_CASES.map(({ rule }) => rule))).toEqual(
      new Set(DEPLOY_ONLY.map(({ rule }) => rule)),
    );
  });

  it.each(DEPLOY_ONLY_CASES.map((c) => ({ ...c, name: c.mutations.map((m) => m.label).join(" + ") })))(
    "$rule: $name is refused at deploy only",
    ({ rule, mutations }) => {
      const variant = { stage: "production", mutations };
      const outcome = deployVariant(variant);
      expect(outcome.verdict, JSON.stringify(outcome)).toBe("deploy-only");
      if (outcome.verdict === "deploy-only")
        for (const problem of outcome.problems) expect(deployOnlyRule(problem), problem).toBe(rule);
      // Cold start accepts the same values where infra links them.
      expect(firstOf(disagreements(variant))).toEqual([]);
    },
  );

  it.each(DEPLOY_ONLY_FIELDS_ACCEPTED)("$name", ({ mutations, verdict }) => {
    const variant = { stage: "production", mutations };
    expect(deployVariant(variant).verdict).toBe(verdict);
    expect(firstOf(disagreements(variant))).toEqual([]);
  });
});

/** A small, fast, seeded generator (mulberry32): the same variants on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("(a), (b), (c) mixed: seeded pseudo-random variants", () => {
  const VARIANTS = 400;

  it(`agrees on ${VARIANTS} mixes of 1 to 4 mutations over every stage`, () => {
    const random = seeded(0x5eed_2026);
    const pool = [
      ...LINKED_FIELDS.filter((c) => c.mutations.length === 1),
      ...DEPLOY_ONLY_FIELDS_ACCEPTED.filter((c) => c.mutations.length === 1),
      ...DEPLOY_ONLY_CASES.filter((c) => c.mutations.length === 1),
    ].map((c) => c.mutations[0]!);
    const verdicts: Record<string, number> = {};
    const failures: string[] = [];
    for (let i = 0; i < VARIANTS; i++) {
      const stage = STAGE_NAMES[Math.floor(random() * STAGE_NAMES.length)]!;
      const count = 1 + Math.floor(random() * 4);
      const mutations: Mutation[] = [];
      for (let tries = 0; mutations.length < count && tries < 50; tries++) {
        const candidate = pool[Math.floor(random() * pool.length)]!;
        if (!mutations.some((m) => m.roots.some((root) => candidate.roots.includes(root))))
          mutations.push(candidate);
      }
      const variant = { stage, mutations };
      const verdict = deployVariant(variant).verdict;
      verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
      const found = disagreements(variant);
      // One line per variant, its first disagreements (a list spread into characters has hundreds).
      if (found.length > 0)
        failures.push(
          `#${i} ${stage}: ${mutations.map((m) => m.label).join(" + ")}: ${found.slice(0, 3).join(" | ")}` +
            (found.length > 3 ? ` | … ${found.length - 3} more` : ""),
        );
    }
    expect(failures).toEqual([]);
    // The mix reaches every verdict, each many times.
    expect(verdicts.accepted).toBeGreaterThan(40);
    expect(verdicts.refused).toBeGreaterThan(100);
    expect(verdicts["deploy-only"]).toBeGreaterThan(10);
  });
});
