/**
 * A scenario's subjects are distinguished names that mean exactly what they say, and an authority's name is
 * one attribute value of its CA's subject: nothing adds attributes, breaks a line or hides characters. Each
 * accepted subject is checked against what OpenSSL (through Node's X509Certificate) reads in the certificate
 * the sandbox issues with it.
 */
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { authorityNameProblem, parseSubject, type Rdns } from "../../sandbox/distinguished-name.ts";
import { type CertificateAuthority, createRootCa, issueClientCredential } from "../../standins/pki.ts";

let ca: CertificateAuthority;
beforeAll(async () => {
  ca = await createRootCa({ name: "CN=distinguished name test CA" });
});

const one = (type: string, value: string) => [{ type, value }];

describe("a certificate's subject", () => {
  // [subject, what it reads as, what OpenSSL reads in the issued certificate]
  const valid: Array<[string, Rdns, string]> = [
    [
      "CN=edge.sandbox.example, O=mtls-rotator sandbox",
      [one("CN", "edge.sandbox.example"), one("O", "mtls-rotator sandbox")],
      "CN=edge.sandbox.example\nO=mtls-rotator sandbox",
    ],
    ["CN=x,O=y", [one("CN", "x"), one("O", "y")], "CN=x\nO=y"],
    ["CN=Acme\\, Inc., O=x", [one("CN", "Acme, Inc."), one("O", "x")], "CN=Acme\\, Inc.\nO=x"],
    [
      "CN=x+O=y, C=DE",
      [
        [
          { type: "CN", value: "x" },
          { type: "O", value: "y" },
        ],
        one("C", "DE"),
      ],
      "CN=x + O=y\nC=DE",
    ],
    ["CN=a\\\\b, OU=\\#1", [one("CN", "a\\b"), one("OU", "#1")], "CN=a\\\\b\nOU=\\#1"],
    ["CN=a\\=b", [one("CN", "a=b")], "CN=a=b"],
    [
      "CN=Jörg, E=a@b.example",
      [one("CN", "Jörg"), one("E", "a@b.example")],
      "CN=Jörg\nemailAddress=a@b.example",
    ],
    [
      "CN=api, OU=Edge, L=Berlin, ST=Berlin, DC=example",
      [one("CN", "api"), one("OU", "Edge"), one("L", "Berlin"), one("ST", "Berlin"), one("DC", "example")],
      "CN=api\nOU=Edge\nL=Berlin\nST=Berlin\nDC=example",
    ],
    [`CN=${"x".repeat(64)}`, [one("CN", "x".repeat(64))], `CN=${"x".repeat(64)}`],
  ];

  it.each(valid)("accepts %j", async (subject, rdns, openssl) => {
    expect(parseSubject(subject)).toEqual({ ok: true, rdns });
    const issued = await issueClientCredential(ca, { subject });
    expect(new X509Certificate(issued.certificatePem).subject).toBe(openssl);
  });

  const invalid: Array<[string, string, string]> = [
    ["a line feed", "CN=x\nO=y", "contains a line break (U+000A)"],
    ["a carriage return", "CN=x\r, O=y", "contains a line break (U+000D)"],
    ["a line separator", "CN=x\u2028O=y", "contains a line break (U+2028)"],
    ["a paragraph separator", "CN=x\u2029", "contains a line break (U+2029)"],
    ["a next-line character", "CN=x\u0085", "contains a line break (U+0085)"],
    ["NUL", "CN=x\u0000y", "contains a control character (U+0000)"],
    ["a tab", "CN=x\ty", "contains a control character (U+0009)"],
    ["an escape character", "CN=\u001b[31mred", "contains a control character (U+001B)"],
    [
      "a right-to-left override",
      "CN=\u202etxt.exe",
      "contains a bidirectional formatting character (U+202E)",
    ],
    ["a lone surrogate", "CN=\ud800x", "is not well-formed Unicode (a lone surrogate)"],
    ["OpenSSL's notation", "/CN=x/O=y", `OpenSSL's "/CN=.../O=..." notation is not read here`],
    ["a '/' in a value", "CN=x/O=y", `CN: "/" in a value reads as OpenSSL's attribute separator`],
    ["an empty value", "CN=, O=y", "CN has an empty value"],
    ["an empty last value", "CN=x, O=", "O has an empty value"],
    [
      "an unknown attribute type",
      "FOO=x",
      `unknown attribute type "FOO" (types: CN, O, OU, L, ST, C, DC, E, G, I, SN, T)`,
    ],
    ["a lower-case type", "cn=x", `attribute type "cn": write "CN" (types are upper case)`],
    ["a numeric type", "2.5.4.3=x", "numeric attribute types (2.5.4.3) are not supported"],
    ["a type without '='", "CN x", `expected "=" after "CN" at character 3, got " "`],
    ["no type", "=x", "an attribute has no type at character 1"],
    ["a plain name", "edge", `unknown attribute type "edge"`],
    ["a trailing separator", "CN=x, O=y,", "it ends with a separator"],
    ["a trailing '+'", "CN=x+", "it ends with a separator"],
    ["two separators", "CN=x,,O=y", `expected an attribute type at character 6, got ","`],
    ["';' as a separator", "CN=x;O=y", `";" is not a separator here: separate attributes with ","`],
    ["an unescaped '=' (a missing ',')", "CN=x O=y", `CN: an unescaped "=" in its value (a missing ","?)`],
    ["an unescaped quote", 'CN="x"', `CN: an unescaped '"' in its value`],
    ["an unescaped '<'", "CN=<x", "CN: an unescaped '<' in its value"],
    ["a hex escape", "CN=x\\2C O=y", "CN: hex escapes (\\2C) are not supported"],
    ["a non-escape", "CN=x\\y", `CN: "\\y" is not an escape`],
    ["a lone backslash at the end", "CN=x\\", `CN: ends with a lone "\\"`],
    ["a BER value", "CN=#0403616263", `CN: a value starting with "#" is a hex-encoded BER value`],
    ["a leading space in a value", "CN= x", "CN: its value starts with a space"],
    ["a trailing space in a value", "CN=x , O=y", "CN: its value ends with a space"],
    ["a leading space", " CN=x", `expected an attribute type at character 1, got " "`],
    ["a long CN", `CN=${"x".repeat(65)}`, "CN is 65 characters long; at most 64 (RFC 5280)"],
    [
      "a country that is not two letters",
      "CN=x, C=Germany",
      "C must be two capital letters (ISO 3166, e.g. DE)",
    ],
    ["a non-ASCII e-mail address", "CN=x, E=jörg@example.com", "E must be ASCII"],
    // The certificate library would read "\\," as an escaped comma: the subject means something else to it.
    [
      "an escaped backslash before a separator",
      "CN=a\\\\, O=b",
      "the certificate library reads it differently",
    ],
  ];

  it.each(invalid)("refuses %s", (_, subject, problem) => {
    const parsed = parseSubject(subject);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.problem).toContain(problem);
  });
});

