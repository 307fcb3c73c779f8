/**
 * A configured CA for tests whose fleet is a listing (no certificate bodies): the CA as tracking knows it
 * (name and key) and a client certificate its key really signed, which a fake `readCertificate` answers
 * for every certificate that names it (the scan reads only those).
 */
import { X509Certificate } from "node:crypto";
import { type ManagedAuthority, managedAuthorityOf } from "../../functions/core/tracking.ts";
import { createRootCa, issueClientCredential } from "../../standins/pki.ts";

export interface ManagedAuthorityFixture {
  authority: ManagedAuthority;
  /** A client certificate the CA's key signed (PEM). */
  leafPem: string;
}

export async function managedAuthorityFixture(
  name = "CN=Acme Origin Client CA, O=Acme",
): Promise<ManagedAuthorityFixture> {
  const ca = await createRootCa({ name, keyAlgorithm: "EC_prime256v1" });
  const { certificatePem: leafPem } = await issueClientCredential(ca, { subject: "CN=origin-client" });
  return { authority: managedAuthorityOf(new X509Certificate(ca.certificatePem)), leafPem };
}
