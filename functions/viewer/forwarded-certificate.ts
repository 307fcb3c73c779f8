/**
 * Viewer certificates that CloudFront forwards to an origin in viewer-mTLS `passthrough` mode, and the check
 * an origin runs before it believes them. Pure: no AWS, no I/O, clock injected.
 *
 * What CloudFront sends (confirmed):
 * - Passthrough mode forwards the viewer's certificate in `Client-Cert` and the rest of its chain in
 *   `Client-Cert-Chain` (the header names CloudFront Functions' `cf.mtls.renamePemHeaders` accepts "in
 *   passthrough mode": https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/mtls-helper-methods.html;
 *   its `certHeader`/`certFooter` replace the ":" around each certificate, i.e. RFC 8941 byte sequences).
 *   CloudFront does not validate the chain; the origin does
 *   (https://aws.amazon.com/about-aws/whats-new/2026/05/amazon-cloudfront-mtls-passthrough/).
 * - RFC 9440 (https://www.rfc-editor.org/rfc/rfc9440): `Client-Cert` is one byte sequence, base64 of the
 *   leaf's DER between colons, a singleton that "MUST NOT have a list of values or occur multiple times"
 *   (section 2.2); `Client-Cert-Chain` is a list of such byte sequences in TLS order, WITHOUT the leaf, may
 *   omit the root, "MAY have a list of values or occur multiple times" (section 2.3), and must not appear
 *   without `Client-Cert`.
 *
 * *Assumed* (aws-facts.md says "depth <= 4"; no AWS page found states how it counts): at most 4 CA
 * certificates above the leaf, forwarded and on the verified path. If AWS counts the leaf too, CloudFront
 * never sends more than 3 and this accepts one level more than CloudFront could forward, every level still
 * signature-checked: nothing unverified gets in.
 * *Assumed*: no documented size for the forwarded headers; each is capped at 32 KiB (4 RSA-4096 CA
 * certificates are about 9 KiB of base64). If CloudFront forwards more, those viewers are refused with
 * HeaderTooLarge, never accepted unchecked.
 *
 * Why the connection matters: CloudFront strips viewer-sent copies of these headers, but anyone who reaches
 * the origin directly can send them. So the headers count only on a connection whose TLS client certificate
 * the origin verified against the origin-client CA bundle (the certificate CloudFront presents for origin
 * mTLS, kept by `origin-sync`): without one, the request is refused whatever the headers say.
 */
import { X509Certificate } from "node:crypto";
import { factsOf, oneLineName } from "../core/certificate.ts";
import { fingerprintOf, keyFingerprintOf, sha256Hex, splitPem } from "../core/pem.ts";
import { CLIENT_AUTH_OID, CLOCK_SKEW_MS, signedBy } from "../core/validation.ts";
import { x509 } from "../crypto/x509.ts";
import { scanPemBlocks } from "../origin-sync/validate.ts";

export const CLIENT_CERT_HEADER = "client-cert";
export const CLIENT_CERT_CHAIN_HEADER = "client-cert-chain";

export const FORWARDED_LIMITS = {
  /** CA certificates above the leaf, in Client-Cert-Chain and on the verified path (assumed, see above). */
  chainCertificates: 4,
  /** Bytes of each forwarded header (assumed, see above). */
  headerBytes: 32 * 1024,
} as const;

/** Why a forwarded viewer certificate is refused: shared by the function, the middleware and the verifier. */
export const ViewerRefusal = {
  /** The request did not arrive on a connection that presented a verified origin-mTLS client certificate. */
  NotFromCloudFront: "NotFromCloudFront",
  /** A verified origin-mTLS certificate, but not one of the CloudFront identities allowed. */
  CloudFrontNotAllowed: "CloudFrontNotAllowed",
  MissingClientCert: "MissingClientCert",
  MalformedHeader: "MalformedHeader",
  HeaderTooLarge: "HeaderTooLarge",
  ChainTooDeep: "ChainTooDeep",
  LeafIsCA: "LeafIsCA",
  NotClientAuth: "NotClientAuth",
  NotYetValid: "NotYetValid",
  Expired: "Expired",
  UntrustedIssuer: "UntrustedIssuer",
  InvalidChain: "InvalidChain",
  /** The viewer CA bundle could not be read or is not a bundle of CA certificates: refuse everything. */
  BundleUnavailable: "BundleUnavailable",
} as const;
export type ViewerRefusal = (typeof ViewerRefusal)[keyof typeof ViewerRefusal];

