/**
 * The CloudFront trust-store target through `publishTrustBundle`, alongside the S3 and Secrets Manager
 * targets, with the real SDK clients against the stand-ins: a new S3 version then UpdateTrustStore (If-Match,
 * a stale ETag re-read), a wait until `active`, idempotence through tags, the 25-certificate limit refusing
 * before anything is written, and a bundle CloudFront refuses never replacing the one in effect.
 */
import {
  type CloudFrontClient,
  CreateTrustStoreCommand,
  UpdateTrustStoreCommand,
} from "@aws-sdk/client-cloudfront";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  computeTrustBundle,
  TRUST_TARGET_LIMITS,
  type TrustBundle,
} from "../../functions/core/trust-bundle.ts";
import {
  publishTrustBundle,
  S3BundleTarget,
  SecretBundleTarget,
} from "../../functions/trust/publish-bundle.ts";
import {
  CloudFrontTrustStoreError,
  CloudFrontTrustStoreTarget,
  type CloudFrontTrustStoreTargetOptions,
  TRUST_STORE_ETAG_TAG,
  TRUST_STORE_PENDING_ETAG_TAG,
  TRUST_STORE_PENDING_SHA_TAG,
  TRUST_STORE_PENDING_VERSION_TAG,
  TRUST_STORE_SHA_TAG,
  TRUST_STORE_VERSION_TAG,
} from "../../functions/trust/targets/cloudfront-trust-store.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { fiveDeepChain, pemOf } from "../support/ca-bundles.ts";
import { manySmallCas, NOW, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "mtls-rotator-cf-trust";
const DELAY = 90_000;

let clockMs = NOW.getTime();
let counter = 0;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let charlie: CertificateAuthority;

beforeAll(async () => {
  [alpha, bravo, charlie] = await Promise.all([
    smallCa("CN=Alpha Client CA"),
    smallCa("CN=Bravo Client CA"),
    smallCa("CN=Charlie Client CA"),
  ]);
});

function bundleOf(...pems: string[]): TrustBundle {
  return computeTrustBundle({ current: pems, now: NOW });
}

/** Stand-ins whose trust stores stay pending for `delayMs` of a clock that only the target's sleep moves. */
async function harness(delayMs = 0) {
  const s = await startStandins({ now: () => new Date(clockMs), cloudfrontTrustStoreDelayMs: delayMs });
  s.s3.createBucket(BUCKET, { versioned: true });
  return { s, clients: s.clients({ maxAttempts: 1 }) };
}

/** The sleep and clock a target gets: sleeping moves the stand-ins' clock. */
const sleeps: number[] = [];
const fakeTime = {
  sleep: async (ms: number) => {
    sleeps.push(ms);
    clockMs += ms;
  },
  now: () => clockMs,
};

/**
 * A trust store created by "infrastructure" from an initial bundle under the target's key, settled to
 * active, and a target on it (with S3 and secret targets of its own).
 */
async function setup(
  h: { s: Standins; clients: AwsClients },
  initialPem = alpha.certificatePem,
  options: Partial<CloudFrontTrustStoreTargetOptions> = {},
) {
  counter += 1;
  const key = `viewer-trust/store-${counter}.pem`;
  const put = await h.clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: initialPem }));
  const created = await h.clients.cloudfront.send(
    new CreateTrustStoreCommand({
      Name: `viewers-${counter}`,
      CaCertificatesBundleSource: {
        CaCertificatesBundleS3Location: {
          Bucket: BUCKET,
          Key: key,
          Region: "us-east-1",
          Version: put.VersionId,
        },
      },
    }),
  );
  clockMs += 24 * 3_600_000;
  const id = created.TrustStore!.Id!;
  expect(h.s.cloudfront.trustStores.status(id)).toBe("active");
  const cloudfront = new CloudFrontTrustStoreTarget({
    cloudfront: h.clients.cloudfront,
    s3: h.clients.s3,
    trustStoreId: id,
    bucket: BUCKET,
    key,
    bucketRegion: "us-east-1",
    pollIntervalMs: 10_000,
    ...fakeTime,
    ...options,
  });
  const s3Key = `bundles/store-${counter}.pem`;
  const s3 = new S3BundleTarget(h.clients.s3, BUCKET, s3Key);
  const secret = new SecretBundleTarget(h.clients.secrets, `mtls-rotator/trust/store-${counter}`);
  return {
    id,
    key,
    initialVersion: put.VersionId!,
    s3Key,
    cloudfront,
    s3,
    secret,
    versions: () => h.s.s3.versions(BUCKET, key),
    effective: () => h.s.cloudfront.trustStores.effectiveBundle(id),
  };
}

