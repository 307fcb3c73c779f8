/**
 * The CloudFront adapter against the stand-ins through the real `@aws-sdk/client-cloudfront`: inventory from
 * the listing alone, a swap that changes exactly one field, idempotence, concurrent writers (412), throttling,
 * a lost response, rollback to the byte, and waiting for deployment on an injected clock.
 */
import { type ACMClient, ImportCertificateCommand } from "@aws-sdk/client-acm";
import {
  type CloudFrontClient,
  CreateDistributionCommand,
  CreateOriginRequestPolicyCommand,
  type DistributionConfig,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
  type ViewerMtlsConfig,
} from "@aws-sdk/client-cloudfront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertOnlyCertificatesChanged,
  CloudFrontAdapter,
  DistributionChangedError,
  LIST_DISTRIBUTIONS_PAGE_SIZE,
  OriginNotFoundError,
  UnsafeUpdateError,
} from "../../functions/adapters/cloudfront.ts";
import { AdapterError } from "../../functions/adapters/errors.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
} from "../../standins/pki.ts";
import { ACCOUNT_ID } from "../../standins/protocol.ts";
import {
  buildDistributionConfig,
  certificateArn,
  clientCertOriginRequestPolicy,
  type DistributionConfigOptions,
  originCertificatesOf,
  originId,
  withOriginCertificate,
} from "../support/distribution-config.ts";
import { smallCa } from "../support/pki-fixtures.ts";
import { createTrustStore, UNLOADABLE_BUNDLE } from "../support/viewer-trust-stores.ts";

let issuing: CertificateAuthority;
const started: Standins[] = [];

beforeAll(async () => {
  const root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
  issuing = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

interface World {
  s: Standins;
  cloudfront: CloudFrontClient;
  acm: ACMClient;
}

async function world(options: Parameters<typeof startStandins>[0] = {}): Promise<World> {
  const s = await startStandins({ acmImportsPerSecond: 1000, ...options });
  started.push(s);
  const clients = s.clients();
  return { s, cloudfront: clients.cloudfront, acm: clients.acm };
}

/** Imports `count` fresh client certificates (P-256, clientAuth) into the ACM stand-in; returns their ARNs. */
async function importCertificates(w: World, count: number): Promise<string[]> {
  const arns: string[] = [];
  for (let i = 0; i < count; i++) {
    const c = await issueClientCredential(issuing, { subject: `CN=edge-${i}.acme.example, O=Acme` });
    const out = await w.acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(c.certificatePem),
        PrivateKey: Buffer.from(c.privateKeyPem),
        CertificateChain: Buffer.from(c.chainPem),
      }),
    );
    if (!out.CertificateArn) throw new Error("ImportCertificate answered without an ARN");
    arns.push(out.CertificateArn);
  }
  return arns;
}

async function createDistribution(w: World, options: DistributionConfigOptions) {
  const config = buildDistributionConfig(options);
  const out = await w.cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
  if (!out.Distribution?.Id) throw new Error("CreateDistribution answered without an Id");
  return { id: out.Distribution.Id, config };
}

async function readConfig(client: CloudFrontClient, id: string) {
  const out = await client.send(new GetDistributionConfigCommand({ Id: id }));
  if (!out.DistributionConfig || !out.ETag) throw new Error("no config");
  return { config: out.DistributionConfig, etag: out.ETag };
}

/** Another writer: changes the Comment (a field the rotation does not own) with a client of its own. */
async function competingCommentChange(client: CloudFrontClient, id: string, comment: string) {
  const { config, etag } = await readConfig(client, id);
  await client.send(
    new UpdateDistributionCommand({
      Id: id,
      DistributionConfig: { ...config, Comment: comment },
      IfMatch: etag,
    }),
  );
}

/** Runs `hook` after each successful GetDistributionConfig the client makes (between the adapter's read and write). */
function afterEachConfigRead(client: CloudFrontClient, hook: () => Promise<void>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === "GetDistributionConfigCommand") await hook();
      return result;
    },
    { step: "initialize", name: "competingWriter" },
  );
}

