/**
 * A rotation that cannot keep its records stops where it stands. An item over DynamoDB's 400 KB, or a step
 * result over the durable runtime's 256 KB, is a limit of the bookkeeping, not a sign that anything the
 * rotation changed is unhealthy: every swapped distribution presents a certificate its origins were proven to
 * trust, and the gates passed so far still hold (the wave under way, if any, is named: its distributions
 * were swapped without their gate). Rolling the whole fleet back for it would trade a bookkeeping failure for
 * a fleet-wide change (issue 12). So nothing is undone: the swapped distributions keep the new certificate
 * (ACM holds it with its key; its staged credential stays AWSPENDING in the issuance secret until a later
 * rotation of the lineage stages its own), the others keep the old one, which is not retired; the rotation
 * ends failed (StorageLimit), its claims and lock are released, and operators are told. How many present the
 * new certificate is counted from CloudFront (`stop:presenting`), not from the state: the record that failed
 * may be a swap that happened. The next scan finds the old certificate still due and presented by the rest,
 * and starts a rotation for them.
 */
import { RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import type { Ending } from "./end.ts";
import type { Halt } from "./rollback.ts";

const STORAGE_LIMIT_ERRORS = new Set(["ItemTooLargeError", "StepResultTooLargeError"]);

/** Whether a step failed on a size limit of the rotation's records (past a step: the SDK's error, its cause). */
export function isStorageLimit(error: unknown): boolean {
  const e = error as { name?: unknown; cause?: { name?: unknown } } | undefined;
  return STORAGE_LIMIT_ERRORS.has(String(e?.name)) || STORAGE_LIMIT_ERRORS.has(String(e?.cause?.name));
}

/** The halt for a storage-limit error: its reason, StorageLimit, stops in place (never a rollback). */
export function storageLimitHalt(error: unknown, where: string): Halt {
  return {
    reason: RotationReason.StorageLimit,
    actor: "mtls-rotator",
    detail: `${where}: ${(error as Error).message}`,
  };
}

export async function stopInPlace(r: Rotation, halt: Halt): Promise<Ending> {
  const newArn = r.state.issued!.certificateArn;
  const swapped = await r.act(
    "stop:presenting",
    async () => (await r.deps.distributions.findDistributionsPresenting(newArn)).length,
  );
  const sizeOf = (w: (typeof r.state.waves)[number]) => w.size ?? w.distributions.length;
  const planned = r.state.waves.reduce((sum, w) => sum + sizeOf(w), 0);
  const gated = r.state.waves.filter((w) => w.status === "passed").reduce((sum, w) => sum + sizeOf(w), 0);
  const detail =
    `${halt.detail}; stopped in place, nothing rolled back: ${swapped} of ${planned} distributions present the ` +
    "new certificate, the rest the old one (not retired)" +
    (swapped > gated ? `; ${swapped - gated} of them were swapped without a gate that passed` : "");
  return {
    step: "stop",
    event: (at) => ({ type: "failed", at, reason: halt.reason, detail }),
    notification: { event: "rotation-failed", detail: { detail, swapped, planned } },
    failure: { status: "failed", reason: halt.reason, detail },
  };
}
