/**
 * The identifiers and values mtls-rotator's configuration is made of, each with the one rule that decides
 * whether it is acceptable. Deploy time (infra/) and cold start (functions/wiring/) both read them through
 * the schemas built from these (settings.ts, links.ts), so they cannot disagree. Pure: no AWS SDK.
 *
 * Every check is a zod/mini schema whose messages are complete sentences after the field's path:
 * `"<path> is missing"` or `"<path> must be <what>, got <value>"`.
 */
import * as z from "zod/mini";

export const PRIVATE_CA_ARN =
  /^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/;
/** Secrets Manager's secret names (CreateSecret Name: 1..512 of these characters). */
export const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
export const DISTRIBUTION_ID = /^[A-Z0-9]{8,20}$/;
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const BUNDLE_KEY = /^[^/].{0,1023}$/;
export const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
export const KMS_KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
/** An IAM role's ARN (role names: 1..64 of these characters, after an optional path). */
export const IAM_ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,140}$/;
export const QUALIFIER = /^[A-Za-z0-9$_-]{1,128}$/;
/** CloudFront trust store ids: 1..64 characters (UpdateTrustStore's constraint). */
export const CLOUDFRONT_TRUST_STORE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const ALB_TRUST_STORE_ARN =
  /^arn:aws[\w-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:truststore\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** PutEvents' EventBusName as AWS's model allows it (NonPartnerEventBusNameOrArn: no "/", no partner buses). */
export const EVENT_BUS =
  /^([A-Za-z0-9._-]{1,256}|arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:\d{12}:event-bus\/[A-Za-z0-9._-]{1,256})$/;
/**
 * A CloudFront KeyValueStore's ARN as AWS's endpoint rules accept it for the data plane (botocore
 * cloudfront-keyvaluestore endpoint-rule-set-1.json: partition `aws`, service `cloudfront`, no region,
 * resource `key-value-store/<id>`); functions/adapters/viewer-revocations.ts keyValueStoreEndpoint derives the
 * endpoint from it.
 */
export const KEY_VALUE_STORE_ARN = /^arn:aws:cloudfront::(\d{12}):key-value-store\/[A-Za-z0-9-]{1,64}$/;
export const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
export const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

/**
 * The Private CA template replacements are issued with (client authentication only): the issuance adapter
 * sends it, and the workflow's IAM policy allows IssueCertificate with this template alone.
 */
export const CLIENT_AUTH_TEMPLATE_ARN = "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1";

const MINUTE = 60;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The ceiling of every duration in the settings: a 366-day year. */
export const MAX_SECONDS = 366 * DAY;

/** The region of an ARN (its fourth field), if it has one. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(":")[3] || undefined;
}

const shown = (value: unknown) => (typeof value === "number" ? String(value) : JSON.stringify(value));

/** `is missing` for an absent value, else `must be <what>, got <value>`. */
export function mustBe(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? "is missing" : `must be ${what}, got ${shown(issue.input)}`;
}

/** A string matching `pattern` (described as `what` in messages). */
export function text(pattern: RegExp, what: string) {
  return z.string({ error: mustBe(what) }).check(z.refine((v) => pattern.test(v), { error: mustBe(what) }));
}

/** A whole number from `min` to `max`. */
export function whole(min: number, max: number, unit = "") {
  const what = `a whole number${unit} from ${min} to ${max}`;
  return z
    .number({ error: mustBe(what) })
    .check(z.refine((v) => Number.isInteger(v) && v >= min && v <= max, { error: mustBe(what) }));
}

/** Whole seconds from `min` to MAX_SECONDS. */
export const seconds = (min: number) => whole(min, MAX_SECONDS, " of seconds");

/** A number satisfying `test`. */
export function numberWhere(test: (value: number) => boolean, what: string) {
  return z.number({ error: mustBe(what) }).check(z.refine(test, { error: mustBe(what) }));
}

/** One of the given literals. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const what = values.map((v) => JSON.stringify(v)).join(" or ");
  return z.enum(values, { error: mustBe(what) });
}

/** A list of `item`s; absent is the empty list. */
export function listOf<T extends z.ZodMiniType>(item: T, what: string) {
  return z._default(z.array(item, { error: mustBe(`a list of ${what}`) }), []);
}

/** An object of exactly these fields (an unknown field is a problem). */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.strictObject(shape, { error: mustBe("an object") });
}

/** An object with these fields (others are ignored: SST adds its own to linked resources). */
export function loose<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.object(shape, { error: mustBe("an object") });
}

export function flag(what: string) {
  return z.boolean({ error: mustBe(what) });
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Why `url` cannot be a webhook target ("" when it can): https:// only (http:// on a loopback address, for
 * tests and the sandbox), and no credentials in it (the HMAC secret authenticates).
 */
export function webhookUrlProblem(url: string | { href: string }): string {
  const href = typeof url === "string" ? url : url.href;
  const parsed = URL.canParse(href) ? new URL(href) : undefined;
  if (!parsed) return `webhook URL ${JSON.stringify(href)} is not a URL`;
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname))) {
    return `webhook URL must be https:// (http:// only on a loopback address): ${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  }
  if (parsed.username || parsed.password) {
    return "webhook URL must not carry credentials; the HMAC secret authenticates";
  }
  return "";
}

/** An issue's path as a field name: `a.b[0].c`, under `owner` when given. */
export function fieldPath(path: readonly PropertyKey[], owner = ""): string {
  return [owner, ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
    .filter((part) => part !== "")
    .join(".")
    .replaceAll(".[", "[");
}

/** A schema's issues as one sentence each, prefixed with `path` (the owner's name). */
export function problemsOf(error: z.core.$ZodError, path = ""): string[] {
  return error.issues.map((issue) => {
    const where = fieldPath(issue.path, path);
    if (issue.code === "unrecognized_keys")
      return `${where ? `${where} ` : ""}has unknown field(s) ${issue.keys.join(", ")}`;
    const params = (issue as { params?: { relative?: boolean; whole?: boolean } }).params;
    // A core rule's message starts with the field it judged, relative to the object it was given.
    if (params?.relative) return where ? `${where}.${issue.message}` : issue.message;
    // A message that is a sentence of its own (it names its subject).
    if (params?.whole) return where ? `${where}: ${issue.message}` : issue.message;
    return where ? `${where} ${issue.message}` : issue.message;
  });
}

/** Parse `value` with `schema`: its output, or every problem prefixed with `path`. */
export function parseWith<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  path = "",
): { ok: true; value: z.output<S> } | { ok: false; problems: string[] } {
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, problems: problemsOf(result.error, path) };
}
