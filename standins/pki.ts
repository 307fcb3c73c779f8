/**
 * An in-process certificate authority with real keys and real signatures, shared by the Private CA
 * stand-in, the tests and the sandbox. Extensions follow AWS Private CA's templates.
 */
import { randomBytes } from "node:crypto";
import type { SupportedKeyAlgorithm } from "../functions/core/certificate.ts";
import { generateKeyPair, privateKeyToPem } from "../functions/crypto/keys.ts";
import { subtle, x509 } from "../functions/crypto/x509.ts";

export const EKU = {
  clientAuth: "1.3.6.1.5.5.7.3.2",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/**
 * Key algorithms of a CA (Private CA's KeyAlgorithm spelling): the two CloudFront presents, and larger ones
 * a CA may well have (its leaves must then be of its family: ACM imports a leaf only of its CA's key type).
 */
export type CaKeyAlgorithm = SupportedKeyAlgorithm | "RSA_3072" | "RSA_4096" | "EC_secp384r1";

const LARGER_CA_KEYS: Record<
  Exclude<CaKeyAlgorithm, SupportedKeyAlgorithm>,
  RsaHashedKeyGenParams | EcKeyGenParams
> = {
  RSA_3072: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 3072,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  RSA_4096: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 4096,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  EC_secp384r1: { name: "ECDSA", namedCurve: "P-384" },
};

async function caKeyPair(keyAlgorithm: CaKeyAlgorithm): Promise<CryptoKeyPair> {
  if (keyAlgorithm === "RSA_2048" || keyAlgorithm === "EC_prime256v1") return generateKeyPair(keyAlgorithm);
  return (await subtle.generateKey(LARGER_CA_KEYS[keyAlgorithm], true, ["sign", "verify"])) as CryptoKeyPair;
}

/** What a CA's key signs with: SHA-256 with RSA or ECDSA, as the service asks Private CA to (SHA256WITH*). */
export function caSigningAlgorithm(keyAlgorithm: CaKeyAlgorithm): Algorithm {
  return keyAlgorithm.startsWith("RSA_")
    ? { name: "RSASSA-PKCS1-v1_5" }
    : ({ name: "ECDSA", hash: "SHA-256" } as EcdsaParams);
}

/** The leaf key a CA's client certificates get unless asked otherwise: one CloudFront presents, of its family. */
export function defaultLeafKeyAlgorithm(
  ca: Pick<CertificateAuthority, "keyAlgorithm">,
): SupportedKeyAlgorithm {
  return ca.keyAlgorithm.startsWith("RSA_") ? "RSA_2048" : "EC_prime256v1";
}

export interface CertificateAuthority {
  name: string;
  keyAlgorithm: CaKeyAlgorithm;
  keys: CryptoKeyPair;
  certificate: x509.X509Certificate;
  certificatePem: string;
  /** The CA's parents, issuing first, root last ("" for a root). */
  chainPem: string;
}

const DAY = 86_400_000;

export function randomSerial(): string {
  // Positive 128-bit serial (top bit cleared), as CAs issue them.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function pem(cert: x509.X509Certificate): string {
  return `${cert.toString("pem")}\n`;
}

export interface CaOptions {
  name: string;
  keyAlgorithm?: CaKeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
}

export async function createRootCa(options: CaOptions): Promise<CertificateAuthority> {
  const keyAlgorithm = options.keyAlgorithm ?? "EC_prime256v1";
  const keys = await caKeyPair(keyAlgorithm);
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: options.name,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + 3650 * DAY),
    keys,
    signingAlgorithm: caSigningAlgorithm(keyAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    name: options.name,
    keyAlgorithm,
    keys,
    certificate,
    certificatePem: pem(certificate),
    chainPem: "",
  };
}

export async function createSubordinateCa(
  parent: CertificateAuthority,
  options: CaOptions,
): Promise<CertificateAuthority> {
  const keyAlgorithm = options.keyAlgorithm ?? parent.keyAlgorithm;
  const keys = await caKeyPair(keyAlgorithm);
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: options.name,
    issuer: parent.certificate.subjectName,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + 1825 * DAY),
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: caSigningAlgorithm(parent.keyAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey),
    ],
  });
  return {
    name: options.name,
    keyAlgorithm,
    keys,
    certificate,
    certificatePem: pem(certificate),
    chainPem: parent.certificatePem + parent.chainPem,
  };
}

