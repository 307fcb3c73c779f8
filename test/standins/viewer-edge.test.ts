/**
 * The viewer edge: viewers with real keys make real TLS handshakes with the edge, which judges them by the
 * distribution's deployed ViewerMtlsConfig and the trust store's bundle in effect, then calls real TLS origins
 * on 127.0.0.1 over origin mTLS with the distribution's certificate from ACM. Trust stores and distributions
 * are changed through the real SDK; the stand-ins' clock decides when a trust-store update validates and when
 * a distribution change deploys.
 */
import { X509Certificate } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { ImportCertificateCommand } from "@aws-sdk/client-acm";
import {
  CreateDistributionCommand,
  CreateOriginRequestPolicyCommand,
  CreateTrustStoreCommand,
  type DistributionConfig,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
  UpdateTrustStoreCommand,
  type ViewerMtlsConfig,
} from "@aws-sdk/client-cloudfront";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { startTlsOrigin, type TlsOrigin } from "../../standins/tls-origin.ts";
import { REFUSAL, type Viewer, ViewerEdge, type ViewerEdgeSummary } from "../../standins/viewer-edge.ts";
import { buildDistributionConfig, clientCertOriginRequestPolicy } from "../support/distribution-config.ts";

const BUCKET = "viewer-edge-bundles";
const DELAY = 60_000;
const ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3";

let s: Standins;
let clients: AwsClients;
let clockMs = Date.now();
let serverCa: CertificateAuthority;
let originClientCa: CertificateAuthority;
let originServer: IssuedCredential;
let originCertificateArn: string;
const cas: Record<"alpha" | "bravo" | "charlie" | "outsider", CertificateAuthority> = {} as never;
let outsiderIssuing: CertificateAuthority;
const closers: Array<() => Promise<void>> = [];

/** Lets the trust-store validation and deployment delays pass on the stand-ins' clock. */
function settle(): void {
  clockMs += DELAY;
}

async function putBundle(key: string, pem: string): Promise<string> {
  const out = await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: pem }));
  return out.VersionId!;
}

function bundleSource(key: string, version: string) {
  return {
    CaCertificatesBundleS3Location: { Bucket: BUCKET, Key: key, Region: "us-east-1", Version: version },
  };
}

async function createTrustStore(name: string, pem: string): Promise<string> {
  const version = await putBundle(`${name}.pem`, pem);
  const out = await clients.cloudfront.send(
    new CreateTrustStoreCommand({
      Name: name,
      CaCertificatesBundleSource: bundleSource(`${name}.pem`, version),
    }),
  );
  return out.TrustStore!.Id!;
}

async function updateTrustStore(id: string, name: string, pem: string): Promise<void> {
  const version = await putBundle(`${name}.pem`, pem);
  await clients.cloudfront.send(
    new UpdateTrustStoreCommand({
      Id: id,
      IfMatch: s.cloudfront.trustStores.etag(id),
      CaCertificatesBundleSource: bundleSource(`${name}.pem`, version),
    }),
  );
}

/** A distribution with one origin on `port`, presenting the origin-mTLS certificate from ACM. */
async function createDistribution(
  port: number,
  viewerMtls: ViewerMtlsConfig,
  originRequestPolicyId?: string,
): Promise<string> {
  const config = buildDistributionConfig({ origins: 1, mtlsArns: [originCertificateArn] });
  config.Origins!.Items![0]!.CustomOriginConfig!.HTTPSPort = port;
  config.ViewerMtlsConfig = viewerMtls;
  if (originRequestPolicyId) config.DefaultCacheBehavior!.OriginRequestPolicyId = originRequestPolicyId;
  const out = await clients.cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
  return out.Distribution!.Id!;
}

async function updateDistribution(id: string, change: (config: DistributionConfig) => void): Promise<void> {
  const current = await clients.cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
  const config = current.DistributionConfig!;
  change(config);
  await clients.cloudfront.send(
    new UpdateDistributionCommand({ Id: id, IfMatch: current.ETag, DistributionConfig: config }),
  );
}

