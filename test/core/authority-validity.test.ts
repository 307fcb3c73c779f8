/**
 * functions/core/authority-validity.ts: a leaf is never asked to outlive its CA's chain (issue 13).
 */
import { describe, expect, it } from "vitest";
import { earliestExpiry, validityWithinAuthority } from "../../functions/core/authority-validity.ts";
import { createRootCa, createSubordinateCa } from "../../standins/pki.ts";

const DAY = 86_400_000;
const now = new Date();

describe("validityWithinAuthority", () => {
  it("keeps the requested days when the whole chain outlives them", async () => {
    const root = await createRootCa({ name: "CN=Long Root, O=Acme" });
    const ca = await createSubordinateCa(root, { name: "CN=Long CA, O=Acme" });
    expect(validityWithinAuthority(30, ca.certificatePem + root.certificatePem, now)).toEqual({ days: 30 });
  });

  it("caps at the whole days left of the earliest-expiring certificate of the chain, the root included", async () => {
    const root = await createRootCa({
      name: "CN=Short Root, O=Acme",
      notAfter: new Date(now.getTime() + 10.5 * DAY),
    });
    const ca = await createSubordinateCa(root, {
      name: "CN=Sub CA, O=Acme",
      notAfter: new Date(now.getTime() + 20 * DAY),
    });
    const capped = validityWithinAuthority(30, ca.certificatePem + root.certificatePem, now);
    expect(capped.days).toBe(10);
    expect(capped.cappedBy?.subject).toContain("CN=Short Root");
    expect(earliestExpiry(ca.certificatePem + root.certificatePem)?.subject).toContain("CN=Short Root");
  });

  it("leaves 0 days when the chain expires within a day (issue nothing)", async () => {
    const root = await createRootCa({
      name: "CN=Ending Root, O=Acme",
      notAfter: new Date(now.getTime() + 12 * 3_600_000),
    });
    expect(validityWithinAuthority(30, root.certificatePem, now).days).toBe(0);
  });

  it("without a readable chain, keeps the requested days", () => {
    expect(validityWithinAuthority(30, "", now)).toEqual({ days: 30 });
    expect(
      validityWithinAuthority(30, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", now),
    ).toEqual({
      days: 30,
    });
  });
});
