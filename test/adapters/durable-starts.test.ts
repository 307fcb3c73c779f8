/**
 * Starting a durable execution (functions/adapters/durable-starts.ts): the request Lambda receives, read back
 * on the wire and checked against Lambda's published model (Invoke: method, URI, Qualifier, the durable
 * execution name and invocation type headers, the payload), signed with SigV4 for lambda; and the answers:
 * the execution ARN on success, a refusal the dispatcher reads as "already started".
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { StartError, startDurableExecution } from "../../functions/adapters/durable-starts.ts";
import {
  ALREADY_STARTED,
  sstWorkflowStarter,
  startErrorCode,
} from "../../functions/dispatch/start-rotation.ts";
import { lambdaInputOf, stubLambda, TEST_AWS } from "../support/lambda-wire.ts";

const RESOURCE = { name: "mtls-rotator-production-RotationWorkflow", qualifier: "7" };
const AWS = TEST_AWS;
const ARN =
  "arn:aws:lambda:us-east-2:111122223333:function:mtls-rotator-production-RotationWorkflow:7/durable-execution/rot-abc/1";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("startDurableExecution", () => {
  it("sends Lambda's Invoke of the qualified workflow, asynchronous, named, signed, and the model accepts it", async () => {
    const seen = stubLambda(
      () => new Response(null, { status: 202, headers: { "X-Amz-Durable-Execution-Arn": ARN } }),
    );
    const payload = { certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/x", actor: "scan" };
    const answer = await startDurableExecution(RESOURCE, { name: "rot-abc", payload }, { aws: AWS });

    expect(answer).toMatchObject({ arn: ARN, statusCode: 202 });
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    const url = new URL(request.url);
    expect(url.host).toBe("lambda.us-east-2.amazonaws.com");
    expect(request.method).toBe("POST");
    expect(request.headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE00\/\d{8}\/us-east-2\/lambda\/aws4_request, /,
    );
    const body = await request.clone().text();
    expect(JSON.parse(body)).toEqual(payload);
    // Read back as Lambda would, and validated against its published model (Invoke).
    const input = await lambdaInputOf("Invoke", request);
    expect(input).toMatchObject({
      FunctionName: RESOURCE.name,
      Qualifier: "7",
      InvocationType: "Event",
      DurableExecutionName: "rot-abc",
    });
  });

  it("a second start of a name: StartError, which the dispatcher reads as already started", async () => {
    stubLambda(
      () =>
        new Response(JSON.stringify({ message: "already started" }), {
          status: 409,
          headers: { "x-amzn-errortype": `${ALREADY_STARTED}:http://internal.amazon.com/coral/` },
        }),
    );
    const error = await startDurableExecution(RESOURCE, { name: "rot-abc", payload: {} }, { aws: AWS }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartError);
    expect(await startErrorCode((error as StartError).response)).toBe(ALREADY_STARTED);

    // The deployed starter (no SDK injected) converges on the running execution instead of failing.
    const starter = sstWorkflowStarter(RESOURCE, undefined, { aws: AWS });
    expect(await starter.start("rot-abc", {} as never)).toEqual({ started: false });
  });

  it("any other refusal propagates (nothing is taken for started)", async () => {
    stubLambda(
      () => new Response("{}", { status: 404, headers: { "x-amzn-errortype": "ResourceNotFoundException" } }),
    );
    const starter = sstWorkflowStarter(RESOURCE, undefined, { aws: AWS });
    await expect(starter.start("rot-abc", {} as never)).rejects.toBeInstanceOf(StartError);
  });
});
