/**
 * docs/aws-behaviour.md lists every rule a stand-in enforces beyond AWS's model, each with its AWS source or
 * marked assumed. This test keeps the table and the stand-ins' tests in step: every row is pinned by a test in
 * test/standins/ whose title carries the row's id in square brackets, every id cited by a title has a row,
 * every row has a source URL or says what happens if its assumption is wrong, and no id appears twice.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const DOC = join(ROOT, "docs", "aws-behaviour.md");
const TESTS = join(ROOT, "test", "standins");

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$/;
const HEADER = /^\|\s*id\s*\|\s*rule\s*\|\s*source \(URL\)\s*\|\s*quote\s*\|\s*status\s*\|$/;
const STATUS = /^(documented|documented \(.+\)|assumed — if wrong: .+)$/;

interface Row {
  id: string;
  line: number;
  source: string;
  status: string;
}

/** The rows of every `| id | rule | source (URL) | quote | status |` table of the document. */
function parseRows(markdown: string): { rows: Row[]; problems: string[] } {
  const rows: Row[] = [];
  const problems: string[] = [];
  let inTable = false;
  markdown.split("\n").forEach((text, index) => {
    const line = index + 1;
    const trimmed = text.trim();
    if (HEADER.test(trimmed)) {
      inTable = true;
      return;
    }
    if (!inTable) return;
    if (!trimmed.startsWith("|")) {
      inTable = false;
      return;
    }
    if (/^\|(\s*-+\s*\|)+$/.test(trimmed)) return;
    // Cells are separated by pipes; the document writes none inside a cell.
    const cells = trimmed
      .slice(1, -1)
      .split("|")
      .map((c) => c.trim());
    if (cells.length !== 5) {
      problems.push(`line ${line}: a row needs 5 cells, this one has ${cells.length}`);
      return;
    }
    const [idCell = "", , source = "", , status = ""] = cells;
    const id = /^`([^`]+)`$/.exec(idCell)?.[1] ?? idCell;
    if (!ID.test(id)) problems.push(`line ${line}: '${id}' is not a service.short-name id in kebab case`);
    rows.push({ id, line, source, status });
  });
  return { rows, problems };
}

/** The titles of it/test calls (it.each(...)(title) included) of a test file, as written. */
function testTitles(source: string, fileName = "test.ts"): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const titles: string[] = [];
  const isTestCallee = (callee: ts.Expression): boolean => {
    if (ts.isIdentifier(callee)) return callee.text === "it" || callee.text === "test";
    if (ts.isPropertyAccessExpression(callee)) return isTestCallee(callee.expression);
    if (ts.isCallExpression(callee)) return isTestCallee(callee.expression);
    return false;
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && isTestCallee(node.expression)) {
      const first = node.arguments[0];
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) {
        titles.push(first.text);
      } else if (first && ts.isTemplateExpression(first)) {
        titles.push(first.head.text + first.templateSpans.map((s) => `\${}${s.literal.text}`).join(""));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return titles;
}

/** Ids cited in square brackets in a title. */
function citedIds(title: string): string[] {
  return [...title.matchAll(/\[([^\]\s]+\.[^\]\s]+)\]/g)].map((m) => m[1] ?? "");
}

const doc = readFileSync(DOC, "utf8");
const { rows, problems } = parseRows(doc);
const testFiles = readdirSync(TESTS).filter((f) => f.endsWith(".test.ts"));
const cited = new Map<string, string[]>();
for (const file of testFiles) {
  for (const title of testTitles(readFileSync(join(TESTS, file), "utf8"), file)) {
    for (const id of citedIds(title)) cited.set(id, [...(cited.get(id) ?? []), file]);
  }
}

describe("docs/aws-behaviour.md", () => {
  it("has behaviour tables, every row well formed", () => {
    expect(rows.length).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it("names each id once", () => {
    const seen = new Map<string, number[]>();
    for (const row of rows) seen.set(row.id, [...(seen.get(row.id) ?? []), row.line]);
    const duplicated = [...seen]
      .filter(([, lines]) => lines.length > 1)
      .map(([id, lines]) => `${id}: lines ${lines}`);
    expect(duplicated).toEqual([]);
  });

  it("gives every row an AWS source URL, or says what happens if its assumption is wrong", () => {
    const unsourced = rows
      .filter((r) => !/https:\/\/\S+/.test(r.source) && !r.status.startsWith("assumed — if wrong:"))
      .map((r) => `${r.id} (line ${r.line})`);
    expect(unsourced).toEqual([]);
    const badStatus = rows.filter((r) => !STATUS.test(r.status)).map((r) => `${r.id}: '${r.status}'`);
    expect(badStatus).toEqual([]);
  });

  it("has every row pinned by a test of test/standins/ whose title carries its id", () => {
    const unpinned = rows.map((r) => r.id).filter((id) => !cited.has(id));
    expect(unpinned).toEqual([]);
  });

  it("has a row for every id a test title cites", () => {
    const ids = new Set(rows.map((r) => r.id));
    const orphans = [...cited]
      .filter(([id]) => !ids.has(id))
      .map(([id, files]) => `${id} (${files.join(", ")})`);
    expect(orphans).toEqual([]);
  });
});

describe("the checker itself", () => {
  it("reads rows, ids and statuses from a table, and flags malformed rows", () => {
    const sample = [
      "| id | rule | source (URL) | quote | status |",
      "|---|---|---|---|---|",
      "| `a.one` | r | https://example.com/a | q | documented |",
      "| `b.two` | r | — | — | assumed — if wrong: nothing |",
      "| `Bad_Id` | r | — | — | documented |",
      "| `c.three` | only three cells |",
      "",
      "| `d.four` | outside any table | - | - | documented |",
    ].join("\n");
    const parsed = parseRows(sample);
    expect(parsed.rows.map((r) => r.id)).toEqual(["a.one", "b.two", "Bad_Id"]);
    expect(parsed.problems).toEqual([
      "line 5: 'Bad_Id' is not a service.short-name id in kebab case",
      "line 6: a row needs 5 cells, this one has 2",
    ]);
  });

  it("finds ids in the titles of it, it.each and test calls, not in other strings", () => {
    const source = [
      'it("[a.one] plain", () => {});',
      'it.each([1, 2])("[b.two] [c.three] each %i", () => {});',
      `test(\`[d.four] template \${1} tail\`, () => {});`,
      'const notATitle = "[e.five]";',
      'describe("[f.six] a describe is not a test", () => {});',
    ].join("\n");
    const ids = testTitles(source).flatMap(citedIds);
    expect(ids).toEqual(["a.one", "b.two", "c.three", "d.four"]);
  });
});
