/**
 * Acknowledgements (functions/core/acknowledgement.ts): a probe certificate's chain against an installed
 * bundle file with OpenSSL's rules (real CAs, real signatures),
 * which probe certificates the trust phase publishes, and the preflight's verdict on an acknowledgement.
 */
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type Acknowledgement,
  ackKey,
  describeAcknowledgement,
  isAckId,
  judgeAcknowledgement,
  parseCertificates,
  selectProbeCertificates,
  unprobedCaKeys,
  verifyAgainstBundle,
} from "../../functions/core/acknowledgement.ts";
import { fingerprintOf, keyFingerprintOf } from "../../functions/core/pem.ts";
import { createRootCa, createSubordinateCa, issueClientCredential } from "../../standins/pki.ts";

const DAY = 86_400_000;
const now = new Date();

async function pki() {
  const root = await createRootCa({ name: "CN=Ack Root, O=Acme" });
  const issuer = await createSubordinateCa(root, { name: "CN=Ack Issuing CA, O=Acme" });
  // The same name, another key: a CA re-keyed under its name is another CA.
  const rekeyed = await createSubordinateCa(root, { name: "CN=Ack Issuing CA, O=Acme" });
  const otherRoot = await createRootCa({ name: "CN=Other Root, O=Acme" });
  const other = await createSubordinateCa(otherRoot, { name: "CN=Other Issuing CA, O=Acme" });
  const leaf = await issueClientCredential(issuer, { subject: "CN=edge, O=Acme" });
  const rekeyedLeaf = await issueClientCredential(rekeyed, { subject: "CN=edge, O=Acme" });
  const otherLeaf = await issueClientCredential(other, { subject: "CN=edge, O=Acme" });
  const expired = await issueClientCredential(issuer, {
    subject: "CN=old edge, O=Acme",
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  return { root, issuer, rekeyed, otherRoot, other, leaf, rekeyedLeaf, otherLeaf, expired };
}

const x509 = (pem: string) => new X509Certificate(pem);

describe("a probe certificate against the installed file", () => {
  it("verifies through the file's intermediate to its self-signed root, naming the issuer's key", async () => {
    const p = await pki();
    const file = parseCertificates(p.issuer.certificatePem + p.root.certificatePem);
    expect(verifyAgainstBundle(x509(p.leaf.certificatePem), file, now)).toEqual({
      verified: true,
      issuerKeySha256: keyFingerprintOf(x509(p.issuer.certificatePem)),
      depth: 2,
    });
  });

  it("does not verify without its issuer, without its root, re-keyed under the same name, or expired", async () => {
    const p = await pki();
    const leaf = x509(p.leaf.certificatePem);
    expect(verifyAgainstBundle(leaf, parseCertificates(p.root.certificatePem), now)).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/no CA certificate in the file signed it/),
    });
    // OpenSSL (as nginx runs it) wants a self-signed root in the store: an intermediate alone is not enough.
    expect(verifyAgainstBundle(leaf, parseCertificates(p.issuer.certificatePem), now)).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/no path of valid CA certificates/),
    });
    const rekeyedFile = parseCertificates(p.rekeyed.certificatePem + p.root.certificatePem);
    expect(verifyAgainstBundle(leaf, rekeyedFile, now).verified).toBe(false);
    expect(verifyAgainstBundle(x509(p.rekeyedLeaf.certificatePem), rekeyedFile, now).verified).toBe(true);
    const full = parseCertificates(p.issuer.certificatePem + p.root.certificatePem);
    expect(verifyAgainstBundle(x509(p.expired.certificatePem), full, now)).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/^not valid at /),
    });
  });

  it("finds the right one of two CAs of the same name (the old key and the re-keyed one both in the file)", async () => {
    const p = await pki();
    const file = parseCertificates(
      p.rekeyed.certificatePem + p.issuer.certificatePem + p.root.certificatePem,
    );
    expect(verifyAgainstBundle(x509(p.leaf.certificatePem), file, now)).toMatchObject({
      verified: true,
      issuerKeySha256: keyFingerprintOf(x509(p.issuer.certificatePem)),
    });
  });

  it("lists the CA keys no verified certificate came from", async () => {
    const p = await pki();
    const file = parseCertificates(
      p.issuer.certificatePem + p.root.certificatePem + p.other.certificatePem + p.otherRoot.certificatePem,
    );
    const issuerKey = keyFingerprintOf(x509(p.issuer.certificatePem));
    // Roots are covered by their intermediates; the other issuing CA has no probe from it.
    expect(unprobedCaKeys(file, [issuerKey])).toEqual([keyFingerprintOf(x509(p.other.certificatePem))]);
  });
});

