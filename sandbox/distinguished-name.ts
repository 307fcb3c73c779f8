/**
 * The distinguished names a scenario writes: a certificate's `subject` ("CN=edge.example, O=Acme": RFC 4514
 * notation, as @peculiar/x509 reads it when the sandbox issues the certificate), and an authority's `name`,
 * which the sandbox puts into the CA's subject (`CN=<name>, O=mtls-rotator sandbox`, and `CN=<name> Root, ...`
 * for its root). Both end up in certificates, in every output line and in the report, so a subject must be
 * exactly the name it reads as, and a CA name exactly one attribute value: nothing may add attributes, break
 * a line or hide characters.
 *
 * A subject here is: attributes `TYPE=value` separated by "," (spaces after it allowed), several in one
 * RDN joined by "+"; the types CN, O, OU, L, ST, C, DC, E, G, I, SN, T (upper case, as the certificate
 * library knows them); a value is not empty, has no leading or trailing space, and escapes the characters
 * , + " \ < > ; = with a backslash ("Acme\, Inc."). Not supported (refused, with a hint): OpenSSL's
 * "/CN=x/O=y", ";" as a separator, numeric types (2.5.4.3=x), hex escapes (\2C), BER values (#04...), "/"
 * in a value. Never: line breaks (\n, \r, U+0085, U+2028, U+2029), control characters (NUL included),
 * bidirectional formatting characters, broken UTF-16. Values keep RFC 5280's upper bounds (CN 64, ...); C is
 * two capital letters; E and DC are ASCII.
 */
import { x509 } from "../functions/crypto/x509.ts";

export interface Attribute {
  type: string;
  value: string;
}

/** A parsed subject: its RDNs in order, each one or more attributes. */
export type Rdns = Attribute[][];

interface AttributeRule {
  /** RFC 5280 upper bound (characters), if it sets one. */
  max?: number;
  ascii?: boolean;
  pattern?: { regex: RegExp; rule: string };
}

/** The attribute types @peculiar/x509 (which builds the certificates) knows by name, with RFC 5280's bounds. */
const ATTRIBUTES: Record<string, AttributeRule> = {
  CN: { max: 64 },
  O: { max: 64 },
  OU: { max: 64 },
  L: { max: 128 },
  ST: { max: 128 },
  C: { pattern: { regex: /^[A-Z]{2}$/, rule: "two capital letters (ISO 3166, e.g. DE)" } },
  DC: { max: 63, ascii: true },
  E: { max: 255, ascii: true },
  G: {},
  I: {},
  SN: {},
  T: { max: 64 },
};
export const SUBJECT_ATTRIBUTE_TYPES = Object.keys(ATTRIBUTES);

/** Escaped with a backslash in a value: RFC 4514's specials, and "=" (a missing "," otherwise). */
const ESCAPABLE = new Set([",", "+", '"', "\\", "<", ">", ";", "=", "#", " "]);

