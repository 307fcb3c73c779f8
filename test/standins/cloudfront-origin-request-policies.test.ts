/**
 * Origin request policies in the CloudFront stand-in, driven by the real `@aws-sdk/client-cloudfront`:
 * AWS's managed policies, create / get / update (ETag, If-Match) / list of custom ones, the distributions'
 * check that a cache behaviour names an existing policy, and which headers a policy lets reach the origin
 * (what a passthrough distribution's drift shows as).
 */
import {
  CloudFrontClient,
  CreateDistributionCommand,
  CreateOriginRequestPolicyCommand,
  GetOriginRequestPolicyCommand,
  GetOriginRequestPolicyConfigCommand,
  ListOriginRequestPoliciesCommand,
  NoSuchOriginRequestPolicy,
  type OriginRequestPolicyConfig,
  UpdateOriginRequestPolicyCommand,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudFrontStandin } from "../../standins/cloudfront.ts";
import {
  headersForOrigin,
  MANAGED_ORIGIN_REQUEST_POLICIES,
} from "../../standins/cloudfront-origin-request-policies.ts";
import { StandinServer } from "../../standins/server.ts";
import { buildDistributionConfig, clientCertOriginRequestPolicy } from "../support/distribution-config.ts";

const ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3";

let server: StandinServer;
let client: CloudFrontClient;
let clock = Date.UTC(2026, 10, 1);
let counter = 0;

beforeAll(async () => {
  server = new StandinServer([new CloudFrontStandin({ now: () => clock })]);
  const endpoint = await server.listen();
  client = new CloudFrontClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  await server?.close();
});

/** A policy forwarding the viewer's certificate headers (what a passthrough distribution needs). */
function clientCertPolicy(name = `client-cert-${++counter}`): OriginRequestPolicyConfig {
  return clientCertOriginRequestPolicy(name);
}

async function createPolicy(config = clientCertPolicy()) {
  const out = await client.send(new CreateOriginRequestPolicyCommand({ OriginRequestPolicyConfig: config }));
  return { id: out.OriginRequestPolicy!.Id!, etag: out.ETag!, out };
}

describe("managed policies", () => {
  it("[cloudfront.managed-origin-request-policies] lists AWS's managed policies with Type managed, AllViewer forwarding every viewer header", async () => {
    const out = await client.send(new ListOriginRequestPoliciesCommand({ Type: "managed" }));
    const items = out.OriginRequestPolicyList?.Items ?? [];
    expect(items.map((i) => i.OriginRequestPolicy?.Id).sort()).toEqual(
      MANAGED_ORIGIN_REQUEST_POLICIES.map((p) => p.id).sort(),
    );
    expect(items.every((i) => i.Type === "managed")).toBe(true);

    const allViewer = await client.send(new GetOriginRequestPolicyCommand({ Id: ALL_VIEWER }));
    expect(allViewer.OriginRequestPolicy?.OriginRequestPolicyConfig).toMatchObject({
      Name: "Managed-AllViewer",
      HeadersConfig: { HeaderBehavior: "allViewer" },
      CookiesConfig: { CookieBehavior: "all" },
      QueryStringsConfig: { QueryStringBehavior: "all" },
    });
    expect(allViewer.ETag).toMatch(/^E[A-Z0-9]{13}$/);
  });

  it("[cloudfront.origin-request-policy-managed-immutable] refuses to update a managed policy (400 IllegalUpdate)", async () => {
    const { ETag, OriginRequestPolicyConfig: config } = await client.send(
      new GetOriginRequestPolicyConfigCommand({ Id: ALL_VIEWER }),
    );
    await expect(
      client.send(
        new UpdateOriginRequestPolicyCommand({
          Id: ALL_VIEWER,
          IfMatch: ETag,
          OriginRequestPolicyConfig: { ...config!, Comment: "mine now" },
        }),
      ),
    ).rejects.toMatchObject({ name: "IllegalUpdate", $metadata: { httpStatusCode: 400 } });
  });
});