async function viewer(
  name: string,
  distributionId: string,
  issuer: CertificateAuthority | undefined,
  extra: Partial<Viewer> = {},
): Promise<Viewer> {
  const credential = issuer && (await issueClientCredential(issuer, { subject: `CN=${name}` }));
  return {
    name,
    distributionId,
    certificatePem: credential?.certificatePem,
    keyPem: credential?.privateKeyPem,
    chainPems: [],
    ...extra,
  };
}

/** A real Node https origin that wants CloudFront's origin-mTLS certificate and records what it receives. */
async function recordingOrigin(): Promise<{ port: number; received: IncomingHttpHeaders[] }> {
  const received: IncomingHttpHeaders[] = [];
  const server: Server = createServer(
    {
      cert: originServer.certificatePem,
      key: originServer.privateKeyPem,
      ca: originClientCa.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      if ((req.socket as TLSSocket).authorized) received.push(req.headers);
      res.writeHead(200);
      res.end("ok\n");
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, received };
}

async function tlsOrigin(name: string): Promise<TlsOrigin> {
  const origin = await startTlsOrigin({
    name,
    serverCertPem: originServer.certificatePem,
    serverKeyPem: originServer.privateKeyPem,
    clientCaPem: originClientCa.certificatePem,
  });
  closers.push(() => origin.close());
  return origin;
}

/** What happened to each viewer in `edge.round()`: "accepted" or the reason of its refusal. */
async function roundOf(edge: ViewerEdge): Promise<Record<string, string>> {
  const before = edge.summary();
  await edge.round();
  return changes(before, edge.summary());
}

function changes(before: ViewerEdgeSummary, after: ViewerEdgeSummary): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tally of after.viewers) {
    const previous = before.viewers.find((v) => v.viewer === tally.viewer);
    if (tally.accepted > (previous?.accepted ?? 0)) {
      out[tally.viewer] = "accepted";
      continue;
    }
    const reason = Object.keys(tally.reasons).find(
      (r) => (tally.reasons[r] ?? 0) > (previous?.reasons[r] ?? 0),
    );
    if (reason !== undefined) out[tally.viewer] = reason;
  }
  return out;
}

beforeAll(async () => {
  s = await startStandins({
    now: () => new Date(clockMs),
    deployDelayMs: DELAY,
    cloudfrontTrustStoreDelayMs: DELAY,
  });
  clients = s.clients({ maxAttempts: 1 });
  s.s3.createBucket(BUCKET, { versioned: true });
  const ca = (name: string) => createRootCa({ name: `CN=${name} CA` });
  [serverCa, originClientCa, cas.alpha, cas.bravo, cas.charlie, cas.outsider] = await Promise.all([
    ca("Origin server"),
    ca("Origin client"),
    ca("Alpha viewer"),
    ca("Bravo viewer"),
    ca("Charlie viewer"),
    ca("Outsider root"),
  ]);
  outsiderIssuing = await createSubordinateCa(cas.outsider, { name: "CN=Outsider issuing CA" });
  originServer = await issueServerCredential(serverCa);
  const originClient = await issueClientCredential(originClientCa, {
    subject: "CN=cloudfront.origin-client",
  });
  originCertificateArn = (
    await clients.acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(originClient.certificatePem),
        PrivateKey: Buffer.from(originClient.privateKeyPem),
        CertificateChain: Buffer.from(originClient.chainPem),
      }),
    )
  ).CertificateArn!;
}, 30_000);

afterAll(async () => {
  for (const close of closers) await close();
  await s?.close();
});

