/**
 * AWS Private CA stand-in: real signatures from an in-process CA, the client-auth template's extensions,
 * asynchronous issuance (RequestInProgressException), idempotency tokens and request-rate quotas.
 */
import { X509Certificate as NodeX509, randomBytes } from "node:crypto";
import { x509 } from "../functions/crypto/x509.ts";
import { type CertificateAuthority, EKU, randomSerial, signLeaf } from "./pki.ts";
import {
  ACCOUNT_ID,
  AwsError,
  type JsonService,
  optionalString,
  requireBlob,
  requireString,
  type StandinRequest,
} from "./protocol.ts";
import { RateLimiter } from "./rate.ts";

export const TEMPLATES: Record<string, string[]> = {
  "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1": [EKU.clientAuth],
  "arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1": [EKU.serverAuth],
  "arn:aws:acm-pca:::template/EndEntityCertificate/V1": [EKU.serverAuth, EKU.clientAuth],
};
const DEFAULT_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityCertificate/V1";
/** What DescribeCertificateAuthority answers as a CA's SigningAlgorithm, by its key algorithm. */
const SIGNING_FOR_KEY: Record<string, string> = {
  EC_prime256v1: "SHA256WITHECDSA",
  EC_secp384r1: "SHA384WITHECDSA",
  RSA_2048: "SHA256WITHRSA",
  RSA_3072: "SHA256WITHRSA",
  RSA_4096: "SHA256WITHRSA",
};

/**
 * AWS's model (IssueCertificate SigningAlgorithm): "The specified signing algorithm family (RSA or ECDSA)
 * must match the algorithm family of the CA's secret key." Any hash of the family is accepted.
 */
function signingFamilyMatches(caKeyAlgorithm: string, signingAlgorithm: string): boolean {
  if (caKeyAlgorithm.startsWith("RSA_")) return /^SHA(256|384|512)WITHRSA(_PSS)?$/.test(signingAlgorithm);
  if (caKeyAlgorithm.startsWith("EC_")) return /^SHA(256|384|512)WITHECDSA$/.test(signingAlgorithm);
  return false;
}
/** AWS keeps IssueCertificate idempotency tokens for five minutes. */
const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;
const DAY = 86_400_000;

interface Authority {
  arn: string;
  ca: CertificateAuthority;
  status: "ACTIVE" | "DISABLED";
  createdAt: Date;
  /** When the status last changed (DescribeCertificateAuthority LastStateChangeAt). */
  lastStateChangeAt: Date;
}

interface IssuedRecord {
  arn: string;
  authorityArn: string;
  certificatePem: string;
  serial: string;
  pendingPolls: number;
  revoked?: { reason: string };
  /** Issued before the test began (recordIssued), not signed by IssueCertificate. */
  recorded?: true;
}

/**
 * What a misconfigured (or compromised) CA might sign instead of what was asked: used to prove that the
 * service validates every certificate before anything uses it.
 */
export interface Misissuance {
  extendedKeyUsages?: string[];
  /** Sign this key instead of the CSR's. */
  publicKey?: CryptoKey;
  notBefore?: Date;
  notAfter?: Date;
}

export interface PrivateCaStandinOptions {
  now?: () => Date;
  /** How many GetCertificate calls answer RequestInProgressException before the certificate is ready. */
  pendingPolls?: number;
  issuePerSecond?: number;
  getPerSecond?: number;
  /** The rate window, ms (default 1,000: AWS's "per second"; a benchmark's scaled time passes 1000/k). */
  rateWindowMs?: number;
}

export class PrivateCaStandin implements JsonService {
  readonly service = "acm-pca";
  readonly targetPrefix = "ACMPrivateCA";
  readonly #authorities = new Map<string, Authority>();
  readonly #issued = new Map<string, IssuedRecord>();
  readonly #tokens = new Map<string, { certificateArn: string; at: number }>();
  /** CAs the caller may no longer use (denyAccess). */
  readonly #denied = new Set<string>();
  readonly #now: () => Date;
  readonly #pendingPolls: number;
  readonly #issueRate: RateLimiter;
  readonly #getRate: RateLimiter;
  #misissuance: Misissuance | undefined;

