/**
 * The schemas against what the service itself produces: every rotation id the dispatcher hands out is one
 * the API accepts, every certificate ARN the dispatcher accepts is one the API accepts, and the API refuses
 * what the dispatcher would refuse.
 */

import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { RotationPlanView } from "../../functions/api/answers.ts";
import { problemsOf, validationError } from "../../functions/api/http.ts";
import {
  ApproveBody,
  CertificatePath,
  ListCertificatesQuery,
  MAX_BAKE_SECONDS,
  MAX_CERTIFICATE_PAGE,
  MAX_EXPIRY_WINDOW_DAYS,
  MAX_REASON_LENGTH,
  MAX_WAVE_SIZES,
  RollbackBody,
  RotationPath,
  StartRotationBody,
} from "../../functions/api/schemas.ts";
import {
  PLANNED_KEY_REASONS,
  replacementKeyFor,
  SUPPORTED_KEY_ALGORITHMS,
} from "../../functions/core/certificate.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import { rotationIdFor } from "../../functions/core/rotation.ts";
import {
  attemptName,
  executionNameFor,
  LIMITS,
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

describe("free text (reason)", () => {
  const certificateArn = ARNS[0]!;
  const bodies = {
    "POST /rotations": (reason: string) => StartRotationBody.safeParse({ certificateArn, reason }),
    "POST /rotations/{id}/rollback": (reason: string) => RollbackBody.safeParse({ reason }),
    "POST /rotations/{id}/approve": (reason: string) => ApproveBody.safeParse({ reason }),
  };

  it.each(
    Object.keys(bodies).flatMap((route) =>
      [
        ["NUL", "\u0000"],
        ["ESC (C0)", "\u001b[31m"],
        ["DEL", "\u007f"],
        ["PAD, the first C1", "\u0080"],
        ["NEL (C1 line break)", "\u0085"],
        ["CSI (C1 escape sequence)", "\u009b31m"],
        ["APC, the last C1", "\u009f"],
        ["LINE SEPARATOR", "\u2028"],
        ["PARAGRAPH SEPARATOR", "\u2029"],
        // Bidirectional overrides and isolates: the dispatcher's rule too (one free-text rule).
        ["LEFT-TO-RIGHT EMBEDDING, the first override", "\u202a"],
        ["RIGHT-TO-LEFT OVERRIDE", "\u202e"],
        ["LEFT-TO-RIGHT ISOLATE", "\u2066"],
        ["POP DIRECTIONAL ISOLATE, the last isolate", "\u2069"],
      ].map(([name, bad]) => [route, name, bad] as const),
    ),
  )("%s refuses a reason with %s, naming the field", (route, _, bad) => {
    const result = bodies[route as keyof typeof bodies](`drill ${bad} forged line`);
    expect(result.success).toBe(false);
    const problems = problemsOf(result.error!);
    expect(problems).toEqual([{ field: "reason", message: expect.stringContaining("control characters") }]);
    expect(validationError(problems).message).toMatch(/^invalid request: reason: must not contain /);
  });

  it.each(Object.keys(bodies))(
    "%s refuses a reason holding PEM (it would be recorded and answered back)",
    (route) => {
      const result = bodies[route as keyof typeof bodies]("leaked: -----BEGIN PRIVATE KEY----- MIIE");
      expect(result.success).toBe(false);
      expect(problemsOf(result.error!)).toEqual([
        { field: "reason", message: "must not contain PEM material" },
      ]);
      // A dash run that is not PEM armour is text like any other.
      expect(bodies[route as keyof typeof bodies]("see ----- below").success).toBe(true);
    },
  );

  it("accepts text around them: accents, non-breaking space, CJK, emoji, and trims what surrounds it", () => {
    for (const reason of ["clé exposée", "a\u00a0b", "鍵の漏洩", "drill 🔑", "\u00a0x", "ÿ"]) {
      expect(RollbackBody.safeParse({ reason }).success, reason).toBe(true);
    }
    expect(RollbackBody.parse({ reason: "\u2028 key exposure \u2029" })).toEqual({ reason: "key exposure" });
  });
});

describe("limits the CLI imports", () => {
  it("are what the schemas enforce", () => {
    const certificateArn = ARNS[0]!;
    const body = (extra: object) => StartRotationBody.safeParse({ certificateArn, ...extra }).success;
    expect(body({ bakeSeconds: MAX_BAKE_SECONDS })).toBe(true);
    expect(body({ bakeSeconds: MAX_BAKE_SECONDS + 1 })).toBe(false);
    const sizes = (n: number) => Array.from({ length: n }, () => ({ count: 1 }));
    expect(body({ waves: { waves: sizes(MAX_WAVE_SIZES) } })).toBe(true);
    expect(body({ waves: { waves: sizes(MAX_WAVE_SIZES + 1) } })).toBe(false);
    expect(body({ reason: "x".repeat(MAX_REASON_LENGTH) })).toBe(true);
    expect(body({ reason: "x".repeat(MAX_REASON_LENGTH + 1) })).toBe(false);
    const query = (q: object) => ListCertificatesQuery.safeParse(q).success;
    expect(query({ limit: String(MAX_CERTIFICATE_PAGE) })).toBe(true);
    expect(query({ limit: String(MAX_CERTIFICATE_PAGE + 1) })).toBe(false);
    expect(query({ expiringWithinDays: String(MAX_EXPIRY_WINDOW_DAYS) })).toBe(true);
    expect(query({ expiringWithinDays: String(MAX_EXPIRY_WINDOW_DAYS + 1) })).toBe(false);
    // The dispatcher agrees (it checks again behind the API).
    expect(LIMITS).toMatchObject({
      bakeSeconds: MAX_BAKE_SECONDS,
      waves: MAX_WAVE_SIZES,
      reason: MAX_REASON_LENGTH,
    });
  });
});

describe("the dry-run plan's keyAlgorithm", () => {
  it("is described as the workflow picks it (replacementKeyFor: it follows the issuing CA's key)", () => {
    const description = z.globalRegistry.get(RotationPlanView.shape.keyAlgorithm)?.description ?? "";
    expect(description).not.toContain("the current certificate's");
    expect(description).toContain("follows the issuing CA's key");
    for (const supported of SUPPORTED_KEY_ALGORITHMS) expect(description).toContain(supported);
    // The key in service does not decide: the same certificate gets the CA's key type either way.
    for (const inServiceKeyAlgorithm of ["RSA_2048", "EC_prime256v1", "RSA_4096"]) {
      expect(replacementKeyFor({ caKeyAlgorithm: "EC_secp384r1", inServiceKeyAlgorithm }).keyAlgorithm).toBe(
        "EC_prime256v1",
      );
      expect(replacementKeyFor({ caKeyAlgorithm: "RSA_4096", inServiceKeyAlgorithm }).keyAlgorithm).toBe(
        "RSA_2048",
      );
    }
  });

  it("accepts exactly what planRotation can answer: a key CloudFront presents, and a reason it has", () => {
    const view = z.strictObject(z.pick(RotationPlanView, { keyAlgorithm: true, replacementKey: true }).shape);
    for (const caKeyAlgorithm of ["RSA_2048", "RSA_4096", "EC_prime256v1", "EC_secp384r1"]) {
      const { keyAlgorithm, ...replacementKey } = replacementKeyFor({
        caKeyAlgorithm,
        inServiceKeyAlgorithm: "RSA_2048",
      });
      expect(view.safeParse({ keyAlgorithm, replacementKey }).success).toBe(true);
    }
    expect(RotationPlanView.shape.replacementKey.shape.reason.options).toEqual([...PLANNED_KEY_REASONS]);
    expect(RotationPlanView.shape.keyAlgorithm.safeParse("RSA_4096").success).toBe(false);
  });
});

describe("messages", () => {
  it("zod's own are in English, as with full zod (zod/mini loads no locale by itself)", () => {
    const certificateArn = ARNS[0]!;
    const problems = (body: object) => {
      const result = StartRotationBody.safeParse({ certificateArn, ...body }, { reportInput: true });
      return result.success ? [] : problemsOf(result.error);
    };
    expect(problems({ bakeSeconds: "60", dryRun: 1, approval: "always", waves: { canarySize: 0 } })).toEqual([
      { field: "dryRun", message: "Invalid input: expected boolean, received number" },
      { field: "waves.canarySize", message: "Too small: expected number to be >=1" },
      { field: "bakeSeconds", message: "Invalid input: expected number, received string" },
      { field: "approval", message: 'Invalid option: expected one of "none"|"between-waves"' },
    ]);
  });
});