describe("required and optional modes: the trust store's bundle in effect rules", () => {
  let edge: ViewerEdge;
  let origin: TlsOrigin;
  let trustStoreId: string;
  let requiredId: string;
  /** The outcome once the bundle holding Alpha's and Bravo's CAs is in effect. */
  const alphaAndBravoTrusted = { alpha: "accepted", bravo: "accepted", charlie: REFUSAL.untrusted };

  beforeAll(async () => {
    origin = await tlsOrigin("required-origin");
    trustStoreId = await createTrustStore("partners", cas.alpha.certificatePem);
    const optionalStore = await createTrustStore("portal", cas.alpha.certificatePem);
    requiredId = await createDistribution(origin.port, {
      Mode: "required",
      TrustStoreConfig: { TrustStoreId: trustStoreId },
    });
    const optionalId = await createDistribution(origin.port, {
      Mode: "optional",
      TrustStoreConfig: { TrustStoreId: optionalStore },
    });
    settle();
    edge = new ViewerEdge({
      standins: s,
      serverCaPem: serverCa.certificatePem,
      viewers: await Promise.all([
        viewer("alpha", requiredId, cas.alpha),
        viewer("bravo", requiredId, cas.bravo),
        viewer("charlie", requiredId, cas.charlie),
        viewer("anonymous", requiredId, undefined),
        viewer("portal-alpha", optionalId, cas.alpha),
        viewer("portal-bravo", optionalId, cas.bravo),
        viewer("portal-anonymous", optionalId, undefined),
      ]),
    });
    closers.push(async () => {
      await edge.stop();
    });
  });

  it("[cloudfront.viewer-mtls-required-validates] required mode accepts a viewer of the active bundle's CA, refuses another CA and a viewer without certificate", async () => {
    const acceptedBefore = origin.counters.accepted;
    const outcome = await roundOf(edge);
    expect(outcome).toMatchObject({
      alpha: "accepted",
      bravo: REFUSAL.untrusted,
      charlie: REFUSAL.untrusted,
      anonymous: REFUSAL.noCertificate,
    });
    // Only what the edge let through reached the origin, over origin mTLS with the distribution's certificate.
    expect(origin.counters.accepted - acceptedBefore).toBe(
      Object.values(outcome).filter((o) => o === "accepted").length,
    );
  });

  it("[cloudfront.viewer-mtls-optional-validates] optional mode lets a viewer without certificate pass and refuses one the bundle does not anchor", async () => {
    expect(await roundOf(edge)).toMatchObject({
      "portal-alpha": "accepted",
      "portal-bravo": REFUSAL.untrusted,
      "portal-anonymous": "accepted",
    });
  });

  it("[cloudfront.trust-store-async-validation] keeps the old bundle ruling while an update is pending; once it is active, both CAs are accepted", async () => {
    await updateTrustStore(trustStoreId, "partners-v2", cas.alpha.certificatePem + cas.bravo.certificatePem);
    expect(s.cloudfront.trustStores.status(trustStoreId)).toBe("pending");
    expect(await roundOf(edge)).toMatchObject({ alpha: "accepted", bravo: REFUSAL.untrusted });

    settle();
    expect(s.cloudfront.trustStores.status(trustStoreId)).toBe("active");
    expect(await roundOf(edge)).toMatchObject(alphaAndBravoTrusted);
  });

  it("[cloudfront.trust-store-failed-keeps-previous] keeps the last bundle that validated ruling after an update fails", async () => {
    // Charlie's CA with a leaf certificate: not a CA bundle, so the trust store fails.
    const leaf = await issueClientCredential(cas.charlie, { subject: "CN=not a CA" });
    await updateTrustStore(trustStoreId, "partners-v3", cas.charlie.certificatePem + leaf.certificatePem);
    settle();
    expect(s.cloudfront.trustStores.status(trustStoreId)).toBe("failed");
    expect(await roundOf(edge)).toMatchObject(alphaAndBravoTrusted);
  });

  it("[cloudfront.edge-serves-last-deployed] judges viewers by the deployed mode until a change of mode deploys", async () => {
    await updateDistribution(requiredId, (config) => {
      config.ViewerMtlsConfig = { ...config.ViewerMtlsConfig, Mode: "optional" };
    });
    expect(await roundOf(edge)).toMatchObject({ anonymous: REFUSAL.noCertificate });
    settle();
    expect(await roundOf(edge)).toMatchObject({ anonymous: "accepted", charlie: REFUSAL.untrusted });
  });

  it("counts a refusal by the origin with the origin's reason", async () => {
    origin.trust(cas.outsider.certificatePem);
    try {
      expect(await roundOf(edge)).toMatchObject({ alpha: "origin answered 400" });
    } finally {
      origin.trust(originClientCa.certificatePem);
    }
  });
});

