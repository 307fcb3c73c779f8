// CloudFront connection function (runtime cloudfront-js-2.0): refuses a viewer whose certificate has been
// revoked. Shipped as this file, unchanged: docs/viewer-revocation.md says how to publish it and associate it
// with distributions (ConnectionFunctionAssociation) and with the revocation KeyValueStore.
//
// CloudFront calls the function only after its own validation of the viewer's certificate against the trust
// store passed, so every connection seen here already chains to a trusted viewer CA; what is left to decide
// is whether the certificate's serial number has been revoked since.
//
// Documented (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/create-revocation-connection-function.html):
// the handler `connectionHandler(connection)`, `connection.clientCertInfo.serialNumber`, `cf.kvs()` (the one
// store associated with the function), `kvs.exists(key)`, `connection.allow()` / `connection.deny()`.
// Assumed: the serial number is hexadecimal text, possibly with colons, in either case, as CloudFront's
// CloudFront-Viewer-Cert-Serial-Number header shows it ("4a:3f:5c:92:d1:e8:7b:6c"). If CloudFront gave it in
// decimal instead, no key would ever match and revoked viewers would be allowed; the test
// test/viewer/edge/deny-revoked.test.ts names that assumption.
import cf from "cloudfront";

// The one normal form of a serial number, shared with functions/core/viewer-serial.ts (the writer side;
// test/viewer/edge/deny-revoked.test.ts proves both agree):
// lower-case hex, no separators, no leading zeros ("0" for zero). Anything that is not hex gives null.
function normalSerial(text) {
  if (typeof text !== "string") return null;
  let hex = text.replace(/[:\s]/g, "").toLowerCase();
  if (hex.length === 0 || !/^[0-9a-f]+$/.test(hex)) return null;
  hex = hex.replace(/^0+/, "");
  return hex.length === 0 ? "0" : hex;
}

// Fails closed: a certificate whose serial cannot be read, or a store that cannot be read, is refused. A
// revocation is written because a viewer's key is known to be lost or misused; letting it in whenever the
// list is unreadable would make the revocation worth nothing exactly when it matters. The price is
// availability: while the store is unreadable at an edge location, no viewer connects there (assumed to be
// rare and local, since the function reads the store where it runs; docs/viewer-revocation.md).
// biome-ignore lint/correctness/noUnusedVariables: CloudFront calls the handler by this name
async function connectionHandler(connection) {
  const info = connection.clientCertInfo;
  const serial = normalSerial(info ? info.serialNumber : undefined);
  if (serial === null) {
    console.log("deny: no readable certificate serial number");
    return connection.deny();
  }
  let revoked;
  try {
    revoked = await cf.kvs().exists(serial);
  } catch (_error) {
    console.log("deny: revocation list unreadable");
    return connection.deny();
  }
  if (revoked) {
    console.log(`deny: certificate ${serial} revoked`);
    return connection.deny();
  }
  return connection.allow();
}
