/**
 * `certificates` and `status` read GET /certificates to its end: against the real Lambda entry (through the
 * SigV4-verifying HTTP API stand-in) over an inventory of 1,234 certificates, and against APIs that never
 * end (too many pages, a token handed out twice, an answer that is not a page).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificatesDeps } from "../../functions/api/certificates.ts";
import { MAX_CERTIFICATE_PAGE } from "../../functions/api/schemas.ts";
import type {
  CertificateListAnswer,
  ListCertificatesQuery,
  RotatorApi,
} from "../../functions/cli/api-types.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../../functions/cli/main.ts";
import { allCertificates, MAX_LISTING_PAGES } from "../../functions/cli/paging.ts";
import type { InventoryRecord } from "../../functions/core/tracking.ts";
import { listCertificatesHandler } from "../../functions/handlers/api/list-certificates.ts";
import { type HttpApiStandin, startHttpApi } from "../../standins/http-api.ts";
import { capture, environmentFor, inventory, NOW, OPERATOR, REGION } from "./fixtures.ts";

const DAY = 86_400_000;
const COUNT = 1234;
const arnOf = (n: number) =>
  `arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-4978-8a9b-${n.toString(16).padStart(12, "0")}`;

function record(n: number): InventoryRecord {
  const daysLeft = (n * 13) % 300; // shared expiry days: the ARN orders them
  return {
    arn: arnOf(n),
    serial: `3a:9f:${(n % 256).toString(16).padStart(2, "0")}`,
    subject: `CN=client-${n}.origin.example.com, O=Example Corp`,
    issuer: "CN=Example Issuing CA G2, O=Example Corp",
    keyAlgorithm: "EC_prime256v1",
    notBefore: new Date(NOW.getTime() - (90 - daysLeft) * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    managed: n % 5 !== 0,
    usage: [{ distributionId: `E${n.toString().padStart(13, "0")}`, originId: "api" }],
    decision:
      daysLeft < 150
        ? { reason: "Due", message: "a third of the lifetime is left" }
        : { reason: "Fresh", message: "renews later" },
    alerted: [],
    lastSeenAt: NOW.toISOString(),
  };
}

let standin: HttpApiStandin;
const records = new Map(Array.from({ length: COUNT }, (_, n) => [arnOf(n), record(n)]));

beforeAll(async () => {
  const deps: CertificatesDeps = { inventory: { loadAll: async () => new Map(records) }, now: () => NOW };
  const list = listCertificatesHandler(async () => deps, { log: () => undefined });
  standin = await startHttpApi({
    region: REGION,
    accounts: [OPERATOR],
    routes: {
      "GET /certificates": async (event) => (await list(event, {} as never)) ?? { statusCode: 500 },
      "GET /rotations": async () => ({ statusCode: 200, body: JSON.stringify({ rotations: [] }) }),
    },
    now: () => NOW,
  });
});

afterAll(async () => {
  await standin?.close();
});

async function run(args: string[], overrides: Partial<OperatorEnvironment> = {}) {
  const [name, ...rest] = args;
  const spec = OPERATOR_COMMANDS.find((c) => c.name === name)!;
  const out = capture();
  const from = standin.requests.length;
  const code = await runOperatorCommand(spec, rest, out.io, environmentFor(standin, overrides));
  return { code, stdout: out.stdout(), stderr: out.stderr(), requests: standin.requests.slice(from) };
}

describe("against the API's own GET /certificates", () => {
  it("certificates --json: every certificate once, in the API's order, in pages of the largest size", async () => {
    const { code, stdout, stderr, requests } = await run(["certificates", "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(requests.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(requests[0]?.rawQueryString).toBe(`limit=${MAX_CERTIFICATE_PAGE}`);
    expect(requests[1]?.rawQueryString).toMatch(new RegExp(`^limit=${MAX_CERTIFICATE_PAGE}&nextToken=`));
    const arns = (JSON.parse(stdout) as { certificates: Array<{ arn: string }> }).certificates.map(
      (c) => c.arn,
    );
    expect(arns).toHaveLength(COUNT);
    expect(new Set(arns).size).toBe(COUNT);
    const expected = [...records.values()]
      .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || (a.arn < b.arn ? -1 : 1))
      .map((r) => r.arn);
    expect(arns).toEqual(expected);
  });

  it("certificates --due: the filter on every page, the table and totals over all of them", async () => {
    const due = [...records.values()].filter((r) => r.decision.reason === "Due").length;
    expect(due).toBeGreaterThan(MAX_CERTIFICATE_PAGE);
    const { code, stdout, requests } = await run(["certificates", "--due"]);
    expect(code).toBe(0);
    expect(requests).toHaveLength(Math.ceil(due / MAX_CERTIFICATE_PAGE));
    expect(requests.every((r) => r.rawQueryString.startsWith("due=true&"))).toBe(true);
    expect(stdout).toContain(`${due} certificates (${due} due)`);
  });

  it("status counts the whole inventory", async () => {
    const managed = [...records.values()].filter((r) => r.managed).length;
    const { code, stdout } = await run(["status"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Certificates: ${COUNT} tracked, ${managed} managed`));
  });
});

/** An API whose GET /certificates answers `page(call)` for each call. */
function fakeApi(page: (call: number, query: ListCertificatesQuery) => CertificateListAnswer): RotatorApi & {
  queries: ListCertificatesQuery[];
} {
  const queries: ListCertificatesQuery[] = [];
  const unused = async () => {
    throw new Error("not used");
  };
  return {
    endpoint: "https://abc123.execute-api.eu-west-1.amazonaws.com",
    queries,
    listCertificates: async (query = {}) => {
      queries.push(query);
      return page(queries.length, query);
    },
    listRotations: async () => ({ rotations: [] }),
    getCertificate: unused,
    startRotation: unused,
    getRotation: unused,
    control: unused,
    scan: unused,
    revokeViewer: unused,
    getViewerRevocation: unused,
    reinstateViewer: unused,
    startViewerMigration: unused,
    listViewerMigrations: unused,
    getViewerMigration: unused,
    controlViewerMigration: unused,
    viewerMtls: unused,
  };
}

