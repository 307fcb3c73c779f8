/**
 * The ELBv2 trust-store stand-in, driven by the real `@aws-sdk/client-elastic-load-balancing-v2` (awsQuery)
 * over loopback HTTP, reading CA bundles from the S3 stand-in: a bundle is loaded when the call is made, must
 * be one ELB would accept (PEM CA certificates, <= 25, <= 16 KB each), and a refused call changes nothing.
 */
import {
  AddTagsCommand,
  CreateTrustStoreCommand,
  type CreateTrustStoreCommandInput,
  DescribeTagsCommand,
  DescribeTrustStoresCommand,
  type ElasticLoadBalancingV2Client,
  ModifyTrustStoreCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CA_CERTIFICATE_BYTES, validateCaBundle } from "../../standins/elbv2.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { refusedByModel } from "../support/model-checks.ts";
import { goodP256, manySmallCas, paddedCa, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "elbv2-bundles";

let s: Standins;
let elb: ElasticLoadBalancingV2Client;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let cas26: CertificateAuthority[];
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  elb = s.clients({ maxAttempts: 1 }).elbv2;
  s.s3.createBucket(BUCKET, { versioned: true });
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha ALB CA"), smallCa("CN=Bravo ALB CA")]);
  cas26 = await manySmallCas(26);
});

afterAll(async () => {
  await s?.close();
});

/** Puts a bundle under a fresh key (or `key`) through the S3 API; answers key and version. */
async function putBundle(body: string | Buffer, key = `bundles/b-${++counter}.pem`) {
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const out = await s.clients().s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return { key, version: out.VersionId! };
}

function name(): string {
  counter += 1;
  return `ts-${counter}`;
}

async function create(input: Partial<CreateTrustStoreCommandInput> & { key: string }) {
  const { key, ...rest } = input;
  const out = await elb.send(
    new CreateTrustStoreCommand({
      Name: name(),
      CaCertificatesBundleS3Bucket: BUCKET,
      CaCertificatesBundleS3Key: key,
      ...rest,
    }),
  );
  return out.TrustStores![0]!;
}

const pems = (...cas: CertificateAuthority[]) => cas.map((ca) => ca.certificatePem).join("");

