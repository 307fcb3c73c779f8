/**
 * Trust target: the mutual-TLS truststore of an API Gateway custom domain (HTTP APIs, apigatewayv2). API
 * Gateway loads the truststore from an S3 object version and caches it, so publishing is: a new version of
 * this target's S3 object, then `UpdateDomainName` with `MutualTlsAuthentication { TruststoreUri,
 * TruststoreVersion }` naming that exact version.
 *
 * Idempotency: the domain says which object and version it uses, and each version carries its bundle's
 * SHA-256 in its metadata. When the domain already names this target's object at a version holding this
 * bundle, nothing is written (`changed: false`: no S3 write, no update). Otherwise the latest version is
 * reused when it holds this bundle (a crash after the put), else a new version is put; then the update.
 *
 * Warnings: API Gateway accepts a truststore holding certificates it considers invalid (expired, not a CA,
 * a chain deeper than 4) and answers `TruststoreWarnings`; clients of those CAs may be refused. Unless
 * `acceptWarnings` is set, the target puts the domain back on the truststore it had and throws an
 * `ApiGatewayTruststoreError` listing the warnings: a warned bundle never replaces a clean one.
 *
 * The domain must already have mutual TLS (infrastructure turns it on with an initial truststore): publishing
 * trust never turns client-certificate enforcement on by itself.
 */
import {
  type ApiGatewayV2Client,
  GetDomainNameCommand,
  type MutualTlsAuthentication,
  UpdateDomainNameCommand,
} from "@aws-sdk/client-apigatewayv2";
import type { S3Client } from "@aws-sdk/client-s3";
import { AdapterError } from "../../adapters/errors.ts";
import type { BundleLimits, TrustBundle } from "../../core/trust-bundle.ts";
import type { TrustTarget } from "../publish-bundle.ts";
import { trustTargetName } from "../target-names.ts";
import { type BundleObjectRef, ensureBundleVersion, headBundle, readBundle } from "./s3-bundle-version.ts";

/** API Gateway truststore quotas: 1,000 certificates, 1 MB. */
export const API_GATEWAY_TRUSTSTORE_LIMITS = {
  maxCertificates: 1000,
  maxBytes: 1024 * 1024,
} as const satisfies BundleLimits;

export interface ApiGatewayDomainTargetOptions {
  apigateway: ApiGatewayV2Client;
  s3: S3Client;
  domainName: string;
  /** Bucket (versioning on) and key of this target's own truststore object. */
  bucket: string;
  key: string;
  /** Keep a truststore API Gateway answered warnings for. Default false: revert and throw. */
  acceptWarnings?: boolean;
}

export const ApiGatewayTruststoreErrorCode = {
  /** The domain has no mutual TLS to update. */
  NoMutualTls: "NoMutualTls",
  /** API Gateway answered truststore warnings; the domain was put back on its previous truststore. */
  Warnings: "TruststoreWarnings",
} as const;
export type ApiGatewayTruststoreErrorCode =
  (typeof ApiGatewayTruststoreErrorCode)[keyof typeof ApiGatewayTruststoreErrorCode];

export class ApiGatewayTruststoreError extends AdapterError {
  override name = "ApiGatewayTruststoreError";
  /** A domain without mutual TLS, or a bundle API Gateway warned about: neither changes by itself. */
  override readonly retryable = false;
  readonly code: ApiGatewayTruststoreErrorCode;
  readonly domainName: string;
  readonly warnings: string[];
  constructor(
    code: ApiGatewayTruststoreErrorCode,
    message: string,
    details: { domainName: string; warnings?: string[] },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.domainName = details.domainName;
    this.warnings = details.warnings ?? [];
  }
}

export class ApiGatewayDomainTarget implements TrustTarget {
  readonly name: string;
  readonly limits: BundleLimits = API_GATEWAY_TRUSTSTORE_LIMITS;
  readonly #apigateway: ApiGatewayV2Client;
  readonly #s3: S3Client;
  readonly #domainName: string;
  readonly #object: BundleObjectRef;
  readonly #uri: string;
  readonly #acceptWarnings: boolean;

  constructor(options: ApiGatewayDomainTargetOptions) {
    this.#apigateway = options.apigateway;
    this.#s3 = options.s3;
    this.#domainName = options.domainName;
    this.#object = { bucket: options.bucket, key: options.key };
    this.#uri = `s3://${options.bucket}/${options.key}`;
    this.#acceptWarnings = options.acceptWarnings ?? false;
    this.name = trustTargetName.apiGatewayDomain(options.domainName);
  }

  /** The truststore the domain uses now (whichever object it names); undefined without one. */
  async read(): Promise<string | undefined> {
    const mtls = await this.#mutualTls();
    const ref = mtls?.TruststoreUri === undefined ? undefined : parseS3Uri(mtls.TruststoreUri);
    return ref === undefined ? undefined : readBundle(this.#s3, ref, mtls?.TruststoreVersion);
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const current = await this.#mutualTls();
    if (!current?.TruststoreUri) {
      throw new ApiGatewayTruststoreError(
        ApiGatewayTruststoreErrorCode.NoMutualTls,
        `API Gateway domain ${this.#domainName} has no mutual TLS: turn it on (with an initial truststore) ` +
          "before publishing trust to it",
        { domainName: this.#domainName },
      );
    }
    if (current.TruststoreUri === this.#uri && current.TruststoreVersion) {
      const head = await headBundle(this.#s3, this.#object, current.TruststoreVersion);
      if (head?.sha256 === bundle.sha256) return { changed: false, version: current.TruststoreVersion };
    }

    const { versionId, previousLatest } = await ensureBundleVersion(this.#s3, this.#object, bundle);
    const updated = await this.#point(this.#uri, versionId);
    const warnings = updated?.TruststoreWarnings ?? [];
    if (warnings.length > 0 && !this.#acceptWarnings) {
      // Back to what the domain had. A domain that followed the latest version of this same object is pinned
      // to the version that was latest before the put, since "latest" is now the warned bundle.
      const previousVersion =
        current.TruststoreVersion ?? (current.TruststoreUri === this.#uri ? previousLatest : undefined);
      await this.#point(current.TruststoreUri, previousVersion);
      throw new ApiGatewayTruststoreError(
        ApiGatewayTruststoreErrorCode.Warnings,
        `API Gateway domain ${this.#domainName} answered truststore warnings for ${this.#uri} version ` +
          `${versionId}; the domain was put back on its previous truststore: ${warnings.join(" ")}`,
        { domainName: this.#domainName, warnings },
      );
    }
    return { changed: true, version: versionId };
  }

  async #mutualTls(): Promise<MutualTlsAuthentication | undefined> {
    const out = await this.#apigateway.send(new GetDomainNameCommand({ DomainName: this.#domainName }));
    return out.MutualTlsAuthentication;
  }

  async #point(uri: string, version: string | undefined): Promise<MutualTlsAuthentication | undefined> {
    const out = await this.#apigateway.send(
      new UpdateDomainNameCommand({
        DomainName: this.#domainName,
        MutualTlsAuthentication: { TruststoreUri: uri, TruststoreVersion: version },
      }),
    );
    return out.MutualTlsAuthentication;
  }
}

function parseS3Uri(uri: string): BundleObjectRef | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match?.[1] && match[2] ? { bucket: match[1], key: match[2] } : undefined;
}
