/**
 * The Lambda callback sender: SendDurableExecutionCallbackSuccess with the callback id and the decision as
 * the result payload — the request read back on the wire and checked against Lambda's published model,
 * signed with SigV4 for lambda — and a callback that is no longer open reported as CallbackClosedError.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallbackAnswerError, lambdaCallbackSender } from "../../functions/adapters/durable-callbacks.ts";
import { CallbackClosedError } from "../../functions/dispatch/control-rotation.ts";
import { lambdaInputOf, stubLambda, TEST_AWS } from "../support/lambda-wire.ts";

const AWS = TEST_AWS;

const refusal = (code: string, status: number) => () =>
  new Response(JSON.stringify({ message: "The callback ID token has either expired" }), {
    status,
    headers: { "x-amzn-errortype": code },
  });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("lambdaCallbackSender", () => {
  it("sends the callback id and the decision as the result payload, as Lambda's model has it", async () => {
    const seen = stubLambda(() => new Response(null, { status: 200 }));
    const message = JSON.stringify({
      action: "rollback",
      actor: "arn:aws:iam::123456789012:user/alice",
      reason: "x",
    });
    await lambdaCallbackSender({ aws: AWS }).succeed("Y2FsbGJhY2staWQ=", message);
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    const url = new URL(request.url);
    expect(url.host).toBe("lambda.us-east-2.amazonaws.com");
    expect(request.headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE00\/\d{8}\/us-east-2\/lambda\/aws4_request, /,
    );
    const body = await request.clone().text();
    expect(body).toBe(message);
    const input = await lambdaInputOf("SendDurableExecutionCallbackSuccess", request);
    expect(input.CallbackId).toBe("Y2FsbGJhY2staWQ=");
    expect(new TextDecoder().decode(input.Result as Uint8Array)).toBe(message);
  });

  it.each(["CallbackTimeoutException", "ResourceNotFoundException"])(
    "reports %s as a closed callback",
    async (name) => {
      stubLambda(refusal(name, name === "ResourceNotFoundException" ? 404 : 400));
      const error = await lambdaCallbackSender({ aws: AWS })
        .succeed("id", "{}")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallbackClosedError);
      expect((error as Error).cause).toMatchObject({ name });
    },
  );

  it("lets every other failure through, named by Lambda's error code", async () => {
    stubLambda(refusal("AccessDeniedException", 403));
    const error = await lambdaCallbackSender({ aws: AWS })
      .succeed("id", "{}")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallbackAnswerError);
    expect(error).toMatchObject({ name: "AccessDeniedException", status: 403 });
  });
});
