/**
 * The cast of the viewer-passthrough tests on real TLS (Node and nginx origins): the origin's own server
 * identity, CloudFront's origin-mTLS credential from the origin-client CA (root + issuing), a stranger whose
 * certificate no origin-client bundle trusts, two viewer CAs with a viewer each, and the viewer bundle file,
 * written the way origin-sync writes it (a new file renamed over the live one). Certificates are valid
 * around the real clock: the origins under test read it.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatClientCertHeaders } from "../../functions/viewer/forwarded-certificate.ts";
import {
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { type MtlsResponse, mtlsRequest } from "./mtls-client.ts";

export interface ViewerPki {
  rootPem: string;
  issuingPem: string;
  /** A viewer certificate from the issuing CA (subject `CN=viewer of <name>, O=Example`). */
  viewer: IssuedCredential;
}

export interface PassthroughCast {
  /** Temp directory of the bundle file (removed by `cleanup`). */
  dir: string;
  /** The viewer CA bundle file; starts out trusting viewer CA A. */
  bundlePath: string;
  /** The origin's TLS identity (leaf + CA) and the CA clients verify it with. */
  server: IssuedCredential;
  serverCaPem: string;
  /** The origin-client CA bundle (issuing + root): what the origin's TLS layer trusts for CloudFront. */
  originClientBundlePem: string;
  originClientIssuingPem: string;
  /** CloudFront's origin-mTLS credential (subject `CN=cloudfront-origin`). */
  cloudFront: IssuedCredential;
  /** Same subject as CloudFront's, from a CA no origin trusts. */
  stranger: IssuedCredential;
  viewersA: ViewerPki;
  viewersB: ViewerPki;
  /** Replaces the viewer bundle as origin-sync does: write a new file, rename it over the live one. */
  installBundle(pem: string): Promise<void>;
  cleanup(): Promise<void>;
}

async function viewerPki(name: string): Promise<ViewerPki> {
  const root = await createRootCa({ name: `CN=${name} Viewer Root` });
  const issuing = await createSubordinateCa(root, { name: `CN=${name} Viewer Issuing` });
  return {
    rootPem: root.certificatePem,
    issuingPem: issuing.certificatePem,
    viewer: await issueClientCredential(issuing, { subject: `CN=viewer of ${name}, O=Example` }),
  };
}

export async function passthroughCast(name: string): Promise<PassthroughCast> {
  const dir = await mkdtemp(join(tmpdir(), `viewer-${name}-`));
  const bundlePath = join(dir, "viewer-ca.pem");
  const serverRoot = await createRootCa({ name: "CN=Origin Server Root" });
  const originClientRoot = await createRootCa({ name: "CN=Origin Client Root" });
  const originClientIssuing = await createSubordinateCa(originClientRoot, {
    name: "CN=Origin Client Issuing",
  });
  const installBundle = async (pem: string) => {
    const next = join(dir, `.viewer-ca.${Math.random().toString(16).slice(2)}`);
    await writeFile(next, pem);
    await rename(next, bundlePath);
  };
  const cast: PassthroughCast = {
    dir,
    bundlePath,
    server: await issueServerCredential(serverRoot),
    serverCaPem: serverRoot.certificatePem,
    originClientBundlePem: originClientIssuing.certificatePem + originClientRoot.certificatePem,
    originClientIssuingPem: originClientIssuing.certificatePem,
    cloudFront: await issueClientCredential(originClientIssuing, { subject: "CN=cloudfront-origin" }),
    stranger: await issueClientCredential(await createRootCa({ name: "CN=Stranger Root" }), {
      subject: "CN=cloudfront-origin",
    }),
    viewersA: await viewerPki("A"),
    viewersB: await viewerPki("B"),
    installBundle,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await installBundle(cast.viewersA.rootPem);
  return cast;
}

/** The headers CloudFront forwards for a viewer of `pki`: its leaf and issuing CA (the root stays home). */
export function viewerHeaders(pki: ViewerPki): Record<string, string> {
  return { ...formatClientCertHeaders(pki.viewer.certificatePem, [pki.issuingPem]) };
}

/** A request to an origin on 127.0.0.1:`port` as `client` (undefined: no client certificate at all). */
export function requestAs(
  cast: PassthroughCast,
  port: number,
  client: IssuedCredential | undefined,
  headers: Record<string, string | string[]>,
  path = "/",
): Promise<MtlsResponse> {
  return mtlsRequest({
    port,
    path,
    caPem: cast.serverCaPem,
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

/** The `error` of a JSON refusal. */
export function errorOf(response: MtlsResponse): string {
  return (JSON.parse(response.body) as { error: string }).error;
}