const noSleep = async () => {};

describe("inventory from ListDistributions", () => {
  let w: World;
  let adapter: CloudFrontAdapter;
  let old: string;
  let other: string;
  const created: Array<{ id: string; config: DistributionConfig }> = [];

  beforeAll(async () => {
    w = await world();
    adapter = new CloudFrontAdapter(w.cloudfront);
    [old, other] = (await importCertificates(w, 2)) as [string, string];
    const layouts: Array<Array<string | undefined>> = [
      [old],
      [undefined, old, old],
      [other],
      [],
      [other, old, undefined, old],
      [undefined, undefined, other],
      [old, other],
    ];
    for (const mtlsArns of layouts) {
      created.push(await createDistribution(w, { origins: Math.max(1, mtlsArns.length), mtlsArns }));
    }
  });

  /** What the stand-in holds, in the adapter's shape. */
  function expected(arn: string) {
    return w.s.cloudfront
      .ids()
      .map((distributionId) => ({
        distributionId,
        originIds: Object.entries(w.s.cloudfront.originCertificates(distributionId))
          .filter(([, a]) => a === arn)
          .map(([id]) => id),
      }))
      .filter((t) => t.originIds.length > 0);
  }

  it("finds every distribution and origin presenting an ARN over several pages, without per-distribution calls", async () => {
    const server = w.s.server;
    const count = (operation?: string) => server.count("cloudfront", operation);
    const before = {
      list: count("ListDistributions"),
      get: count("GetDistribution"),
      getConfig: count("GetDistributionConfig"),
      all: count(),
    };

    const targets = await adapter.findDistributionsPresenting(old, { pageSize: 2 });

    expect(targets).toEqual(expected(old));
    expect(targets.map((t) => t.originIds)).toEqual(
      expect.arrayContaining([[originId(0)], [originId(1), originId(2)], [originId(1), originId(3)]]),
    );
    expect(targets).toHaveLength(4);
    expect(count("ListDistributions") - before.list).toBe(4); // 7 distributions, 2 a page
    expect(count("GetDistribution") - before.get).toBe(0);
    expect(count("GetDistributionConfig") - before.getConfig).toBe(0);
    expect(count() - before.all).toBe(4);
  });

  it("answers no targets for an ARN nothing presents", async () => {
    expect(await adapter.findDistributionsPresenting(certificateArn("nobody-uses-this"))).toEqual([]);
  });

  it("indexes every certificate in one listing pass", async () => {
    const before = w.s.server.count("cloudfront");
    const index = await adapter.indexOriginCertificates({ pageSize: 3 });
    expect(w.s.server.count("cloudfront") - before).toBe(3);
    expect([...index.keys()].sort()).toEqual([old, other].sort());
    expect(index.get(old)).toEqual(expected(old));
    expect(index.get(other)).toEqual(expected(other));
  });

  it("lists 100 distributions a page by default, within CloudFront's documented page size", async () => {
    // 101 distributions: 2 pages at the default 100. Before, the default asked for 1,000 a page, which
    // CloudFront's API reference does not allow (the stand-in refuses MaxItems over 100).
    const big = await world();
    for (let i = 0; i < 101; i += 1) await createDistribution(big, { origins: 1 });
    const before = big.s.server.count("cloudfront", "ListDistributions");
    const index = await new CloudFrontAdapter(big.cloudfront).indexOriginCertificates();
    expect(big.s.server.count("cloudfront", "ListDistributions") - before).toBe(2);
    expect(LIST_DISTRIBUTIONS_PAGE_SIZE).toBe(100);
    expect(index.size).toBe(0);
  });

  it("reads origin endpoints for probes (with the client certificate each presents, if any), and names missing origins", async () => {
    const { id } = created[4]!;
    expect(await adapter.originEndpoints(id, [originId(3), originId(1), originId(2)])).toEqual([
      {
        originId: originId(3),
        domainName: "origin-4.backend.example.com",
        httpsPort: 443,
        originPath: "",
        clientCertificateArn: old,
      },
      {
        originId: originId(1),
        domainName: "origin-2.backend.example.com",
        httpsPort: 443,
        originPath: "",
        clientCertificateArn: old,
      },
      { originId: originId(2), domainName: "origin-3.backend.example.com", httpsPort: 443, originPath: "" },
    ]);
    const missing = adapter.originEndpoints(id, [originId(0), "origin-99"]);
    await expect(missing).rejects.toBeInstanceOf(OriginNotFoundError);
    await expect(missing).rejects.toThrow(/origin-99/);
  });
});

