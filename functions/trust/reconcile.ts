/**
 * Trust reconciliation for CA changes. The bundle origins trust must hold every CA that a managed
 * certificate in service still chains to, plus the CA new certificates come from. A configured CA that no
 * managed certificate uses any more stays for a grace period (clients and origins catch up), then leaves
 * the bundle, and every target is updated again. Runs after each scan, from the inventory.
 *
 * A CA is its key: "in use" means a managed certificate in service was signed by that CA's key (the
 * inventory's `authorityKey`), so a CA re-keyed under the same name leaves the bundle like any other.
 */
import { X509Certificate } from "node:crypto";
import { selectProbeCertificates } from "../core/acknowledgement.ts";
import { fingerprintOf, keyFingerprintOf, splitPem } from "../core/pem.ts";
import { authorityKeysInService, type InventoryRecord } from "../core/tracking.ts";
import type { AcknowledgementStore } from "./acknowledgements.ts";
import { type PublishResult, publishTrustBundle, type TrustTarget } from "./publish-bundle.ts";

export { authorityKeysInService };

export interface ConfiguredAuthority {
  /** The CA certificate followed by its chain (GetCertificateAuthorityCertificate). */
  chainPem: string;
  /** The CA replacements are issued from (always trusted). */
  next: boolean;
}

/** When each CA fingerprint was first seen unused (ISO), so its grace period survives between scans. */
export interface RetirementClock {
  load(): Promise<Record<string, string>>;
  save(unusedSince: Record<string, string>): Promise<void>;
}

export interface ReconcileResult extends PublishResult {
  /** Key fingerprints of the CAs kept because a managed certificate (or new issuance) needs them. */
  kept: string[];
  /** Key fingerprints of the CAs unused but still inside their grace period. */
  inGrace: string[];
  /** CA fingerprints removed from the bundle now. */
  retiredFingerprints: string[];
  /** Whether the probe certificates were published again for this bundle (acknowledgements). */
  probesRepublished?: boolean;
}

export async function reconcileTrust(
  input: {
    targets: TrustTarget[];
    authorities: ConfiguredAuthority[];
    clock: RetirementClock;
    graceSeconds: number;
    now: Date;
    /**
     * The probe certificates next to the bundle (core/acknowledgement.ts): published again for the bundle
     * reconciled, those that still verify against it, so origin-sync can acknowledge it (a rotation waiting
     * for acknowledgements then sees its new certificate verified against this bundle).
     */
    probes?: Pick<AcknowledgementStore, "republishProbeCertificates">;
  } & ({ inventory: Iterable<InventoryRecord> } | { authorityKeysInService: Iterable<string> }),
): Promise<ReconcileResult> {
  const now = input.now.getTime();
  const inService = new Set(
    "authorityKeysInService" in input
      ? input.authorityKeysInService
      : authorityKeysInService(input.inventory, input.now),
  );
  const authorities = input.authorities.map((a) => {
    const certificates = splitPem(a.chainPem).map((pem) => new X509Certificate(pem));
    const key = keyFingerprintOf(certificates[0]!);
    return {
      ...a,
      key,
      fingerprints: certificates.map(fingerprintOf),
      used: a.next || inService.has(key),
    };
  });
  const keptFingerprints = new Set(authorities.filter((a) => a.used).flatMap((a) => a.fingerprints));
  const unusedSince = await input.clock.load();
  const nextUnused: Record<string, string> = {};
  const retired: string[] = [];
  const inGrace: string[] = [];
  for (const authority of authorities.filter((a) => !a.used)) {
    // A certificate shared with a CA still in use (a common root) is never retired.
    const own = authority.fingerprints.filter((f) => !keptFingerprints.has(f));
    const since = own.map((f) => unusedSince[f]).find(Boolean) ?? input.now.toISOString();
    for (const f of own) nextUnused[f] = since;
    if (now - new Date(since).getTime() >= input.graceSeconds * 1000) retired.push(...own);
    else inGrace.push(authority.key);
  }
  const published = await publishTrustBundle({
    targets: input.targets,
    currentChainPem: authorities
      .filter((a) => !a.next)
      .map((a) => a.chainPem)
      .join(""),
    incomingChainPem: authorities
      .filter((a) => a.next)
      .map((a) => a.chainPem)
      .join(""),
    retiredFingerprints: retired,
    now: input.now,
  });
  const probes = input.probes
    ? await input.probes.republishProbeCertificates(published.bundleSha256, (previousPem) =>
        selectProbeCertificates({ bundlePem: published.bundlePem, wanted: [], previousPem, now: input.now }),
      )
    : undefined;
  // Fingerprints retired now stay recorded: a CA that becomes used again starts a new grace period.
  const remember = Object.fromEntries(Object.entries(nextUnused).filter(([f]) => !retired.includes(f)));
  await input.clock.save({ ...remember, ...Object.fromEntries(retired.map((f) => [f, nextUnused[f]!])) });
  return {
    ...published,
    kept: [...new Set(authorities.filter((a) => a.used).map((a) => a.key))],
    inGrace,
    retiredFingerprints: retired,
    ...(probes ? { probesRepublished: probes.changed } : {}),
  };
}
