/**
 * The Lambda bundles' credential provider (functions/wiring/lambda-credentials.ts): the execution role's
 * credentials from the environment, through the very call SDK clients make of `credentialDefaultProvider`
 * (the current clients and the older client-acm-pca alike), and a named error when they are missing.
 */
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  defaultProvider,
  LAMBDA_CREDENTIAL_VARIABLES,
  LambdaCredentialsError,
} from "../../functions/wiring/lambda-credentials.ts";

const ROLE = {
  AWS_ACCESS_KEY_ID: "ASIAEXAMPLEEXAMPLE01",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  AWS_SESSION_TOKEN: "IQoJb3JpZ2luX2VjEXAMPLE",
};

const useEnvironment = (env: Record<string, string | undefined>) => {
  for (const name of LAMBDA_CREDENTIAL_VARIABLES) vi.stubEnv(name, env[name]);
};

beforeEach(() => useEnvironment(ROLE));
afterEach(() => vi.unstubAllEnvs());

describe("defaultProvider", () => {
  it("answers the execution role's credentials Lambda puts in the environment", async () => {
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: ROLE.AWS_ACCESS_KEY_ID,
      secretAccessKey: ROLE.AWS_SECRET_ACCESS_KEY,
      sessionToken: ROLE.AWS_SESSION_TOKEN,
    });
  });

  it("is what SDK clients call for their default credentials, current and older clients alike", async () => {
    const clients = [
      new DynamoDBClient({ region: "us-east-2", credentialDefaultProvider: defaultProvider }),
      // client-acm-pca is pinned to an older SDK generation (functions/adapters/clients.ts).
      new ACMPCAClient({ region: "us-east-2", credentialDefaultProvider: defaultProvider }),
    ];
    for (const client of clients) {
      const credentials = await client.config.credentials();
      expect(credentials).toMatchObject({
        accessKeyId: ROLE.AWS_ACCESS_KEY_ID,
        secretAccessKey: ROLE.AWS_SECRET_ACCESS_KEY,
        sessionToken: ROLE.AWS_SESSION_TOKEN,
      });
      client.destroy();
    }
  });

  it("reads the environment when asked, not when the client is built", async () => {
    useEnvironment({});
    const provider = defaultProvider();
    useEnvironment(ROLE);
    await expect(provider()).resolves.toMatchObject({ accessKeyId: ROLE.AWS_ACCESS_KEY_ID });
  });

  it("names the missing variables and keeps the SDK's error as the cause", async () => {
    useEnvironment({ AWS_ACCESS_KEY_ID: ROLE.AWS_ACCESS_KEY_ID });
    const error = await defaultProvider()().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaCredentialsError);
    expect((error as Error).message).toMatch(/AWS_SECRET_ACCESS_KEY unset/);
    expect((error as Error).message).not.toMatch(/AWS_ACCESS_KEY_ID unset/);
    expect((error as Error).cause).toBeInstanceOf(Error);

    useEnvironment({});
    await expect(defaultProvider()()).rejects.toThrow(/AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY unset/);
  });

  it("refuses a profile rather than answering other credentials than asked for", async () => {
    await expect(defaultProvider({ profile: "operator" })()).rejects.toThrow(
      new LambdaCredentialsError(
        `the client asks for profile "operator", but this Lambda bundle reads only the execution role's ` +
          "credentials from the environment",
      ),
    );
  });
});