describe("swapOriginCertificate", () => {
  let w: World;
  let oldArn: string;
  let newArn: string;
  let otherArn: string;

  beforeAll(async () => {
    w = await world();
    [oldArn, newArn, otherArn] = (await importCertificates(w, 3)) as [string, string, string];
  });

  const updates = () => w.s.server.count("cloudfront", "UpdateDistribution");

  it("changes only the ARN of the origins presenting the old certificate, and rolls back to the byte", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id, config: original } = await createDistribution(w, {
      origins: 4,
      mtlsArns: [oldArn, otherArn, oldArn, undefined],
    });
    const originalXml = w.s.cloudfront.configXml(id);

    const result = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
    });

    expect(result).toEqual({
      distributionId: id,
      changedOriginIds: [originId(0), originId(2)],
      alreadySwapped: false,
      notPresenting: false,
      etag: w.s.cloudfront.etag(id),
    });
    const swapped = withOriginCertificate(
      withOriginCertificate(original, originId(0), newArn),
      originId(2),
      newArn,
    );
    expect((await readConfig(w.cloudfront, id)).config).toStrictEqual(swapped);
    expect(w.s.cloudfront.originCertificates(id)).toEqual({
      [originId(0)]: newArn,
      [originId(1)]: otherArn,
      [originId(2)]: newArn,
      [originId(3)]: undefined,
    });

    const back = await adapter.swapOriginCertificate({ distributionId: id, fromArn: newArn, toArn: oldArn });
    expect(back.changedOriginIds).toEqual([originId(0), originId(2)]);
    expect((await readConfig(w.cloudfront, id)).config).toStrictEqual(original);
    expect(w.s.cloudfront.configXml(id)).toBe(originalXml);
  });

  it("is idempotent: a repeated swap writes nothing and reports alreadySwapped", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id } = await createDistribution(w, { mtlsArns: [oldArn] });
    const first = await adapter.swapOriginCertificate({ distributionId: id, fromArn: oldArn, toArn: newArn });
    const writes = updates();

    const again = await adapter.swapOriginCertificate({ distributionId: id, fromArn: oldArn, toArn: newArn });

    expect(again).toEqual({
      distributionId: id,
      changedOriginIds: [],
      alreadySwapped: true,
      notPresenting: false,
      etag: first.etag,
    });
    expect(updates()).toBe(writes);
  });

  it("reports drift (notPresenting) without writing when neither ARN is presented", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id } = await createDistribution(w, { mtlsArns: [otherArn] });
    const writes = updates();
    const result = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
    });
    expect(result).toMatchObject({ changedOriginIds: [], alreadySwapped: false, notPresenting: true });
    expect(updates()).toBe(writes);
  });

  it("limits a swap (and so a rollback) to the origins named", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    // origin-3 presented the "new" ARN before this swap: a rollback of the swap must leave it there.
    const { id, config: original } = await createDistribution(w, {
      origins: 3,
      mtlsArns: [oldArn, oldArn, newArn],
    });
    const forward = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
      originIds: [originId(0)],
    });
    expect(forward.changedOriginIds).toEqual([originId(0)]);
    expect(Object.values(w.s.cloudfront.originCertificates(id))).toEqual([newArn, oldArn, newArn]);

    const back = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: newArn,
      toArn: oldArn,
      originIds: forward.changedOriginIds,
    });
    expect(back.changedOriginIds).toEqual([originId(0)]);
    expect((await readConfig(w.cloudfront, id)).config).toStrictEqual(original);
  });

  it("re-reads after a concurrent write (412) and keeps the other writer's change", async () => {
    const { id, config: original } = await createDistribution(w, { origins: 2, mtlsArns: [oldArn, oldArn] });
    const client = w.s.clients().cloudfront;
    const competitor = w.s.clients().cloudfront;
    let competed = false;
    afterEachConfigRead(client, async () => {
      if (competed) return;
      competed = true;
      await competingCommentChange(competitor, id, "changed by someone else");
    });
    const sleeps: number[] = [];
    const adapter = new CloudFrontAdapter(client, { sleep: async (ms) => void sleeps.push(ms) });
    const writes = updates();

    const result = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
    });

    expect(result.changedOriginIds).toEqual([originId(0), originId(1)]);
    const calls = w.s.server.calls.filter((c) => c.operation === "UpdateDistribution").slice(writes);
    expect(calls.map((c) => c.status)).toEqual([200, 412, 200]); // competitor, our stale write, our retry
    expect(sleeps).toHaveLength(1);
    let expected: DistributionConfig = { ...original, Comment: "changed by someone else" };
    for (const o of [0, 1]) expected = withOriginCertificate(expected, originId(o), newArn);
    expect((await readConfig(w.cloudfront, id)).config).toStrictEqual(expected);
  });

  it("gives up with DistributionChangedError when 412 persists past the retries", async () => {
    const { id } = await createDistribution(w, { mtlsArns: [oldArn] });
    const client = w.s.clients().cloudfront;
    const competitor = w.s.clients().cloudfront;
    let n = 0;
    afterEachConfigRead(client, () => competingCommentChange(competitor, id, `competing write ${++n}`));
    const sleeps: number[] = [];
    const adapter = new CloudFrontAdapter(client, {
      sleep: async (ms) => void sleeps.push(ms),
      preconditionBackoffMs: 100,
    });

    const error = await adapter
      .swapOriginCertificate({
        distributionId: id,
        fromArn: oldArn,
        toArn: newArn,
        maxPreconditionRetries: 2,
      })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DistributionChangedError);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      name: "DistributionChangedError",
      distributionId: id,
      attempts: 3,
      cause: { name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } },
    });
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
    expect(w.s.cloudfront.originCertificates(id)[originId(0)]).toBe(oldArn);
  });

  it("rides out throttling on UpdateDistribution (SDK retries), writing once", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id } = await createDistribution(w, { mtlsArns: [oldArn] });
    const writes = updates();
    w.s.server.faults.inject({
      service: "cloudfront",
      operation: "UpdateDistribution",
      kind: "throttle",
      times: 2,
    });

    const result = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
    });

    expect(result.changedOriginIds).toEqual([originId(0)]);
    const calls = w.s.server.calls.filter((c) => c.operation === "UpdateDistribution").slice(writes);
    expect(calls.map((c) => c.error ?? c.status)).toEqual(["Throttling", "Throttling", 200]);
    expect(w.s.cloudfront.originCertificates(id)[originId(0)]).toBe(newArn);
  });

  it("converges when its own write landed but the response was lost (SDK retry gets 412)", async () => {
    const { id } = await createDistribution(w, { mtlsArns: [oldArn] });
    const client = w.s.clients().cloudfront;
    let lost = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "UpdateDistributionCommand" && !lost) {
          lost = true;
          throw Object.assign(new Error("socket hang up after the write"), { name: "TimeoutError" });
        }
        return result;
      },
      { step: "deserialize", name: "loseOneResponse" }, // inside the SDK's retry loop
    );
    const adapter = new CloudFrontAdapter(client, { sleep: noSleep });
    const writes = updates();

    const result = await adapter.swapOriginCertificate({
      distributionId: id,
      fromArn: oldArn,
      toArn: newArn,
    });

    const calls = w.s.server.calls.filter((c) => c.operation === "UpdateDistribution").slice(writes);
    expect(calls.map((c) => c.status)).toEqual([200, 412]);
    expect(result).toMatchObject({
      alreadySwapped: true,
      notPresenting: false,
      etag: w.s.cloudfront.etag(id),
    });
    expect(w.s.cloudfront.originCertificates(id)[originId(0)]).toBe(newArn);
  });

  it("serializes concurrent swaps of one distribution in this process", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id } = await createDistribution(w, { origins: 2, mtlsArns: [oldArn, otherArn] });
    const writes = updates();
    const [a, b] = await Promise.all([
      adapter.swapOriginCertificate({ distributionId: id, fromArn: oldArn, toArn: newArn }),
      adapter.swapOriginCertificate({ distributionId: id, fromArn: otherArn, toArn: newArn }),
    ]);
    expect([a.changedOriginIds, b.changedOriginIds]).toEqual([[originId(0)], [originId(1)]]);
    const calls = w.s.server.calls.filter((c) => c.operation === "UpdateDistribution").slice(writes);
    expect(calls.map((c) => c.status)).toEqual([200, 200]); // no 412: the second waited for the first
  });

  it("passes CloudFront's own refusals through (a certificate ACM does not know)", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const { id } = await createDistribution(w, { mtlsArns: [oldArn] });
    await expect(
      adapter.swapOriginCertificate({
        distributionId: id,
        fromArn: oldArn,
        toArn: certificateArn("never-imported"),
      }),
    ).rejects.toMatchObject({ name: "InvalidArgument" });
    expect(w.s.cloudfront.originCertificates(id)[originId(0)]).toBe(oldArn);
  });

  it("refuses nonsense requests before calling CloudFront", async () => {
    const adapter = new CloudFrontAdapter(w.cloudfront);
    const before = w.s.server.count("cloudfront");
    await expect(
      adapter.swapOriginCertificate({ distributionId: "E1", fromArn: oldArn, toArn: oldArn }),
    ).rejects.toBeInstanceOf(AdapterError);
    await expect(
      adapter.swapOriginCertificate({
        distributionId: "E1",
        fromArn: oldArn,
        toArn: newArn,
        maxPreconditionRetries: -1,
      }),
    ).rejects.toBeInstanceOf(AdapterError);
    expect(w.s.server.count("cloudfront")).toBe(before);
  });
});

