import { describe, expect, it } from "vitest";
import {
  DEFAULT_RENEW_BEFORE,
  decideRenewal,
  PolicyError,
  type RenewalInput,
  type RenewalReason,
  type RenewBefore,
  renewalTime,
  validateRenewBefore,
} from "../../functions/core/renewal.ts";
import { DAY, daysFromNow, HOUR, msFromNow, NOW } from "../support/pki-fixtures.ts";

const ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";

/** A 90-day certificate issued 10 days before NOW: renews at day 60 by default (30 days before expiry). */
const NOT_BEFORE = daysFromNow(-10);
const NOT_AFTER = daysFromNow(80);

type Certificate = RenewalInput["certificate"];

function certificate(overrides: Partial<Certificate> = {}): Certificate {
  return {
    arn: ARN,
    keyAlgorithm: "EC_prime256v1",
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    managed: true,
    ...overrides,
  };
}

describe("renewalTime", () => {
  const start = new Date("2026-01-01T00:00:00Z");
  const cases: Array<{ name: string; notAfter: Date; renewBefore?: RenewBefore; expected: string }> = [
    {
      name: "default: 1/3 of a 90-day lifetime left",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      expected: "2026-03-02T00:00:00.000Z",
    },
    {
      name: "default of a 1-day lifetime: 8 hours before expiry",
      notAfter: new Date("2026-01-02T00:00:00Z"),
      expected: "2026-01-01T16:00:00.000Z",
    },
    {
      name: "explicit default equals implicit default",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: DEFAULT_RENEW_BEFORE,
      expected: "2026-03-02T00:00:00.000Z",
    },
    {
      name: "duration: 14 days before expiry",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: { durationMs: 14 * DAY },
      expected: "2026-03-18T00:00:00.000Z",
    },
    {
      name: "duration one millisecond shorter than the lifetime is honoured",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: { durationMs: 90 * DAY - 1 },
      expected: "2026-01-01T00:00:00.001Z",
    },
    {
      name: "duration equal to the lifetime falls back to 1/3",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: { durationMs: 90 * DAY },
      expected: "2026-03-02T00:00:00.000Z",
    },
    {
      name: "duration longer than the lifetime falls back to 1/3",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: { durationMs: 365 * DAY },
      expected: "2026-03-02T00:00:00.000Z",
    },
    {
      name: "fraction 1/2",
      notAfter: new Date("2026-04-01T00:00:00Z"),
      renewBefore: { fractionOfLifetime: 0.5 },
      expected: "2026-02-15T00:00:00.000Z",
    },
    {
      name: "fraction 0.1 of 100 days",
      notAfter: new Date("2026-04-11T00:00:00Z"),
      renewBefore: { fractionOfLifetime: 0.1 },
      expected: "2026-04-01T00:00:00.000Z",
    },
    {
      name: "fraction rounds the lead down to whole milliseconds (renews no earlier than asked)",
      notAfter: new Date(start.getTime() + 10),
      renewBefore: { fractionOfLifetime: 1 / 3 },
      expected: "2026-01-01T00:00:00.007Z",
    },
  ];
  it.each(cases)("$name", ({ notAfter, renewBefore, expected }) => {
    expect(renewalTime(start, notAfter, renewBefore).toISOString()).toBe(expected);
  });

  const invalid: Array<{ name: string; renewBefore: RenewBefore; message: RegExp }> = [
    { name: "zero duration", renewBefore: { durationMs: 0 }, message: /durationMs must be a positive/ },
    { name: "negative duration", renewBefore: { durationMs: -DAY }, message: /got -86400000/ },
    { name: "NaN duration", renewBefore: { durationMs: Number.NaN }, message: /got NaN/ },
    {
      name: "infinite duration",
      renewBefore: { durationMs: Number.POSITIVE_INFINITY },
      message: /got Infinity/,
    },
    { name: "zero fraction", renewBefore: { fractionOfLifetime: 0 }, message: /between 0 and 1/ },
    { name: "fraction of 1", renewBefore: { fractionOfLifetime: 1 }, message: /got 1$/ },
    { name: "fraction above 1", renewBefore: { fractionOfLifetime: 1.5 }, message: /got 1.5/ },
    { name: "negative fraction", renewBefore: { fractionOfLifetime: -0.2 }, message: /got -0.2/ },
    { name: "NaN fraction", renewBefore: { fractionOfLifetime: Number.NaN }, message: /got NaN/ },
  ];
  it.each(invalid)("rejects $name with PolicyError", ({ renewBefore, message }) => {
    expect(() => validateRenewBefore(renewBefore)).toThrow(message);
    expect(() => renewalTime(start, daysFromNow(0), renewBefore)).toThrow(PolicyError);
    expect(() => renewalTime(start, daysFromNow(0), renewBefore)).toThrow(message);
  });

  it("PolicyError is a named Error", () => {
    const error = new PolicyError("x");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("PolicyError");
  });
});

