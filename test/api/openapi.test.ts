/**
 * The OpenAPI document: the committed docs/openapi.json is exactly what the zod schemas generate, every
 * reference resolves, and every documented route has its Lambda entry.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  DOCUMENTED_ROUTES,
  openApiDocument,
  openApiText,
  sameDocument,
} from "../../functions/api/openapi.ts";

const committedPath = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));

function refsOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsOf(item, out);
  else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") out.push(item);
      else refsOf(item, out);
    }
  }
  return out;
}

describe("docs/openapi.json", () => {
  it("is what the schemas generate (run `npm run openapi` after changing them)", () => {
    expect(existsSync(committedPath), "docs/openapi.json is missing: run npm run openapi").toBe(true);
    const committed = readFileSync(committedPath, "utf8");
    // Same content, keys in the same order; the layout is the formatter's.
    expect(sameDocument(committed, openApiText())).toBe(true);
    expect(JSON.parse(committed)).toEqual(openApiDocument());
    // A document that says anything else is caught.
    expect(sameDocument(committed.replace('"1.0.0"', '"1.0.1"'), openApiText())).toBe(false);
  });

  it("is an OpenAPI 3.1 document whose references all resolve", () => {
    const doc = openApiDocument() as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    const refs = [...new Set(refsOf(doc))];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const name = ref.replace("#/components/schemas/", "");
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    // Every operation documents the error answers every route can give.
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(["400", "500"]),
        );
      }
    }
  });

  it("documents every route, each served by its own Lambda entry", async () => {
    expect(DOCUMENTED_ROUTES.map(({ route }) => `${route.method} ${route.path}`)).toEqual([
      "GET /certificates",
      "GET /certificates/{id}",
      "POST /rotations",
      "GET /rotations",
      "GET /rotations/{id}",
      "POST /rotations/{id}/rollback",
      "POST /rotations/{id}/approve",
      "POST /scan",
    ]);
    for (const { doc } of DOCUMENTED_ROUTES) {
      const module = (await import(`../../functions/handlers/api/${doc.handler}.ts`)) as {
        handler?: unknown;
      };
      expect(typeof module.handler, doc.handler).toBe("function");
    }
  });
});
