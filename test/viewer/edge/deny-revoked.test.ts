/**
 * The shipped connection function (functions/viewer/edge/deny-revoked.js), run as shipped in its own V8
 * context against the KeyValueStore stand-in: the serials it finds are the ones the revocation adapter wrote
 * over the KeyValueStore API (model-checked), into the same in-memory store the edge reads.
 *
 * Viewer certificates are real ones from the fixture CA; their serials are read with node:crypto's
 * X509Certificate. What CloudFront passes as `clientCertInfo.serialNumber` is assumed to be hexadecimal
 * (colons and case free): the tests that depend on it say "assumed" in their titles.
 */
import { X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KeyValueStoreError,
  keyValueStoreHttpSend,
  ViewerRevocations,
} from "../../../functions/adapters/viewer-revocations.ts";
import { normalViewerSerial } from "../../../functions/core/viewer-serial.ts";
import { KeyValueStoreStandin } from "../../../standins/cloudfront-keyvaluestore.ts";
import { issueClientCredential, issueServerCredential } from "../../../standins/pki.ts";
import { StandinServer } from "../../../standins/server.ts";
import { loadConnectionFunction } from "../../support/connection-function.ts";
import { mtlsRequest } from "../../support/mtls-client.ts";
import { pki } from "../../support/pki-fixtures.ts";

const FUNCTION_FILE = join(import.meta.dirname, "../../../functions/viewer/edge/deny-revoked.js");

let server: StandinServer;
let stores: KeyValueStoreStandin;
let storeArn: string;
let revocations: ViewerRevocations;
/** Serials (as X509Certificate gives them: upper-case hex) of three real viewer certificates. */
let serials: string[];

beforeAll(async () => {
  stores = new KeyValueStoreStandin();
  server = new StandinServer([stores]);
  const endpoint = await server.listen();
  storeArn = stores.createStore("viewer-revocations");
  // The stand-in checks no signatures: the test client signs nothing (production needs SigV4A).
  revocations = new ViewerRevocations({
    send: keyValueStoreHttpSend({ endpoint, sign: async () => ({}) }),
    storeArn,
  });
  const { issuing } = await pki();
  serials = await Promise.all(
    ["viewer-1", "viewer-2", "viewer-3"].map(async (name) => {
      const credential = await issueClientCredential(issuing, { subject: `CN=${name}` });
      return new X509Certificate(credential.certificatePem).serialNumber;
    }),
  );
});

afterAll(async () => {
  await server.close();
});

function colonSpelled(hex: string): string {
  return (hex.length % 2 ? `0${hex}` : hex).match(/../g)!.join(":");
}

