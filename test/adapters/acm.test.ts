/**
 * The ACM adapter's fleet listing against the model-checked stand-in: SearchCertificates pages within the
 * range AWS's model allows (MaxResults 1..500). Before, the scan asked for 1,000 a page, which AWS refuses
 * with ValidationException: every scan in an AWS account would have failed.
 */
import { ImportCertificateCommand } from "@aws-sdk/client-acm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter, SEARCH_CERTIFICATES_PAGE_SIZE } from "../../functions/adapters/acm.ts";
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
