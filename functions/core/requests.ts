/**
 * What a rotation request may carry: the identifiers it names and the limits of its fields. Pure, so the
 * API's schemas (every route's) and the dispatcher share them without the dispatcher's code.
 */

/** Limits of a rotation request's fields. */
export const LIMITS = {
  reason: 512,
  // IAM principal ARNs: a user's path alone may be 512 characters.
  actor: 1024,
  serialHexDigits: 64,
  /** Longest bake window a rotation may ask for (one day). */
  bakeSeconds: 86_400,
  /** Most wave sizes a rotation may list after its canary. */
  waves: 100,
} as const;

/** An ACM certificate id: a lowercase UUID. */
export const CERTIFICATE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Origin-mTLS certificates live in ACM us-east-1; certificate ids are lowercase UUIDs. */
export const CERTIFICATE_ARN =
  /^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * Every rotation id the dispatcher hands out: `rot-<certificate id>-<16 hex>` (a dry run `dry-…`), and from
 * the second attempt on `-<attempt>` after it; at most 64 characters (a durable execution name).
 */
export const ROTATION_ID = /^(rot|dry)-[a-z0-9-]{1,60}$/;

/** A viewer trust domain's name (config/viewer-settings.ts): lower-case letters, digits and -, at most 40. */
export const VIEWER_DOMAIN_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
/**
 * Every viewer migration id the dispatcher hands out: `vmig-` (a dry run `vdry-`), `m`/`r`, the domain's name
 * and a hash, `-<attempt>` from the second attempt on; at most 64 characters (a durable execution name).
 */
export const VIEWER_MIGRATION_ID = /^v(mig|dry)-[a-z0-9-]{1,59}$/;
