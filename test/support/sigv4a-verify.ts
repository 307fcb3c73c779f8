/**
 * An independent check of SigV4A signatures, written from AWS's description rather than from the signer we
 * use (`@smithy/signature-v4a`): the signing key is an ECDSA P-256 key derived from the secret access key by
 * the NIST SP 800-108 KDF in counter mode with HMAC-SHA256 (key "AWS4A" + secret, label
 * "AWS4-ECDSA-P256-SHA256", context = access key id + a one-octet counter, 256 bits; the first candidate
 * c <= n - 2 gives d = c + 1); the string to sign is "AWS4-ECDSA-P256-SHA256", the request time, the scope
 * `<date>/<service>/aws4_request` (no region: the region set is the signed `x-amz-region-set` header) and
 * the hex SHA-256 of the canonical request, one per line; the signature is hex DER ECDSA over it.
 */
import { createECDH, createHash, createHmac, createPublicKey, verify } from "node:crypto";

const ALGORITHM = "AWS4-ECDSA-P256-SHA256";
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** The public key (uncompressed point) AWS derives from the credentials. */
export function sigV4aPublicKey(accessKeyId: string, secretAccessKey: string) {
  for (let counter = 1; counter <= 254; counter++) {
    const fixed = Buffer.concat([
      uint32(1),
      Buffer.from(ALGORITHM),
      Buffer.from([0]),
      Buffer.from(accessKeyId),
      Buffer.from([counter]),
      uint32(256),
    ]);
    const c = BigInt(`0x${createHmac("sha256", `AWS4A${secretAccessKey}`).update(fixed).digest("hex")}`);
    if (c > P256_ORDER - 2n) continue;
    const d = Buffer.from((c + 1n).toString(16).padStart(64, "0"), "hex");
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey();
    return createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: point.subarray(1, 33).toString("base64url"),
        y: point.subarray(33, 65).toString("base64url"),
      },
      format: "jwk",
    });
  }
  throw new Error("no SigV4A key in 254 candidates");
}

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface SigV4aCheck {
  valid: boolean;
  problem?: string;
  service?: string;
  regionSet?: string;
  signedHeaders?: string[];
}

/**
 * Whether `headers` (as sent) sign the request with SigV4A under `credentials`. Non-S3 rules: each path
 * segment of the URL as sent is encoded once more in the canonical URI.
 */
export function checkSigV4a(
  request: { method: string; url: string; headers: Record<string, string>; body: string },
  credentials: { accessKeyId: string; secretAccessKey: string },
): SigV4aCheck {
  const lower = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const auth = lower.authorization ?? "";
  const m =
    /^AWS4-ECDSA-P256-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]+)$/.exec(
      auth,
    );
  if (!m) return { valid: false, problem: `no SigV4A authorization header: ${auth.slice(0, 40)}` };
  const [, accessKeyId, date, service, signedList, signature] = m as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return { valid: false, problem: "another access key" };
  const signedHeaders = signedList!.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-region-set"])
    if (!signedHeaders.includes(required)) return { valid: false, problem: `${required} not signed` };
  const url = new URL(request.url);
  const host = lower.host ?? url.host;
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(name === "host" ? host : (lower[name] ?? "")).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalUri = url.pathname
    .split("/")
    .map((segment) => rfc3986(segment))
    .join("/");
  const query = [...url.searchParams]
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join("&");
  const canonical = [
    request.method,
    canonicalUri,
    query,
    canonicalHeaders,
    signedList,
    createHash("sha256").update(request.body).digest("hex"),
  ].join("\n");
  const amzDate = lower["x-amz-date"] ?? "";
  if (amzDate.slice(0, 8) !== date) return { valid: false, problem: "scope date is not the request's date" };
  const stringToSign = [
    ALGORITHM,
    amzDate,
    `${date}/${service}/aws4_request`,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const key = sigV4aPublicKey(credentials.accessKeyId, credentials.secretAccessKey);
  const valid = verify("sha256", Buffer.from(stringToSign), key, Buffer.from(signature!, "hex"));
  return {
    valid,
    ...(valid ? {} : { problem: "signature does not verify" }),
    service: service!,
    regionSet: lower["x-amz-region-set"] ?? "",
    signedHeaders,
  };
}
