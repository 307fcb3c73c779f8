/**
 * Following GET /certificates to its end: the API answers a page at a time (at most MAX_CERTIFICATE_PAGE
 * certificates) with a `nextToken` while more match. The commands ask for the largest pages and stop, with
 * a message saying how to narrow the listing, after MAX_LISTING_PAGES of them (or when the API hands
 * out a token it handed out before: it would never end).
 */
import { type CertificateFilter, MAX_CERTIFICATE_PAGE } from "../api/schemas.ts";
import type { CertificateView, RotatorApi } from "./api-types.ts";
import { CliError, ExitCode } from "./errors.ts";

/** Most pages a command reads: MAX_CERTIFICATE_PAGE (500) each, 50,000 certificates. */
export const MAX_LISTING_PAGES = 100;

/** The listing did not end within the pages a command reads. */
export class TooManyPagesError extends CliError {
  override name = "TooManyPagesError";
  constructor(pages: number, certificates: number, narrow: string) {
    super(
      `stopped after ${pages} pages (${certificates} certificates) and the API still lists more: ${narrow}`,
      ExitCode.Failed,
    );
  }
}

export interface PageOptions {
  /** Most pages to read (default MAX_LISTING_PAGES). */
  maxPages?: number;
  /** What the operator can do when the listing is longer than that (the end of TooManyPagesError's message). */
  narrow?: string;
}

/** Each page of the certificates matching `filter`, in the API's order, until the last one. */
export async function* certificatePages(
  api: Pick<RotatorApi, "listCertificates">,
  filter: CertificateFilter = {},
  options: PageOptions = {},
): AsyncGenerator<CertificateView[]> {
  const maxPages = options.maxPages ?? MAX_LISTING_PAGES;
  const seen = new Set<string>();
  let nextToken: string | undefined;
  let pages = 0;
  let certificates = 0;
  do {
    if (pages >= maxPages) {
      throw new TooManyPagesError(
        pages,
        certificates,
        options.narrow ?? "narrow the listing (mtls-rotator certificates --due or --expiring-within <days>)",
      );
    }
    const page = await api.listCertificates({
      ...filter,
      limit: MAX_CERTIFICATE_PAGE,
      ...(nextToken !== undefined ? { nextToken } : {}),
    });
    pages += 1;
    if (
      !Array.isArray(page.certificates) ||
      (page.nextToken !== undefined && typeof page.nextToken !== "string")
    ) {
      throw new CliError(
        "the API's answer to GET /certificates is not a page of certificates ({ certificates, nextToken? }): " +
          "is --endpoint the mtls-rotator API, and as new as this CLI?",
        ExitCode.Failed,
      );
    }
    certificates += page.certificates.length;
    yield page.certificates;
    nextToken = page.nextToken;
    if (nextToken !== undefined) {
      if (seen.has(nextToken)) {
        throw new CliError(
          `the API handed out the same nextToken twice (after ${pages} pages): the listing would never end; stopped`,
          ExitCode.Failed,
        );
      }
      seen.add(nextToken);
    }
  } while (nextToken !== undefined);
}

/** Every certificate matching `filter`: all pages, concatenated. */
export async function allCertificates(
  api: Pick<RotatorApi, "listCertificates">,
  filter: CertificateFilter = {},
  options: PageOptions = {},
): Promise<CertificateView[]> {
  const all: CertificateView[] = [];
  for await (const page of certificatePages(api, filter, options)) all.push(...page);
  return all;
}
