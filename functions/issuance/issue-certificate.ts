/**
 * Issue a replacement client certificate: key + CSR generated here, Private CA IssueCertificate with the
 * client-auth template, validation, ACM import as a NEW ARN, credential staged AWSPENDING.
 *
 * Three phases, each idempotent, so that a retry or a crash between any two never issues a second
 * certificate for the same rotation:
 *   1. prepareKey          - key + CSR persisted (secret version derived from the rotation id)
 *   2. requestCertificate  - IssueCertificate with an idempotency token derived from the rotation id
 *   3. completeIssuance    - fetch, validate, import (or find the earlier import), stage the credential
 * Results carry ARNs, serials and dates only: safe to checkpoint, log, publish and answer.
 */
import { createHash } from "node:crypto";
import type { AcmAdapter } from "../adapters/acm.ts";
import { AdapterError, awsErrorName } from "../adapters/errors.ts";
import type { PrivateCaAdapter, WaitOptions } from "../adapters/private-ca.ts";
import type { CredentialSecret, CredentialStore } from "../adapters/secrets.ts";
import { keyTypeOf, type SubjectAlternativeName, type SupportedKeyAlgorithm } from "../core/certificate.ts";
import { splitPem } from "../core/pem.ts";
import { assertValidClientCertificate } from "../core/validation.ts";
import { generateKeyAndCsr, type SubjectSource } from "../crypto/keys.ts";

export interface IssuanceDeps {
  privateCa: PrivateCaAdapter;
  acm: AcmAdapter;
  credentials: CredentialStore;
  now: () => Date;
  wait?: WaitOptions;
}

export interface IssuanceRequest {
  rotationId: string;
  /** Secret name of the credential (e.g. "mtls-rotator/credentials/edge-to-origin"). */
  credential: string;
  authorityArn: string;
  /** Of the CA's key type (the plan's choice, replacementKeyFor): ACM refuses any other. */
  keyAlgorithm: SupportedKeyAlgorithm;
  subject: SubjectSource;
  sans: SubjectAlternativeName[];
  validityDays: number;
  previousCertificateArn?: string;
}

/** What the rest of the rotation knows about the new certificate. No key material, by construction. */
export interface IssuedCertificate {
  certificateArn: string;
  privateCaCertificateArn: string;
  serial: string;
  fingerprint: string;
  keyAlgorithm: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  credentialVersionId: string;
}

export class IssuanceError extends AdapterError {
  override name = "IssuanceError";
}

