/**
 * Checking answers against the API's contract (functions/api/schemas.ts) the strict way: `strictly(schema)`
 * is the same schema with every plain object, at any depth, refusing fields the contract does not name.
 * An answer that parses with it holds exactly what the OpenAPI document says, nothing the CLI cannot see.
 * Objects the contract leaves open (loose objects) stay open.
 */
import * as z from "zod/mini";

type Schema = z.core.$ZodType;

export function strictly<T extends Schema>(schema: T): z.core.$ZodType<z.output<T>> {
  return deepStrict(schema) as z.core.$ZodType<z.output<T>>;
}

function deepStrict(schema: Schema): Schema {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case "object": {
      const { shape, catchall } = def as unknown as z.core.$ZodObjectDef;
      const fields = Object.fromEntries(
        Object.entries(shape).map(([key, value]) => [key, deepStrict(value)]),
      );
      return catchall ? z.looseObject(fields) : z.strictObject(fields);
    }
    case "array":
      return z.array(deepStrict((def as unknown as z.core.$ZodArrayDef).element));
    case "optional":
      return z.optional(deepStrict((def as unknown as z.core.$ZodOptionalDef).innerType));
    case "nullable":
      return z.nullable(deepStrict((def as unknown as z.core.$ZodNullableDef).innerType));
    case "union":
      return z.union((def as unknown as z.core.$ZodUnionDef).options.map(deepStrict));
    case "record": {
      const { keyType, valueType } = def as unknown as z.core.$ZodRecordDef;
      return z.record(keyType, deepStrict(valueType));
    }
    default:
      return schema;
  }
}
