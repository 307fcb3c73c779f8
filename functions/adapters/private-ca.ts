/**
 * AWS Private CA adapter: issue a client-auth certificate from a CSR and wait for it.
 */
import {
  type ACMPCAClient,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  RevokeCertificateCommand,
} from "@aws-sdk/client-acm-pca";
import { CLIENT_AUTH_TEMPLATE_ARN } from "../config/rules.ts";
import { AdapterError, awsErrorName, IssuanceTimeoutError } from "./errors.ts";

export { CLIENT_AUTH_TEMPLATE_ARN };

const SIGNING_ALGORITHM: Record<string, "SHA256WITHECDSA" | "SHA256WITHRSA"> = {
  EC_prime256v1: "SHA256WITHECDSA",
  EC_secp384r1: "SHA256WITHECDSA",
  EC_secp521r1: "SHA256WITHECDSA",
  RSA_2048: "SHA256WITHRSA",
  RSA_3072: "SHA256WITHRSA",
  RSA_4096: "SHA256WITHRSA",
};

export interface AuthorityDescription {
  arn: string;
  status: string;
  keyAlgorithm: string;
  signingAlgorithm: "SHA256WITHECDSA" | "SHA256WITHRSA";
  notAfter?: Date;
}

export interface IssueRequest {
  authorityArn: string;
  csrPem: string;
  signingAlgorithm: AuthorityDescription["signingAlgorithm"];
  validityDays: number;
  /** Same token, same certificate: retries never issue twice (AWS keeps tokens for 5 minutes). */
  idempotencyToken: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** First poll delay; doubles up to 5 s. */
  initialDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PrivateCaAdapter {
  readonly #client: ACMPCAClient;

  constructor(client: ACMPCAClient) {
    this.#client = client;
  }

  async describeAuthority(authorityArn: string): Promise<AuthorityDescription> {
    const { CertificateAuthority: ca } = await this.#client.send(
      new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: authorityArn }),
    );
    const keyAlgorithm = ca?.CertificateAuthorityConfiguration?.KeyAlgorithm;
    if (!ca || !keyAlgorithm) throw new AdapterError(`Private CA ${authorityArn} has no key algorithm`);
    const signingAlgorithm = SIGNING_ALGORITHM[keyAlgorithm];
    if (!signingAlgorithm)
      throw new AdapterError(`Private CA key algorithm ${keyAlgorithm} is not supported`);
    return {
      arn: authorityArn,
      status: ca.Status ?? "UNKNOWN",
      keyAlgorithm,
      signingAlgorithm,
      notAfter: ca.NotAfter,
    };
  }

  /**
   * Whether the CA can issue (its Status; only ACTIVE issues) and when it last changed (LastStateChangeAt):
   * a viewer CA retirement waits until the CA stopped issuing. Any key algorithm: nothing is issued here.
   */
  async issuanceOf(authorityArn: string): Promise<{ status: string; lastStateChangeAt?: Date }> {
    const { CertificateAuthority: ca } = await this.#client.send(
      new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: authorityArn }),
    );
    return {
      status: ca?.Status ?? "UNKNOWN",
      ...(ca?.LastStateChangeAt ? { lastStateChangeAt: ca.LastStateChangeAt } : {}),
    };
  }

  /** The CA certificate followed by its own chain: what validation anchors on and origins must trust. */
  async authorityChainPem(authorityArn: string): Promise<string> {
    const out = await this.#client.send(
      new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: authorityArn }),
    );
    if (!out.Certificate) throw new AdapterError(`Private CA ${authorityArn} returned no certificate`);
    return [out.Certificate, out.CertificateChain]
      .filter(Boolean)
      .map((p) => `${p!.trim()}\n`)
      .join("");
  }

  async issue(request: IssueRequest): Promise<string> {
    const out = await this.#client.send(
      new IssueCertificateCommand({
        CertificateAuthorityArn: request.authorityArn,
        Csr: new TextEncoder().encode(request.csrPem),
        SigningAlgorithm: request.signingAlgorithm,
        TemplateArn: CLIENT_AUTH_TEMPLATE_ARN,
        Validity: { Type: "DAYS", Value: request.validityDays },
        IdempotencyToken: request.idempotencyToken,
      }),
    );
    if (!out.CertificateArn) throw new AdapterError("IssueCertificate returned no certificate ARN");
    return out.CertificateArn;
  }

  /** Poll GetCertificate through RequestInProgressException until issued or the deadline passes. */
  async waitForCertificate(
    authorityArn: string,
    certificateArn: string,
    options: WaitOptions = {},
  ): Promise<{ certificatePem: string; chainPem: string }> {
    const sleep = options.sleep ?? realSleep;
    const now = options.now ?? Date.now;
    const deadline = now() + (options.timeoutMs ?? 120_000);
    let delay = options.initialDelayMs ?? 200;
    for (;;) {
      try {
        const out = await this.#client.send(
          new GetCertificateCommand({
            CertificateAuthorityArn: authorityArn,
            CertificateArn: certificateArn,
          }),
        );
        if (!out.Certificate)
          throw new AdapterError(`GetCertificate returned no certificate for ${certificateArn}`);
        return {
          certificatePem: `${out.Certificate.trim()}\n`,
          chainPem: out.CertificateChain ? `${out.CertificateChain.trim()}\n` : "",
        };
      } catch (error) {
        if (awsErrorName(error) !== "RequestInProgressException") throw error;
        if (now() + delay > deadline) {
          throw new IssuanceTimeoutError(`certificate ${certificateArn} was not issued in time`, {
            cause: error,
          });
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  async revoke(
    authorityArn: string,
    serialHex: string,
    reason: "SUPERSEDED" | "KEY_COMPROMISE" = "SUPERSEDED",
  ) {
    await this.#client.send(
      new RevokeCertificateCommand({
        CertificateAuthorityArn: authorityArn,
        CertificateSerial: serialHex.match(/../g)?.join(":") ?? serialHex,
        RevocationReason: reason,
      }),
    );
  }
}