/** Every write the targets could make, by kind. */
function writes(s: Standins) {
  return {
    s3: s.server.count("s3", "PutObject"),
    secrets:
      s.server.count("secretsmanager", "PutSecretValue") + s.server.count("secretsmanager", "CreateSecret"),
    updates: s.server.count("cloudfront", "UpdateTrustStore"),
    tags: s.server.count("cloudfront", "TagResource"),
  };
}

describe("publishing to a CloudFront trust store alongside S3 and Secrets Manager", () => {
  let h: Awaited<ReturnType<typeof harness>>;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.s.close();
  });

  it("writes a new S3 version, points the trust store at it, and records it once active", async () => {
    const t = await setup(h);
    const result = await publishTrustBundle({
      targets: [t.cloudfront, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });

    const expected = bundleOf(alpha.certificatePem, bravo.certificatePem);
    const newest = t.versions()[0]!;
    expect(result.targets.map((r) => [r.target, r.changed])).toEqual([
      [`cloudfront-trust-store:${t.id}`, true],
      [t.s3.name, true],
      [t.secret.name, true],
    ]);
    expect(result.targets[0]!.version).toBe(newest.versionId);
    expect(t.versions()).toHaveLength(2);
    expect(newest.body.toString("utf8")).toBe(expected.pem);
    expect(newest.metadata).toMatchObject({ sha256: expected.sha256 });
    expect(t.effective()).toMatchObject({
      location: { bucket: BUCKET, key: t.key, region: "us-east-1", version: newest.versionId },
      pem: expected.pem,
      certificates: 2,
    });
    expect(h.s.cloudfront.trustStores.status(t.id)).toBe("active");
    expect(h.s.cloudfront.trustStores.tags(t.id)).toEqual({
      [TRUST_STORE_SHA_TAG]: expected.sha256,
      [TRUST_STORE_VERSION_TAG]: newest.versionId,
      [TRUST_STORE_ETAG_TAG]: h.s.cloudfront.trustStores.etag(t.id),
      // The update as it was sent, before it became active (a retry in between waits for it).
      [TRUST_STORE_PENDING_SHA_TAG]: expected.sha256,
      [TRUST_STORE_PENDING_VERSION_TAG]: newest.versionId,
      [TRUST_STORE_PENDING_ETAG_TAG]: h.s.cloudfront.trustStores.etag(t.id),
    });
    expect(await t.cloudfront.read()).toBe(expected.pem);
  });

  it("the same bundle again writes nothing: no S3 version, no UpdateTrustStore, no tags", async () => {
    const t = await setup(h);
    const input = {
      targets: [t.cloudfront, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    };
    const first = await publishTrustBundle(input);
    const before = writes(h.s);
    const etag = h.s.cloudfront.trustStores.etag(t.id);

    const again = await publishTrustBundle(input);

    expect(again.targets.map((r) => r.changed)).toEqual([false, false, false]);
    expect(again.targets[0]!.version).toBe(first.targets[0]!.version);
    expect(writes(h.s)).toEqual(before);
    expect(t.versions()).toHaveLength(2);
    expect(h.s.cloudfront.trustStores.etag(t.id)).toBe(etag);
  });

  it("a trust store created from an untagged bundle reads as nothing published yet", async () => {
    const t = await setup(h, charlie.certificatePem);
    expect(await t.cloudfront.read()).toBeUndefined();
  });

  it(`a ${TRUST_TARGET_LIMITS.cloudfrontTrustStore.maxCertificates + 1}-certificate bundle is refused before anything is written, wherever the target is`, async () => {
    const cas = await manySmallCas(26);
    const t = await setup(h);
    const before = writes(h.s);
    const effective = t.effective();

    for (const targets of [
      [t.s3, t.secret, t.cloudfront],
      [t.cloudfront, t.s3, t.secret],
    ]) {
      await expect(
        publishTrustBundle({
          targets,
          currentChainPem: pemOf(cas.slice(0, 25)),
          incomingChainPem: cas[25]!.certificatePem,
          now: NOW,
        }),
      ).rejects.toMatchObject({ name: "TrustBundleError", reason: "TooManyCertificates" });
    }
    expect(writes(h.s)).toEqual(before);
    expect(t.versions()).toHaveLength(1);
    expect(t.effective()).toEqual(effective);

    // 25 is within the limit.
    const ok = await publishTrustBundle({
      targets: [t.cloudfront],
      currentChainPem: pemOf(cas.slice(0, 24)),
      incomingChainPem: cas[24]!.certificatePem,
      now: NOW,
    });
    expect(ok.certificates).toBe(25);
    expect(t.effective()?.certificates).toBe(25);
  });

  it("repairs a crash between the S3 put and the update: the version is reused, the trust store updated", async () => {
    const t = await setup(h);
    const bundle = bundleOf(alpha.certificatePem, charlie.certificatePem);
    // What a crashed write left: the version is in S3, the trust store never heard of it.
    const orphan = await h.clients.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: t.key,
        Body: bundle.pem,
        Metadata: { sha256: bundle.sha256, certificates: "2" },
      }),
    );
    const puts = writes(h.s).s3;

    const out = await t.cloudfront.write(bundle);

    expect(out).toEqual({ changed: true, version: orphan.VersionId });
    expect(writes(h.s).s3).toBe(puts);
    expect(t.effective()?.location.version).toBe(orphan.VersionId);
  });

  it("re-applies the bundle when someone else moved the trust store (the ETag is no longer ours)", async () => {
    const t = await setup(h);
    const bundle = bundleOf(alpha.certificatePem, bravo.certificatePem);
    const first = await t.cloudfront.write(bundle);
    // Out of band: back to the initial bundle.
    await h.clients.cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: t.id,
        IfMatch: h.s.cloudfront.trustStores.etag(t.id),
        CaCertificatesBundleSource: {
          CaCertificatesBundleS3Location: {
            Bucket: BUCKET,
            Key: t.key,
            Region: "us-east-1",
            Version: t.initialVersion,
          },
        },
      }),
    );
    expect(t.effective()?.location.version).toBe(t.initialVersion);

    const again = await t.cloudfront.write(bundle);

    expect(again).toEqual({ changed: true, version: first.version });
    expect(t.effective()?.location.version).toBe(first.version);
    expect(t.versions()).toHaveLength(2);
  });
});

