/**
 * The edge's traffic per origin is independent: a slow origin (answers 2 s late) and a hung one (never
 * answers) next to healthy ones delay only their own requests. The healthy origins keep the edge's request
 * rate; the edge counts requests, refusals and timeouts per origin and per second, and publishes each
 * request's outcome as the distribution's 5xx error rate. Real TLS servers on 127.0.0.1, real mTLS requests.
 */
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveOrigin } from "../../standins/cloudfront.ts";
import { Edge, type EdgeSummary, type EdgeWorld } from "../../standins/edge.ts";
import {
  createRootCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";

const INTERVAL_MS = 50;
const RUN_MS = 3_200;
const SLOW_MS = 2_000;
const TIMEOUT_MS = 2_500;

/** An mTLS origin on 127.0.0.1 that answers 200 to a trusted client after `delayMs`, or never (`"never"`). */
async function origin(
  server: IssuedCredential,
  clientCaPem: string,
  delayMs: number | "never",
): Promise<{ server: Server; port: number }> {
  const https = createServer(
    { cert: server.certificatePem, key: server.privateKeyPem, ca: clientCaPem, requestCert: true },
    (req, res) => {
      if (delayMs === "never") return;
      const answer = () => {
        res.writeHead((req.socket as TLSSocket).authorized ? 200 : 400);
        res.end("ok\n");
      };
      if (delayMs === 0) answer();
      else setTimeout(answer, delayMs);
    },
  );
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  return { server: https, port: (https.address() as AddressInfo).port };
}

const servers: Server[] = [];
const datapoints: Array<{ distributionId: string; value: number }> = [];
let summary: EdgeSummary;
let elapsedMs = 0;

beforeAll(async () => {
  const clientCa = await createRootCa({ name: "CN=edge test client CA" });
  const serverCa = await createRootCa({ name: "CN=edge test server CA" });
  const client = await issueClientCredential(clientCa, { subject: "CN=edge.test" });
  const serverIdentity = await issueServerCredential(serverCa);
  const behaviours: Record<string, number | "never"> = { shop: 0, blog: 0, slow: SLOW_MS, hung: "never" };
  const live = new Map<string, LiveOrigin>();
  for (const [distributionId, delay] of Object.entries(behaviours)) {
    const started = await origin(serverIdentity, clientCa.certificatePem, delay);
    servers.push(started.server);
    live.set(distributionId, {
      originId: "o",
      domainName: "127.0.0.1",
      httpsPort: started.port,
      presentedArn: "arn:aws:acm:us-east-1:111122223333:certificate/edge",
    });
  }
  const world: EdgeWorld = {
    cloudfront: { originsOf: (id) => [live.get(id)!] },
    acm: { presentable: () => client },
    cloudwatch: {
      record: (_namespace, _metric, dimensions, value) => {
        // The edge records one sample per request, never a statistic set.
        datapoints.push({
          distributionId: (dimensions as Record<string, string>).DistributionId!,
          value: value as number,
        });
      },
    },
  };
  const edge = new Edge({
    standins: world,
    distributionIds: Object.keys(behaviours),
    serverCaPem: serverCa.certificatePem,
    intervalMs: INTERVAL_MS,
    requestTimeoutMs: TIMEOUT_MS,
    maxInFlightPerOrigin: 4,
  });
  const started = Date.now();
  edge.start();
  await new Promise((resolve) => setTimeout(resolve, RUN_MS));
  elapsedMs = Date.now() - started;
  summary = await edge.stop();
}, 30_000);

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const tallyOf = (distributionId: string) => summary.origins.find((o) => o.distributionId === distributionId)!;

describe("the edge's traffic per origin", () => {
  it("keeps the healthy origins at the edge's request rate next to a slow and a hung origin", () => {
    // One request per interval: 20 a second. Half of it leaves room for a busy machine; a shared loop that
    // waited for the slowest origin managed one request per origin every 2-3 s.
    const expected = elapsedMs / INTERVAL_MS;
    for (const healthy of ["shop", "blog"]) {
      const tally = tallyOf(healthy);
      expect(tally.sent, healthy).toBeGreaterThan(expected / 2);
      expect(tally.refused, healthy).toBe(0);
      // Every whole second of the run, not just on average.
      const whole = tally.perSecond.filter((s) => s.second < Math.floor(elapsedMs / 1000));
      expect(whole.length, healthy).toBeGreaterThanOrEqual(3);
      for (const second of whole)
        expect(second.requests, `${healthy} second ${second.second}`).toBeGreaterThan(5);
    }
  });

  it("holds at most maxInFlightPerOrigin requests open to a slow origin, and they succeed late", () => {
    const slow = tallyOf("slow");
    // 4 open at a time, each 2 s: the first 4 answered at ~2 s, 4 more sent then and awaited by stop().
    expect(slow.sent).toBeGreaterThanOrEqual(4);
    expect(slow.sent).toBeLessThanOrEqual(4 * Math.ceil(elapsedMs / SLOW_MS));
    expect(slow.refused).toBe(0);
  });

  it("counts a hung origin's requests as refused and timed out, per second", () => {
    const hung = tallyOf("hung");
    expect(hung.sent).toBeGreaterThanOrEqual(4);
    expect(hung.timedOut).toBe(hung.sent);
    expect(hung.refused).toBe(hung.sent);
    expect(hung.perSecond.reduce((sum, s) => sum + s.timedOut, 0)).toBe(hung.timedOut);
    expect(summary.timedOut).toBe(hung.timedOut);
    expect(summary.refused).toBe(hung.refused);
    expect(summary.requests).toBe(summary.origins.reduce((sum, o) => sum + o.sent, 0));
  });

  it("publishes each request's outcome as its distribution's 5xx error rate", () => {
    const values = (id: string) =>
      new Set(datapoints.filter((d) => d.distributionId === id).map((d) => d.value));
    expect(values("shop")).toEqual(new Set([0]));
    expect(values("slow")).toEqual(new Set([0]));
    expect(values("hung")).toEqual(new Set([100]));
    expect(datapoints.length).toBe(summary.requests);
  });
});
