/**
 * Finalize, once every wave passed: promote the new credential (the credential secret's only write), keep
 * the old certificate through the grace period, then retire it (and revoke it when asked).
 */

import { promoteCredential } from "../../issuance/issue-certificate.ts";
import type { Rotation } from "../steps.ts";
import type { Ending } from "./end.ts";
import { issuanceOf } from "./issue.ts";

export async function finalize(r: Rotation): Promise<Ending> {
  const { deps, settings } = r;
  const old = r.state.old!;
  const newArn = r.state.issued!.certificateArn;
  // AWSCURRENT = the new credential, AWSPREVIOUS = the one it replaces.
  await r.record("finalize:promote", async () => {
    await promoteCredential(deps.issuance, issuanceOf(r), r.state.issued!);
    return { type: "promoted", at: r.at() };
  });
  await r.wait("finalize:grace", Math.max(1, settings.graceSeconds));
  await r.record("finalize:retire", async () => {
    const retired = await deps.acm.deleteIfUnused(old.arn);
    let revoked = false;
    if (settings.revokeRetired && retired.deleted) {
      try {
        await deps.issuance.privateCa.revoke(settings.authorityArn, old.serial);
        revoked = true;
      } catch (error) {
        // The retired certificate may come from another CA (e.g. before a migration): report, do not fail.
        r.log("revocation skipped", { error: (error as Error).message });
      }
    }
    return { type: "retired", at: r.at(), deleted: retired.deleted, revoked, detail: retired.detail };
  });
  return {
    step: "complete",
    event: (at) => ({ type: "completed", at }),
    notification: { event: "rotation-completed", detail: { newCertificateArn: newArn } },
  };
}
