/**
 * Notifications built from rotation state: SNS-safe subjects (checked against the SNS stand-in through the
 * real SDK client), fields and attributes per event, severity, and never any key material.
 */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bounded,
  CA_MIGRATION_ADVICE,
  caExpiringNotification,
  gateNotice,
  MAX_NOTIFICATION_BYTES,
  MAX_TEXT,
  NAMED_ITEMS,
  NotificationEvent,
  rotationNotification,
  type Severity,
  toSubject,
  viewerDriftNotification,
  viewerRevocationNotification,
} from "../../functions/core/notifications.ts";
import { foldEvents, type RotationEvent, type RotationState } from "../../functions/core/rotation.ts";
import { ViewerDriftKind } from "../../functions/core/viewer-inventory.ts";
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
    { event: "ca-expiring", severity: "warning", headline: "CA certificate expiring" },
    {
      event: "validity-capped",
      severity: "warning",
      headline: "certificate validity capped by its CA",
    },
    { event: "viewer-ca-ready", severity: "info", headline: "viewer CA ready" },
    { event: "viewer-migration-failed", severity: "critical", headline: "viewer CA migration failed" },
    { event: "viewer-ca-retired", severity: "info", headline: "viewer CA retired" },
    { event: "viewer-certificate-revoked", severity: "warning", headline: "viewer certificate revoked" },
    {
      event: "viewer-certificate-reinstated",
      severity: "warning",
      headline: "viewer certificate reinstated",
    },
    { event: "viewer-mtls-drift", severity: "warning", headline: "viewer mTLS drift found" },
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

  it("the body of a rollback: state, new certificate, reason, outcomes counted, the distributions that need attention, where to read the rest", () => {
    const n = rotationNotification("rolled-back", rolledBackState(), { detail: "gate failed" });
    expect(n.body).toEqual({
      event: "rolled-back",
      rotationId: "rot-1",
      status: "rolled-back",
      certificateArn: CERT,
      newCertificateArn: NEW_CERT,
      reason: "GateFailed",
      distributions: { total: 2, "rolled-back": 1, "rollback-failed": 1 },
      waves: { total: 1, failed: 1 },
      attention: [{ wave: 0, id: "E2", outcome: "rollback-failed", error: "PreconditionFailed" }],
      attentionCount: 1,
      see: { api: "GET /rotations/rot-1", cli: "mtls-rotator watch rot-1" },
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
      distributions: { total: 0 },
      waves: { total: 0 },
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

describe("viewerRevocationNotification", () => {
  const STORE = "arn:aws:cloudfront::111122223333:key-value-store/0f9c5e6a-1111-2222-3333-444455556666";
  const ALICE = "arn:aws:sts::111122223333:assumed-role/operator/alice";
  const BOB = "arn:aws:sts::111122223333:assumed-role/operator/bob";

  it("a revocation: warning, the serial in the subject, who, when, why and where to read it", () => {
    const n = viewerRevocationNotification("viewer-certificate-revoked", {
      serial: "4a3f5c",
      storeArn: STORE,
      actor: ALICE,
      reason: "laptop stolen",
      at: "2026-12-04T12:00:00.000Z",
    });
    expect(n).toEqual({
      event: "viewer-certificate-revoked",
      severity: "warning",
      certificateArn: STORE,
      subject: "[mtls-rotator] viewer certificate revoked: serial 4a3f5c",
      body: {
        event: "viewer-certificate-revoked",
        serial: "4a3f5c",
        storeArn: STORE,
        actor: ALICE,
        reason: "laptop stolen",
        at: "2026-12-04T12:00:00.000Z",
        takesEffect: expect.stringMatching(/propagated; connections already established are not cut$/),
        see: {
          api: "GET /viewer-revocations/4a3f5c",
          cli: "mtls-rotator viewer-revocation 4a3f5c",
        },
      },
    });
  });

  it("a reinstatement carries the revocation it took back; a 40-digit serial keeps the subject SNS-safe", () => {
    const serial = "f".repeat(40);
    const revocation = { reason: "laptop stolen", revokedAt: "2026-12-01T00:00:00.000Z", revokedBy: ALICE };
    const n = viewerRevocationNotification("viewer-certificate-reinstated", {
      serial,
      storeArn: STORE,
      actor: BOB,
      reason: "laptop found\u2028again",
      at: "2026-12-04T12:00:00.000Z",
      revocation,
    });
    expect(n.severity).toBe("warning");
    expect(n.subject).toBe(`[mtls-rotator] viewer certificate reinstated: serial ${serial}`);
    expect(n.subject.length).toBeLessThan(100);
    expect(n.body).toMatchObject({ actor: BOB, revocation, serial });
    expect(Buffer.byteLength(JSON.stringify(n.body))).toBeLessThanOrEqual(MAX_NOTIFICATION_BYTES);
  });
});

describe("viewerDriftNotification", () => {
  const DIST_ARN = "arn:aws:cloudfront::111122223333:distribution/EPASS1";
  const STORE_ARN = "arn:aws:cloudfront::111122223333:trust-store/ts-1";

  it.each([
    [ViewerDriftKind.ClientCertNotForwarded, "critical", DIST_ARN, "EPASS1"],
    [ViewerDriftKind.TrustStoreFailed, "critical", STORE_ARN, "ts-1"],
    [ViewerDriftKind.QuotaNear, "warning", STORE_ARN, "ts-1"],
    [ViewerDriftKind.ClientCertForwardingUnknown, "info", DIST_ARN, "EPASS1"],
  ] as const)("%s: %s, names its resource in the subject and the attribute", (kind, severity, arn, id) => {
    const n = viewerDriftNotification({ kind, resourceArn: arn, detail: "what happened" });
    expect(n.event).toBe("viewer-mtls-drift");
    expect(n.severity).toBe(severity);
    expect(n.certificateArn).toBe(arn);
    expect(n.subject).toBe(`[mtls-rotator] viewer mTLS ${kind}: ${id}`);
    expect(n.body).toMatchObject({ event: "viewer-mtls-drift", kind, detail: "what happened" });
  });
});

describe("caExpiringNotification", () => {
  const CA_ARNS = Array.from(
    { length: 12 },
    (_, i) =>
      `arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
  );
  const root = {
    fingerprint: "ab".repeat(32),
    subject: "CN=Acme Root CA, O=Acme",
    issuer: "CN=Acme Root CA, O=Acme",
    serial: "0a1b",
    notBefore: "2016-06-01T00:00:00.000Z",
    notAfter: "2026-06-21T00:00:00.000Z",
    role: "root" as const,
    authorityArns: CA_ARNS.slice(0, 2),
  };

  it("names the CA certificate, when it expires, who relies on it, and the advice; no PEM", () => {
    const n = caExpiringNotification(root, { thresholdDays: 30, daysLeft: 20 });
    expect(n).toEqual({
      event: "ca-expiring",
      severity: "warning",
      certificateArn: CA_ARNS[0],
      subject: "[mtls-rotator] root CA certificate expires in 20 days: CN=Acme Root CA, O=Acme",
      body: {
        event: "ca-expiring",
        certificateArn: CA_ARNS[0],
        caCertificate: {
          subject: root.subject,
          issuer: root.issuer,
          role: "root",
          fingerprint: root.fingerprint,
          serial: root.serial,
          notAfter: root.notAfter,
        },
        thresholdDays: 30,
        daysLeft: 20,
        authorityArns: CA_ARNS.slice(0, 2),
        advice: CA_MIGRATION_ADVICE,
      },
    });
    expect(CA_MIGRATION_ADVICE).toMatch(/^plan a CA migration: /);
    expect(JSON.stringify(n)).not.toContain("BEGIN CERTIFICATE");
  });

  it("critical from the 7-day threshold on, as a leaf's; an expired one says 0 days", () => {
    expect(caExpiringNotification(root, { thresholdDays: 7, daysLeft: 6 }).severity).toBe("critical");
    const expired = caExpiringNotification(
      { ...root, role: "intermediate" },
      { thresholdDays: 0, daysLeft: -2 },
    );
    expect(expired.severity).toBe("critical");
    expect(expired.subject).toBe(
      "[mtls-rotator] intermediate CA certificate expires in 0 days: CN=Acme Root CA, O=Acme",
    );
  });

  it("bounded: many relying CAs are counted, a long subject cut; the subject stays SNS-safe", () => {
    const n = caExpiringNotification(
      { ...root, subject: `CN=${"Ü".repeat(2_000)}\nO=Acme`, authorityArns: CA_ARNS },
      { thresholdDays: 14, daysLeft: 13 },
    );
    expect(n.body.authorityArns).toHaveLength(10);
    expect(n.body.authorityArnsCount).toBe(12);
    expect(n.subject.length).toBeLessThan(100);
    expect(n.subject).toMatch(/^[\x20-\x7e]*$/);
    expect(Buffer.byteLength(JSON.stringify(n.body))).toBeLessThanOrEqual(MAX_NOTIFICATION_BYTES);
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

describe("bounded at any fleet size", () => {
  /** A rotation over `n` distributions in waves of a tenth, every one swapped and then rolled back, half failing. */
  function fleetState(n: number): RotationState {
    const ids = Array.from({ length: n }, (_, i) => `E${String(i).padStart(13, "0")}`);
    const waveSize = Math.max(1, Math.ceil(n / 10));
    const waves = Array.from({ length: Math.ceil(n / waveSize) }, (_, w) => ({
      index: w,
      canary: w === 0,
      targets: ids
        .slice(w * waveSize, (w + 1) * waveSize)
        .map((id) => ({ distributionId: id, originIds: ["origin-1", "origin-2"] })),
    }));
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
        waves,
        newIssuerArn: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
        replacementKey: UNCHANGED_EC_KEY,
        baselines: {},
      },
      { type: "issued", at, certificateArn: NEW_CERT, serial: "ff", notAfter: at, fingerprint: "00" },
      ...waves.flatMap((w) =>
        w.targets.map(
          (t): RotationEvent => ({
            type: "swapped",
            at,
            wave: w.index,
            distributionId: t.distributionId,
            outcome: "swapped",
            changedOriginIds: t.originIds,
          }),
        ),
      ),
      { type: "rollback-requested", at, reason: "GateFailed", actor: "rotation", detail: "x".repeat(50_000) },
      ...ids.map(
        (id, i): RotationEvent => ({
          type: "rolled-back-distribution",
          at,
          distributionId: id,
          ok: i % 2 === 0,
          ...(i % 2 === 0 ? {} : { error: `CloudFront keeps answering 503 for ${id} ${"y".repeat(300)}` }),
        }),
      ),
      { type: "rolled-back", at },
    ];
    return foldEvents("rot-fleet", events);
  }

  const size = (n: { body: unknown }) => Buffer.byteLength(JSON.stringify(n.body), "utf8");

  it.each([100, 1_000, 5_000])(
    "every rotation notification of a %i-distribution rotation is at most 16 KB, counts every distribution and names at most 10",
    (n) => {
      const state = fleetState(n);
      const stuck = state.waves.flatMap((w) => w.distributions.map((d) => d.distributionId));
      for (const event of Object.values(NotificationEvent)) {
        const notification = rotationNotification(event, state, {
          wave: 3,
          stuck,
          detail: `origins refused the new certificate: ${stuck.join(", ")}`,
        });
        expect(size(notification), event).toBeLessThanOrEqual(MAX_NOTIFICATION_BYTES);
        const body = notification.body as Record<string, unknown> & {
          distributions: Record<string, number>;
          attention: unknown[];
          currentWave: { distributions: unknown[]; distributionCount: number };
        };
        expect(body.distributions).toEqual({ total: n, "rolled-back": n / 2, "rollback-failed": n / 2 });
        expect(body.attention).toHaveLength(Math.min(10, n / 2));
        expect(body.attentionCount).toBe(n / 2);
        expect(body.stuck).toHaveLength(10);
        expect(body.stuckCount).toBe(n);
        expect(body.currentWave.distributions).toHaveLength(10);
        expect(body.currentWave.distributionCount).toBe(n / 10);
        expect(String(body.detail).length).toBeLessThanOrEqual(MAX_TEXT + 40);
        expect(body.see).toEqual({ api: "GET /rotations/rot-fleet", cli: "mtls-rotator watch rot-fleet" });
      }
    },
  );

  it("bounded: lists cut to 10 with their length beside them, texts cut with what was left out, other values kept", () => {
    expect(
      bounded({
        ids: Array.from({ length: 12 }, (_, i) => i),
        few: [1, 2],
        nested: { text: "z".repeat(1_200) },
        n: 3,
      }),
    ).toEqual({
      ids: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      idsCount: 12,
      few: [1, 2],
      nested: { text: `${"z".repeat(1_000)}… (200 more characters)` },
      n: 3,
    });
  });
});

describe("a wave's gate in a notification", () => {
  const id = (i: number) => `E${String(i).padStart(13, "0")}`;

  it("a bounded gate of a wave of 2,000: verdict, counts, the first failures; an older whole one the same way", () => {
    const checks = Array.from({ length: 20 }, (_, i) => ({
      distributionId: id(i),
      errorRate: 40,
      baseline: 0,
      threshold: 2,
      passed: false,
      datapoints: 5,
      reason: "OverThreshold" as const,
    }));
    const bounded = {
      passed: false,
      verdict: "failed" as const,
      checks,
      probes: [{ target: `${id(0)}/o`, status: 400, accepted: false }],
      counts: {
        checks: 2_000,
        checksPassed: 1_970,
        byReason: { OverThreshold: 30, WithinThreshold: 1_970 },
        probes: 2_000,
        probesRefused: 1,
      },
    };
    const notice = gateNotice(bounded);
    expect(notice).toMatchObject({ passed: false, verdict: "failed", counts: bounded.counts });
    expect(notice.failing).toHaveLength(NAMED_ITEMS);
    expect((notice.failing as Array<{ id: string }>)[0]?.id).toBe(id(0));
    expect(notice.refused).toEqual([{ target: `${id(0)}/o`, status: 400 }]);
    // wave-completed carries the notice, not the gate's lists.
    const body = rotationNotification("wave-completed", foldEvents("rot-1", []), {
      wave: 1,
      gate: bounded,
    }).body;
    expect(body.gate).toEqual(notice);

    const old = {
      passed: true,
      checks: checks.map((c) => ({ ...c, passed: true, reason: undefined })),
      probes: [],
    };
    expect(gateNotice(old)).toMatchObject({
      passed: true,
      counts: { checks: 20, checksPassed: 20, probes: 0 },
    });
  });
});
