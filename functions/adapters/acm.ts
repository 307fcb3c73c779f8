/**
 * ACM adapter (us-east-1): import each rotation's certificate as a NEW ARN, tagged with its lineage;
 * find an earlier import of the same certificate so a retried import does not leave an orphan ARN.
 */
import {
  type ACMClient,
  type CertificateFilterStatement,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  type DistinguishedName,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
  SearchCertificatesCommand,
} from "@aws-sdk/client-acm";
import { importedByService, LINEAGE_TAGS, MANAGED_TAG_VALUE } from "../core/certificate-tags.ts";
import { issuerKey, type ListedCertificate } from "../core/tracking.ts";
import { AdapterError, awsErrorName, ImportThrottledError } from "./errors.ts";

export { LINEAGE_TAGS };

/**
 * SearchCertificates' largest page: AWS's model allows MaxResults 1..500 (botocore acm 2015-12-08; the
 * default is 100). Asking for more is refused with ValidationException, which would fail every scan.
 */
export const SEARCH_CERTIFICATES_PAGE_SIZE = 500;

/** A serial as ACM spells it (and as SearchCertificates' SerialNumber filter takes it): "0a:1b:...". */
export function acmSerial(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return (even.toLowerCase().match(/../g) ?? []).join(":");
}

export interface ImportRequest {
  certificatePem: string;
  chainPem: string;
  /** In memory only; sent to ACM and nowhere else. */
  privateKeyPem: string;
  lineage: { rotationId: string; previousArn?: string; credential: string };
}

export interface ImportedCertificateRef {
  /** Hex, lowercase, no separators. */
  serial: string;
  notAfter: Date;
}

/** ACM allows one ImportCertificate per second per account: space them out in this process too. */
export class Pacer {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #next = 0;

  constructor(
    intervalMs: number,
    now: () => number = Date.now,
    sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  ) {
    this.#intervalMs = intervalMs;
    this.#now = now;
    this.#sleep = sleep;
  }

  async wait(): Promise<void> {
    const now = this.#now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#intervalMs;
    if (at > now) await this.#sleep(at - now);
  }
}

export class AcmAdapter {
  readonly #client: ACMClient;
  readonly #pacer: Pacer;
  readonly #importClient: ACMClient;

  /**
   * `importClient`: the client ImportCertificate is sent with; the workflow's makes one attempt
   * (aws-clients.ts `acmImport`). An SDK retry of a throttled import would land in another rotation's slot of
   * the account's pacer, and one whose answer was lost would import a second copy; the workflow re-slots a
   * throttled import and finds a lost one's certificate by its serial (`findImported`) instead.
   */
  constructor(client: ACMClient, pacer = new Pacer(1_050), importClient: ACMClient = client) {
    this.#client = client;
    this.#pacer = pacer;
    this.#importClient = importClient;
  }

  async importCertificate(request: ImportRequest): Promise<string> {
    const tags = [
      { Key: LINEAGE_TAGS.managed, Value: MANAGED_TAG_VALUE },
      { Key: LINEAGE_TAGS.rotationId, Value: request.lineage.rotationId },
      { Key: LINEAGE_TAGS.credential, Value: request.lineage.credential },
      ...(request.lineage.previousArn
        ? [{ Key: LINEAGE_TAGS.previousArn, Value: request.lineage.previousArn }]
        : []),
    ];
    await this.#pacer.wait();
    const encode = (text: string) => new TextEncoder().encode(text);
    const out = await this.#importClient
      .send(
        new ImportCertificateCommand({
          Certificate: encode(request.certificatePem),
          PrivateKey: encode(request.privateKeyPem),
          ...(request.chainPem.trim() ? { CertificateChain: encode(request.chainPem) } : {}),
          Tags: tags,
        }),
      )
      .catch((error: unknown) => {
        if (awsErrorName(error) === "ThrottlingException") {
          throw new ImportThrottledError(
            "ACM refused the import for the account's rate (ThrottlingException)",
            {
              cause: error,
            },
          );
        }
        throw error;
      });
    if (!out.CertificateArn) throw new AdapterError("ImportCertificate returned no ARN");
    return out.CertificateArn;
  }

  /**
   * The ARN of an imported certificate with this serial and expiry, if one exists (a retried issuance finds
   * its earlier import instead of leaving an orphan ARN). One SearchCertificates filtered by serial number
   * and type IMPORTED; nothing depends on DomainName, which ACM gives only for names that are FQDNs and a
   * client certificate's CN often is not.
   */
  async findImported(ref: ImportedCertificateRef): Promise<string | undefined> {
    const serial = acmSerial(ref.serial);
    let NextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new SearchCertificatesCommand({
          FilterStatement: {
            And: [
              { Filter: { X509AttributeFilter: { SerialNumber: serial } } },
              { Filter: { AcmCertificateMetadataFilter: { Type: "IMPORTED" } } },
            ],
          },
          MaxResults: SEARCH_CERTIFICATES_PAGE_SIZE,
          NextToken,
        }),
      );
      for (const result of page.Results ?? []) {
        const x = result.X509Attributes;
        if (!result.CertificateArn || x?.SerialNumber?.replaceAll(":", "").toLowerCase() !== ref.serial)
          continue;
        if (x.NotAfter?.getTime() === ref.notAfter.getTime()) return result.CertificateArn;
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return undefined;
  }

