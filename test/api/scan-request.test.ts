/**
 * POST /scan's use-case and its Lambda port: an asynchronous (`Event`) invoke of the scan function with
 * the caller as actor, and the scan function reading that actor.
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { lambdaScanTrigger, requestScan } from "../../functions/api/scan-request.ts";
import { API_SCAN, scanTriggerOf } from "../../functions/tracking/scan-trigger.ts";
import { PRINCIPAL } from "../support/api-events.ts";

function recordingClient(answer: { StatusCode?: number } = { StatusCode: 202 }) {
  const sent: InvokeCommand[] = [];
  return {
    sent,
    client: {
      send: async (command: InvokeCommand) => {
        sent.push(command);
        return answer;
      },
    } as never,
  };
}

describe("lambdaScanTrigger", () => {
  it("invokes the scan function asynchronously with { source: api, actor }", async () => {
    const { sent, client } = recordingClient();
    const answer = await requestScan(
      { scan: lambdaScanTrigger(client, "mtls-rotator-prod-Scan") },
      PRINCIPAL,
    );

    expect(answer).toEqual({ status: 202, body: { accepted: true } });
    expect(sent).toHaveLength(1);
    const command = sent[0]!;
    expect(command).toBeInstanceOf(InvokeCommand);
    expect(command.input.FunctionName).toBe("mtls-rotator-prod-Scan");
    expect(command.input.InvocationType).toBe("Event");
    const payload = JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array));
    expect(payload).toEqual({ source: "api", actor: PRINCIPAL });
    // What the scan function reads of it: an API scan, the caller as actor.
    expect(scanTriggerOf(payload)).toEqual({ trigger: API_SCAN, actor: PRINCIPAL });
  });

  it("fails when Lambda did not queue the invocation", async () => {
    const { client } = recordingClient({ StatusCode: 200 });
    await expect(
      lambdaScanTrigger(client, "scan").trigger({ source: "api", actor: PRINCIPAL }),
    ).rejects.toThrow(/answered 200, not 202/);
  });
});