/** A forwarded header that cannot be used; `reason` says which rule it breaks, `message` says how. */
export class ForwardedCertificateError extends Error {
  override name = "ForwardedCertificateError";
  readonly retryable = false;
  readonly reason: ViewerRefusal;
  constructor(reason: ViewerRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * The headers CloudFront adds to the origin request (lower-case names, as Node exposes them). A type, not an
 * interface, so that it is a {@link HeaderSource} as it is.
 */
export type ClientCertHeaders = {
  "client-cert": string;
  /** Absent when the viewer sent only its leaf. */
  "client-cert-chain"?: string;
};

/** Request headers in any of Node's shapes: `req.headers`, `req.headersDistinct`, or a plain object. */
export type HeaderSource = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface ForwardedChain {
  /** The viewer's certificate (`.raw` is its DER). */
  leaf: X509Certificate;
  /** The rest of the chain as forwarded, in the viewer's order (maybe empty). */
  chain: X509Certificate[];
}

function byteSequence(der: Uint8Array): string {
  return `:${Buffer.from(der).toString("base64")}:`;
}

/**
 * The headers CloudFront sends for a viewer that presented `leafPem` and `chainPems` (each may hold several
 * PEM blocks): the sandbox's edge and the tests use it to forward like CloudFront does.
 */
export function formatClientCertHeaders(
  leafPem: string,
  chainPems: readonly string[] = [],
): ClientCertHeaders {
  const leaves = splitPem(leafPem);
  if (leaves.length !== 1) {
    throw new Error(`the leaf must be exactly one PEM certificate; found ${leaves.length}`);
  }
  const [leaf = ""] = leaves;
  const chain = chainPems.flatMap((pem) => splitPem(pem));
  const headers: ClientCertHeaders = { "client-cert": byteSequence(new X509Certificate(leaf).raw) };
  if (chain.length > 0) {
    headers["client-cert-chain"] = chain.map((pem) => byteSequence(new X509Certificate(pem).raw)).join(", ");
  }
  return headers;
}

/** Every value of a header, whatever the case of its name and whether repeated lines were joined or kept. */
function headerValues(headers: HeaderSource, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (typeof value === "string") values.push(value);
    else values.push(...value);
  }
  return values;
}

/** RFC 8941 optional whitespace around members: spaces and tabs only. */
function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** Decodes one RFC 8941 byte sequence (`:base64:`), strictly: the alphabet, padding only at the end. */
function decodeByteSequence(text: string, where: string): Buffer {
  if (text.length < 2 || !text.startsWith(":") || !text.endsWith(":")) {
    throw new ForwardedCertificateError(
      "MalformedHeader",
      `${where} is not a structured-field byte sequence (:base64:)`,
    );
  }
  const base64 = text.slice(1, -1);
  const der = Buffer.from(base64, "base64");
  // Buffer.from skips characters outside the alphabet; a round trip proves there were none.
  const unpadded = base64.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || der.toString("base64").replace(/=+$/, "") !== unpadded) {
    throw new ForwardedCertificateError("MalformedHeader", `${where} is not valid base64`);
  }
  if (der.length === 0) throw new ForwardedCertificateError("MalformedHeader", `${where} is empty`);
  return der;
}

function certificateOf(der: Buffer, where: string): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    throw new ForwardedCertificateError("MalformedHeader", `${where} is not an X.509 certificate`);
  }
  // Bytes after the certificate would be ignored by the parser: refuse rather than guess.
  if (!certificate.raw.equals(der)) {
    throw new ForwardedCertificateError("MalformedHeader", `${where} has bytes after the certificate`);
  }
  return certificate;
}

function checkSize(name: string, values: readonly string[], limit: number): void {
  const bytes = values.reduce((sum, value) => sum + Buffer.byteLength(value), 0);
  if (bytes > limit) {
    throw new ForwardedCertificateError(
      "HeaderTooLarge",
      `${name} is ${bytes} bytes; at most ${limit} accepted`,
    );
  }
}

