/**
 * Reads what crosses the wire back into the model's terms, per AWS protocol, so that requests and answers can
 * be checked against the operation's input and output shapes exactly as AWS would see them:
 * - awsJson 1.0/1.1 (ACM, Private CA, Secrets Manager, CloudWatch, EventBridge, DynamoDB): the JSON body;
 * - restJson1 (API Gateway v2, Lambda) and restXml (CloudFront, S3): the HTTP binding of every member (URI
 *   label, query string, header, header prefix, status code, payload or body), with the operation's method
 *   and URI template checked too (the stand-in's routing is checked against the model's);
 * - awsQuery (SNS, ELBv2): form-encoded requests (`Name.member.N`, `Name.entry.N.key`), XML answers wrapped in
 *   `<OpResponse><OpResult>`.
 * Type problems are left for the shape validator to report (a value that does not decode stays raw); this
 * module reports what does not fit the protocol: unknown members, elements or parameters, an unreadable body,
 * a request that does not match the operation's HTTP binding.
 */
import type { IncomingHttpHeaders } from "node:http";
import { parseXml, type XmlElement } from "../xml.ts";
import type { Operation, ServiceModel, Shape, ShapeRef } from "./botocore.ts";
import { child, entry, item, type Location, quoteValue as quote, ROOT, type Violation } from "./validate.ts";

export type Protocol = "json" | "rest-json" | "rest-xml" | "query";

export interface WireMessage {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  body: string;
  bytes?: Uint8Array;
}

export interface WireAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

export interface Decoded {
  value: Record<string, unknown>;
  violations: Violation[];
}

/** Query parameters the SDKs add for routing that are not members (S3's `x-id=GetObject`). */
const ROUTING_QUERY = new Set(["x-id"]);

export class WireReader {
  readonly #model: ServiceModel;

  constructor(model: ServiceModel) {
    this.#model = model;
  }