describe("UpdateTrustStore with a stale ETag", () => {
  let h: Awaited<ReturnType<typeof harness>>;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.s.close();
  });

  /**
   * A CloudFront client whose first `times` UpdateTrustStore calls are each preceded by another writer's
   * update of the same trust store (a real SDK call), so the ETag the target holds has gone stale.
   */
  function racingClient(times: number, trustStoreId: () => string, key: () => string): CloudFrontClient {
    const client = h.s.clients({ maxAttempts: 1 }).cloudfront;
    const other = h.s.clients({ maxAttempts: 1 }).cloudfront;
    let raced = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateTrustStoreCommand" && raced < times) {
          raced += 1;
          const id = trustStoreId();
          await other.send(
            new UpdateTrustStoreCommand({
              Id: id,
              IfMatch: h.s.cloudfront.trustStores.etag(id),
              CaCertificatesBundleSource: {
                CaCertificatesBundleS3Location: { Bucket: BUCKET, Key: key(), Region: "us-east-1" },
              },
            }),
          );
        }
        return next(args);
      },
      { step: "initialize", name: "raceTrustStoreUpdate" },
    );
    return client;
  }

  it("re-reads the ETag after 412 PreconditionFailed and updates", async () => {
    let id = "";
    let key = "";
    const t = await setup(h, alpha.certificatePem, {
      cloudfront: racingClient(
        1,
        () => id,
        () => key,
      ),
    });
    id = t.id;
    key = t.key;
    const failedBefore = h.s.server.calls.filter((c) => c.error === "PreconditionFailed").length;

    const out = await publishTrustBundle({
      targets: [t.cloudfront],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });

    expect(out.targets[0]!.changed).toBe(true);
    expect(h.s.server.calls.filter((c) => c.error === "PreconditionFailed").length).toBe(failedBefore + 1);
    expect(t.effective()?.pem).toBe(bundleOf(alpha.certificatePem, bravo.certificatePem).pem);
    expect(h.s.cloudfront.trustStores.tags(t.id)[TRUST_STORE_ETAG_TAG]).toBe(
      h.s.cloudfront.trustStores.etag(t.id),
    );
  });

  it("gives up with a Conflict error when the ETag is stale on every attempt", async () => {
    let id = "";
    let key = "";
    const t = await setup(h, alpha.certificatePem, {
      cloudfront: racingClient(
        100,
        () => id,
        () => key,
      ),
      maxUpdateAttempts: 3,
    });
    id = t.id;
    key = t.key;
    const error = await t.cloudfront
      .write(bundleOf(alpha.certificatePem, bravo.certificatePem))
      .catch((e) => e);
    expect(error).toBeInstanceOf(CloudFrontTrustStoreError);
    expect(error).toMatchObject({ code: "TrustStoreConflict", trustStoreId: t.id });
    expect(error.cause).toMatchObject({ name: "PreconditionFailed" });
    expect(h.s.cloudfront.trustStores.tags(t.id)).toEqual({});
  });
});