describe("create and describe", () => {
  it("loads the bundle from S3 and reports the CA count; ACTIVE with no creation delay", async () => {
    const { key, version } = await putBundle(pems(alpha, bravo));
    const created = await create({ key });
    expect(created).toMatchObject({ Status: "ACTIVE", NumberOfCaCertificates: 2, TotalRevokedEntries: 0 });
    expect(created.TrustStoreArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:111122223333:truststore\/ts-\d+\/[0-9a-f]{16}$/,
    );
    const described = await elb.send(
      new DescribeTrustStoresCommand({ TrustStoreArns: [created.TrustStoreArn!] }),
    );
    expect(described.TrustStores).toEqual([created]);
    const byName = await elb.send(new DescribeTrustStoresCommand({ Names: [created.Name!] }));
    expect(byName.TrustStores?.[0]?.TrustStoreArn).toBe(created.TrustStoreArn);
    expect(s.elbv2.trustStore(created.TrustStoreArn!)).toMatchObject({
      source: { bucket: BUCKET, key, versionId: version },
      certificates: [alpha.certificatePem, bravo.certificatePem],
    });
  });

  it("[elbv2.creating-then-active] a new trust store is CREATING for the creation delay, then ACTIVE", async () => {
    let clock = new Date("2026-06-01T00:00:00Z");
    const slow = await startStandins({ now: () => clock, trustStoreCreationDelayMs: 30_000 });
    try {
      slow.s3.createBucket(BUCKET, { versioned: true });
      const { PutObjectCommand } = await import("@aws-sdk/client-s3");
      await slow.clients().s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "b.pem", Body: pems(alpha) }));
      const client = slow.clients({ maxAttempts: 1 }).elbv2;
      const created = await client.send(
        new CreateTrustStoreCommand({
          Name: "slow",
          CaCertificatesBundleS3Bucket: BUCKET,
          CaCertificatesBundleS3Key: "b.pem",
        }),
      );
      expect(created.TrustStores?.[0]?.Status).toBe("CREATING");
      clock = new Date(clock.getTime() + 29_999);
      const still = await client.send(new DescribeTrustStoresCommand({ Names: ["slow"] }));
      expect(still.TrustStores?.[0]?.Status).toBe("CREATING");
      clock = new Date(clock.getTime() + 1);
      const active = await client.send(new DescribeTrustStoresCommand({ Names: ["slow"] }));
      expect(active.TrustStores?.[0]?.Status).toBe("ACTIVE");
    } finally {
      await slow.close();
    }
  });

  it("pages DescribeTrustStores with PageSize and NextMarker, and refuses a PageSize over 400", async () => {
    const { key } = await putBundle(pems(alpha));
    const region = "ap-southeast-2";
    const client = s.clients({ region, maxAttempts: 1 }).elbv2;
    const arns = ["p1", "p2", "p3"].map((n) => s.elbv2.createTrustStore(n, { bucket: BUCKET, key }, region));
    const first = await client.send(new DescribeTrustStoresCommand({ PageSize: 2 }));
    expect(first.TrustStores?.map((t) => t.TrustStoreArn)).toEqual(arns.slice(0, 2));
    expect(first.NextMarker).toBeTruthy();
    const second = await client.send(
      new DescribeTrustStoresCommand({ PageSize: 2, Marker: first.NextMarker }),
    );
    expect(second.TrustStores?.map((t) => t.TrustStoreArn)).toEqual(arns.slice(2));
    expect(second.NextMarker).toBeUndefined();
    // PageSize is 1..400 in AWS's model: the model check refuses 401 as ELB does, before the stand-in pages.
    const { error } = await refusedByModel(() =>
      client.send(new DescribeTrustStoresCommand({ PageSize: 401 })),
    );
    expect(error).toMatchObject({
      name: "ValidationError",
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining(
        "Value '401' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 400",
      ),
    });
  });
});

describe("names and quotas", () => {
  it.each([
    ["an empty name", ""],
    ["a leading hyphen", "-store"],
    ["a trailing hyphen", "store-"],
    ["two hyphens in a row", "my--store"],
    ["an underscore", "my_store"],
    ["33 characters", "a".repeat(33)],
  ])("refuses %s (ValidationError) and creates nothing", async (_, bad) => {
    const { key } = await putBundle(pems(alpha));
    const before = s.elbv2.trustStores().length;
    // TrustStoreName is 1..32 characters matching ^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$ in AWS's model: the model
    // check refuses these names as ELB does (ValidationError naming `name`), before the stand-in sees them.
    const { error } = await refusedByModel(() => create({ key, Name: bad }));
    expect(error).toMatchObject({
      name: "ValidationError",
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        /^\d+ validation errors? detected: Value '.*' at 'name' failed to satisfy constraint: /,
      ),
    });
    expect(s.elbv2.trustStores()).toHaveLength(before);
  });

  it("accepts 32 characters with single hyphens", async () => {
    const { key } = await putBundle(pems(alpha));
    const ok = `a-${"b".repeat(28)}-c`;
    expect(ok).toHaveLength(32);
    expect((await create({ key, Name: ok })).Name).toBe(ok);
  });

  it("[elbv2.trust-store-name-unique] refuses a duplicate name in the region (DuplicateTrustStoreName)", async () => {
    const { key } = await putBundle(pems(alpha));
    const first = await create({ key });
    await expect(create({ key, Name: first.Name })).rejects.toMatchObject({
      name: "DuplicateTrustStoreNameException",
    });
  });

  it("[elbv2.trust-store-quota] allows 20 trust stores per region and refuses the 21st (TooManyTrustStores)", async () => {
    const { key } = await putBundle(pems(alpha));
    const region = "eu-west-2";
    for (let i = 0; i < 20; i++) s.elbv2.createTrustStore(`quota-${i}`, { bucket: BUCKET, key }, region);
    const client = s.clients({ region, maxAttempts: 1 }).elbv2;
    await expect(
      client.send(
        new CreateTrustStoreCommand({
          Name: "quota-20",
          CaCertificatesBundleS3Bucket: BUCKET,
          CaCertificatesBundleS3Key: key,
        }),
      ),
    ).rejects.toMatchObject({ name: "TooManyTrustStoresException" });
    expect(s.elbv2.trustStores().filter((t) => t.region === region)).toHaveLength(20);
  });

  it("requires Name, bucket and key: the SDK does not check them (ValidationError)", async () => {
    const { key } = await putBundle(pems(alpha));
    const before = s.elbv2.trustStores().length;
    // Name and CaCertificatesBundleS3Bucket are required members in AWS's model: the model check refuses a
    // request without them as ELB does ("Member must not be null"), before the stand-in sees it.
    for (const [missing, member] of [
      [{ Name: undefined }, "name"],
      [{ CaCertificatesBundleS3Bucket: undefined }, "caCertificatesBundleS3Bucket"],
    ] as const) {
      const { error } = await refusedByModel(() => create({ key, ...missing }));
      expect(error).toMatchObject({
        name: "ValidationError",
        $metadata: { httpStatusCode: 400 },
        message: expect.stringContaining(
          `Value null at '${member}' failed to satisfy constraint: Member must not be null`,
        ),
      });
    }
    // An empty key is present as far as the model goes (S3Key has no length bound): the stand-in refuses it.
    await expect(create({ key: "" })).rejects.toMatchObject({
      name: "ValidationError",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.elbv2.trustStores()).toHaveLength(before);
  });
});

