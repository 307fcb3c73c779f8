/**
 * Trust: publish the bundle origins must trust (what is published, the chain in service and the incoming
 * CA's chain) to every trust target, before anything presents the new certificate.
 */
import { selectProbeCertificates } from "../../core/acknowledgement.ts";
import { RotationReason } from "../../core/rotation.ts";
import type { AcknowledgementStore } from "../../trust/acknowledgements.ts";
import { type PublishResult, publishTrustBundle } from "../../trust/publish-bundle.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";

export async function publishTrust(r: Rotation): Promise<Stop | undefined> {
  const { deps } = r;
  const old = r.state.old!;
  try {
    await r.record("trust:publish", async () => {
      const [current, incomingChainPem, fresh] = await Promise.all([
        deps.acm.getCertificate(old.arn),
        deps.issuance.privateCa.authorityChainPem(r.settings.authorityArn),
        deps.acm.getCertificate(r.state.issued!.certificateArn),
      ]);
      const now = deps.now();
      const result = await publishTrustBundle({
        targets: deps.trustTargets,
        currentChainPem: current.chainPem,
        incomingChainPem,
        now,
      });
      const probeCertificates = deps.acknowledgements
        ? await publishProbeCertificates(deps.acknowledgements, result, [fresh, current], now)
        : undefined;
      return {
        type: "trust-published",
        at: r.at(),
        bundleSha256: result.bundleSha256,
        targets: result.targets.map((t) => ({ target: t.target, changed: t.changed })),
        ...(probeCertificates ? { probeCertificates } : {}),
      };
    });
  } catch (error) {
    return {
      status: "failed",
      reason: RotationReason.Unexpected,
      detail: `trust bundle not published: ${(error as Error).message}`,
    };
  }
  await r.notify("trust", "trust-published", { bundleSha256: r.state.bundleSha256 });
  return undefined;
}

/**
 * Next to the bundle, the public certificates origin-sync verifies against the installed file before it
 * acknowledges it (core/acknowledgement.ts): the new certificate and the one in service (each must verify
 * against the bundle just published), and those published before that still verify (another lineage's
 * rotation). Certificates only: their keys stay where they are; nothing is issued for this.
 */
async function publishProbeCertificates(
  store: Pick<AcknowledgementStore, "publishProbeCertificates">,
  published: PublishResult,
  certificates: Array<{ certificatePem: string }>,
  now: Date,
): Promise<{ certificates: number; changed: boolean; omitted?: string[] }> {
  // Read, merged and written as one conditional update: a concurrent rotation's probes are kept.
  const { changed, chosen } = await store.publishProbeCertificates(published.bundleSha256, (previousPem) =>
    selectProbeCertificates({
      bundlePem: published.bundlePem,
      wanted: certificates.map((c) => c.certificatePem),
      ...(previousPem ? { previousPem } : {}),
      now,
    }),
  );
  return {
    certificates: chosen.certificates,
    changed,
    ...(chosen.omitted.length > 0 ? { omitted: chosen.omitted } : {}),
  };
}
