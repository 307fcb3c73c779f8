/**
 * Lambda bundles resolve `@smithy/credential-provider-imds` to functions/wiring/no-instance-metadata.ts
 * (infra/lambda-plugins.mjs; test/infra/lambda-bundles.test.ts checks no bundle carries the package). Its
 * only importer, the SDK's defaults-mode resolution, catches what it throws: the exports it imports exist
 * and refuse, and nothing else is exported for another importer to depend on by accident.
 */
import { describe, expect, it } from "vitest";
import * as stub from "../../functions/wiring/no-instance-metadata.ts";

describe("no instance metadata in a Lambda bundle", () => {
  it("offers exactly what the defaults-mode resolution imports, each refusing", async () => {
    expect(Object.keys(stub).sort()).toEqual(["getInstanceMetadataEndpoint", "httpRequest"]);
    await expect(stub.getInstanceMetadataEndpoint()).rejects.toThrow(/not available in a Lambda function/);
    await expect(stub.httpRequest()).rejects.toThrow(/not available in a Lambda function/);
  });
});
