/**
 * Amazon API Gateway v2 stand-in (REST-JSON), enough of it for custom domain names with mutual TLS: the real
 * `@aws-sdk/client-apigatewayv2` talks to it over loopback HTTP. Domains load their truststore (a PEM CA
 * bundle) from an S3 object version read from a `BundleStore` (the S3 stand-in).
 *
 * Routing: it claims every request signed for `apigateway` (SigV4 credential scope). Operations:
 * CreateDomainName, GetDomainName, UpdateDomainName; anything else answers 501 NotImplemented.
 * Domains live per region (the region of the SigV4 scope).
 *
 * Rules enforced (errors as API Gateway names them, message in `{"message": ...}`):
 * - Unknown domain -> 404 NotFoundException; creating an existing one -> 409 ConflictException.
 * - `domainName` must be a lowercase DNS name; exactly one domain name configuration, whose
 *   `certificateArn` is an ACM ARN in the domain's region -> 400 BadRequestException.
 * - Mutual TLS needs a REGIONAL endpoint and the TLS_1_2 security policy -> 400 BadRequestException.
 * - `truststoreUri` must be `s3://bucket/key`; the object (the given `truststoreVersion`, or the latest
 *   version) must exist; the truststore must parse (PEM, only CERTIFICATE blocks, each a certificate), hold
 *   at most 1,000 certificates and at most 1 MB -> 400 BadRequestException, and nothing changes.
 * - Certificates the truststore holds but API Gateway considers invalid do not refuse the call: like AWS,
 *   the domain keeps mutual TLS with that truststore and answers `truststoreWarnings` (a certificate that is
 *   not a CA, an expired one, a chain deeper than 4 certificates).
 * - PATCH semantics: members left out of UpdateDomainName keep their values; a refused update changes
 *   nothing. The truststore is read when the domain is written (API Gateway caches it: a new S3 version takes
 *   effect only through UpdateDomainName).
 */
import { randomBytes } from "node:crypto";
import { type BundleStore, EMPTY_BUNDLE_STORE, inspectCaBundle } from "./ca-bundle.ts";
import { AwsError, notImplemented, restJsonError } from "./protocol.ts";
import { signingServiceOf, type WireRequest, type WireResponse, type WireService } from "./server.ts";

/** API Gateway truststore quotas. */
export const TRUSTSTORE_MAX_CERTIFICATES = 1000;
export const TRUSTSTORE_MAX_BYTES = 1024 * 1024;
/** Certificates can have a maximum chain length of four (API Gateway mutual TLS). */
export const TRUSTSTORE_MAX_CHAIN_DEPTH = 4;

export interface ApiGatewayStandinOptions {
  bundles?: BundleStore;
  /** Clock for the expiry warnings. */
  now?: () => Date;
}

/** The truststore a domain uses, as the plain inspection methods hand it out. */
export interface DomainTruststore {
  truststoreUri: string;
  /** As the caller gave it (undefined when the latest version was taken). */
  truststoreVersion: string | undefined;
  /** The S3 version actually loaded. */
  loadedVersion: string;
  pem: string;
  warnings: string[];
}

interface DomainConfiguration {
  certificateArn: string;
  certificateName?: string;
  endpointType: string;
  securityPolicy: string;
  ipAddressType?: string;
  ownershipVerificationCertificateArn?: string;
}

interface StoredDomain {
  region: string;
  domainName: string;
  gatewayId: string;
  configuration: DomainConfiguration;
  uploadedAt: Date;
  truststore: DomainTruststore | undefined;
  routingMode: string | undefined;
  tags: Record<string, string>;
}

const DOMAIN_PATH = /^\/v2\/domainnames(?:\/([^/]+))?$/;
const DOMAIN_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const TRUSTSTORE_URI = /^s3:\/\/([^/]+)\/(.+)$/;