describe("waiting for the trust store to become active", () => {
  let h: Awaited<ReturnType<typeof harness>>;
  beforeAll(async () => {
    h = await harness(DELAY);
  });
  afterAll(async () => {
    await h?.s.close();
  });

  it("polls while pending and returns once active; nothing is recorded before that", async () => {
    const t = await setup(h);
    const bundle = bundleOf(alpha.certificatePem, bravo.certificatePem);
    sleeps.length = 0;
    const gets = h.s.server.count("cloudfront", "GetTrustStore");

    const out = await t.cloudfront.write(bundle);

    expect(out.changed).toBe(true);
    expect(h.s.cloudfront.trustStores.status(t.id)).toBe("active");
    expect(t.effective()?.pem).toBe(bundle.pem);
    // 90 s pending, polled every 10 s: nine sleeps, ten polls after the first look.
    expect(sleeps).toEqual(Array(9).fill(10_000));
    expect(h.s.server.count("cloudfront", "GetTrustStore") - gets).toBe(11);
    expect(h.s.cloudfront.trustStores.tags(t.id)[TRUST_STORE_VERSION_TAG]).toBe(out.version);
  });

  it("fails with TrustStoreNotActive when the trust store is still pending at the deadline", async () => {
    const t = await setup(h, alpha.certificatePem, { activationTimeoutMs: 60_000 });
    sleeps.length = 0;
    const error = await t.cloudfront
      .write(bundleOf(alpha.certificatePem, bravo.certificatePem))
      .catch((e) => e);
    expect(error).toMatchObject({
      name: "CloudFrontTrustStoreError",
      code: "TrustStoreNotActive",
      status: "pending",
      trustStoreId: t.id,
    });
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(60_000);
    // Only the update in flight is recorded: nothing says the bundle is in effect.
    const tags = h.s.cloudfront.trustStores.tags(t.id);
    expect(tags[TRUST_STORE_VERSION_TAG]).toBeUndefined();
    expect(tags[TRUST_STORE_PENDING_ETAG_TAG]).toBe(h.s.cloudfront.trustStores.etag(t.id));
  });

  it("a retry after the deadline waits for the update in flight instead of sending it again", async () => {
    const t = await setup(h, alpha.certificatePem, { activationTimeoutMs: 60_000 });
    const bundle = bundleOf(alpha.certificatePem, bravo.certificatePem);
    await t.cloudfront.write(bundle).catch(() => undefined);
    const before = writes(h.s);
    // A retry (a step retried after its invocation ran out): the update is still pending (90 s in all).
    const out = await t.cloudfront.write(bundle);
    expect(out.changed).toBe(true);
    expect(writes(h.s).updates).toBe(before.updates);
    expect(writes(h.s).s3).toBe(before.s3);
    expect(h.s.cloudfront.trustStores.status(t.id)).toBe("active");
    expect(t.effective()?.pem).toBe(bundle.pem);
    expect(await t.cloudfront.verifiedBundle()).toBe(bundle.pem);
    // Once in effect, the same bundle again is nothing to do.
    expect((await t.cloudfront.write(bundle)).changed).toBe(false);
  });

  it("verifiedBundle is undefined once another writer changed the trust store", async () => {
    const t = await setup(h);
    const bundle = bundleOf(alpha.certificatePem, bravo.certificatePem);
    await t.cloudfront.write(bundle);
    expect(await t.cloudfront.verifiedBundle()).toBe(bundle.pem);
    await h.clients.cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: t.id,
        IfMatch: h.s.cloudfront.trustStores.etag(t.id),
        CaCertificatesBundleSource: {
          CaCertificatesBundleS3Location: {
            Bucket: BUCKET,
            Key: t.key,
            Region: "us-east-1",
            Version: t.initialVersion,
          },
        },
      }),
    );
    expect(await t.cloudfront.verifiedBundle()).toBeUndefined();
    // The tags still name our bundle: read() answers it, verifiedBundle() does not trust it.
    expect(await t.cloudfront.read()).toBe(bundle.pem);
  });
});