describe("custom policies", () => {
  it("creates a policy the way CloudFront answers it and serves its config back unchanged", async () => {
    const config = clientCertPolicy();
    const { id, etag, out } = await createPolicy(config);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(out.$metadata.httpStatusCode).toBe(201);
    expect(out.Location).toBe(`https://cloudfront.amazonaws.com/2020-05-31/origin-request-policy/${id}`);
    expect(out.OriginRequestPolicy?.LastModifiedTime).toEqual(new Date(clock));

    const got = await client.send(new GetOriginRequestPolicyConfigCommand({ Id: id }));
    expect(got.OriginRequestPolicyConfig).toEqual(config);
    expect(got.ETag).toBe(etag);
    const custom = await client.send(new ListOriginRequestPoliciesCommand({ Type: "custom" }));
    expect(
      custom.OriginRequestPolicyList?.Items?.map((i) => [i.Type, i.OriginRequestPolicy?.Id]),
    ).toContainEqual(["custom", id]);
  });

  it("[cloudfront.origin-request-policy-name-unique] refuses a second policy of a name in use, a managed one's included (409 OriginRequestPolicyAlreadyExists)", async () => {
    const { id } = await createPolicy(clientCertPolicy("taken"));
    for (const name of ["taken", "Managed-AllViewer"]) {
      await expect(createPolicy(clientCertPolicy(name))).rejects.toMatchObject({
        name: "OriginRequestPolicyAlreadyExists",
        $metadata: { httpStatusCode: 409 },
      });
    }
    // Renaming another policy to the name is refused too; keeping one's own name is not a clash.
    const other = await createPolicy();
    await expect(
      client.send(
        new UpdateOriginRequestPolicyCommand({
          Id: other.id,
          IfMatch: other.etag,
          OriginRequestPolicyConfig: clientCertPolicy("taken"),
        }),
      ),
    ).rejects.toMatchObject({ name: "OriginRequestPolicyAlreadyExists" });
    const own = await client.send(new GetOriginRequestPolicyConfigCommand({ Id: id }));
    await client.send(
      new UpdateOriginRequestPolicyCommand({
        Id: id,
        IfMatch: own.ETag,
        OriginRequestPolicyConfig: { ...own.OriginRequestPolicyConfig!, Comment: "same name" },
      }),
    );
  });

  it("[cloudfront.origin-request-policy-if-match] updates only with If-Match equal to the current ETag, issuing a new one", async () => {
    const { id, etag } = await createPolicy();
    const changed: OriginRequestPolicyConfig = {
      ...clientCertPolicy(),
      HeadersConfig: { HeaderBehavior: "allViewer" },
    };
    await expect(
      client.send(new UpdateOriginRequestPolicyCommand({ Id: id, OriginRequestPolicyConfig: changed })),
    ).rejects.toMatchObject({ name: "InvalidIfMatchVersion", $metadata: { httpStatusCode: 400 } });
    await expect(
      client.send(
        new UpdateOriginRequestPolicyCommand({
          Id: id,
          IfMatch: "E0000000000000",
          OriginRequestPolicyConfig: changed,
        }),
      ),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    expect((await client.send(new GetOriginRequestPolicyConfigCommand({ Id: id }))).ETag).toBe(etag);

    clock += 1_000;
    const updated = await client.send(
      new UpdateOriginRequestPolicyCommand({ Id: id, IfMatch: etag, OriginRequestPolicyConfig: changed }),
    );
    expect(updated.ETag).not.toBe(etag);
    expect(updated.OriginRequestPolicy?.LastModifiedTime).toEqual(new Date(clock));
    const got = await client.send(new GetOriginRequestPolicyConfigCommand({ Id: id }));
    expect(got.OriginRequestPolicyConfig).toEqual(changed);
    expect(got.ETag).toBe(updated.ETag);
  });

  it("[cloudfront.no-such-origin-request-policy] answers an unknown policy with 404 NoSuchOriginRequestPolicy", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const call of [
      () => client.send(new GetOriginRequestPolicyCommand({ Id: missing })),
      () => client.send(new GetOriginRequestPolicyConfigCommand({ Id: missing })),
      () =>
        client.send(
          new UpdateOriginRequestPolicyCommand({
            Id: missing,
            IfMatch: "E0000000000000",
            OriginRequestPolicyConfig: clientCertPolicy(),
          }),
        ),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoSuchOriginRequestPolicy);
    }
  });

  it("[cloudfront.quantity-matches-items] refuses a Headers list whose Quantity disagrees with its Items (400 InconsistentQuantities)", async () => {
    const config = clientCertPolicy();
    config.HeadersConfig!.Headers!.Quantity = 2;
    await expect(createPolicy(config)).rejects.toMatchObject({
      name: "InconsistentQuantities",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("[cloudfront.list-marker-paging] pages through managed and custom policies in id order with Marker and MaxItems", async () => {
    const all: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(new ListOriginRequestPoliciesCommand({ Marker: marker, MaxItems: 3 }));
      const list = out.OriginRequestPolicyList!;
      expect(list.MaxItems).toBe(3);
      expect(list.Quantity).toBe(list.Items?.length ?? 0);
      all.push(...(list.Items ?? []).map((i) => i.OriginRequestPolicy!.Id!));
      marker = list.NextMarker;
      pages += 1;
    } while (marker !== undefined);
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThan(MANAGED_ORIGIN_REQUEST_POLICIES.length);
    expect(pages).toBe(Math.ceil(all.length / 3));
  });
});

describe("cache behaviours and their origin request policies", () => {
  it("[cloudfront.cache-behaviour-policy-exists] refuses a cache behaviour naming no existing policy (404 NoSuchOriginRequestPolicy), and takes a custom one", async () => {
    const missing = "00000000-0000-4000-8000-00000000beef";
    const config = buildDistributionConfig({ origins: 1 });
    config.CacheBehaviors!.Items![0]!.OriginRequestPolicyId = missing;
    const error = await client
      .send(new CreateDistributionCommand({ DistributionConfig: config }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSuchOriginRequestPolicy);
    expect((error as Error).message).toContain(missing);

    const { id } = await createPolicy();
    config.CacheBehaviors!.Items![0]!.OriginRequestPolicyId = id;
    config.DefaultCacheBehavior!.OriginRequestPolicyId = ALL_VIEWER;
    const created = await client.send(new CreateDistributionCommand({ DistributionConfig: config }));
    expect(created.Distribution?.DistributionConfig?.CacheBehaviors?.Items?.[0]?.OriginRequestPolicyId).toBe(
      id,
    );
  });
});

describe("which headers reach the origin", () => {
  const viewer = { "user-agent": "curl/8", host: "d1.cloudfront.net", "x-request-id": "r-1" };
  const cloudFront = { "client-cert": ":AAAA:", "client-cert-chain": ":BBBB:" };
  const forward = (behavior: Parameters<typeof headersForOrigin>[0]) =>
    headersForOrigin(behavior, viewer, cloudFront);

  it("[cloudfront.origin-request-headers] forwards viewer headers by the policy's HeaderBehavior", () => {
    expect(forward({ behavior: "none", listed: ["user-agent"] })).toEqual({});
    expect(forward({ behavior: "whitelist", listed: ["user-agent"] })).toEqual({ "user-agent": "curl/8" });
    expect(forward({ behavior: "allViewer", listed: [] })).toEqual(viewer);
    expect(forward({ behavior: "allExcept", listed: ["host"] })).toEqual({
      "user-agent": "curl/8",
      "x-request-id": "r-1",
    });
    expect(forward(undefined)).toEqual({});
  });

  it("[cloudfront.passthrough-client-cert-listed] lets CloudFront's Client-Cert headers through only when the policy lists them", () => {
    expect(forward({ behavior: "allViewer", listed: [] })).not.toHaveProperty("client-cert");
    expect(forward({ behavior: "allExcept", listed: ["host"] })).not.toHaveProperty("client-cert");
    expect(forward({ behavior: "whitelist", listed: ["client-cert"] })).toEqual({ "client-cert": ":AAAA:" });
    expect(
      forward({ behavior: "allViewerAndWhitelistCloudFront", listed: ["client-cert", "client-cert-chain"] }),
    ).toEqual({ ...viewer, ...cloudFront });
  });
});
