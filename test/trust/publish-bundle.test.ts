/**
 * Publishing the trust bundle to a versioned S3 object and a Secrets Manager secret through the real SDK
 * clients against the stand-ins: idempotent per target (the same bundle makes no new version), the union of
 * what is published with the chain in service and the incoming chain, and nothing written at all when the
 * incoming chain is invalid or any target's limits refuse the bundle.
 */
import { X509Certificate } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, sha256Hex } from "../../functions/core/pem.ts";
import { computeTrustBundle, type TrustBundle, TrustBundleError } from "../../functions/core/trust-bundle.ts";
import {
  publishTrustBundle,
  S3BundleTarget,
  SecretBundleTarget,
  type TrustTarget,
} from "../../functions/trust/publish-bundle.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, NOW, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "mtls-rotator-trust-test";

let standins: Standins;
let clients: AwsClients;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let charlie: CertificateAuthority;
let legacy: CertificateAuthority;
let counter = 0;

beforeAll(async () => {
  standins = await startStandins();
  clients = standins.clients({ maxAttempts: 1 });
  standins.s3.createBucket(BUCKET, { versioned: true });
  [alpha, bravo, charlie, legacy] = await Promise.all([
    smallCa("CN=Alpha Client CA"),
    smallCa("CN=Bravo Client CA"),
    smallCa("CN=Charlie Client CA"),
    smallCa("CN=Legacy Client CA"),
  ]);
});

afterAll(async () => {
  await standins?.close();
});

/** A fresh pair of targets (own S3 key, own secret) and helpers to look at what they hold. */
function freshTargets() {
  counter += 1;
  const key = `trust/bundle-${counter}.pem`;
  const secretId = `mtls-rotator/trust/bundle-${counter}`;
  const s3 = new S3BundleTarget(clients.s3, BUCKET, key);
  const secret = new SecretBundleTarget(clients.secrets, secretId);
  return {
    key,
    secretId,
    s3,
    secret,
    targets: [s3, secret] as TrustTarget[],
    s3Versions: () => standins.s3.versions(BUCKET, key),
    s3Latest: () => standins.s3.object(BUCKET, key)?.body.toString("utf8"),
    secretVersions: (): Record<string, string[]> =>
      standins.secrets.names().includes(secretId) ? standins.secrets.stagesOf(secretId) : {},
    secretValues: (): string[] =>
      standins.secrets.names().includes(secretId) ? standins.secrets.valuesOf(secretId) : [],
    secretCurrent: async () => secret.read(),
  };
}

function fingerprint(pem: string): string {
  return fingerprintOf(new X509Certificate(pem));
}

function bundleOf(...cas: CertificateAuthority[]): TrustBundle {
  return computeTrustBundle({ current: cas.map((ca) => ca.certificatePem), now: NOW });
}

/** Writes made so far (S3 PutObject, Secrets Manager PutSecretValue / CreateSecret / UpdateSecretVersionStage). */
function writes(): number {
  return (
    standins.server.count("s3", "PutObject") +
    standins.server.count("secretsmanager", "PutSecretValue") +
    standins.server.count("secretsmanager", "CreateSecret") +
    standins.server.count("secretsmanager", "UpdateSecretVersionStage")
  );
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

describe("publishTrustBundle: the first publish", () => {
  it("writes both targets: one S3 version, one AWSCURRENT secret version, the same bytes", async () => {
    const t = freshTargets();
    const result = await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });
    const expected = bundleOf(alpha, bravo);

    expect(result.bundleSha256).toBe(expected.sha256);
    expect(result.certificates).toBe(2);
    expect(result.targets).toEqual([
      { target: `s3://${BUCKET}/${t.key}`, changed: true, version: t.s3Versions()[0]!.versionId },
      { target: `secretsmanager:${t.secretId}`, changed: true, version: uuidFrom(expected.sha256) },
    ]);

    const [object] = t.s3Versions();
    expect(t.s3Versions()).toHaveLength(1);
    expect(object!.body.toString("utf8")).toBe(expected.pem);
    expect(object!.contentType).toBe("application/x-pem-file");
    expect(object!.metadata).toEqual({ sha256: expected.sha256, certificates: "2" });

    expect(t.secretVersions()).toEqual({ [uuidFrom(expected.sha256)]: ["AWSCURRENT"] });
    expect(await t.secretCurrent()).toBe(expected.pem);
  });

  it("holds public CA material only", async () => {
    const credential = await goodP256();
    const t = freshTargets();
    await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });
    expectNoKeyMaterial(t.s3Latest(), [credential.privateKeyPem]);
    expectNoKeyMaterial(t.secretValues(), [credential.privateKeyPem]);
  });
});

