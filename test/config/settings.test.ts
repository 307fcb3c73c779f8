/**
 * Rotation settings: defaults, and validation that reports every problem at once with a clear message
 * before anything runs.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SETTINGS,
  type RotationSettingsInput,
  resolveSettings,
  SettingsError,
} from "../../functions/config/settings.ts";
import { DEFAULT_GATE_POLICY } from "../../functions/core/gate.ts";
import { DEFAULT_RENEW_BEFORE } from "../../functions/core/renewal.ts";
import { DEFAULT_WAVE_POLICY } from "../../functions/core/waves.ts";

const CA =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/12345678-90ab-cdef-1234-567890abcdef";

/** The SettingsError message of resolving `input`, or a failure when it resolved. */
function problemsOf(input: RotationSettingsInput): string {
  try {
    resolveSettings(input);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).name).toBe("SettingsError");
    return (error as Error).message;
  }
  throw new Error("expected resolveSettings to refuse");
}

describe("resolveSettings: defaults", () => {
  it("only the authority given: every default", () => {
    expect(resolveSettings({ authorityArn: CA })).toEqual({
      authorityArn: CA,
      credentialSecretPrefix: "mtls-rotator/credentials/",
      validityDays: 90,
      renewBefore: DEFAULT_RENEW_BEFORE,
      waves: DEFAULT_WAVE_POLICY,
      bakeSeconds: 900,
      deploy: { timeoutSeconds: 1800, pollSeconds: 30 },
      preflight: { timeoutSeconds: 900, intervalSeconds: 30, probePath: "/" },
      gate: { ...DEFAULT_GATE_POLICY, baselineWindowSeconds: 3600 },
      approval: { mode: "none", timeoutSeconds: 86_400, onTimeout: "rollback" },
      graceSeconds: 86_400,
      revokeRetired: false,
    });
  });

  it("given values win, the rest stays default", () => {
    const s = resolveSettings({
      authorityArn: CA,
      validityDays: 30,
      bakeSeconds: 0,
      approval: { mode: "between-waves", timeoutSeconds: 60, onTimeout: "proceed" },
      originServerCaPem: "-----BEGIN CERTIFICATE-----\n...",
    });
    expect(s).toMatchObject({
      validityDays: 30,
      bakeSeconds: 0,
      approval: { mode: "between-waves", timeoutSeconds: 60, onTimeout: "proceed" },
      originServerCaPem: "-----BEGIN CERTIFICATE-----\n...",
      graceSeconds: DEFAULT_SETTINGS.graceSeconds,
      deploy: DEFAULT_SETTINGS.deploy,
    });
  });

  it("a gate given without the fields that came later gets their defaults (fail closed)", () => {
    const s = resolveSettings({
      authorityArn: CA,
      gate: { maxIncreasePoints: 1, floorPercent: 0.5, baselineWindowSeconds: 1800 },
    });
    expect(s.gate).toEqual({
      maxIncreasePoints: 1,
      floorPercent: 0.5,
      baselineWindowSeconds: 1800,
      minDatapoints: 5,
      metricsDeadlineSeconds: 1200,
      periodSeconds: 60,
      onNoData: "fail",
    });
  });

  it("a field given as undefined keeps its default", () => {
    const s = resolveSettings({
      authorityArn: CA,
      bakeSeconds: undefined,
      deploy: undefined,
      gate: undefined,
    });
    expect(s.bakeSeconds).toBe(900);
    expect(s.deploy).toEqual(DEFAULT_SETTINGS.deploy);
    expect(s.gate).toEqual(DEFAULT_SETTINGS.gate);
  });

  it("does not change the defaults", () => {
    const before = structuredClone(DEFAULT_SETTINGS);
    resolveSettings({ authorityArn: CA, validityDays: 7 });
    expect(DEFAULT_SETTINGS).toEqual(before);
  });

  it.each([
    { name: "another partition (aws-cn)", arn: CA.replace("arn:aws:", "arn:aws-cn:") },
    {
      name: "GovCloud",
      arn: CA.replace("arn:aws:", "arn:aws-us-gov:").replace("us-east-1", "us-gov-west-1"),
    },
    { name: "another region", arn: CA.replace("us-east-1", "eu-central-1") },
  ])("accepts a Private CA ARN in $name", ({ arn }) => {
    expect(resolveSettings({ authorityArn: arn }).authorityArn).toBe(arn);
  });
});

describe("resolveSettings: preflight proofs", () => {
  it("absent: every origin is probed, as before; given: kept as written", () => {
    expect(resolveSettings({ authorityArn: CA }).preflight.proofs).toBeUndefined();
    const proofs = {
      "E2QWRUHAPOMQZL/origin-1": { proof: "acknowledgement" as const, ackId: "shop-api" },
      "api.example.com": { proof: "both" as const, ackId: "api-1" },
      "static.example.com": { proof: "probe" as const },
    };
    expect(resolveSettings({ authorityArn: CA, preflight: { proofs } }).preflight).toEqual({
      timeoutSeconds: 900,
      intervalSeconds: 30,
      probePath: "/",
      proofs,
    });
  });
});

