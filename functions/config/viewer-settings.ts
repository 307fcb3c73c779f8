/**
 * Viewer trust domains: the CAs that issue VIEWER certificates (viewer mTLS, the other side of CloudFront)
 * and where viewer trust lives. Separate from the origin-client bundle (settings.ts TrustSchema): a viewer CA
 * is never trusted for CloudFront's own connection to an origin, nor the reverse.
 *
 * A domain names its CAs by role: `current` issues viewer certificates today, `next` is the CA a migration
 * moves viewers to (its certificates may be issued only after the migration announced "viewer CA ready"),
 * `previous` are CAs viewers are moving away from (still trusted until the longest-lived certificate they
 * issued can have expired: `maxViewerCertificateLifetimeDays` + `retirementGraceSeconds` after the
 * announcement). Trust points: CloudFront trust stores (modes required/optional) and passthrough origins,
 * which read their viewer bundle with origin-sync from its own S3 key (and optionally a secret) and are
 * probed with a viewer certificate forwarded as CloudFront forwards it (RFC 9440 headers over origin mTLS).
 */
import * as z from "zod/mini";
import { VIEWER_DOMAIN_NAME } from "../core/requests.ts";
import {
  BUNDLE_KEY,
  CLOUDFRONT_TRUST_STORE_ID,
  DISTRIBUTION_ID,
  KEY_VALUE_STORE_ARN,
  listOf,
  loose,
  mustBe,
  oneOf,
  SECRET_NAME,
  seconds,
  strict,
  text,
  whole,
} from "./rules.ts";
import { privateCaArn } from "./settings.ts";

/**
 * The viewer revocation list (docs/viewer-revocation.md): the CloudFront KeyValueStore the stage's
 * connection function reads, which POST/DELETE /viewer-revocations write. Optional: without it those routes
 * answer that no store is configured and change nothing.
 */
export const ViewerRevocationSettingsSchema = loose({
  storeArn: z.optional(
    text(
      KEY_VALUE_STORE_ARN,
      "a CloudFront KeyValueStore ARN (arn:aws:cloudfront::<account>:key-value-store/<id>)",
    ),
  ),
});
export type ViewerRevocationSettings = z.output<typeof ViewerRevocationSettingsSchema>;

export { VIEWER_DOMAIN_NAME };
/** Trust stores load their viewer bundle from `<prefix>/<trust store id>.pem` in the bundle bucket. */
export const VIEWER_TRUST_STORE_KEY_PREFIX = "viewer/cloudfront";
const ORIGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A passthrough origin the migration probes, named by the distribution and origin that reach it: the probe
 * goes where CloudFront goes (the origin's domain name and HTTPS port in the distribution's configuration)
 * and presents what CloudFront presents (the origin's origin-mTLS certificate, its key from the credential
 * secret), with a viewer certificate forwarded in RFC 9440 headers.
 */