const LINE_BREAKS = /[\n\r\u0085\u2028\u2029]/u;
/** Unicode's control characters: U+0000-U+001F (NUL included), U+007F-U+009F. */
const CONTROLS = /\p{Cc}/u;
/** Characters that reorder how a line reads (bidirectional formatting). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** `"<text>"` with anything unprintable as \uXXXX, so a message never carries a raw control character. */
export function printable(text: string, limit = 60): string {
  const cut = text.length > limit ? `${text.slice(0, limit)}...` : text;
  return JSON.stringify(cut).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** What no name may contain, whatever its syntax; undefined when there is none of it. */
function characterProblem(text: string): string | undefined {
  const lineBreak = LINE_BREAKS.exec(text);
  if (lineBreak) return `contains a line break (${codePoint(lineBreak[0])})`;
  const control = CONTROLS.exec(text);
  if (control) return `contains a control character (${codePoint(control[0])})`;
  const bidi = BIDI.exec(text);
  if (bidi) return `contains a bidirectional formatting character (${codePoint(bidi[0])})`;
  if (LONE_SURROGATE.test(text)) return "is not well-formed Unicode (a lone surrogate)";
  return undefined;
}

export type ParsedSubject = { ok: true; rdns: Rdns } | { ok: false; problem: string };

const FORM = `write it as "CN=<name>, O=<organization>" (types: ${SUBJECT_ATTRIBUTE_TYPES.join(", ")})`;

/**
 * Reads a subject in the scenario's notation, or says what is wrong with it (the first problem). It is
 * accepted only if the certificate library reads it as the same attributes.
 */
export function parseSubject(text: string): ParsedSubject {
  const fail = (problem: string): ParsedSubject => ({ ok: false, problem });
  const bad = characterProblem(text);
  if (bad) return fail(bad);
  if (text.startsWith("/")) return fail(`OpenSSL's "/CN=.../O=..." notation is not read here: ${FORM}`);

  const rdns: Rdns = [];
  let rdn: Attribute[] = [];
  let i = 0;
  for (;;) {
    // The attribute type.
    const typeMatch = /^[A-Za-z0-9.-]*/.exec(text.slice(i))![0];
    const position = `at character ${i + 1}`;
    if (typeMatch === "") {
      if (text[i] === "=") return fail(`an attribute has no type ${position}: ${FORM}`);
      if (i >= text.length) return fail(`it ends with a separator: ${FORM}`);
      return fail(`expected an attribute type ${position}, got ${printable(text[i]!)}: ${FORM}`);
    }
    if (/^\d/.test(typeMatch))
      return fail(
        `numeric attribute types (${typeMatch}) are not supported: use one of ${SUBJECT_ATTRIBUTE_TYPES.join(", ")}`,
      );
    const type = typeMatch;
    if (!(type in ATTRIBUTES)) {
      const upper = type.toUpperCase();
      return fail(
        upper in ATTRIBUTES
          ? `attribute type "${type}": write "${upper}" (types are upper case)`
          : `unknown attribute type "${type}" (types: ${SUBJECT_ATTRIBUTE_TYPES.join(", ")})`,
      );
    }
    i += type.length;
    if (text[i] !== "=")
      return fail(
        `expected "=" after "${type}" at character ${i + 1}${i < text.length ? `, got ${printable(text[i]!)}` : ""}: ${FORM}`,
      );
    i += 1;

    // The value, up to an unescaped "," or "+".
    let value = "";
    let raw = "";
    let trailingUnescapedSpace = false;
    while (i < text.length && text[i] !== "," && text[i] !== "+") {
      const c = text[i]!;
      if (c === "\\") {
        const next = text[i + 1];
        if (next !== undefined && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3)))
          return fail(
            `${type}: hex escapes (${text.slice(i, i + 3)}) are not supported; escape the character itself with "\\"`,
          );
        if (next === undefined || !ESCAPABLE.has(next))
          return fail(
            `${type}: ${next === undefined ? "ends with a lone" : `"\\${next}" is not an escape; only , + " \\ < > ; = # and space follow a`} "\\"`,
          );
        value += next;
        raw += c + next;
        trailingUnescapedSpace = false;
        i += 2;
        continue;
      }
      if (c === "=")
        return fail(`${type}: an unescaped "=" in its value (a missing ","?); escape it as "\\="`);
      if (c === ";") return fail(`";" is not a separator here: separate attributes with ","`);
      if (c === '"' || c === "<" || c === ">")
        return fail(`${type}: an unescaped '${c}' in its value; escape it as "\\${c}"`);
      if (c === "/")
        return fail(
          `${type}: "/" in a value reads as OpenSSL's attribute separator (/CN=.../O=...); leave it out`,
        );
      if (c === "#" && raw === "")
        return fail(
          `${type}: a value starting with "#" is a hex-encoded BER value, not supported; escape it as "\\#"`,
        );
      if (c === " " && raw === "")
        return fail(`${type}: its value starts with a space; escape it as "\\ " or leave it out`);
      value += c;
      raw += c;
      trailingUnescapedSpace = c === " ";
      i += 1;
    }
    if (raw === "") return fail(`${type} has an empty value`);
    if (trailingUnescapedSpace)
      return fail(`${type}: its value ends with a space; escape it as "\\ " or leave it out`);
    const rule = ATTRIBUTES[type]!;
    if (rule.max !== undefined && value.length > rule.max)
      return fail(`${type} is ${value.length} characters long; at most ${rule.max} (RFC 5280)`);
    if (rule.ascii && /[^\u0020-\u007e]/.test(value)) return fail(`${type} must be ASCII`);
    if (rule.pattern && !rule.pattern.regex.test(value))
      return fail(`${type} must be ${rule.pattern.rule}, got ${printable(value)}`);
    rdn.push({ type, value });

    if (i >= text.length) break;
    const separator = text[i];
    i += 1;
    if (separator === ",") {
      rdns.push(rdn);
      rdn = [];
    }
    while (text[i] === " ") i += 1;
  }
  rdns.push(rdn);

  // The certificate library must read the same name (it is what puts the subject into the certificate).
  let read: Array<Record<string, string[]>>;
  try {
    read = new x509.Name(text).toJSON();
  } catch (error) {
    return fail(`the certificate library cannot read it (${(error as Error).message})`);
  }
  const expected = rdns.map((r) => {
    const attributes: Record<string, string[]> = {};
    for (const a of r) attributes[a.type] = [...(attributes[a.type] ?? []), a.value];
    return attributes;
  });
  if (JSON.stringify(read) !== JSON.stringify(expected))
    return fail(`the certificate library reads it differently (as ${printable(JSON.stringify(read), 120)})`);
  return { ok: true, rdns };
}

/** What the sandbox makes of an authority's name: its CA's subject, and its root's. */
export function authoritySubjects(name: string): { subject: string; rootSubject: string } {
  return {
    subject: `CN=${name}, O=mtls-rotator sandbox`,
    rootSubject: `CN=${name} Root, O=mtls-rotator sandbox`,
  };
}

/** Characters that would make an authority's name more than one attribute value of its CA's subject. */
const NAME_INJECTS = /[/=,+"\\<>;]/;

/**
 * Why an authority's name cannot be a CA's common name (a plain name, put into `CN=<name>, O=...` as it
 * is), or undefined: no line breaks or control characters, none of / = , + " \ < > ; (they would add
 * attributes or RDNs, or read as OpenSSL's separator), no leading "#" and no space at either end. Anything
 * else a CN may hold is fine ("Acme Origin Client CA #1", "Zertifizierungsstelle Jörg").
 */
export function authorityNameProblem(name: string): string | undefined {
  const bad = characterProblem(name);
  if (bad) return bad;
  const inject = NAME_INJECTS.exec(name);
  if (inject)
    return (
      `must not contain '${inject[0]}': the name becomes the CA's common name ` +
      `(CN=<name>, O=mtls-rotator sandbox), which '${inject[0]}' would split or add attributes to`
    );
  if (name.startsWith("#")) return `must not start with "#" (it would read as a hex-encoded value)`;
  if (name !== name.trim()) return "must not start or end with a space";
  const parsed = parseSubject(authoritySubjects(name).subject);
  return parsed.ok ? undefined : `does not make a valid CA subject: ${parsed.problem}`;
}
