/**
 * Starting a durable execution of the rotation workflow: Lambda's `Invoke` of the workflow's qualified
 * function, asynchronous (`X-Amz-Invocation-Type: Event`), with the execution's name
 * (`X-Amz-Durable-Execution-Name`) — the durable invocation flow of AWS's "Invoking durable Lambda functions"
 * (https://docs.aws.amazon.com/lambda/latest/dg/durable-invoking.html), the same request SST's
 * `workflow.start` sends. Signed with SST's own SigV4 fetch (`sst/aws/client`), so a function that only
 * starts rotations (the scan, POST /rotations) carries neither the durable execution SDK nor the Lambda SDK
 * client; Lambda refuses a second start of a name with DurableExecutionAlreadyStartedException, which the
 * dispatcher reads from the answer (start-rotation.ts startErrorCode).
 */
import { awsFetch } from "sst/aws/client";
import type { workflow } from "sst/aws/workflow";

/** Lambda answered a start with an error status; `response` carries its code. */
export class StartError extends Error {
  override name = "StartError";
  readonly response: Response;
  constructor(response: Response) {
    super("Failed to start workflow");
    this.response = response;
  }
}

export async function startDurableExecution<TPayload = unknown>(
  resource: workflow.Resource,
  input: Parameters<typeof workflow.start<TPayload>>[1],
  options?: workflow.Options,
): Promise<workflow.StartResponse> {
  const query = new URLSearchParams({ Qualifier: resource.qualifier });
  const response = await awsFetch(
    "lambda",
    `/2015-03-31/functions/${encodeURIComponent(resource.name)}/invocations?${query}`,
    {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Amz-Durable-Execution-Name": input.name,
        "X-Amz-Invocation-Type": "Event",
      },
      ...(input.payload === undefined ? {} : { body: JSON.stringify(input.payload) }),
    },
    options,
  );
  if (!response.ok) throw new StartError(response);
  return {
    arn: response.headers.get("X-Amz-Durable-Execution-Arn") ?? undefined,
    statusCode: response.status,
    version: response.headers.get("X-Amz-Executed-Version") ?? undefined,
  };
}

/** What the dispatcher starts executions with in Lambda (tests and the sandbox pass their own). */
export const durableStarts = {
  start: startDurableExecution,
  StartError,
  executionStatus: (resource: workflow.Resource, name: string, options?: workflow.Options) =>
    durableExecutionStatus(resource, name, options),
};

/**
 * The error code of a failed Lambda call: the `X-Amzn-ErrorType` header ("Code" or "Code:uri"), else a code
 * field of the JSON body (`__type`, `code`, `Code`, `errorType`). Undefined when neither says.
 */
export async function errorCodeOf(response: Response): Promise<string | undefined> {
  const header = response.headers.get("x-amzn-errortype");
  if (header) return header.split(":")[0]!.trim();
  try {
    const body = (await response.clone().json()) as Record<string, unknown>;
    for (const key of ["__type", "code", "Code", "errorType"]) {
      const value = body[key];
      if (typeof value === "string" && value !== "") return value.split("#").pop()!.split(":")[0];
    }
  } catch {
    // Not JSON (or already read): no code.
  }
  return undefined;
}

/** A durable execution's status (Lambda's ExecutionStatus). */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "STOPPED";

const EXECUTION_STATUSES: readonly string[] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"];

/** Lambda answered a listing of executions with an error status; `response` carries its code. */
export class ExecutionListError extends Error {
  override name = "ExecutionListError";
  readonly response: Response;
  readonly retryable = true;
  constructor(response: Response) {
    super(`Lambda refused to list durable executions (${response.status})`);
    this.response = response;
  }
}

/**
 * The status of the workflow's execution named `name` (of its qualified function): Lambda's
 * ListDurableExecutionsByFunction filtered by the name ("Durable execution API", Lambda API reference),
 * the pages read until the name is found. Undefined when Lambda lists no execution of that name under this
 * version ("If not specified, lists executions for the $LATEST version": the listing is per version) — never
 * started, started by an earlier version (it runs on, and is listed under, that version), or dropped after
 * the retention period: the dispatcher takes undefined as "unknown", never as "dead".
 */
export async function durableExecutionStatus(
  resource: workflow.Resource,
  name: string,
  options?: workflow.Options,
): Promise<ExecutionStatus | undefined> {
  let marker: string | undefined;
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({
      Qualifier: resource.qualifier,
      DurableExecutionName: name,
      ...(marker ? { Marker: marker } : {}),
    });
    const response = await awsFetch(
      "lambda",
      `/2025-12-01/functions/${encodeURIComponent(resource.name)}/durable-executions?${query}`,
      { method: "GET" },
      options,
    );
    if (!response.ok) throw new ExecutionListError(response);
    const body = (await response.json()) as {
      DurableExecutions?: Array<{ DurableExecutionName?: unknown; Status?: unknown }>;
      NextMarker?: unknown;
    };
    const found = (body.DurableExecutions ?? []).find((e) => e.DurableExecutionName === name);
    if (found) {
      if (typeof found.Status !== "string" || !EXECUTION_STATUSES.includes(found.Status))
        throw new Error(`Lambda answered an unknown execution status ${JSON.stringify(found.Status)}`);
      return found.Status as ExecutionStatus;
    }
    if (typeof body.NextMarker !== "string" || body.NextMarker === "") return undefined;
    marker = body.NextMarker;
  }
  // Not found within the pages read is no proof of absence.
  throw new Error(`durable execution ${name}: not found within 20 pages of executions; status unknown`);
}
