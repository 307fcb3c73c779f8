/**
 * Certificate fixtures for the pure core's tests: real keys, real signatures (standins/pki.ts), fixed
 * dates relative to a fixed NOW. Every builder is memoized, so a test file generates each key once; RSA
 * keys are generated only when a test asks for them.
 */
import { webcrypto } from "node:crypto";
import type { CertificateUnderTest } from "../../functions/core/validation.ts";
import { generateKeyPair, privateKeyToPem } from "../../functions/crypto/keys.ts";
import { x509 } from "../../functions/crypto/x509.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  EKU,
  type LeafProfile,
  randomSerial,
  signLeaf,
} from "../../standins/pki.ts";

/** The fixed "now" every fixture and assertion is relative to. */
export const NOW = new Date("2026-06-01T00:00:00Z");
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** NOW shifted by a number of days (fractions allowed). */
export function daysFromNow(days: number): Date {
  return new Date(NOW.getTime() + days * DAY);
}

/** NOW shifted by milliseconds. */
export function msFromNow(ms: number): Date {
  return new Date(NOW.getTime() + ms);
}

/** Memoize an async builder: the first call builds, every later call gets the same promise. */
export function memo<T>(build: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= build();
    return cached;
  };
}

/** Key kinds a fixture leaf can carry: the two CloudFront accepts and two it refuses. */
export type FixtureKeyKind = "P-256" | "RSA-2048" | "P-384" | "RSA-4096";

const KEY_PARAMS: Record<FixtureKeyKind, RsaHashedKeyGenParams | EcKeyGenParams> = {
  "P-256": { name: "ECDSA", namedCurve: "P-256" },
  "P-384": { name: "ECDSA", namedCurve: "P-384" },
  "RSA-2048": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  "RSA-4096": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 4096,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
};

export async function generateFixtureKeys(kind: FixtureKeyKind): Promise<CryptoKeyPair> {
  if (kind === "P-256") return generateKeyPair("EC_prime256v1");
  if (kind === "RSA-2048") return generateKeyPair("RSA_2048");
  return (await webcrypto.subtle.generateKey(KEY_PARAMS[kind], true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The key of a fixture leaf, exported PEM included. */
export interface FixtureKey {
  kind: FixtureKeyKind;
  keys: CryptoKeyPair;
  privateKeyPem: string;
}

const keyCache = new Map<FixtureKeyKind, Promise<FixtureKey>>();

/** One cached key per kind (leaves that need a distinct key pass `freshKey: true`). */
export function fixtureKey(kind: FixtureKeyKind): Promise<FixtureKey> {
  let cached = keyCache.get(kind);
  if (!cached) {
    cached = newFixtureKey(kind);
    keyCache.set(kind, cached);
  }
  return cached;
}

export async function newFixtureKey(kind: FixtureKeyKind): Promise<FixtureKey> {
  const keys = await generateFixtureKeys(kind);
  return { kind, keys, privateKeyPem: await privateKeyToPem(keys.privateKey) };
}

// ---------------------------------------------------------------------------------------------------------
// Certificate authorities

export interface FixturePki {
  /** Root of the configured Private CA hierarchy. */
  root: CertificateAuthority;
  /** The issuing CA under `root` that signs client certificates. */
  issuing: CertificateAuthority;
  /** Another issuing CA under the same root (a sibling of `issuing`). */
  sibling: CertificateAuthority;
  /** A root with no relation to `root`. */
  unrelated: CertificateAuthority;
}

export const ROOT_NAME = "CN=Fixture Root CA, O=mtls-rotator tests";
export const ISSUING_NAME = "CN=Fixture Issuing CA, O=mtls-rotator tests";
export const SIBLING_NAME = "CN=Fixture Sibling CA, O=mtls-rotator tests";
export const UNRELATED_NAME = "CN=Unrelated Root CA, O=Somebody Else";

export const pki = memo(async (): Promise<FixturePki> => {
  const root = await createRootCa({
    name: ROOT_NAME,
    notBefore: daysFromNow(-365),
    notAfter: daysFromNow(3650),
  });
  const caWindow = { notBefore: daysFromNow(-180), notAfter: daysFromNow(1000) };
  const issuing = await createSubordinateCa(root, { name: ISSUING_NAME, ...caWindow });
  const sibling = await createSubordinateCa(root, { name: SIBLING_NAME, ...caWindow });
  const unrelated = await createRootCa({
    name: UNRELATED_NAME,
    notBefore: daysFromNow(-30),
    notAfter: daysFromNow(3650),
  });
  return { root, issuing, sibling, unrelated };
});

export const ISSUING_RSA_NAME = "CN=Fixture Issuing RSA CA, O=mtls-rotator tests";

/**
 * An RSA-2048 issuing CA under the same root as `issuing`: where RSA client certificates come from (AWS
 * imports a certificate into ACM only with its signing CA's key type). Built only when a test asks.
 */
export const rsaIssuing = memo(async () =>
  createSubordinateCa((await pki()).root, {
    name: ISSUING_RSA_NAME,
    keyAlgorithm: "RSA_2048",
    notBefore: daysFromNow(-180),
    notAfter: daysFromNow(1000),
  }),
);

/** The issuing CA of a leaf key: the RSA one for RSA keys, otherwise the (P-256) issuing CA. */
export async function issuingFor(key: FixtureKeyKind): Promise<CertificateAuthority> {
  return key.startsWith("RSA") ? rsaIssuing() : (await pki()).issuing;
}

/** A self-signed P-256 CA valid from 30 days ago, for a year unless told otherwise. */
export function smallCa(
  name: string,
  window: { notBefore?: Date; notAfter?: Date } = {},
): Promise<CertificateAuthority> {
  return createRootCa({
    name,
    notBefore: window.notBefore ?? daysFromNow(-30),
    notAfter: window.notAfter ?? daysFromNow(335),
  });
}

/** `count` distinct small CAs named "CN=Fixture CA 01" ... in parallel. */
export function manySmallCas(count: number): Promise<CertificateAuthority[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => smallCa(`CN=Fixture CA ${String(i + 1).padStart(2, "0")}`)),
  );
}

/** A DNS name of exactly 60 characters: the padding unit of the oversize fixtures. */
function paddingName(i: number): string {
  const head = `pad-${String(i).padStart(5, "0")}.`;
  const tail = ".example";
  return head + "x".repeat(60 - head.length - tail.length) + tail;
}

function paddingSans(count: number): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    Array.from({ length: count }, (_, i) => ({ type: "dns" as const, value: paddingName(i) })),
  );
}

