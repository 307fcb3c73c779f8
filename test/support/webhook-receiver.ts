/**
 * A real trust-bundle webhook receiver on 127.0.0.1, as a custom origin would run it: raw body -> verifyWebhook
 * (401 with the reason when refused) -> parseTrustBundleDelivery -> de-duplicate by bundleSha256 (200
 * `{"changed": false}` when it already holds the bundle, else install and 200 `{"changed": true}`).
 * Scripted faults (503, 429, a hang) answer the next requests before verification, for retry tests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DeliveryLog,
  parseTrustBundleDelivery,
  type TrustBundleDelivery,
  verifyWebhook,
  type WebhookReason,
} from "../../functions/trust/webhook-verify.ts";

export type ReceiverFault =
  | { kind: "status"; status: number; headers?: Record<string, string> }
  | { kind: "hang" };

export interface RawDelivery {
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface WebhookReceiver {
  url: string;
  /** Every request received, faulted ones included, in order. */
  requests: RawDelivery[];
  /** Reasons of refused requests, in order. */
  refusals: WebhookReason[];
  /** Bundles installed (one per distinct bundleSha256 in a row). */
  installs: TrustBundleDelivery[];
  /** The bundle currently installed. */
  current(): TrustBundleDelivery | undefined;
  /** Answer the next requests with these faults, in order, before verifying anything. */
  script(...faults: ReceiverFault[]): void;
  /** Re-send a raw request to the receiver (a replay, or a tampered copy). */
  send(raw: {
    headers: IncomingHttpHeaders;
    body: Buffer | string;
  }): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: {
  secret: string | string[];
  toleranceSeconds?: number;
  path?: string;
}): Promise<WebhookReceiver> {
  const requests: RawDelivery[] = [];
  const refusals: WebhookReason[] = [];
  const installs: TrustBundleDelivery[] = [];
  const faults: ReceiverFault[] = [];
  const seen = new DeliveryLog({ toleranceSeconds: options.toleranceSeconds });
  const path = options.path ?? "/mtls/trust-bundle";

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method ?? "", headers: req.headers, body });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const fault = faults.shift();
    if (fault?.kind === "hang") return; // never answers; the client times out
    if (fault?.kind === "status") {
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      res.end(JSON.stringify({ reason: "Injected" }));
      return;
    }
    if (req.method !== "POST" || new URL(req.url ?? "/", "http://receiver").pathname !== path) {
      json(404, { reason: "NotFound" });
      return;
    }
    const verdict = verifyWebhook({
      headers: req.headers,
      body,
      secret: options.secret,
      now: new Date(),
      toleranceSeconds: options.toleranceSeconds,
      seenDeliveries: seen,
    });
    if (!verdict.ok) {
      refusals.push(verdict.reason);
      json(401, { reason: verdict.reason });
      return;
    }
    let delivery: TrustBundleDelivery;
    try {
      delivery = parseTrustBundleDelivery(body);
    } catch (error) {
      json(422, { reason: "InvalidBundle", message: (error as Error).message });
      return;
    }
    if (installs.at(-1)?.bundleSha256 === delivery.bundleSha256) {
      json(200, { changed: false, version: delivery.bundleSha256.slice(0, 12) });
      return;
    }
    installs.push(delivery);
    json(200, { changed: true, version: delivery.bundleSha256.slice(0, 12) });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${path}`;

  return {
    url,
    requests,
    refusals,
    installs,
    current: () => installs.at(-1),
    script: (...more) => faults.push(...more),
    send: async (raw) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(raw.headers)) {
        if (typeof value === "string" && !["host", "content-length", "connection"].includes(name)) {
          headers[name] = value;
        }
      }
      const body = typeof raw.body === "string" ? raw.body : new Uint8Array(raw.body);
      const response = await fetch(url, { method: "POST", headers, body });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