describe("bundle validation (InvalidCaCertificatesBundle, nothing changes)", () => {
  let arn: string;
  let original: { key: string; version: string };

  beforeAll(async () => {
    original = await putBundle(pems(alpha));
    arn = (await create({ key: original.key })).TrustStoreArn!;
  });

  async function refusedModify(body: string | Buffer, message?: RegExp) {
    const { key, version } = await putBundle(body);
    await expect(
      elb.send(
        new ModifyTrustStoreCommand({
          TrustStoreArn: arn,
          CaCertificatesBundleS3Bucket: BUCKET,
          CaCertificatesBundleS3Key: key,
          CaCertificatesBundleS3ObjectVersion: version,
        }),
      ),
    ).rejects.toMatchObject({
      name: "InvalidCaCertificatesBundleException",
      $metadata: { httpStatusCode: 400 },
      ...(message ? { message: expect.stringMatching(message) } : {}),
    });
    expect(s.elbv2.trustStore(arn)).toMatchObject({
      numberOfCaCertificates: 1,
      certificates: [alpha.certificatePem],
      source: { key: original.key, versionId: original.version },
      modifications: 0,
    });
  }

  it("[elbv2.bundle-valid] refuses a bundle with no certificate at all", async () => {
    await refusedModify("\n");
  });

  it("refuses text that is not PEM", async () => {
    await refusedModify("this is not a certificate bundle\n");
  });

  it("[elbv2.bundle-valid] refuses text outside the PEM blocks", async () => {
    await refusedModify(`# comment\n${pems(alpha)}`);
  });

  it("refuses a private key block next to the certificates", async () => {
    const leaf = await goodP256();
    await refusedModify(pems(alpha) + leaf.privateKeyPem, /block 2 is a PRIVATE KEY, not a CERTIFICATE/);
  });

  it("refuses a certificate block that does not parse", async () => {
    const broken = alpha.certificatePem.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!!!!!!!!!!!!!!!!!");
    await refusedModify(broken);
  });

  it("[elbv2.bundle-valid] refuses a certificate that is not a CA (a client leaf)", async () => {
    const leaf = await goodP256();
    await refusedModify(pems(alpha) + leaf.certificatePem, /is not a CA certificate/);
  });

  it("[elbv2.bundle-quotas] refuses 26 CA certificates and accepts 25", async () => {
    await refusedModify(pems(...cas26));
    const { key } = await putBundle(pems(...cas26.slice(0, 25)));
    const other = await create({ key });
    expect(other.NumberOfCaCertificates).toBe(25);
  });

  it(`[elbv2.bundle-quotas] refuses a CA certificate over ${MAX_CA_CERTIFICATE_BYTES} bytes and accepts one just under`, async () => {
    const [big, fits] = await Promise.all([paddedCa("CN=Big CA", 200), paddedCa("CN=Fits CA", 180)]);
    expect(Buffer.byteLength(big.certificatePem)).toBeGreaterThan(MAX_CA_CERTIFICATE_BYTES);
    expect(Buffer.byteLength(fits.certificatePem)).toBeLessThanOrEqual(MAX_CA_CERTIFICATE_BYTES);
    expect(Buffer.byteLength(fits.certificatePem)).toBeGreaterThan(MAX_CA_CERTIFICATE_BYTES - 2048);
    await refusedModify(pems(alpha, big));
    expect(validateCaBundle(Buffer.from(pems(alpha, fits)))).toHaveLength(2);
  });

  it("refuses bytes that are not UTF-8 text", async () => {
    await refusedModify(Buffer.concat([Buffer.from(pems(alpha)), Buffer.from([0xff, 0xfe])]));
  });

  it("a refused CreateTrustStore creates nothing", async () => {
    const { key } = await putBundle("garbage");
    const before = s.elbv2.trustStores().length;
    await expect(create({ key })).rejects.toMatchObject({ name: "InvalidCaCertificatesBundleException" });
    expect(s.elbv2.trustStores()).toHaveLength(before);
  });
});

