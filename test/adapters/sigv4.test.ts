/**
 * The SigV4A signer (sigv4.ts over `@smithy/signature-v4a`) checked by an independent verifier written from
 * AWS's description of the algorithm (test/support/sigv4a-verify.ts): derived key, canonical request, string
 * to sign, region set. The verifier itself must refuse tampered requests, other keys and SigV4.
 */
import { describe, expect, it } from "vitest";
import { signedHeaders, signedHeadersV4a } from "../../functions/adapters/sigv4.ts";
import { checkSigV4a } from "../support/sigv4a-verify.ts";

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const date = new Date("2026-12-05T03:30:00Z");
const arn = encodeURIComponent(
  "arn:aws:cloudfront::111122223333:key-value-store/0f9c5e6a-1111-2222-3333-444455556666",
);
const request = {
  method: "PUT",
  url: `https://111122223333.cloudfront-kvs.global.api.aws/key-value-stores/${arn}/keys/4a3f5c`,
  headers: { "if-match": "KV1", "content-type": "application/json" },
  body: JSON.stringify({ Value: '{"reason":"key lost"}' }),
};

async function signed(over: Partial<typeof request> = {}) {
  const r = { ...request, ...over };
  const headers = await signedHeadersV4a(r, { service: "cloudfront-keyvaluestore", credentials, date });
  return { ...r, headers: { ...r.headers, ...headers } as Record<string, string> };
}

describe("signedHeadersV4a", () => {
  it("signs for every region with the service's name, and an independent verifier accepts it", async () => {
    const sent = await signed();
    const check = checkSigV4a(sent, credentials);
    expect(check).toMatchObject({ valid: true, service: "cloudfront-keyvaluestore", regionSet: "*" });
    expect(check.signedHeaders).toEqual(
      expect.arrayContaining(["host", "if-match", "x-amz-date", "x-amz-region-set"]),
    );
    expect(sent.headers["x-amz-date"]).toBe("20261205T033000Z");
  });

  it("signs a GET with an empty body and a session token", async () => {
    const withToken = { ...credentials, sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN" };
    const r = { ...request, method: "GET", body: "", headers: {} };
    const headers = await signedHeadersV4a(r, {
      service: "cloudfront-keyvaluestore",
      credentials: withToken,
      date,
    });
    expect(headers["x-amz-security-token"]).toBe(withToken.sessionToken);
    const check = checkSigV4a({ ...r, headers }, credentials);
    expect(check.valid).toBe(true);
    expect(check.signedHeaders).toContain("x-amz-security-token");
  });

  it("the verifier refuses a changed body, another path, another secret, and a SigV4 signature", async () => {
    const sent = await signed();
    expect(checkSigV4a({ ...sent, body: JSON.stringify({ Value: "{}" }) }, credentials)).toMatchObject({
      valid: false,
      problem: "signature does not verify",
    });
    expect(checkSigV4a({ ...sent, url: sent.url.replace("4a3f5c", "4a3f5d") }, credentials).valid).toBe(
      false,
    );
    expect(checkSigV4a(sent, { ...credentials, secretAccessKey: "another" }).valid).toBe(false);
    const v4 = await signedHeaders(request, {
      service: "cloudfront-keyvaluestore",
      region: "us-east-1",
      credentials,
      date,
    });
    expect(checkSigV4a({ ...request, headers: { ...request.headers, ...v4 } }, credentials)).toMatchObject({
      valid: false,
      problem: expect.stringMatching(/no SigV4A authorization header/),
    });
  });

  it("signs for a named region set when asked", async () => {
    const headers = await signedHeadersV4a(request, {
      service: "cloudfront-keyvaluestore",
      credentials,
      date,
      regionSet: "us-east-1",
    });
    expect(
      checkSigV4a({ ...request, headers: { ...request.headers, ...headers } }, credentials),
    ).toMatchObject({
      valid: true,
      regionSet: "us-east-1",
    });
  });
});
