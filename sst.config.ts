/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "mtls-rotator",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      // The home region. Its default must be where AWS documents Lambda durable functions (the rotation
      // workflow): infra/settings.ts DEFAULT_HOME_REGION and DURABLE_FUNCTION_REGIONS, which refuse any
      // other unless MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1. ACM/CloudFront pieces stay in us-east-1.
      providers: { aws: { region: process.env.MTLS_ROTATOR_REGION?.trim() || "us-east-2" } },
    };
  },
  async run() {
    // Settings first: an invalid stage configuration stops the deploy before any resource is declared.
    const { settings } = await import("./infra/settings");
    const { credentialsKey, credentialSecretPrefix } = await import("./infra/credentials");
    const { rotationTable, trustBundleBucket } = await import("./infra/storage");
    const { notificationTopic } = await import("./infra/notifications");
    const { rotationWorkflow } = await import("./infra/rotation");
    const { viewerMigrationWorkflow } = await import("./infra/viewer-migration");
    await import("./infra/credentials-key-policy");
    const { scanFunction, acmExpiryFunction, trackingDeadLetters } = await import("./infra/tracking");
    const { api } = await import("./infra/api");
    return {
      // The operator API (IAM auth): `export MTLS_ROTATOR_API_URL=<this>` for the CLI.
      api: api.url,
      rotationWorkflow: rotationWorkflow.name,
      // The viewer CA migration workflow (POST /viewer-migrations starts its executions).
      viewerMigrationWorkflow: viewerMigrationWorkflow.name,
      rotationTable: rotationTable.name,
      trustBundle: $interpolate`s3://${trustBundleBucket.name}/${settings.trust.bucketKey}`,
      trustBundleSecret: settings.trust.bundleSecretName,
      // origin-sync --ack-id: what an origin host reads besides the bundle, and where it acknowledges it
      // (its role: s3:PutObject on acks/<its id>.json only; README "Acknowledgements").
      probeCertificates: $interpolate`s3://${trustBundleBucket.name}/trust/probe-certificates.pem`,
      acknowledgements: $interpolate`s3://${trustBundleBucket.name}/acks/`,
      notificationTopic: notificationTopic.arn,
      credentialsKeyArn: credentialsKey.arn,
      credentialSecretPrefix,
      authorityArn: settings.rotation.authorityArn,
      scanFunction: scanFunction.name,
      scanSchedule: settings.tracking.schedule,
      acmExpiryFunction: acmExpiryFunction.name,
      trackingDeadLetters: trackingDeadLetters.url,
    };
  },
});
