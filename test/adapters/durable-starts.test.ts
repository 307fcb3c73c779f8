/**
 * Starting a durable execution (functions/adapters/durable-starts.ts): the request Lambda receives, read back
 * on the wire and checked against Lambda's published model (Invoke: method, URI, Qualifier, the durable
 * execution name and invocation type headers, the payload), signed with SigV4 for lambda; and the answers:
 * the execution ARN on success, a refusal the dispatcher reads as "already started".
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  durableExecutionStatus,
  ExecutionListError,
  StartError,
  startDurableExecution,
} from "../../functions/adapters/durable-starts.ts";
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

describe("durableExecutionStatus", () => {
  const execution = (name: string, status: string) => ({
    DurableExecutionArn: `${ARN.replace("rot-abc", name)}`,
    DurableExecutionName: name,
    FunctionArn: "arn:aws:lambda:us-east-2:111122223333:function:mtls-rotator-production-RotationWorkflow:7",
    Status: status,
    StartTimestamp: "2026-12-01T00:00:00Z",
  });

  it("lists the qualified workflow's executions by name, signed, as Lambda's model reads it; answers its status", async () => {
    const seen = stubLambda(
      () =>
        new Response(JSON.stringify({ DurableExecutions: [execution("rot-abc", "FAILED")] }), {
          status: 200,
        }),
    );
    expect(await durableExecutionStatus(RESOURCE, "rot-abc", { aws: AWS })).toBe("FAILED");
    const request = seen[0]!;
    expect(request.method).toBe("GET");
    expect(request.headers.get("authorization")).toMatch(/\/us-east-2\/lambda\/aws4_request, /);
    expect(await lambdaInputOf("ListDurableExecutionsByFunction", request)).toMatchObject({
      FunctionName: RESOURCE.name,
      Qualifier: "7",
      DurableExecutionName: "rot-abc",
    });
    // The deployed starter asks the same.
    expect(await sstWorkflowStarter(RESOURCE, undefined, { aws: AWS }).status!("rot-abc")).toBe("FAILED");
  });

  it("reads the pages until the exact name; none: undefined (never started, or dropped after retention)", async () => {
    const pages = [
      { DurableExecutions: [execution("rot-abc-2", "RUNNING")], NextMarker: "page-2" },
      { DurableExecutions: [execution("rot-abc", "RUNNING")] },
    ];
    const seen = stubLambda(() => new Response(JSON.stringify(pages.shift()), { status: 200 }));
    expect(await durableExecutionStatus(RESOURCE, "rot-abc", { aws: AWS })).toBe("RUNNING");
    expect(new URL(seen[1]!.url).searchParams.get("Marker")).toBe("page-2");
    await lambdaInputOf("ListDurableExecutionsByFunction", seen[1]!);

    stubLambda(() => new Response(JSON.stringify({ DurableExecutions: [] }), { status: 200 }));
    expect(await durableExecutionStatus(RESOURCE, "rot-abc", { aws: AWS })).toBeUndefined();
  });

  it("a refusal throws (liveness unknown is never taken for dead); an unknown status too", async () => {
    // Not allowed (a 4xx SST's signed fetch does not retry): the dispatcher then takes liveness as unknown.
    stubLambda(
      () => new Response("{}", { status: 403, headers: { "x-amzn-errortype": "AccessDeniedException" } }),
    );
    await expect(durableExecutionStatus(RESOURCE, "rot-abc", { aws: AWS })).rejects.toBeInstanceOf(
      ExecutionListError,
    );
    stubLambda(
      () =>
        new Response(JSON.stringify({ DurableExecutions: [execution("rot-abc", "PAUSED")] }), {
          status: 200,
        }),
    );
    await expect(durableExecutionStatus(RESOURCE, "rot-abc", { aws: AWS })).rejects.toThrow(
      /unknown execution status/,
    );
  });
});
