/**
 * What Lambda bundles get for `@smithy/credential-provider-imds` (infra/lambda-plugins.mjs): EC2 instance
 * metadata, which a Lambda function has none of. Its one importer in the bundles is the SDK's defaults-mode
 * resolution (`@smithy/util-defaults-mode-node`, `inferPhysicalRegion`), and only when the defaults mode is
 * "auto" and AWS_EXECUTION_ENV is not set — Lambda always sets AWS_EXECUTION_ENV and AWS_REGION ("Defined
 * runtime environment variables", AWS Lambda developer guide), so this is never called there; if it were,
 * its error is caught by that code, which then uses the "standard" mode. About 7.5 KB less per bundle.
 */

function unavailable(): never {
  throw new Error("EC2 instance metadata is not available in a Lambda function");
}

export async function getInstanceMetadataEndpoint(): Promise<never> {
  return unavailable();
}

export async function httpRequest(): Promise<never> {
  return unavailable();
}