  constructor(options: PrivateCaStandinOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#pendingPolls = options.pendingPolls ?? 1;
    this.#issueRate = new RateLimiter(options.issuePerSecond ?? 25, Date.now, options.rateWindowMs);
    this.#getRate = new RateLimiter(options.getPerSecond ?? 75, Date.now, options.rateWindowMs);
  }

  /** Register an in-process CA as a Private CA; returns its ARN. */
  addAuthority(ca: CertificateAuthority, region = "us-east-1"): string {
    const arn = `arn:aws:acm-pca:${region}:${ACCOUNT_ID}:certificate-authority/${randomBytes(16)
      .toString("hex")
      .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, "$1-$2-$3-$4-$5")}`;
    const now = this.#now();
    this.#authorities.set(arn, { arn, ca, status: "ACTIVE", createdAt: now, lastStateChangeAt: now });
    return arn;
  }

  /**
   * A certificate this CA issued before the test began (a fixture signed in process by the CA's key), known
   * to the CA from now on as every certificate it issued is: GetCertificate and RevokeCertificate find it.
   */
  recordIssued(authorityArn: string, certificatePem: string): string {
    const authority = this.#authority(authorityArn);
    const certificate = new NodeX509(certificatePem);
    if (!certificate.verify(new NodeX509(authority.ca.certificatePem).publicKey))
      throw new Error(`recordIssued: ${authorityArn} did not sign this certificate`);
    const certificateArn = `${authorityArn}/certificate/${randomBytes(16).toString("hex")}`;
    this.#issued.set(certificateArn, {
      arn: certificateArn,
      authorityArn,
      certificatePem,
      // As IssueCertificate records it: @peculiar/x509's serial, lower-case hex.
      serial: new x509.X509Certificate(certificatePem).serialNumber.toLowerCase(),
      pendingPolls: 0,
      recorded: true,
    });
    return certificateArn;
  }

  /** The CA stops issuing (UpdateCertificateAuthority Status=DISABLED, as its owner would do it). */
  disableAuthority(arn: string): void {
    const authority = this.#authority(arn);
    authority.status = "DISABLED";
    authority.lastStateChangeAt = this.#now();
  }

  /**
   * From now on every call on this CA answers AccessDeniedException: the caller's permissions on it were
   * taken away (an IAM policy without the CA, a share of the CA withdrawn).
   */
  denyAccess(arn: string): void {
    this.#denied.add(arn);
  }

  /** The next IssueCertificate signs this instead of what was requested (once). */
  misissueNext(misissuance: Misissuance): void {
    this.#misissuance = misissuance;
  }

  /** Certificates actually signed (idempotent retries do not count twice). */
  get issuedCount(): number {
    return [...this.#issued.values()].filter((r) => !r.recorded).length;
  }

  issuedCertificates(): Array<{ arn: string; serial: string; certificatePem: string; revoked: boolean }> {
    return [...this.#issued.values()].map((r) => ({
      arn: r.arn,
      serial: r.serial,
      certificatePem: r.certificatePem,
      revoked: r.revoked !== undefined,
    }));
  }

  async handle(
    operation: string,
    input: Record<string, unknown>,
    _request: StandinRequest,
  ): Promise<unknown> {
    const authorityArn = input.CertificateAuthorityArn;
    if (typeof authorityArn === "string" && this.#denied.has(authorityArn))
      throw new AwsError(
        "AccessDeniedException",
        `User is not authorized to perform: acm-pca:${operation} on resource: ${authorityArn}`,
      );
    switch (operation) {
      case "DescribeCertificateAuthority":
        return this.#describe(input);
      case "GetCertificateAuthorityCertificate":
        return this.#caCertificate(input);
      case "IssueCertificate":
        return this.#issue(input);
      case "GetCertificate":
        return this.#get(input);
      case "RevokeCertificate":
        return this.#revoke(input);
      default:
        throw new AwsError("UnknownOperationException", `stand-in does not implement ${operation}`);
    }
  }

  #authority(arn: string): Authority {
    if (!/^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/.test(arn)) {
      throw new AwsError("InvalidArnException", `The certificate authority ARN ${arn} is not valid`);
    }
    const authority = this.#authorities.get(arn);
    if (!authority)
      throw new AwsError("ResourceNotFoundException", `Could not find certificate authority ${arn}`);
    return authority;
  }

  #describe(input: Record<string, unknown>) {
    const { arn, ca, status, createdAt, lastStateChangeAt } = this.#authority(
      requireString(input, "CertificateAuthorityArn"),
    );
    return {
      CertificateAuthority: {
        Arn: arn,
        OwnerAccount: ACCOUNT_ID,
        Type: ca.chainPem ? "SUBORDINATE" : "ROOT",
        Status: status,
        CreatedAt: createdAt.getTime() / 1000,
        LastStateChangeAt: lastStateChangeAt.getTime() / 1000,
        NotBefore: ca.certificate.notBefore.getTime() / 1000,
        NotAfter: ca.certificate.notAfter.getTime() / 1000,
        CertificateAuthorityConfiguration: {
          KeyAlgorithm: ca.keyAlgorithm,
          SigningAlgorithm: SIGNING_FOR_KEY[ca.keyAlgorithm],
          Subject: { CommonName: ca.name.replace(/^.*CN=([^,]+).*$/, "$1") },
        },
      },
    };
  }

  #caCertificate(input: Record<string, unknown>) {
    const { ca } = this.#authority(requireString(input, "CertificateAuthorityArn"));
    return {
      Certificate: ca.certificatePem.trim(),
      ...(ca.chainPem ? { CertificateChain: ca.chainPem.trim() } : {}),
    };
  }

  async #issue(input: Record<string, unknown>) {
    const authorityArn = requireString(input, "CertificateAuthorityArn");
    const csrBytes = requireBlob(input, "Csr");
    const signingAlgorithm = requireString(input, "SigningAlgorithm");
    const validity = input.Validity as { Value?: number; Type?: string } | undefined;
    if (!validity || typeof validity.Value !== "number" || typeof validity.Type !== "string") {
      throw new AwsError("ValidationException", "1 validation error detected: 'Validity' must not be null");
    }
    const token = optionalString(input, "IdempotencyToken");
    if (token !== undefined && (token.length > 36 || token.length < 1)) {
      throw new AwsError("ValidationException", "IdempotencyToken must be 1 to 36 characters");
    }
    const templateArn = optionalString(input, "TemplateArn") ?? DEFAULT_TEMPLATE;
    if (!this.#issueRate.tryTake()) throw new AwsError("ThrottlingException", "Rate exceeded");

    const authority = this.#authority(authorityArn);
    if (authority.status !== "ACTIVE") {
      throw new AwsError(
        "InvalidStateException",
        `The certificate authority ${authorityArn} is not in ACTIVE state`,
      );
    }
    const now = this.#now();
    if (token !== undefined) {
      const seen = this.#tokens.get(`${authorityArn}|${token}`);
      if (seen && now.getTime() - seen.at < IDEMPOTENCY_WINDOW_MS)
        return { CertificateArn: seen.certificateArn };
    }
    const ekus = TEMPLATES[templateArn];
    if (!ekus) throw new AwsError("InvalidArgsException", `Template ${templateArn} is not supported`);
    if (!signingFamilyMatches(authority.ca.keyAlgorithm, signingAlgorithm)) {
      throw new AwsError(
        "InvalidArgsException",
        `Signing algorithm ${signingAlgorithm} does not match the CA key algorithm ${authority.ca.keyAlgorithm}`,
      );
    }
    let csr: x509.Pkcs10CertificateRequest;
    try {
      // The SDK sends the PEM text as the blob.
      csr = new x509.Pkcs10CertificateRequest(csrBytes.toString("utf8"));
      if (!(await csr.verify())) throw new Error("signature");
    } catch {
      throw new AwsError("MalformedCSRException", "The certificate signing request is invalid");
    }
    const notAfter = validityEnd(now, validity.Value, validity.Type);
    if (notAfter.getTime() > authority.ca.certificate.notAfter.getTime()) {
      throw new AwsError(
        "ValidationException",
        "The certificate validity exceeds the validity of the CA certificate",
      );
    }
    const wrong = this.#misissuance;
    this.#misissuance = undefined;
    const leaf = await signLeaf(authority.ca, {
      publicKey: wrong?.publicKey ?? csr.publicKey,
      subject: csr.subjectName,
      sanExtension: csr.getExtension("2.5.29.17") ?? undefined,
      // Private CA backdates notBefore by 60 minutes to tolerate clock skew.
      notBefore: wrong?.notBefore ?? new Date(now.getTime() - 60 * 60_000),
      notAfter: wrong?.notAfter ?? notAfter,
      serial: randomSerial(),
      profile: { extendedKeyUsages: wrong?.extendedKeyUsages ?? ekus },
    });
    const serial = leaf.serialNumber.toLowerCase();
    const certificateArn = `${authorityArn}/certificate/${serial}`;
    this.#issued.set(certificateArn, {
      arn: certificateArn,
      authorityArn,
      certificatePem: `${leaf.toString("pem")}\n`,
      serial,
      pendingPolls: this.#pendingPolls,
    });
    if (token !== undefined)
      this.#tokens.set(`${authorityArn}|${token}`, { certificateArn, at: now.getTime() });
    return { CertificateArn: certificateArn };
  }

  #get(input: Record<string, unknown>) {
    const authority = this.#authority(requireString(input, "CertificateAuthorityArn"));
    const certificateArn = requireString(input, "CertificateArn");
    if (!this.#getRate.tryTake()) throw new AwsError("ThrottlingException", "Rate exceeded");
    const record = this.#issued.get(certificateArn);
    if (!record || record.authorityArn !== authority.arn) {
      throw new AwsError("ResourceNotFoundException", `Could not find certificate ${certificateArn}`);
    }
    if (record.pendingPolls > 0) {
      record.pendingPolls -= 1;
      throw new AwsError("RequestInProgressException", "The request is still in progress");
    }
    return {
      Certificate: record.certificatePem.trim(),
      CertificateChain: (authority.ca.certificatePem + authority.ca.chainPem).trim(),
    };
  }

  #revoke(input: Record<string, unknown>) {
    const authority = this.#authority(requireString(input, "CertificateAuthorityArn"));
    const serial = requireString(input, "CertificateSerial").replaceAll(":", "").toLowerCase();
    const reason = requireString(input, "RevocationReason");
    const record = [...this.#issued.values()].find(
      (r) => r.authorityArn === authority.arn && r.serial === serial,
    );
    if (!record)
      throw new AwsError("ResourceNotFoundException", `Could not find certificate with serial ${serial}`);
    if (record.revoked)
      throw new AwsError("RequestAlreadyProcessedException", "The certificate is already revoked");
    record.revoked = { reason };
    return {};
  }
}

function validityEnd(now: Date, value: number, type: string): Date {
  if (!Number.isInteger(value) || value <= 0)
    throw new AwsError("ValidationException", "Validity value must be positive");
  switch (type) {
    case "DAYS":
      return new Date(now.getTime() + value * DAY);
    case "MONTHS":
      return new Date(now.getTime() + value * 30 * DAY);
    case "YEARS":
      return new Date(now.getTime() + value * 365 * DAY);
    case "ABSOLUTE":
      return new Date(value * 1000);
    case "END_DATE":
      return endDate(value);
    default:
      throw new AwsError("ValidationException", `Validity type ${type} is not valid`);
  }
}

/** END_DATE: UTCTime YYMMDDHHMMSS (YY >= 50 means 19YY) or GeneralizedTime YYYYMMDDHHMMSS, in UTC. */
function endDate(value: number): Date {
  const invalid = new AwsError("ValidationException", `Validity value ${value} is not a valid END_DATE`);
  const match = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(String(value));
  if (!match) throw invalid;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = match[1]!.length === 2 ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, s));
  // Out-of-range fields roll over in Date.UTC: a changed month or day catches them, save minutes and seconds.
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || mi > 59 || s > 59) throw invalid;
  return date;
}