describe("the probe certificates the trust phase publishes", () => {
  it("the wanted ones that verify, earlier ones that still verify, sorted; the rest named or dropped", async () => {
    const p = await pki();
    const bundlePem = p.issuer.certificatePem + p.root.certificatePem;
    const second = await issueClientCredential(p.issuer, { subject: "CN=edge 2, O=Acme" });
    const chosen = selectProbeCertificates({
      bundlePem,
      wanted: [p.leaf.certificatePem, p.otherLeaf.certificatePem],
      previousPem: second.certificatePem + p.rekeyedLeaf.certificatePem + p.expired.certificatePem,
      now,
    });
    const expected = [p.leaf, second].map((c) => fingerprintOf(x509(c.certificatePem))).sort();
    expect(chosen.fingerprints).toEqual(expected);
    expect(chosen.certificates).toBe(2);
    expect(parseCertificates(chosen.pem).map(fingerprintOf)).toEqual(expected);
    expect(chosen.omitted).toEqual([
      expect.stringMatching(
        new RegExp(`^${fingerprintOf(x509(p.otherLeaf.certificatePem))}: no CA certificate in the file`),
      ),
    ]);
    expect(chosen.pem).not.toMatch(/PRIVATE KEY/);
  });
});

describe("the preflight's verdict on an acknowledgement", () => {
  const bundleSha256 = "a".repeat(64);
  const newCertificateSha256 = "b".repeat(64);
  const ack = (overrides: Partial<Acknowledgement> = {}): Acknowledgement => ({
    version: 1,
    originId: "shop-api",
    host: "origin-1.internal",
    bundleSha256,
    installedAt: "2026-12-01T10:00:00.000Z",
    reloadedAt: "2026-12-01T10:00:01.000Z",
    acknowledgedAt: "2026-12-01T10:00:02.000Z",
    caKeyFingerprints: ["c".repeat(64)],
    probes: [{ certificateSha256: newCertificateSha256, issuerKeySha256: "c".repeat(64) }],
    unprobedCaKeyFingerprints: [],
    checks: { verified: true, reloaded: true },
    ...overrides,
  });
  const expected = { bundleSha256, newCertificateSha256 };
  const facts = {
    bundleSha256,
    host: "origin-1.internal",
    reloadedAt: "2026-12-01T10:00:01.000Z",
    acknowledgedAt: "2026-12-01T10:00:02.000Z",
  };

  it.each([
    ["this bundle, naming the new certificate", ack(), true, "Acknowledged"],
    ["none yet", undefined, false, "Missing"],
    ["not JSON", "garbage", false, "Unreadable"],
    ["another version", { ...ack(), version: 2 }, false, "Unreadable"],
    ["checks not passed", { ...ack(), checks: { verified: true, reloaded: false } }, false, "Unreadable"],
    ["an older bundle", ack({ bundleSha256: "d".repeat(64), probes: [] }), false, "OtherBundle"],
    // The reconciliation (or another rotation) republished the bundle and its probes after this rotation's
    // trust phase; the host installed that one and the new certificate verified against it.
    [
      "a later bundle, naming the new certificate",
      ack({ bundleSha256: "e".repeat(64) }),
      true,
      "Acknowledged",
    ],
    ["this bundle, without the new certificate", ack({ probes: [] }), false, "NewCertificateNotVerified"],
  ] as const)("%s", (_name, raw, accepted, reason) => {
    const check = judgeAcknowledgement("shop-api", raw, expected);
    expect(check).toMatchObject({ ackId: "shop-api", accepted, reason });
    if (reason === "Acknowledged" || reason === "NewCertificateNotVerified")
      expect(check).toMatchObject({ ...facts, bundleSha256: (raw as { bundleSha256: string }).bundleSha256 });
  });

  it("times come back as ISO 8601 UTC whatever the host wrote", () => {
    const check = judgeAcknowledgement(
      "shop-api",
      ack({ reloadedAt: "Tue, 01 Dec 2026 10:00:01 GMT", acknowledgedAt: "2026-12-01T11:00:02+01:00" }),
      expected,
    );
    expect(check).toMatchObject({
      reloadedAt: "2026-12-01T10:00:01.000Z",
      acknowledgedAt: "2026-12-01T10:00:02.000Z",
    });
  });

  it("says why one does not count", () => {
    expect(describeAcknowledgement(judgeAcknowledgement("shop-api", undefined, expected))).toBe(
      "no acknowledgement acks/shop-api.json",
    );
    expect(
      describeAcknowledgement(
        judgeAcknowledgement("shop-api", ack({ bundleSha256: "d".repeat(64), probes: [] }), expected),
      ),
    ).toBe(`acks/shop-api.json acknowledges bundle ${"d".repeat(16)}…, not this rotation's`);
  });

  it("ids are plain names", () => {
    expect(["shop-api", "a", "x.y_z-1", "A".repeat(128)].every(isAckId)).toBe(true);
    expect(["", ".", "..", "a/b", "a b", "A".repeat(129), "ü"].some(isAckId)).toBe(false);
    expect(ackKey("shop-api")).toBe("acks/shop-api.json");
  });
});
