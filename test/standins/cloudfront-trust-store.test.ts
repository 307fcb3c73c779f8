/**
 * CloudFront trust stores (viewer mTLS) in the CloudFront stand-in, driven by the real
 * `@aws-sdk/client-cloudfront` over loopback HTTP, reading CA bundles from the S3 stand-in: each rule the
 * stand-in enforces is proved here through the SDK's own serialization and error parsing.
 */
import {
  CloudFrontClient,
  CreateTrustStoreCommand,
  type CreateTrustStoreCommandInput,
  GetTrustStoreCommand,
  ListTagsForResourceCommand,
  ListTrustStoresCommand,
  PreconditionFailed,
  TagResourceCommand,
  type TrustStoreSummary,
  UntagResourceCommand,
  UpdateTrustStoreCommand,
} from "@aws-sdk/client-cloudfront";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_TRUST_STORES,
  TRUST_STORE_MAX_BUNDLE_BYTES,
  TRUST_STORE_MAX_CERTIFICATES,
} from "../../standins/cloudfront-trust-stores.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { caChain, fiveDeepChain, forgedFiveDeepChain, pemOf } from "../support/ca-bundles.ts";
import { refusedByModel, withIntendedViolations } from "../support/model-checks.ts";
import { goodP256, manySmallCas, NOW, paddedCa, smallCa } from "../support/pki-fixtures.ts";

const BUCKET = "cf-trust-store-bundles";
const DELAY = 60_000;

let s: Standins;
let cloudfront: CloudFrontClient;
let s3: S3Client;
let clockMs = NOW.getTime();
let counter = 0;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;

beforeAll(async () => {
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha Viewer CA"), smallCa("CN=Bravo Viewer CA")]);
});

/**
 * Fresh stand-ins for each group of tests: an account holds at most 20 trust stores, so no group may
 * inherit another's.
 */
function freshStandins(): void {
  beforeAll(async () => {
    s = await startStandins({ now: () => new Date(clockMs), cloudfrontTrustStoreDelayMs: DELAY });
    const clients = s.clients({ maxAttempts: 1 });
    cloudfront = clients.cloudfront;
    s3 = clients.s3;
    s.s3.createBucket(BUCKET, { versioned: true });
    s.s3.createBucket("cf-bundles-eu", { versioned: true, region: "eu-west-1" });
  });
  afterAll(async () => {
    await s?.close();
  });
}

function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Lets the trust-store delay pass on the stand-ins' clock. */
function settle(): void {
  clockMs += DELAY;
}

async function putBundle(key: string, body: string | Buffer): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return out.VersionId!;
}

function source(key: string, version?: string, overrides: Record<string, string> = {}) {
  return {
    CaCertificatesBundleS3Location: {
      Bucket: BUCKET,
      Key: key,
      Region: "us-east-1",
      Version: version,
      ...overrides,
    },
  };
}

/** A trust store on a bundle of its own (alpha unless told), settled to `active`. */
async function activeStore(pem = alpha.certificatePem) {
  const key = unique("viewer/bundle");
  const version = await putBundle(key, pem);
  const out = await cloudfront.send(
    new CreateTrustStoreCommand({
      Name: unique("viewers"),
      CaCertificatesBundleSource: source(key, version),
    }),
  );
  settle();
  const id = out.TrustStore!.Id!;
  expect(s.cloudfront.trustStores.status(id)).toBe("active");
  return { id, key, version, etag: s.cloudfront.trustStores.etag(id), arn: out.TrustStore!.Arn! };
}

async function get(id: string) {
  return cloudfront.send(new GetTrustStoreCommand({ Identifier: id }));
}