describe("assertOnlyCertificatesChanged", () => {
  const arns = Array.from({ length: 7 }, (_, i) => certificateArn(`cert-${i}`));
  const base = buildDistributionConfig({ origins: 7, mtlsArns: arns.slice(0, 6) });

  it("accepts up to 5 distinct changed ARNs, origins gaining a certificate included", () => {
    let after = base;
    for (let i = 0; i < 7; i++) after = withOriginCertificate(after, originId(i), arns[Math.min(i, 4) + 1]);
    expect(() => assertOnlyCertificatesChanged("E1", base, after)).not.toThrow();
  });

  it("refuses a 6th distinct changed ARN", () => {
    let after = base;
    for (let i = 0; i < 6; i++)
      after = withOriginCertificate(after, originId(i), certificateArn(`next-${i}`));
    expect(() => assertOnlyCertificatesChanged("E1", base, after)).toThrow(UnsafeUpdateError);
  });

  it("refuses any change besides origin-mTLS ARNs", () => {
    const moved = withOriginCertificate({ ...base, Comment: "sneaky" }, originId(0), arns[6]);
    expect(() => assertOnlyCertificatesChanged("E1", base, moved)).toThrow(/more than origin-mTLS/);
    const removed = withOriginCertificate(base, originId(0), undefined);
    expect(() => assertOnlyCertificatesChanged("E1", base, removed)).toThrow(UnsafeUpdateError);
    expect(originCertificatesOf(base)[originId(0)]).toBe(arns[0]);
  });
});

