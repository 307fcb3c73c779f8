/**
 * Viewer mTLS on CloudFront distributions in the stand-in, driven by the real `@aws-sdk/client-cloudfront`:
 * `ViewerMtlsConfig` round-trips untouched (GetDistributionConfig, and DistributionSummary of both listings),
 * the rules CloudFront documents for its modes and trust stores are enforced, ListDistributionsByTrustStore
 * pages like ListDistributions, and the edge's view follows the deployed config.
 */
import {
  type CloudFrontClient,
  CreateDistributionCommand,
  type DistributionConfig,
  EntityNotFound,
  GetDistributionConfigCommand,
  ListDistributionsByTrustStoreCommand,
  ListDistributionsCommand,
  paginateListDistributionsByTrustStore,
  UpdateDistributionCommand,
  type ViewerMtlsConfig,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_DISTRIBUTIONS_PER_TRUST_STORE } from "../../standins/cloudfront.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";
import { smallCa } from "../support/pki-fixtures.ts";
import { createTrustStore as createTrustStoreFrom } from "../support/viewer-trust-stores.ts";

const BUCKET = "viewer-trust-bundles";
const DELAY = 60_000;

let s: Standins;
let cloudfront: CloudFrontClient;
let clockMs = Date.now();
let trustStoreId: string;
let otherTrustStoreId: string;

/** Lets the deployment and trust-store delays pass on the stand-ins' clock. */
function settle(): void {
  clockMs += DELAY;
}

async function createTrustStore(name: string): Promise<{ id: string; arn: string }> {
  const ca = await smallCa(`CN=${name} viewer CA`);
  return createTrustStoreFrom({ s3: s.clients().s3, cloudfront }, BUCKET, name, ca.certificatePem);
}

function withViewerMtls(viewerMtls: ViewerMtlsConfig | undefined): DistributionConfig {
  const config = buildDistributionConfig({ origins: 1 });
  if (viewerMtls) config.ViewerMtlsConfig = viewerMtls;
  return config;
}

function required(id = trustStoreId): ViewerMtlsConfig {
  return {
    Mode: "required",
    TrustStoreConfig: { TrustStoreId: id, AdvertiseTrustStoreCaNames: true, IgnoreCertificateExpiry: false },
  };
}

async function create(config: DistributionConfig) {
  const out = await cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
  return { id: out.Distribution!.Id!, etag: out.ETag! };
}

async function readConfig(id: string) {
  const out = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
  return { config: out.DistributionConfig!, etag: out.ETag! };
}

beforeAll(async () => {
  s = await startStandins({
    now: () => new Date(clockMs),
    deployDelayMs: DELAY,
    cloudfrontTrustStoreDelayMs: DELAY,
  });
  cloudfront = s.clients({ maxAttempts: 1 }).cloudfront;
  s.s3.createBucket(BUCKET, { versioned: true });
  ({ id: trustStoreId } = await createTrustStore("partners"));
  ({ id: otherTrustStoreId } = await createTrustStore("employees"));
  settle();
});

afterAll(async () => {
  await s?.close();
});

describe("ViewerMtlsConfig round trip", () => {
  it("[cloudfront.update-replaces-whole-config] serves ViewerMtlsConfig back unchanged from GetDistributionConfig and in both listings' summaries", async () => {
    const { id } = await create(withViewerMtls(required()));
    const { config } = await readConfig(id);
    expect(config.ViewerMtlsConfig).toEqual(required());

    const listed = await cloudfront.send(new ListDistributionsCommand({}));
    const summary = listed.DistributionList?.Items?.find((d) => d.Id === id);
    expect(summary?.ViewerMtlsConfig).toEqual(required());
    const byStore = await cloudfront.send(
      new ListDistributionsByTrustStoreCommand({ TrustStoreIdentifier: trustStoreId }),
    );
    expect(byStore.DistributionList?.Items?.find((d) => d.Id === id)?.ViewerMtlsConfig).toEqual(required());
  });

  it("[cloudfront.update-replaces-whole-config] keeps a passthrough config (no trust store) through an unrelated update", async () => {
    const passthrough: ViewerMtlsConfig = { Mode: "passthrough" };
    const { id } = await create(withViewerMtls(passthrough));
    const { config, etag } = await readConfig(id);
    await cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: etag,
        DistributionConfig: { ...config, Comment: "renamed" },
      }),
    );
    const after = await readConfig(id);
    expect(after.config.ViewerMtlsConfig).toEqual(passthrough);
    expect(after.config.Comment).toBe("renamed");
  });
});

