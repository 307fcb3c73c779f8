/**
 * The schemas against what the service itself produces: every rotation id the dispatcher hands out is one
 * the API accepts, every certificate ARN the dispatcher accepts is one the API accepts, and the API refuses
 * what the dispatcher would refuse.
 */
import { describe, expect, it } from "vitest";
import { problemsOf } from "../../functions/api/http.ts";
import { CertificatePath, RotationPath, StartRotationBody } from "../../functions/api/schemas.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import { rotationIdFor } from "../../functions/core/rotation.ts";
import {
  attemptName,
  executionNameFor,
  MAX_ATTEMPTS,
  ROTATION_ID,
  validateRotationRequest,
} from "../../functions/dispatch/start-rotation.ts";

const ARNS = [
  "arn:aws:acm:us-east-1:123456789012:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c",
  "arn:aws:acm:us-east-1:000000000000:certificate/ffffffff-ffff-ffff-ffff-ffffffffffff",
];
const SERIALS = ["01", "5a:3c:0f:9e:12", "7F".repeat(32)];

describe("rotation ids", () => {
  it("every name the dispatcher derives, for every attempt and for dry runs, is a valid {id}", async () => {
    for (const certificateArn of ARNS) {
      for (const serial of SERIALS) {
        const { serial: normalized } = validateRotationRequest({
          certificateArn,
          serial,
          reason: "r",
          actor: "a",
        });
        expect(executionNameFor({ certificateArn, serial: normalized })).toBe(
          rotationIdFor(certificateArn, normalized, sha256Hex),
        );
        for (const dryRun of [false, true]) {
          const base = executionNameFor({ certificateArn, serial: normalized, dryRun });
          // Every earlier attempt failed: the dispatcher walks to the last name it would ever hand out.
          const failedUpTo = (n: number) => ({
            statusOf: async (name: string) => {
              const attempt = name === base ? 1 : Number(name.slice(base.length + 1));
              return attempt < n ? ("failed" as const) : undefined;
            },
          });
          for (const attempt of [1, 2, 10, MAX_ATTEMPTS]) {
            const name = await attemptName(base, failedUpTo(attempt));
            expect(name, name).toMatch(ROTATION_ID);
            expect(name.length).toBeLessThanOrEqual(64);
            expect(RotationPath.safeParse({ id: name }).success, name).toBe(true);
          }
        }
      }
    }
  });
});

describe("certificate references", () => {
  it("accepts a certificate id, an ARN, and an ARN still URL-encoded; refuses anything else", () => {
    const [arn] = ARNS as [string];
    const id = arn.split("/").pop()!;
    expect(CertificatePath.parse({ id })).toEqual({ id });
    expect(CertificatePath.parse({ id: arn })).toEqual({ id: arn });
    expect(CertificatePath.parse({ id: encodeURIComponent(arn) })).toEqual({ id: arn });
    for (const bad of ["%E0%A4%A", `${arn}/x`, id.replaceAll("-", ""), ""]) {
      expect(CertificatePath.safeParse({ id: bad }).success, bad).toBe(false);
    }
  });
});

describe("POST /rotations body", () => {
  it("accepts exactly the certificate ARNs the dispatcher accepts", () => {
    const candidates = [
      ...ARNS,
      ARNS[0]!.replace("us-east-1", "eu-west-1"),
      ARNS[0]!.replace("arn:aws:", "arn:aws-cn:"),
      ARNS[0]!.toUpperCase(),
      `${ARNS[0]}/x`,
    ];
    for (const certificateArn of candidates) {
      const api = StartRotationBody.safeParse({ certificateArn }).success;
      let dispatcher = true;
      try {
        validateRotationRequest({ certificateArn, serial: "01", reason: "r", actor: "a" });
      } catch {
        dispatcher = false;
      }
      expect(api, certificateArn).toBe(dispatcher);
    }
  });

  it("names each problem's field", () => {
    const result = StartRotationBody.safeParse({
      certificateArn: ARNS[0],
      waves: { canarySize: 0, waves: [{ count: 1 }, { percent: 101 }, { size: 1 }] },
      bakeSeconds: "60",
      approval: "sometimes",
    });
    expect(result.success).toBe(false);
    expect(problemsOf(result.error!).map((p) => p.field)).toEqual([
      "waves.canarySize",
      "waves.waves[1].percent",
      "waves.waves[2]",
      "bakeSeconds",
      "approval",
    ]);
  });
});