describe("modify", () => {
  it("[elbv2.modify-reads-version] loads the named S3 version, or the latest when none is named", async () => {
    const v1 = await putBundle(pems(alpha));
    const arn = (await create({ key: v1.key })).TrustStoreArn!;
    const v2 = await putBundle(pems(alpha, bravo), v1.key);
    const modify = (version?: string) =>
      elb.send(
        new ModifyTrustStoreCommand({
          TrustStoreArn: arn,
          CaCertificatesBundleS3Bucket: BUCKET,
          CaCertificatesBundleS3Key: v1.key,
          CaCertificatesBundleS3ObjectVersion: version,
        }),
      );

    const pinned = await modify(v1.version);
    expect(pinned.TrustStores?.[0]).toMatchObject({ NumberOfCaCertificates: 1, Status: "ACTIVE" });
    expect(s.elbv2.trustStore(arn)?.source.versionId).toBe(v1.version);

    const latest = await modify(undefined);
    expect(latest.TrustStores?.[0]?.NumberOfCaCertificates).toBe(2);
    expect(s.elbv2.trustStore(arn)).toMatchObject({ source: { versionId: v2.version }, modifications: 2 });
  });

  it("[elbv2.bundle-not-found] answers CaCertificatesBundleNotFound for a missing bucket, key or version, and changes nothing", async () => {
    const v1 = await putBundle(pems(alpha));
    const arn = (await create({ key: v1.key })).TrustStoreArn!;
    for (const [bucket, key, version] of [
      ["no-such-bucket", v1.key, undefined],
      [BUCKET, "no/such/key.pem", undefined],
      [BUCKET, v1.key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ] as const) {
      await expect(
        elb.send(
          new ModifyTrustStoreCommand({
            TrustStoreArn: arn,
            CaCertificatesBundleS3Bucket: bucket,
            CaCertificatesBundleS3Key: key,
            CaCertificatesBundleS3ObjectVersion: version,
          }),
        ),
      ).rejects.toMatchObject({ name: "CaCertificatesBundleNotFoundException" });
    }
    expect(s.elbv2.trustStore(arn)).toMatchObject({ modifications: 0, source: { versionId: v1.version } });
  });

  it("[elbv2.trust-store-regional] answers TrustStoreNotFound for an unknown ARN, an unknown name, and a trust store of another region", async () => {
    const v1 = await putBundle(pems(alpha));
    const arn = (await create({ key: v1.key })).TrustStoreArn!;
    const unknown = arn.replace(/\/[0-9a-f]{16}$/, "/0000000000000000");
    const modify = (client: ElasticLoadBalancingV2Client, target: string) =>
      client.send(
        new ModifyTrustStoreCommand({
          TrustStoreArn: target,
          CaCertificatesBundleS3Bucket: BUCKET,
          CaCertificatesBundleS3Key: v1.key,
        }),
      );
    await expect(modify(elb, unknown)).rejects.toMatchObject({ name: "TrustStoreNotFoundException" });
    const elsewhere = s.clients({ region: "eu-central-1", maxAttempts: 1 }).elbv2;
    await expect(modify(elsewhere, arn)).rejects.toMatchObject({ name: "TrustStoreNotFoundException" });
    await expect(
      elb.send(new DescribeTrustStoresCommand({ TrustStoreArns: [unknown] })),
    ).rejects.toMatchObject({ name: "TrustStoreNotFoundException" });
    await expect(elb.send(new DescribeTrustStoresCommand({ Names: ["never-made"] }))).rejects.toMatchObject({
      name: "TrustStoreNotFoundException",
    });
  });
});

describe("tags", () => {
  it("AddTags and DescribeTags round-trip on a trust store; CreateTrustStore takes tags too", async () => {
    const { key } = await putBundle(pems(alpha));
    const arn = (await create({ key, Tags: [{ Key: "owner", Value: "mtls-rotator" }] })).TrustStoreArn!;
    await elb.send(
      new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: "mtls-rotator:bundle-sha256", Value: "ab" }] }),
    );
    await elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: "owner", Value: "platform" }] }));
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    expect(out.TagDescriptions).toEqual([
      {
        ResourceArn: arn,
        Tags: [
          { Key: "owner", Value: "platform" },
          { Key: "mtls-rotator:bundle-sha256", Value: "ab" },
        ],
      },
    ]);
  });

  it("DescribeTags answers an untagged trust store without Tags (AWS's model: a TagList holds at least one tag)", async () => {
    const { key } = await putBundle(pems(alpha));
    const arn = (await create({ key })).TrustStoreArn!;
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
    expect(out.TagDescriptions).toEqual([{ ResourceArn: arn }]);
  });

  it("[elbv2.tag-limits] refuses a key twice in one request (DuplicateTagKeys) and more than 50 tags (TooManyTags)", async () => {
    const { key } = await putBundle(pems(alpha));
    const arn = (await create({ key })).TrustStoreArn!;
    await expect(
      elb.send(
        new AddTagsCommand({
          ResourceArns: [arn],
          Tags: [
            { Key: "a", Value: "1" },
            { Key: "a", Value: "2" },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: "DuplicateTagKeysException" });
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: fifty }));
    await expect(
      elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: "one-more", Value: "v" }] })),
    ).rejects.toMatchObject({ name: "TooManyTagsException" });
    expect(Object.keys(s.elbv2.trustStore(arn)?.tags ?? {})).toHaveLength(50);
  });
});

describe("server integration", () => {
  it("[elbv2.throttling] answers an injected throttle as ELB does (400 Throttling), which the SDK retries", async () => {
    s.server.faults.inject({
      service: "elasticloadbalancing",
      operation: "DescribeTrustStores",
      kind: "throttle",
    });
    await expect(elb.send(new DescribeTrustStoresCommand({}))).rejects.toMatchObject({
      name: "Throttling",
      $metadata: { httpStatusCode: 400 },
    });
    s.server.faults.inject({
      service: "elasticloadbalancing",
      operation: "DescribeTrustStores",
      kind: "throttle",
    });
    const out = await s.clients().elbv2.send(new DescribeTrustStoresCommand({}));
    expect(out.$metadata.attempts).toBe(2);
  });

  it("[elbv2.unmodelled-actions] refuses an action it does not model (InvalidAction) instead of pretending", async () => {
    const { DescribeLoadBalancersCommand } = await import("@aws-sdk/client-elastic-load-balancing-v2");
    await expect(elb.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: "InvalidAction",
    });
  });
});
