/**
 * The synthetic mTLS probe against real Node HTTPS origins on 127.0.0.1 (standins/tls-origin.ts): the
 * origin's answer decides (200 accepted, 400 refused), transport failures are reported (refused connection,
 * an origin certificate the probe does not trust, silence until the timeout, an unusable credential), and
 * probeAll keeps the endpoints' order within its concurrency. No report ever holds key material.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgePreflightProbe } from "../../functions/core/preflight.ts";
import type { ProbeResult } from "../../functions/core/rotation.ts";
import {
  type ClientIdentity,
  type OriginEndpoint,
  probeAll,
  probeOrigin,
} from "../../functions/probe/origin-probe.ts";
import { startNginxOrigin } from "../../standins/nginx-origin.ts";
import {
  type CertificateAuthority,
  createRootCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { type OriginAnswers, startTlsOrigin, type TlsOrigin } from "../../standins/tls-origin.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";

let clientCa: CertificateAuthority;
let otherCa: CertificateAuthority;
let serverCa: CertificateAuthority;
let server: IssuedCredential;
let trusted: ClientIdentity;
let untrusted: ClientIdentity;
let origin: TlsOrigin;
/** An origin whose server certificate names another host. */
let misnamed: TlsOrigin;
/** Accepts TCP connections and never says a word. */
let silent: NetServer;
const silentSockets = new Set<Socket>();

beforeAll(async () => {
  [clientCa, otherCa, serverCa] = await Promise.all([
    createRootCa({ name: "CN=Origin Client CA, O=probe tests" }),
    createRootCa({ name: "CN=Somebody Else CA, O=probe tests" }),
    createRootCa({ name: "CN=Origin Server CA, O=probe tests" }),
  ]);
  const [serverCredential, misnamedCredential, good, bad] = await Promise.all([
    issueServerCredential(serverCa),
    issueServerCredential(serverCa, { dnsNames: ["origin.example"], ipAddresses: ["10.9.8.7"] }),
    issueClientCredential(clientCa, { subject: "CN=origin-client.example.com" }),
    issueClientCredential(otherCa, { subject: "CN=origin-client.example.com" }),
  ]);
  server = serverCredential;
  trusted = good;
  untrusted = bad;
  origin = await startTlsOrigin({
    name: "origin-a",
    serverCertPem: server.certificatePem,
    serverKeyPem: server.privateKeyPem,
    clientCaPem: clientCa.certificatePem,
  });
  misnamed = await startTlsOrigin({
    name: "origin-misnamed",
    serverCertPem: misnamedCredential.certificatePem,
    serverKeyPem: misnamedCredential.privateKeyPem,
    clientCaPem: clientCa.certificatePem,
  });
  silent = createNetServer((socket) => {
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await Promise.all([
    origin?.close(),
    misnamed?.close(),
    new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve())),
  ]);
});

function endpoint(port: number, target = "E1/origin-a"): OriginEndpoint {
  return { target, host: "127.0.0.1", port };
}

/** No report may hold key material, whatever went wrong. */
function checked<T extends ProbeResult | ProbeResult[]>(result: T): T {
  expectNoKeyMaterial(result, [trusted.privateKeyPem, untrusted.privateKeyPem, server.privateKeyPem]);
  return result;
}

/** Probe with the origin servers' CA trusted; the result is checked for key material. */
async function probe(
  at: OriginEndpoint,
  identity: ClientIdentity,
  options: { timeoutMs?: number; originServerCaPem?: string | null } = {},
): Promise<ProbeResult> {
  const result = await probeOrigin(at, identity, {
    timeoutMs: options.timeoutMs ?? 3_000,
    ...(options.originServerCaPem === null
      ? {}
      : { originServerCaPem: options.originServerCaPem ?? serverCa.certificatePem }),
  });
  return checked(result);
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probeServer = createNetServer();
  await new Promise<void>((resolve) => probeServer.listen(0, "127.0.0.1", resolve));
  const { port } = probeServer.address() as AddressInfo;
  await new Promise<void>((resolve) => probeServer.close(() => resolve()));
  return port;
}

