/**
 * POST /scan: run the fleet scan now. The scan function is invoked asynchronously (it takes longer than an
 * API call may), with the caller as the actor of any rotation it starts. The trigger is a port so that the
 * API's tests see the call; in Lambda it is an `Event` invoke of the scan function.
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { ApiScanRequest } from "../tracking/scan-trigger.ts";
import type { AnswerOf, ROUTES } from "./schemas.ts";

export interface ScanTrigger {
  trigger(request: ApiScanRequest): Promise<void>;
}

/** Invokes the scan function asynchronously (InvocationType "Event": Lambda queues it and answers 202). */
export function lambdaScanTrigger(client: Pick<LambdaClient, "send">, functionName: string): ScanTrigger {
  return {
    async trigger(request) {
      const out = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: "Event",
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
      if (out.StatusCode !== undefined && out.StatusCode !== 202) {
        throw new Error(`asynchronous invoke of ${functionName} answered ${out.StatusCode}, not 202`);
      }
    },
  };
}

export interface ScanApiDeps {
  scan: ScanTrigger;
}

export async function requestScan(
  deps: ScanApiDeps,
  actor: string,
): Promise<AnswerOf<typeof ROUTES.startScan>> {
  await deps.scan.trigger({ source: "api", actor });
  return { status: 202, body: { accepted: true } };
}
