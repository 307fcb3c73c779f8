/** firstDuplicateKey on its own: JSON texts with and without keys given twice, nested, escaped, in strings. */
import { describe, expect, it } from "vitest";
import { firstDuplicateKey } from "../../functions/api/json-keys.ts";

/** A seeded generator of JSON values with awkward keys and strings (quotes, braces, escapes, unicode). */
function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const strings = ['"', "\\", "{", "}", "[", "]", ",", ":", "é", "\u2028", 'a"b', "x"];
  const kind = depth > 3 ? pick(["s", "n", "b"]) : pick(["o", "a", "s", "n", "b", "o"]);
  if (kind === "s") return pick(strings) + pick(strings);
  if (kind === "n") return Math.floor(next() * 1000) - 500;
  if (kind === "b") return next() < 0.5;
  if (kind === "a") return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i -= 1) out[pick(strings) + i] = randomValue(next, depth + 1);
  return out;
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("firstDuplicateKey", () => {
  it("finds none in what JSON.stringify writes (500 seeded random values)", () => {
    const next = seeded(7);
    for (let i = 0; i < 500; i += 1) {
      const text = JSON.stringify(randomValue(next, 0));
      expect(firstDuplicateKey(text), text).toBeUndefined();
    }
  });

  it("finds a key repeated anywhere in those values, with its path", () => {
    const next = seeded(11);
    for (let i = 0; i < 500; i += 1) {
      const value = { outer: randomValue(next, 1), list: [randomValue(next, 2), { k: 1 }] };
      const text = JSON.stringify(value).replace('{"k":1}', '{"k":1, "k" :2}');
      expect(firstDuplicateKey(text)).toEqual(firstDuplicateKey(JSON.stringify(value)) ?? ["list", 1, "k"]);
    }
  });

  it.each([
    ['{"a":1,"a":2}', ["a"]],
    ['{"a":1,"\\u0061":2}', ["a"]],
    ['{ "a" : { "b" : [ 1, { "c": 1, "c": 2 } ] } }', ["a", "b", 1, "c"]],
    ['[{"a":1},{"a":1},{"a":1,"b":1,"a":1}]', [2, "a"]],
    ['{"a":{"x":1},"b":{"x":1}}', undefined],
    ['{"a":"\\"a\\":1,\\"a\\":2"}', undefined],
    ['{"":1,"":2}', [""]],
    ["[]", undefined],
    ['"{\\"a\\":1,\\"a\\":2}"', undefined],
  ])("%s -> %j", (text, path) => {
    expect(firstDuplicateKey(text)).toEqual(path);
  });
});