describe("probeOrigin: the origin decides", () => {
  it("a trusted client certificate is accepted (200)", async () => {
    const before = origin.counters.accepted;
    expect(await probe(endpoint(origin.port), trusted)).toEqual({
      target: "E1/origin-a",
      status: 200,
      accepted: true,
    });
    expect(origin.counters.accepted).toBe(before + 1);
  });

  it("an untrusted client certificate is refused (400), after a completed handshake", async () => {
    const before = origin.counters.refused;
    expect(await probe(endpoint(origin.port), untrusted)).toEqual({
      target: "E1/origin-a",
      status: 400,
      accepted: false,
    });
    expect(origin.counters.refused).toBe(before + 1);
  });

  it("follows the origin's trust as it changes", async () => {
    origin.trust(otherCa.certificatePem);
    try {
      expect((await probe(endpoint(origin.port), untrusted)).accepted).toBe(true);
      expect((await probe(endpoint(origin.port), trusted)).status).toBe(400);
    } finally {
      origin.trust(clientCa.certificatePem);
    }
    expect((await probe(endpoint(origin.port), trusted)).accepted).toBe(true);
  });

  it("sends the configured path", async () => {
    const seen: string[] = [];
    const https = createHttpsServer(
      {
        cert: server.certificatePem,
        key: server.privateKeyPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        seen.push(req.url ?? "");
        res.end("ok");
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = https.address() as AddressInfo;
      expect((await probe({ ...endpoint(port), path: "/healthz?mtls=1" }, trusted)).status).toBe(200);
      expect((await probe(endpoint(port), trusted)).status).toBe(200);
      expect(seen).toEqual(["/healthz?mtls=1", "/"]);
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });
});

describe("application-level refusals (issue 11): only a comparison with the current certificate tells", () => {
  // An origin whose TLS layer lets any certificate through and whose application answers 403 to one it
  // does not trust: the probe's TLS-level rule accepts that 403; judged against the trusted (current)
  // certificate's 200, it is a refusal.
  const expectApplicationRefusal = async (port: number) => {
    const fresh = await probe(endpoint(port), untrusted);
    const current = await probe(endpoint(port), trusted);
    expect(fresh).toEqual({ target: "E1/origin-a", status: 403, accepted: true });
    expect(current).toEqual({ target: "E1/origin-a", status: 200, accepted: true });
    expect(judgePreflightProbe(fresh.target, fresh, current)).toMatchObject({
      accepted: false,
      reason: "StatusClassDiffers",
    });
    expect(judgePreflightProbe(current.target, current, current)).toMatchObject({ accepted: true });
  };
  const answers: OriginAnswers = { untrusted: 403 };

  it("nginx: ssl_verify_client optional_no_ca + if ($ssl_client_verify != SUCCESS) { return 403; }", async () => {
    const nginx = await startNginxOrigin({
      name: "app-403",
      serverCertPem: server.certificatePem,
      serverKeyPem: server.privateKeyPem,
      clientCaBundlePem: clientCa.certificatePem,
      answers,
    });
    try {
      await expectApplicationRefusal(nginx.port);
    } finally {
      await nginx.stop();
    }
  });

  it("Node: requests a certificate, never rejects the handshake, answers 403 to an untrusted one", async () => {
    const app = await startTlsOrigin({
      name: "app-403",
      serverCertPem: server.certificatePem,
      serverKeyPem: server.privateKeyPem,
      clientCaPem: clientCa.certificatePem,
      answers,
    });
    try {
      await expectApplicationRefusal(app.port);
    } finally {
      await app.close();
    }
  });
});

describe("probeOrigin: transport failures are reported, never thrown", () => {
  it("a refused connection (closed port): not accepted, no status, ECONNREFUSED", async () => {
    const result = await probe(endpoint(await closedPort()), trusted);
    expect(result).toMatchObject({ target: "E1/origin-a", status: null, accepted: false });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it.each([
    {
      name: "an origin certificate from a CA the probe does not trust (public roots only)",
      originServerCaPem: null,
      error: /self[- ]signed certificate in certificate chain|unable to (get|verify)/i,
    },
    {
      name: "an origin certificate from another private CA",
      originServerCaPem: "other",
      error: /self[- ]signed certificate in certificate chain|unable to (get|verify)/i,
    },
  ])("$name: error, and the origin never sees a request", async ({ originServerCaPem, error }) => {
    const before = { ...origin.counters };
    const result = await probe(endpoint(origin.port), trusted, {
      originServerCaPem: originServerCaPem === "other" ? otherCa.certificatePem : null,
    });
    expect(result).toMatchObject({ status: null, accepted: false });
    expect(result.error).toMatch(error);
    expect(origin.counters).toEqual(before);
  });

  it("an origin certificate for another name: error", async () => {
    const result = await probe(endpoint(misnamed.port), trusted);
    expect(result).toMatchObject({ status: null, accepted: false });
    expect(result.error).toMatch(/does not match certificate's altnames/);
    expect(misnamed.counters).toEqual({ accepted: 0, refused: 0 });
  });

  it("a server that accepts the connection and stays silent: timeout", async () => {
    const started = Date.now();
    const result = await probe(endpoint((silent.address() as AddressInfo).port), trusted, { timeoutMs: 150 });
    const elapsed = Date.now() - started;
    expect(result).toEqual({
      target: "E1/origin-a",
      status: null,
      accepted: false,
      error: "no answer within 150 ms",
    });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("an origin that answers, then trickles its body: the timeout is the whole probe's, not idle time", async () => {
    const trickling = createHttpsServer(
      { key: server.privateKeyPem, cert: server.certificatePem },
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        const drip = setInterval(() => res.write("."), 40);
        res.on("close", () => clearInterval(drip));
      },
    );
    await new Promise<void>((resolve) => trickling.listen(0, "127.0.0.1", resolve));
    try {
      const started = Date.now();
      const result = await probe(endpoint((trickling.address() as AddressInfo).port), trusted, {
        timeoutMs: 300,
      });
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ status: null, accepted: false, error: "no answer within 300 ms" });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
    } finally {
      trickling.closeAllConnections();
      await new Promise((resolve) => trickling.close(resolve));
    }
  });

  it.each([
    {
      name: "a key that does not match the certificate",
      broken: () => ({ ...trusted, privateKeyPem: untrusted.privateKeyPem }),
    },
    {
      name: "an unreadable key",
      broken: () => ({
        ...trusted,
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      }),
    },
  ])("an unusable credential ($name): a failed probe, not an exception", async ({ broken }) => {
    const result = await probe(endpoint(origin.port), broken());
    expect(result).toMatchObject({ target: "E1/origin-a", status: null, accepted: false });
    expect(result.error).toEqual(expect.any(String));
  });
});

describe("probeAll", () => {
  /** An mTLS origin that answers `/<status>/<delayMs>` after the delay, counting requests in flight. */
  let slow: HttpsServer;
  let slowPort: number;
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    slow = createHttpsServer(
      {
        cert: server.certificatePem,
        key: server.privateKeyPem,
        ca: clientCa.certificatePem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const [, status, delay] = (req.url ?? "").split("/");
        setTimeout(() => {
          inFlight -= 1;
          res.writeHead(Number(status));
          res.end();
        }, Number(delay));
      },
    );
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    slowPort = (slow.address() as AddressInfo).port;
  });

  afterAll(async () => {
    slow?.closeAllConnections();
    await new Promise<void>((resolve) => (slow ? slow.close(() => resolve()) : resolve()));
  });

  function slowEndpoint(i: number, status: number, delayMs: number): OriginEndpoint {
    return { target: `E${i}/o`, host: "127.0.0.1", port: slowPort, path: `/${status}/${delayMs}` };
  }

  it("keeps the endpoints' order whatever order the answers come in, mixed outcomes included", async () => {
    const endpoints = [
      slowEndpoint(1, 200, 120),
      endpoint(origin.port, "E2/origin-a"),
      slowEndpoint(3, 400, 60),
      endpoint(await closedPort(), "E4/closed"),
      slowEndpoint(5, 503, 0),
    ];
    const results = await probeAll(endpoints, trusted, {
      concurrency: 3,
      originServerCaPem: serverCa.certificatePem,
    });
    checked(results);
    expect(results.map((r) => [r.target, r.status, r.accepted])).toEqual([
      ["E1/o", 200, true],
      ["E2/origin-a", 200, true],
      ["E3/o", 400, false],
      ["E4/closed", null, false],
      // A 5xx is an answer from an origin that took the certificate: the gate's metrics judge 5xx, not the probe.
      ["E5/o", 503, true],
    ]);
  });

  it.each([
    { concurrency: 1, count: 4 },
    { concurrency: 2, count: 6 },
    { concurrency: 5, count: 5 },
  ])(
    "at most $concurrency in flight ($count endpoints), and that many at once",
    async ({ concurrency, count }) => {
      inFlight = 0;
      maxInFlight = 0;
      const endpoints = Array.from({ length: count }, (_, i) => slowEndpoint(i, 200, 120));
      const results = await probeAll(endpoints, trusted, {
        concurrency,
        originServerCaPem: serverCa.certificatePem,
      });
      checked(results);
      expect(results.map((r) => r.target)).toEqual(endpoints.map((e) => e.target));
      expect(results.every((r) => r.accepted)).toBe(true);
      expect(maxInFlight).toBe(concurrency);
    },
  );

  it("default concurrency is 8", async () => {
    inFlight = 0;
    maxInFlight = 0;
    const endpoints = Array.from({ length: 12 }, (_, i) => slowEndpoint(i, 200, 150));
    await probeAll(endpoints, trusted, { originServerCaPem: serverCa.certificatePem });
    expect(maxInFlight).toBe(8);
  });

  it("no endpoints: no probes", async () => {
    expect(await probeAll([], trusted)).toEqual([]);
  });
});

describe("reports", () => {
  it("of every kind of failure hold no key material", async () => {
    const broken = { ...trusted, privateKeyPem: untrusted.privateKeyPem };
    const endpoints = [
      endpoint(await closedPort(), "E1/closed"),
      endpoint((silent.address() as AddressInfo).port, "E2/silent"),
      endpoint(misnamed.port, "E3/misnamed"),
      endpoint(origin.port, "E4/untrusted-client"),
    ];
    const results = [
      ...(await probeAll(endpoints, trusted, { timeoutMs: 150 })),
      ...(await probeAll(endpoints.slice(3), untrusted, { originServerCaPem: serverCa.certificatePem })),
      ...(await probeAll(endpoints.slice(3), broken, { originServerCaPem: serverCa.certificatePem })),
    ];
    expect(results.map((r) => r.accepted)).toEqual([false, false, false, false, false, false]);
    expect(results.filter((r) => r.error !== undefined)).toHaveLength(5);
    expectNoKeyMaterial(results, [trusted.privateKeyPem, untrusted.privateKeyPem, server.privateKeyPem]);
    expect(JSON.stringify(results)).not.toContain(trusted.certificatePem.split("\n")[1]!);
  });
});