describe("CreateTrustStore / GetTrustStore", () => {
  freshStandins();

  it("[cloudfront.trust-store-async-validation] creates a pending trust store that turns active once the delay has passed on the clock", async () => {
    const key = unique("viewer/bundle");
    const version = await putBundle(key, alpha.certificatePem + bravo.certificatePem);
    const created = await cloudfront.send(
      new CreateTrustStoreCommand({
        Name: unique("viewers"),
        CaCertificatesBundleSource: source(key, version),
        Tags: { Items: [{ Key: "team", Value: "edge" }] },
      }),
    );
    const id = created.TrustStore!.Id!;
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.ETag).toMatch(/^E[A-Z0-9]{13}$/);
    expect(created.TrustStore).toMatchObject({
      Arn: `arn:aws:cloudfront::111122223333:trust-store/${id}`,
      Status: "pending",
      NumberOfCaCertificates: 0,
    });

    clockMs += DELAY - 1;
    expect((await get(id)).TrustStore?.Status).toBe("pending");
    clockMs += 1;
    const got = await get(id);
    expect(got.TrustStore).toMatchObject({ Status: "active", NumberOfCaCertificates: 2 });
    expect(got.TrustStore?.LastModifiedTime).toBeInstanceOf(Date);
    expect(got.ETag).toBe(created.ETag);
    // By ARN as well as by id.
    expect((await get(created.TrustStore!.Arn!)).TrustStore?.Id).toBe(id);
    expect(s.cloudfront.trustStores.effectiveBundle(id)).toEqual({
      location: { bucket: BUCKET, key, region: "us-east-1", version },
      pem: alpha.certificatePem + bravo.certificatePem,
      certificates: 2,
    });
    expect(s.cloudfront.trustStores.tags(id)).toEqual({ team: "edge" });
  });

  it("loads the latest version when the location names none", async () => {
    const key = unique("viewer/bundle");
    await putBundle(key, alpha.certificatePem);
    const latest = await putBundle(key, bravo.certificatePem);
    const created = await cloudfront.send(
      new CreateTrustStoreCommand({ Name: unique("viewers"), CaCertificatesBundleSource: source(key) }),
    );
    settle();
    const id = created.TrustStore!.Id!;
    expect(s.cloudfront.trustStores.effectiveBundle(id)?.location.version).toBe(latest);
    expect(s.cloudfront.trustStores.effectiveBundle(id)?.pem).toBe(bravo.certificatePem);
  });

  /**
   * Creates AWS's model does not allow (botocore cloudfront 2020-05-31: CreateTrustStoreRequest requires Name
   * and CaCertificatesBundleSource; CaCertificatesBundleS3Location.Region has the pattern [a-z]{2}-[a-z]+-\d):
   * the model check refuses them before the stand-in sees them, as CloudFront answers an invalid parameter,
   * 400 InvalidArgument naming the member. The stand-in's own checks of these are not reached.
   */
  const refusedByTheModel: Array<{
    name: string;
    input: () => Promise<CreateTrustStoreCommandInput>;
    message: string;
  }> = [
    {
      name: "without Name",
      input: async () => ({
        Name: undefined,
        CaCertificatesBundleSource: source(await keyWith(alpha.certificatePem)),
      }),
      message: "Value null at 'name' failed to satisfy constraint: Member must not be null",
    },
    {
      name: "without CaCertificatesBundleSource",
      input: async () => ({ Name: unique("viewers"), CaCertificatesBundleSource: undefined }),
      message:
        "Value null at 'caCertificatesBundleSource' failed to satisfy constraint: Member must not be null",
    },
    {
      name: "with a Region that is not one",
      input: async () => ({
        Name: unique("viewers"),
        CaCertificatesBundleSource: source(await keyWith(alpha.certificatePem), undefined, {
          Region: "US_EAST",
        }),
      }),
      message:
        "Value 'US_EAST' at 'caCertificatesBundleSource.caCertificatesBundleS3Location.region' failed to " +
        "satisfy constraint: Member must satisfy regular expression pattern: [a-z]{2}-[a-z]+-\\d",
    },
  ];

  it.each(refusedByTheModel)(
    "[cloudfront.trust-store-bundle-readable] refuses a create $name as InvalidArgument (AWS's model refuses it first), creating nothing",
    async ({ input, message }) => {
      const request = await input();
      const before = s.cloudfront.trustStores.ids();
      const { error } = await refusedByModel(() =>
        cloudfront.send(new CreateTrustStoreCommand(request as CreateTrustStoreCommandInput)),
      );
      expect(error).toMatchObject({
        name: "InvalidArgument",
        message: `1 validation error detected: ${message}`,
        $metadata: { httpStatusCode: 400 },
      });
      expect(s.cloudfront.trustStores.ids()).toEqual(before);
    },
  );

  const badCreates: Array<{
    name: string;
    input: () => Promise<CreateTrustStoreCommandInput>;
  }> = [
    {
      name: "without Bucket",
      input: async () => ({
        Name: unique("viewers"),
        CaCertificatesBundleSource: source(await keyWith(alpha.certificatePem), undefined, { Bucket: "" }),
      }),
    },
    {
      name: "naming a key that does not exist",
      input: async () => ({ Name: unique("viewers"), CaCertificatesBundleSource: source(unique("missing")) }),
    },
    {
      name: "naming a version that does not exist",
      input: async () => ({
        Name: unique("viewers"),
        CaCertificatesBundleSource: source(await keyWith(alpha.certificatePem), "no-such-version"),
      }),
    },
    {
      name: "naming a bucket that does not exist",
      input: async () => ({
        Name: unique("viewers"),
        CaCertificatesBundleSource: source("k", undefined, { Bucket: "no-such-bucket" }),
      }),
    },
    {
      name: "naming a bucket in another region than the location says",
      input: async () => {
        const key = unique("eu/bundle");
        const euS3 = s.clients({ region: "eu-west-1", maxAttempts: 1 }).s3;
        await euS3.send(
          new PutObjectCommand({ Bucket: "cf-bundles-eu", Key: key, Body: alpha.certificatePem }),
        );
        return {
          Name: unique("viewers"),
          CaCertificatesBundleSource: source(key, undefined, { Bucket: "cf-bundles-eu" }),
        };
      },
    },
  ];

  it.each(badCreates)(
    "[cloudfront.trust-store-bundle-readable] refuses a create $name as InvalidArgument, creating nothing",
    async ({ input }) => {
      const request = await input();
      const before = s.cloudfront.trustStores.ids();
      await expect(
        cloudfront.send(new CreateTrustStoreCommand(request as CreateTrustStoreCommandInput)),
      ).rejects.toMatchObject({
        name: "InvalidArgument",
        $metadata: { httpStatusCode: 400 },
      });
      expect(s.cloudfront.trustStores.ids()).toEqual(before);
    },
  );

  it("[cloudfront.trust-store-name-unique] refuses a second trust store of the same name (409 EntityAlreadyExists)", async () => {
    const key = await keyWith(alpha.certificatePem);
    const name = unique("viewers");
    await cloudfront.send(
      new CreateTrustStoreCommand({ Name: name, CaCertificatesBundleSource: source(key) }),
    );
    await expect(
      cloudfront.send(new CreateTrustStoreCommand({ Name: name, CaCertificatesBundleSource: source(key) })),
    ).rejects.toMatchObject({ name: "EntityAlreadyExists", $metadata: { httpStatusCode: 409 } });
  });

  it(`[cloudfront.trust-store-quota] allows ${MAX_TRUST_STORES} trust stores per account, refusing the next as EntityLimitExceeded`, async () => {
    const fresh = await startStandins();
    try {
      fresh.s3.createBucket(BUCKET, { versioned: true });
      const c = fresh.clients({ maxAttempts: 1 });
      await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "b.pem", Body: alpha.certificatePem }));
      const create = (i: number) =>
        c.cloudfront.send(
          new CreateTrustStoreCommand({ Name: `store-${i}`, CaCertificatesBundleSource: source("b.pem") }),
        );
      for (let i = 1; i <= MAX_TRUST_STORES; i++) await create(i);
      await expect(create(MAX_TRUST_STORES + 1)).rejects.toMatchObject({
        name: "EntityLimitExceeded",
        $metadata: { httpStatusCode: 400 },
      });
      expect(fresh.cloudfront.trustStores.ids()).toHaveLength(MAX_TRUST_STORES);
    } finally {
      await fresh.close();
    }
  });

  it("[cloudfront.trust-store-not-found] answers an unknown trust store with 404 EntityNotFound", async () => {
    await expect(get("ts-0000000000000000")).rejects.toMatchObject({
      name: "EntityNotFound",
      $metadata: { httpStatusCode: 404 },
    });
  });
});

