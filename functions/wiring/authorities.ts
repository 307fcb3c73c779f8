/** The configured Private CAs as the services read them: their chains, keys and trust roles. */
import { WiringError } from "../config/links.ts";
import { splitPem, tryParseCertificate } from "../core/pem.ts";
import { type ManagedAuthority, managedAuthorityOf } from "../core/tracking.ts";
import type { ConfiguredAuthority } from "../trust/reconcile.ts";

/**
 * Each CA's certificate followed by its chain, read once (concurrently); the scan derives both its managed
 * issuers and the trust bundle's authorities from these. A CA that cannot be read fails the whole build.
 */
export async function authorityChainsOf(
  authorityArns: readonly string[],
  authorityChainPem: (authorityArn: string) => Promise<string>,
): Promise<Map<string, string>> {
  const unique = [...new Set(authorityArns)];
  const chains = await Promise.all(unique.map(authorityChainPem));
  return new Map(unique.map((arn, i) => [arn, chains[i]!]));
}

/**
 * The authorities the trust bundle is reconciled against: the configured CA (the first ARN: replacements
 * come from it, so it is always trusted), then the CAs being migrated away from (trusted while a managed
 * certificate in service chains to them, then for the grace period).
 */
export function configuredAuthorities(
  authorityArns: readonly string[],
  chains: ReadonlyMap<string, string>,
): ConfiguredAuthority[] {
  return authorityArns.map((arn, i) => {
    const chainPem = chains.get(arn);
    if (chainPem === undefined) throw new WiringError([`Private CA ${arn}: its chain was not read`]);
    return { chainPem, next: i === 0 };
  });
}

/**
 * The given CAs as tracking knows them (name and key), from each CA's own certificate: certificates they
 * issued name it as issuer and verify with its key. A CA that cannot be read fails the whole build:
 * scanning with one CA missing would silently stop managing every certificate it issued.
 */
export async function managedAuthoritiesOf(
  authorityArns: readonly string[],
  authorityChainPem: (authorityArn: string) => Promise<string>,
): Promise<ManagedAuthority[]> {
  const authorities = await Promise.all(
    authorityArns.map(async (arn) => {
      const [caPem] = splitPem(await authorityChainPem(arn));
      const certificate = caPem ? tryParseCertificate(caPem) : undefined;
      if (!certificate) throw new WiringError([`Private CA ${arn}: its certificate does not parse`]);
      const authority = managedAuthorityOf(certificate);
      if (!authority.issuer)
        throw new WiringError([`Private CA ${arn}: its certificate has no CN or O to match issuers on`]);
      return authority;
    }),
  );
  // Two ARNs of one CA key (the same CA configured twice) are one authority.
  return authorities.filter((a, i) => authorities.findIndex((b) => b.key === a.key) === i);
}
