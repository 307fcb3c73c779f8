/** Where the trust bundle is published, as configuration (no target's code: the tracking functions read it too). */
import type { TrustSettings, TrustTargets } from "../config/settings.ts";

/** Where in the bundle bucket each target that loads its bundle from S3 keeps its own object. */
export const TARGET_KEY_PREFIX = "trust/targets";

/** Where the trust bundle is published (the workflow and the scan publish to the same targets). */
export interface TrustBundleConfig {
  /** The service region: the bucket's, and the ALB / API Gateway / EventBridge targets'. */
  region: string;
  /** Versioned bucket of the bundle object. */
  bucketName: string;
  bundleKey: string;
  /** Secrets Manager secret holding the same bundle. */
  bundleSecretName: string;
  targets: TrustTargets;
}

/** Where the bundle goes, from the linked bucket and the linked trust settings (the region is the function's). */
export function trustBundleOf(
  bucket: { name: string },
  trust: TrustSettings,
): Omit<TrustBundleConfig, "region"> {
  return {
    bucketName: bucket.name,
    bundleKey: trust.bucketKey,
    bundleSecretName: trust.bundleSecretName,
    targets: trust.targets,
  };
}