export interface LeafProfile {
  /** Extended key usages; EndEntityClientAuthCertificate/V1 uses [clientAuth]. Empty array = no EKU extension. */
  extendedKeyUsages?: string[];
  keyUsage?: number;
}

/** EndEntityClientAuthCertificate/V1: digitalSignature + keyEncipherment (critical), EKU clientAuth. */
export const CLIENT_AUTH_PROFILE: Required<LeafProfile> = {
  extendedKeyUsages: [EKU.clientAuth],
  keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
};

export interface LeafRequest {
  publicKey: CryptoKey | x509.PublicKey;
  subject: string | x509.Name;
  sanExtension?: x509.Extension;
  notBefore: Date;
  notAfter: Date;
  serial?: string;
  profile?: LeafProfile;
}

export async function signLeaf(
  ca: CertificateAuthority,
  request: LeafRequest,
): Promise<x509.X509Certificate> {
  const profile = { ...CLIENT_AUTH_PROFILE, ...request.profile };
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(profile.keyUsage, true),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
  ];
  if (profile.extendedKeyUsages.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(profile.extendedKeyUsages));
  }
  if (request.sanExtension) extensions.push(request.sanExtension);
  return x509.X509CertificateGenerator.create({
    serialNumber: request.serial ?? randomSerial(),
    subject: request.subject,
    issuer: ca.certificate.subjectName,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    publicKey: request.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: caSigningAlgorithm(ca.keyAlgorithm),
    extensions,
  });
}

export interface IssuedCredential {
  certificatePem: string;
  chainPem: string;
  privateKeyPem: string;
}

/**
 * A complete client credential in one call (fixtures, sandbox seeding). The key is of the CA's family unless
 * `keyAlgorithm` asks otherwise (a leaf of the other family is one ACM refuses to import).
 */
export async function issueClientCredential(
  ca: CertificateAuthority,
  options: {
    subject: string;
    dnsNames?: string[];
    keyAlgorithm?: SupportedKeyAlgorithm;
    notBefore?: Date;
    notAfter?: Date;
    profile?: LeafProfile;
  },
): Promise<IssuedCredential> {
  const keys = await generateKeyPair(options.keyAlgorithm ?? defaultLeafKeyAlgorithm(ca));
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const leaf = await signLeaf(ca, {
    publicKey: keys.publicKey,
    subject: options.subject,
    sanExtension: options.dnsNames?.length
      ? new x509.SubjectAlternativeNameExtension(
          options.dnsNames.map((value) => ({ type: "dns" as const, value })),
        )
      : undefined,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + 90 * DAY),
    profile: options.profile,
  });
  return {
    certificatePem: pem(leaf),
    chainPem: ca.certificatePem + ca.chainPem,
    privateKeyPem: await privateKeyToPem(keys.privateKey),
  };
}

/** A TLS server identity (serverAuth) for origins on loopback: DNS names and IP addresses as SANs. */
export async function issueServerCredential(
  ca: CertificateAuthority,
  options: { dnsNames?: string[]; ipAddresses?: string[]; subject?: string } = {},
): Promise<IssuedCredential> {
  const keys = await generateKeyPair("EC_prime256v1");
  const notBefore = new Date(Date.now() - 60_000);
  const names = [
    ...(options.dnsNames ?? ["localhost"]).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? ["127.0.0.1"]).map((value) => ({ type: "ip" as const, value })),
  ];
  const leaf = await signLeaf(ca, {
    publicKey: keys.publicKey,
    subject: options.subject ?? "CN=localhost",
    sanExtension: new x509.SubjectAlternativeNameExtension(names),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * DAY),
    profile: { extendedKeyUsages: [EKU.serverAuth] },
  });
  return {
    certificatePem: pem(leaf) + ca.certificatePem,
    chainPem: ca.certificatePem + ca.chainPem,
    privateKeyPem: await privateKeyToPem(keys.privateKey),
  };
}
