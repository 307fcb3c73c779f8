import { describe, expect, it } from "vitest";
import {
  PROBE_VIEWER_REUSE_MARGIN_MS,
  reusingProbeViewers,
  untrustedProbeViewer,
} from "../../functions/issuance/probe-viewer.ts";
import type { ProbeViewer } from "../../functions/probe/viewer-probe.ts";

const HOUR = 3_600_000;
const A = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000001";
const B = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000002";

describe("reusingProbeViewers", () => {
  const base = Date.parse("2026-12-05T00:00:00Z");

  /** Issues real certificates valid until base + 11 h (untrustedProbeViewer: an hour from its `now`). */
  const issuer = () => {
    const issued: string[] = [];
    let failNext = false;
    const issue = async (arn: string): Promise<ProbeViewer> => {
      if (failNext) {
        failNext = false;
        throw new Error("IssueCertificate throttled");
      }
      issued.push(arn);
      return untrustedProbeViewer(new Date(base + 10 * HOUR));
    };
    return { issue, issued, failOnce: () => (failNext = true) };
  };

  it("hands every attempt the same probe per CA while it has hours left, then issues a new one", async () => {
    let now = base;
    const ca = issuer();
    const probe = reusingProbeViewers(ca.issue, () => new Date(now));
    const first = await probe(A);
    expect(await probe(A)).toBe(first);
    now = base + 11 * HOUR - PROBE_VIEWER_REUSE_MARGIN_MS - 1;
    expect(await probe(A)).toBe(first);
    expect(ca.issued).toEqual([A]);
    // Another CA has its own probe.
    expect(await probe(B)).not.toBe(first);
    expect(ca.issued).toEqual([A, B]);
    // Within the margin of its expiry: a new one.
    now = base + 11 * HOUR - PROBE_VIEWER_REUSE_MARGIN_MS;
    const second = await probe(A);
    expect(second).not.toBe(first);
    expect(ca.issued).toEqual([A, B, A]);
  });

  it("remembers nothing of a failed issue: the next attempt issues again", async () => {
    const ca = issuer();
    const probe = reusingProbeViewers(ca.issue, () => new Date(base));
    ca.failOnce();
    await expect(probe(A)).rejects.toThrow(/throttled/);
    await probe(A);
    await probe(A);
    expect(ca.issued).toEqual([A]);
  });
});
