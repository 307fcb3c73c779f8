/**
 * GET /certificates and GET /certificates/{id}: the certificate inventory the scans keep, projected for
 * operators, the listing a page at a time. Reads the inventory only; changes nothing.
 */
import { createHash } from "node:crypto";
import type * as z from "zod/mini";
import type { InventoryReads } from "../adapters/inventory-reads.ts";
import type { InventoryRecord } from "../core/tracking.ts";
import { notFound, validationError } from "./http.ts";
import {
  type CertificateFilter,
  type CertificateListAnswer,
  type CertificateView,
  DEFAULT_CERTIFICATE_PAGE,
  type ListCertificatesQuery,
} from "./schemas.ts";

const DAY_MS = 86_400_000;

export interface CertificatesDeps {
  inventory: Pick<InventoryReads, "loadAll">;
  now: () => Date;
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
export function viewOfCertificate(record: InventoryRecord, now: Date): CertificateView {
  return {
    id: certificateIdOf(record.arn),
    arn: record.arn,
    subject: record.subject,
    issuer: record.issuer,
    ...(record.authorityKey ? { authorityKey: record.authorityKey } : {}),
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

/** Largest JSON body of one page, in bytes. See listCertificates. */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;

/** Where a certificate sits in the listing's order: notAfter ascending, then ARN. */
interface Position {
  /** notAfter in epoch milliseconds (one that does not parse sorts last). */
  at: number;
  arn: string;
}

function positionOf(record: InventoryRecord): Position {
  const at = Date.parse(record.notAfter);
  return { at: Number.isFinite(at) ? at : Number.MAX_SAFE_INTEGER, arn: record.arn };
}

function compare(a: Position, b: Position): number {
  return a.at - b.at || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0);
}

const TOKEN_VERSION = "c1";
const TOKEN_FORMAT = /^([A-Za-z0-9_-]{1,900})\.([A-Za-z0-9_-]{22})$/;

/** The filters a token was handed out for, as text (a token is only valid with the same ones). */
function filterKey(filter: CertificateFilter): string {
  return [filter.due ?? "", filter.expiringWithinDays ?? "", filter.managed ?? ""].join("|");
}

/**
 * A checksum over the token's content: catches truncated, edited and made-up tokens. Not a secret-keyed MAC:
 * someone reading this code could forge one, and gain nothing by it (a position only says where a listing the
 * caller may read whole anyway goes on).
 */
function checksum(payload: string): string {
  return createHash("sha256")
    .update(`mtls-rotator GET /certificates ${payload}`)
    .digest("base64url")
    .slice(0, 22);
}

/**
 * The opaque token for "after this position, with these filters": base64url of the position and the
 * filters, then a checksum. A position, not an offset: pages neither skip nor repeat certificates when the
 * inventory changes between them (a certificate added before the position is not listed by later pages).
 */
export function encodeNextToken(after: Position, filter: CertificateFilter): string {
  const payload = Buffer.from(
    JSON.stringify([TOKEN_VERSION, after.at, after.arn, filterKey(filter)]),
    "utf8",
  ).toString("base64url");
  return `${payload}.${checksum(payload)}`;
}

const INVALID_TOKEN = "is not a nextToken this listing handed out";

/** The position a token names; a 400 naming nextToken for anything this listing did not hand out. */
export function decodeNextToken(token: string, filter: CertificateFilter): Position {
  const [, payload, sum] = TOKEN_FORMAT.exec(token) ?? [];
  if (!payload || !sum || checksum(payload) !== sum) {
    throw validationError([{ field: "nextToken", message: INVALID_TOKEN }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw validationError([{ field: "nextToken", message: INVALID_TOKEN }]);
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== TOKEN_VERSION ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== "string" ||
    parsed[2].length === 0 ||
    parsed[2].length > 2048 ||
    typeof parsed[3] !== "string"
  ) {
    throw validationError([{ field: "nextToken", message: INVALID_TOKEN }]);
  }
  if (parsed[3] !== filterKey(filter)) {
    throw validationError([
      {
        field: "nextToken",
        message:
          "was handed out for other filters: pass the same due, expiringWithinDays and managed as for the first page",
      },
    ]);
  }
  return { at: parsed[1], arn: parsed[2] };
}

type ListQuery = z.output<typeof ListCertificatesQuery>;

/**
 * GET /certificates: the certificates matching every given filter, soonest expiry first (notAfter, then
 * ARN), a page at a time. The filters apply before paging; `nextToken` is there when more match.
 *
 * A page holds at most `limit` certificates (default 100, at most 500), and stops early when its body would
 * pass MAX_PAGE_BYTES (a certificate presented by very many origins is large): Lambda's synchronous answer
 * is at most 6 MB, and API Gateway's payload carries the body as an escaped string (up to twice as long),
 * so 2 MiB keeps every page under it whatever the records hold. A page always holds at least one.
 */
export async function listCertificates(
  deps: CertificatesDeps,
  query: ListQuery = {},
): Promise<CertificateListAnswer> {
  const now = deps.now();
  const filter: CertificateFilter = {
    ...(query.due !== undefined ? { due: query.due } : {}),
    ...(query.expiringWithinDays !== undefined ? { expiringWithinDays: query.expiringWithinDays } : {}),
    ...(query.managed !== undefined ? { managed: query.managed } : {}),
  };
  const after = query.nextToken === undefined ? undefined : decodeNextToken(query.nextToken, filter);
  const limit = query.limit ?? DEFAULT_CERTIFICATE_PAGE;

  const horizon =
    filter.expiringWithinDays === undefined ? undefined : now.getTime() + filter.expiringWithinDays * DAY_MS;
  const matching = [...(await deps.inventory.loadAll()).values()]
    .filter(
      (record) =>
        (filter.due === undefined || isDue(record, now) === filter.due) &&
        (filter.managed === undefined || record.managed === filter.managed) &&
        (horizon === undefined || Date.parse(record.notAfter) <= horizon),
    )
    .map((record) => ({ record, position: positionOf(record) }))
    .filter(({ position }) => after === undefined || compare(position, after) > 0)
    .sort((a, b) => compare(a.position, b.position));

  const certificates: CertificateView[] = [];
  let bytes = 0;
  for (const { record } of matching) {
    if (certificates.length >= limit) break;
    const view = viewOfCertificate(record, now);
    const size = Buffer.byteLength(JSON.stringify(view), "utf8") + 1;
    if (certificates.length > 0 && bytes + size > MAX_PAGE_BYTES) break;
    certificates.push(view);
    bytes += size;
  }
  const last = matching[certificates.length - 1];
  return certificates.length < matching.length && last
    ? { certificates, nextToken: encodeNextToken(last.position, filter) }
    : { certificates };
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
  return { certificate: viewOfCertificate(record, deps.now()) };
}
