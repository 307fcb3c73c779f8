/**
 * What a credential secret and its issuance secret hold, read from the Secrets Manager stand-in (no AWS
 * call, so call counts stay as the code under test made them), and the checks every test of the layout
 * shares: AWSCURRENT and AWSPREVIOUS of a credential secret are complete credentials that validate.
 */
import { expect } from "vitest";
import { issuanceSecretName } from "../../functions/adapters/secrets.ts";
import { assertValidClientCertificate } from "../../functions/core/validation.ts";
import type { Standins } from "../../standins/index.ts";

export interface StoredVersion {
  versionId: string;
  stages: string[];
  /** The parsed document (undefined when it is not JSON). Holds a private key: assert on it, never print it. */
  document: Record<string, unknown> | undefined;
}

export interface SecretView {
  exists: boolean;
  versions: StoredVersion[];
  /** Version id -> labels, versions without labels included (as `[]`). */
  stages: Record<string, string[]>;
  /** The version holding a label, if any. */
  holder(stage: string): StoredVersion | undefined;
}

export function secretView(standins: Standins, name: string): SecretView {
  const exists = standins.secrets.names().includes(name);
  const versions: StoredVersion[] = exists
    ? standins.secrets.versionsOf(name).map((v) => ({
        versionId: v.versionId,
        stages: v.stages,
        document: parseOrUndefined(v.value),
      }))
    : [];
  return {
    exists,
    versions,
    stages: Object.fromEntries(versions.map((v) => [v.versionId, v.stages])),
    holder: (stage) => versions.find((v) => v.stages.includes(stage)),
  };
}

/** The credential secret and its issuance secret. */
export function credentialSecrets(
  standins: Standins,
  credentialSecret: string,
): { credential: SecretView; issuance: SecretView } {
  return {
    credential: secretView(standins, credentialSecret),
    issuance: secretView(standins, issuanceSecretName(credentialSecret)),
  };
}

function parseOrUndefined(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface CompleteCredential {
  versionId: string;
  certificateArn: string;
  certificatePem: string;
  chainPem: string;
  privateKeyPem: string;
  serial: string;
  rotationId: string;
}

/**
 * Asserts that the version is a complete credential (certificate + chain + key + ARN + serial) that
 * validates: clientAuth, key matches, chain verifies to one of `trustAnchorsPem`. Returns it.
 */
export function expectCompleteCredential(
  version: StoredVersion | undefined,
  options: { trustAnchorsPem: string; now?: Date },
): CompleteCredential {
  expect(version, "a version holds the label").toBeDefined();
  const doc = version!.document ?? {};
  expect(doc.kind).toBe("credential");
  for (const field of ["certificatePem", "privateKeyPem", "certificateArn", "serial", "rotationId"]) {
    expect(typeof doc[field] === "string" && doc[field] !== "", `${field} is present`).toBe(true);
  }
  expect(typeof doc.chainPem).toBe("string");
  const credential = { versionId: version!.versionId, ...doc } as unknown as CompleteCredential;
  // Throws CertificateValidationError (reason and message only; no key) when it does not validate.
  const facts = assertValidClientCertificate(
    {
      certificatePem: credential.certificatePem,
      chainPem: credential.chainPem,
      privateKeyPem: credential.privateKeyPem,
    },
    { now: options.now ?? new Date(), trustAnchorsPem: options.trustAnchorsPem, minimumRemainingMs: 0 },
  );
  expect(facts.serial).toBe(credential.serial);
  return credential;
}

/**
 * The credential secret's invariant: AWSCURRENT and AWSPREVIOUS (where present) are complete credentials
 * that validate, no version of it is staged AWSPENDING, and no version of it is anything but a complete
 * credential. Returns AWSCURRENT and AWSPREVIOUS.
 */
export function expectOnlyCompleteCredentials(
  view: SecretView,
  options: { trustAnchorsPem: string; now?: Date },
): { current?: CompleteCredential; previous?: CompleteCredential } {
  for (const version of view.versions) {
    expect(version.document?.kind, `version ${version.versionId} is a complete credential`).toBe(
      "credential",
    );
  }
  expect(view.holder("AWSPENDING")).toBeUndefined();
  const current = view.holder("AWSCURRENT");
  const previous = view.holder("AWSPREVIOUS");
  return {
    ...(current ? { current: expectCompleteCredential(current, options) } : {}),
    ...(previous ? { previous: expectCompleteCredential(previous, options) } : {}),
  };
}