describe("publishTrustBundle: idempotence and growth", () => {
  it("the same bundle again writes nothing: no new S3 version, no new secret version", async () => {
    const t = freshTargets();
    const input = {
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    };
    const first = await publishTrustBundle(input);
    const s3Before = t.s3Versions();
    const secretBefore = t.secretVersions();
    const writesBefore = writes();

    // The same CAs in another order and spelling (CRLF) are the same bundle.
    const again = await publishTrustBundle({
      ...input,
      currentChainPem: bravo.certificatePem.replace(/\n/g, "\r\n"),
      incomingChainPem: alpha.certificatePem,
    });

    expect(again.bundleSha256).toBe(first.bundleSha256);
    expect(again.targets.map((r) => r.changed)).toEqual([false, false]);
    expect(again.targets[0]!.version).toBe(first.targets[0]!.version);
    expect(writes()).toBe(writesBefore);
    expect(t.s3Versions()).toEqual(s3Before);
    expect(t.secretVersions()).toEqual(secretBefore);
  });

  it("an incoming CA makes exactly one new version per target, holding old + new", async () => {
    const t = freshTargets();
    await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: alpha.certificatePem,
      now: NOW,
    });
    expect(t.s3Versions()).toHaveLength(1);
    const oldSecretVersion = Object.keys(t.secretVersions())[0]!;

    const result = await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: charlie.certificatePem,
      now: NOW,
    });

    const expected = bundleOf(alpha, charlie);
    expect(result.targets.map((r) => r.changed)).toEqual([true, true]);
    expect(result.certificates).toBe(2);
    expect(t.s3Versions()).toHaveLength(2);
    expect(t.s3Latest()).toBe(expected.pem);
    expect(t.s3Versions()[1]!.body.toString("utf8")).toBe(bundleOf(alpha).pem);
    expect(t.secretVersions()).toEqual({
      [uuidFrom(expected.sha256)]: ["AWSCURRENT"],
      [oldSecretVersion]: ["AWSPREVIOUS"],
    });
    expect(await t.secretCurrent()).toBe(expected.pem);
    const published = computeTrustBundle({ current: [t.s3Latest()!], now: NOW });
    expect(published.entries.map((e) => e.fingerprint).sort()).toEqual(
      [fingerprint(alpha.certificatePem), fingerprint(charlie.certificatePem)].sort(),
    );
  });

  it("carries over the CAs of a bundle already published in S3", async () => {
    const t = freshTargets();
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: t.key, Body: legacy.certificatePem }));

    const result = await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });

    const expected = bundleOf(alpha, bravo, legacy);
    expect(result.bundleSha256).toBe(expected.sha256);
    expect(result.certificates).toBe(3);
    expect(t.s3Latest()).toBe(expected.pem);
    expect(await t.secretCurrent()).toBe(expected.pem);
  });

  it("carries over the CAs published in the secret when S3 has none yet", async () => {
    const t = freshTargets();
    await t.secret.write(bundleOf(legacy));
    expect(t.s3Versions()).toEqual([]);

    await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: alpha.certificatePem,
      now: NOW,
    });

    const expected = bundleOf(alpha, legacy);
    expect(t.s3Latest()).toBe(expected.pem);
    expect(await t.secretCurrent()).toBe(expected.pem);
  });

  it("returning to an earlier bundle (an incoming CA retired) makes it current again in both targets", async () => {
    const t = freshTargets();
    const publish = (incoming: CertificateAuthority, retired: string[] = []) =>
      publishTrustBundle({
        targets: t.targets,
        currentChainPem: alpha.certificatePem,
        incomingChainPem: incoming.certificatePem,
        retiredFingerprints: retired,
        now: NOW,
      });
    await publish(alpha);
    await publish(bravo);
    expect(await t.secretCurrent()).toBe(bundleOf(alpha, bravo).pem);

    const back = await publish(alpha, [fingerprint(bravo.certificatePem)]);

    expect(back.targets.map((r) => r.changed)).toEqual([true, true]);
    expect(back.bundleSha256).toBe(bundleOf(alpha).sha256);
    expect(t.s3Latest()).toBe(bundleOf(alpha).pem);
    expect(t.s3Versions()).toHaveLength(3);
    expect(await t.secretCurrent()).toBe(bundleOf(alpha).pem);
    expect(t.secretVersions()).toEqual({
      [uuidFrom(bundleOf(alpha).sha256)]: ["AWSCURRENT"],
      [uuidFrom(bundleOf(alpha, bravo).sha256)]: ["AWSPREVIOUS"],
    });

    // And once there, publishing it again is a no-op.
    const before = writes();
    const still = await publish(alpha, [fingerprint(bravo.certificatePem)]);
    expect(still.targets.map((r) => r.changed)).toEqual([false, false]);
    expect(writes()).toBe(before);
  });
});

