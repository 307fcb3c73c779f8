// esbuild plugins of every Lambda bundle: the `nodejs.plugins` file of infra/lambdas.ts. SST runs this file
// in a Node process of its own (.sst/platform/functions/nodejs-runtime/plugin.mjs), which calls each
// plugin's setup with onResolve, onLoad and onEnd only, tests `filter` against the import path, and hands the
// answer's path, namespace, external, ... back to its esbuild. So: plain ESM, a synchronous setup, onResolve
// only, and an answer of an absolute path (no pluginData: SST's side reads it as a number).
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
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: LAMBDA_CREDENTIALS }));
  },
};

export default [lambdaCredentials];