/**
 * A self-signed CA made big by `sanCount` 60-character DNS names (each adds about 84 bytes of PEM), for the
 * size limits of trust targets.
 */
export async function paddedCa(name: string, sanCount: number): Promise<CertificateAuthority> {
  const keys = await generateKeyPair("EC_prime256v1");
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: daysFromNow(-30),
    notAfter: daysFromNow(335),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      paddingSans(sanCount),
    ],
  });
  return {
    name,
    keyAlgorithm: "EC_prime256v1",
    keys,
    certificate,
    certificatePem: `${certificate.toString("pem")}\n`,
    chainPem: "",
  };
}

// ---------------------------------------------------------------------------------------------------------
// Client credentials

export type FixtureSan =
  | { type: "dns"; value: string }
  | { type: "uri"; value: string }
  | { type: "email"; value: string }
  | { type: "ip"; value: string };

export interface LeafOptions {
  subject?: string;
  key?: FixtureKeyKind;
  /** Generate a key for this leaf alone instead of the shared one of its kind. */
  freshKey?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  profile?: LeafProfile;
  sans?: FixtureSan[];
  /** Raw SAN extension (overrides `sans`), for the oversize fixture. */
  sanExtension?: x509.Extension;
  serial?: string;
}

export const CLIENT_SUBJECT = "CN=origin-client.example.com, O=mtls-rotator tests";

/** A client credential signed by `ca`, chain = `ca` and its parents; defaults: P-256, valid NOW-1d..NOW+89d. */
export async function buildLeaf(
  ca: CertificateAuthority,
  options: LeafOptions = {},
): Promise<CertificateUnderTest> {
  const kind = options.key ?? "P-256";
  const key = options.freshKey ? await newFixtureKey(kind) : await fixtureKey(kind);
  const sans = options.sans ?? [{ type: "dns", value: "origin-client.example.com" }];
  const sanExtension =
    options.sanExtension ??
    (sans.length > 0
      ? new x509.SubjectAlternativeNameExtension(
          sans.map((san) => ({ type: san.type === "uri" ? ("url" as const) : san.type, value: san.value })),
        )
      : undefined);
  const leaf = await signLeaf(ca, {
    publicKey: key.keys.publicKey,
    subject: options.subject ?? CLIENT_SUBJECT,
    sanExtension,
    notBefore: options.notBefore ?? daysFromNow(-1),
    notAfter: options.notAfter ?? daysFromNow(89),
    profile: options.profile,
    serial: options.serial,
  });
  return {
    certificatePem: `${leaf.toString("pem")}\n`,
    chainPem: ca.certificatePem + ca.chainPem,
    privateKeyPem: key.privateKeyPem,
  };
}

/** The good client credentials, issued by the issuing CA of their key type. */
export const goodP256 = memo(async () => buildLeaf((await pki()).issuing, { key: "P-256" }));
export const goodRsa2048 = memo(async () => buildLeaf(await rsaIssuing(), { key: "RSA-2048" }));