/**
 * The viewer's leaf and chain from RFC 9440 headers. Throws {@link ForwardedCertificateError} for a missing
 * or malformed header, a repeated Client-Cert, a chain longer than allowed or a header too large.
 */
export function parseClientCertHeaders(
  headers: HeaderSource,
  limits: { chainCertificates?: number; headerBytes?: number } = {},
): ForwardedChain {
  const maxChain = limits.chainCertificates ?? FORWARDED_LIMITS.chainCertificates;
  const maxBytes = limits.headerBytes ?? FORWARDED_LIMITS.headerBytes;
  const leafValues = headerValues(headers, CLIENT_CERT_HEADER);
  const chainValues = headerValues(headers, CLIENT_CERT_CHAIN_HEADER);
  if (leafValues.length === 0) {
    throw new ForwardedCertificateError(
      "MissingClientCert",
      chainValues.length > 0 ? "Client-Cert-Chain without Client-Cert" : "no Client-Cert header",
    );
  }
  if (leafValues.length > 1) {
    throw new ForwardedCertificateError("MalformedHeader", "Client-Cert appears more than once");
  }
  checkSize("Client-Cert", leafValues, maxBytes);
  checkSize("Client-Cert-Chain", chainValues, maxBytes);
  const leafText = trimOws(leafValues[0] ?? "");
  // Base64 has no comma: one here means a list (e.g. two Client-Cert lines a proxy joined).
  if (leafText.includes(",")) {
    throw new ForwardedCertificateError("MalformedHeader", "Client-Cert holds more than one value");
  }
  const leaf = certificateOf(decodeByteSequence(leafText, "Client-Cert"), "Client-Cert");

  // Repeated Client-Cert-Chain lines are one list (RFC 9440 section 2.3); an empty value is an empty list.
  const joined = chainValues.map(trimOws).filter((value) => value !== "");
  const members = joined.length === 0 ? [] : joined.join(",").split(",").map(trimOws);
  if (members.length > maxChain) {
    throw new ForwardedCertificateError(
      "ChainTooDeep",
      `Client-Cert-Chain holds ${members.length} certificates; at most ${maxChain} accepted`,
    );
  }
  const chain = members.map((member, i) => {
    const where = `Client-Cert-Chain item ${i + 1}`;
    if (member === "") throw new ForwardedCertificateError("MalformedHeader", `${where} is empty`);
    return certificateOf(decodeByteSequence(member, where), where);
  });
  return { leaf, chain };
}

/** The viewer CA bundle (the file `origin-sync` keeps for viewer certificates), parsed once. */
export interface ViewerBundle {
  certificates: X509Certificate[];
  /** SHA-256 of the PEM text it was loaded from (which bundle is in effect, for logs). */
  sha256: string;
}

export class ViewerBundleError extends Error {
  override name = "ViewerBundleError";
  readonly retryable = false;
}

/**
 * Parses a viewer CA bundle: PEM CA certificates only. A CA that has expired since the bundle was written is
 * kept (it just anchors nothing at verification time): one stale CA must not refuse every viewer.
 */
export function loadViewerBundle(pem: string): ViewerBundle {
  const { blocks, problems } = scanPemBlocks(pem);
  if (problems.length > 0) throw new ViewerBundleError(`viewer CA bundle: ${problems[0]}`);
  const certificates = blocks.map((block) => {
    if (block.label !== "CERTIFICATE") {
      const what = block.label.includes("PRIVATE") ? "a private key" : `a ${block.label}`;
      throw new ViewerBundleError(`viewer CA bundle: block ${block.index} is ${what}, not a CA certificate`);
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block.text);
    } catch {
      throw new ViewerBundleError(`viewer CA bundle: block ${block.index} does not parse as a certificate`);
    }
    if (!certificate.ca) {
      throw new ViewerBundleError(`viewer CA bundle: block ${block.index} is not a CA certificate`);
    }
    return certificate;
  });
  if (certificates.length === 0) throw new ViewerBundleError("viewer CA bundle holds no certificate");
  return { certificates, sha256: sha256Hex(pem) };
}