  /**
   * Every imported client-auth certificate, from SearchCertificates pages alone: each result carries
   * serial, issuer, subject, key algorithm and validity, so no per-certificate call is needed.
   * `onlyArn` narrows the search to one certificate (ACM expiry events).
   */
  async searchClientCertificates(
    options: { pageSize?: number; onlyArn?: string } = {},
  ): Promise<ListedCertificate[]> {
    const filters: CertificateFilterStatement[] = [
      { Filter: { X509AttributeFilter: { ExtendedKeyUsage: "TLS_WEB_CLIENT_AUTHENTICATION" } } },
      { Filter: { AcmCertificateMetadataFilter: { Type: "IMPORTED" } } },
      ...(options.onlyArn
        ? [{ Filter: { CertificateArn: options.onlyArn } } as CertificateFilterStatement]
        : []),
    ];
    const out: ListedCertificate[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new SearchCertificatesCommand({
          FilterStatement: { And: filters },
          MaxResults: options.pageSize ?? SEARCH_CERTIFICATES_PAGE_SIZE,
          NextToken,
        }),
      );
      for (const result of page.Results ?? []) {
        const x = result.X509Attributes;
        const meta = result.CertificateMetadata?.AcmCertificateMetadata;
        if (!result.CertificateArn || !x?.NotAfter || !x.NotBefore || !x.SerialNumber) continue;
        out.push({
          arn: result.CertificateArn,
          serial: x.SerialNumber.replaceAll(":", "").toLowerCase(),
          subject: dnText(x.Subject),
          issuer: dnText(x.Issuer),
          keyAlgorithm: x.KeyAlgorithm ?? "unknown",
          notBefore: x.NotBefore.toISOString(),
          notAfter: x.NotAfter.toISOString(),
          imported: meta?.Type === "IMPORTED",
          clientAuth: (x.ExtendedKeyUsages ?? []).includes("TLS_WEB_CLIENT_AUTHENTICATION"),
        });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  async describe(certificateArn: string) {
    const { Certificate } = await this.#client.send(
      new DescribeCertificateCommand({ CertificateArn: certificateArn }),
    );
    if (!Certificate) throw new AdapterError(`DescribeCertificate returned nothing for ${certificateArn}`);
    return Certificate;
  }

  async deleteCertificate(certificateArn: string): Promise<void> {
    await this.#client.send(new DeleteCertificateCommand({ CertificateArn: certificateArn }));
  }

  /** The public certificate and its chain (never the key: ACM does not give it for imported certificates). */
  /** The certificate's tags: its lineage (LINEAGE_TAGS) when this service imported it. */
  async tagsOf(certificateArn: string): Promise<Record<string, string>> {
    const out = await this.#client.send(
      new ListTagsForCertificateCommand({ CertificateArn: certificateArn }),
    );
    return Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]));
  }

  async getCertificate(certificateArn: string): Promise<{ certificatePem: string; chainPem: string }> {
    const out = await this.#client.send(new GetCertificateCommand({ CertificateArn: certificateArn }));
    if (!out.Certificate) throw new AdapterError(`GetCertificate returned nothing for ${certificateArn}`);
    return {
      certificatePem: `${out.Certificate.trim()}\n`,
      chainPem: out.CertificateChain ? `${out.CertificateChain.trim()}\n` : "",
    };
  }

  /**
   * Retire a certificate: delete it if mtls-rotator imported it (its tags carry the service's mark,
   * core/certificate-tags.ts) and nothing still uses it (ACM refuses with ResourceInUse, and InUseBy says
   * who). Already gone counts as deleted. Never throws for "in use", "not ours" or "not allowed": it reports
   * them, and the certificate stays.
   *
   * Not ours: the workflow's role may delete only certificates carrying the mark (infra/rotation.ts), so a
   * certificate imported by someone else — the one in service before a lineage's first rotation — is left for
   * its owner to delete, and a rotation never fails (after its promotion) on a deletion IAM would refuse.
   * AccessDenied anyway (the mark removed meanwhile, a narrower policy): reported the same way.
   */
  async deleteIfUnused(certificateArn: string): Promise<{ deleted: boolean; detail: string }> {
    try {
      if (!importedByService(await this.tagsOf(certificateArn))) {
        return {
          deleted: false,
          detail: `left in place: not imported by mtls-rotator (no ${LINEAGE_TAGS.managed}=${MANAGED_TAG_VALUE} tag); the service deletes only certificates it imported — delete it once nothing uses it`,
        };
      }
      await this.deleteCertificate(certificateArn);
      return { deleted: true, detail: "deleted" };
    } catch (error) {
      const name = awsErrorName(error);
      if (name === "ResourceNotFoundException") return { deleted: true, detail: "already deleted" };
      if (name === "ResourceInUseException") {
        return { deleted: false, detail: `still in use: ${(error as Error).message}` };
      }
      if (name === "AccessDeniedException") {
        return {
          deleted: false,
          detail: `left in place: ACM refused the deletion (${name}): ${(error as Error).message}`,
        };
      }
      throw error;
    }
  }
}

function dnText(dn: DistinguishedName | undefined): string {
  return issuerKey({ commonName: dn?.CommonName, organization: dn?.Organization });
}
