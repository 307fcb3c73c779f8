/**
 * The CloudFront stand-in, driven by the real `@aws-sdk/client-cloudfront` over loopback HTTP: every rule the
 * rotation service relies on (ETag/If-Match, full-config round trip, InProgress -> Deployed, origin-mTLS
 * limits and certificate checks) is proved here through the SDK's own serialization and error parsing.
 */
import {
  CloudFrontClient,
  CreateDistributionCommand,
  type DistributionConfig,
  GetDistributionCommand,
  GetDistributionConfigCommand,
  ListDistributionsCommand,
  NoSuchDistribution,
  PreconditionFailed,
  paginateListDistributions,
  UpdateDistributionCommand,
  waitUntilDistributionDeployed,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateFacts,
  CloudFrontStandin,
  type CloudFrontStandinOptions,
} from "../../standins/cloudfront.ts";
import { StandinServer } from "../../standins/server.ts";
import {
  buildDistributionConfig,
  certificateArn,
  originCertificatesOf,
  originId,
  withOriginCertificate,
} from "../support/distribution-config.ts";
import { refusedByModel } from "../support/model-checks.ts";

// ---- a small in-memory certificate directory ---------------------------------------------------------------

const usable: CertificateFacts = {
  region: "us-east-1",
  keyAlgorithm: "RSA_2048",
  extendedKeyUsages: ["TLS_WEB_CLIENT_AUTHENTICATION"],
};
const certificates = new Map<string, CertificateFacts>();
const directory = { describe: (arn: string) => certificates.get(arn) };

/** Registers a certificate (usable for origin mTLS unless `facts` says otherwise) and returns its ARN. */
function certificate(label: string, facts: Partial<CertificateFacts> = {}): string {
  const arn = certificateArn(label, facts.region);
  certificates.set(arn, { ...usable, ...facts });
  return arn;
}

const current = Array.from({ length: 8 }, (_, i) => certificate(`current-${i + 1}`));
const next = Array.from({ length: 8 }, (_, i) =>
  certificate(`next-${i + 1}`, { keyAlgorithm: "EC_prime256v1" }),
);

// ---- harness: one stand-in + server + real SDK client per group of tests -------------------------------

interface Harness {
  standin: CloudFrontStandin;
  server: StandinServer;
  client: CloudFrontClient;
}

const servers: StandinServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function startHarness(options: CloudFrontStandinOptions = {}): Promise<Harness> {
  const standin = new CloudFrontStandin({ certificates: directory, ...options });
  const server = new StandinServer([standin]);
  servers.push(server);
  const endpoint = await server.listen();
  const client = new CloudFrontClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "secret" },
  });
  return { standin, server, client };
}

async function create(h: Harness, config: DistributionConfig) {
  const out = await h.client.send(new CreateDistributionCommand({ DistributionConfig: config }));
  const id = out.Distribution?.Id;
  if (!id || !out.ETag) throw new Error("CreateDistribution answered without Id or ETag");
  return { id, etag: out.ETag, output: out };
}

async function readConfig(h: Harness, id: string) {
  const out = await h.client.send(new GetDistributionConfigCommand({ Id: id }));
  if (!out.DistributionConfig || !out.ETag)
    throw new Error("GetDistributionConfig answered without config or ETag");
  return { config: out.DistributionConfig, etag: out.ETag };
}

function update(h: Harness, id: string, config: DistributionConfig, ifMatch: string | undefined) {
  return h.client.send(
    new UpdateDistributionCommand({ Id: id, DistributionConfig: config, IfMatch: ifMatch }),
  );
}

// ---- the rules -------------------------------------------------------------------------------------------

