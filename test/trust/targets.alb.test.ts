/**
 * The ALB trust-store target through the real ELBv2 and S3 SDK clients against the stand-ins: a new S3 object
 * version then ModifyTrustStore naming it; idempotent by the trust store's tags (no S3 write, no Modify for the
 * same bundle); a crash between any two steps repaired by the next write with at most one S3 version per
 * bundle; ALB's limits refuse a bundle before anything is written.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeTrustBundle, type TrustBundle, TrustBundleError } from "../../functions/core/trust-bundle.ts";
import { publishTrustBundle } from "../../functions/trust/publish-bundle.ts";
import {
  ALB_BUNDLE_SHA_TAG,
  ALB_BUNDLE_VERSION_TAG,
  AlbTrustStoreTarget,
} from "../../functions/trust/targets/alb-trust-store.ts";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, manySmallCas, NOW, paddedCa, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "alb-trust-bundles";

let s: Standins;
let clients: AwsClients;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  // No SDK retries: an injected fault is a crash at that step.
  clients = s.clients({ maxAttempts: 1 });
  s.s3.createBucket(BUCKET, { versioned: true });
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha ALB CA"), smallCa("CN=Bravo ALB CA")]);
});

afterAll(async () => {
  await s?.close();
});

const bundleOf = (...cas: CertificateAuthority[]): TrustBundle =>
  computeTrustBundle({ current: cas.map((ca) => ca.certificatePem), now: NOW });

/** A trust store created from a seed bundle under its own key (as infra would), and a target for it. */
async function fresh(seed: CertificateAuthority = alpha) {
  counter += 1;
  const key = `alb/trust-store-${counter}.pem`;
  await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: seed.certificatePem }));
  const arn = s.elbv2.createTrustStore(`alb-ts-${counter}`, { bucket: BUCKET, key });
  const target = new AlbTrustStoreTarget({
    elbv2: clients.elbv2,
    s3: clients.s3,
    trustStoreArn: arn,
    bucket: BUCKET,
    key,
  });
  return {
    arn,
    key,
    target,
    store: () => s.elbv2.trustStore(arn)!,
    versions: () => s.s3.versions(BUCKET, key),
  };
}

function writes(): number {
  return (
    s.server.count("s3", "PutObject") +
    s.server.count("elasticloadbalancing", "ModifyTrustStore") +
    s.server.count("elasticloadbalancing", "AddTags")
  );
}

