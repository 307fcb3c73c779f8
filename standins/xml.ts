/**
 * A small XML reader for the REST-XML stand-ins (CloudFront): it keeps the source text of every element, so a
 * stand-in can store and serve back a document byte for byte while still checking what it says.
 */

/**
 * One element of a parsed document, with offsets back into the source so the original text of any element
 * can be reused verbatim. Attributes are skipped (CloudFront's documents carry none besides xmlns).
 */
export interface XmlElement {
  /** Tag name as written, prefix included. */
  name: string;
  /** Tag name without a namespace prefix. */
  localName: string;
  /** The element's complete source text, start tag to end tag. */
  raw: string;
  /** Source text between the start and end tags. */
  inner: string;
  children: XmlElement[];
  /** Character data directly inside the element, entities decoded. */
  text: string;
}

export class XmlSyntaxError extends Error {}

interface OpenElement {
  element: XmlElement;
  start: number;
  innerStart: number;
}

/** Parses a well-formed XML document (no DTDs) and returns its root element. */
export function parseXml(source: string): XmlElement {
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  let at = 0;
  const syntaxError = (message: string) => new XmlSyntaxError(`${message} (at offset ${at})`);
  const skipPast = (terminator: string, from: number): number => {
    const end = source.indexOf(terminator, from);
    if (end === -1) throw syntaxError(`unterminated construct, expected '${terminator}'`);
    return end + terminator.length;
  };

  while (at < source.length) {
    const lt = source.indexOf("<", at);
    const text = source.slice(at, lt === -1 ? source.length : lt);
    const open = stack.at(-1);
    if (open) open.element.text += decodeEntities(text);
    else if (text.trim() !== "") throw syntaxError("text outside the root element");
    if (lt === -1) break;
    at = lt;

    if (source.startsWith("<?", lt)) {
      at = skipPast("?>", lt + 2);
    } else if (source.startsWith("<!--", lt)) {
      at = skipPast("-->", lt + 4);
    } else if (source.startsWith("<![CDATA[", lt)) {
      if (!open) throw syntaxError("CDATA outside the root element");
      const end = skipPast("]]>", lt + 9);
      open.element.text += source.slice(lt + 9, end - 3);
      at = end;
    } else if (source.startsWith("<!", lt)) {
      throw syntaxError("document type declarations are not accepted");
    } else if (source.startsWith("</", lt)) {
      const end = skipPast(">", lt + 2);
      const name = source.slice(lt + 2, end - 1).trim();
      const closing = stack.pop();
      if (!closing || closing.element.name !== name) throw syntaxError(`unexpected end tag </${name}>`);
      closing.element.inner = source.slice(closing.innerStart, lt);
      closing.element.raw = source.slice(closing.start, end);
      at = end;
    } else {
      const end = endOfTag(source, lt + 1);
      if (end === -1) throw syntaxError("unterminated start tag");
      const name = /^[A-Za-z_][\w.:-]*/.exec(source.slice(lt + 1, end))?.[0];
      if (!name) throw syntaxError("bad element name");
      const element: XmlElement = {
        name,
        localName: name.slice(name.indexOf(":") + 1),
        // A self-closing element is complete already; an open one gets its text when it closes.
        raw: source.slice(lt, end),
        inner: "",
        children: [],
        text: "",
      };
      if (open) open.element.children.push(element);
      else if (root) throw syntaxError("more than one root element");
      else root = element;
      if (source[end - 2] !== "/") stack.push({ element, start: lt, innerStart: end });
      at = end;
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed) throw syntaxError(`unclosed element <${unclosed.element.name}>`);
  if (!root) throw syntaxError("no root element");
  return root;
}

/** Offset just past the '>' closing the tag whose name starts at `from`, honouring quoted attributes. */
function endOfTag(source: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ">") {
      return i + 1;
    } else if (c === "<") {
      return -1;
    }
  }
  return -1;
}

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) throw new XmlSyntaxError(`bare '&' in character data`);
    const named = NAMED_ENTITIES[name];
    if (named !== undefined) return named;
    const code = /^#x([0-9a-fA-F]+)$/.exec(name)?.[1] ?? /^#([0-9]+)$/.exec(name)?.[1];
    if (code === undefined) throw new XmlSyntaxError(`unknown entity &${name};`);
    return String.fromCodePoint(Number.parseInt(code, name.startsWith("#x") ? 16 : 10));
  });
}
