/**
 * Key pairs and certificate signing requests, generated inside the service. The private key leaves this
 * module only as PEM handed straight to the credential store; nothing here logs or returns it elsewhere.
 */
import type { SubjectAlternativeName, SupportedKeyAlgorithm } from "../core/certificate.ts";
import { subtle, x509 } from "./x509.ts";

const GENERATION: Record<SupportedKeyAlgorithm, RsaHashedKeyGenParams | EcKeyGenParams> = {
  EC_prime256v1: { name: "ECDSA", namedCurve: "P-256" },
  RSA_2048: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
};

const SIGNING: Record<SupportedKeyAlgorithm, Algorithm | EcdsaParams> = {
  EC_prime256v1: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  RSA_2048: { name: "RSASSA-PKCS1-v1_5" },
};

export async function generateKeyPair(keyAlgorithm: SupportedKeyAlgorithm): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(GENERATION[keyAlgorithm], true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

export function toGeneralNames(sans: readonly SubjectAlternativeName[]): x509.JsonGeneralNames {
  return sans.map((san) => ({ type: san.type === "uri" ? "url" : san.type, value: san.value }));
}

/** The subject to request: the replaced certificate's exact DN (DER order kept), or a DN string. */
export type SubjectSource = { certificatePem: string } | { name: string };

export function subjectOf(source: SubjectSource): x509.Name | string {
  return "certificatePem" in source
    ? new x509.X509Certificate(source.certificatePem).subjectName
    : source.name;
}

export interface CsrRequest {
  keyAlgorithm: SupportedKeyAlgorithm;
  subject: SubjectSource;
  sans: readonly SubjectAlternativeName[];
}

export interface GeneratedRequest {
  csrPem: string;
  privateKeyPem: string;
}

/** A new key of the requested algorithm and a CSR carrying the subject and SANs, signed by that key. */
export async function generateKeyAndCsr(request: CsrRequest): Promise<GeneratedRequest> {
  const keys = await generateKeyPair(request.keyAlgorithm);
  const extensions: x509.Extension[] = [];
  if (request.sans.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(toGeneralNames(request.sans)));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectOf(request.subject),
    keys,
    signingAlgorithm: SIGNING[request.keyAlgorithm],
    extensions,
  });
  return { csrPem: `${csr.toString("pem")}\n`, privateKeyPem: await privateKeyToPem(keys.privateKey) };
}