describe("deployment", () => {
  let clock = Date.now();
  let w: World;
  let adapter: CloudFrontAdapter;
  let oldArn: string;
  let newArn: string;

  beforeAll(async () => {
    w = await world({ deployDelayMs: 60_000, now: () => new Date(clock) });
    adapter = new CloudFrontAdapter(w.cloudfront);
    [oldArn, newArn] = (await importCertificates(w, 2)) as [string, string];
  });

  const fakeTime = () => {
    const sleeps: number[] = [];
    return {
      sleeps,
      now: () => clock,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock += ms;
      },
    };
  };

  it("reports status per distribution and waits until all have deployed", async () => {
    const a = await createDistribution(w, { mtlsArns: [oldArn] });
    const b = await createDistribution(w, { mtlsArns: [oldArn] });
    clock += 60_000;
    expect(await adapter.deploymentStatus([a.id, b.id])).toEqual({ [a.id]: "Deployed", [b.id]: "Deployed" });

    await adapter.swapOriginCertificate({ distributionId: a.id, fromArn: oldArn, toArn: newArn });
    clock += 25_000;
    await adapter.swapOriginCertificate({ distributionId: b.id, fromArn: oldArn, toArn: newArn });
    expect(await adapter.deploymentStatus([a.id, b.id])).toEqual({
      [a.id]: "InProgress",
      [b.id]: "InProgress",
    });
    // The edge keeps presenting the old certificate until the change deploys.
    expect(w.s.cloudfront.presentedCertificateArn(a.id, originId(0))).toBe(oldArn);

    const time = fakeTime();
    const polls = w.s.server.count("cloudfront", "GetDistribution");
    const pending = await adapter.waitUntilDeployed([a.id, b.id], {
      timeoutMs: 600_000,
      pollMs: 20_000,
      ...time,
    });

    expect(pending).toEqual([]);
    // Polls at t=0 and 20 s: both InProgress; 40 s: a has deployed (at 35 s); 60 s: b has deployed too.
    expect(time.sleeps).toEqual([20_000, 20_000, 20_000]);
    expect(w.s.server.count("cloudfront", "GetDistribution") - polls).toBe(2 + 2 + 2 + 1);
    expect(w.s.cloudfront.presentedCertificateArn(a.id, originId(0))).toBe(newArn);
    expect(w.s.cloudfront.presentedCertificateArn(b.id, originId(0))).toBe(newArn);
  });

  it("returns the distributions still InProgress at the deadline instead of throwing", async () => {
    const a = await createDistribution(w, { mtlsArns: [oldArn] });
    clock += 30_000;
    const b = await createDistribution(w, { mtlsArns: [oldArn] });

    const time = fakeTime();
    const pending = await adapter.waitUntilDeployed([a.id, b.id, a.id], {
      timeoutMs: 45_000,
      pollMs: 20_000,
      ...time,
    });

    expect(pending).toEqual([b.id]);
    expect(time.sleeps).toEqual([20_000, 20_000, 5_000]); // the last sleep stops at the deadline
    expect(w.s.cloudfront.status(b.id)).toBe("InProgress");
  });

  it("returns at once for nothing to wait on", async () => {
    const time = fakeTime();
    expect(await adapter.waitUntilDeployed([], time)).toEqual([]);
    expect(time.sleeps).toEqual([]);
  });
});

