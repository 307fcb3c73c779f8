/**
 * Notifications built from rotation state: SNS-safe subjects (checked against the SNS stand-in through the
 * real SDK client), fields and attributes per event, severity, and never any key material.
 */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NotificationEvent,
  rotationNotification,
  type Severity,
  toSubject,
} from "../../functions/core/notifications.ts";
import { foldEvents, type RotationEvent, type RotationState } from "../../functions/core/rotation.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, NOW } from "../support/pki-fixtures.ts";
import { UNCHANGED_EC_KEY } from "../support/replacement-key.ts";

const CERT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CERT = `arn:aws:acm:us-east-1:111122223333:certificate/${CERT_ID}`;
const NEW_CERT = "arn:aws:acm:us-east-1:111122223333:certificate/9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
const at = NOW.toISOString();

/** A rotation that swapped E1 and then rolled back (E1 ok, E2 failed). */
function rolledBackState(): RotationState {
  const events: RotationEvent[] = [
    {
      type: "started",
      at,
      request: { certificateArn: CERT, serial: "0a", reason: "Due", actor: "scheduler" },
    },
    {
      type: "planned",
      at,
      old: {
        arn: CERT,
        serial: "0a",
        keyAlgorithm: "EC_prime256v1",
        subject: "CN=c",
        notAfter: at,
        certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      },
      waves: [
        {
          index: 0,
          canary: true,
          targets: [
            { distributionId: "E1", originIds: ["a"] },
            { distributionId: "E2", originIds: ["b"] },
          ],
        },
      ],
      newIssuerArn: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
      replacementKey: UNCHANGED_EC_KEY,
      baselines: {},
    },
    { type: "issued", at, certificateArn: NEW_CERT, serial: "ff", notAfter: at, fingerprint: "00" },
    { type: "swapped", at, wave: 0, distributionId: "E1", outcome: "swapped", changedOriginIds: ["a"] },
    { type: "swapped", at, wave: 0, distributionId: "E2", outcome: "swapped", changedOriginIds: ["b"] },
    { type: "rollback-requested", at, reason: "GateFailed", actor: "rotation", detail: "E1: 5xx" },
    { type: "rolled-back-distribution", at, distributionId: "E1", ok: true },
    { type: "rolled-back-distribution", at, distributionId: "E2", ok: false, error: "PreconditionFailed" },
    { type: "rolled-back", at },
  ];
  return foldEvents("rot-1", events);
}

