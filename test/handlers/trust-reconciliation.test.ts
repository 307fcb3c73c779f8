/**
 * The trust reconciliation function's entry (functions/handlers/trust-reconciliation.ts): a malformed event
 * is refused before anything is built, read or written; a good one reconciles with exactly its CA keys and
 * answers the result without PEM.
 */
import { describe, expect, it } from "vitest";
import {
  authorityKeysOfEvent,
  trustReconciliationHandler,
} from "../../functions/handlers/trust-reconciliation.ts";
import type { TrustReconciler } from "../../functions/wiring/trust-reconciliation.ts";

describe("the trust reconciliation handler", () => {
  const KEY = "0f".repeat(32);
  const SHAPE =
    "the event must be { authorityKeysInService: string[] } (CAs are known by their keys; a scan older than its reconciliation function sends issuer names: the next scan sends keys)";
  const NOT_A_KEY = (i: number) =>
    `authorityKeysInService[${i}] must be a CA key fingerprint (64 lowercase hex digits, SHA-256 of its public key)`;
  it.each([
    [undefined, SHAPE],
    [{}, SHAPE],
    // What a scan from before CAs were known by their keys sends.
    [{ issuersInService: ["CN=Acme Origin Client CA, O=Acme"] }, SHAPE],
    [{ authorityKeysInService: KEY }, SHAPE],
    [{ authorityKeysInService: [""] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: [KEY, 5] }, NOT_A_KEY(1)],
    [{ authorityKeysInService: ["CN=A"] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: [KEY.toUpperCase()] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: [`${KEY}0`] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: [KEY.slice(1)] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: [`${KEY.slice(2)}\n`] }, NOT_A_KEY(0)],
    [{ authorityKeysInService: Array.from({ length: 101 }, () => KEY) }, "at most 100 CA keys, got 101"],
  ])("refuses %j before anything runs", async (event, message) => {
    let built = 0;
    const handler = trustReconciliationHandler(async () => {
      built += 1;
      throw new Error("must not be built");
    });
    await expect(handler(event)).rejects.toThrow(message);
    expect(built).toBe(0);
    expect(() => authorityKeysOfEvent(event)).toThrow(TypeError);
  });

  it("reconciles with the event's CA keys and answers the result, no PEM", async () => {
    const calls: (readonly string[])[] = [];
    const reconciler: TrustReconciler = async (keys) => {
      calls.push(keys);
      return {
        bundleSha256: "ab".repeat(32),
        certificates: 2,
        targets: [
          { target: "s3://bucket/key", changed: true },
          { target: "secretsmanager:bundle", changed: false },
        ],
        kept: [KEY],
        inGrace: [],
        retiredFingerprints: ["cd".repeat(32)],
      } as unknown as Awaited<ReturnType<TrustReconciler>>;
    };
    const answer = await trustReconciliationHandler(async () => reconciler)({
      authorityKeysInService: [KEY],
    });
    expect(calls).toEqual([[KEY]]);
    expect(answer).toEqual({
      bundleSha256: "ab".repeat(32),
      certificates: 2,
      kept: [KEY],
      inGrace: [],
      retiredFingerprints: ["cd".repeat(32)],
      changedTargets: ["s3://bucket/key"],
    });
  });
});
