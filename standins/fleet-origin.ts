/**
 * A real TLS origin whose trusted client-CA bundle can be changed: an nginx origin (./nginx-origin.ts, the
 * real thing: `ssl_verify_client on`, reloads) or a Node TLS server (./tls-origin.ts, needs nothing
 * installed, trust swapped at once). Both answer 200 to a trusted client certificate and 400 to an untrusted
 * one, on 127.0.0.1, unless told other statuses (`answers`: e.g. an application-level 403). Used by the test fleet (test/support/fleet.ts) and the sandbox.
 */
import { readFile } from "node:fs/promises";
import { type NginxControl, startNginxOrigin } from "./nginx-origin.ts";
import type { IssuedCredential } from "./pki.ts";
import { type OriginAnswers, startTlsOrigin } from "./tls-origin.ts";

export type OriginKind = "nginx" | "node";
export type { OriginAnswers };

export interface FleetOrigin {
  name: string;
  kind: OriginKind;
  port: number;
  /** nginx origins: binary, config and bundle paths (for origin-sync). */
  control?: () => NginxControl;
  /** Replace the trusted client CA bundle (nginx: tested config + reload; Node: immediate). */
  trust(clientCaPem: string): Promise<void>;
  /** The client CA bundle in effect now (nginx: the live bundle file, whoever wrote it last). */
  trustedBundle(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts an origin serving `server` (its TLS identity) that trusts `clientCaPem` for client certificates.
 */
export async function startFleetOrigin(
  kind: OriginKind,
  name: string,
  server: IssuedCredential,
  clientCaPem: string,
  answers?: OriginAnswers,
): Promise<FleetOrigin> {
  if (kind === "nginx") {
    const nginx = await startNginxOrigin({
      name,
      serverCertPem: server.certificatePem,
      serverKeyPem: server.privateKeyPem,
      clientCaBundlePem: clientCaPem,
      ...(answers ? { answers } : {}),
    });
    return {
      name,
      kind,
      port: nginx.port,
      control: () => nginx.control(),
      trust: (pem) => nginx.setClientCaBundle(pem),
      trustedBundle: () => readFile(nginx.control().clientCaBundlePath, "utf8"),
      stop: () => nginx.stop(),
    };
  }
  const origin = await startTlsOrigin({
    name,
    serverCertPem: server.certificatePem,
    serverKeyPem: server.privateKeyPem,
    clientCaPem,
    ...(answers ? { answers } : {}),
  });
  let trusted = clientCaPem;
  return {
    name,
    kind,
    port: origin.port,
    trust: async (pem) => {
      origin.trust(pem);
      trusted = pem;
    },
    trustedBundle: async () => trusted,
    stop: () => origin.close(),
  };
}
