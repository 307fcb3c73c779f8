/**
 * The one spelling of a viewer certificate's serial number used as a key of the revocation KeyValueStore,
 * shared with the connection function that reads it (functions/viewer/edge/deny-revoked.js, which repeats
 * this rule in plain JavaScript because CloudFront's runtime imports nothing but 'cloudfront'): lower-case
 * hexadecimal, no colons or spaces, no leading zeros ("0" for zero). Operators paste serials as openssl prints
 * them ("4A:3F:..."), as Node's X509Certificate gives them ("4A3F..."), or with the DER sign octet ("00C1...");
 * all of them name the same certificate and must be the same key.
 */

/** RFC 5280 4.1.2.2: conforming CAs use serial numbers of at most 20 octets. */
export const MAX_SERIAL_OCTETS = 20;

/** At most this many characters of reason are recorded with a revocation (a store value is at most 1 KB). */
export const MAX_REVOCATION_REASON = 256;

/** A serial in its normal form (what normalViewerSerial answers). */
export const VIEWER_SERIAL_NORMAL_FORM = /^(0|[1-9a-f][0-9a-f]{0,39})$/;

export class InvalidViewerSerialError extends Error {
  override name = "InvalidViewerSerialError";
}

/** The normal form of `text`, or InvalidViewerSerialError saying why it is no certificate serial number. */
export function normalViewerSerial(text: string): string {
  const hex = text.replace(/[:\s]/g, "").toLowerCase();
  if (hex.length === 0) throw new InvalidViewerSerialError("a certificate serial number is required");
  if (!/^[0-9a-f]+$/.test(hex)) {
    throw new InvalidViewerSerialError(
      "a certificate serial number is hexadecimal, optionally with colons (e.g. 4a:3f:5c:92)",
    );
  }
  const significant = hex.replace(/^0+/, "");
  if (significant.length > MAX_SERIAL_OCTETS * 2) {
    throw new InvalidViewerSerialError(
      `a certificate serial number has at most ${MAX_SERIAL_OCTETS} octets (RFC 5280)`,
    );
  }
  return significant.length === 0 ? "0" : significant;
}