async function keyWith(pem: string): Promise<string> {
  const key = unique("viewer/bundle");
  await putBundle(key, pem);
  return key;
}

describe("UpdateTrustStore: ETag / If-Match", () => {
  freshStandins();

  it("moves to the new bundle: new ETag, pending while the old bundle stays in effect, then active", async () => {
    const store = await activeStore();
    const version = await putBundle(store.key, alpha.certificatePem + bravo.certificatePem);

    const out = await cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: store.etag,
        CaCertificatesBundleSource: source(store.key, version),
      }),
    );
    expect(out.ETag).not.toBe(store.etag);
    expect(out.TrustStore?.Status).toBe("pending");
    expect(s.cloudfront.trustStores.effectiveBundle(store.id)?.location.version).toBe(store.version);

    settle();
    expect((await get(store.id)).TrustStore).toMatchObject({ Status: "active", NumberOfCaCertificates: 2 });
    expect(s.cloudfront.trustStores.effectiveBundle(store.id)?.location.version).toBe(version);
  });

  it("a write on top of a pending one keeps the bundle in effect until the newest one is active", async () => {
    const store = await activeStore();
    const v2 = await putBundle(store.key, bravo.certificatePem);
    const first = await cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: store.etag,
        CaCertificatesBundleSource: source(store.key, v2),
      }),
    );
    clockMs += DELAY / 2;
    const v3 = await putBundle(store.key, alpha.certificatePem + bravo.certificatePem);
    await cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: first.ETag,
        CaCertificatesBundleSource: source(store.key, v3),
      }),
    );
    clockMs += DELAY / 2; // the first write's delay has passed, the second's has not
    expect(s.cloudfront.trustStores.status(store.id)).toBe("pending");
    expect(s.cloudfront.trustStores.effectiveBundle(store.id)?.location.version).toBe(store.version);
    settle();
    expect(s.cloudfront.trustStores.effectiveBundle(store.id)?.location.version).toBe(v3);
  });

  it("[cloudfront.trust-store-if-match] refuses an update without If-Match: AWS's model requires IfMatch, so 400 InvalidArgument (not the stand-in's InvalidIfMatchVersion)", async () => {
    // UpdateTrustStoreRequest lists IfMatch as required (botocore cloudfront 2020-05-31): the model check
    // refuses the update before the stand-in's own InvalidIfMatchVersion check is reached.
    const store = await activeStore();
    const { error } = await refusedByModel(() =>
      cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: store.id,
          IfMatch: undefined,
          CaCertificatesBundleSource: source(store.key),
        }),
      ),
    );
    expect(error).toMatchObject({
      name: "InvalidArgument",
      message:
        "1 validation error detected: Value null at 'ifMatch' failed to satisfy constraint: Member must not be null",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.cloudfront.trustStores.etag(store.id)).toBe(store.etag);
    expect(s.cloudfront.trustStores.latestLocation(store.id).version).toBe(store.version);
  });

  it("[cloudfront.trust-store-if-match] refuses a stale ETag with 412 PreconditionFailed and changes nothing", async () => {
    const store = await activeStore();
    const v2 = await putBundle(store.key, bravo.certificatePem);
    const moved = await cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: store.etag,
        CaCertificatesBundleSource: source(store.key, v2),
      }),
    );
    settle();
    const v3 = await putBundle(store.key, alpha.certificatePem);

    const stale = cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: store.etag,
        CaCertificatesBundleSource: source(store.key, v3),
      }),
    );
    await expect(stale).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(stale).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    expect(s.cloudfront.trustStores.etag(store.id)).toBe(moved.ETag);
    expect(s.cloudfront.trustStores.latestLocation(store.id).version).toBe(v2);
  });

  it("refuses an update without a bundle source, or naming a missing version, and changes nothing", async () => {
    const store = await activeStore();
    await expect(
      cloudfront.send(new UpdateTrustStoreCommand({ Id: store.id, IfMatch: store.etag })),
    ).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
    await expect(
      cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: store.id,
          IfMatch: store.etag,
          CaCertificatesBundleSource: source(store.key, "no-such-version"),
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument" });
    expect(s.cloudfront.trustStores.etag(store.id)).toBe(store.etag);
    expect(s.cloudfront.trustStores.latestLocation(store.id).version).toBe(store.version);
  });

  it("answers an update of an unknown trust store with 404 EntityNotFound", async () => {
    const key = await keyWith(alpha.certificatePem);
    await expect(
      cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: "ts-0000000000000000",
          IfMatch: "E1",
          CaCertificatesBundleSource: source(key),
        }),
      ),
    ).rejects.toMatchObject({ name: "EntityNotFound", $metadata: { httpStatusCode: 404 } });
  });
});