/** The TLS connection a request arrived on, as the origin's TLS layer saw it. */
export interface OriginConnection {
  /**
   * The peer presented a client certificate that verified against the origin-client CA bundle (Node:
   * `socket.authorized`; nginx: `$ssl_client_verify` = SUCCESS).
   */
  clientCertificateVerified: boolean;
  /** That certificate, when there is one. */
  clientCertificate?: X509Certificate;
  /** The certificates above it as the TLS layer verified them (for an allow-list by issuer key). */
  clientCertificateIssuers?: X509Certificate[];
}

/**
 * CloudFront's origin-mTLS certificates accepted beyond "verified by the origin-client CA bundle": one match
 * of any entry suffices. Subjects survive rotations (each rotation brings a new SHA-256); an issuer key
 * survives a CA certificate's renewal with the same key.
 */
export interface OriginClientTrust {
  /** One-line subjects, as `oneLineName` writes them ("CN=cloudfront-origin, O=Example"). */
  subjects?: readonly string[];
  /** Lower-case hex SHA-256 of the certificate (DER). */
  sha256?: readonly string[];
  /** Lower-case hex SHA-256 of the issuing CA's public key (SPKI DER). */
  issuerKeySha256?: readonly string[];
}

/** The viewer, as the origin may now believe it. */
export interface VerifiedViewer {
  subject: string;
  issuer: string;
  /** Lower-case hex, no separators. */
  serialNumber: string;
  /** Lower-case hex SHA-256 of the leaf (DER): CloudFront-Viewer-Cert-Sha256's spelling. */
  sha256: string;
  /** ISO 8601. */
  notAfter: string;
}

export type ViewerVerdict =
  | { ok: true; viewer: VerifiedViewer }
  | { ok: false; status: 403; code: ViewerRefusal; reason: string };

export interface ForwardedCertificateInput {
  headers: HeaderSource;
  connection: OriginConnection;
  /** The viewer CA bundle: its PEM text or a bundle already loaded with {@link loadViewerBundle}. */
  viewerBundle: string | ViewerBundle;
  now: Date;
  originClientTrust?: OriginClientTrust;
  limits?: { chainCertificates?: number; headerBytes?: number };
}

function refuse(code: ViewerRefusal, reason: string): ViewerVerdict {
  return { ok: false, status: 403, code, reason };
}

function isAllowedCloudFront(connection: OriginConnection, trust: OriginClientTrust): boolean {
  const certificate = connection.clientCertificate;
  if (!certificate) return false;
  if (trust.subjects?.includes(oneLineName(certificate.subject))) return true;
  if (trust.sha256?.includes(fingerprintOf(certificate))) return true;
  const issuerKeys = trust.issuerKeySha256 ?? [];
  return (connection.clientCertificateIssuers ?? []).some(
    (issuer) => issuerKeys.includes(keyFingerprintOf(issuer)) && signedBy(certificate, issuer),
  );
}

function validAt(certificate: X509Certificate, now: number): boolean {
  const facts = factsOf(certificate);
  return facts.notBefore.getTime() <= now + CLOCK_SKEW_MS && facts.notAfter.getTime() > now;
}

/** The CA's pathLenConstraint (undefined: none); Node's X509Certificate does not expose it. */
function pathLengthOf(certificate: X509Certificate): number | undefined {
  return new x509.X509Certificate(certificate.raw).getExtension(x509.BasicConstraintsExtension)?.pathLength;
}

/**
 * The path from the leaf to a CA of the bundle, through forwarded certificates. The forwarded order is not
 * trusted (TLS 1.3 lets a client send extra or unordered certificates): each step takes a bundle CA that
 * signed the current certificate if there is one, else an unused forwarded certificate that did. Candidates
 * valid at `now` come first, so a CA renewed with the same key anchors with its current certificate.
 */
function buildPath(
  leaf: X509Certificate,
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: number,
  maxDepth: number,
): { path: X509Certificate[] } | { refusal: ViewerVerdict } {
  const preferValid = (list: readonly X509Certificate[]) =>
    [...list].sort((a, b) => Number(validAt(b, now)) - Number(validAt(a, now)));
  const trusted = preferValid(anchors);
  const forwarded = preferValid(chain);
  const used = new Set<X509Certificate>();
  const path = [leaf];
  for (;;) {
    const current = path[path.length - 1] ?? leaf;
    const anchor = trusted.find((candidate) => signedBy(current, candidate));
    const next =
      anchor ?? forwarded.find((candidate) => !used.has(candidate) && signedBy(current, candidate));
    if (!next) {
      return { refusal: refuse("UntrustedIssuer", "viewer certificate not issued by a trusted viewer CA") };
    }
    path.push(next);
    used.add(next);
    if (path.length - 1 > maxDepth) {
      return {
        refusal: refuse("ChainTooDeep", `viewer chain is more than ${maxDepth} CA certificates deep`),
      };
    }
    if (anchor) return { path };
  }
}