describe("AlbTrustStoreTarget", () => {
  it("puts a new S3 version, loads exactly that version into the trust store, and tags it", async () => {
    const { target, store, versions, arn } = await fresh();
    const bundle = bundleOf(alpha, bravo);
    const result = await target.write(bundle);

    const [latest] = versions();
    expect(versions()).toHaveLength(2); // the seed and this bundle
    expect(latest!.body.toString("utf8")).toBe(bundle.pem);
    expect(latest!.metadata).toEqual({ sha256: bundle.sha256, certificates: "2" });
    expect(result).toEqual({ changed: true, version: latest!.versionId });
    expect(store()).toMatchObject({
      numberOfCaCertificates: 2,
      source: { bucket: BUCKET, versionId: latest!.versionId },
      modifications: 1,
      tags: { [ALB_BUNDLE_SHA_TAG]: bundle.sha256, [ALB_BUNDLE_VERSION_TAG]: latest!.versionId },
    });
    expect(store().certificates.join("")).toBe(bundle.pem);
    expect(target.name).toBe(`alb-trust-store:${arn}`);
    expect(target.limits).toEqual({ maxCertificates: 25, maxCertificateBytes: 16 * 1024 });
    await expect(target.read()).resolves.toBe(bundle.pem);
  });

  it("the same bundle again: changed false, same version, no S3 write, no Modify, no tagging", async () => {
    const { target, versions, store } = await fresh();
    const bundle = bundleOf(alpha, bravo);
    const first = await target.write(bundle);
    const before = writes();
    const again = await target.write(bundle);
    expect(again).toEqual({ changed: false, version: first.version });
    expect(writes()).toBe(before);
    expect(versions()).toHaveLength(2);
    expect(store().modifications).toBe(1);
  });

  it("a different bundle makes one more version and loads it; going back makes another (S3 keeps history)", async () => {
    const { target, versions, store } = await fresh();
    const one = await target.write(bundleOf(alpha));
    const two = await target.write(bundleOf(alpha, bravo));
    const back = await target.write(bundleOf(alpha));
    expect([one.changed, two.changed, back.changed]).toEqual([true, true, true]);
    expect(new Set([one.version, two.version, back.version]).size).toBe(3);
    expect(versions()).toHaveLength(4);
    expect(store()).toMatchObject({ numberOfCaCertificates: 1, source: { versionId: back.version } });
  });

  it("read() answers undefined before the target published anything (the seed is not its bundle)", async () => {
    const { target } = await fresh();
    await expect(target.read()).resolves.toBeUndefined();
  });

  it("read() answers the version loaded into the trust store, not a newer one that never was", async () => {
    const { target, versions } = await fresh();
    const applied = bundleOf(alpha);
    await target.write(applied);
    s.server.faults.inject({
      service: "elasticloadbalancing",
      operation: "ModifyTrustStore",
      kind: "server-error",
    });
    await expect(target.write(bundleOf(alpha, bravo))).rejects.toBeDefined();
    expect(versions()[0]!.metadata.sha256).toBe(bundleOf(alpha, bravo).sha256);
    await expect(target.read()).resolves.toBe(applied.pem);
  });

  it("a crash after the S3 put, before ModifyTrustStore: the retry reuses that version", async () => {
    const { target, versions, store } = await fresh();
    const bundle = bundleOf(alpha, bravo);
    s.server.faults.inject({
      service: "elasticloadbalancing",
      operation: "ModifyTrustStore",
      kind: "server-error",
    });
    await expect(target.write(bundle)).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(versions()).toHaveLength(2);
    expect(store()).toMatchObject({ numberOfCaCertificates: 1, modifications: 0 });

    const puts = s.server.count("s3", "PutObject");
    const result = await target.write(bundle);
    expect(s.server.count("s3", "PutObject")).toBe(puts);
    expect(versions()).toHaveLength(2);
    expect(result).toEqual({ changed: true, version: versions()[0]!.versionId });
    expect(store()).toMatchObject({ numberOfCaCertificates: 2, source: { versionId: result.version } });
  });

  it("a crash after ModifyTrustStore, before tagging: the retry loads the same version again and tags it", async () => {
    const { target, versions, store } = await fresh();
    const bundle = bundleOf(alpha, bravo);
    s.server.faults.inject({ service: "elasticloadbalancing", operation: "AddTags", kind: "server-error" });
    await expect(target.write(bundle)).rejects.toBeDefined();
    expect(store()).toMatchObject({ numberOfCaCertificates: 2, tags: {} });

    const result = await target.write(bundle);
    expect(result.changed).toBe(true);
    expect(versions()).toHaveLength(2);
    expect(store()).toMatchObject({ tags: { [ALB_BUNDLE_SHA_TAG]: bundle.sha256 }, modifications: 2 });
    expect((await target.write(bundle)).changed).toBe(false);
  });

  it("an unknown trust store fails before anything is written", async () => {
    const { arn } = await fresh();
    const ghost = new AlbTrustStoreTarget({
      elbv2: clients.elbv2,
      s3: clients.s3,
      trustStoreArn: arn.replace(/\/[0-9a-f]{16}$/, "/0000000000000000"),
      bucket: BUCKET,
      key: "alb/ghost.pem",
    });
    await expect(ghost.write(bundleOf(alpha))).rejects.toMatchObject({ name: "TrustStoreNotFoundException" });
    expect(s.s3.versions(BUCKET, "alb/ghost.pem")).toEqual([]);
  });

  it("holds public CA material only", async () => {
    const credential = await goodP256();
    const { target, versions, store } = await fresh();
    await target.write(bundleOf(alpha, bravo));
    expectNoKeyMaterial(versions()[0]!.body.toString("utf8"), [credential.privateKeyPem]);
    expectNoKeyMaterial(store(), [credential.privateKeyPem]);
  });
});

describe("ALB limits through publishTrustBundle: refused before anything is written", () => {
  it("26 CA certificates (TooManyCertificates); 25 are published", async () => {
    const cas = await manySmallCas(26);
    const { target, store } = await fresh();
    const before = writes();
    const refused = publishTrustBundle({
      targets: [target],
      currentChainPem: cas
        .slice(0, 25)
        .map((ca) => ca.certificatePem)
        .join(""),
      incomingChainPem: cas[25]!.certificatePem,
      now: NOW,
    });
    await expect(refused).rejects.toBeInstanceOf(TrustBundleError);
    await expect(refused).rejects.toMatchObject({ reason: "TooManyCertificates" });
    expect(writes()).toBe(before);

    const ok = await publishTrustBundle({
      targets: [target],
      currentChainPem: cas
        .slice(0, 24)
        .map((ca) => ca.certificatePem)
        .join(""),
      incomingChainPem: cas[24]!.certificatePem,
      now: NOW,
    });
    expect(ok.certificates).toBe(25);
    expect(store().numberOfCaCertificates).toBe(25);
  });

  it("a CA certificate over 16 KB (CertificateTooLarge)", async () => {
    const big = await paddedCa("CN=Oversized ALB CA", 200);
    const { target, store } = await fresh();
    const before = writes();
    await expect(
      publishTrustBundle({
        targets: [target],
        currentChainPem: alpha.certificatePem,
        incomingChainPem: big.certificatePem,
        now: NOW,
      }),
    ).rejects.toMatchObject({ reason: "CertificateTooLarge" });
    expect(writes()).toBe(before);
    expect(store().modifications).toBe(0);
  });
});
