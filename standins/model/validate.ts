/**
 * Checks a value against a shape of an AWS service model, as AWS's own request validation does: required
 * members, ranges of numbers, lengths of strings, blobs, lists and maps, enums, patterns, unions, and the
 * type of every value. Values are in model form (what the wire decoders in ./wire.ts produce): structures and
 * maps as plain objects, lists as arrays, timestamps as Date, blobs as Uint8Array.
 *
 * Violations carry AWS's wording ("Value '501' at 'maxResults' failed to satisfy constraint: Member must have
 * value less than or equal to 500"), the member path (`maxResults`, `filters.1.member.name`: lower camel
 * case, 1-based list positions, as AWS's validation messages name members) and the model path
 * (`MaxResults`, `Filters[0].Name`) for people reading a test failure.
 */
import type { ServiceModel, Shape, ShapeRef } from "./botocore.ts";

export interface Violation {
  /** Where, as AWS names it in validation messages: `maxResults`, `distributionConfig.origins.items.1.member.id`. */
  member: string;
  /** Where, in model member names: `DistributionConfig.Origins.Items[0].Id`. */
  path: string;
  /** AWS's wording of the failed constraint, e.g. "Member must not be null". */
  constraint: string;
  /** The offending value, shortened, as AWS quotes it ('501', null); empty for a sensitive value. */
  value: string;
}

/** AWS's message for a set of violations. */
export function validationMessage(violations: readonly Violation[]): string {
  const n = violations.length;
  const details = violations
    .map(
      (v) =>
        `Value${v.value ? ` ${v.value}` : ""} at '${v.member}' failed to satisfy constraint: ${v.constraint}`,
    )
    .join("; ");
  return `${n} validation error${n === 1 ? "" : "s"} detected: ${details}`;
}

/** One line per violation, in model names, for test failures and reports. */
export function describeViolation(v: Violation): string {
  return `${v.path || "(root)"}: ${v.constraint}${v.value ? ` (value ${v.value})` : ""}`;
}

export interface Location {
  member: string;
  path: string;
}

export const ROOT: Location = { member: "", path: "" };

export function child(at: Location, name: string): Location {
  const lower = name.length > 0 ? name[0]!.toLowerCase() + name.slice(1) : name;
  return {
    member: at.member ? `${at.member}.${lower}` : lower,
    path: at.path ? `${at.path}.${name}` : name,
  };
}

export function item(at: Location, index: number): Location {
  return { member: `${at.member}.${index + 1}.member`, path: `${at.path}[${index}]` };
}

export function entry(at: Location, key: string): Location {
  return { member: `${at.member}.${key}`, path: `${at.path}[${JSON.stringify(key)}]` };
}

/** Quoted as AWS quotes values: strings in single quotes, cut after 120 characters; null for absent. */
export function quoteValue(value: unknown): string {
  if (value === undefined || value === null) return "null";
  let text: string;
  if (value instanceof Date) text = value.toISOString();
  else if (value instanceof Uint8Array) text = `java.nio.HeapByteBuffer[len=${value.length}]`;
  else if (typeof value === "object") text = Array.isArray(value) ? `[${value.length} items]` : "{...}";
  else text = String(value);
  return `'${text.length > 120 ? `${text.slice(0, 117)}...` : text}'`;
}

const patternCache = new Map<string, RegExp>();

/**
 * The model's pattern as a JavaScript RegExp matching the whole value (Unicode mode first, as the models use
 * \p{..} classes). A pattern JavaScript cannot express is an error, never a check quietly skipped (every
 * pattern of the pinned models compiles today).
 */
export function compilePattern(pattern: string): RegExp {
  const cached = patternCache.get(pattern);
  if (cached) return cached;
  for (const flags of ["u", ""]) {
    try {
      const compiled = new RegExp(`^(?:${pattern})$`, flags);
      patternCache.set(pattern, compiled);
      return compiled;
    } catch {
      // try the next flavour
    }
  }
  throw new Error(`the model check cannot express the model's pattern ${pattern} as a JavaScript RegExp`);
}

export class ShapeValidator {
  readonly #model: ServiceModel;
  /**
   * Checking an answer: lower bounds (`min` of lengths and values) are not enforced, because AWS answers
   * below them where a shape is shared with inputs: DynamoDB's BatchWriteItem answers `"UnprocessedItems": {}`
   * and DescribeTable `"NumberOfDecreasesToday": 0` in AWS's own documented examples, against min 1.
   */
  readonly #answer: boolean;

  constructor(model: ServiceModel, options: { answer?: boolean } = {}) {
    this.#model = model;
    this.#answer = options.answer ?? false;
  }

  shape(name: string): Shape {
    const shape = this.#model.shapes[name];
    if (!shape) throw new Error(`${this.#model.name} model has no shape ${name}`);
    return shape;
  }

