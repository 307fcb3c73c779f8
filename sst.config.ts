/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "mtls-rotator",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      providers: { aws: { region: process.env.MTLS_ROTATOR_REGION ?? "us-east-1" } },
    };
  },
  async run() {
    const { credentialsKey } = await import("./infra/credentials");
    return { credentialsKeyArn: credentialsKey.arn };
  },
});