  #shape(ref: ShapeRef): Shape {
    const shape = this.#model.shapes[ref.shape];
    if (!shape) throw new Error(`${this.#model.name} model has no shape ${ref.shape}`);
    return shape;
  }

  // ---- requests -----------------------------------------------------------------------------------------

  request(protocol: Protocol, operation: Operation, message: WireMessage): Decoded {
    const out: Violation[] = [];
    const input = operation.input;
    if (protocol === "json") {
      const json = readJsonBody(message.body, out);
      const value = input ? this.#json(input, json ?? {}, ROOT, out, "json") : {};
      return { value: asRecord(value), violations: out };
    }
    if (protocol === "query") {
      const params = new URLSearchParams(message.body);
      const value = input ? this.#queryStructure(input, params, "", ROOT, out) : {};
      const used = new Set(["Action", "Version", ...this.#usedQueryKeys]);
      this.#usedQueryKeys.clear();
      for (const key of new Set(params.keys())) {
        if (!used.has(key)) {
          out.push({
            member: key,
            path: key,
            constraint: "Parameter is not defined by the model",
            value: quote(params.get(key)),
          });
        }
      }
      return { value, violations: out };
    }
    // REST: the HTTP binding first.
    const labels = matchBinding(operation, message, out);
    const value: Record<string, unknown> = {};
    if (!input) return { value, violations: out };
    const shape = this.#shape(input);
    const bound = new Set<string>();
    for (const literal of literalQueryKeys(operation)) bound.add(literal);
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const wireName = member.locationName ?? name;
      const memberShape = this.#shape(member);
      switch (member.location) {
        case "uri": {
          const raw = labels?.[wireName];
          if (raw !== undefined) value[name] = scalar(memberShape, raw, "uri", member.timestampFormat);
          break;
        }
        case "querystring": {
          if (memberShape.type === "map") {
            const map: Record<string, unknown> = {};
            for (const key of new Set(message.query.keys())) {
              if (bound.has(key) || ROUTING_QUERY.has(key) || queryMemberNames(shape).has(key)) continue;
              const all = message.query.getAll(key);
              map[key] = this.#shape(memberShape.value!).type === "list" ? all : all[0];
              bound.add(key);
            }
            if (Object.keys(map).length > 0) value[name] = map;
          } else if (message.query.has(wireName)) {
            bound.add(wireName);
            const all = message.query.getAll(wireName);
            value[name] =
              memberShape.type === "list"
                ? all.map((v) => scalar(this.#shape(memberShape.member!), v, "query"))
                : scalar(memberShape, all[0]!, "query", member.timestampFormat);
          }
          break;
        }
        case "header": {
          const raw = header(message.headers, wireName);
          if (raw === undefined) break;
          if (memberShape.type === "list") {
            value[name] = raw
              .split(",")
              .map((v) => v.trim())
              .filter((v) => v !== "")
              .map((v) => scalar(this.#shape(memberShape.member!), v, "header"));
          } else value[name] = headerScalar(memberShape, member, raw);
          break;
        }
        case "headers": {
          const prefix = wireName.toLowerCase();
          const map: Record<string, string> = {};
          for (const [key, raw] of Object.entries(message.headers)) {
            if (key.startsWith(prefix) && typeof raw === "string") map[key.slice(prefix.length)] = raw;
          }
          if (Object.keys(map).length > 0) value[name] = map;
          break;
        }
        default:
          break;
      }
    }
    for (const key of new Set(message.query.keys())) {
      if (!bound.has(key) && !ROUTING_QUERY.has(key)) {
        out.push({
          member: key,
          path: `?${key}`,
          constraint: "Query parameter is not defined by the model",
          value: quote(message.query.get(key)),
        });
      }
    }
    Object.assign(value, this.#restBody(protocol, shape, message.body, message.bytes, out));
    return { value, violations: out };
  }

  #restBody(
    protocol: Protocol,
    shape: Shape,
    body: string,
    bytes: Uint8Array | undefined,
    out: Violation[],
  ): Record<string, unknown> {
    const value: Record<string, unknown> = {};
    if (shape.payload) {
      const member = shape.members![shape.payload]!;
      const payloadShape = this.#shape(member);
      if (payloadShape.type === "blob") {
        if (bytes?.length || body) value[shape.payload] = bytes ?? new TextEncoder().encode(body);
        return value;
      }
      if (payloadShape.type === "string") {
        if (body) value[shape.payload] = body;
        return value;
      }
      if (body.trim() === "") return value;
      if (protocol === "rest-json") {
        const json = readJsonBody(body, out);
        if (json !== undefined)
          value[shape.payload] = this.#json(member, json, child(ROOT, shape.payload), out, "rest-json");
        return value;
      }
      const root = readXml(body, out);
      if (!root) return value;
      const expected = member.locationName ?? payloadShape.locationName ?? member.shape;
      if (root.localName !== expected) {
        out.push({
          ...child(ROOT, shape.payload),
          constraint: `XML payload root element must be <${expected}>, found <${root.localName}>`,
          value: "null",
        });
      }
      value[shape.payload] = this.#xml(member, root, child(ROOT, shape.payload), out);
      return value;
    }
    const bodyMembers = Object.entries(shape.members ?? {}).filter(([, m]) => m.location === undefined);
    if (body.trim() === "") return value;
    if (bodyMembers.length === 0) {
      out.push({ ...ROOT, constraint: "The operation takes no body", value: `'${body.length} bytes'` });
      return value;
    }
    const only = { ...shape, members: Object.fromEntries(bodyMembers) };
    if (protocol === "rest-json") {
      const json = readJsonBody(body, out);
      if (json === undefined) return value;
      return asRecord(this.#jsonStructure(only, json, ROOT, out, "rest-json"));
    }
    const root = readXml(body, out);
    return root ? asRecord(this.#xmlStructure(only, root, ROOT, out)) : value;
  }

  // ---- answers ------------------------------------------------------------------------------------------

  /** A successful answer in the operation's output shape (status code and HTTP binding included). */
  response(protocol: Protocol, operation: Operation, answer: WireAnswer, method: string): Decoded {
    const out: Violation[] = [];
    const body = typeof answer.body === "string" ? answer.body : Buffer.from(answer.body).toString("utf8");
    const output = operation.output;
    if (protocol === "json") {
      const json = body.trim() === "" ? {} : readJsonBody(body, out);
      return {
        value: output ? asRecord(this.#json(output, json ?? {}, ROOT, out, "json")) : {},
        violations: out,
      };
    }
    const expectedStatus = protocol === "query" ? 200 : (operation.http.responseCode ?? 200);
    if (answer.status !== expectedStatus) {
      out.push({
        ...ROOT,
        constraint: `HTTP status of a successful ${operation.name} must be ${expectedStatus}`,
        value: quote(answer.status),
      });
    }
    if (protocol === "query") {
      const root = readXml(body, out);
      if (!root) return { value: {}, violations: out };
      if (root.localName !== `${operation.name}Response`) {
        out.push({
          ...ROOT,
          constraint: `answer root element must be <${operation.name}Response>`,
          value: quote(root.localName),
        });
      }
      if (!output) return { value: {}, violations: out };
      const wrapper = output.resultWrapper ?? `${operation.name}Result`;
      const result = root.children.find((c) => c.localName === wrapper);
      if (!result) {
        out.push({ ...ROOT, constraint: `answer must hold <${wrapper}>`, value: "null" });
        return { value: {}, violations: out };
      }
      return { value: asRecord(this.#xml(output, result, ROOT, out)), violations: out };
    }
    if (!output) return { value: {}, violations: out };
    const shape = this.#shape(output);
    const value: Record<string, unknown> = {};
    const headers = answer.headers ?? {};
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const memberShape = this.#shape(member);
      const wireName = member.locationName ?? name;
      if (member.location === "statusCode") value[name] = answer.status;
      else if (member.location === "header") {
        const raw = header(headers, wireName);
        if (raw !== undefined) value[name] = headerScalar(memberShape, member, raw);
      } else if (member.location === "headers") {
        const prefix = wireName.toLowerCase();
        const map: Record<string, string> = {};
        for (const [key, raw] of Object.entries(headers)) {
          if (key.toLowerCase().startsWith(prefix)) map[key.toLowerCase().slice(prefix.length)] = raw;
        }
        if (Object.keys(map).length > 0) value[name] = map;
      }
    }
    if (method === "HEAD") return { value, violations: out };
    const bytes = typeof answer.body === "string" ? undefined : answer.body;
    Object.assign(value, this.#restBody(protocol, shape, body, bytes, out));
    return { value, violations: out };
  }

  // ---- JSON ---------------------------------------------------------------------------------------------

  #json(ref: ShapeRef, raw: unknown, at: Location, out: Violation[], protocol: Protocol): unknown {
    const shape = this.#shape(ref);
    if (raw === null) return null;
    switch (shape.type) {
      case "structure":
        if (shape.document) return raw;
        return this.#jsonStructure(shape, raw, at, out, protocol);
      case "list":
        return Array.isArray(raw)
          ? raw.map((v, i) => this.#json(shape.member!, v, item(at, i), out, protocol))
          : raw;
      case "map":
        if (!isPlainObject(raw)) return raw;
        return Object.fromEntries(
          Object.entries(raw).map(([k, v]) => [k, this.#json(shape.value!, v, entry(at, k), out, protocol)]),
        );
      case "timestamp": {
        const format = ref.timestampFormat ?? shape.timestampFormat ?? "unixTimestamp";
        if (format === "unixTimestamp") return typeof raw === "number" ? new Date(raw * 1000) : raw;
        return typeof raw === "string" ? parseTime(raw, format) : raw;
      }
      case "blob":
        return typeof raw === "string" ? decodeBase64(raw) : raw;
      case "float":
      case "double":
        // The JSON protocols send NaN and the infinities as strings.
        if (raw === "NaN") return Number.NaN;
        if (raw === "Infinity") return Number.POSITIVE_INFINITY;
        if (raw === "-Infinity") return Number.NEGATIVE_INFINITY;
        return raw;
      default:
        return raw;
    }
  }

  #jsonStructure(shape: Shape, raw: unknown, at: Location, out: Violation[], protocol: Protocol): unknown {
    if (!isPlainObject(raw)) return raw;
    const byWireName = new Map<string, [string, ShapeRef]>();
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      byWireName.set(protocol === "json" ? name : (member.locationName ?? name), [name, member]);
    }
    const value: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(raw)) {
      const found = byWireName.get(key);
      if (!found) {
        value[key] = v; // left for the validator: "Member is not defined by the model"
        continue;
      }
      value[found[0]] = this.#json(found[1], v, child(at, found[0]), out, protocol);
    }
    return value;
  }

  // ---- XML ----------------------------------------------------------------------------------------------

  #xml(ref: ShapeRef, element: XmlElement, at: Location, out: Violation[]): unknown {
    const shape = this.#shape(ref);
    switch (shape.type) {
      case "structure":
        return this.#xmlStructure(shape, element, at, out);
      case "list": {
        const itemName = shape.member!.locationName ?? "member";
        return element.children.map((c, i) => {
          if (c.localName !== itemName) {
            out.push({
              ...item(at, i),
              constraint: `list items must be <${itemName}>`,
              value: quote(c.localName),
            });
          }
          return this.#xml(shape.member!, c, item(at, i), out);
        });
      }
      case "map":
        return this.#xmlMapEntries(shape, element.children, at, out);
      default:
        return scalar(shape, element.text, "xml", ref.timestampFormat);
    }
  }

  #xmlMapEntries(
    shape: Shape,
    entries: XmlElement[],
    at: Location,
    out: Violation[],
  ): Record<string, unknown> {
    const keyName = shape.key!.locationName ?? "key";
    const valueName = shape.value!.locationName ?? "value";
    const map: Record<string, unknown> = {};
    for (const e of entries) {
      const k = e.children.find((c) => c.localName === keyName)?.text;
      const v = e.children.find((c) => c.localName === valueName);
      if (k === undefined || !v) {
        out.push({
          ...at,
          constraint: `map entries need <${keyName}> and <${valueName}>`,
          value: "",
        });
        continue;
      }
      map[k] = this.#xml(shape.value!, v, entry(at, k), out);
    }
    return map;
  }

  #xmlStructure(shape: Shape, element: XmlElement, at: Location, out: Violation[]): unknown {
    const value: Record<string, unknown> = {};
    const members = Object.entries(shape.members ?? {}).filter(
      ([, m]) => m.location === undefined && !m.xmlAttribute,
    );
    const claimed = new Set<XmlElement>();
    // Children by element name, once (structures of CloudFront configs have dozens of each).
    const byName = new Map<string, XmlElement[]>();
    for (const c of element.children) {
      const list = byName.get(c.localName);
      if (list) list.push(c);
      else byName.set(c.localName, [c]);
    }
    for (const [name, member] of members) {
      const memberShape = this.#shape(member);
      const flattened = member.flattened ?? memberShape.flattened ?? false;
      if (flattened && (memberShape.type === "list" || memberShape.type === "map")) {
        const elementName =
          memberShape.type === "list"
            ? (memberShape.member!.locationName ?? member.locationName ?? name)
            : (member.locationName ?? name);
        const found = byName.get(elementName) ?? [];
        if (found.length === 0) continue;
        for (const f of found) claimed.add(f);
        value[name] =
          memberShape.type === "list"
            ? found.map((c, i) => this.#xml(memberShape.member!, c, item(child(at, name), i), out))
            : this.#xmlMapEntries(memberShape, found, child(at, name), out);
        continue;
      }
      const elementName = member.locationName ?? name;
      const found = byName.get(elementName) ?? [];
      if (found.length === 0) continue;
      if (found.length > 1) {
        out.push({
          ...child(at, name),
          constraint: `element <${elementName}> must appear at most once`,
          value: quote(found.length),
        });
      }
      claimed.add(found[0]!);
      for (const f of found) claimed.add(f);
      value[name] = this.#xml(member, found[0]!, child(at, name), out);
    }
    for (const c of element.children) {
      if (!claimed.has(c)) value[c.localName] = c.text; // left for the validator
    }
    return value;
  }

  // ---- awsQuery -----------------------------------------------------------------------------------------

  readonly #usedQueryKeys = new Set<string>();

  #queryStructure(
    ref: ShapeRef,
    params: URLSearchParams,
    prefix: string,
    at: Location,
    out: Violation[],
  ): Record<string, unknown> {
    const shape = this.#shape(ref);
    const value: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const key = prefix ? `${prefix}.${member.locationName ?? name}` : (member.locationName ?? name);
      const v = this.#queryValue(member, params, key, child(at, name), out);
      if (v !== undefined) value[name] = v;
    }
    return value;
  }

  #queryValue(ref: ShapeRef, params: URLSearchParams, key: string, at: Location, out: Violation[]): unknown {
    const shape = this.#shape(ref);
    switch (shape.type) {
      case "structure": {
        if (!hasPrefix(params, key)) return undefined;
        return this.#queryStructure(ref, params, key, at, out);
      }
      case "list": {
        if (params.get(key) === "") {
          this.#usedQueryKeys.add(key);
          return [];
        }
        const flattened = ref.flattened ?? shape.flattened ?? false;
        const itemPrefix = flattened
          ? shape.member!.locationName
            ? [...key.split(".").slice(0, -1), shape.member!.locationName].join(".")
            : key
          : `${key}.${shape.member!.locationName ?? "member"}`;
        const items: unknown[] = [];
        for (let i = 1; hasPrefix(params, `${itemPrefix}.${i}`); i += 1) {
          items.push(this.#queryValue(shape.member!, params, `${itemPrefix}.${i}`, item(at, i - 1), out));
        }
        return items.length > 0 ? items : undefined;
      }
      case "map": {
        const flattened = ref.flattened ?? shape.flattened ?? false;
        const entryPrefix = flattened ? key : `${key}.entry`;
        const keyName = shape.key!.locationName ?? "key";
        const valueName = shape.value!.locationName ?? "value";
        const map: Record<string, unknown> = {};
        for (let i = 1; hasPrefix(params, `${entryPrefix}.${i}`); i += 1) {
          const k = params.get(`${entryPrefix}.${i}.${keyName}`);
          this.#usedQueryKeys.add(`${entryPrefix}.${i}.${keyName}`);
          if (k === null) continue;
          map[k] = this.#queryValue(
            shape.value!,
            params,
            `${entryPrefix}.${i}.${valueName}`,
            entry(at, k),
            out,
          );
        }
        return Object.keys(map).length > 0 ? map : undefined;
      }
      default: {
        const raw = params.get(key);
        if (raw === null) return undefined;
        this.#usedQueryKeys.add(key);
        return scalar(shape, raw, "query", ref.timestampFormat);
      }
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------------------

function hasPrefix(params: URLSearchParams, prefix: string): boolean {
  for (const key of params.keys()) if (key === prefix || key.startsWith(`${prefix}.`)) return true;
  return false;
}

function queryMemberNames(shape: Shape): Set<string> {
  return new Set(
    Object.entries(shape.members ?? {})
      .filter(([, m]) => m.location === "querystring")
      .map(([name, m]) => m.locationName ?? name),
  );
}

/** Query keys the URI template fixes (`/{Bucket}?versioning`, `?x-id=GetObject`). */
function literalQueryKeys(operation: Operation): string[] {
  const query = operation.http.requestUri.split("?")[1];
  return query ? [...new URLSearchParams(query).keys()] : [];
}

/** Matches method and URI template; the labels' values, or undefined (with a violation) when it does not. */
function matchBinding(
  operation: Operation,
  message: WireMessage,
  out: Violation[],
): Record<string, string> | undefined {
  const [template = "", literalQuery] = operation.http.requestUri.split("?");
  const names: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const label = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (!label) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(label[1]!);
      return label[2] ? "(.+)" : "([^/]+)";
    })
    .join("");
  const match = new RegExp(`^${source}/?$`).exec(message.path);
  const binding = `${operation.http.method} ${operation.http.requestUri}`;
  if (message.method !== operation.http.method || !match) {
    out.push({
      ...ROOT,
      constraint: `request must match ${operation.name}'s HTTP binding ${binding}`,
      value: quote(`${message.method} ${message.path}`),
    });
    return undefined;
  }
  if (literalQuery) {
    for (const [key, expected] of new URLSearchParams(literalQuery)) {
      const actual = message.query.get(key);
      if (actual === null || (expected !== "" && actual !== expected)) {
        out.push({
          ...ROOT,
          constraint: `request must carry ?${key}${expected ? `=${expected}` : ""} (${binding})`,
          value: quote(`${message.method} ${message.path}`),
        });
      }
    }
  }
  return Object.fromEntries(names.map((name, i) => [name, safeDecode(match[i + 1]!)]));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function header(headers: WireMessage["headers"], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, raw] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || raw === undefined) continue;
    return Array.isArray(raw) ? raw.join(",") : raw;
  }
  return undefined;
}

function headerScalar(shape: Shape, member: ShapeRef, raw: string): unknown {
  if (shape.type === "string" && member.jsonvalue) {
    try {
      return Buffer.from(raw, "base64").toString("utf8");
    } catch {
      return raw;
    }
  }
  return scalar(shape, raw, "header", member.timestampFormat);
}

type Where = "uri" | "query" | "header" | "xml";

/** A scalar from text, in the type the shape says; text that does not decode stays text. */
function scalar(shape: Shape, text: string, where: Where, format?: string): unknown {
  switch (shape.type) {
    case "integer":
    case "long":
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case "float":
    case "double": {
      const t = text.trim();
      if (t === "NaN") return Number.NaN;
      if (t === "Infinity") return Number.POSITIVE_INFINITY;
      if (t === "-Infinity") return Number.NEGATIVE_INFINITY;
      return t !== "" && Number.isFinite(Number(t)) ? Number(t) : text;
    }
    case "boolean":
      return text.trim() === "true" ? true : text.trim() === "false" ? false : text;
    case "timestamp": {
      const fallback = where === "header" ? "rfc822" : "iso8601";
      return parseTime(text.trim(), format ?? shape.timestampFormat ?? fallback);
    }
    case "blob":
      return decodeBase64(text.trim());
    default:
      return text;
  }
}

function parseTime(text: string, format: string): unknown {
  if (format === "unixTimestamp") {
    return /^-?\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : text;
  }
  if (
    format === "iso8601" &&
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)
  ) {
    return text;
  }
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date;
}

function decodeBase64(text: string): unknown {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return text;
  return new Uint8Array(Buffer.from(text, "base64"));
}

function readJsonBody(body: string, out: Violation[]): unknown {
  if (body.trim() === "") return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    // The body is not quoted: it may hold a secret.
    out.push({
      ...ROOT,
      constraint: `body must be JSON (${(error as Error).message})`,
      value: `'${body.length} bytes'`,
    });
    return undefined;
  }
}

function readXml(body: string, out: Violation[]): XmlElement | undefined {
  try {
    return parseXml(body);
  } catch (error) {
    out.push({
      ...ROOT,
      constraint: `body must be XML (${(error as Error).message})`,
      value: `'${body.length} bytes'`,
    });
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}