describe("passthrough mode: the origin receives the viewer's certificate", () => {
  let edge: ViewerEdge;
  let origin: { port: number; received: IncomingHttpHeaders[] };
  let distributionId: string;
  let chained: Viewer;
  let leafOnly: Viewer;
  const forged = ":Zm9yZ2VkIGNlcnRpZmljYXRl:";

  beforeAll(async () => {
    origin = await recordingOrigin();
    const policy = await clients.cloudfront.send(
      new CreateOriginRequestPolicyCommand({
        OriginRequestPolicyConfig: clientCertOriginRequestPolicy("viewer-certificate"),
      }),
    );
    distributionId = await createDistribution(
      origin.port,
      { Mode: "passthrough" },
      policy.OriginRequestPolicy!.Id,
    );
    settle();
    chained = await viewer("chained", distributionId, outsiderIssuing, {
      chainPems: [outsiderIssuing.certificatePem],
      headers: { "Client-Cert": forged, "Client-Cert-Chain": forged, "X-Request-Id": "chained-1" },
    });
    leafOnly = await viewer("leaf-only", distributionId, cas.charlie, {
      headers: { "X-Request-Id": "leaf-1" },
    });
    edge = new ViewerEdge({
      standins: s,
      serverCaPem: serverCa.certificatePem,
      viewers: [chained, leafOnly, await viewer("anonymous", distributionId, undefined)],
    });
    closers.push(async () => {
      await edge.stop();
    });
  });

  const receivedBy = (requestId: string) => origin.received.filter((h) => h["x-request-id"] === requestId);
  const parse = (item: string) => {
    const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(item.trim());
    expect(match, `'${item}' is not an RFC 9440 byte sequence`).not.toBeNull();
    return new X509Certificate(Buffer.from(match![1]!, "base64"));
  };

  it("[cloudfront.passthrough-forwards-certificate] validates nothing at the edge and sends RFC 9440 Client-Cert and Client-Cert-Chain, replacing the viewer's own copies", async () => {
    origin.received.length = 0;
    expect(await roundOf(edge)).toEqual({
      chained: "accepted",
      "leaf-only": "accepted",
      anonymous: "accepted",
    });

    const [fromChained] = receivedBy("chained-1");
    expect(fromChained).toBeDefined();
    const leaf = parse(String(fromChained!["client-cert"]));
    expect(leaf.fingerprint256).toBe(new X509Certificate(chained.certificatePem!).fingerprint256);
    const chain = String(fromChained!["client-cert-chain"]).split(",").map(parse);
    expect(chain.map((c) => c.fingerprint256)).toEqual([
      new X509Certificate(outsiderIssuing.certificatePem).fingerprint256,
    ]);
    expect(leaf.checkIssued(chain[0]!)).toBe(true);
    expect(JSON.stringify(fromChained)).not.toContain(forged);
  });

  it("[cloudfront.passthrough-forwards-certificate] leaves Client-Cert-Chain out when the viewer sent its leaf alone, and both out without a certificate", async () => {
    origin.received.length = 0;
    await edge.round();
    const [fromLeafOnly] = receivedBy("leaf-1");
    expect(parse(String(fromLeafOnly!["client-cert"])).fingerprint256).toBe(
      new X509Certificate(leafOnly.certificatePem!).fingerprint256,
    );
    expect(fromLeafOnly).not.toHaveProperty("client-cert-chain");
    const anonymous = origin.received.filter((h) => h["x-request-id"] === undefined);
    expect(anonymous).toHaveLength(1);
    expect(anonymous[0]).not.toHaveProperty("client-cert");
  });

  it("[cloudfront.passthrough-client-cert-listed] sends no certificate once the behaviour's policy is Managed-AllViewer, and still drops the viewer's forged copies", async () => {
    await updateDistribution(distributionId, (config) => {
      config.DefaultCacheBehavior!.OriginRequestPolicyId = ALL_VIEWER;
    });
    settle();
    origin.received.length = 0;
    expect(await roundOf(edge)).toMatchObject({ chained: "accepted" });
    const [fromChained] = receivedBy("chained-1");
    // AllViewer forwards the viewer's headers (X-Request-Id arrived) but not CloudFront's own.
    expect(fromChained).toBeDefined();
    expect(fromChained).not.toHaveProperty("client-cert");
    expect(fromChained).not.toHaveProperty("client-cert-chain");
  });
});

