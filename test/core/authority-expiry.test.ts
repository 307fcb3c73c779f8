/**
 * functions/core/authority-expiry.ts: the CA certificates the service relies on, each once by fingerprint
 * with every CA relying on it, and their expiry alerts at the leaves' thresholds, once each (issue 13).
 * Real CA certificates (standins/pki.ts), a fixed clock.
 */
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AuthorityCertificate,
  type AuthorityCertificateRecord,
  assessAuthorityCertificate,
  authorityCertificatesOf,
} from "../../functions/core/authority-expiry.ts";
import { fingerprintOf } from "../../functions/core/pem.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../standins/pki.ts";

const DAY = 86_400_000;
// Whole seconds: X.509 validity has second precision.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const ARN_A =
  "arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/aaaaaaaa-0000-4000-8000-000000000000";
const ARN_B =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/bbbbbbbb-0000-4000-8000-000000000000";
const ARN_R =
  "arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/cccccccc-0000-4000-8000-000000000000";

let root: CertificateAuthority;
let caA: CertificateAuthority;
let caB: CertificateAuthority;
const fingerprint = (ca: CertificateAuthority) => fingerprintOf(new X509Certificate(ca.certificatePem));
/** What GetCertificateAuthorityCertificate answers, as the adapter joins it: the CA's certificate, then its chain. */
const chainOf = (ca: CertificateAuthority) => ca.certificatePem + ca.chainPem;

beforeAll(async () => {
  // The root expires before the subordinate CAs it signed: the chain's weakest link is at the top.
  root = await createRootCa({
    name: "CN=Acme Root CA, O=Acme",
    notAfter: new Date(NOW.getTime() + 400 * DAY),
  });
  caA = await createSubordinateCa(root, {
    name: "CN=Acme Client CA A, O=Acme",
    notAfter: new Date(NOW.getTime() + 700 * DAY),
  });
  caB = await createSubordinateCa(root, {
    name: "CN=Acme Client CA B, O=Acme",
    notAfter: new Date(NOW.getTime() + 20 * DAY),
  });
});

describe("authorityCertificatesOf", () => {
  it("tracks a root shared by two CAs once, naming both; each CA's own certificate names its CA; soonest expiry first", () => {
    const { certificates, unreadable } = authorityCertificatesOf(
      new Map([
        [ARN_B, chainOf(caB)],
        [ARN_A, chainOf(caA)],
      ]),
    );
    expect(unreadable).toEqual([]);
    expect(certificates.map((c) => [c.subject, c.role, c.authorityArns])).toEqual([
      ["CN=Acme Client CA B, O=Acme", "intermediate", [ARN_B]],
      ["CN=Acme Root CA, O=Acme", "root", [ARN_A, ARN_B]],
      ["CN=Acme Client CA A, O=Acme", "intermediate", [ARN_A]],
    ]);
    const [, shared] = certificates;
    expect(shared).toEqual({
      fingerprint: fingerprint(root),
      subject: "CN=Acme Root CA, O=Acme",
      issuer: "CN=Acme Root CA, O=Acme",
      serial: new X509Certificate(root.certificatePem).serialNumber.toLowerCase(),
      notBefore: new Date(new X509Certificate(root.certificatePem).validFrom).toISOString(),
      notAfter: new Date(new X509Certificate(root.certificatePem).validTo).toISOString(),
      role: "root",
      authorityArns: [ARN_A, ARN_B],
    } satisfies AuthorityCertificate);
  });

  it("a root CA configured itself is one certificate with the CAs under it, not two", () => {
    const { certificates } = authorityCertificatesOf(
      new Map([
        [ARN_R, chainOf(root)],
        [ARN_A, chainOf(caA)],
      ]),
    );
    expect(certificates.map((c) => [c.fingerprint, c.authorityArns])).toEqual([
      [fingerprint(root), [ARN_A, ARN_R]],
      [fingerprint(caA), [ARN_A]],
    ]);
  });

  it.each([
    { what: "no certificate at all", chainOfB: () => "", error: "the CA answered no certificate" },
    {
      what: "a chain with a block that does not parse",
      chainOfB: () =>
        `${caB.certificatePem}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`,
      error: "the CA's certificate or chain holds a certificate that does not parse",
    },
  ])(
    "$what: the CA is unreadable, nothing of its chain is tracked, the others are",
    ({ chainOfB, error }) => {
      const { certificates, unreadable } = authorityCertificatesOf(
        new Map([
          [ARN_B, chainOfB()],
          [ARN_A, chainOf(caA)],
        ]),
      );
      expect(unreadable).toEqual([{ authorityArn: ARN_B, error }]);
      expect(certificates.map((c) => c.fingerprint)).toEqual([fingerprint(root), fingerprint(caA)]);
      // Even the root B shares with A names A only: B's chain was not read.
      expect(certificates[0]?.authorityArns).toEqual([ARN_A]);
    },
  );
});

describe("assessAuthorityCertificate", () => {
  const certificate = (daysLeft: number): AuthorityCertificate => ({
    fingerprint: "ab".repeat(32),
    subject: "CN=Acme Client CA B, O=Acme",
    issuer: "CN=Acme Root CA, O=Acme",
    serial: "0a",
    notBefore: new Date(NOW.getTime() - 700 * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    role: "intermediate",
    authorityArns: [ARN_B],
  });
  const at = (days: number) => new Date(NOW.getTime() + days * DAY);

  it("alerts each threshold once as days pass, the most urgent only when a scan missed days", () => {
    const ca = certificate(40);
    const steps: Array<{ day: number; threshold?: number; alerted: number[] }> = [
      { day: 0, alerted: [] }, // 40 days left: none crossed
      { day: 11, threshold: 30, alerted: [30] }, // 29 left
      { day: 12, alerted: [30] }, // 28 left: nothing new
      { day: 27, threshold: 14, alerted: [30, 14] }, // 13 left
      { day: 39.5, threshold: 1, alerted: [30, 14, 7, 1] }, // missed a week: 7 and 1 at once, 1 alerted
      { day: 39.6, alerted: [30, 14, 7, 1] },
    ];
    let previous: AuthorityCertificateRecord | undefined;
    for (const { day, threshold, alerted } of steps) {
      const { record, alert, changed } = assessAuthorityCertificate({
        certificate: ca,
        ...(previous ? { previous } : {}),
        now: at(day),
      });
      expect(alert?.thresholdDays, `day ${day}`).toBe(threshold);
      expect(record.alerted, `day ${day}`).toEqual(alerted);
      expect(changed, `day ${day}`).toBe(previous === undefined || threshold !== undefined);
      previous = record;
    }
  });

  it("uses the given thresholds (the leaves' setting)", () => {
    const { alert } = assessAuthorityCertificate({
      certificate: certificate(80),
      thresholdsDays: [90, 60],
      now: NOW,
    });
    expect(alert).toEqual({ thresholdDays: 90, daysLeft: 80, covers: [90] });
  });

  it("a record that differs only by when it was seen is not written again; one whose relying CAs changed is", () => {
    const first = assessAuthorityCertificate({ certificate: certificate(300), now: NOW }).record;
    expect(
      assessAuthorityCertificate({ certificate: certificate(300), previous: first, now: at(1) }).changed,
    ).toBe(false);
    const shared = { ...certificate(300), authorityArns: [ARN_A, ARN_B] };
    expect(assessAuthorityCertificate({ certificate: shared, previous: first, now: at(1) }).changed).toBe(
      true,
    );
  });
});
