import { describe, expect, it } from "vitest";
import { parseWith } from "../../functions/config/rules.ts";
import {
  ViewerTrustDomainSchema,
  ViewerTrustDomainsSchema,
  viewerAuthorityArns,
} from "../../functions/config/viewer-settings.ts";

const A = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000001";
const B = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000002";
const C = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000003";

const domain = (overrides: Record<string, unknown> = {}) => ({
  name: "partners",
  authorities: { current: A, next: B },
  trustStoreIds: ["ts-1"],
  ...overrides,
});

function problems(schema: Parameters<typeof parseWith>[0], value: unknown): string[] {
  const parsed = parseWith(schema, value);
  return parsed.ok ? [] : parsed.problems;
}

describe("a viewer trust domain", () => {
  it("fills in the policy defaults", () => {
    const parsed = ViewerTrustDomainSchema.parse(domain());
    expect(parsed).toMatchObject({
      authorities: { current: A, next: B, previous: [] },
      maxViewerCertificateLifetimeDays: 397,
      retirementGraceSeconds: 7 * 86_400,
      canaryTrustStores: 1,
      approval: "none",
    });
  });

  it("takes passthrough origins by distribution and origin, with a path", () => {
    const parsed = ViewerTrustDomainSchema.parse(
      domain({
        trustStoreIds: [],
        passthrough: {
          bucketKey: "viewer-trust/partners.pem",
          origins: [{ name: "api", distributionId: "E1ABCDEFGHIJ", originId: "api-origin" }],
        },
      }),
    );
    expect(parsed.passthrough?.origins[0]).toEqual({
      name: "api",
      distributionId: "E1ABCDEFGHIJ",
      originId: "api-origin",
      path: "/",
    });
  });

  it("names every problem: no trust point, next equal to current, previous listing current, a store twice", () => {
    const found = problems(
      ViewerTrustDomainSchema,
      domain({ authorities: { current: A, next: A, previous: [A] }, trustStoreIds: [] }),
    );
    expect(found.join("\n")).toMatch(/next.*must differ from authorities\.current/);
    expect(found.join("\n")).toMatch(/previous.*must not list the current or next CA/);
    expect(found.join("\n")).toMatch(/must name where viewer trust lives/);
    expect(problems(ViewerTrustDomainSchema, domain({ trustStoreIds: ["ts-1", "ts-1"] })).join()).toMatch(
      /must not list a trust store twice/,
    );
  });

  it("refuses a malformed CA ARN, a bad name and an origin without a distribution", () => {
    expect(problems(ViewerTrustDomainSchema, domain({ authorities: { current: "nope" } })).join()).toMatch(
      /Private CA ARN/,
    );
    expect(problems(ViewerTrustDomainSchema, domain({ name: "Partners!" })).join()).toMatch(/domain name/);
    expect(
      problems(
        ViewerTrustDomainSchema,
        domain({ passthrough: { bucketKey: "k.pem", origins: [{ name: "api", originId: "o" }] } }),
      ).join(),
    ).toMatch(/distributionId/);
  });
});

describe("the stage's viewer trust domains", () => {
  it("refuse a name, a trust store or a bundle key used by two domains", () => {
    const found = problems(ViewerTrustDomainsSchema, [
      domain({ passthrough: { bucketKey: "v.pem", origins: [] } }),
      domain({ passthrough: { bucketKey: "v.pem", origins: [] } }),
    ]).join("\n");
    expect(found).toMatch(/viewer trust domain "partners" more than once/);
    expect(found).toMatch(/trust store ts-1 in more than one/);
    expect(found).toMatch(/bundle key v\.pem in more than one/);
  });

  it("list every CA they rely on once", () => {
    const domains = ViewerTrustDomainsSchema.parse([
      domain(),
      domain({ name: "kiosks", authorities: { current: B, previous: [C] }, trustStoreIds: ["ts-2"] }),
    ]);
    expect(viewerAuthorityArns(domains)).toEqual([A, B, C]);
  });
});
