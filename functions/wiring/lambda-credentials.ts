/**
 * The SDK's default credential provider as a Lambda function needs it: the execution role's credentials,
 * which Lambda puts in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; AWS
 * Lambda developer guide, "Defined runtime environment variables"), and nothing else.
 *
 * Bundles resolve `@aws-sdk/credential-provider-node` to this module (infra/lambda-plugins.mjs), so every
 * SDK client's `credentialDefaultProvider` is this `defaultProvider`. The node chain would also bring SSO,
 * STS web identity, ini files, credential processes, container and instance metadata (about 143 KB of a
 * minified DynamoDB client) that a function can never use. Code outside a Lambda bundle (tests, sandbox,
 * CLI) keeps the SDK's own chain.
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";

/** The SDK's types, as fromEnv declares them (no import of the SDK's internal type packages). */
type CredentialProvider = ReturnType<typeof fromEnv>;
type Credentials = Awaited<ReturnType<CredentialProvider>>;
type Logger = NonNullable<Parameters<typeof fromEnv>[0]>["logger"];

/** The variables Lambda sets from the execution role. */
export const LAMBDA_CREDENTIAL_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
] as const;

/** What an SDK client passes its `credentialDefaultProvider`: its own configuration (read: profile, logger). */
export interface LambdaCredentialsInit {
  profile?: string;
  logger?: Logger;
}

/** No credentials where a Lambda function has them, or a profile this provider cannot read. */
export class LambdaCredentialsError extends Error {
  override name = "LambdaCredentialsError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Same signature as `@aws-sdk/credential-provider-node`'s `defaultProvider`: called once per client with
 * the client's configuration, answers a provider the client calls before signing. Fails at that call
 * (not at client construction, like the SDK's own chain) with a LambdaCredentialsError naming what is
 * missing.
 */
export const defaultProvider = (init: LambdaCredentialsInit = {}): CredentialProvider => {
  const provider = fromEnv(init.logger ? { logger: init.logger } : {});
  return async (): Promise<Credentials> => {
    if (init.profile)
      throw new LambdaCredentialsError(
        `the client asks for profile ${JSON.stringify(init.profile)}, but this Lambda bundle reads ` +
          "only the execution role's credentials from the environment",
      );
    try {
      return await provider();
    } catch (error) {
      // fromEnv fails only without an access key id or a secret access key.
      const missing = LAMBDA_CREDENTIAL_VARIABLES.slice(0, 2).filter((name) => !process.env[name]);
      throw new LambdaCredentialsError(
        `no AWS credentials in the environment (${missing.join(", ")} unset): Lambda sets ` +
          `${LAMBDA_CREDENTIAL_VARIABLES.join(", ")} from the execution role; this bundle reads nothing else`,
        { cause: error },
      );
    }
  };
};
