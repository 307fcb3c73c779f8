/**
 * Keys given twice in one JSON object. JSON.parse keeps the last of them silently, so
 * `{"dryRun":true,"dryRun":false}` would start a real rotation while the first key says otherwise: the API
 * refuses such a body (RFC 8259 §4: "The names within an object SHOULD be unique"; with duplicates "the
 * behavior of software that receives such an object is unpredictable").
 */

type Frame = { kind: "object"; keys: Set<string>; key?: string } | { kind: "array"; index: number };

/**
 * The path (keys and array indexes) of the first key that `text`, a valid JSON text, gives twice in one
 * object, compared after unescaping (`"\u0072eason"` is `"reason"`); undefined when there is none.
 */
export function firstDuplicateKey(text: string): PropertyKey[] | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top?.kind === "object") {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return [...pathTo(stack.slice(0, -1)), key];
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (c === "{") {
      stack.push({ kind: "object", keys: new Set() });
      expectKey = true;
    } else if (c === "[") {
      stack.push({ kind: "array", index: 0 });
      expectKey = false;
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      const top = stack.at(-1);
      if (top?.kind === "object") expectKey = true;
      else if (top) top.index += 1;
    }
  }
  return undefined;
}

/** Where the innermost frame's value sits: each enclosing object's current key, each array's index. */
function pathTo(frames: Frame[]): PropertyKey[] {
  return frames.map((frame) => (frame.kind === "object" ? (frame.key ?? "") : frame.index));
}