describe("bundle validation: a bad bundle fails the trust store and never replaces the one in effect", () => {
  freshStandins();

  const bad: Array<{ name: string; pem: () => Promise<string>; reason: RegExp }> = [
    {
      name: `${TRUST_STORE_MAX_CERTIFICATES + 1} certificates`,
      pem: async () => pemOf(await manySmallCas(TRUST_STORE_MAX_CERTIFICATES + 1)),
      reason: /26 certificates; a trust store allows at most 25/,
    },
    {
      name: "more than 64 KB",
      pem: async () => {
        const pem = (await paddedCa("CN=Padded Viewer CA", 800)).certificatePem;
        expect(Buffer.byteLength(pem)).toBeGreaterThan(TRUST_STORE_MAX_BUNDLE_BYTES);
        return pem;
      },
      reason: /bytes; a trust store allows at most 65536/,
    },
    {
      name: "a chain five certificates deep",
      pem: async () => pemOf(await fiveDeepChain()),
      reason: /chain of 5 certificates .*maximum chain depth is 4/,
    },
    {
      name: "a certificate that is not a CA",
      pem: async () => alpha.certificatePem + (await goodP256()).certificatePem,
      reason: /not CA certificates/,
    },
    {
      name: "a private key",
      pem: async () => alpha.certificatePem + (await goodP256()).privateKeyPem,
      reason: /PEM block 2 is a PRIVATE KEY/,
    },
    {
      name: "no certificate at all",
      pem: async () => "just text",
      reason: /holds no PEM-encoded certificate/,
    },
    {
      name: "a block that does not parse",
      pem: async () => `-----BEGIN CERTIFICATE-----\nTUlJQm9ndXM=\n-----END CERTIFICATE-----\n`,
      reason: /does not parse as an X.509 certificate/,
    },
  ];

  it.each(bad)(
    "[cloudfront.trust-store-bundle-limits] [cloudfront.trust-store-failed-keeps-previous] $name: failed with a Reason, the previous bundle stays in effect",
    async ({ pem, reason }) => {
      const store = await activeStore();
      const version = await putBundle(store.key, await pem());
      const out = await cloudfront.send(
        new UpdateTrustStoreCommand({
          Id: store.id,
          IfMatch: store.etag,
          CaCertificatesBundleSource: source(store.key, version),
        }),
      );
      expect(out.TrustStore?.Status).toBe("pending");
      settle();

      const got = await get(store.id);
      expect(got.TrustStore?.Status).toBe("failed");
      expect(got.TrustStore?.Reason).toMatch(reason);
      expect(got.TrustStore?.NumberOfCaCertificates).toBe(1);
      expect(s.cloudfront.trustStores.effectiveBundle(store.id)).toMatchObject({
        location: { version: store.version },
        pem: alpha.certificatePem,
      });
    },
  );

  it.each(bad.slice(0, 3))("$name on create: failed, nothing in effect", async ({ pem, reason }) => {
    const key = await keyWith(await pem());
    const created = await cloudfront.send(
      new CreateTrustStoreCommand({ Name: unique("viewers"), CaCertificatesBundleSource: source(key) }),
    );
    settle();
    const got = await get(created.TrustStore!.Id!);
    expect(got.TrustStore).toMatchObject({ Status: "failed", NumberOfCaCertificates: 0 });
    expect(got.TrustStore?.Reason).toMatch(reason);
    expect(s.cloudfront.trustStores.effectiveBundle(created.TrustStore!.Id!)).toBeUndefined();
  });

  it("counts only chain links whose signatures verify (a same-named impostor does not extend a chain)", async () => {
    const store = await activeStore(pemOf(await forgedFiveDeepChain()));
    expect((await get(store.id)).TrustStore).toMatchObject({ Status: "active", NumberOfCaCertificates: 5 });
  });

  it("accepts the limits themselves: 25 certificates, a chain four deep", async () => {
    const store = await activeStore(pemOf(await manySmallCas(TRUST_STORE_MAX_CERTIFICATES)));
    expect((await get(store.id)).TrustStore?.NumberOfCaCertificates).toBe(25);
    const deep = await activeStore(pemOf(await caChain(4, "Four")));
    expect((await get(deep.id)).TrustStore?.NumberOfCaCertificates).toBe(4);
  });
});

