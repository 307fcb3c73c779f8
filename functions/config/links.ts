/**
 * The linked resources (SST `Resource`) each kind of function reads, and the one reader that checks them at
 * cold start. The stage's settings links (settings-links.ts) are parsed with the same schemas infra/ checked
 * the settings with at deploy time (settings.ts); a function that reads only the table loads none of them.
 *
 * Missing or malformed configuration fails at once with a WiringError naming every problem.
 */
import type * as z from "zod/mini";
import {
  BUCKET_NAME,
  FUNCTION_NAME,
  loose,
  parseWith,
  QUALIFIER,
  TABLE_NAME,
  TOPIC_ARN,
  text,
} from "./rules.ts";

export class WiringError extends Error {
  override name = "WiringError";
  /** Configuration a retry cannot fix (functions/workflow/retry.ts). */
  readonly retryable = false;
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`mtls-rotator is not configured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** The linked resources every function kind may read (names as infra/ declares their `sst.Linkable`). */
export const RESOURCE_LINKS = {
  /** DynamoDB table of the rotation store (and the inventory). */
  RotationTable: loose({ name: text(TABLE_NAME, "a DynamoDB table name") }),
  /** Versioned bucket the trust bundle is published to. */
  TrustBundleBucket: loose({ name: text(BUCKET_NAME, "an S3 bucket name") }),
  /** SNS topic of the notifications. */
  NotificationTopic: loose({ arn: text(TOPIC_ARN, "an SNS topic ARN") }),
  /** The rotation workflow's name and qualifier (a durable start is a qualified invoke). */
  RotationWorkflowStarter: loose({
    name: text(FUNCTION_NAME, "a Lambda function name"),
    qualifier: text(QUALIFIER, "a Lambda qualifier"),
  }),
  /** The viewer CA migration workflow's name and qualifier (POST /viewer-migrations starts it). */
  ViewerMigrationWorkflowStarter: loose({
    name: text(FUNCTION_NAME, "a Lambda function name"),
    qualifier: text(QUALIFIER, "a Lambda qualifier"),
  }),
  /** Trust reconciliation's function (the scheduled scan invokes it after a full scan). */
  TrustReconciliationFunction: loose({ name: text(FUNCTION_NAME, "a Lambda function name") }),
  /** The scheduled scan's function (POST /scan invokes it). */
  ScanFunction: loose({ name: text(FUNCTION_NAME, "a Lambda function name") }),
} as const;

/** Where linked resources and the environment come from: SST's `Resource` and `process.env` when deployed. */
export interface WiringSources {
  resource: object;
  env: Record<string, string | undefined>;
}

/** Where the AWS clients go: the service region, and the local stand-ins' endpoints in the sandbox. */
export interface AwsLocation {
  region: string;
  /** Every client to one endpoint (the local stand-ins). */
  endpoint?: string;
  /** DynamoDB alone (dynalite serves it apart from the other stand-ins). */
  dynamodbEndpoint?: string;
}

/** The service's region and optional endpoints, from the Lambda environment. */
export function awsLocationOf(env: WiringSources["env"], problems: string[]): AwsLocation {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || "";
  if (!region) problems.push("environment variable AWS_REGION is missing");
  const endpoint = env.MTLS_ROTATOR_AWS_ENDPOINT || undefined;
  const dynamodbEndpoint = env.MTLS_ROTATOR_DYNAMODB_ENDPOINT || endpoint;
  return { region, ...(endpoint ? { endpoint } : {}), ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}) };
}

/**
 * The given links, each parsed with its schema, and the AWS location; one WiringError with every problem of
 * every link when anything is missing or malformed.
 */
export function readLinks<const S extends Record<string, z.ZodMiniType>>(
  sources: WiringSources,
  schemas: S,
): { links: { [K in keyof S]: z.output<S[K]> }; location: AwsLocation } {
  const problems: string[] = [];
  const location = awsLocationOf(sources.env, problems);
  const links = {} as { [K in keyof S]: z.output<S[K]> };
  for (const [name, schema] of Object.entries(schemas) as [keyof S & string, S[keyof S]][]) {
    // `in` first: SST's Resource throws on a name that is not linked; `in` only asks.
    if (!(name in sources.resource)) {
      problems.push(`linked resource ${name} is missing (link it to the function in infra/)`);
      continue;
    }
    const value = (sources.resource as Record<string, unknown>)[name];
    if (typeof value !== "object" || value === null) {
      problems.push(`linked resource ${name} has no properties`);
      continue;
    }
    const parsed = parseWith(schema, value, name);
    if (parsed.ok) links[name] = parsed.value;
    else problems.push(...parsed.problems);
  }
  if (problems.length > 0) throw new WiringError(problems);
  return { links, location };
}
