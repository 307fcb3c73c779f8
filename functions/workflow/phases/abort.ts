/**
 * Before any swap: undo what exists (the new ACM certificate, AWSPENDING in the issuance secret) and end. The
 * credential secret was never written: it stays as it was.
 */
import type { RotationReason } from "../../core/rotation.ts";
import { abandonIssuance } from "../../issuance/issue-certificate.ts";
import type { Rotation } from "../steps.ts";
import type { Ending } from "./end.ts";
import { credentialSecretOf } from "./plan.ts";

/** Why a rotation stops before its first swap. */
export interface Stop {
  status: "aborted" | "failed";
  reason: RotationReason;
  detail: string;
}

export async function abort(r: Rotation, { status, reason, detail }: Stop): Promise<Ending> {
  const issued = r.state.issued;
  if (issued) await r.act("abort:retire-new", () => r.deps.acm.deleteIfUnused(issued.certificateArn));
  await r.act("abort:secret", () =>
    abandonIssuance(r.deps.issuance, { rotationId: r.id, credential: credentialSecretOf(r) }).then(
      () => true,
    ),
  );
  return {
    step: "abort",
    event: (at) =>
      status === "aborted" ? { type: "aborted", at, reason, detail } : { type: "failed", at, reason, detail },
    notification: {
      event: status === "aborted" ? "rotation-aborted" : "rotation-failed",
      detail: { detail },
    },
    failure: { status, reason, detail },
  };
}