describe("ListTrustStores", () => {
  freshStandins();

  it("[cloudfront.list-marker-paging] pages through every trust store with Marker / MaxItems, summaries carrying ETag and Status", async () => {
    await activeStore();
    await activeStore();
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await cloudfront.send(new ListTrustStoresCommand({ Marker: marker, MaxItems: 2 }));
      pages += 1;
      for (const summary of page.TrustStoreList ?? []) {
        seen.push(summary.Id!);
        expect(summary.ETag).toBe(s.cloudfront.trustStores.etag(summary.Id!));
        expect(summary.Status).toBe(s.cloudfront.trustStores.status(summary.Id!));
      }
      marker = page.NextMarker;
    } while (marker);
    expect(seen).toEqual(s.cloudfront.trustStores.ids());
    expect(pages).toBe(Math.ceil(seen.length / 2));
  });

  it("refuses MaxItems outside 1-100 as InvalidArgument", async () => {
    await expect(cloudfront.send(new ListTrustStoresCommand({ MaxItems: 0 }))).rejects.toMatchObject({
      name: "InvalidArgument",
    });
  });

  it("[cloudfront.trust-store-summary-effective] summaries carry a failed store's Reason and the CA count of the bundle in effect", async () => {
    const store = await activeStore();
    const version = await putBundle(
      store.key,
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    await cloudfront.send(
      new UpdateTrustStoreCommand({
        Id: store.id,
        IfMatch: store.etag,
        CaCertificatesBundleSource: source(store.key, version),
      }),
    );
    settle();
    const healthy = await activeStore();
    const summaries = new Map<string, TrustStoreSummary>();
    let marker: string | undefined;
    do {
      const page = await cloudfront.send(new ListTrustStoresCommand({ Marker: marker }));
      for (const summary of page.TrustStoreList ?? []) summaries.set(summary.Id!, summary);
      marker = page.NextMarker;
    } while (marker);
    expect(summaries.get(store.id)).toMatchObject({ Status: "failed", NumberOfCaCertificates: 1 });
    expect(summaries.get(store.id)?.Reason).toBe(s.cloudfront.trustStores.reason(store.id));
    expect(summaries.get(store.id)?.Reason).toBeTruthy();
    expect(summaries.get(healthy.id)).toMatchObject({ Status: "active", NumberOfCaCertificates: 1 });
    expect(summaries.get(healthy.id)).not.toHaveProperty("Reason");
  });
});

