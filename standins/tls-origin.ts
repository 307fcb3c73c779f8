/**
 * A real mTLS origin in Node: HTTPS on 127.0.0.1 requiring a client certificate, answering 200 to trusted
 * clients and 400 to untrusted ones (as nginx does), or other statuses (`answers`): e.g. an origin that
 * refuses an unknown certificate at the application level (403 from the application, no TLS-level refusal). Its trust can be swapped instantly, which lets tests
 * script origins that trust a new issuer late, never, or stop trusting it. nginx origins are in
 * test/support/nginx.ts; this one needs nothing installed.
 */
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

export interface TlsOriginOptions {
  name: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** CA bundle trusted for client certificates. */
  clientCaPem: string;
  answers?: OriginAnswers;
}

/** The HTTP status an origin answers a trusted and an untrusted (or missing) client certificate with. */
export interface OriginAnswers {
  /** Default 200. A 401 is an origin that also wants a header no probe sends. */
  trusted?: number;
  /** Default 400 (nginx's TLS-level refusal). A 403 is an application-level refusal. */
  untrusted?: number;
}

export interface OriginCounters {
  accepted: number;
  refused: number;
}

export class TlsOrigin {
  readonly name: string;
  readonly counters: OriginCounters = { accepted: 0, refused: 0 };
  readonly #server: Server;
  readonly #options: TlsOriginOptions;
  #port = 0;

  constructor(options: TlsOriginOptions) {
    this.name = options.name;
    this.#options = options;
    this.#server = createServer(
      {
        cert: options.serverCertPem,
        key: options.serverKeyPem,
        ca: options.clientCaPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        if (socket.authorized) {
          this.counters.accepted += 1;
          res.writeHead(options.answers?.trusted ?? 200, {
            "content-type": "text/plain",
            "x-origin": this.name,
          });
          res.end(`ok ${socket.getPeerCertificate().serialNumber ?? ""}\n`);
        } else {
          this.counters.refused += 1;
          const status = options.answers?.untrusted ?? 400;
          res.writeHead(status, { "content-type": "text/plain", "x-origin": this.name });
          res.end(`${status} The SSL certificate error (${socket.authorizationError ?? "no certificate"})\n`);
        }
      },
    );
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** Replace the trusted client CA bundle; new connections use it at once. */
  trust(clientCaPem: string): void {
    this.#server.setSecureContext({
      cert: this.#options.serverCertPem,
      key: this.#options.serverKeyPem,
      ca: clientCaPem,
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export async function startTlsOrigin(options: TlsOriginOptions): Promise<TlsOrigin> {
  const origin = new TlsOrigin(options);
  await origin.listen();
  return origin;
}
