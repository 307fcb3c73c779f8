/**
 * CA bundles for the trust-store stand-ins and targets: chains of a given depth, bundles of many CAs, a CA
 * past a size limit. Real keys and signatures (standins/pki.ts), dates relative to the fixtures' NOW.
 */
import { generateKeyPair } from "../../functions/crypto/keys.ts";
import { type CertificateAuthority, createRootCa, createSubordinateCa } from "../../standins/pki.ts";
import { daysFromNow, memo } from "./pki-fixtures.ts";

/** root -> sub 1 -> ... : `depth` CA certificates, root first. */
export async function caChain(depth: number, label = "Chain"): Promise<CertificateAuthority[]> {
  const window = { notBefore: daysFromNow(-30), notAfter: daysFromNow(700) };
  const chain = [await createRootCa({ name: `CN=${label} Root CA`, ...window })];
  for (let level = 1; level < depth; level++) {
    chain.push(
      await createSubordinateCa(chain.at(-1)!, { name: `CN=${label} Level ${level} CA`, ...window }),
    );
  }
  return chain;
}

/** One PEM text holding every CA certificate given. */
export function pemOf(cas: CertificateAuthority[]): string {
  return cas.map((ca) => ca.certificatePem).join("");
}

/** A chain of five CAs (one more than CloudFront trust stores and API Gateway truststores allow). */
export const fiveDeepChain = memo(() => caChain(5, "Deep"));

/**
 * Five CAs that name a five-deep chain, but level 2 was signed by an impostor of level 1 (same name, another
 * key): only the links whose signatures verify form chains (root -> 1, and 2 -> 3 -> 4).
 */
export const forgedFiveDeepChain = memo(async (): Promise<CertificateAuthority[]> => {
  const [root, level1] = await caChain(2, "Forged");
  const impostorKeys = await generateKeyPair("EC_prime256v1");
  const impostor: CertificateAuthority = {
    ...level1!,
    keys: { publicKey: level1!.keys.publicKey, privateKey: impostorKeys.privateKey },
  };
  const window = { notBefore: daysFromNow(-30), notAfter: daysFromNow(700) };
  const chain = [root!, level1!];
  let parent = impostor;
  for (const level of [2, 3, 4]) {
    parent = await createSubordinateCa(parent, { name: `CN=Forged Level ${level} CA`, ...window });
    chain.push(parent);
  }
  return chain;
});