/** CA rules along the path: CA flag, validity at `now`, pathLenConstraint (key usage: `checkIssued`). */
function checkCaPath(path: readonly X509Certificate[], now: number): ViewerVerdict | undefined {
  for (let i = 1; i < path.length; i += 1) {
    const ca = path[i]!;
    if (!ca.ca) return refuse("InvalidChain", `viewer chain certificate ${i} is not a CA`);
    if (!validAt(ca, now)) {
      return refuse("InvalidChain", `viewer chain certificate ${i} is outside its validity window`);
    }
    // Intermediate CAs between this one and the leaf; self-issued ones do not count (RFC 5280 4.2.1.9).
    const below = path.slice(1, i).filter((c) => c.subject !== c.issuer).length;
    const limit = pathLengthOf(ca);
    if (limit !== undefined && below > limit) {
      return refuse("InvalidChain", `viewer chain certificate ${i} allows ${limit} CA certificates below it`);
    }
  }
  return undefined;
}

/**
 * Decides whether a request's forwarded viewer certificate may be believed. Checks run in order and the first
 * failure wins: the connection (CloudFront's verified origin-mTLS certificate, and the allow-list), the
 * headers, the leaf (not a CA, clientAuth if it has an EKU, valid at `now`), the path to a bundle CA
 * (signatures, CA flags, validity, pathLen, depth). Reasons are short and hold no key material.
 */
export function verifyForwardedClientCertificate(input: ForwardedCertificateInput): ViewerVerdict {
  const { connection, now } = input;
  if (!connection.clientCertificateVerified) {
    return refuse("NotFromCloudFront", "request did not arrive over CloudFront's origin-mTLS connection");
  }
  if (input.originClientTrust && !isAllowedCloudFront(connection, input.originClientTrust)) {
    return refuse(
      "CloudFrontNotAllowed",
      "origin-mTLS client certificate is not an allowed CloudFront identity",
    );
  }
  let forwarded: ForwardedChain;
  let bundle: ViewerBundle;
  try {
    forwarded = parseClientCertHeaders(input.headers, input.limits);
  } catch (error) {
    if (error instanceof ForwardedCertificateError) return refuse(error.reason, error.message);
    throw error;
  }
  try {
    bundle =
      typeof input.viewerBundle === "string" ? loadViewerBundle(input.viewerBundle) : input.viewerBundle;
  } catch (error) {
    if (error instanceof ViewerBundleError)
      return refuse("BundleUnavailable", "viewer CA bundle unavailable");
    throw error;
  }

  const { leaf, chain } = forwarded;
  const at = now.getTime();
  if (leaf.ca) return refuse("LeafIsCA", "viewer certificate is a CA certificate");
  const eku = leaf.keyUsage;
  if (eku && !eku.includes(CLIENT_AUTH_OID)) {
    return refuse("NotClientAuth", "viewer certificate is not for client authentication");
  }
  const facts = factsOf(leaf);
  if (facts.notBefore.getTime() > at + CLOCK_SKEW_MS) {
    return refuse("NotYetValid", "viewer certificate is not valid yet");
  }
  if (facts.notAfter.getTime() <= at) return refuse("Expired", "viewer certificate expired");

  const maxDepth = input.limits?.chainCertificates ?? FORWARDED_LIMITS.chainCertificates;
  const built = buildPath(leaf, chain, bundle.certificates, at, maxDepth);
  if ("refusal" in built) return built.refusal;
  const invalid = checkCaPath(built.path, at);
  if (invalid) return invalid;
  return {
    ok: true,
    viewer: {
      subject: facts.subject,
      issuer: facts.issuer,
      serialNumber: facts.serial,
      sha256: facts.fingerprint,
      notAfter: facts.notAfter.toISOString(),
    },
  };
}
