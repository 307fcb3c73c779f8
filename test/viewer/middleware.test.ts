/**
 * The passthrough middleware in a real Node `https` origin on 127.0.0.1 that asks for client certificates
 * and checks them against the origin-client CA bundle (CloudFront's CA), driven by real mTLS clients: one
 * presenting CloudFront's certificate with forwarded viewer headers, and strangers forging those headers.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf } from "../../functions/core/pem.ts";
import { formatClientCertHeaders } from "../../functions/viewer/forwarded-certificate.ts";
import {
  type ViewerCheckOptions,
  viewerCertificateMiddleware,
  viewerOf,
} from "../../functions/viewer/middleware.ts";
import {
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { type MtlsResponse, mtlsRequest } from "../support/mtls-client.ts";

interface ViewerPki {
  rootPem: string;
  viewer: IssuedCredential;
}

async function viewerPki(name: string): Promise<ViewerPki> {
  const root = await createRootCa({ name: `CN=${name} Viewer Root` });
  const issuing = await createSubordinateCa(root, { name: `CN=${name} Viewer Issuing` });
  return {
    rootPem: root.certificatePem,
    viewer: await issueClientCredential(issuing, { subject: `CN=viewer of ${name}` }),
  };
}

let server: Server;
let port: number;
let dir: string;
let bundlePath: string;
let serverCaPem: string;
let cloudFront: IssuedCredential;
let cloudFrontIssuerKey: string;
let stranger: IssuedCredential;
let viewersA: ViewerPki;
let viewersB: ViewerPki;
const warnings: string[] = [];

/** The viewer headers CloudFront forwards: the leaf and its issuing CA (the viewer keeps its root). */
function headersFor(pki: ViewerPki): Record<string, string> {
  const issuingPem = pki.viewer.chainPem.slice(
    0,
    pki.viewer.chainPem.indexOf("-----END CERTIFICATE-----") + 26,
  );
  return { ...formatClientCertHeaders(pki.viewer.certificatePem, [issuingPem]) };
}

function request(
  client: IssuedCredential | undefined,
  headers: Record<string, string | string[]>,
  path = "/wrap",
): Promise<MtlsResponse> {
  return mtlsRequest({
    port,
    path,
    caPem: serverCaPem,
    headers,
    ...(client
      ? {
          certificatePem: client.certificatePem,
          chainPem: client.chainPem,
          privateKeyPem: client.privateKeyPem,
        }
      : {}),
  });
}

/** Writes the viewer bundle the way origin-sync does: a new file renamed over the live one. */
async function installBundle(pem: string): Promise<void> {
  const next = join(dir, `.viewer-ca.${Math.random().toString(16).slice(2)}`);
  await writeFile(next, pem);
  await rename(next, bundlePath);
}

