/**
 * The viewer CA migration's proof for passthrough origins: a real request to each origin exactly as
 * CloudFront would send it for a viewer holding a certificate from the CA viewers move to — over origin
 * mTLS (the client certificate CloudFront presents to that origin), with the viewer's certificate forwarded
 * in RFC 9440 headers. The viewer certificate is issued for the probe (client-auth template, one day) from
 * the new CA; its key is made here and forgotten when the probe ends: it is never stored or returned.
 *
 * Accepted means the origin answered 2xx or 3xx: a passthrough origin that does not trust the viewer's CA
 * answers 403 (functions/viewer), a TLS-level refusal of CloudFront's own certificate 400/495/496.
 */
import { X509Certificate } from "node:crypto";
import { splitPem } from "../core/pem.ts";
import type { OriginProof } from "../core/viewer-migration.ts";
import { type ClientIdentity, type OriginEndpoint, probeOrigin } from "./origin-probe.ts";

/** A passthrough origin as the settings name it (config/viewer-settings.ts). */
export interface PassthroughOriginRef {
  name: string;
  distributionId: string;
  originId: string;
  path: string;
}

/** A viewer certificate for the probe: public certificate and chain, and its key (memory only). */
export type ProbeViewer = ClientIdentity;

export interface ViewerProbeDeps {
  /** Issues a short-lived viewer certificate from `authorityArn` with a key made for it. */
  issueProbeViewer(authorityArn: string): Promise<ProbeViewer>;
  /**
   * Where CloudFront reaches the origin and the credential it presents there, or why the probe cannot
   * present it (no origin mTLS on that origin, no credential held by the service).
   */
  originConnection(
    ref: PassthroughOriginRef,
  ): Promise<{ endpoint: OriginEndpoint; identity: ClientIdentity } | { error: string }>;
  /** The RFC 9440 headers CloudFront sends for a viewer's leaf and chain (viewer/forwarded-certificate.ts). */
  forwardedHeaders(leafPem: string, chainPems: string[]): Record<string, string>;
  originServerCaPem?: string;
  timeoutMs?: number;
}

export async function proveViewerOrigins(
  deps: ViewerProbeDeps,
  origins: readonly PassthroughOriginRef[],
  authorityArn: string,
): Promise<OriginProof[]> {
  if (origins.length === 0) return [];
  const viewer = await deps.issueProbeViewer(authorityArn);
  // The chain CloudFront forwards is what the viewer sent besides its leaf: the issuing CA(s) short of the
  // root, as a viewer presents them (a root is the origin's own trust anchor).
  const chain = splitPem(viewer.chainPem).filter((pem) => !isSelfSigned(pem));
  const headers = deps.forwardedHeaders(viewer.certificatePem, chain);
  return Promise.all(
    origins.map(async (ref): Promise<OriginProof> => {
      const connection = await deps.originConnection(ref);
      if ("error" in connection)
        return { origin: ref.name, status: null, accepted: false, error: connection.error };
      const result = await probeOrigin({ ...connection.endpoint, path: ref.path }, connection.identity, {
        headers,
        ...(deps.originServerCaPem ? { originServerCaPem: deps.originServerCaPem } : {}),
        ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
      });
      const accepted = result.status !== null && result.status >= 200 && result.status < 400;
      return {
        origin: ref.name,
        status: result.status,
        accepted,
        ...(result.error ? { error: result.error } : {}),
      };
    }),
  );
}

function isSelfSigned(pem: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.subject === cert.issuer && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}
