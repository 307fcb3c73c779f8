/**
 * AWS Certificate Manager stand-in for imported certificates: import checks (key matches, supported key,
 * not expired, chain parses and leads from the leaf, key of the signing CA's type), ImportCertificate paced
 * at 1 request per second, certificates in use cannot be deleted, ListCertificates' default key-type filter.
 */
import { createPublicKey, randomUUID, X509Certificate } from "node:crypto";
import { factsOf, keyAlgorithmOf } from "../functions/core/certificate.ts";
import { pemLabels, splitPem } from "../functions/core/pem.ts";
import { x509 } from "../functions/crypto/x509.ts";
import {
  ACCOUNT_ID,
  AwsError,
  type JsonService,
  optionalBlob,
  optionalString,
  requireBlob,
  requireString,
  type StandinRequest,
} from "./protocol.ts";
import { RateLimiter } from "./rate.ts";

/** Key algorithms ACM accepts for import (wider than what CloudFront origin mTLS accepts). */
const IMPORTABLE_KEYS = [
  "RSA_1024",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "EC_prime256v1",
  "EC_secp384r1",
  "EC_secp521r1",
];
/** AWS: by default ListCertificates returns only RSA_1024 and RSA_2048 certificates. */
const DEFAULT_LIST_KEY_TYPES = ["RSA_1024", "RSA_2048"];
const EKU_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "TLS_WEB_SERVER_AUTHENTICATION",
  "1.3.6.1.5.5.7.3.2": "TLS_WEB_CLIENT_AUTHENTICATION",
};

interface ImportedCertificate {
  arn: string;
  region: string;
  certificatePem: string;
  chainPem: string;
  /** Kept as AWS keeps it (encrypted there); the stand-in never answers it. */
  privateKeyPem: string;
  importedAt: Date;
  tags: Map<string, string>;
  /** Parsed once: a certificate's facts do not change until it is re-imported. */
  parsed?: { cert: X509Certificate; facts: ReturnType<typeof factsOf> };
}

export interface AcmStandinOptions {
  now?: () => Date;
  importsPerSecond?: number;
  /**
   * The rate window, ms (default 1,000: AWS's "per second"). A benchmark that scales time by k passes
   * 1000/k: the same count per scaled second.
   */
  rateWindowMs?: number;
  /** Who references a certificate (CloudFront distribution ARNs): wired to the CloudFront stand-in. */
  inUseBy?: (certificateArn: string) => string[];
}

export interface CertificateDescription {
  region: string;
  keyAlgorithm: string;
  extendedKeyUsages: string[];
}

/** ACM's DomainName pattern (botocore acm 2015-12-08, shape DomainNameString), anchored. */
const FQDN = /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/;

export class AcmStandin implements JsonService {
  readonly service = "acm";
  readonly targetPrefix = "CertificateManager";
  readonly #certificates = new Map<string, ImportedCertificate>();
  readonly #now: () => Date;
  #importRate: RateLimiter;
  inUseBy: (certificateArn: string) => string[];

  constructor(options: AcmStandinOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#importRate = new RateLimiter(options.importsPerSecond ?? 1, Date.now, options.rateWindowMs);
    this.inUseBy = options.inUseBy ?? (() => []);
  }

  /**
   * Stand-in back door for fixtures: ImportCertificate's rate from now on (a fleet's certificates imported
   * in bulk before a measured run, then AWS's rate again).
   */
  setImportRate(perSecond: number, windowMs = 1000): void {
    this.#importRate = new RateLimiter(perSecond, Date.now, windowMs);
  }

  /** For the CloudFront stand-in: what CloudFront learns about an ARN it is asked to present. */
  describeForCloudFront(arn: string): CertificateDescription | undefined {
    const record = this.#certificates.get(arn);
    if (!record) return undefined;
    const cert = new X509Certificate(record.certificatePem);
    return {
      region: record.region,
      keyAlgorithm: keyAlgorithmOf(cert),
      extendedKeyUsages: (cert.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid),
    };
  }