describe("deny-revoked connection function", () => {
  it("denies a viewer whose serial the adapter revoked and allows another (assumed: serialNumber is hex)", async () => {
    const [revoked = "", other = ""] = serials;
    await revocations.revoke(revoked, "key lost");
    const edge = loadConnectionFunction(FUNCTION_FILE, stores.edgeReader(storeArn));
    const denied = await edge.connect({ serialNumber: revoked });
    expect(denied.decision).toBe("deny");
    expect(denied.logs.join("\n")).toContain("revoked");
    expect((await edge.connect({ serialNumber: other })).decision).toBe("allow");
  });

  it("denies the revoked serial however it is spelled: colons, case, leading zeros (assumed: serialNumber is hex)", async () => {
    const serial = serials[1] ?? "";
    // Revoked as an operator pastes it from openssl: colon-separated upper case with the DER sign octet.
    await revocations.revoke(`00:${colonSpelled(serial).toUpperCase()}`);
    const edge = loadConnectionFunction(FUNCTION_FILE, stores.edgeReader(storeArn));
    for (const spelling of [
      serial,
      serial.toLowerCase(),
      colonSpelled(serial),
      colonSpelled(serial).toUpperCase(),
      `00${serial}`,
      `00:${colonSpelled(serial)}`,
    ]) {
      expect((await edge.connect({ serialNumber: spelling })).decision, spelling).toBe("deny");
    }
    expect(stores.keys(storeArn)).toContain(normalViewerSerial(serial));
  });

  it("agrees with the writer's normal form on every spelling (the function repeats core's rule)", async () => {
    const seen: string[] = [];
    const recording = {
      exists: async (key: string) => {
        seen.push(key);
        return false;
      },
      get: async () => "",
    };
    const edge = loadConnectionFunction(FUNCTION_FILE, recording);
    const spellings = [...serials, "00", "0:0:01", "AB:cd:EF", " 0a 0b ", "7F".repeat(20)];
    for (const spelling of spellings) await edge.connect({ serialNumber: spelling });
    expect(seen).toEqual(spellings.map((s) => normalViewerSerial(s)));
  });

  it("allows a viewer again once its serial is reinstated", async () => {
    const serial = serials[2] ?? "";
    await revocations.revoke(serial);
    const edge = loadConnectionFunction(FUNCTION_FILE, stores.edgeReader(storeArn));
    expect((await edge.connect({ serialNumber: serial })).decision).toBe("deny");
    expect(await revocations.reinstate(colonSpelled(serial))).toBe(true);
    expect((await edge.connect({ serialNumber: serial })).decision).toBe("allow");
  });

  it("fails closed: a revocation list it cannot read denies every viewer", async () => {
    const broken = {
      exists: async () => {
        throw new KeyValueStoreError("InternalServerException", 500, "store unreadable");
      },
      get: async () => "",
    };
    const edge = loadConnectionFunction(FUNCTION_FILE, broken);
    const out = await edge.connect({ serialNumber: serials[0] ?? "" });
    expect(out.decision).toBe("deny");
    expect(out.logs).toEqual(["deny: revocation list unreadable"]);
  });

  it("fails closed: no serial, or one that is not hex, is denied without reading the store", async () => {
    let reads = 0;
    const counting = {
      exists: async () => {
        reads++;
        return false;
      },
      get: async () => "",
    };
    const edge = loadConnectionFunction(FUNCTION_FILE, counting);
    for (const info of [
      undefined,
      {},
      { serialNumber: "" },
      { serialNumber: "12345z" },
      { serialNumber: 42 },
    ]) {
      expect((await edge.connect(info as never)).decision, JSON.stringify(info)).toBe("deny");
    }
    expect(reads).toBe(0);
  });

  it("decides on the certificate a real mTLS handshake presents: the revoked viewer is cut off, another served", async () => {
    const { issuing } = await pki();
    const anchors = issuing.certificatePem + issuing.chainPem;
    const server = await issueServerCredential(issuing, {
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    const [revokedViewer, otherViewer] = await Promise.all(
      ["viewer-tls-revoked", "viewer-tls-other"].map((name) =>
        issueClientCredential(issuing, { subject: `CN=${name}` }),
      ),
    );
    // The serial exactly as the TLS stack reports the peer's certificate (Node: upper-case hex).
    const revokedSerial = new X509Certificate(revokedViewer!.certificatePem).serialNumber;
    await revocations.revoke(colonSpelled(revokedSerial));
    const edge = loadConnectionFunction(FUNCTION_FILE, stores.edgeReader(storeArn));
    const https = createServer(
      {
        cert: server.certificatePem + server.chainPem,
        key: server.privateKeyPem,
        ca: anchors,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        void edge.connect({ serialNumber: peer.serialNumber }).then(({ decision }) => {
          if (decision === "deny") req.socket.destroy();
          else res.end("served");
        });
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    try {
      const port = (https.address() as AddressInfo).port;
      const viewer = (credential: typeof otherViewer) => ({
        port,
        caPem: anchors,
        certificatePem: credential!.certificatePem,
        chainPem: credential!.chainPem,
        privateKeyPem: credential!.privateKeyPem,
      });
      expect(await mtlsRequest(viewer(otherViewer))).toMatchObject({ status: 200, body: "served" });
      await expect(mtlsRequest(viewer(revokedViewer))).rejects.toThrow();
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it("the harness refuses a file that imports anything besides 'cloudfront'", () => {
    expect(() =>
      loadConnectionFunction(
        join(import.meta.dirname, "../../../functions/core/viewer-serial.ts"),
        stores.edgeReader(storeArn),
      ),
    ).toThrow(/cloudfront/);
  });
});