export class ApiGatewayStandin implements WireService {
  readonly service = "apigateway";
  /** `${region}/${domainName}` -> domain. */
  readonly #domains = new Map<string, StoredDomain>();
  readonly #bundles: BundleStore;
  readonly #now: () => Date;

  constructor(options: ApiGatewayStandinOptions = {}) {
    this.#bundles = options.bundles ?? EMPTY_BUNDLE_STORE;
    this.#now = options.now ?? (() => new Date());
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  domainNames(region = "us-east-1"): string[] {
    return [...this.#domains.values()]
      .filter((d) => d.region === region)
      .map((d) => d.domainName)
      .sort();
  }

  /** The truststore the domain validates clients with; undefined without mutual TLS. */
  truststore(domainName: string, region = "us-east-1"): DomainTruststore | undefined {
    const domain = this.#domains.get(`${region}/${domainName}`);
    if (!domain) throw new Error(`no domain ${domainName} in ${region}`);
    return domain.truststore && { ...domain.truststore, warnings: [...domain.truststore.warnings] };
  }

  // ---- WireService --------------------------------------------------------------------------------------

  operationFor(request: WireRequest): string | undefined {
    if (signingServiceOf(request) !== "apigateway") return undefined;
    const match = DOMAIN_PATH.exec(request.path);
    if (!match) return "Unsupported";
    if (match[1] === undefined) return request.method === "POST" ? "CreateDomainName" : "Unsupported";
    if (request.method === "GET") return "GetDomainName";
    if (request.method === "PATCH") return "UpdateDomainName";
    return "Unsupported";
  }

  handle(operation: string, request: WireRequest): WireResponse {
    const region = request.region ?? "us-east-1";
    const name = decodeURIComponent(DOMAIN_PATH.exec(request.path)?.[1] ?? "");
    switch (operation) {
      case "CreateDomainName":
        return this.#create(region, parseBody(request));
      case "GetDomainName":
        return respond(200, this.#describe(this.#get(region, name)));
      case "UpdateDomainName":
        return this.#update(this.#get(region, name), parseBody(request));
      default:
        throw notImplemented(request);
    }
  }

  /** REST-JSON errors: the code in `x-amzn-errortype`, the message in the body. */
  errorResponse(error: AwsError): WireResponse {
    const body: Record<string, string> = { message: error.message };
    if (error.code === "NotFoundException") body.resourceType = "DomainName";
    return restJsonError(error, body);
  }

  // ---- operations ---------------------------------------------------------------------------------------

  #create(region: string, input: Record<string, unknown>): WireResponse {
    const domainName = input.domainName;
    if (typeof domainName !== "string" || !DOMAIN_NAME.test(domainName)) {
      throw badRequest(`Invalid domain name: '${String(domainName ?? "")}'.`);
    }
    if (this.#domains.has(`${region}/${domainName}`)) {
      throw new AwsError("ConflictException", "The domain name you provided already exists.", 409);
    }
    const configuration = readConfigurations(input.domainNameConfigurations, region);
    if (!configuration) throw badRequest("domainNameConfigurations must hold one domain name configuration.");
    const truststore = this.#readMutualTls(input.mutualTlsAuthentication, configuration, undefined);
    const domain: StoredDomain = {
      region,
      domainName,
      gatewayId: `d-${randomBytes(5).toString("hex")}`,
      configuration,
      uploadedAt: this.#now(),
      truststore,
      routingMode: optional(input, "routingMode"),
      tags: readTags(input.tags),
    };
    this.#domains.set(`${region}/${domainName}`, domain);
    return respond(201, this.#describe(domain));
  }

  #update(domain: StoredDomain, input: Record<string, unknown>): WireResponse {
    // Everything is checked before anything changes.
    const configuration =
      input.domainNameConfigurations === undefined
        ? domain.configuration
        : readConfigurations(input.domainNameConfigurations, domain.region);
    if (!configuration) throw badRequest("domainNameConfigurations must hold one domain name configuration.");
    const truststore =
      input.mutualTlsAuthentication === undefined
        ? domain.truststore
        : this.#readMutualTls(input.mutualTlsAuthentication, configuration, domain.truststore);
    if (truststore && input.mutualTlsAuthentication === undefined) checkMutualTlsEndpoint(configuration);
    const routingMode = optional(input, "routingMode") ?? domain.routingMode;

    if (configuration !== domain.configuration) domain.uploadedAt = this.#now();
    domain.configuration = configuration;
    domain.truststore = truststore;
    domain.routingMode = routingMode;
    return respond(200, this.#describe(domain));
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  #get(region: string, name: string): StoredDomain {
    const domain = this.#domains.get(`${region}/${name}`);
    if (!domain) throw new AwsError("NotFoundException", "Invalid domain name identifier specified", 404);
    return domain;
  }

  /**
   * The truststore a MutualTlsAuthenticationInput asks for. An empty `truststoreUri` turns mutual TLS off
   * (`current` is what the domain has, for a version-only change).
   */
  #readMutualTls(
    value: unknown,
    configuration: DomainConfiguration,
    current: DomainTruststore | undefined,
  ): DomainTruststore | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object") throw badRequest("mutualTlsAuthentication must be an object.");
    const input = value as Record<string, unknown>;
    const uri = optional(input, "truststoreUri") ?? current?.truststoreUri;
    if (uri === undefined || uri === "") return undefined;
    const version = optional(input, "truststoreVersion");
    checkMutualTlsEndpoint(configuration);

    const match = TRUSTSTORE_URI.exec(uri);
    if (!match) throw badRequest(`Truststore URI '${uri}' is not of the form s3://bucket-name/key-name.`);
    const [, bucket = "", key = ""] = match;
    const object = this.#bundles.read(bucket, key, version);
    if (!object) {
      throw badRequest(
        `Unable to access the truststore at ${uri}${version === undefined ? "" : ` (version ${version})`}: ` +
          "the object or version does not exist.",
      );
    }
    const inspection = inspectCaBundle(object.body, this.#now());
    if (inspection.unreadable) throw badRequest(`Invalid truststore: ${inspection.unreadable}.`);
    if (inspection.certificates.length > TRUSTSTORE_MAX_CERTIFICATES) {
      throw badRequest(
        `The truststore holds ${inspection.certificates.length} certificates; at most ${TRUSTSTORE_MAX_CERTIFICATES} are allowed.`,
      );
    }
    if (inspection.bytes > TRUSTSTORE_MAX_BYTES) {
      throw badRequest(
        `The truststore is ${inspection.bytes} bytes; at most ${TRUSTSTORE_MAX_BYTES} are allowed.`,
      );
    }
    const warnings = [
      ...inspection.notCa.map((subject) => `Certificate ${subject} is not a CA certificate.`),
      ...inspection.expired.map((subject) => `Certificate ${subject} has expired.`),
    ];
    if (inspection.chainDepth > TRUSTSTORE_MAX_CHAIN_DEPTH) {
      warnings.push(
        `Certificate ${inspection.deepest} is ${inspection.chainDepth} certificates deep; ` +
          `the maximum chain length is ${TRUSTSTORE_MAX_CHAIN_DEPTH}.`,
      );
    }
    return {
      truststoreUri: uri,
      truststoreVersion: version,
      loadedVersion: object.versionId,
      pem: object.body.toString("utf8"),
      warnings,
    };
  }

  #describe(domain: StoredDomain): Record<string, unknown> {
    const c = domain.configuration;
    const out: Record<string, unknown> = {
      apiMappingSelectionExpression: "$request.basepath",
      domainName: domain.domainName,
      domainNameArn: `arn:aws:apigateway:${domain.region}::/domainnames/${domain.domainName}`,
      domainNameConfigurations: [
        {
          apiGatewayDomainName: `${domain.gatewayId}.execute-api.${domain.region}.amazonaws.com`,
          certificateArn: c.certificateArn,
          ...(c.certificateName === undefined ? {} : { certificateName: c.certificateName }),
          certificateUploadDate: domain.uploadedAt.toISOString(),
          domainNameStatus: "AVAILABLE",
          endpointType: c.endpointType,
          hostedZoneId: "Z1UJRXOUMOOFQ8",
          ipAddressType: c.ipAddressType ?? "ipv4",
          securityPolicy: c.securityPolicy,
          ...(c.ownershipVerificationCertificateArn === undefined
            ? {}
            : { ownershipVerificationCertificateArn: c.ownershipVerificationCertificateArn }),
        },
      ],
      tags: domain.tags,
    };
    if (domain.routingMode !== undefined) out.routingMode = domain.routingMode;
    if (domain.truststore) {
      const t = domain.truststore;
      out.mutualTlsAuthentication = {
        truststoreUri: t.truststoreUri,
        ...(t.truststoreVersion === undefined ? {} : { truststoreVersion: t.truststoreVersion }),
        ...(t.warnings.length === 0 ? {} : { truststoreWarnings: t.warnings }),
      };
    }
    return out;
  }
}

// ---- input ------------------------------------------------------------------------------------------------

function badRequest(message: string): AwsError {
  return new AwsError("BadRequestException", message);
}

function parseBody(request: WireRequest): Record<string, unknown> {
  if (request.body.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(request.body);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw badRequest("The request body is not a JSON object.");
}

function optional(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest(`${field} must be a string.`);
  return value;
}

const ENDPOINT_TYPES = ["REGIONAL", "EDGE"];
const SECURITY_POLICIES = ["TLS_1_0", "TLS_1_2"];

function readConfigurations(value: unknown, region: string): DomainConfiguration | undefined {
  if (!Array.isArray(value) || value.length !== 1) return undefined;
  const input = value[0];
  if (typeof input !== "object" || input === null) return undefined;
  const c = input as Record<string, unknown>;
  const certificateArn = optional(c, "certificateArn") ?? "";
  const arnRegion = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[\w-]+$/.exec(certificateArn)?.[1];
  if (arnRegion === undefined) {
    throw badRequest(`certificateArn '${certificateArn}' is not an ACM certificate ARN.`);
  }
  if (arnRegion !== region) {
    throw badRequest(`The certificate ${certificateArn} must be in ${region}, the region of the domain.`);
  }
  const endpointType = optional(c, "endpointType") ?? "REGIONAL";
  if (!ENDPOINT_TYPES.includes(endpointType)) throw badRequest(`Invalid endpointType '${endpointType}'.`);
  const securityPolicy = optional(c, "securityPolicy") ?? "TLS_1_2";
  if (!SECURITY_POLICIES.includes(securityPolicy)) {
    throw badRequest(`Invalid securityPolicy '${securityPolicy}'.`);
  }
  return {
    certificateArn,
    certificateName: optional(c, "certificateName"),
    endpointType,
    securityPolicy,
    ipAddressType: optional(c, "ipAddressType"),
    ownershipVerificationCertificateArn: optional(c, "ownershipVerificationCertificateArn"),
  };
}

function checkMutualTlsEndpoint(configuration: DomainConfiguration): void {
  if (configuration.endpointType !== "REGIONAL") {
    throw badRequest("Mutual TLS is only supported for REGIONAL custom domain names.");
  }
  if (configuration.securityPolicy !== "TLS_1_2") {
    throw badRequest("Mutual TLS requires the TLS_1_2 security policy.");
  }
}

function readTags(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("tags must be a map.");
  const out: Record<string, string> = {};
  for (const [key, tag] of Object.entries(value)) {
    if (typeof tag !== "string") throw badRequest(`Tag ${key} must have a string value.`);
    out[key] = tag;
  }
  return out;
}

function respond(status: number, body: Record<string, unknown>): WireResponse {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}