  /**
   * What CloudFront fetches from ACM to present a certificate to an origin: certificate, chain and key.
   * Only the edge simulator of the tests uses this, as CloudFront would; nothing answers it over HTTP.
   */
  presentable(arn: string): { certificatePem: string; chainPem: string; privateKeyPem: string } | undefined {
    const record = this.#certificates.get(arn);
    return (
      record && {
        certificatePem: record.certificatePem,
        chainPem: record.chainPem,
        privateKeyPem: record.privateKeyPem,
      }
    );
  }

  arns(): string[] {
    return [...this.#certificates.keys()];
  }

  /** Stand-in back door for fixtures: the certificate currently stored under an ARN. */
  certificatePemOf(arn: string): string | undefined {
    return this.#certificates.get(arn)?.certificatePem;
  }

  handle(operation: string, input: Record<string, unknown>, request: StandinRequest): unknown {
    switch (operation) {
      case "ImportCertificate":
        return this.#import(input, request.region ?? "us-east-1");
      case "DescribeCertificate":
        return { Certificate: this.#describe(this.#find(input)) };
      case "GetCertificate": {
        const record = this.#find(input);
        return {
          Certificate: record.certificatePem.trim(),
          CertificateChain: record.chainPem.trim() || undefined,
        };
      }
      case "ListCertificates":
        return this.#list(input);
      case "SearchCertificates":
        return this.#search(input);
      case "ListTagsForCertificate":
        return { Tags: [...this.#find(input).tags].map(([Key, Value]) => ({ Key, Value })) };
      case "AddTagsToCertificate": {
        const record = this.#find(input);
        for (const { Key, Value } of parseTags(input.Tags)) record.tags.set(Key, Value);
        return {};
      }
      case "DeleteCertificate": {
        const record = this.#find(input);
        const users = this.inUseBy(record.arn);
        if (users.length > 0) {
          throw new AwsError(
            "ResourceInUseException",
            `Certificate ${record.arn} is in use by ${users.join(", ")}`,
          );
        }
        this.#certificates.delete(record.arn);
        return {};
      }
      default:
        throw new AwsError("UnknownOperationException", `stand-in does not implement ${operation}`);
    }
  }

  #find(input: Record<string, unknown>): ImportedCertificate {
    const arn = requireString(input, "CertificateArn");
    if (!/^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(arn)) {
      throw new AwsError("InvalidArnException", `The ARN ${arn} is not valid`);
    }
    const record = this.#certificates.get(arn);
    if (!record) throw new AwsError("ResourceNotFoundException", `Could not find certificate ${arn}`);
    return record;
  }

  #import(input: Record<string, unknown>, region: string) {
    const certificatePem = requireBlob(input, "Certificate").toString("utf8");
    const privateKeyPem = requireBlob(input, "PrivateKey").toString("utf8");
    const chainPem = optionalBlob(input, "CertificateChain")?.toString("utf8") ?? "";
    const reimportArn = optionalString(input, "CertificateArn");
    const tags = parseTags(input.Tags);
    if (reimportArn && tags.length > 0) {
      throw new AwsError("ValidationException", "Tags cannot be specified when re-importing a certificate");
    }
    if (!this.#importRate.tryTake()) throw new AwsError("ThrottlingException", "Rate exceeded");

    if (pemLabels(certificatePem).filter((l) => l === "CERTIFICATE").length !== 1) {
      throw new AwsError("ValidationException", "The certificate field must contain exactly one certificate");
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(certificatePem);
    } catch {
      throw new AwsError("ValidationException", "Could not parse the certificate");
    }
    let publicOfPrivate: ReturnType<typeof createPublicKey>;
    try {
      publicOfPrivate = createPublicKey(privateKeyPem);
    } catch {
      throw new AwsError("ValidationException", "The private key is not supported");
    }
    const keyAlgorithm = keyAlgorithmOf(leaf);
    if (!IMPORTABLE_KEYS.includes(keyAlgorithm)) {
      throw new AwsError("ValidationException", `The key algorithm ${keyAlgorithm} is not supported`);
    }
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: "spki", format: "der" });
    if (!spki(publicOfPrivate).equals(spki(leaf.publicKey))) {
      throw new AwsError(
        "ValidationException",
        "The private key does not match the public key in the certificate",
      );
    }
    const facts = factsOf(leaf);
    if (facts.notAfter.getTime() <= this.#now().getTime()) {
      throw new AwsError("ValidationException", "The certificate has expired");
    }
    if (facts.notBefore.getTime() > this.#now().getTime()) {
      throw new AwsError("ValidationException", "The certificate is not yet valid");
    }
    let chain: X509Certificate[];
    try {
      chain = splitPem(chainPem).map((p) => new X509Certificate(p));
    } catch {
      throw new AwsError("ValidationException", "Could not parse the certificate chain");
    }
    if (chainPem.trim() !== "" && chain.length === 0) {
      throw new AwsError("ValidationException", "Could not parse the certificate chain");
    }
    const path = [leaf, ...chain];
    for (let i = 1; i < path.length; i += 1) {
      if (!path[i - 1]!.checkIssued(path[i]!) || !path[i - 1]!.verify(path[i]!.publicKey)) {
        throw new AwsError("ValidationException", "The certificate chain provided is not valid");
      }
    }

    // [acm.import-key-algorithm-matches-ca] AWS (ImportCertificate, API reference and the ACM model): "The
    // cryptographic algorithm of an imported certificate must match the algorithm of the signing CA. For
    // example, if the signing CA key type is RSA, then the certificate key type must also be RSA." A key
    // type, not a size or curve: an RSA-4096 CA's RSA-2048 leaf imports. The error code and message are
    // assumed (the documentation names none; ValidationException is among ImportCertificate's errors).
    const signer = signingKeyOf(leaf, chain);
    if (keyTypeOf(keyAlgorithm) !== signer.keyType) {
      throw new AwsError(
        "ValidationException",
        `The certificate key algorithm ${keyAlgorithm} does not match the key algorithm of its signing CA (${signer.described})`,
      );
    }

    if (reimportArn) {
      const existing = this.#certificates.get(reimportArn);
      if (!existing)
        throw new AwsError("ResourceNotFoundException", `Could not find certificate ${reimportArn}`);
      if (keyAlgorithmOf(new X509Certificate(existing.certificatePem)) !== keyAlgorithm) {
        throw new AwsError(
          "ValidationException",
          "The key algorithm of a re-imported certificate cannot change",
        );
      }
      Object.assign(existing, {
        certificatePem,
        chainPem,
        privateKeyPem,
        importedAt: this.#now(),
        parsed: undefined,
      });
      return { CertificateArn: reimportArn };
    }
    const arn = `arn:aws:acm:${region}:${ACCOUNT_ID}:certificate/${randomUUID()}`;
    this.#certificates.set(arn, {
      arn,
      region,
      certificatePem,
      chainPem,
      privateKeyPem,
      importedAt: this.#now(),
      tags: new Map(tags.map((t) => [t.Key, t.Value])),
    });
    return { CertificateArn: arn };
  }

  #describe(record: ImportedCertificate, inUse?: ReadonlySet<string>) {
    record.parsed ??= (() => {
      const parsedCert = new X509Certificate(record.certificatePem);
      return { cert: parsedCert, facts: factsOf(parsedCert) };
    })();
    const { cert, facts } = record.parsed;
    const sans = facts.sans.map((s) => s.value);
    const cn = /CN=([^,]+)/.exec(facts.subject)?.[1];
    const expired = facts.notAfter.getTime() <= this.#now().getTime();
    return {
      CertificateArn: record.arn,
      // [acm.domain-name-fqdn] DomainName is an FQDN (the model's pattern): the CN when it is one, else the
      // first DNS name among the SANs, else absent (client certificates' CNs often are no domain name).
      DomainName: [cn, ...facts.sans.filter((s) => s.type === "dns").map((s) => s.value)].find(
        (name) => name !== undefined && FQDN.test(name),
      ),
      SubjectAlternativeNames: sans.length > 0 ? sans : undefined,
      Serial: facts.serial.match(/../g)?.join(":"),
      Subject: facts.subject,
      Issuer: facts.issuer,
      ImportedAt: record.importedAt.getTime() / 1000,
      NotBefore: facts.notBefore.getTime() / 1000,
      NotAfter: facts.notAfter.getTime() / 1000,
      KeyAlgorithm: facts.keyAlgorithm,
      Status: expired ? "EXPIRED" : "ISSUED",
      Type: "IMPORTED",
      InUseBy: inUse ? (inUse.has(record.arn) ? ["(in use)"] : []) : this.inUseBy(record.arn),
      ExtendedKeyUsages: (cert.keyUsage ?? []).map((oid) => ({ Name: EKU_NAMES[oid] ?? "CUSTOM", OID: oid })),
    };
  }

  /** Every certificate described, for SearchCertificates (arn order). */
  describeAll() {
    // One pass over the distributions for the whole page, not one per certificate.
    const inUse = this.referencedArns?.();
    return [...this.#certificates.values()].map((record) => this.#describe(record, inUse));
  }

  /** Every ARN some distribution references (wired to the CloudFront stand-in); speeds up listings. */
  referencedArns?: () => ReadonlySet<string>;

  #search(input: Record<string, unknown>) {
    // AWS's model bounds MaxResults to 1..500 (the model check refuses anything else before this runs);
    // the default page is 100 (SearchCertificates API reference).
    const maxResults = typeof input.MaxResults === "number" ? input.MaxResults : 100;
    const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new AwsError("InvalidArgsException", "NextToken is not valid");
    const statement = input.FilterStatement as Record<string, unknown> | undefined;
    const matching = this.describeAll().filter((d) => matches(statement, d));
    const page = matching.slice(start, start + maxResults);
    const next = start + maxResults < matching.length ? String(start + maxResults) : undefined;
    return {
      Results: page.map((d) => ({
        CertificateArn: d.CertificateArn,
        X509Attributes: {
          Issuer: distinguishedName(d.Issuer),
          Subject: distinguishedName(d.Subject),
          SerialNumber: d.Serial,
          NotBefore: d.NotBefore,
          NotAfter: d.NotAfter,
          KeyAlgorithm: d.KeyAlgorithm,
          ExtendedKeyUsages: d.ExtendedKeyUsages.map((e) => e.Name),
          SubjectAlternativeNames: (d.SubjectAlternativeNames ?? []).map((name) => ({ DnsName: name })),
        },
        CertificateMetadata: {
          AcmCertificateMetadata: {
            Type: d.Type,
            Status: d.Status,
            InUse: d.InUseBy.length > 0,
            ImportedAt: d.ImportedAt,
          },
        },
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  #list(input: Record<string, unknown>) {
    const includes = (input.Includes ?? {}) as { keyTypes?: string[]; extendedKeyUsage?: string[] };
    const keyTypes = includes.keyTypes?.length ? includes.keyTypes : DEFAULT_LIST_KEY_TYPES;
    const maxItems = typeof input.MaxItems === "number" ? input.MaxItems : 1000;
    if (maxItems < 1 || maxItems > 1000)
      throw new AwsError("ValidationException", "MaxItems must be between 1 and 1000");
    const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0;
    const matching = [...this.#certificates.values()]
      .map((record) => this.#describe(record))
      .filter((d) => keyTypes.includes(d.KeyAlgorithm))
      .filter(
        (d) =>
          !includes.extendedKeyUsage?.length ||
          includes.extendedKeyUsage.every((name) => d.ExtendedKeyUsages.some((e) => e.Name === name)),
      );
    const page = matching.slice(start, start + maxItems);
    const next = start + maxItems < matching.length ? String(start + maxItems) : undefined;
    return {
      CertificateSummaryList: page.map((d) => ({
        CertificateArn: d.CertificateArn,
        DomainName: d.DomainName,
        SubjectAlternativeNameSummaries: d.SubjectAlternativeNames,
        KeyAlgorithm: d.KeyAlgorithm,
        Type: d.Type,
        Status: d.Status,
        InUse: d.InUseBy.length > 0,
        NotBefore: d.NotBefore,
        NotAfter: d.NotAfter,
        ImportedAt: d.ImportedAt,
        ExtendedKeyUsages: d.ExtendedKeyUsages.map((e) => e.Name),
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }
}

/** "RSA" or "EC" for an ACM key algorithm name (RSA_2048, EC_prime256v1, ...). */
function keyTypeOf(keyAlgorithm: string): string {
  return keyAlgorithm.split("_")[0] ?? keyAlgorithm;
}

/**
 * The key type of the CA that signed `leaf`: the key of the chain's first certificate (already checked to
 * have signed it), the leaf's own for a self-signed one, else read off the leaf's signature algorithm.
 */
function signingKeyOf(
  leaf: X509Certificate,
  chain: X509Certificate[],
): { keyType: string; described: string } {
  const signer = chain[0] ?? (leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey) ? leaf : undefined);
  if (signer) {
    const keyAlgorithm = keyAlgorithmOf(signer);
    return { keyType: keyTypeOf(keyAlgorithm), described: keyAlgorithm };
  }
  const name = new x509.X509Certificate(leaf.raw).signatureAlgorithm.name;
  const keyType = name === "ECDSA" ? "EC" : /^RSA/.test(name) ? "RSA" : name;
  return { keyType, described: `${keyType}, from the certificate's signature algorithm` };
}

/** DistinguishedName as SearchCertificates answers it (the attributes this stand-in reads off the DN). */
function distinguishedName(oneLine: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of oneLine.split(", ")) {
    const [key, ...rest] = part.split("=");
    const value = rest.join("=");
    if (key === "CN") out.CommonName = value;
    else if (key === "O") out.Organization = value;
    else if (key === "OU") out.OrganizationalUnit = value;
    else if (key === "C") out.Country = value;
    else if (key === "L") out.Locality = value;
    else if (key === "ST") out.State = value;
  }
  return out;
}

type Described = ReturnType<AcmStandin["describeAll"]>[number];

/**
 * The filter subset the stand-in understands: And/Or/Not over X509 ExtendedKeyUsage, KeyAlgorithm,
 * SerialNumber and metadata Type/InUse. Anything else is refused rather than silently ignored.
 */
function matches(statement: Record<string, unknown> | undefined, d: Described): boolean {
  if (!statement) return true;
  if (Array.isArray(statement.And))
    return statement.And.every((s) => matches(s as Record<string, unknown>, d));
  if (Array.isArray(statement.Or)) return statement.Or.some((s) => matches(s as Record<string, unknown>, d));
  if (statement.Not) return !matches(statement.Not as Record<string, unknown>, d);
  const filter = statement.Filter as Record<string, Record<string, unknown>> | undefined;
  const x509 = filter?.X509AttributeFilter;
  const meta = filter?.AcmCertificateMetadataFilter;
  if (x509?.ExtendedKeyUsage) return d.ExtendedKeyUsages.some((e) => e.Name === x509.ExtendedKeyUsage);
  if (x509?.KeyAlgorithm) return d.KeyAlgorithm === x509.KeyAlgorithm;
  if (x509?.SerialNumber) {
    const plain = (serial: string | undefined) => (serial ?? "").replaceAll(":", "").toLowerCase();
    return plain(d.Serial) === plain(String(x509.SerialNumber));
  }
  if (meta?.Type) return d.Type === meta.Type;
  if (typeof filter?.CertificateArn === "string") return d.CertificateArn === filter.CertificateArn;
  if (meta?.InUse !== undefined) return d.InUseBy.length > 0 === meta.InUse;
  throw new AwsError(
    "ValidationException",
    `filter ${JSON.stringify(statement)} is not supported by this stand-in`,
  );
}

function parseTags(value: unknown): Array<{ Key: string; Value: string }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AwsError("ValidationException", "Tags must be a list");
  return value.map((t: { Key?: unknown; Value?: unknown }) => {
    if (typeof t.Key !== "string" || t.Key.length === 0)
      throw new AwsError("InvalidTagException", "Tag key is required");
    return { Key: t.Key, Value: typeof t.Value === "string" ? t.Value : "" };
  });
}