const errorOf = (response: MtlsResponse) => (JSON.parse(response.body) as { error: string }).error;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "viewer-middleware-"));
  bundlePath = join(dir, "viewer-ca.pem");
  const serverRoot = await createRootCa({ name: "CN=Origin Server Root" });
  const serverIdentity = await issueServerCredential(serverRoot);
  serverCaPem = serverRoot.certificatePem;
  // CloudFront's origin-mTLS certificate comes from the origin-client CA (root + issuing).
  const originClientRoot = await createRootCa({ name: "CN=Origin Client Root" });
  const originClientIssuing = await createSubordinateCa(originClientRoot, {
    name: "CN=Origin Client Issuing",
  });
  cloudFront = await issueClientCredential(originClientIssuing, { subject: "CN=cloudfront-origin" });
  cloudFrontIssuerKey = keyFingerprintOf(new X509Certificate(originClientIssuing.certificatePem));
  stranger = await issueClientCredential(await createRootCa({ name: "CN=Stranger Root" }), {
    subject: "CN=cloudfront-origin",
  });
  viewersA = await viewerPki("A");
  viewersB = await viewerPki("B");
  await installBundle(viewersA.rootPem);

  const options: ViewerCheckOptions = { bundlePath, warn: (line) => warnings.push(line) };
  const plain = viewerCertificateMiddleware(options);
  const allowOther = viewerCertificateMiddleware({
    ...options,
    originClientTrust: { subjects: ["CN=someone else"] },
  });
  const allowIssuer = viewerCertificateMiddleware({
    ...options,
    originClientTrust: { issuerKeySha256: [cloudFrontIssuerKey] },
  });
  const answer = plain.wrap((_req, res, viewer) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(viewer));
  });
  server = createServer(
    {
      cert: serverIdentity.certificatePem,
      key: serverIdentity.privateKeyPem,
      ca: originClientIssuing.certificatePem + originClientRoot.certificatePem,
      requestCert: true,
      rejectUnauthorized: false,
      maxHeaderSize: 64 * 1024,
    },
    (req, res) => {
      const middleware =
        req.url === "/allow-other" ? allowOther : req.url === "/allow-issuer" ? allowIssuer : plain;
      if (req.url === "/wrap") return answer(req, res);
      // (req, res, next) style, as Express or Connect would call it.
      middleware(req, res, (error) => {
        res.writeHead(error ? 500 : 200, { "content-type": "text/plain" });
        res.end(error ? "" : `next ${viewerOf(req)?.subject}`);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("viewer passthrough middleware on a real mTLS origin", () => {
  it("accepts CloudFront's connection with valid viewer headers and hands the viewer to the handler", async () => {
    const response = await request(cloudFront, headersFor(viewersA));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      subject: "CN=viewer of A",
      issuer: "CN=A Viewer Issuing",
      sha256: fingerprintOf(new X509Certificate(viewersA.viewer.certificatePem)),
    });
    const next = await request(cloudFront, headersFor(viewersA), "/next");
    expect([next.status, next.body]).toEqual([200, "next CN=viewer of A"]);
  });

  it("refuses forged headers on a connection without CloudFront's certificate: no client certificate", async () => {
    const response = await request(undefined, headersFor(viewersA));
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("request did not arrive over CloudFront's origin-mTLS connection");
  });

  it("refuses forged headers from a client certificate the origin-client bundle does not trust", async () => {
    const response = await request(stranger, headersFor(viewersA), "/next");
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("request did not arrive over CloudFront's origin-mTLS connection");
  });

  it("refuses a viewer from a CA the viewer bundle does not hold", async () => {
    const response = await request(cloudFront, headersFor(viewersB));
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("viewer certificate not issued by a trusted viewer CA");
  });

  it("refuses CloudFront's connection without viewer headers, or with Client-Cert twice", async () => {
    expect(errorOf(await request(cloudFront, {}))).toBe("no Client-Cert header");
    const leaf = headersFor(viewersA)["client-cert"] ?? "";
    expect(errorOf(await request(cloudFront, { "client-cert": [leaf, leaf] }))).toBe(
      "Client-Cert appears more than once",
    );
  });

  it("applies the allow-list of CloudFront identities (subject refused, issuer key from the TLS chain accepted)", async () => {
    const refused = await request(cloudFront, headersFor(viewersA), "/allow-other");
    expect([refused.status, errorOf(refused)]).toEqual([
      403,
      "origin-mTLS client certificate is not an allowed CloudFront identity",
    ]);
    const accepted = await request(cloudFront, headersFor(viewersA), "/allow-issuer");
    expect([accepted.status, accepted.body]).toEqual([200, "next CN=viewer of A"]);
  });

  it("takes a replaced bundle into account without a restart, and fails closed while it is unusable", async () => {
    try {
      await installBundle(viewersB.rootPem);
      expect((await request(cloudFront, headersFor(viewersB))).status).toBe(200);
      expect(errorOf(await request(cloudFront, headersFor(viewersA)))).toBe(
        "viewer certificate not issued by a trusted viewer CA",
      );

      await installBundle("not a bundle\n");
      for (const viewers of [viewersA, viewersB]) {
        const response = await request(cloudFront, headersFor(viewers));
        expect([response.status, errorOf(response)]).toEqual([403, "viewer CA bundle unavailable"]);
      }
      expect(warnings.at(-1)).toMatch(/viewer-ca\.pem refused, so is every request: .*no certificate/);

      await rm(bundlePath);
      expect(errorOf(await request(cloudFront, headersFor(viewersB)))).toBe("viewer CA bundle unavailable");
      expect(warnings.at(-1)).toMatch(/unreadable, every request refused: .*ENOENT/);

      // Both CAs during a migration: both viewers pass.
      await installBundle(viewersA.rootPem + viewersB.rootPem);
      expect((await request(cloudFront, headersFor(viewersA))).status).toBe(200);
      expect((await request(cloudFront, headersFor(viewersB))).status).toBe(200);
    } finally {
      await installBundle(viewersA.rootPem);
    }
  });
});
