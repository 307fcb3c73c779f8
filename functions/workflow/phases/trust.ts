/**
 * Trust: publish the bundle origins must trust (what is published, the chain in service and the incoming
 * CA's chain) to every trust target, before anything presents the new certificate.
 */
import { RotationReason } from "../../core/rotation.ts";
import { publishTrustBundle } from "../../trust/publish-bundle.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";

export async function publishTrust(r: Rotation): Promise<Stop | undefined> {
  const { deps } = r;
  const old = r.state.old!;
  try {
    await r.record("trust:publish", async () => {
      const [{ chainPem: currentChainPem }, incomingChainPem] = await Promise.all([
        deps.acm.getCertificate(old.arn),
        deps.issuance.privateCa.authorityChainPem(r.settings.authorityArn),
      ]);
      const result = await publishTrustBundle({
        targets: deps.trustTargets,
        currentChainPem,
        incomingChainPem,
        now: deps.now(),
      });
      return {
        type: "trust-published",
        at: r.at(),
        bundleSha256: result.bundleSha256,
        targets: result.targets.map((t) => ({ target: t.target, changed: t.changed })),
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