  /** Every violation of `value` against the structure shape `shapeName`. */
  validate(shapeName: string, value: unknown): Violation[] {
    const out: Violation[] = [];
    this.#value({ shape: shapeName }, value, ROOT, out);
    return out;
  }

  #value(ref: ShapeRef, value: unknown, at: Location, out: Violation[], secret = false): void {
    const shape = this.shape(ref.shape);
    // A sensitive value (a secret string, a private key) is never quoted, here or below it: AWS leaves it
    // out of its messages too ("Value at 'password' failed to satisfy constraint ...").
    const hidden = secret || shape.sensitive === true;
    const quote = (v: unknown) => (hidden ? "" : quoteValue(v));
    const fail = (constraint: string): void => {
      out.push({ ...at, constraint, value: quote(value) });
    };
    switch (shape.type) {
      case "structure": {
        if (shape.document) return; // any JSON value
        if (!isRecord(value)) {
          fail("Member must be a structure");
          return;
        }
        for (const name of shape.required ?? []) {
          if (value[name] === undefined || value[name] === null) {
            const where = child(at, name);
            out.push({ ...where, constraint: "Member must not be null", value: "null" });
          }
        }
        const present = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
        if (shape.union && present.length !== 1) {
          fail(`Member must have exactly one member set (union), found ${present.length}`);
        }
        for (const name of present) {
          const member = shape.members?.[name];
          if (!member) {
            const where = child(at, name);
            out.push({
              ...where,
              constraint: "Member is not defined by the model",
              value: quote(value[name]),
            });
            continue;
          }
          this.#value(member, value[name], child(at, name), out, hidden);
        }
        return;
      }
      case "list": {
        if (!Array.isArray(value)) {
          fail("Member must be a list");
          return;
        }
        this.#size(shape, value.length, "length", quote(value), at, out);
        value.forEach((element, i) => {
          if (element === null || element === undefined) {
            out.push({ ...item(at, i), constraint: "Member must not be null", value: "null" });
          } else this.#value(shape.member!, element, item(at, i), out, hidden);
        });
        return;
      }
      case "map": {
        if (!isRecord(value)) {
          fail("Member must be a map");
          return;
        }
        const keys = Object.keys(value);
        this.#size(shape, keys.length, "length", quote(value), at, out);
        for (const key of keys) {
          this.#value(
            shape.key!,
            key,
            { ...entry(at, key), path: `${entry(at, key).path}(key)` },
            out,
            hidden,
          );
          this.#value(shape.value!, value[key], entry(at, key), out, hidden);
        }
        return;
      }
      case "string": {
        if (typeof value !== "string") {
          fail("Member must be a string");
          return;
        }
        // Lengths of strings count characters (Unicode code points), as Smithy's length trait does.
        this.#size(shape, [...value].length, "length", quote(value), at, out);
        if (shape.enum && !shape.enum.includes(value)) {
          fail(`Member must satisfy enum value set: [${shape.enum.join(", ")}]`);
        }
        if (shape.pattern !== undefined) {
          const regex = compilePattern(shape.pattern);
          // The whole value must match. Smithy's spec leaves patterns unanchored, but AWS's services match
          // the whole value: CloudFormation refused 'https://aws-quickstart...' against
          // '[a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*', which a match anywhere would accept
          // (docs/aws-behaviour.md, model.patterns-whole-value). Stricter than AWS if that is wrong, never laxer.
          if (!regex.test(value)) {
            fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
          }
        }
        return;
      }
      case "integer":
      case "long": {
        if (typeof value !== "number" || !Number.isInteger(value)) {
          fail("Member must be an integer");
          return;
        }
        this.#size(shape, value, "value", quote(value), at, out);
        return;
      }
      case "float":
      case "double": {
        // NaN and the infinities are doubles too (the model sets no range that would exclude them).
        if (typeof value !== "number") {
          fail("Member must be a number");
          return;
        }
        this.#size(shape, value, "value", quote(value), at, out);
        return;
      }
      case "boolean":
        if (typeof value !== "boolean") fail("Member must be a boolean");
        return;
      case "timestamp":
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail("Member must be a timestamp");
        return;
      case "blob": {
        if (!(value instanceof Uint8Array)) {
          fail("Member must be a blob");
          return;
        }
        this.#size(shape, value.length, "length", quote(value), at, out);
        return;
      }
      default:
        fail(`shape type ${(shape as Shape).type} is not understood by the model check`);
    }
  }

  #size(
    shape: Shape,
    size: number,
    what: "length" | "value",
    quoted: string,
    at: Location,
    out: Violation[],
  ): void {
    if (!this.#answer && shape.min !== undefined && size < shape.min) {
      out.push({
        ...at,
        constraint: `Member must have ${what} greater than or equal to ${shape.min}`,
        value: quoted,
      });
    }
    if (shape.max !== undefined && size > shape.max) {
      out.push({
        ...at,
        constraint: `Member must have ${what} less than or equal to ${shape.max}`,
        value: quoted,
      });
    }
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}