const [one] = inventory();

describe("listings that would not end", () => {
  it("stops after MAX_LISTING_PAGES pages: exit 1, saying how to narrow the listing", async () => {
    const api = fakeApi((call) => ({ certificates: [one!], nextToken: `page-${call}` }));
    const { code, stdout, stderr } = await run(["certificates"], { api });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `mtls-rotator certificates: stopped after ${MAX_LISTING_PAGES} pages (${MAX_LISTING_PAGES} certificates) ` +
        "and the API still lists more: narrow the listing (mtls-rotator certificates --due or --expiring-within <days>)\n",
    );
    expect(api.queries).toHaveLength(MAX_LISTING_PAGES);

    const status = await run(["status"], {
      api: fakeApi((call) => ({ certificates: [], nextToken: `p${call}` })),
    });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("the overview reads the whole inventory; list a part of it with");
  });

  it("the same nextToken twice: exit 1 rather than loop", async () => {
    const api = fakeApi((call) => ({ certificates: [one!], nextToken: call === 1 ? "a" : "b" }));
    const { code, stderr } = await run(["certificates"], { api });
    expect(code).toBe(1);
    expect(stderr).toContain("the API handed out the same nextToken twice (after 3 pages)");
    expect(api.queries.map((q) => q.nextToken)).toEqual([undefined, "a", "b"]);
  });

  it("an answer that is not a page: exit 1, naming what was expected", async () => {
    const api = fakeApi(() => ({ items: [] }) as unknown as CertificateListAnswer);
    const { code, stderr } = await run(["certificates"], { api });
    expect(code).toBe(1);
    expect(stderr).toContain("is not a page of certificates ({ certificates, nextToken? })");
  });

  it("allCertificates passes the filters and the largest limit on every page", async () => {
    const api = fakeApi((call) => ({ certificates: [one!], ...(call < 3 ? { nextToken: `t${call}` } : {}) }));
    expect(await allCertificates(api, { due: true, managed: false })).toHaveLength(3);
    expect(api.queries).toEqual([
      { due: true, managed: false, limit: MAX_CERTIFICATE_PAGE },
      { due: true, managed: false, limit: MAX_CERTIFICATE_PAGE, nextToken: "t1" },
      { due: true, managed: false, limit: MAX_CERTIFICATE_PAGE, nextToken: "t2" },
    ]);
  });
});