describe("tags on trust stores", () => {
  freshStandins();

  it("tags, lists and untags a trust store; tagging leaves the ETag alone", async () => {
    const store = await activeStore();
    await cloudfront.send(
      new TagResourceCommand({
        Resource: store.arn,
        Tags: {
          Items: [
            { Key: "mtls-rotator:bundle-sha256", Value: "ab".repeat(32) },
            { Key: "x", Value: "" },
          ],
        },
      }),
    );
    const listed = await cloudfront.send(new ListTagsForResourceCommand({ Resource: store.arn }));
    expect(listed.Tags?.Items).toEqual([
      { Key: "mtls-rotator:bundle-sha256", Value: "ab".repeat(32) },
      { Key: "x", Value: "" },
    ]);
    await cloudfront.send(new UntagResourceCommand({ Resource: store.arn, TagKeys: { Items: ["x"] } }));
    expect(s.cloudfront.trustStores.tags(store.id)).toEqual({
      "mtls-rotator:bundle-sha256": "ab".repeat(32),
    });
    expect(s.cloudfront.trustStores.etag(store.id)).toBe(store.etag);
  });

  it("[cloudfront.tag-limits] refuses reserved keys and more than 50 tags as InvalidTagging; oversized keys and values are refused first by AWS's model as InvalidArgument", async () => {
    const store = await activeStore();
    const tag = (items: Array<{ Key: string; Value: string }>) =>
      cloudfront.send(new TagResourceCommand({ Resource: store.arn, Tags: { Items: items } }));
    await expect(tag([{ Key: "aws:owner", Value: "x" }])).rejects.toMatchObject({ name: "InvalidTagging" });
    // TagKey is 1..128 and TagValue 0..256 characters in AWS's model (botocore cloudfront 2020-05-31): the
    // model check refuses these before the stand-in's own InvalidTagging check, as 400 InvalidArgument.
    const oversized: Array<[{ Key: string; Value: string }, string]> = [
      [
        { Key: "k".repeat(129), Value: "x" },
        "at 'tags.items.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
      ],
      [
        { Key: "k", Value: "v".repeat(257) },
        "at 'tags.items.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
      ],
    ];
    for (const [item, message] of oversized) {
      const { error } = await refusedByModel(() => tag([item]));
      expect(error).toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
      expect(error.message).toMatch(/^1 validation error detected: Value '/);
      expect(error.message).toContain(message);
    }
    expect(s.cloudfront.trustStores.tags(store.id)).toEqual({});
    await tag(Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" })));
    await expect(tag([{ Key: "one-more", Value: "v" }])).rejects.toMatchObject({
      name: "InvalidTagging",
      $metadata: { httpStatusCode: 400 },
    });
    expect(Object.keys(s.cloudfront.trustStores.tags(store.id))).toHaveLength(50);
  });

  it("[cloudfront.tag-unknown-resource] answers an ARN that names no trust store with 404 NoSuchResource", async () => {
    await expect(
      cloudfront.send(
        new ListTagsForResourceCommand({
          Resource: "arn:aws:cloudfront::111122223333:trust-store/ts-missing",
        }),
      ),
    ).rejects.toMatchObject({ name: "NoSuchResource", $metadata: { httpStatusCode: 404 } });
    // Tagging of other CloudFront resources is not served rather than answered wrongly: the stand-in's own
    // 501 NotImplemented, which ListTagsForResource does not declare (a violation intended here).
    const { violations } = await withIntendedViolations(() =>
      expect(
        cloudfront.send(
          new ListTagsForResourceCommand({ Resource: "arn:aws:cloudfront::111122223333:distribution/E123" }),
        ),
      ).rejects.toMatchObject({ name: "NotImplemented", $metadata: { httpStatusCode: 501 } }),
    );
    expect(violations.map((v) => [v.operation, v.direction, v.violations[0]?.value])).toEqual([
      ["ListTagsForResource", "error", "'NotImplemented'"],
    ]);
  });
});

describe("wire", () => {
  freshStandins();

  it("is reachable through a plain CloudFrontClient pointed at the endpoint", async () => {
    const client = new CloudFrontClient({
      region: "us-east-1",
      endpoint: s.endpoint,
      credentials: STANDIN_CREDENTIALS,
      maxAttempts: 1,
    });
    const store = await activeStore();
    expect((await client.send(new GetTrustStoreCommand({ Identifier: store.id }))).ETag).toBe(store.etag);
    expect(s.server.count("cloudfront", "GetTrustStore")).toBeGreaterThan(0);
  });
});