/** Builders of bad credentials, each wrong in exactly one way (all issued by the issuing CA unless named). */
export const badCredentials = {
  /** A good certificate presented with somebody else's private key. */
  mismatchedKey: async (): Promise<CertificateUnderTest> => {
    const good = await goodP256();
    const other = await newFixtureKey("P-256");
    return { ...good, privateKeyPem: other.privateKeyPem };
  },
  /** A key CloudFront refuses (RSA-4096 or P-384), from the issuing CA of its key type. */
  unsupportedKey: async (kind: "RSA-4096" | "P-384"): Promise<CertificateUnderTest> =>
    buildLeaf(await issuingFor(kind), { key: kind }),
  serverAuthOnly: async () =>
    buildLeaf((await pki()).issuing, { profile: { extendedKeyUsages: [EKU.serverAuth] } }),
  noEku: async () => buildLeaf((await pki()).issuing, { profile: { extendedKeyUsages: [] } }),
  expired: async () =>
    buildLeaf((await pki()).issuing, { notBefore: daysFromNow(-91), notAfter: daysFromNow(-1) }),
  notYetValid: async () =>
    buildLeaf((await pki()).issuing, { notBefore: daysFromNow(1), notAfter: daysFromNow(91) }),
  /** Valid now, but only for one more hour. */
  oneHourLeft: async () =>
    buildLeaf((await pki()).issuing, { notBefore: msFromNow(-HOUR), notAfter: msFromNow(HOUR) }),
  /** The issuing CA's own certificate and key presented as a client certificate. */
  caAsLeaf: async (): Promise<CertificateUnderTest> => {
    const { issuing } = await pki();
    return {
      certificatePem: issuing.certificatePem,
      chainPem: issuing.chainPem,
      privateKeyPem: await privateKeyToPem(issuing.keys.privateKey),
    };
  },
  /** root -> 3 subordinate CAs -> leaf: 4 CA certificates above the leaf. */
  chainOfFourCas: async (): Promise<CertificateUnderTest> => {
    const { root } = await pki();
    let ca = root;
    for (const level of [1, 2, 3]) {
      ca = await createSubordinateCa(ca, {
        name: `CN=Fixture Level ${level} CA`,
        notBefore: daysFromNow(-100),
        notAfter: daysFromNow(900),
      });
    }
    return buildLeaf(ca);
  },
  /** A leaf over CloudFront's 96 KB certificate limit (1,300 padding SANs). */
  oversizeCertificate: async () => buildLeaf((await pki()).issuing, { sanExtension: paddingSans(1300) }),
  /** A good leaf whose chain is padded with copies of the issuing CA past the 64 KB chain limit. */
  oversizeChain: async (): Promise<CertificateUnderTest> => {
    const good = await goodP256();
    const { issuing } = await pki();
    return {
      ...good,
      chainPem: issuing.certificatePem.repeat(Math.ceil((65 * 1024) / issuing.certificatePem.length)),
    };
  },
  /** A leaf signed by the issuing CA's sibling (same root). */
  siblingIssued: async () => buildLeaf((await pki()).sibling),
  /** A leaf from a CA outside the configured hierarchy. */
  unrelatedIssuer: async () => buildLeaf((await pki()).unrelated),
  /** A good leaf whose chain lists the root before the issuing CA. */
  chainOutOfOrder: async (): Promise<CertificateUnderTest> => {
    const good = await goodP256();
    const { root, issuing } = await pki();
    return { ...good, chainPem: root.certificatePem + issuing.certificatePem };
  },
  /** A leaf whose issuing CA expired yesterday (the leaf itself claims to be valid). */
  expiredIssuer: async (): Promise<CertificateUnderTest> => {
    const { root } = await pki();
    const stale = await createSubordinateCa(root, {
      name: "CN=Fixture Expired Issuing CA",
      notBefore: daysFromNow(-400),
      notAfter: daysFromNow(-1),
    });
    return buildLeaf(stale);
  },
  /**
   * A leaf that names the issuing CA as its issuer (subject and key identifier) but is signed by another
   * key; the chain is the real one.
   */
  forgedLeaf: async (): Promise<CertificateUnderTest> => {
    const { issuing } = await pki();
    const impostor = await newFixtureKey("P-256");
    return buildLeaf(impostorOf(issuing, impostor.keys.privateKey));
  },
  /**
   * A correctly signed leaf under an issuing CA that names the real root as its issuer (subject and key
   * identifier) but is signed by another key. Chain: the forged CA, then the real root.
   */
  forgedIssuer: async (): Promise<CertificateUnderTest> => {
    const { root } = await pki();
    const impostor = await newFixtureKey("P-256");
    const forged = await createSubordinateCa(impostorOf(root, impostor.keys.privateKey), {
      name: "CN=Fixture Forged Issuing CA",
      notBefore: daysFromNow(-30),
      notAfter: daysFromNow(300),
    });
    return buildLeaf(forged);
  },
};

/** `ca` as seen on paper (name, key identifier, certificate) but signing with somebody else's key. */
function impostorOf(ca: CertificateAuthority, privateKey: CryptoKey): CertificateAuthority {
  return { ...ca, keys: { publicKey: ca.keys.publicKey, privateKey } };
}

/** The base64 body of a PEM block, on one line. */
export function pemBody(pem: string): string {
  return pem
    .split(/\r?\n/)
    .filter((line) => line !== "" && !line.startsWith("-----"))
    .join("");
}

/** Each base64 line of a PEM block (64 characters but the last). */
export function pemBodyLines(pem: string): string[] {
  return pem.split(/\r?\n/).filter((line) => line !== "" && !line.startsWith("-----"));
}