describe("an authority's name (the CA's common name)", () => {
  it.each([
    "Acme Origin Client CA 1",
    "Acme Origin Client P-256 CA B",
    "Acme CA #1",
    "Zertifizierungsstelle Jörg (Test)",
    "x".repeat(64),
  ])("accepts %j", (name) => {
    expect(authorityNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["X, O=evil", "must not contain ','"],
    ["X+O=evil", "must not contain '+'"],
    ["X/O=evil", "must not contain '/'"],
    ["CN=X", "must not contain '='"],
    ["X; O=evil", "must not contain ';'"],
    ['"X"', `must not contain '"'`],
    ["X\\", "must not contain '\\'"],
    ["<X>", "must not contain '<'"],
    ["X\nO=evil", "contains a line break (U+000A)"],
    ["X\r", "contains a line break (U+000D)"],
    ["X\u2028", "contains a line break (U+2028)"],
    ["X\u0000", "contains a control character (U+0000)"],
    ["X\u007f", "contains a control character (U+007F)"],
    ["\u202eAC", "contains a bidirectional formatting character (U+202E)"],
    ["#1", 'must not start with "#"'],
    [" X", "must not start or end with a space"],
    ["X ", "must not start or end with a space"],
  ])("refuses %j", (name, problem) => {
    expect(authorityNameProblem(name)).toContain(problem);
  });
});