describe("viewer mTLS from the same listing, policies and trust stores", () => {
  const BUCKET = "viewer-bundles";
  const ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
  const HOST_HEADER_ONLY = "bf0718e1-ba1e-49d1-88b1-f726733018ae";
  let w: World;
  let adapter: CloudFrontAdapter;
  let goodStore: { id: string; arn: string };
  let badStore: { id: string; arn: string };
  let forwarding: string;
  const ids: Record<string, string> = {};

  const trustStore = (name: string, body: string) =>
    createTrustStore({ s3: w.s.clients().s3, cloudfront: w.cloudfront }, BUCKET, name, body);

  async function withViewerMtls(
    viewerMtls: ViewerMtlsConfig | undefined,
    edit?: (c: DistributionConfig) => void,
  ) {
    const config = buildDistributionConfig({ origins: 2 });
    if (viewerMtls) config.ViewerMtlsConfig = viewerMtls;
    edit?.(config);
    const out = await w.cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
    return out.Distribution!.Id!;
  }

  beforeAll(async () => {
    w = await world();
    adapter = new CloudFrontAdapter(w.cloudfront);
    w.s.s3.createBucket(BUCKET, { versioned: true });
    const ca = await smallCa("CN=Partners viewer CA");
    goodStore = await trustStore("partners", ca.certificatePem);
    badStore = await trustStore("broken", UNLOADABLE_BUNDLE);
    const policy = await w.cloudfront.send(
      new CreateOriginRequestPolicyCommand({
        OriginRequestPolicyConfig: clientCertOriginRequestPolicy("forward-viewer-certificate"),
      }),
    );
    forwarding = policy.OriginRequestPolicy!.Id!;
    const storeConfig = (id: string) => ({ TrustStoreId: id, AdvertiseTrustStoreCaNames: false });
    ids.none = await withViewerMtls(undefined);
    ids.required = await withViewerMtls({ Mode: "required", TrustStoreConfig: storeConfig(goodStore.id) });
    ids.optional = await withViewerMtls({ Mode: "optional", TrustStoreConfig: storeConfig(badStore.id) });
    ids.defaulted = await withViewerMtls({ TrustStoreConfig: storeConfig(goodStore.id) });
    ids.passthrough = await withViewerMtls({ Mode: "passthrough" }, (config) => {
      config.DefaultCacheBehavior!.OriginRequestPolicyId = forwarding;
      const api = config.CacheBehaviors!.Items![0]!;
      config.CacheBehaviors = {
        Quantity: 4,
        Items: [
          api,
          { ...api, PathPattern: "/static/*", OriginRequestPolicyId: HOST_HEADER_ONLY },
          { ...api, PathPattern: "/plain/*", OriginRequestPolicyId: "" },
          // Legacy cache settings: no cache or origin request policy, headers forwarded by ForwardedValues.
          {
            ...api,
            PathPattern: "/legacy/*",
            CachePolicyId: undefined,
            OriginRequestPolicyId: undefined,
            ForwardedValues: {
              QueryString: false,
              Cookies: { Forward: "none" },
              Headers: { Quantity: 2, Items: ["Client-Cert", "Client-Cert-Chain"] },
            },
            MinTTL: 0,
          },
        ],
      };
    });
  });

  it("reads every distribution's mode, trust store and passthrough behaviours in the one ListDistributions pass", async () => {
    const before = {
      list: w.s.server.count("cloudfront", "ListDistributions"),
      all: w.s.server.count("cloudfront"),
    };
    const { usage, viewerMtls } = await adapter.listFleet({ pageSize: 2 });
    expect(w.s.server.count("cloudfront", "ListDistributions") - before.list).toBe(3); // 5 distributions
    expect(w.s.server.count("cloudfront") - before.all).toBe(3);
    expect(usage.size).toBe(0);
    const byId = new Map(viewerMtls.map((d) => [d.distributionId, d]));
    expect(byId.size).toBe(5);
    expect(byId.get(ids.none!)).toEqual({
      distributionId: ids.none,
      arn: `arn:aws:cloudfront::${ACCOUNT_ID}:distribution/${ids.none}`,
      mode: "none",
    });
    expect(byId.get(ids.required!)).toMatchObject({ mode: "required", trustStoreId: goodStore.id });
    expect(byId.get(ids.required!)?.behaviours).toBeUndefined();
    expect(byId.get(ids.optional!)).toMatchObject({ mode: "optional", trustStoreId: badStore.id });
    // A ViewerMtlsConfig without Mode is required mode (docs/aws-behaviour.md cloudfront.viewer-mtls-default-required).
    expect(byId.get(ids.defaulted!)).toMatchObject({ mode: "required", trustStoreId: goodStore.id });
    expect(byId.get(ids.passthrough!)).toMatchObject({
      mode: "passthrough",
      behaviours: [
        { pathPattern: "*", default: true, originRequestPolicyId: forwarding },
        { pathPattern: "/api/*", default: false, originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST },
        { pathPattern: "/static/*", default: false, originRequestPolicyId: HOST_HEADER_ONLY },
        { pathPattern: "/plain/*", default: false },
        {
          pathPattern: "/legacy/*",
          default: false,
          legacyForwardedHeaders: ["client-cert", "client-cert-chain"],
        },
      ],
    });
    // These origins present no origin-mTLS certificate: each behaviour names the one it sends to.
    const config = await w.cloudfront.send(new GetDistributionConfigCommand({ Id: ids.passthrough! }));
    const targets = [
      config.DistributionConfig!.DefaultCacheBehavior!.TargetOriginId!,
      ...config.DistributionConfig!.CacheBehaviors!.Items!.map((b) => b.TargetOriginId!),
    ];
    expect(byId.get(ids.passthrough!)?.behaviours?.[3]).toEqual({
      pathPattern: "/plain/*",
      default: false,
      originsWithoutMtls: [targets[3]],
    });
    expect(byId.get(ids.passthrough!)?.behaviours?.map((b) => b.originsWithoutMtls)).toEqual(
      targets.map((t) => [t]),
    );
  });

  it("reads each origin request policy once, managed ones included, and names those that do not exist", async () => {
    const before = w.s.server.count("cloudfront", "GetOriginRequestPolicy");
    const missing = "00000000-0000-4000-8000-000000000000";
    const { policies, unreadable } = await adapter.readOriginRequestPolicies([
      forwarding,
      ALL_VIEWER_EXCEPT_HOST,
      forwarding,
      HOST_HEADER_ONLY,
      missing,
    ]);
    expect(w.s.server.count("cloudfront", "GetOriginRequestPolicy") - before).toBe(4);
    expect(policies.get(forwarding)).toEqual({
      id: forwarding,
      name: "forward-viewer-certificate",
      headerBehavior: "whitelist",
      headers: ["client-cert", "client-cert-chain", "x-request-id"],
    });
    expect(policies.get(ALL_VIEWER_EXCEPT_HOST)).toMatchObject({
      name: "Managed-AllViewerExceptHostHeader",
      headerBehavior: "allExcept",
      headers: ["host"],
    });
    expect(policies.get(HOST_HEADER_ONLY)).toMatchObject({ headerBehavior: "whitelist", headers: ["host"] });
    expect(unreadable).toEqual(new Map([[missing, "NoSuchOriginRequestPolicy"]]));
  });

  it("lists every trust store over pages, with status, failure reason and CA count", async () => {
    const before = w.s.server.count("cloudfront", "ListTrustStores");
    const stores = await adapter.listTrustStores({ pageSize: 1 });
    expect(w.s.server.count("cloudfront", "ListTrustStores") - before).toBe(2);
    const byId = new Map(stores.map((t) => [t.id, t]));
    expect(byId.get(goodStore.id)).toEqual({
      id: goodStore.id,
      arn: goodStore.arn,
      name: "partners",
      status: "active",
      caCertificates: 1,
    });
    expect(byId.get(badStore.id)).toMatchObject({ status: "failed", caCertificates: 0 });
    expect(byId.get(badStore.id)?.reason).toBe(w.s.cloudfront.trustStores.reason(badStore.id));
    expect(byId.get(badStore.id)?.reason).toBeTruthy();
  });
});