describe("CloudFront stand-in", () => {
  let clock = Date.UTC(2026, 10, 1);
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ deployDelayMs: 60_000, now: () => clock });
  });

  it("creates a distribution the way CloudFront answers it", async () => {
    const config = buildDistributionConfig({ origins: 2, mtlsArns: [current[0]] });
    const { id, etag, output } = await create(h, config);

    expect(id).toMatch(/^E[A-Z0-9]{13}$/);
    expect(etag).toMatch(/^E[A-Z0-9]{13}$/);
    expect(output.Location).toBe(`https://cloudfront.amazonaws.com/2020-05-31/distribution/${id}`);
    expect(output.$metadata.httpStatusCode).toBe(201);
    expect(output.Distribution).toMatchObject({
      Id: id,
      ARN: `arn:aws:cloudfront::111122223333:distribution/${id}`,
      DomainName: `${id.toLowerCase()}.cloudfront.net`,
      Status: "InProgress",
      InProgressInvalidationBatches: 0,
      LastModifiedTime: new Date(clock),
    });
    expect(output.Distribution?.DistributionConfig).toEqual(config);

    const got = await h.client.send(new GetDistributionCommand({ Id: id }));
    expect(got.ETag).toBe(etag);
    expect(got.Distribution?.DistributionConfig).toEqual(config);
  });

  describe("full-config round trip", () => {
    it("[cloudfront.update-replaces-whole-config] returns exactly what was written after swapping one origin's certificate", async () => {
      const original = buildDistributionConfig({ origins: 3, mtlsArns: [current[0], current[1]] });
      const { id, etag } = await create(h, original);

      const read = await readConfig(h, id);
      expect(read.etag).toBe(etag);
      expect(read.config).toStrictEqual(original);

      const expected = withOriginCertificate(read.config, originId(1), next[1]);
      const updated = await update(h, id, expected, read.etag);
      expect(updated.ETag).not.toBe(etag);

      const reread = await readConfig(h, id);
      expect(reread.etag).toBe(updated.ETag);
      // Deep equality of the whole config: only origin-2's certificate moved.
      expect(reread.config).toStrictEqual(expected);
      expect(originCertificatesOf(reread.config)).toEqual({
        [originId(0)]: current[0],
        [originId(1)]: next[1],
        [originId(2)]: undefined,
      });
      expect(h.standin.originCertificates(id)).toEqual(originCertificatesOf(expected));
    });

    it("[cloudfront.update-replaces-whole-config] keeps elements it does not interpret, formatting and comments, byte for byte", async () => {
      // Sent without the SDK, to smuggle in formatting, a comment and a member the stand-in never interprets
      // (CacheTagConfig: defined by AWS's model, not set by the fixture, not read by the stand-in).
      const sdkXml = h.standin.configXml((await create(h, buildDistributionConfig())).id);
      const exotic = sdkXml
        .replace(/<CallerReference>[^<]*<\/CallerReference>/, "<CallerReference>exotic-1</CallerReference>")
        .replace(
          "<Comment>",
          "\n  <!-- kept -->\n  <CacheTagConfig>\n    <HeaderName>x-cache-tags</HeaderName>\n  </CacheTagConfig>\n  <Comment>",
        );
      const created = await fetch(`${h.server.endpoint}/2020-05-31/distribution`, {
        method: "POST",
        headers: { "content-type": "application/xml" },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n${exotic}`,
      });
      expect(created.status).toBe(201);
      const id = /<Id>([^<]+)<\/Id>/.exec(await created.text())?.[1] ?? "";

      expect(h.standin.configXml(id)).toBe(exotic);
      const served = await fetch(`${h.server.endpoint}/2020-05-31/distribution/${id}/config`);
      expect(await served.text()).toBe(`<?xml version="1.0" encoding="UTF-8"?>${exotic}`);

      // The SDK reads it and writes it back in its own formatting; the stand-in stores the new text, whole.
      const read = await readConfig(h, id);
      expect(read.config.CacheTagConfig).toEqual({ HeaderName: "x-cache-tags" });
      await update(h, id, withOriginCertificate(read.config, originId(0), current[2]), read.etag);
      expect(h.standin.configXml(id)).not.toContain("<!-- kept -->");
      expect(h.standin.configXml(id)).toContain("<CacheTagConfig><HeaderName>x-cache-tags</HeaderName>");
      expect(h.standin.originCertificates(id)[originId(0)]).toBe(current[2]);
    });

    it("refuses an element AWS's model does not define: the model check answers 400 InvalidArgument first, creating nothing", async () => {
      // Before the model checks, the stand-in stored such an element verbatim; AWS's model (botocore
      // cloudfront 2020-05-31, DistributionConfig) defines no <FutureFeature>, so the request never reaches it.
      const sdkXml = h.standin.configXml((await create(h, buildDistributionConfig())).id);
      const before = h.standin.ids();
      const exotic = sdkXml
        .replace(/<CallerReference>[^<]*<\/CallerReference>/, "<CallerReference>exotic-2</CallerReference>")
        .replace("<Comment>", "<FutureFeature><Mode>on</Mode><Weight>7</Weight></FutureFeature><Comment>");
      const { error } = await refusedByModel(async () => {
        const answer = await fetch(`${h.server.endpoint}/2020-05-31/distribution`, {
          method: "POST",
          headers: { "content-type": "application/xml" },
          body: `<?xml version="1.0" encoding="UTF-8"?>\n${exotic}`,
        });
        if (!answer.ok)
          throw Object.assign(new Error(await answer.text()), {
            $metadata: { httpStatusCode: answer.status },
          });
      });
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toContain("<Code>InvalidArgument</Code>");
      expect(error.message).toContain(
        "Value &apos;&apos; at &apos;distributionConfig.futureFeature&apos; failed to satisfy constraint: Member is not defined by the model",
      );
      expect(h.standin.ids()).toEqual(before);
    });

    // These members are required by AWS's model (DistributionConfig), so the model check refuses the update
    // before the stand-in sees it, as CloudFront answers a missing parameter: 400 InvalidArgument naming the
    // member. (The stand-in's own check answered MalformedInput; it is no longer reached.)
    it.each(["CallerReference", "Origins", "DefaultCacheBehavior", "Comment", "Enabled"] as const)(
      "rejects an update without %s: AWS's model refuses it first as InvalidArgument (was the stand-in's MalformedInput)",
      async (member) => {
        const { id } = await create(h, buildDistributionConfig());
        const read = await readConfig(h, id);
        const xmlBefore = h.standin.configXml(id);
        const partial: DistributionConfig = { ...read.config };
        delete partial[member];

        const { error } = await refusedByModel(() => update(h, id, partial, read.etag));
        const wireName = `${member[0]?.toLowerCase()}${member.slice(1)}`;
        expect(error).toMatchObject({
          name: "InvalidArgument",
          message: `1 validation error detected: Value null at 'distributionConfig.${wireName}' failed to satisfy constraint: Member must not be null`,
          $metadata: { httpStatusCode: 400 },
        });
        expect((await readConfig(h, id)).etag).toBe(read.etag);
        expect(h.standin.configXml(id)).toBe(xmlBefore);
      },
    );

    it("[cloudfront.caller-reference-immutable] rejects a changed CallerReference as IllegalUpdate", async () => {
      const { id } = await create(h, buildDistributionConfig());
      const read = await readConfig(h, id);
      await expect(
        update(h, id, { ...read.config, CallerReference: "someone-else" }, read.etag),
      ).rejects.toMatchObject({ name: "IllegalUpdate", $metadata: { httpStatusCode: 400 } });
    });

    it("[cloudfront.quantity-matches-items] rejects an Origins list whose Quantity disagrees with its Items", async () => {
      const { id } = await create(h, buildDistributionConfig({ origins: 2 }));
      const read = await readConfig(h, id);
      const config = structuredClone(read.config);
      config.Origins = { Quantity: 3, Items: config.Origins?.Items };
      await expect(update(h, id, config, read.etag)).rejects.toMatchObject({
        name: "InconsistentQuantities",
      });
    });

    it("[cloudfront.caller-reference-unique] refuses a repeated CallerReference with 409 DistributionAlreadyExists, same config or not", async () => {
      const config = buildDistributionConfig();
      await create(h, config);
      const before = h.standin.ids().length;
      for (const repeated of [config, { ...config, Comment: "different" }]) {
        await expect(create(h, repeated)).rejects.toMatchObject({
          name: "DistributionAlreadyExists",
          $metadata: { httpStatusCode: 409 },
        });
      }
      expect(h.standin.ids().length).toBe(before);
    });
  });

  describe("ETag and If-Match", () => {
    it("[cloudfront.update-if-match-required] [cloudfront.update-if-match] [cloudfront.etag-per-write] requires If-Match, refuses a stale ETag with 412, and issues a new ETag per update", async () => {
      const { id, etag: created } = await create(h, buildDistributionConfig({ mtlsArns: [current[0]] }));
      const read = await readConfig(h, id);

      await expect(update(h, id, read.config, undefined)).rejects.toMatchObject({
        name: "InvalidIfMatchVersion",
        $metadata: { httpStatusCode: 400 },
      });

      const first = await update(h, id, read.config, read.etag);
      const second = await update(h, id, read.config, first.ETag);
      expect(new Set([created, first.ETag, second.ETag]).size).toBe(3);

      const stale = update(h, id, withOriginCertificate(read.config, originId(0), next[0]), first.ETag);
      await expect(stale).rejects.toBeInstanceOf(PreconditionFailed);
      await expect(stale).rejects.toMatchObject({
        name: "PreconditionFailed",
        $metadata: { httpStatusCode: 412 },
      });
      expect(h.standin.originCertificates(id)[originId(0)]).toBe(current[0]);
      expect(h.standin.etag(id)).toBe(second.ETag);
    });
  });

  describe("deployment status", () => {
    it("[cloudfront.deploy-in-progress-then-deployed] is InProgress after a write and Deployed once deployDelayMs has passed", async () => {
      const { id, output } = await create(h, buildDistributionConfig());
      const status = async () =>
        (await h.client.send(new GetDistributionCommand({ Id: id }))).Distribution?.Status;

      expect(output.Distribution?.Status).toBe("InProgress");
      expect(await status()).toBe("InProgress");
      clock += 59_999;
      expect(await status()).toBe("InProgress");
      clock += 1;
      expect(await status()).toBe("Deployed");
      expect(h.standin.status(id)).toBe("Deployed");

      const read = await readConfig(h, id);
      const updated = await update(h, id, read.config, read.etag);
      expect(updated.Distribution?.Status).toBe("InProgress");
      expect(h.standin.status(id)).toBe("InProgress");
      clock += 60_000;
      expect(h.standin.status(id)).toBe("Deployed");
    });

    it("lets waitUntilDistributionDeployed poll until the distribution deploys", async () => {
      const { id } = await create(h, buildDistributionConfig());
      const polls = () => h.server.count("cloudfront", "GetDistribution");
      const before = polls();
      const waiting = waitUntilDistributionDeployed(
        { client: h.client, minDelay: 0.01, maxDelay: 0.02, maxWaitTime: 10 },
        { Id: id },
      );
      await expect.poll(polls, { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 3);
      expect(h.standin.status(id)).toBe("InProgress");

      clock += 60_000;
      const result = await waiting;
      expect(result.state).toBe("SUCCESS");
    });

    it("is Deployed on the next read by default", async () => {
      const quick = await startHarness();
      const { id, output } = await create(quick, buildDistributionConfig());
      expect(output.Distribution?.Status).toBe("InProgress");
      const got = await quick.client.send(new GetDistributionCommand({ Id: id }));
      expect(got.Distribution?.Status).toBe("Deployed");
      await expect(
        waitUntilDistributionDeployed({ client: quick.client, minDelay: 0.01, maxWaitTime: 5 }, { Id: id }),
      ).resolves.toMatchObject({ state: "SUCCESS" });
    });
  });

  describe("origin mTLS", () => {
    it("[cloudfront.mtls-5-arns-per-update] allows at most 5 distinct certificate ARNs on create", async () => {
      const before = h.standin.ids().length;
      await expect(
        create(h, buildDistributionConfig({ origins: 6, mtlsArns: current.slice(0, 6) })),
      ).rejects.toMatchObject({
        name: "InvalidArgument",
        message: expect.stringMatching(/at most 5 distinct origin mTLS client certificates.*changes 6/),
      });
      expect(h.standin.ids().length).toBe(before);

      // Six origins but five distinct ARNs: allowed.
      const shared = [...current.slice(0, 5), current[4]];
      const { id } = await create(h, buildDistributionConfig({ origins: 6, mtlsArns: shared }));
      expect(Object.values(h.standin.originCertificates(id))).toEqual(shared);
    });

    it("[cloudfront.mtls-5-arns-per-update] counts only ARNs added or changed against the stored config on update", async () => {
      const { id } = await create(h, buildDistributionConfig({ origins: 7, mtlsArns: current.slice(0, 5) }));

      // Five unchanged + one added = six distinct ARNs in the config, but only one changes: allowed.
      let read = await readConfig(h, id);
      await update(h, id, withOriginCertificate(read.config, originId(5), current[5]), read.etag);

      // Changing all six to six new ARNs: refused.
      read = await readConfig(h, id);
      let all = read.config;
      for (let i = 0; i < 6; i++) all = withOriginCertificate(all, originId(i), next[i]);
      await expect(update(h, id, all, read.etag)).rejects.toMatchObject({
        name: "InvalidArgument",
        message: expect.stringContaining("at most 5"),
      });
      expect(h.standin.originCertificates(id)[originId(0)]).toBe(current[0]);

      // Changing six origins to five distinct new ARNs, plus adding one more origin with one of them: allowed.
      all = read.config;
      for (let i = 0; i < 7; i++) all = withOriginCertificate(all, originId(i), next[Math.min(i, 4)]);
      await update(h, id, all, read.etag);
      expect(h.standin.originCertificates(id)).toEqual(originCertificatesOf(all));
    });

    it.each([
      ["unknown to ACM", certificateArn("never-imported"), /does not exist in ACM/],
      ["in another region", certificate("eu-1", { region: "eu-west-1" }), /is in eu-west-1.*us-east-1/],
      [
        "with an RSA-4096 key",
        certificate("rsa-4096", { keyAlgorithm: "RSA_4096" }),
        /key algorithm RSA_4096/,
      ],
      [
        "without the clientAuth EKU",
        certificate("server-only", { extendedKeyUsages: ["TLS_WEB_SERVER_AUTHENTICATION"] }),
        /lacks the TLS_WEB_CLIENT_AUTHENTICATION/,
      ],
    ])(
      "[cloudfront.mtls-certificate-in-acm] [cloudfront.mtls-certificate-us-east-1] [cloudfront.mtls-key-types] [cloudfront.mtls-client-auth-eku] [cloudfront.mtls-refusal-code] refuses a certificate %s on create and update",
      async (_why, arn, message) => {
        const before = h.standin.ids().length;
        await expect(create(h, buildDistributionConfig({ mtlsArns: [arn] }))).rejects.toMatchObject({
          name: "InvalidArgument",
          message: expect.stringMatching(message),
          $metadata: { httpStatusCode: 400 },
        });
        expect(h.standin.ids().length).toBe(before);

        const { id } = await create(h, buildDistributionConfig({ mtlsArns: [current[0]] }));
        const read = await readConfig(h, id);
        await expect(
          update(h, id, withOriginCertificate(read.config, originId(1), arn), read.etag),
        ).rejects.toMatchObject({ name: "InvalidArgument", message: expect.stringMatching(message) });
        expect(h.standin.distributionsReferencing(arn)).toEqual([]);
      },
    );

    it("[cloudfront.mtls-revalidates-whole-config] checks every origin-mTLS ARN of an update again, unchanged ones included", async () => {
      const fading = certificate("fading");
      const { id } = await create(h, buildDistributionConfig({ origins: 2, mtlsArns: [fading] }));
      // The certificate the first origin keeps is no longer usable (say, deleted from ACM).
      certificates.delete(fading);
      const read = await readConfig(h, id);
      await expect(
        update(h, id, withOriginCertificate(read.config, originId(1), current[0]), read.etag),
      ).rejects.toMatchObject({
        name: "InvalidArgument",
        message: expect.stringMatching(/does not exist in ACM/),
      });
      expect(h.standin.originCertificates(id)[originId(1)]).toBeUndefined();
    });

    it("tells other stand-ins which distributions reference a certificate", async () => {
      const shared = certificate("shared");
      const replacement = certificate("replacement");
      const a = await create(h, buildDistributionConfig({ mtlsArns: [shared] }));
      const b = await create(h, buildDistributionConfig({ mtlsArns: [undefined, shared] }));
      expect(h.standin.distributionsReferencing(shared).sort()).toEqual([a.id, b.id].sort());

      const read = await readConfig(h, a.id);
      await update(h, a.id, withOriginCertificate(read.config, originId(0), replacement), read.etag);
      expect(h.standin.distributionsReferencing(shared)).toEqual([b.id]);
      expect(h.standin.distributionsReferencing(replacement)).toContain(a.id);
      expect(h.standin.configXml(a.id)).toContain(
        `<ClientCertificateArn>${replacement}</ClientCertificateArn>`,
      );
      expect(h.standin.configXml(a.id)).not.toContain(shared);
    });
  });

  describe("unknown distributions", () => {
    it("[cloudfront.no-such-distribution] answers 404 NoSuchDistribution", async () => {
      const id = "ENOSUCHDIST000";
      const config = buildDistributionConfig();
      for (const call of [
        h.client.send(new GetDistributionCommand({ Id: id })),
        h.client.send(new GetDistributionConfigCommand({ Id: id })),
        update(h, id, config, "E0000000000000"),
      ]) {
        await expect(call).rejects.toBeInstanceOf(NoSuchDistribution);
        await expect(call).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      }
      expect(() => h.standin.status(id)).toThrow(/does not exist/);
    });
  });

  describe("faults", () => {
    it("[cloudfront.throttling] has a throttled UpdateDistribution retried by the SDK, landing exactly once", async () => {
      const { id } = await create(h, buildDistributionConfig({ mtlsArns: [current[0]] }));
      const read = await readConfig(h, id);
      const calls = () => h.server.calls.filter((c) => c.operation === "UpdateDistribution");
      const before = calls().length;

      h.server.faults.inject({ service: "cloudfront", operation: "UpdateDistribution", kind: "throttle" });
      const updated = await update(
        h,
        id,
        withOriginCertificate(read.config, originId(0), next[0]),
        read.etag,
      );

      expect(updated.$metadata.attempts).toBe(2);
      expect(
        calls()
          .slice(before)
          .map((c) => [c.status, c.error]),
      ).toEqual([
        [400, "Throttling"],
        [200, undefined],
      ]);
      expect(h.standin.etag(id)).toBe(updated.ETag);
      expect(h.standin.originCertificates(id)[originId(0)]).toBe(next[0]);
    });
  });
});

describe("edge view", () => {
  let clock = Date.UTC(2026, 10, 1);
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ deployDelayMs: 60_000, now: () => clock });
  });

  it("serves nothing until the first config deploys, then its origins with their certificates", async () => {
    const config = structuredClone(
      buildDistributionConfig({ origins: 3, mtlsArns: [current[0], current[1]] }),
    );
    const custom = config.Origins?.Items?.[1]?.CustomOriginConfig;
    if (custom) custom.HTTPSPort = 8443;
    const { id } = await create(h, config);

    expect(h.standin.originsOf(id)).toEqual([]);
    expect(h.standin.presentedCertificateArn(id, originId(0))).toBeUndefined();
    clock += 60_000;
    expect(h.standin.originsOf(id)).toEqual([
      {
        originId: originId(0),
        domainName: "origin-1.backend.example.com",
        httpsPort: 443,
        presentedArn: current[0],
      },
      {
        originId: originId(1),
        domainName: "origin-2.backend.example.com",
        httpsPort: 8443,
        presentedArn: current[1],
      },
      {
        originId: originId(2),
        domainName: "origin-3.backend.example.com",
        httpsPort: 443,
        presentedArn: undefined,
      },
    ]);
    expect(h.standin.presentedCertificateArn(id, originId(0))).toBe(current[0]);
    expect(h.standin.presentedCertificateArn(id, "no-such-origin")).toBeUndefined();
  });

  it("[cloudfront.edge-serves-last-deployed] keeps presenting the deployed certificate while a write, and a write on top of it, are InProgress", async () => {
    const { id } = await create(
      h,
      buildDistributionConfig({ origins: 2, mtlsArns: [current[0], current[1]] }),
    );
    clock += 60_000;

    let read = await readConfig(h, id);
    await update(h, id, withOriginCertificate(read.config, originId(0), next[0]), read.etag);
    expect(h.standin.status(id)).toBe("InProgress");
    expect(h.standin.originCertificates(id)[originId(0)]).toBe(next[0]);
    expect(h.standin.presentedCertificateArn(id, originId(0))).toBe(current[0]);

    // A second write 30 s later, before the first deployed: the edge still serves the original config.
    clock += 30_000;
    read = await readConfig(h, id);
    await update(h, id, withOriginCertificate(read.config, originId(1), next[1]), read.etag);
    clock += 30_000; // the first write would have deployed by now, but it has been superseded
    expect(h.standin.status(id)).toBe("InProgress");
    expect(h.standin.originsOf(id).map((o) => o.presentedArn)).toEqual([current[0], current[1]]);

    clock += 30_000;
    expect(h.standin.status(id)).toBe("Deployed");
    expect(h.standin.originsOf(id).map((o) => o.presentedArn)).toEqual([next[0], next[1]]);

    // A write after deployment: the now-deployed config stays live until that write deploys too.
    read = await readConfig(h, id);
    await update(h, id, withOriginCertificate(read.config, originId(0), current[0]), read.etag);
    expect(h.standin.presentedCertificateArn(id, originId(0))).toBe(next[0]);
    clock += 60_000;
    expect(h.standin.presentedCertificateArn(id, originId(0))).toBe(current[0]);
  });

  it("makes the newest config live at once when deployDelayMs is 0", async () => {
    const quick = await startHarness();
    const { id } = await create(quick, buildDistributionConfig({ mtlsArns: [current[0]] }));
    expect(quick.standin.presentedCertificateArn(id, originId(0))).toBe(current[0]);
    const read = await readConfig(quick, id);
    await update(quick, id, withOriginCertificate(read.config, originId(0), next[0]), read.etag);
    expect(quick.standin.presentedCertificateArn(id, originId(0))).toBe(next[0]);
    expect(quick.standin.originsOf(id)[0]?.presentedArn).toBe(next[0]);
  });

  it("throws NoSuchDistribution for an unknown distribution", () => {
    expect(() => h.standin.originsOf("ENOSUCHDIST000")).toThrow(/does not exist/);
    expect(() => h.standin.presentedCertificateArn("ENOSUCHDIST000", originId(0))).toThrow(/does not exist/);
  });
});

describe("ListDistributions", () => {
  let h: Harness;
  const created: Array<{ id: string; config: DistributionConfig }> = [];
  beforeAll(async () => {
    h = await startHarness();
    for (let i = 0; i < 7; i++) {
      const config = buildDistributionConfig({
        origins: 1 + (i % 3),
        mtlsArns: [current[i]],
        comment: `distribution ${i}`,
        enabled: i % 2 === 0,
      });
      created.push({ id: (await create(h, config)).id, config });
    }
  });

  it("[cloudfront.list-marker-paging] pages with Marker and MaxItems", async () => {
    const pages: Array<{ ids: string[]; truncated?: boolean; next?: string; marker?: string }> = [];
    let marker: string | undefined;
    do {
      const out = await h.client.send(new ListDistributionsCommand({ MaxItems: 3, Marker: marker }));
      const list = out.DistributionList;
      const ids = (list?.Items ?? []).map((s) => s.Id ?? "");
      expect(list?.Quantity).toBe(ids.length);
      expect(list?.MaxItems).toBe(3);
      pages.push({ ids, truncated: list?.IsTruncated, next: list?.NextMarker, marker: list?.Marker });
      marker = list?.NextMarker;
    } while (marker);

    expect(pages.map((p) => p.ids.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.truncated)).toEqual([true, true, false]);
    expect(pages[0]?.marker).toBe("");
    expect(pages[1]?.marker).toBe(pages[0]?.next);
    expect(pages[2]?.next).toBeUndefined();
    expect(pages.flatMap((p) => p.ids)).toEqual(created.map((c) => c.id).sort());
  });

  it("works with the SDK paginator", async () => {
    const ids: string[] = [];
    for await (const page of paginateListDistributions({ client: h.client, pageSize: 3 }, {})) {
      ids.push(...(page.DistributionList?.Items ?? []).map((s) => s.Id ?? ""));
    }
    expect(ids).toEqual(created.map((c) => c.id).sort());
  });

  it("summarizes each distribution with its origins copied verbatim", async () => {
    const out = await h.client.send(new ListDistributionsCommand({}));
    expect(out.DistributionList?.IsTruncated).toBe(false);
    for (const { id, config } of created) {
      const summary = out.DistributionList?.Items?.find((s) => s.Id === id);
      expect(summary).toMatchObject({
        Id: id,
        ARN: `arn:aws:cloudfront::111122223333:distribution/${id}`,
        ETag: h.standin.etag(id),
        Status: "Deployed",
        DomainName: `${id.toLowerCase()}.cloudfront.net`,
        Comment: config.Comment,
        Enabled: config.Enabled,
        Aliases: config.Aliases,
        DefaultCacheBehavior: config.DefaultCacheBehavior,
        CacheBehaviors: config.CacheBehaviors,
        CustomErrorResponses: config.CustomErrorResponses,
        PriceClass: config.PriceClass,
        ViewerCertificate: config.ViewerCertificate,
        Restrictions: config.Restrictions,
        WebACLId: config.WebACLId,
        HttpVersion: config.HttpVersion,
        IsIPV6Enabled: config.IsIPV6Enabled,
        Staging: false,
      });
      expect(summary?.LastModifiedTime).toBeInstanceOf(Date);
      expect(summary?.Origins).toStrictEqual(config.Origins);
    }
  });

  it("[cloudfront.list-page-size] pages 100 by default and rejects a MaxItems outside 1..100", async () => {
    const out = await h.client.send(new ListDistributionsCommand({}));
    expect(out.DistributionList?.MaxItems).toBe(100);
    expect(
      (await h.client.send(new ListDistributionsCommand({ MaxItems: 100 }))).DistributionList?.MaxItems,
    ).toBe(100);
    for (const MaxItems of [0, 101, 1000]) {
      await expect(h.client.send(new ListDistributionsCommand({ MaxItems }))).rejects.toMatchObject({
        name: "InvalidArgument",
      });
    }
  });
});
