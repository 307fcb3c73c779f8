/**
 * The linked resources (SST `Resource`) each kind of function reads, and the one reader that checks them at
 * cold start with the same schemas infra/ checked the settings with at deploy time (settings.ts).
 *
 * Missing or malformed configuration fails at once with a WiringError naming every problem.
 */
import * as z from "zod/mini";
import { DEFAULT_RENEW_BEFORE } from "../core/renewal.ts";
import {
  BUCKET_NAME,
  FUNCTION_NAME,
  KMS_KEY_ARN,
  listOf,
  loose,
  parseWith,
  QUALIFIER,
  TABLE_NAME,
  TOPIC_ARN,
  text,
} from "./rules.ts";
import {
  MAX_SECONDS,
  privateCaArn,
  RenewBeforeSchema,
  RotationSettingsSchema,
  TrackingPolicySchema,
  TrustSchema,
} from "./settings.ts";

export class WiringError extends Error {
  override name = "WiringError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`mtls-rotator is not configured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** Every linked resource, by its `sst.Linkable` name in infra/, with the shape its properties must have. */
export const LINKS = {
  /** DynamoDB table of the rotation store (and the inventory). */
  RotationTable: loose({ name: text(TABLE_NAME, "a DynamoDB table name") }),
  /** Versioned bucket the trust bundle is published to. */
  TrustBundleBucket: loose({ name: text(BUCKET_NAME, "an S3 bucket name") }),
  /** SNS topic of the notifications. */
  NotificationTopic: loose({ arn: text(TOPIC_ARN, "an SNS topic ARN") }),
  /** The workflow's settings (infra/rotation.ts). */
  RotationSettings: loose({
    rotation: RotationSettingsSchema,
    trust: TrustSchema,
    /** Customer-managed KMS key the credential secrets are encrypted with. */
    credentialsKeyArn: text(KMS_KEY_ARN, "a KMS key ARN"),
    /** With rotation.authorityArn: the CAs whose certificates are managed (the API refuses any other). */
    previousAuthorityArns: listOf(privateCaArn(), "Private CA ARNs"),
  }),
  /** Expiry tracking's settings (infra/tracking.ts). */
  TrackingSettings: z.extend(TrackingPolicySchema, {
    authorityArn: privateCaArn(),
    /** The same renewal policy as the workflow's. */
    renewBefore: z._default(RenewBeforeSchema, DEFAULT_RENEW_BEFORE),
    /** Where the scan's trust reconciliation publishes: the workflow's bundle object and secret. */
    trust: TrustSchema,
  }),
  /** The rotation workflow's name and qualifier (a durable start is a qualified invoke). */
  RotationWorkflowStarter: loose({
    name: text(FUNCTION_NAME, "a Lambda function name"),
    qualifier: text(QUALIFIER, "a Lambda qualifier"),
  }),
  /** The scheduled scan's function (POST /scan invokes it). */
  ScanFunction: loose({ name: text(FUNCTION_NAME, "a Lambda function name") }),
} as const;

export type LinkName = keyof typeof LINKS;
export type Linked<N extends LinkName> = z.output<(typeof LINKS)[N]>;

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
 * The named links, each parsed with its schema, and the AWS location; one WiringError with every problem of
 * every link when anything is missing or malformed.
 */
export function readLinks<const N extends LinkName>(
  sources: WiringSources,
  names: readonly N[],
): { links: { [K in N]: Linked<K> }; location: AwsLocation } {
  const problems: string[] = [];
  const location = awsLocationOf(sources.env, problems);
  const links = {} as { [K in N]: Linked<K> };
  for (const name of names) {
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
    const parsed = parseWith(LINKS[name], value, name);
    if (parsed.ok) links[name] = parsed.value as Linked<N>;
    else problems.push(...parsed.problems);
  }
  if (problems.length > 0) throw new WiringError(problems);
  return { links, location };
}

export { MAX_SECONDS };
