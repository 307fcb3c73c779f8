/**
 * The rotation table's partitions (`pk`), by what they hold, and which of them each function kind touches:
 * what infra/ grants as `dynamodb:LeadingKeys` (IAM's condition on a request's partition keys), and what
 * test/wiring/tracking.test.ts checks against every request an ACM expiry event makes.
 */

/** `pk` values and prefixes; a `*` pattern is a prefix. */
export const TABLE_PARTITIONS = {
  /** One item per certificate (inventory-store.ts). */
  inventory: "INVENTORY",
  /** One item per CA certificate the full scan tracks (inventory-store.ts authorityCertificates). */
  caInventory: "CA-INVENTORY",
  /** The viewer mTLS inventory: its summary and one item per distribution (inventory-store.ts viewerMtls). */
  viewerInventory: "VIEWER-INVENTORY",
  /** Expiry-alert claims, `ALERT#<certificate ARN>` or `ALERT#CA#<fingerprint>` (inventory-store.ts alertClaims). */
  alerts: "ALERT#*",
  /** A rotation's state, history, control point and rollback request, `ROT#<rotation id>`. */
  rotations: "ROT#*",
  /** A certificate's rotation lock, `CERT#<certificate ARN>`. */
  locks: "CERT#*",
  /** A distribution's claim (one rotation at a time changes it), `DIST#<distribution id>`. */
  claims: "DIST#*",
  /** The account's pacing schedules and holds, `PACE#<operation>` (pacer.ts): the workflow's only. */
  pacers: "PACE#*",
} as const;

/**
 * What an ACM expiry event's decision for one certificate reads and writes: its inventory record, its alert
 * claim, the dispatcher's look at earlier rotations and the certificate's lock (a dead holder's released).
 */
export const EXPIRY_EVENT_PARTITIONS = [
  TABLE_PARTITIONS.inventory,
  TABLE_PARTITIONS.alerts,
  TABLE_PARTITIONS.rotations,
  TABLE_PARTITIONS.locks,
] as const;

/** Whether `pk` is one of `patterns` (exact, or a `*`-ended prefix). */
export function inPartitions(pk: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith("*") ? pk.startsWith(p.slice(0, -1)) : pk === p));
}