const passthroughOrigin = strict({
  /** Its name in plans, events and notifications. */
  name: text(ORIGIN_NAME, "an origin name (letters, digits, . _ -; at most 64)"),
  distributionId: text(DISTRIBUTION_ID, "a CloudFront distribution id"),
  originId: text(/^[^\s]{1,128}$/, "an origin id"),
  /** The path the probe asks for (default "/"). */
  path: z._default(text(/^\//, 'a path starting with "/"'), "/"),
});

const passthrough = strict({
  /** S3 key of this domain's viewer bundle in the bundle bucket (origin-sync --source s3://bucket/key). */
  bucketKey: text(BUNDLE_KEY, "an S3 object key"),
  /** Optional: a Secrets Manager secret holding the same bundle (origin-sync --source <secret id>). */
  bundleSecretName: z.optional(text(SECRET_NAME, "a secret name")),
  origins: z.array(passthroughOrigin, { error: mustBe("a list of passthrough origins") }),
});

export const ViewerTrustDomainSchema = strict({
  name: text(VIEWER_DOMAIN_NAME, "a domain name of lower-case letters, digits and - (at most 40)"),
  authorities: strict({
    current: privateCaArn(),
    next: z.optional(privateCaArn()),
    previous: listOf(privateCaArn(), "Private CA ARNs"),
  }),
  /** CloudFront trust stores of distributions in required/optional mode. */
  trustStoreIds: listOf(text(CLOUDFRONT_TRUST_STORE_ID, "a trust store id"), "trust store ids").check(
    z.maxLength(20, { error: "must list at most 20 CloudFront trust stores (an account's quota)" }),
  ),
  passthrough: z.optional(passthrough),
  /** The longest validity any viewer certificate of these CAs has: the old CA stays trusted that long. */
  maxViewerCertificateLifetimeDays: z._default(whole(1, 3650, " of days"), 397),
  /** Added to the lifetime before a CA viewers moved away from leaves the trust points. */
  retirementGraceSeconds: z._default(seconds(0), 7 * 86_400),
  /** Trust stores updated first, on their own, before the rest (a canary). */
  canaryTrustStores: z._default(whole(0, 20), 1),
  /**
   * How long the proof keeps probing passthrough origins that do not accept the new CA yet (at most a day,
   * and the approval at most a week: together well inside the domain lock's 14-day lease and the workflow's
   * execution timeout, so a running migration is never taken over or cut off).
   */
  proofTimeoutSeconds: z._default(whole(0, 86_400, " of seconds"), 30 * 60),
  /** At least 5 s outside tests would be kinder to Private CA (each attempt issues a probe certificate). */
  proofIntervalSeconds: z._default(whole(1, 3_600, " of seconds"), 30),
  /** "before-announce": an operator approves before "viewer CA ready" is announced. */
  approval: z._default(oneOf(["none", "before-announce"]), "none"),
  approvalTimeoutSeconds: z._default(whole(1, 7 * 86_400, " of seconds"), 24 * 3600),
}).check(
  z.superRefine((domain, ctx) => {
    const { current, next, previous } = domain.authorities;
    const problem = (path: PropertyKey[], message: string, input: unknown) =>
      ctx.addIssue({ code: "custom", path, input, message });
    if (next !== undefined && next === current)
      problem(["authorities", "next"], "must differ from authorities.current", next);
    for (const arn of previous)
      if (arn === current || arn === next)
        problem(["authorities", "previous"], `must not list the current or next CA (${arn})`, arn);
    if (new Set(domain.trustStoreIds).size !== domain.trustStoreIds.length)
      problem(["trustStoreIds"], "must not list a trust store twice", domain.trustStoreIds);
    if (domain.trustStoreIds.length === 0 && (domain.passthrough?.origins.length ?? 0) === 0)
      problem(
        [],
        "must name where viewer trust lives: trustStoreIds and/or passthrough.origins",
        domain.trustStoreIds,
      );
    const names = domain.passthrough?.origins.map((o) => o.name) ?? [];
    if (new Set(names).size !== names.length)
      problem(["passthrough", "origins"], "must not name an origin twice", names);
  }),
);

export type ViewerTrustDomain = z.output<typeof ViewerTrustDomainSchema>;
export type ViewerTrustDomainInput = z.input<typeof ViewerTrustDomainSchema>;

/** Every viewer trust domain of a stage: names unique, a trust store or bundle key in one domain only. */
export const ViewerTrustDomainsSchema = z
  .array(ViewerTrustDomainSchema, { error: mustBe("a list of viewer trust domains") })
  .check(
    z.superRefine((domains, ctx) => {
      const seen = (values: string[]) => values.filter((value, index) => values.indexOf(value) !== index);
      const problem = (message: string, input: unknown) => ctx.addIssue({ code: "custom", input, message });
      for (const name of new Set(seen(domains.map((d) => d.name))))
        problem(`name viewer trust domain "${name}" more than once`, name);
      for (const id of new Set(seen(domains.flatMap((d) => d.trustStoreIds))))
        problem(`name trust store ${id} in more than one viewer trust domain`, id);
      const keys = domains.flatMap((d) => (d.passthrough ? [d.passthrough.bucketKey] : []));
      for (const key of new Set(seen(keys)))
        problem(`name bundle key ${key} in more than one viewer trust domain`, key);
    }),
  );

/** The CA ARNs a domain relies on (each tracked for its own expiry by the scan). */
export function viewerAuthorityArns(domains: readonly ViewerTrustDomain[]): string[] {
  return [
    ...new Set(
      domains.flatMap((d) => [
        d.authorities.current,
        ...(d.authorities.next ? [d.authorities.next] : []),
        ...d.authorities.previous,
      ]),
    ),
  ];
}

/**
 * The distributions of the domains' passthrough origins: the viewer CA migration's proof reads their origin-mTLS
 * credentials (none: the proof reads no credential, and is granted none).
 */
export function passthroughDistributionIds(domains: readonly ViewerTrustDomain[]): string[] {
  return [...new Set(domains.flatMap((d) => d.passthrough?.origins.map((o) => o.distributionId) ?? []))];
}

/** Where the origin-mTLS side keeps its own trust (settings.ts TrustSchema) and credentials: never a viewer's. */
export interface OriginTrustSide {
  /** The CA replacements are issued from, and the CAs being migrated away from (origin-client CAs). */
  originClientAuthorityArns: readonly string[];
  /** The origin-client bundle object and secret, and its CloudFront trust store targets. */
  trust: { bucketKey: string; bundleSecretName: string; targets: { cloudFrontTrustStoreIds: string[] } };
  /** Prefix of the credential secrets (private keys): no viewer bundle may be written there. */
  credentialSecretPrefix: string;
  /** Keys of the bundle bucket that others write (prefixes end in "/"): a viewer bundle must not overwrite them. */
  reservedKeys: readonly string[];
}

/**
 * What only the rest of the settings can tell about the viewer trust domains (each named by its path under
 * `viewerTrustDomains`): a viewer CA that is also an origin-client CA would be trusted on both sides of
 * CloudFront; a passthrough bundle written over the origin-client bundle (or its secret, or another object
 * of the bucket) would replace what origins trust for CloudFront's own certificate; a trust store that also
 * receives the origin-client bundle would flap between the two.
 */
export function viewerSettingsProblems(
  domains: readonly ViewerTrustDomain[],
  origin: OriginTrustSide,
): string[] {
  const problems: string[] = [];
  const originCas = new Set(origin.originClientAuthorityArns);
  const originStores = new Set(origin.trust.targets.cloudFrontTrustStoreIds);
  for (const [index, domain] of domains.entries()) {
    const at = `viewerTrustDomains[${index}] (${domain.name})`;
    for (const arn of viewerAuthorityArns([domain]))
      if (originCas.has(arn))
        problems.push(
          `${at}.authorities: ${arn} is also an origin-client CA (MTLS_ROTATOR_AUTHORITY_ARN or a previous one): a viewer CA must be a CA of its own`,
        );
    for (const id of domain.trustStoreIds)
      if (originStores.has(id))
        problems.push(
          `${at}.trustStoreIds: trust store ${id} also receives the origin-client bundle (trust.targets.cloudFrontTrustStoreIds)`,
        );
    const passthrough = domain.passthrough;
    if (!passthrough) continue;
    const key = passthrough.bucketKey;
    if (key === origin.trust.bucketKey)
      problems.push(`${at}.passthrough.bucketKey must not be the origin-client bundle's key (${key})`);
    for (const reserved of origin.reservedKeys)
      if (reserved.endsWith("/") ? key.startsWith(reserved) : key === reserved)
        problems.push(
          `${at}.passthrough.bucketKey ${key} is reserved for the service's own objects (${reserved})`,
        );
    const secret = passthrough.bundleSecretName;
    if (secret === origin.trust.bundleSecretName)
      problems.push(
        `${at}.passthrough.bundleSecretName must not be the origin-client bundle's secret (${secret})`,
      );
    if (secret?.startsWith(origin.credentialSecretPrefix))
      problems.push(
        `${at}.passthrough.bundleSecretName ${secret} is under the credential secrets' prefix (${origin.credentialSecretPrefix})`,
      );
  }
  return problems;
}
