/**
 * The ACM adapter's fleet listing against the model-checked stand-in: SearchCertificates pages within the
 * range AWS's model allows (MaxResults 1..500). Before, the scan asked for 1,000 a page, which AWS refuses
 * with ValidationException: every scan in an AWS account would have failed. And the import: one attempt, a
 * throttle answered as ImportThrottledError (the workflow re-slots it, functions/workflow/phases/issue.ts).
 */
import { ImportCertificateCommand } from "@aws-sdk/client-acm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter, Pacer, SEARCH_CERTIFICATES_PAGE_SIZE } from "../../functions/adapters/acm.ts";
import { ImportThrottledError } from "../../functions/adapters/errors.ts";
import { generateKeyPair, privateKeyToPem } from "../../functions/crypto/keys.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { createRootCa, createSubordinateCa, signLeaf } from "../../standins/pki.ts";

const CERTIFICATES = SEARCH_CERTIFICATES_PAGE_SIZE + 1;
let s: Standins;

beforeAll(async () => {
  s = await startStandins({ acmImportsPerSecond: 100_000 });
  const root = await createRootCa({ name: "CN=Paging Root, O=Acme" });
  const ca = await createSubordinateCa(root, { name: "CN=Paging Client CA, O=Acme" });
  // One key for every certificate: what is measured is the listing, not key generation.
  const keys = await generateKeyPair("EC_prime256v1");
  const keyPem = await privateKeyToPem(keys.privateKey);
  const acm = s.clients().acm;
  const now = Date.now();
  for (let i = 0; i < CERTIFICATES; i += 1) {
    const leaf = await signLeaf(ca, {
      publicKey: keys.publicKey,
      subject: `CN=client-${i}.acme.example, O=Acme`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 90 * 86_400_000),
    });
    await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(leaf.toString("pem")),
        PrivateKey: Buffer.from(keyPem),
        CertificateChain: Buffer.from(ca.certificatePem + root.certificatePem),
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe("AcmAdapter.searchClientCertificates", () => {
  it("pages SearchCertificates at 500, the most AWS's model allows, and finds every certificate", async () => {
    expect(SEARCH_CERTIFICATES_PAGE_SIZE).toBe(500);
    const before = s.server.count("acm", "SearchCertificates");
    const listed = await new AcmAdapter(s.clients().acm).searchClientCertificates();
    expect(listed).toHaveLength(CERTIFICATES);
    expect(new Set(listed.map((c) => c.arn)).size).toBe(CERTIFICATES);
    // 501 certificates: a full page of 500 and one more.
    expect(s.server.count("acm", "SearchCertificates") - before).toBe(2);
  });
});

describe("AcmAdapter.importCertificate", () => {
  it("sends the import once with the workflow's import client: a throttle is ImportThrottledError, not an SDK retry", async () => {
    const root = await createRootCa({ name: "CN=Import Root, O=Acme" });
    const ca = await createSubordinateCa(root, { name: "CN=Import Client CA, O=Acme" });
    const keys = await generateKeyPair("EC_prime256v1");
    const leaf = await signLeaf(ca, {
      publicKey: keys.publicKey,
      subject: "CN=throttled.acme.example, O=Acme",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 30 * 86_400_000),
    });
    const request = {
      certificatePem: leaf.toString("pem"),
      chainPem: ca.certificatePem + root.certificatePem,
      privateKeyPem: await privateKeyToPem(keys.privateKey),
      lineage: { rotationId: "r-throttled", credential: "mtls-rotator/credential/throttled" },
    };
    const clients = s.clients();
    const acm = new AcmAdapter(clients.acm, new Pacer(0), clients.acmImport);
    const before = s.server.count("acm", "ImportCertificate");
    s.server.faults.inject({ service: "acm", operation: "ImportCertificate", kind: "throttle" });
    const refused = await acm.importCertificate(request).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ImportThrottledError);
    expect(s.server.count("acm", "ImportCertificate") - before).toBe(1);
    // The next call (its next slot) imports.
    expect(await acm.importCertificate(request)).toMatch(/^arn:aws:acm:us-east-1:/);
    expect(s.server.count("acm", "ImportCertificate") - before).toBe(2);
  });

  it("the general ACM client still retries throttling (5 attempts) for every other call", async () => {
    const before = s.server.count("acm", "SearchCertificates");
    s.server.faults.inject({ service: "acm", operation: "SearchCertificates", kind: "throttle", times: 2 });
    await new AcmAdapter(s.clients().acm).findImported({
      serial: "4f1a2b3c4d5e6f708192a3b4c5d6e7f8",
      notAfter: new Date(),
    });
    expect(s.server.count("acm", "SearchCertificates") - before).toBe(3);
  });
});
