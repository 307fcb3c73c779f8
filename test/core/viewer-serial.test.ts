import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  InvalidViewerSerialError,
  MAX_SERIAL_OCTETS,
  normalViewerSerial,
} from "../../functions/core/viewer-serial.ts";
import { issueClientCredential } from "../../standins/pki.ts";
import { pki } from "../support/pki-fixtures.ts";

describe("normalViewerSerial", () => {
  it("spells a serial one way: lower-case hex without colons, spaces or leading zeros", () => {
    for (const spelling of ["4A:3F:5C:92", "4a3f5c92", "00:4a:3f:5c:92", "004A3F5C92", " 4a 3f 5c 92 "]) {
      expect(normalViewerSerial(spelling), spelling).toBe("4a3f5c92");
    }
    expect(normalViewerSerial("00")).toBe("0");
    expect(normalViewerSerial("0:0")).toBe("0");
  });

  it("gives a real certificate's serial, as node:crypto and openssl spell it, the same key", async () => {
    const { issuing } = await pki();
    const credential = await issueClientCredential(issuing, { subject: "CN=viewer serial" });
    const serial = new X509Certificate(credential.certificatePem).serialNumber;
    const colons = (serial.length % 2 ? `0${serial}` : serial).match(/../g)!.join(":");
    expect(normalViewerSerial(colons)).toBe(normalViewerSerial(serial));
    expect(normalViewerSerial(serial)).toMatch(/^[1-9a-f][0-9a-f]*$/);
  });

  it("refuses what is no serial number, with a reason", () => {
    expect(() => normalViewerSerial("")).toThrow(/required/);
    expect(() => normalViewerSerial(" : ")).toThrow(/required/);
    expect(() => normalViewerSerial("12-34")).toThrow(/hexadecimal/);
    expect(() => normalViewerSerial("0x1234")).toThrow(InvalidViewerSerialError);
    expect(() => normalViewerSerial("1".repeat(MAX_SERIAL_OCTETS * 2 + 1))).toThrow(/20 octets/);
    // Leading zeros do not count against the 20 octets (the DER sign octet).
    expect(normalViewerSerial(`00${"7f".repeat(MAX_SERIAL_OCTETS)}`)).toBe("7f".repeat(MAX_SERIAL_OCTETS));
  });
});
