/**
 * The tags mtls-rotator puts on every certificate it imports into ACM (functions/adapters/acm.ts): the
 * certificate's lineage, and the service's mark. Pure, without imports: infra/ reads it too.
 *
 * The mark (`mtls-rotator:managed` = "true") has been on every import since the service's first version, so
 * every certificate the service ever imported carries it; a certificate imported by anyone else (the one in
 * service before a lineage's first rotation) does not. The workflow's role may import only certificates that
 * carry it and delete only certificates that do (infra/rotation.ts), and the workflow never tries to delete
 * one that does not (AcmAdapter.deleteIfUnused).
 */
export const LINEAGE_TAGS = {
  managed: "mtls-rotator:managed",
  rotationId: "mtls-rotator:rotation-id",
  previousArn: "mtls-rotator:previous-arn",
  credential: "mtls-rotator:credential",
} as const;

/** The value of the mark. */
export const MANAGED_TAG_VALUE = "true";

/** Every lineage tag's key starts with this (IAM: `aws:TagKeys` of an import). */
export const LINEAGE_TAG_KEY_PREFIX = "mtls-rotator:";

/** Whether a certificate's tags carry the service's mark: it was imported by mtls-rotator. */
export function importedByService(tags: Readonly<Record<string, string>>): boolean {
  return tags[LINEAGE_TAGS.managed] === MANAGED_TAG_VALUE;
}
