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
  /** A viewer certificate from a CA made on the spot, which no origin trusts (the negative control). */
  untrustedViewer(): Promise<ProbeViewer>;
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
  const [viewer, stranger] = await Promise.all([deps.issueProbeViewer(authorityArn), deps.untrustedViewer()]);
  const headersOf = (probe: ProbeViewer) =>
    deps.forwardedHeaders(
      probe.certificatePem,
      // What CloudFront forwards besides the leaf: the CA(s) the viewer sent, short of the root (a root is
      // the origin's own trust anchor).
      splitPem(probe.chainPem).filter((pem) => !isSelfSigned(pem)),
    );
  const trusted = headersOf(viewer);
  const untrusted = headersOf(stranger);
  return Promise.all(
    origins.map(async (ref): Promise<OriginProof> => {
      const connection = await deps.originConnection(ref);
      if ("error" in connection)
        return { origin: ref.name, status: null, accepted: false, error: connection.error };
      // The path CloudFront asks for (the origin's path and the probe's), as the connection names it.
      const ask = (headers: Record<string, string>) =>
        probeOrigin(connection.endpoint, connection.identity, {
          headers,
          ...(deps.originServerCaPem ? { originServerCaPem: deps.originServerCaPem } : {}),
          ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
        });
      const [answer, control] = await Promise.all([ask(trusted), ask(untrusted)]);
      const ok = (status: number | null) => status !== null && status >= 200 && status < 400;
      // An origin that also lets a viewer from a CA nobody trusts through does not check viewers at all:
      // its yes proves nothing.
      if (ok(control.status)) {
        return {
          origin: ref.name,
          status: answer.status,
          accepted: false,
          error: `accepted a viewer certificate from an untrusted CA too (${control.status}): the origin does not check forwarded certificates`,
        };
      }
      return {
        origin: ref.name,
        status: answer.status,
        accepted: ok(answer.status),
        ...(answer.error ? { error: answer.error } : {}),
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