describe("publishTrustBundle: refusals leave every target untouched", () => {
  const invalid: Array<{ name: string; incoming: () => Promise<string>; reason: string }> = [
    { name: "a leaf certificate", incoming: async () => (await goodP256()).certificatePem, reason: "NotCA" },
    { name: "garbage text", incoming: async () => "this is not a certificate", reason: "Malformed" },
    {
      name: "a truncated PEM block",
      incoming: async () => `${alpha.certificatePem.slice(0, 120)}\n-----END CERTIFICATE-----\n`,
      reason: "Malformed",
    },
    { name: "a private key", incoming: async () => (await goodP256()).privateKeyPem, reason: "Malformed" },
    {
      name: "a CA followed by a private key",
      incoming: async () => bravo.certificatePem + (await goodP256()).privateKeyPem,
      reason: "Malformed",
    },
  ];

  it.each(invalid)(
    "on a fresh pair, $name: refused ($reason), nothing written",
    async ({ incoming, reason }) => {
      const t = freshTargets();
      const before = writes();
      await expect(
        publishTrustBundle({
          targets: t.targets,
          currentChainPem: alpha.certificatePem,
          incomingChainPem: await incoming(),
          now: NOW,
        }),
      ).rejects.toMatchObject({ name: "TrustBundleError", reason });
      expect(writes()).toBe(before);
      expect(t.s3Versions()).toEqual([]);
      expect(t.secretVersions()).toEqual({});
    },
  );

  it.each(invalid)("over a published bundle, $name: the published bundle stays", async ({ incoming }) => {
    const t = freshTargets();
    await publishTrustBundle({
      targets: t.targets,
      currentChainPem: alpha.certificatePem,
      incomingChainPem: alpha.certificatePem,
      now: NOW,
    });
    const s3Before = t.s3Versions();
    const secretBefore = t.secretVersions();
    const before = writes();

    await expect(
      publishTrustBundle({
        targets: t.targets,
        currentChainPem: alpha.certificatePem,
        incomingChainPem: await incoming(),
        now: NOW,
      }),
    ).rejects.toBeInstanceOf(TrustBundleError);

    expect(writes()).toBe(before);
    expect(t.s3Versions()).toEqual(s3Before);
    expect(t.secretVersions()).toEqual(secretBefore);
    expect(await t.secretCurrent()).toBe(bundleOf(alpha).pem);
  });

  it("a target's limits refuse before ANY target is written, wherever that target is in the list", async () => {
    const t = freshTargets();
    const written: TrustBundle[] = [];
    const small: TrustTarget = {
      name: "custom:one-ca-only",
      limits: { maxCertificates: 1 },
      read: async () => undefined,
      write: async (bundle) => {
        written.push(bundle);
        return { changed: true };
      },
    };
    const before = writes();

    await expect(
      publishTrustBundle({
        targets: [t.s3, t.secret, small],
        currentChainPem: alpha.certificatePem,
        incomingChainPem: bravo.certificatePem,
        now: NOW,
      }),
    ).rejects.toMatchObject({ name: "TrustBundleError", reason: "TooManyCertificates" });

    expect(written).toEqual([]);
    expect(writes()).toBe(before);
    expect(t.s3Versions()).toEqual([]);
    expect(t.secretVersions()).toEqual({});
  });

  it("the same limited target accepts a bundle within its limits", async () => {
    const t = freshTargets();
    const written: TrustBundle[] = [];
    const small: TrustTarget = {
      name: "custom:one-ca-only",
      limits: { maxCertificates: 1 },
      read: async () => undefined,
      write: async (bundle) => {
        written.push(bundle);
        return { changed: true, version: "v1" };
      },
    };
    const result = await publishTrustBundle({
      targets: [t.s3, t.secret, small],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: alpha.certificatePem,
      now: NOW,
    });
    expect(written.map((b) => b.pem)).toEqual([bundleOf(alpha).pem]);
    expect(result.targets.map((r) => [r.target, r.changed])).toEqual([
      [`s3://${BUCKET}/${t.key}`, true],
      [`secretsmanager:${t.secretId}`, true],
      ["custom:one-ca-only", true],
    ]);
    expect(result.bundleSha256).toBe(sha256Hex(bundleOf(alpha).pem));
  });
});
