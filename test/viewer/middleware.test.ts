/**
 * The passthrough middleware in a real Node `https` origin on 127.0.0.1 that asks for client certificates
 * and checks them against the origin-client CA bundle (CloudFront's CA), driven by real mTLS clients: one
 * presenting CloudFront's certificate with forwarded viewer headers, and strangers forging those headers.
 */
import { X509Certificate } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyFingerprintOf } from "../../functions/core/pem.ts";
import {
  type ViewerCheckOptions,
  viewerCertificateMiddleware,
  viewerOf,
} from "../../functions/viewer/middleware.ts";
import type { IssuedCredential } from "../../standins/pki.ts";
import {
  errorOf,
  type PassthroughCast,
  passthroughCast,
  requestAs,
  viewerHeaders,
} from "../support/viewer-passthrough.ts";

let cast: PassthroughCast;
let server: Server;
let port: number;
const warnings: string[] = [];

const request = (
  client: IssuedCredential | undefined,
  headers: Record<string, string | string[]>,
  path = "/wrap",
) => requestAs(cast, port, client, headers, path);

beforeAll(async () => {
  cast = await passthroughCast("middleware");
  const options: ViewerCheckOptions = { bundlePath: cast.bundlePath, warn: (line) => warnings.push(line) };
  const plain = viewerCertificateMiddleware(options);
  const allowOther = viewerCertificateMiddleware({
    ...options,
    originClientTrust: { subjects: ["CN=someone else"] },
  });
  const allowIssuer = viewerCertificateMiddleware({
    ...options,
    originClientTrust: {
      issuerKeySha256: [keyFingerprintOf(new X509Certificate(cast.originClientIssuingPem))],
    },
  });
  const answer = plain.wrap((_req, res, viewer) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(viewer));
  });
  server = createServer(
    {
      cert: cast.server.certificatePem,
      key: cast.server.privateKeyPem,
      ca: cast.originClientBundlePem,
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
  await cast?.cleanup();
});

describe("viewer passthrough middleware on a real mTLS origin", () => {
  it("accepts CloudFront's connection with valid viewer headers and hands the viewer to the handler", async () => {
    const response = await request(cast.cloudFront, viewerHeaders(cast.viewersA));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      subject: "CN=viewer of A, O=Example",
      issuer: "CN=A Viewer Issuing",
      sha256: fingerprintOf(new X509Certificate(cast.viewersA.viewer.certificatePem)),
    });
    const next = await request(cast.cloudFront, viewerHeaders(cast.viewersA), "/next");
    expect([next.status, next.body]).toEqual([200, "next CN=viewer of A, O=Example"]);
  });

  it("refuses forged headers on a connection without CloudFront's certificate: no client certificate", async () => {
    const response = await request(undefined, viewerHeaders(cast.viewersA));
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("request did not arrive over CloudFront's origin-mTLS connection");
  });

  it("refuses forged headers from a client certificate the origin-client bundle does not trust", async () => {
    const response = await request(cast.stranger, viewerHeaders(cast.viewersA), "/next");
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("request did not arrive over CloudFront's origin-mTLS connection");
  });

  it("refuses a viewer from a CA the viewer bundle does not hold", async () => {
    const response = await request(cast.cloudFront, viewerHeaders(cast.viewersB));
    expect(response.status).toBe(403);
    expect(errorOf(response)).toBe("viewer certificate not issued by a trusted viewer CA");
  });

  it("refuses CloudFront's connection without viewer headers, or with Client-Cert twice", async () => {
    expect(errorOf(await request(cast.cloudFront, {}))).toBe("no Client-Cert header");
    const leaf = viewerHeaders(cast.viewersA)["client-cert"] ?? "";
    expect(errorOf(await request(cast.cloudFront, { "client-cert": [leaf, leaf] }))).toBe(
      "Client-Cert appears more than once",
    );
  });

  it("applies the allow-list of CloudFront identities (subject refused, issuer key from the TLS chain accepted)", async () => {
    const refused = await request(cast.cloudFront, viewerHeaders(cast.viewersA), "/allow-other");
    expect([refused.status, errorOf(refused)]).toEqual([
      403,
      "origin-mTLS client certificate is not an allowed CloudFront identity",
    ]);
    const accepted = await request(cast.cloudFront, viewerHeaders(cast.viewersA), "/allow-issuer");
    expect([accepted.status, accepted.body]).toEqual([200, "next CN=viewer of A, O=Example"]);
  });

  it("takes a replaced bundle into account without a restart, and fails closed while it is unusable", async () => {
    const { viewersA, viewersB, cloudFront } = cast;
    try {
      await cast.installBundle(viewersB.rootPem);
      expect((await request(cloudFront, viewerHeaders(viewersB))).status).toBe(200);
      expect(errorOf(await request(cloudFront, viewerHeaders(viewersA)))).toBe(
        "viewer certificate not issued by a trusted viewer CA",
      );

      await cast.installBundle("not a bundle\n");
      for (const viewers of [viewersA, viewersB]) {
        const response = await request(cloudFront, viewerHeaders(viewers));
        expect([response.status, errorOf(response)]).toEqual([403, "viewer CA bundle unavailable"]);
      }
      expect(warnings.at(-1)).toMatch(/viewer-ca\.pem refused, so is every request: .*no certificate/);

      await rm(cast.bundlePath);
      expect(errorOf(await request(cloudFront, viewerHeaders(viewersB)))).toBe(
        "viewer CA bundle unavailable",
      );
      expect(warnings.at(-1)).toMatch(/unreadable, every request refused: .*ENOENT/);

      // Both CAs during a migration: both viewers pass.
      await cast.installBundle(viewersA.rootPem + viewersB.rootPem);
      expect((await request(cloudFront, viewerHeaders(viewersA))).status).toBe(200);
      expect((await request(cloudFront, viewerHeaders(viewersB))).status).toBe(200);
    } finally {
      await cast.installBundle(viewersA.rootPem);
    }
  });
});