describe("viewer-mTLS rules", () => {
  it("[cloudfront.viewer-mtls-passthrough-no-trust-store] [cloudfront.viewer-mtls-refusal-code] refuses passthrough with a TrustStoreConfig (400 InvalidArgument), creating nothing", async () => {
    const before = s.cloudfront.ids().length;
    const config = withViewerMtls({ Mode: "passthrough", TrustStoreConfig: { TrustStoreId: trustStoreId } });
    await expect(
      cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config })),
    ).rejects.toMatchObject({
      name: "InvalidArgument",
      message: expect.stringContaining("passthrough"),
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.cloudfront.ids()).toHaveLength(before);
  });

  it.each(["required", "optional"] as const)(
    "[cloudfront.viewer-mtls-trust-store-required] [cloudfront.viewer-mtls-refusal-code] refuses %s mode without a TrustStoreConfig (400 InvalidArgument)",
    async (mode) => {
      const before = s.cloudfront.ids().length;
      await expect(
        cloudfront.send(
          new CreateDistributionCommand({ DistributionConfig: withViewerMtls({ Mode: mode }) }),
        ),
      ).rejects.toMatchObject({
        name: "InvalidArgument",
        message: expect.stringContaining(`${mode} mode needs a TrustStoreConfig`),
      });
      expect(s.cloudfront.ids()).toHaveLength(before);
    },
  );

  it("[cloudfront.viewer-mtls-default-required] reads a config without Mode as required mode", async () => {
    const { id } = await create(withViewerMtls({ TrustStoreConfig: { TrustStoreId: trustStoreId } }));
    settle();
    expect(s.cloudfront.viewerAccessOf(id)?.viewerMtls).toEqual({
      mode: "required",
      trustStoreId,
      advertiseTrustStoreCaNames: false,
      ignoreCertificateExpiry: false,
    });
    // Served back as written: without a Mode.
    expect((await readConfig(id)).config.ViewerMtlsConfig).toEqual({
      TrustStoreConfig: { TrustStoreId: trustStoreId },
    });
  });

  it("[cloudfront.viewer-mtls-trust-store-exists] [cloudfront.viewer-mtls-refusal-code] refuses a trust store id that names no trust store, on create and on update, changing nothing", async () => {
    const missing = "ts-0000000000000000";
    await expect(
      cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: withViewerMtls(required(missing)) }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument", message: expect.stringContaining(missing) });

    const { id } = await create(withViewerMtls(undefined));
    const { config, etag } = await readConfig(id);
    await expect(
      cloudfront.send(
        new UpdateDistributionCommand({
          Id: id,
          IfMatch: etag,
          DistributionConfig: { ...config, ViewerMtlsConfig: required(missing) },
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
    const after = await readConfig(id);
    expect(after.etag).toBe(etag);
    expect(after.config.ViewerMtlsConfig).toBeUndefined();
  });

  it(`[cloudfront.viewer-mtls-25-per-trust-store] [cloudfront.viewer-mtls-refusal-code] lets a trust store serve ${MAX_DISTRIBUTIONS_PER_TRUST_STORE} distributions and refuses the next, create or update`, async () => {
    const store = await createTrustStore("quota");
    const ids: string[] = [];
    for (let i = 0; i < MAX_DISTRIBUTIONS_PER_TRUST_STORE; i++) {
      ids.push((await create(withViewerMtls(required(store.id)))).id);
    }
    const before = s.cloudfront.ids().length;
    await expect(
      cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: withViewerMtls(required(store.id)) }),
      ),
    ).rejects.toMatchObject({
      name: "InvalidArgument",
      message: expect.stringContaining(`already serves ${MAX_DISTRIBUTIONS_PER_TRUST_STORE} distributions`),
    });
    expect(s.cloudfront.ids()).toHaveLength(before);

    // A distribution on another trust store cannot move to the full one...
    const other = await create(withViewerMtls(required(otherTrustStoreId)));
    const moving = await readConfig(other.id);
    await expect(
      cloudfront.send(
        new UpdateDistributionCommand({
          Id: other.id,
          IfMatch: moving.etag,
          DistributionConfig: { ...moving.config, ViewerMtlsConfig: required(store.id) },
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument" });
    expect((await readConfig(other.id)).config.ViewerMtlsConfig).toEqual(required(otherTrustStoreId));

    // ...while one of the 25 is not counted twice when it is updated.
    const member = await readConfig(ids[0]!);
    await cloudfront.send(
      new UpdateDistributionCommand({
        Id: ids[0],
        IfMatch: member.etag,
        DistributionConfig: { ...member.config, Comment: "still on the full trust store" },
      }),
    );
  });
});

describe("ListDistributionsByTrustStore", () => {
  let store: { id: string; arn: string };
  const onStore: string[] = [];

  beforeAll(async () => {
    store = await createTrustStore("listing");
    for (let i = 0; i < 5; i++) onStore.push((await create(withViewerMtls(required(store.id)))).id);
    // Others: on another trust store, passthrough, no viewer mTLS.
    await create(withViewerMtls(required(otherTrustStoreId)));
    await create(withViewerMtls({ Mode: "passthrough" }));
    await create(withViewerMtls(undefined));
    onStore.sort();
  });

  it("[cloudfront.list-by-trust-store] pages through exactly the distributions whose config names the trust store, by id or ARN", async () => {
    const first = await cloudfront.send(
      new ListDistributionsByTrustStoreCommand({ TrustStoreIdentifier: store.id, MaxItems: 2 }),
    );
    expect(first.DistributionList).toMatchObject({
      Marker: "",
      MaxItems: 2,
      IsTruncated: true,
      Quantity: 2,
      NextMarker: onStore[1],
    });
    expect(first.DistributionList?.Items?.map((d) => d.Id)).toEqual(onStore.slice(0, 2));

    const pages = paginateListDistributionsByTrustStore(
      { client: cloudfront, pageSize: 2 },
      { TrustStoreIdentifier: store.arn },
    );
    const seen: string[] = [];
    for await (const page of pages) seen.push(...(page.DistributionList?.Items ?? []).map((d) => d.Id!));
    expect(seen).toEqual(onStore);
  });

  it("[cloudfront.list-by-trust-store] answers a trust store that serves no distribution with an empty list", async () => {
    const idle = await createTrustStore("idle");
    const out = await cloudfront.send(
      new ListDistributionsByTrustStoreCommand({ TrustStoreIdentifier: idle.id }),
    );
    expect(out.DistributionList).toMatchObject({ Quantity: 0, IsTruncated: false, MaxItems: 100 });
    expect(out.DistributionList?.Items ?? []).toEqual([]);
  });

  it("[cloudfront.list-by-trust-store-unknown] answers an unknown trust store with 404 EntityNotFound", async () => {
    const error = await cloudfront
      .send(new ListDistributionsByTrustStoreCommand({ TrustStoreIdentifier: "ts-ffffffffffffffff" }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntityNotFound);
    expect((error as EntityNotFound).$metadata.httpStatusCode).toBe(404);
  });

  it("[cloudfront.list-page-size] refuses a MaxItems outside 1..100 as InvalidArgument", async () => {
    await expect(
      cloudfront.send(
        new ListDistributionsByTrustStoreCommand({ TrustStoreIdentifier: store.id, MaxItems: 101 }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument" });
  });
});

describe("the edge's view of viewer mTLS", () => {
  it("[cloudfront.edge-serves-last-deployed] keeps the deployed viewer-mTLS mode while a change is InProgress", async () => {
    const { id } = await create(withViewerMtls(required()));
    expect(s.cloudfront.viewerAccessOf(id)).toBeUndefined();
    settle();
    expect(s.cloudfront.viewerAccessOf(id)).toEqual({
      viewerMtls: {
        mode: "required",
        trustStoreId,
        advertiseTrustStoreCaNames: true,
        ignoreCertificateExpiry: false,
      },
      targetOriginId: "origin-1",
      originRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    });

    const { config, etag } = await readConfig(id);
    await cloudfront.send(
      new UpdateDistributionCommand({
        Id: id,
        IfMatch: etag,
        DistributionConfig: { ...config, ViewerMtlsConfig: { Mode: "passthrough" } },
      }),
    );
    expect(s.cloudfront.viewerAccessOf(id)?.viewerMtls?.mode).toBe("required");
    settle();
    expect(s.cloudfront.viewerAccessOf(id)?.viewerMtls).toMatchObject({
      mode: "passthrough",
      trustStoreId: undefined,
    });
  });
});