describe("a bundle CloudFront refuses never replaces the one in effect", () => {
  let h: Awaited<ReturnType<typeof harness>>;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.s.close();
  });

  it("a chain five deep: the trust store fails, the write says why, the previous bundle stays in effect", async () => {
    const t = await setup(h);
    const good = await publishTrustBundle({
      targets: [t.cloudfront, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: bravo.certificatePem,
      now: NOW,
    });
    const goodPem = bundleOf(alpha.certificatePem, bravo.certificatePem).pem;
    const s3Before = h.s.s3.versions(BUCKET, t.s3Key);
    const secretWrites = writes(h.s).secrets;

    // Strictest target first: when it refuses, the targets after it are never written.
    const error = await publishTrustBundle({
      targets: [t.cloudfront, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: pemOf(await fiveDeepChain()),
      now: NOW,
    }).catch((e) => e);

    expect(error).toBeInstanceOf(CloudFrontTrustStoreError);
    expect(error).toMatchObject({ code: "TrustStoreFailed", status: "failed", trustStoreId: t.id });
    expect(error.reason).toMatch(/maximum chain depth is 4/);
    expect(error.message).toMatch(
      new RegExp(`trust store ${t.id} failed to load s3://${BUCKET}/${t.key} version`),
    );
    expect(h.s.cloudfront.trustStores.status(t.id)).toBe("failed");
    expect(t.effective()).toMatchObject({ pem: goodPem, location: { version: good.targets[0]!.version } });
    expect(h.s.cloudfront.trustStores.tags(t.id)[TRUST_STORE_VERSION_TAG]).toBe(good.targets[0]!.version);
    expect(h.s.s3.versions(BUCKET, t.s3Key)).toEqual(s3Before);
    expect(writes(h.s).secrets).toBe(secretWrites);

    // The next publish builds on the bundle in effect, not on the refused one, and recovers the trust store.
    expect(await t.cloudfront.read()).toBe(goodPem);
    const next = await publishTrustBundle({
      targets: [t.cloudfront, t.s3, t.secret],
      currentChainPem: alpha.certificatePem,
      incomingChainPem: charlie.certificatePem,
      now: NOW,
    });
    expect(next.certificates).toBe(3);
    expect(h.s.cloudfront.trustStores.status(t.id)).toBe("active");
    expect(t.effective()?.pem).toBe(
      bundleOf(alpha.certificatePem, bravo.certificatePem, charlie.certificatePem).pem,
    );
  });

  it("an invalid incoming chain is refused by the core before the trust store is touched", async () => {
    const t = await setup(h);
    const before = writes(h.s);
    await expect(
      publishTrustBundle({
        targets: [t.cloudfront, t.s3, t.secret],
        currentChainPem: alpha.certificatePem,
        incomingChainPem: "not a certificate",
        now: NOW,
      }),
    ).rejects.toMatchObject({ name: "TrustBundleError", reason: "Malformed" });
    expect(writes(h.s)).toEqual(before);
    expect(t.effective()?.location.version).toBe(t.initialVersion);
  });

  it("a bucket without versioning is refused before the trust store is touched", async () => {
    h.s.s3.createBucket("unversioned-trust", { versioned: false });
    const t = await setup(h);
    const target = new CloudFrontTrustStoreTarget({
      cloudfront: h.clients.cloudfront,
      s3: h.clients.s3,
      trustStoreId: t.id,
      bucket: "unversioned-trust",
      key: "bundle.pem",
      bucketRegion: "us-east-1",
      ...fakeTime,
    });
    const updates = writes(h.s).updates;
    await expect(target.write(bundleOf(alpha.certificatePem))).rejects.toMatchObject({
      name: "BundleBucketError",
    });
    expect(writes(h.s).updates).toBe(updates);
  });
});
