/**
 * Issue a replacement client certificate: key + CSR generated here, Private CA IssueCertificate with the
 * client-auth template, validation, ACM import as a NEW ARN, credential staged AWSPENDING in the
 * credential's issuance secret; after the rotation succeeded, promotion into the credential secret.
 *
 * Three issuance phases, each idempotent, so that a retry or a crash between any two never issues a second
 * certificate for the same rotation:
 *   1. prepareKey          - key + CSR persisted (issuance secret version derived from the rotation id)
 *   2. requestCertificate  - IssueCertificate with an idempotency token derived from the rotation id
 *   3. completeIssuance    - fetch, validate, import (or find the earlier import), stage the credential
 * Then either promoteCredential (the credential secret's new AWSCURRENT, written once under a version id
 * derived from the rotation id) or abandonIssuance (AWSPENDING cleared; the credential secret untouched).
 * Results carry ARNs, serials and dates only: safe to checkpoint, log, publish and answer.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AcmAdapter } from "../adapters/acm.ts";
import { AdapterError, awsErrorName } from "../adapters/errors.ts";
import type { PrivateCaAdapter, WaitOptions } from "../adapters/private-ca.ts";
import {
  type Credential,
  type CredentialStore,
  isCompleteCredential,
  type PreparedKey,
  tokenFor,
} from "../adapters/secrets.ts";
import { validityWithinAuthority } from "../core/authority-validity.ts";
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
  /**
   * Name of the credential secret (e.g. "mtls-rotator/credentials/edge-to-origin"); in-flight material goes
   * to its issuance secret (`<credential>/issuance`).
   */
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
  override readonly retryable = false;
}

/** Deterministic identifiers derived from the rotation, so retries converge. */
export function derivedId(rotationId: string, purpose: "key" | "issue" | "credential"): string {
  return tokenFor(`${rotationId}|${purpose}`);
}

export function validateIssuanceRequest(request: IssuanceRequest): void {
  if (!request.rotationId.trim()) throw new IssuanceError("rotationId is required");
  if (!Number.isInteger(request.validityDays) || request.validityDays < 1 || request.validityDays > 3650) {
    throw new IssuanceError(
      `validityDays must be a whole number from 1 to 3650, got ${request.validityDays}`,
    );
  }
}

/** The version ids a rotation's documents get (in the issuance secret; the credential one also at promotion). */
export function rotationVersionIds(rotationId: string): { key: string; credential: string } {
  return { key: derivedId(rotationId, "key"), credential: derivedId(rotationId, "credential") };
}

