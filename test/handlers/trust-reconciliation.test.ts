/**
 * The trust reconciliation function's entry (functions/handlers/trust-reconciliation.ts): a malformed event
 * is refused before anything is built, read or written; a good one reconciles with exactly its issuers and
 * answers the result without PEM.
 */
import { describe, expect, it } from "vitest";
import { issuersOfEvent, trustReconciliationHandler } from "../../functions/handlers/trust-reconciliation.ts";
import type { TrustReconciler } from "../../functions/wiring/trust-reconciliation.ts";

describe("the trust reconciliation handler", () => {
  it.each([
    [undefined, "the event must be { issuersInService: string[] }"],
    [{}, "the event must be { issuersInService: string[] }"],
    [{ issuersInService: "CN=A" }, "the event must be { issuersInService: string[] }"],
    [{ issuersInService: [""] }, "issuersInService[0] must be an issuer name (1..1024 characters)"],
    [{ issuersInService: ["CN=A", 5] }, "issuersInService[1] must be an issuer name (1..1024 characters)"],
    [
      { issuersInService: ["x".repeat(1025)] },
      "issuersInService[0] must be an issuer name (1..1024 characters)",
    ],
    [{ issuersInService: Array.from({ length: 101 }, (_, i) => `CN=${i}`) }, "at most 100 issuers, got 101"],
  ])("refuses %j before anything runs", async (event, message) => {
    let built = 0;
    const handler = trustReconciliationHandler(async () => {
      built += 1;
      throw new Error("must not be built");
    });
    await expect(handler(event)).rejects.toThrow(message);
    expect(built).toBe(0);
    expect(() => issuersOfEvent(event)).toThrow(TypeError);
  });

  it("reconciles with the event's issuers and answers the result, no PEM", async () => {
    const calls: (readonly string[])[] = [];
    const reconciler: TrustReconciler = async (issuers) => {
      calls.push(issuers);
      return {
        bundleSha256: "ab".repeat(32),
        certificates: 2,
        targets: [
          { target: "s3://bucket/key", changed: true },
          { target: "secretsmanager:bundle", changed: false },
        ],
        kept: ["CN=A"],
        inGrace: [],
        retiredFingerprints: ["cd".repeat(32)],
      } as unknown as Awaited<ReturnType<TrustReconciler>>;
    };
    const answer = await trustReconciliationHandler(async () => reconciler)({ issuersInService: ["CN=A"] });
    expect(calls).toEqual([["CN=A"]]);
    expect(answer).toEqual({
      bundleSha256: "ab".repeat(32),
      certificates: 2,
      kept: ["CN=A"],
      inGrace: [],
      retiredFingerprints: ["cd".repeat(32)],
      changedTargets: ["s3://bucket/key"],
    });
  });
});