describe("decideRenewal", () => {
  const renewAt = daysFromNow(50); // 1/3 of 90 days before NOT_AFTER (NOW + 80 days)

  const cases: Array<{
    name: string;
    certificate: Certificate;
    now: Date;
    renewBefore?: RenewBefore;
    rotate: boolean;
    reason: RenewalReason;
    message: string | RegExp;
    renewAt?: Date;
  }> = [
    {
      name: "fresh certificate",
      certificate: certificate(),
      now: NOW,
      rotate: false,
      reason: "Fresh",
      message: "renews at 2026-07-21T00:00:00.000Z; expires in 80 days",
      renewAt,
    },
    {
      name: "one millisecond before renewAt is still Fresh",
      certificate: certificate(),
      now: new Date(renewAt.getTime() - 1),
      rotate: false,
      reason: "Fresh",
      message: /^renews at 2026-07-21T00:00:00.000Z; expires in 30 days$/,
      renewAt,
    },
    {
      name: "exactly at renewAt is Due",
      certificate: certificate(),
      now: renewAt,
      rotate: true,
      reason: "Due",
      message: "due since 2026-07-21T00:00:00.000Z; expires in 30 days",
      renewAt,
    },
    {
      name: "one day left is Due",
      certificate: certificate(),
      now: daysFromNow(79),
      rotate: true,
      reason: "Due",
      message: "due since 2026-07-21T00:00:00.000Z; expires in 1 day",
      renewAt,
    },
    {
      name: "hours left are counted in hours",
      certificate: certificate(),
      now: msFromNow(80 * DAY - 5 * HOUR),
      rotate: true,
      reason: "Due",
      message: "due since 2026-07-21T00:00:00.000Z; expires in 5 hours",
      renewAt,
    },
    {
      name: "a duration policy moves renewAt",
      certificate: certificate(),
      now: daysFromNow(60),
      renewBefore: { durationMs: 14 * DAY },
      rotate: false,
      reason: "Fresh",
      message: "renews at 2026-08-06T00:00:00.000Z; expires in 20 days",
      renewAt: daysFromNow(66),
    },
    {
      name: "exactly at notAfter is Expired",
      certificate: certificate(),
      now: NOT_AFTER,
      rotate: true,
      reason: "Expired",
      message: "expired 0 hours ago (2026-08-20T00:00:00.000Z)",
      renewAt,
    },
    {
      name: "three days after notAfter is Expired",
      certificate: certificate(),
      now: daysFromNow(83),
      rotate: true,
      reason: "Expired",
      message: "expired 3 days ago (2026-08-20T00:00:00.000Z)",
      renewAt,
    },
    {
      name: "unmanaged certificate",
      certificate: certificate({ managed: false }),
      now: NOW,
      rotate: false,
      reason: "NotManaged",
      message: `${ARN} is not managed by mtls-rotator`,
    },
    {
      name: "notAfter equal to notBefore",
      certificate: certificate({ notAfter: NOT_BEFORE }),
      now: NOW,
      rotate: false,
      reason: "InvalidValidity",
      message: "notAfter (2026-05-22T00:00:00.000Z) is not after notBefore (2026-05-22T00:00:00.000Z)",
    },
    {
      name: "notAfter before notBefore",
      certificate: certificate({ notBefore: NOT_AFTER, notAfter: NOT_BEFORE }),
      now: NOW,
      rotate: false,
      reason: "InvalidValidity",
      message: /^notAfter \(2026-05-22T00:00:00.000Z\) is not after notBefore \(2026-08-20/,
    },
    {
      name: "RSA-4096 key",
      certificate: certificate({ keyAlgorithm: "RSA_4096" }),
      now: NOW,
      rotate: false,
      reason: "UnsupportedKey",
      message: /^key algorithm RSA_4096 is not supported/,
    },
    {
      name: "P-384 key",
      certificate: certificate({ keyAlgorithm: "EC_secp384r1" }),
      now: NOW,
      rotate: false,
      reason: "UnsupportedKey",
      message: /^key algorithm EC_secp384r1 is not supported/,
    },
    // First failing check wins.
    {
      name: "unmanaged AND expired -> NotManaged",
      certificate: certificate({ managed: false }),
      now: daysFromNow(200),
      rotate: false,
      reason: "NotManaged",
      message: `${ARN} is not managed by mtls-rotator`,
    },
    {
      name: "unmanaged AND invalid validity AND unsupported key -> NotManaged",
      certificate: certificate({ managed: false, notAfter: NOT_BEFORE, keyAlgorithm: "RSA_1024" }),
      now: NOW,
      rotate: false,
      reason: "NotManaged",
      message: `${ARN} is not managed by mtls-rotator`,
    },
    {
      name: "invalid validity AND unsupported key -> InvalidValidity",
      certificate: certificate({ notAfter: NOT_BEFORE, keyAlgorithm: "RSA_1024" }),
      now: NOW,
      rotate: false,
      reason: "InvalidValidity",
      message: /^notAfter/,
    },
    {
      name: "unsupported key AND expired -> UnsupportedKey",
      certificate: certificate({ keyAlgorithm: "RSA_4096" }),
      now: daysFromNow(200),
      rotate: false,
      reason: "UnsupportedKey",
      message: /RSA_4096/,
    },
  ];

  it.each(cases)("$name -> $reason", (c) => {
    const decision = decideRenewal({ certificate: c.certificate, now: c.now, renewBefore: c.renewBefore });
    expect(decision.reason).toBe(c.reason);
    expect(decision.rotate).toBe(c.rotate);
    if (typeof c.message === "string") expect(decision.message).toBe(c.message);
    else expect(decision.message).toMatch(c.message);
    expect(decision.renewAt).toEqual(c.renewAt);
  });

  it("rejects an invalid policy with PolicyError once the certificate is otherwise checkable", () => {
    expect(() =>
      decideRenewal({ certificate: certificate(), now: NOW, renewBefore: { fractionOfLifetime: 2 } }),
    ).toThrow(PolicyError);
  });

  it("walks Fresh -> Due -> Expired over the lifetime of one certificate", () => {
    const seen: Array<[number, RenewalReason]> = [];
    let last: RenewalReason | undefined;
    for (let day = -10; day <= 85; day += 1) {
      const { reason } = decideRenewal({ certificate: certificate(), now: daysFromNow(day) });
      if (reason !== last) seen.push([day, reason]);
      last = reason;
    }
    expect(seen).toEqual([
      [-10, "Fresh"],
      [50, "Due"],
      [80, "Expired"],
    ]);
  });
});