describe("resolveSettings: a malformed authorityArn", () => {
  it.each([
    { name: "empty", arn: "" },
    {
      name: "an ACM certificate ARN",
      arn: "arn:aws:acm:us-east-1:111122223333:certificate/12345678-90ab-cdef-1234-567890abcdef",
    },
    { name: "a short account", arn: CA.replace("111122223333", "1111") },
    { name: "no region", arn: CA.replace("us-east-1", "") },
    { name: "an upper-case id", arn: CA.toUpperCase().replace("ARN:AWS:ACM-PCA", "arn:aws:acm-pca") },
    { name: "a truncated id", arn: CA.slice(0, -1) },
    { name: "a trailing path", arn: `${CA}/certificate/abc` },
    { name: "just the id", arn: "12345678-90ab-cdef-1234-567890abcdef" },
    { name: "the wrong resource type", arn: CA.replace("certificate-authority", "ca") },
  ])("$name", ({ arn }) => {
    expect(problemsOf({ authorityArn: arn })).toBe(
      `invalid rotation settings: authorityArn must be a Private CA ARN, got ${JSON.stringify(arn)}`,
    );
  });
});

describe("resolveSettings: each problem with its message", () => {
  const cases: Array<{ name: string; input: Partial<RotationSettingsInput>; message: string }> = [
    {
      name: "secret prefix with a space",
      input: { credentialSecretPrefix: "mtls rotator/" },
      message:
        'credentialSecretPrefix must be a secret name prefix (characters Secrets Manager accepts), got "mtls rotator/"',
    },
    {
      name: "validity 0 days",
      input: { validityDays: 0 },
      message: "validityDays must be a whole number of days from 1 to 3650, got 0",
    },
    {
      name: "validity 1.5 days",
      input: { validityDays: 1.5 },
      message: "validityDays must be a whole number of days from 1 to 3650, got 1.5",
    },
    {
      name: "validity over 10 years",
      input: { validityDays: 3651 },
      message: "validityDays must be a whole number of days from 1 to 3650, got 3651",
    },
    {
      name: "negative bake",
      input: { bakeSeconds: -1 },
      message: "bakeSeconds must be a whole number of seconds from 0 to 31622400, got -1",
    },
    {
      name: "a zero deploy poll",
      input: { deploy: { timeoutSeconds: 60, pollSeconds: 0 } },
      message: "deploy.pollSeconds must be a whole number of seconds from 1 to 31622400, got 0",
    },
    {
      name: "a fractional preflight interval",
      input: { preflight: { timeoutSeconds: 60, intervalSeconds: 0.5, probePath: "/" } },
      message: "preflight.intervalSeconds must be a whole number of seconds from 1 to 31622400, got 0.5",
    },
    {
      name: "a baseline window under a minute",
      input: { gate: { baselineWindowSeconds: 59 } },
      message: "gate.baselineWindowSeconds must be a whole number of seconds from 60 to 31622400, got 59",
    },
    {
      name: "a grace period over 366 days",
      input: { graceSeconds: 366 * 86_400 + 1 },
      message: `graceSeconds must be a whole number of seconds from 0 to 31622400, got ${366 * 86_400 + 1}`,
    },
    {
      name: "an approval timeout of 0",
      input: { approval: { mode: "between-waves", timeoutSeconds: 0, onTimeout: "rollback" } },
      message: "approval.timeoutSeconds must be a whole number of seconds from 1 to 31622400, got 0",
    },
    {
      name: "a misspelt approval mode",
      input: {
        approval: { mode: "between_waves" as "between-waves", timeoutSeconds: 60, onTimeout: "rollback" },
      },
      message: 'approval.mode must be "none" or "between-waves", got "between_waves"',
    },
    {
      name: "a misspelt approval timeout action",
      input: {
        approval: { mode: "between-waves", timeoutSeconds: 60, onTimeout: "roll-back" as "rollback" },
      },
      message: 'approval.onTimeout must be "rollback" or "proceed", got "roll-back"',
    },
    {
      name: "a canary of 0",
      input: { waves: { canarySize: 0 } },
      message: "waves.canarySize must be a whole number >= 1, got 0",
    },
    {
      name: "a gate increase over 100 points",
      input: { gate: { maxIncreasePoints: 150, baselineWindowSeconds: 3600 } },
      message: "gate.maxIncreasePoints must be a percentage from 0 to 100, got 150",
    },
    {
      name: "a gate that never waits for a datapoint",
      input: { gate: { minDatapoints: 0, baselineWindowSeconds: 3600 } },
      message: "gate.minDatapoints must be a whole number >= 1, got 0",
    },
    {
      name: "a gate period CloudWatch does not serve",
      input: { gate: { periodSeconds: 90, baselineWindowSeconds: 3600 } },
      message: "gate.periodSeconds must be 1, 5, 10, 30 or a multiple of 60 (CloudWatch periods), got 90",
    },
    {
      name: "a misspelt onNoData",
      input: { gate: { onNoData: "passes" as "pass", baselineWindowSeconds: 3600 } },
      message: 'gate.onNoData must be "fail" or "pass", got "passes"',
    },
    {
      name: "a metrics deadline that cannot fit minDatapoints while no data fails",
      input: { gate: { metricsDeadlineSeconds: 120, baselineWindowSeconds: 3600 } },
      message: "gate.metricsDeadlineSeconds (120) is shorter than 360 s",
    },
    {
      name: "a preflight proof by acknowledgement without the id origin-sync acknowledges with",
      input: {
        preflight: { proofs: { "shop.example.com": { proof: "acknowledgement" } } },
      } as unknown as RotationSettingsInput,
      message: 'preflight.proofs.shop.example.com.ackId is required when the proof is "acknowledgement"',
    },
    {
      name: "a misspelt preflight proof",
      input: {
        preflight: { proofs: { "E2QWRUHAPOMQZL/origin-1": { proof: "ack" as "both", ackId: "shop" } } },
      },
      message:
        'preflight.proofs.E2QWRUHAPOMQZL/origin-1.proof must be "probe" or "acknowledgement" or "both", got "ack"',
    },
    {
      name: "an acknowledgement id with a slash",
      input: { preflight: { proofs: { "shop.example.com": { proof: "both", ackId: "shop/api" } } } },
      message: "preflight.proofs.shop.example.com.ackId must be an acknowledgement id",
    },
    {
      name: "a preflight proof for something that names no origin",
      input: { preflight: { proofs: { "not an origin": { proof: "probe" } } } },
      message:
        'preflight.proofs.not an origin must be named "distributionId/originId" or by a domain name, got "not an origin"',
    },
    {
      name: "renewBefore as a whole lifetime",
      input: { renewBefore: { fractionOfLifetime: 1 } },
      message: "renewBefore.fractionOfLifetime",
    },
  ];

  it.each(cases)("$name", ({ input, message }) => {
    const text = problemsOf({ authorityArn: CA, ...input });
    expect(text.startsWith("invalid rotation settings: ")).toBe(true);
    expect(text).toContain(message);
    // Exactly one problem: the others are defaults.
    expect(text.split("; ")).toHaveLength(1);
  });

  it("reports every problem together, in one error", () => {
    const text = problemsOf({
      authorityArn: "arn:aws:acm-pca:nowhere",
      credentialSecretPrefix: "bad prefix!",
      validityDays: 0,
      bakeSeconds: -5,
      deploy: { timeoutSeconds: 0, pollSeconds: 1.5 },
      gate: { floorPercent: -1, baselineWindowSeconds: 10 },
      waves: { canarySize: 0 },
      renewBefore: { durationMs: -1 },
      approval: { mode: "always" as "none", timeoutSeconds: 60, onTimeout: "rollback" },
    });
    // In the schema's field order (settings.ts RotationSettingsSchema): the policy, then the CA and prefix.
    expect(text.replace("invalid rotation settings: ", "").split("; ")).toEqual([
      "validityDays must be a whole number of days from 1 to 3650, got 0",
      "renewBefore.durationMs must be a positive number, got -1",
      "waves.canarySize must be a whole number >= 1, got 0",
      "bakeSeconds must be a whole number of seconds from 0 to 31622400, got -5",
      "deploy.timeoutSeconds must be a whole number of seconds from 1 to 31622400, got 0",
      "deploy.pollSeconds must be a whole number of seconds from 1 to 31622400, got 1.5",
      "gate.baselineWindowSeconds must be a whole number of seconds from 60 to 31622400, got 10",
      "gate.floorPercent must be a percentage from 0 to 100, got -1",
      'approval.mode must be "none" or "between-waves", got "always"',
      'authorityArn must be a Private CA ARN, got "arn:aws:acm-pca:nowhere"',
      'credentialSecretPrefix must be a secret name prefix (characters Secrets Manager accepts), got "bad prefix!"',
    ]);
  });

  it("the boundaries themselves are fine", () => {
    expect(() =>
      resolveSettings({
        authorityArn: CA,
        credentialSecretPrefix: "",
        validityDays: 3650,
        bakeSeconds: 0,
        deploy: { timeoutSeconds: 1, pollSeconds: 1 },
        preflight: { timeoutSeconds: 0, intervalSeconds: 1, probePath: "/" },
        gate: { maxIncreasePoints: 0, floorPercent: 100, baselineWindowSeconds: 60 },
        approval: { mode: "none", timeoutSeconds: 366 * 86_400, onTimeout: "proceed" },
        graceSeconds: 0,
      }),
    ).not.toThrow();
  });
});