describe("toSubject", () => {
  const cases: Array<{ name: string; text: string; expected: string }> = [
    {
      name: "plain ASCII stays",
      text: "[mtls-rotator] rotation started: abc",
      expected: "[mtls-rotator] rotation started: abc",
    },
    {
      name: "accents lose their marks",
      text: "Zertifikat für Ürsprung",
      expected: "Zertifikat fur Ursprung",
    },
    {
      name: "emoji and other non-ASCII are stripped",
      text: "rotation ✅ done 🚀 — ok",
      expected: "rotation done ok",
    },
    {
      name: "line breaks are folded into one space",
      text: "rotation\nfailed\r\nat wave 2",
      expected: "rotation failed at wave 2",
    },
    { name: "tabs and runs of spaces fold", text: "  a\t\tb   c  ", expected: "a b c" },
    { name: "control characters are stripped", text: "a\u0000b\u0007c\u007f", expected: "abc" },
    { name: "99 characters stay whole", text: "x".repeat(99), expected: "x".repeat(99) },
    { name: "100 characters are cut to 96 + ...", text: "y".repeat(100), expected: `${"y".repeat(96)}...` },
    {
      name: "the length counts after stripping",
      text: `${"z".repeat(98)}✅✅✅✅`,
      expected: "z".repeat(98),
    },
  ];

  it.each(cases)("$name", ({ text, expected }) => {
    const subject = toSubject(text);
    expect(subject).toBe(expected);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe("rotationNotification", () => {
  const severities: Array<{ event: NotificationEvent; severity: Severity; headline: string }> = [
    { event: "certificate-expiring", severity: "warning", headline: "certificate expiring" },
    { event: "rotation-started", severity: "info", headline: "rotation started" },
    { event: "trust-published", severity: "info", headline: "trust bundle published" },
    { event: "wave-completed", severity: "info", headline: "wave 3 completed" },
    { event: "rotation-completed", severity: "info", headline: "rotation completed" },
    { event: "rolled-back", severity: "critical", headline: "rotation rolled back" },
    { event: "rotation-failed", severity: "critical", headline: "rotation failed" },
    { event: "rotation-aborted", severity: "warning", headline: "rotation aborted before any swap" },
    { event: "drift-found", severity: "warning", headline: "drift found" },
  ];

  it("covers every notification event", () => {
    expect(severities.map((s) => s.event).sort()).toEqual(Object.values(NotificationEvent).sort());
  });

  it.each(severities)("$event: $severity, subject '[mtls-rotator] $headline: <certificate id>'", (c) => {
    const n = rotationNotification(c.event, rolledBackState(), { wave: 3 });
    expect(n.event).toBe(c.event);
    expect(n.severity).toBe(c.severity);
    expect(n.certificateArn).toBe(CERT);
    expect(n.subject).toBe(`[mtls-rotator] ${c.headline}: ${CERT_ID}`);
    expect(n.body.event).toBe(c.event);
  });

  it("wave-completed without a wave number says '?'", () => {
    expect(rotationNotification("wave-completed", rolledBackState()).subject).toBe(
      `[mtls-rotator] wave ? completed: ${CERT_ID}`,
    );
  });

  it("the body of a rollback: state, new certificate, reason, each distribution's outcome", () => {
    const n = rotationNotification("rolled-back", rolledBackState(), { detail: "gate failed" });
    expect(n.body).toEqual({
      event: "rolled-back",
      rotationId: "rot-1",
      status: "rolled-back",
      certificateArn: CERT,
      newCertificateArn: NEW_CERT,
      reason: "GateFailed",
      waves: [
        {
          index: 0,
          status: "failed",
          distributions: [
            { id: "E1", outcome: "rolled-back", error: undefined },
            { id: "E2", outcome: "rollback-failed", error: "PreconditionFailed" },
          ],
        },
      ],
      detail: "gate failed",
    });
  });

  it("a failed rotation names the outcome's reason; a fresh state has none", () => {
    const failed = foldEvents("rot-2", [
      { type: "started", at, request: { certificateArn: CERT, serial: "0a", reason: "r", actor: "a" } },
      { type: "failed", at, reason: "IssuanceFailed", detail: "CA disabled" },
    ]);
    expect(rotationNotification("rotation-failed", failed).body.reason).toBe("IssuanceFailed");
    expect(rotationNotification("rotation-started", foldEvents("rot-3", [])).body).toMatchObject({
      certificateArn: "unknown",
      reason: undefined,
      waves: [],
    });
  });

  it("without a request the certificate is 'unknown'", () => {
    const n = rotationNotification("drift-found", foldEvents("rot-4", []));
    expect(n.certificateArn).toBe("unknown");
    expect(n.subject).toBe("[mtls-rotator] drift found: unknown");
  });

  it("never carries key material, even when the state holds odd fields", async () => {
    const credential = await goodP256();
    const state = rolledBackState();
    const odd = {
      ...state,
      privateKeyPem: credential.privateKeyPem,
      issued: { ...state.issued!, privateKeyPem: credential.privateKeyPem },
      old: { ...state.old!, key: credential.privateKeyPem },
      waves: state.waves.map((w) => ({
        ...w,
        secret: credential.privateKeyPem,
        distributions: w.distributions.map((d) => ({ ...d, credential })),
      })),
      request: { ...state.request!, key: credential.privateKeyPem },
    } as RotationState;
    for (const event of Object.values(NotificationEvent)) {
      const n = rotationNotification(event, odd);
      expectNoKeyMaterial(n, [credential.privateKeyPem]);
      expect(JSON.stringify(n)).not.toContain("BEGIN CERTIFICATE");
    }
  });
});

describe("subjects against the SNS stand-in (real SDK client)", () => {
  let standins: Standins;
  let sns: SNSClient;
  let topicArn: string;

  beforeAll(async () => {
    standins = await startStandins();
    sns = standins.clients({ maxAttempts: 1 }).sns;
    topicArn = standins.sns.createTopic("notifications-test");
  });

  afterAll(async () => {
    await standins?.close();
  });

  const texts = [
    "[mtls-rotator] rotation started: plain",
    "rotation\nfailed\tat wave 2 — ✅ Ürsprung",
    `${"long ".repeat(40)}end`,
    `  \n leading whitespace and a 🚀 then ${"x".repeat(120)}`,
  ];

  it("accepts every subject toSubject produces", async () => {
    for (const text of texts) {
      const Subject = toSubject(text);
      await sns.send(new PublishCommand({ TopicArn: topicArn, Subject, Message: "{}" }));
    }
    expect(standins.sns.messages(topicArn).map((m) => m.subject)).toEqual(texts.map(toSubject));
  });

  it("accepts the subject of every notification, even for an odd, very long certificate ARN", async () => {
    const longArn = `arn:aws:acm:us-east-1:111122223333:certificate/${"ü\n".repeat(80)}`;
    const state = foldEvents("rot-5", [
      { type: "started", at, request: { certificateArn: longArn, serial: "0a", reason: "r", actor: "a" } },
    ]);
    const before = standins.sns.messages(topicArn).length;
    for (const event of Object.values(NotificationEvent)) {
      const n = rotationNotification(event, state, { wave: 1 });
      await sns.send(
        new PublishCommand({ TopicArn: topicArn, Subject: n.subject, Message: JSON.stringify(n.body) }),
      );
    }
    expect(standins.sns.messages(topicArn).length - before).toBe(Object.values(NotificationEvent).length);
  });

  it("the stand-in does refuse a raw subject with a line break (the check is real)", async () => {
    await expect(
      sns.send(new PublishCommand({ TopicArn: topicArn, Subject: "a\nb", Message: "{}" })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
  });
});