describe("traffic loops", () => {
  let distributionId: string;
  let viewers: Viewer[];

  beforeAll(async () => {
    const origin = await tlsOrigin("loop-origin");
    const store = await createTrustStore("loops", cas.alpha.certificatePem);
    distributionId = await createDistribution(origin.port, {
      Mode: "required",
      TrustStoreConfig: { TrustStoreId: store },
    });
    settle();
    viewers = await Promise.all([
      viewer("loop-alpha", distributionId, cas.alpha),
      viewer("loop-bravo", distributionId, cas.bravo),
    ]);
  });

  it("stops by itself after maxRequests, tallying per viewer and per distribution", async () => {
    const edge = new ViewerEdge({
      standins: s,
      serverCaPem: serverCa.certificatePem,
      viewers,
      intervalMs: 20,
      maxRequests: 30,
    });
    await edge.start();
    const deadline = Date.now() + 10_000;
    while (edge.summary().sent < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const summary = await edge.stop();

    expect(summary.sent).toBe(30);
    const [alpha, bravo] = ["loop-alpha", "loop-bravo"].map((name) =>
      summary.viewers.find((v) => v.viewer === name),
    );
    expect(alpha).toMatchObject({ refused: 0, distributionId });
    expect(alpha!.accepted).toBe(alpha!.sent);
    expect(bravo!.accepted).toBe(0);
    expect(bravo!.reasons).toEqual({ [REFUSAL.untrusted]: bravo!.sent });
    expect(bravo!.refusedAt).toHaveLength(bravo!.sent);
    expect(summary.distributions).toEqual([
      {
        distributionId,
        sent: 30,
        accepted: alpha!.accepted,
        refused: bravo!.refused,
        refusedAt: expect.any(Array),
        reasons: bravo!.reasons,
      },
    ]);
  });

  it("stops by itself after maxDurationMs", async () => {
    const edge = new ViewerEdge({
      standins: s,
      serverCaPem: serverCa.certificatePem,
      viewers,
      intervalMs: 20,
      maxDurationMs: 400,
    });
    await edge.start();
    await new Promise((r) => setTimeout(r, 1_200));
    const settled = edge.summary().sent;
    await new Promise((r) => setTimeout(r, 400));
    expect(edge.summary().sent).toBe(settled);
    expect(settled).toBeGreaterThan(0);
    await edge.stop();
  });

  it("refuses viewers with the same name, or a certificate without its key", () => {
    const [first] = viewers;
    expect(() => new ViewerEdge({ standins: s, serverCaPem: "", viewers: [first!, { ...first! }] })).toThrow(
      /two viewers are named loop-alpha/,
    );
    expect(
      () => new ViewerEdge({ standins: s, serverCaPem: "", viewers: [{ ...first!, keyPem: undefined }] }),
    ).toThrow(/needs both a certificate and its key/);
  });
});
