/**
 * The scan's call of the trust reconciliation function (functions/adapters/trust-reconciliation.ts): Lambda's
 * synchronous Invoke with the CA keys in service, read back on the wire and checked against Lambda's model;
 * the function's answer; a function error and a refused invoke are thrown, never taken for a result.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  lambdaTrustReconciliation,
  TrustReconciliationError,
} from "../../functions/adapters/trust-reconciliation.ts";
import { lambdaInputOf, stubLambda, TEST_AWS } from "../support/lambda-wire.ts";

const FUNCTION = "mtls-rotator-production-TrustReconciliationFunction";
const KEYS = ["0a".repeat(32), "0b".repeat(32)];

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("lambdaTrustReconciliation", () => {
  it("invokes the function synchronously with the CA keys in service, as Lambda's model has it", async () => {
    const answer = { bundleSha256: "ab".repeat(32), retiredFingerprints: ["cd".repeat(32)], kept: [] };
    const seen = stubLambda(() => new Response(JSON.stringify(answer), { status: 200 }));
    const result = await lambdaTrustReconciliation(FUNCTION, { aws: TEST_AWS })(KEYS);

    expect(result).toEqual({
      bundleSha256: answer.bundleSha256,
      retiredFingerprints: answer.retiredFingerprints,
    });
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    expect(new URL(request.url).host).toBe("lambda.us-east-2.amazonaws.com");
    expect(request.headers.get("authorization")).toMatch(/\/us-east-2\/lambda\/aws4_request, /);
    expect(JSON.parse(await request.clone().text())).toEqual({ authorityKeysInService: KEYS });
    expect(await lambdaInputOf("Invoke", request)).toMatchObject({
      FunctionName: FUNCTION,
      InvocationType: "RequestResponse",
    });
  });

  it("a function error is thrown with the function's message, not taken for a result", async () => {
    stubLambda(
      () =>
        new Response(
          JSON.stringify({ errorType: "CloudFrontTrustStoreError", errorMessage: "trust store failed" }),
          {
            status: 200,
            headers: { "X-Amz-Function-Error": "Unhandled" },
          },
        ),
    );
    const error = await lambdaTrustReconciliation(FUNCTION, { aws: TEST_AWS })(KEYS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrustReconciliationError);
    expect((error as Error).message).toBe("trust reconciliation failed (Unhandled): trust store failed");
  });

  it("a refused invoke is thrown with Lambda's code; an answer of another shape too", async () => {
    stubLambda(
      () => new Response("{}", { status: 403, headers: { "x-amzn-errortype": "AccessDeniedException" } }),
    );
    await expect(lambdaTrustReconciliation(FUNCTION, { aws: TEST_AWS })(KEYS)).rejects.toThrow(
      `Lambda refused to invoke ${FUNCTION}: AccessDeniedException (HTTP 403)`,
    );
    vi.unstubAllGlobals();
    stubLambda(() => new Response(JSON.stringify({ bundleSha256: 5 }), { status: 200 }));
    await expect(lambdaTrustReconciliation(FUNCTION, { aws: TEST_AWS })(KEYS)).rejects.toThrow(
      "trust reconciliation answered something else than its result",
    );
  });
});
