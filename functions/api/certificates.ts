/**
 * GET /certificates and GET /certificates/{id}: the certificate inventory the scans keep, projected for
 * operators. Reads the inventory only; changes nothing.
 */
import type { InventoryStore } from "../adapters/inventory-store.ts";
import type { InventoryRecord } from "../core/tracking.ts";
import { notFound } from "./http.ts";
import type { CertificateView } from "./schemas.ts";

const DAY_MS = 86_400_000;

export interface CertificatesDeps {
  inventory: Pick<InventoryStore, "loadAll">;
  now: () => Date;
}

export interface CertificateFilter {
  due?: boolean;
  expiringWithinDays?: number;
  managed?: boolean;
}

/** The ACM certificate id: the last segment of its ARN. */
export function certificateIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/**
 * Whether the certificate should be rotated now: its last decision said so (Due, Expired), or it was Fresh
 * and its renewal time has passed since; never once a rotation retired it.
 */
export function isDue(record: InventoryRecord, now: Date): boolean {
  if (record.retired) return false;
  const { reason, renewAt } = record.decision;
  if (reason === "Due" || reason === "Expired") return true;
  return reason === "Fresh" && renewAt !== undefined && Date.parse(renewAt) <= now.getTime();
}

/** An inventory record as the API shows it. Public facts only (the inventory holds nothing else). */
export function certificateView(record: InventoryRecord, now: Date): CertificateView {
  return {
    id: certificateIdOf(record.arn),
    arn: record.arn,
    subject: record.subject,
    issuer: record.issuer,
    keyAlgorithm: record.keyAlgorithm,
    serial: record.serial,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    daysToExpiry: Math.floor((Date.parse(record.notAfter) - now.getTime()) / DAY_MS),
    managed: record.managed,
    retired: record.retired === true,
    due: isDue(record, now),
    usage: record.usage.map((u) => ({ distributionId: u.distributionId, originId: u.originId })),
    decision: {
      reason: record.decision.reason,
      message: record.decision.message,
      ...(record.decision.renewAt ? { renewAt: record.decision.renewAt } : {}),
    },
    alerted: [...record.alerted],
    ...(record.drift?.length
      ? {
          drift: record.drift.map((d) => ({
            kind: d.kind,
            distributionId: d.distributionId,
            originId: d.originId,
            detail: d.detail,
          })),
        }
      : {}),
    lastSeenAt: record.lastSeenAt,
  };
}

/** Certificates matching every given filter, soonest expiry first. */
export async function listCertificates(
  deps: CertificatesDeps,
  filter: CertificateFilter = {},
): Promise<{ certificates: CertificateView[] }> {
  const now = deps.now();
  const records = [...(await deps.inventory.loadAll()).values()];
  const horizon =
    filter.expiringWithinDays === undefined ? undefined : now.getTime() + filter.expiringWithinDays * DAY_MS;
  const certificates = records
    .map((record) => certificateView(record, now))
    .filter(
      (view) =>
        (filter.due === undefined || view.due === filter.due) &&
        (filter.managed === undefined || view.managed === filter.managed) &&
        (horizon === undefined || Date.parse(view.notAfter) <= horizon),
    )
    .sort(
      (a, b) =>
        Date.parse(a.notAfter) - Date.parse(b.notAfter) || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0),
    );
  return { certificates };
}

/** One certificate by id (UUID) or full ARN; 404 when the inventory does not know it. */
export async function getCertificate(
  deps: CertificatesDeps,
  ref: string,
): Promise<{ certificate: CertificateView }> {
  const records = await deps.inventory.loadAll();
  const record = ref.startsWith("arn:")
    ? records.get(ref)
    : [...records.values()].find((r) => certificateIdOf(r.arn) === ref);
  if (!record) throw notFound(`no certificate ${ref} in the inventory (it is filled by the scan)`);
  return { certificate: certificateView(record, deps.now()) };
}
