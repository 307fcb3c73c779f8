// esbuild plugins of every Lambda bundle: the `nodejs.plugins` file of infra/lambdas.ts.
//
// SST runs this file in a Node process of its own (.sst/platform/functions/nodejs-runtime/plugin.mjs): it
// calls each plugin's setup with onResolve, onLoad and onEnd only, and its esbuild (Go) sends it every
// resolve, taking back the answer's path, namespace, external, ... So: plain ESM, a synchronous setup,
// onResolve only, an absolute path in the answer, and no pluginData (SST's side reads it as an integer).
//
// The runner of SST 4.17.1 tests each `filter` against `msg.path`, but its messages carry the import path
// in `msg.value.path`: every filter is tested against the string "undefined". A narrow filter never fires
// there, so the filter matches everything and the callback checks the path itself (which also works in a
// plain esbuild). test/infra/lambda-bundles.test.ts bundles through SST's runner and would see a miss.
import { fileURLToPath } from "node:url";

/** The SDK's default credential chain (what every client's runtimeConfig imports). */
export const CREDENTIAL_CHAIN = "@aws-sdk/credential-provider-node";
/** What bundles get instead: the execution role's credentials from the environment, nothing else. */
export const LAMBDA_CREDENTIALS = fileURLToPath(
  new URL("../functions/wiring/lambda-credentials.ts", import.meta.url),
);

/** Resolves exactly `@aws-sdk/credential-provider-node` (from any importer) to LAMBDA_CREDENTIALS. */
export const lambdaCredentials = {
  name: "mtls-rotator-lambda-credentials",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.path === CREDENTIAL_CHAIN ? { path: LAMBDA_CREDENTIALS } : undefined,
    );
  },
};

/** EC2 instance metadata (only the SDK's defaults-mode resolution imports it in a bundle). */
export const INSTANCE_METADATA = "@smithy/credential-provider-imds";
/** What bundles get instead: functions/wiring/no-instance-metadata.ts (never reached in Lambda). */
export const NO_INSTANCE_METADATA = fileURLToPath(
  new URL("../functions/wiring/no-instance-metadata.ts", import.meta.url),
);

/** Resolves exactly `@smithy/credential-provider-imds` (from any importer) to NO_INSTANCE_METADATA. */
export const noInstanceMetadata = {
  name: "mtls-rotator-no-instance-metadata",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.path === INSTANCE_METADATA ? { path: NO_INSTANCE_METADATA } : undefined,
    );
  },
};

export default [lambdaCredentials, noInstanceMetadata];