/** Phase 1: a key and CSR exist for this rotation, stored only in the credential's issuance secret. */
export async function prepareKey(
  deps: IssuanceDeps,
  request: IssuanceRequest,
): Promise<{ keyVersionId: string }> {
  validateIssuanceRequest(request);
  const { key: keyVersionId, credential: credentialVersionId } = rotationVersionIds(request.rotationId);
  await deps.credentials.ensureIssuanceSecret(request.credential);
  if (await deps.credentials.readInFlight(request.credential, credentialVersionId)) return { keyVersionId };
  if (await deps.credentials.readInFlight(request.credential, keyVersionId)) return { keyVersionId };
  const generated = await generateKeyAndCsr({
    keyAlgorithm: request.keyAlgorithm,
    subject: request.subject,
    sans: request.sans,
  });
  try {
    await deps.credentials.putInFlight(request.credential, keyVersionId, {
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

async function readKey(deps: IssuanceDeps, request: IssuanceRequest): Promise<PreparedKey> {
  const stored = await deps.credentials.readInFlight(
    request.credential,
    derivedId(request.rotationId, "key"),
  );
  const key = stored?.value;
  if (key?.kind !== "key" || !key.csrPem || !key.privateKeyPem)
    throw new IssuanceError(`no key prepared for rotation ${request.rotationId}; run prepareKey first`);
  return key;
}

/** Phase 2: IssueCertificate; the same rotation always sends the same idempotency token. */
export async function requestCertificate(
  deps: IssuanceDeps,
  request: IssuanceRequest,
): Promise<{
  privateCaCertificateArn: string;
  /** Set when the CA chain expires before the requested validity: the days asked for instead, and why. */
  validityCapped?: { days: number; subject: string; notAfter: string };
}> {
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
  // Never a leaf that outlives its CA's chain (core/authority-validity.ts): capped, or refused when the
  // chain expires within a day.
  const validity = validityWithinAuthority(
    request.validityDays,
    await deps.privateCa.authorityChainPem(request.authorityArn),
    deps.now(),
  );
  if (validity.days < 1) {
    throw new IssuanceError(
      `the certificate of Private CA ${request.authorityArn} (${validity.cappedBy?.subject}) expires at ` +
        `${validity.cappedBy?.notAfter}: a certificate issued now would outlive it; plan a CA migration`,
    );
  }
  const privateCaCertificateArn = await deps.privateCa.issue({
    authorityArn: request.authorityArn,
    csrPem: key.csrPem,
    signingAlgorithm: authority.signingAlgorithm,
    validityDays: validity.days,
    idempotencyToken: derivedId(request.rotationId, "issue").replaceAll("-", ""),
  });
  return {
    privateCaCertificateArn,
    ...(validity.cappedBy ? { validityCapped: { days: validity.days, ...validity.cappedBy } } : {}),
  };
}

/**
 * Phase 3: fetch, validate, import as a new ARN (once), and stage the complete credential AWSPENDING in the
 * issuance secret (where the probes read it). The credential secret is not touched: that is promotion's.
 */
export async function completeIssuance(
  deps: IssuanceDeps,
  request: IssuanceRequest,
  privateCaCertificateArn: string,
  options: {
    /**
     * Runs right before ImportCertificate, only when this call imports (not when a staged credential or an
     * earlier import is found): the workflow waits there for its account-wide import slot.
     */
    beforeImport?: () => Promise<void>;
  } = {},
): Promise<IssuedCertificate> {
  const credentialVersionId = derivedId(request.rotationId, "credential");
  const authorityCertificatePem =
    splitPem(await deps.privateCa.authorityChainPem(request.authorityArn))[0] ?? "";
  const staged = (await deps.credentials.readInFlight(request.credential, credentialVersionId))?.value;
  if (isCompleteCredential(staged)) {
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

  let certificateArn = await deps.acm.findImported({ serial: facts.serial, notAfter: facts.notAfter });
  if (!certificateArn) {
    await options.beforeImport?.();
    certificateArn = await deps.acm.importCertificate({
      certificatePem,
      chainPem,
      privateKeyPem: key.privateKeyPem,
      lineage: {
        rotationId: request.rotationId,
        previousArn: request.previousCertificateArn,
        credential: request.credential,
      },
    });
  }

  const credential: Credential = {
    kind: "credential",
    rotationId: request.rotationId,
    privateKeyPem: key.privateKeyPem,
    certificatePem,
    chainPem,
    certificateArn,
    serial: facts.serial,
  };
  await deps.credentials.putInFlight(request.credential, credentialVersionId, credential);
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
  credential: Credential,
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
      certificatePem: credential.certificatePem,
      chainPem: credential.chainPem,
      privateKeyPem: credential.privateKeyPem,
    },
    { now, trustAnchorsPem: authorityCertificatePem, expectedKeyAlgorithm: request.keyAlgorithm },
  );
  return {
    certificateArn: credential.certificateArn,
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

/** The complete credential a rotation staged (for the probes), or an IssuanceError when there is none. */
export async function readStagedCredential(
  deps: Pick<IssuanceDeps, "credentials">,
  request: Pick<IssuanceRequest, "rotationId" | "credential">,
): Promise<Credential> {
  const staged = await deps.credentials.readStaged(
    request.credential,
    derivedId(request.rotationId, "credential"),
  );
  if (!staged) throw new IssuanceError(`no staged credential for rotation ${request.rotationId}`);
  return staged;
}

/**
 * Promotion, once every wave passed: the staged credential becomes the credential secret's AWSCURRENT (and
 * the one it replaces AWSPREVIOUS), then AWSPENDING is cleared. The staged version was fully validated
 * (anchored on the configured CA) when it was written, and a version's value cannot change; here it is
 * checked to be complete, to be the rotation's certificate, and its key to match. Idempotent: run again
 * after a crash, it finds the same version and only makes sure AWSCURRENT is on it.
 */
export async function promoteCredential(
  deps: Pick<IssuanceDeps, "credentials">,
  request: Pick<IssuanceRequest, "rotationId" | "credential">,
  issued: { certificateArn: string; serial: string },
): Promise<{ restorable: boolean }> {
  const versions = rotationVersionIds(request.rotationId);
  const stored = await deps.credentials.readInFlight(request.credential, versions.credential);
  const staged = stored?.value;
  if (!stored || !isCompleteCredential(staged)) {
    throw new IssuanceError(`no complete staged credential for rotation ${request.rotationId}`);
  }
  if (staged.certificateArn !== issued.certificateArn || staged.serial !== issued.serial) {
    throw new IssuanceError(
      `the staged credential of rotation ${request.rotationId} is ${staged.certificateArn} (serial ${staged.serial}), not ${issued.certificateArn}`,
    );
  }
  let matches = false;
  try {
    matches = new X509Certificate(staged.certificatePem).checkPrivateKey(
      createPrivateKey(staged.privateKeyPem),
    );
  } catch {
    // Unreadable certificate or key: not promotable (the error names neither).
  }
  if (!matches) {
    throw new IssuanceError(
      `the staged credential of rotation ${request.rotationId} does not hold a matching key`,
    );
  }
  await deps.credentials.promote(request.credential, versions.credential, stored.text);
  await deps.credentials.clearPending(request.credential, [versions.key, versions.credential]);
  // The credential it replaced is the rollback record: a rollback in the grace period can put it back.
  return { restorable: await deps.credentials.hasPrevious(request.credential) };
}

/**
 * Undo `promoteCredential` (a rollback in the grace period, once every distribution is back on the old
 * certificate): AWSCURRENT goes back to the credential the rotation replaced; the rolled-back one keeps no
 * label. Only for a promotion that was restorable.
 */
export async function demoteCredential(
  deps: Pick<IssuanceDeps, "credentials">,
  request: Pick<IssuanceRequest, "rotationId" | "credential">,
): Promise<void> {
  await deps.credentials.demote(request.credential, rotationVersionIds(request.rotationId).credential);
}

/** After an abort or a rollback: the rotation's in-flight documents lose AWSPENDING; nothing else changes. */
export async function abandonIssuance(
  deps: Pick<IssuanceDeps, "credentials">,
  request: Pick<IssuanceRequest, "rotationId" | "credential">,
): Promise<void> {
  const versions = rotationVersionIds(request.rotationId);
  await deps.credentials.clearPending(request.credential, [versions.key, versions.credential]);
}