/** Deterministic identifiers derived from the rotation, so retries converge. */
export function derivedId(rotationId: string, purpose: "key" | "issue" | "credential"): string {
  const hex = createHash("sha256").update(`mtls-rotator|${rotationId}|${purpose}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function validateIssuanceRequest(request: IssuanceRequest): void {
  if (!request.rotationId.trim()) throw new IssuanceError("rotationId is required");
  if (!Number.isInteger(request.validityDays) || request.validityDays < 1 || request.validityDays > 3650) {
    throw new IssuanceError(
      `validityDays must be a whole number from 1 to 3650, got ${request.validityDays}`,
    );
  }
}

/** Phase 1: a key and CSR exist for this rotation, stored only in the credential secret. */
export async function prepareKey(
  deps: IssuanceDeps,
  request: IssuanceRequest,
): Promise<{ keyVersionId: string }> {
  validateIssuanceRequest(request);
  const keyVersionId = derivedId(request.rotationId, "key");
  const credentialVersionId = derivedId(request.rotationId, "credential");
  await deps.credentials.ensureSecret(request.credential);
  if (await deps.credentials.readVersion(request.credential, credentialVersionId)) return { keyVersionId };
  if (await deps.credentials.readVersion(request.credential, keyVersionId)) return { keyVersionId };
  const generated = await generateKeyAndCsr({
    keyAlgorithm: request.keyAlgorithm,
    subject: request.subject,
    sans: request.sans,
  });
  try {
    await deps.credentials.putPending(request.credential, keyVersionId, {
      kind: "key",
      rotationId: request.rotationId,
      privateKeyPem: generated.privateKeyPem,
      csrPem: generated.csrPem,
    });
  } catch (error) {
    // A concurrent run stored its key first under the same version id; that key wins and this one is dropped.
    if (awsErrorName(error) !== "ResourceExistsException") throw error;
  }
  return { keyVersionId };
}

async function readKey(deps: IssuanceDeps, request: IssuanceRequest): Promise<CredentialSecret> {
  const key = await deps.credentials.readVersion(request.credential, derivedId(request.rotationId, "key"));
  if (!key?.csrPem)
    throw new IssuanceError(`no key prepared for rotation ${request.rotationId}; run prepareKey first`);
  return key;
}

/** Phase 2: IssueCertificate; the same rotation always sends the same idempotency token. */
export async function requestCertificate(
  deps: IssuanceDeps,
  request: IssuanceRequest,
): Promise<{ privateCaCertificateArn: string }> {
  const key = await readKey(deps, request);
  const authority = await deps.privateCa.describeAuthority(request.authorityArn);
  if (authority.status !== "ACTIVE") {
    throw new IssuanceError(`Private CA ${request.authorityArn} is ${authority.status}, not ACTIVE`);
  }
  // ACM imports a certificate only with its signing CA's key type: never have one issued it would refuse.
  if (keyTypeOf(request.keyAlgorithm) !== keyTypeOf(authority.keyAlgorithm)) {
    throw new IssuanceError(
      `a ${request.keyAlgorithm} certificate from Private CA ${request.authorityArn} (key ${authority.keyAlgorithm}) ` +
        "would not import into ACM: its key type must be the CA's",
    );
  }
  const privateCaCertificateArn = await deps.privateCa.issue({
    authorityArn: request.authorityArn,
    csrPem: key.csrPem!,
    signingAlgorithm: authority.signingAlgorithm,
    validityDays: request.validityDays,
    idempotencyToken: derivedId(request.rotationId, "issue").replaceAll("-", ""),
  });
  return { privateCaCertificateArn };
}

/** Phase 3: fetch, validate, import as a new ARN (once), and stage the credential AWSPENDING. */
export async function completeIssuance(
  deps: IssuanceDeps,
  request: IssuanceRequest,
  privateCaCertificateArn: string,
): Promise<IssuedCertificate> {
  const credentialVersionId = derivedId(request.rotationId, "credential");
  const authorityCertificatePem =
    splitPem(await deps.privateCa.authorityChainPem(request.authorityArn))[0] ?? "";
  const staged = await deps.credentials.readVersion(request.credential, credentialVersionId);
  if (staged?.certificatePem && staged.certificateArn) {
    return describeIssued(
      staged,
      privateCaCertificateArn,
      credentialVersionId,
      authorityCertificatePem,
      deps.now(),
      request,
    );
  }

  const key = await readKey(deps, request);
  const { certificatePem, chainPem } = await deps.privateCa.waitForCertificate(
    request.authorityArn,
    privateCaCertificateArn,
    deps.wait,
  );
  const authorityChain = await deps.privateCa.authorityChainPem(request.authorityArn);
  // Anchor on the configured CA itself, not on its root: a sibling CA under the same root must not pass.
  const facts = assertValidClientCertificate(
    { certificatePem, chainPem, privateKeyPem: key.privateKeyPem },
    {
      now: deps.now(),
      trustAnchorsPem: splitPem(authorityChain)[0] ?? "",
      expectedKeyAlgorithm: request.keyAlgorithm,
    },
  );

  const domainName = /CN=([^,]+)/.exec(facts.subject)?.[1] ?? facts.sans[0]?.value ?? "";
  const certificateArn =
    (await deps.acm.findImported({
      serial: facts.serial,
      domainName,
      notAfter: facts.notAfter,
      keyAlgorithm: facts.keyAlgorithm,
    })) ??
    (await deps.acm.importCertificate({
      certificatePem,
      chainPem,
      privateKeyPem: key.privateKeyPem,
      lineage: {
        rotationId: request.rotationId,
        previousArn: request.previousCertificateArn,
        credential: request.credential,
      },
    }));

  const credential: CredentialSecret = {
    kind: "credential",
    rotationId: request.rotationId,
    privateKeyPem: key.privateKeyPem,
    certificatePem,
    chainPem,
    certificateArn,
    serial: facts.serial,
  };
  await deps.credentials.putPending(request.credential, credentialVersionId, credential);
  return describeIssued(
    credential,
    privateCaCertificateArn,
    credentialVersionId,
    authorityCertificatePem,
    deps.now(),
    request,
  );
}

function describeIssued(
  credential: CredentialSecret,
  privateCaCertificateArn: string,
  credentialVersionId: string,
  authorityCertificatePem: string,
  now: Date,
  request: IssuanceRequest,
): IssuedCertificate {
  // Re-validate what is stored, anchored on the configured CA (not on the stored chain itself): a version
  // written by anything else must not be trusted blindly.
  const facts = assertValidClientCertificate(
    {
      certificatePem: credential.certificatePem!,
      chainPem: credential.chainPem ?? "",
      privateKeyPem: credential.privateKeyPem,
    },
    { now, trustAnchorsPem: authorityCertificatePem, expectedKeyAlgorithm: request.keyAlgorithm },
  );
  return {
    certificateArn: credential.certificateArn!,
    privateCaCertificateArn,
    serial: facts.serial,
    fingerprint: facts.fingerprint,
    keyAlgorithm: facts.keyAlgorithm,
    subject: facts.subject,
    issuer: facts.issuer,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    credentialVersionId,
  };
}

/** The three phases in one call (tests, sandbox, and callers without a durable runtime). */
export async function issueReplacement(
  deps: IssuanceDeps,
  request: IssuanceRequest,
): Promise<IssuedCertificate> {
  await prepareKey(deps, request);
  const { privateCaCertificateArn } = await requestCertificate(deps, request);
  return completeIssuance(deps, request, privateCaCertificateArn);
}
