/**
 * The Lambda callback sender: SendDurableExecutionCallbackSuccess with the callback id and the decision as
 * the result payload; a callback that is no longer open is reported as CallbackClosedError.
 */
import { SendDurableExecutionCallbackSuccessCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { lambdaCallbackSender } from "../../functions/adapters/durable-callbacks.ts";
import { CallbackClosedError } from "../../functions/dispatch/control-rotation.ts";

function client(fail?: { name: string; message: string }) {
  const sent: SendDurableExecutionCallbackSuccessCommand[] = [];
  return {
    sent,
    client: {
      send: async (command: SendDurableExecutionCallbackSuccessCommand) => {
        sent.push(command);
        if (fail) throw Object.assign(new Error(fail.message), { name: fail.name, $fault: "client" });
        return {};
      },
    } as never,
  };
}

describe("lambdaCallbackSender", () => {
  it("sends the callback id and the decision as the result payload", async () => {
    const { sent, client: lambda } = client();
    const message = JSON.stringify({
      action: "rollback",
      actor: "arn:aws:iam::123456789012:user/alice",
      reason: "x",
    });
    await lambdaCallbackSender(lambda).succeed("Y2FsbGJhY2staWQ=", message);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(SendDurableExecutionCallbackSuccessCommand);
    expect(sent[0]!.input.CallbackId).toBe("Y2FsbGJhY2staWQ=");
    expect(new TextDecoder().decode(sent[0]!.input.Result as Uint8Array)).toBe(message);
  });

  it.each(["CallbackTimeoutException", "ResourceNotFoundException"])(
    "reports %s as a closed callback",
    async (name) => {
      const { client: lambda } = client({ name, message: "The callback ID token has either expired" });
      const error = await lambdaCallbackSender(lambda)
        .succeed("id", "{}")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallbackClosedError);
      expect((error as Error).cause).toMatchObject({ name });
    },
  );

  it("lets every other failure through", async () => {
    const { client: lambda } = client({ name: "AccessDeniedException", message: "not authorized" });
    await expect(lambdaCallbackSender(lambda).succeed("id", "{}")).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
  });
});
