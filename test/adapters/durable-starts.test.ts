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
import { serviceCheck } from "../../standins/model/checks.ts";

const RESOURCE = { name: "mtls-rotator-production-RotationWorkflow", qualifier: "7" };
const AWS = {
  accessKeyId: "AKIAEXAMPLEEXAMPLE00",
  secretAccessKey: "secret/example/key",
  region: "us-east-2",
};
const ARN =
  "arn:aws:lambda:us-east-2:111122223333:function:mtls-rotator-production-RotationWorkflow:7/durable-execution/rot-abc/1";

/** Every request the stubbed fetch saw, and the answer it gives. */
function stubLambda(answer: () => Response) {
  const seen: Request[] = [];
  vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
    seen.push(input instanceof Request ? input : new Request(input, init));
    return answer();
  });
  return seen;
}

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
    const body = await request.text();
    expect(JSON.parse(body)).toEqual(payload);
    // Read back as Lambda would, and validated against its published model (Invoke).
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const input = serviceCheck("lambda").checkRequest("Invoke", "rest-json", {
      method: request.method,
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers,
      body,
      bytes: new TextEncoder().encode(body),
    });
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
