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
      "POST /viewer-revocations",
      "GET /viewer-revocations/{serial}",
      "DELETE /viewer-revocations/{serial}",
      "POST /viewer-migrations",
      "GET /viewer-migrations",
      "GET /viewer-migrations/{id}",
      "POST /viewer-migrations/{id}/approve",
      "POST /viewer-migrations/{id}/rollback",
      "GET /viewer-mtls",
    ]);
    for (const { doc } of DOCUMENTED_ROUTES) {
      const module = (await import(`../../functions/handlers/api/${doc.handler}.ts`)) as {
        handler?: unknown;
      };
      expect(typeof module.handler, doc.handler).toBe("function");
    }
  });
});

describe("links (where an answer's values lead)", () => {
  type Json = Record<string, unknown>;
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, Json>>;
    components: { schemas: Record<string, Json> };
  };
  const operations = new Map<string, Json>();
  for (const byMethod of Object.values(doc.paths)) {
    for (const operation of Object.values(byMethod))
      operations.set(operation.operationId as string, operation);
  }
  const resolve = (schema: Json): Json =>
    typeof schema.$ref === "string"
      ? resolve(doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")]!)
      : schema;
  /** The schema a JSON pointer leads to in an answer's schema (list items by index). */
  const at = (schema: Json, pointer: string): Json | undefined => {
    let current: Json | undefined = resolve(schema);
    for (const token of pointer.split("/").slice(1)) {
      if (!current) return undefined;
      current = /^\d+$/.test(token)
        ? (current.items as Json | undefined)
        : ((current.properties as Record<string, Json> | undefined)?.[token] ?? undefined);
      if (current) current = resolve(current);
    }
    return current;
  };
  const links = [...operations.values()].flatMap((operation) =>
    Object.entries(operation.responses as Record<string, Json>).flatMap(([status, response]) =>
      Object.entries((response.links ?? {}) as Record<string, Json>).map(([name, link]) => ({
        from: `${operation.operationId as string} ${status}`,
        name,
        link,
        answer: (response.content as Record<string, { schema: Json }>)["application/json"]!.schema,
      })),
    ),
  );

  it("lead from a rotation's answers to its decisions, and from certificates to their rotation", () => {
    expect(links.map(({ from, name }) => `${from} ${name}`)).toEqual(
      expect.arrayContaining([
        "startRotation 202 GetRotation",
        "startRotation 202 RollbackRotation",
        "listRotations 200 ApproveRotation",
        "listCertificates 200 GetCertificate",
        "getCertificate 200 StartRotation",
      ]),
    );
  });

  it("each names an operation, its parameters and body fields, and a string the answer always has", () => {
    expect(links.length).toBeGreaterThan(0);
    for (const { from, name, link, answer } of links) {
      const label = `${from} ${name}`;
      const target = operations.get(link.operationId as string);
      expect(target, label).toBeDefined();
      const expressions = {
        ...((link.parameters ?? {}) as Record<string, string>),
        ...((link.requestBody ?? {}) as Record<string, string>),
      };
      for (const parameter of Object.keys((link.parameters ?? {}) as Json)) {
        expect(
          (target!.parameters as Array<{ name: string }>).map((p) => p.name),
          label,
        ).toContain(parameter);
      }
      if (link.requestBody) {
        const body = resolve(
          (target!.requestBody as { content: Record<string, { schema: Json }> }).content["application/json"]!
            .schema,
        );
        for (const field of Object.keys(link.requestBody as Json)) {
          expect(Object.keys(body.properties as Json), label).toContain(field);
        }
      }
      for (const expression of Object.values(expressions)) {
        const pointer = /^\$response\.body#(\/.*)$/.exec(expression)?.[1];
        expect(pointer, `${label}: ${expression}`).toBeDefined();
        // Every step is required where it is an object property, and it ends at a string.
        let schema = resolve(answer);
        for (const token of pointer!.split("/").slice(1)) {
          if (!/^\d+$/.test(token))
            expect(schema.required as string[], `${label}: ${token}`).toContain(token);
          schema = at(schema, `/${token}`)!;
          expect(schema, `${label}: ${expression}`).toBeDefined();
        }
        expect(schema.type, `${label}: ${expression}`).toBe("string");
      }
    }
  });
});

describe("query parameters (found by schemathesis: `limit=0` was schema-valid and answered 400)", () => {
  const doc = openApiDocument() as {
    paths: Record<
      string,
      Record<string, { parameters: Array<{ name: string; in: string; schema: unknown }> }>
    >;
  };
  const query = (path: string, name: string) =>
    doc.paths[path]!.get!.parameters.find((p) => p.in === "query" && p.name === name)?.schema;

  it("are described by the values the API takes (OpenAPI sends them as text): ranges and booleans show", () => {
    expect(query("/certificates", "limit")).toEqual({ type: "integer", minimum: 1, maximum: 500 });
    expect(query("/certificates", "expiringWithinDays")).toEqual({
      type: "integer",
      minimum: 0,
      maximum: 3650,
    });
    expect(query("/certificates", "due")).toEqual({ type: "boolean" });
    expect(query("/certificates", "managed")).toEqual({ type: "boolean" });
    expect(query("/rotations", "limit")).toEqual({ type: "integer", minimum: 1, maximum: 100 });
  });
});

describe("what schemathesis found the document did not say", () => {
  const doc = openApiDocument() as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters: Array<{ name: string; in: string; schema: Record<string, unknown> }>;
          responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
        }
      >
    >;
  };
  const parameter = (path: string, method: string, name: string) =>
    doc.paths[path]![method]!.parameters.find((p) => p.name === name)?.schema;

  it("every route may answer API Gateway's 403 (IAM refused the request) with its { message } body", () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(
          operation.responses["403"]?.content?.["application/json"]?.schema,
          `${method} ${path}`,
        ).toEqual({
          $ref: "#/components/schemas/GatewayMessage",
        });
      }
    }
  });

  it("a certificate's path id shows its form (a UUID or an ARN), not only a length", () => {
    const id = parameter("/certificates/{id}", "get", "id")!;
    expect(typeof id.pattern).toBe("string");
    const pattern = new RegExp(id.pattern as string);
    expect(pattern.test("70ded101-b057-4ce4-9aed-9bec20ba3c0d")).toBe(true);
    expect(
      pattern.test("arn:aws:acm:us-east-1:111122223333:certificate/70ded101-b057-4ce4-9aed-9bec20ba3c0d"),
    ).toBe(true);
    expect(pattern.test("\u007f")).toBe(false);
  });

  it("a nextToken of GET /rotations is base64url, as the listing hands them out (not any 4096 characters)", () => {
    const token = parameter("/rotations", "get", "nextToken")!;
    expect(token.pattern).toBe("^[A-Za-z0-9_-]{1,4096}$");
  });
});
