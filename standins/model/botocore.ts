/**
 * AWS's published service models, read from the pinned `botocore` package (PyPI) that scripts/setup.sh
 * installs into the project-local virtual environment `.venv` (scripts/python/requirements.txt, hash-checked).
 * Nothing of the models is copied into this repository: every stand-in call is checked against the JSON
 * AWS ships in `botocore/data/<service>/<api-version>/service-2.json(.gz)`.
 *
 * Where the data is looked for, first hit wins:
 *   1. MTLS_ROTATOR_BOTOCORE_DATA (a `botocore/data` directory);
 *   2. <repo>/.venv/lib/python3.x/site-packages/botocore/data.
 * Missing models are an error, never a silent skip: the stand-ins refuse to start without them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** A reference to a shape from a member, list member, map key/value, operation input/output or error. */
export interface ShapeRef {
  shape: string;
  location?: "uri" | "querystring" | "header" | "headers" | "statusCode";
  locationName?: string;
  flattened?: boolean;
  xmlAttribute?: boolean;
  xmlNamespace?: { uri?: string; prefix?: string };
  timestampFormat?: "iso8601" | "rfc822" | "unixTimestamp";
  jsonvalue?: boolean;
  idempotencyToken?: boolean;
  queryName?: string;
  /** Operation output only (query protocol): the element that wraps the result. */
  resultWrapper?: string;
}

export type ShapeType =
  | "structure"
  | "list"
  | "map"
  | "string"
  | "integer"
  | "long"
  | "float"
  | "double"
  | "boolean"
  | "timestamp"
  | "blob";

export interface Shape {
  type: ShapeType;
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  min?: number;
  max?: number;
  enum?: string[];
  pattern?: string;
  flattened?: boolean;
  locationName?: string;
  payload?: string;
  union?: boolean;
  document?: boolean;
  exception?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  timestampFormat?: "iso8601" | "rfc822" | "unixTimestamp";
  streaming?: boolean;
  eventstream?: boolean;
  xmlNamespace?: { uri?: string; prefix?: string };
  /** Secret strings and keys: never quoted in a message. */
  sensitive?: boolean;
}

export interface Operation {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: ShapeRef;
  output?: ShapeRef;
  errors?: ShapeRef[];
}

export interface ServiceModel {
  /** botocore's directory name, e.g. "acm", "cloudwatch". */
  readonly name: string;
  readonly apiVersion: string;
  readonly metadata: {
    protocol: string;
    protocols?: string[];
    jsonVersion?: string;
    targetPrefix?: string;
    awsQueryCompatible?: Record<string, unknown>;
    serviceId: string;
  };
  readonly operations: Record<string, Operation>;
  readonly shapes: Record<string, Shape>;
}

/**
 * The API version each stand-in speaks (the one the project's SDK clients call), by botocore directory.
 * A version AWS no longer ships in botocore fails loudly instead of checking against another API.
 */
export const API_VERSIONS: Readonly<Record<string, string>> = {
  acm: "2015-12-08",
  "acm-pca": "2017-08-22",
  apigatewayv2: "2018-11-29",
  cloudfront: "2020-05-31",
  "cloudfront-keyvaluestore": "2022-07-26",
  cloudwatch: "2010-08-01",
  dynamodb: "2012-08-10",
  elbv2: "2015-12-01",
  events: "2015-10-07",
  lambda: "2015-03-31",
  s3: "2006-03-01",
  secretsmanager: "2017-10-17",
  sns: "2010-03-31",
};

export class ModelsMissingError extends Error {
  override name = "ModelsMissingError";
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The botocore `data` directory, or a ModelsMissingError saying how to get it. */
export function botocoreDataDir(): string {
  const configured = process.env.MTLS_ROTATOR_BOTOCORE_DATA;
  if (configured) {
    if (!existsSync(join(configured, "sts"))) {
      throw new ModelsMissingError(
        `MTLS_ROTATOR_BOTOCORE_DATA=${configured} is not a botocore data directory (no sts/ in it)`,
      );
    }
    return configured;
  }
  const lib = join(ROOT, ".venv", "lib");
  const pythons = existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith("python3")) : [];
  for (const python of pythons) {
    const data = join(lib, python, "site-packages", "botocore", "data");
    if (existsSync(data)) return data;
  }
  throw new ModelsMissingError(
    "AWS service models not found: the stand-ins check every call against botocore's models, installed " +
      "(pinned, hash-checked) into .venv by `bash scripts/setup.sh`; run it, or point " +
      "MTLS_ROTATOR_BOTOCORE_DATA at a botocore/data directory",
  );
}

/** The installed botocore's version (from its package), for reports. */
export function botocoreVersion(): string {
  const init = join(botocoreDataDir(), "..", "__init__.py");
  if (!existsSync(init)) return "unknown";
  return /__version__\s*=\s*['"]([^'"]+)['"]/.exec(readFileSync(init, "utf8"))?.[1] ?? "unknown";
}

const cache = new Map<string, ServiceModel>();

/** One service's model (cached per process). */
export function loadServiceModel(name: string): ServiceModel {
  const cached = cache.get(name);
  if (cached) return cached;
  const apiVersion = API_VERSIONS[name];
  if (!apiVersion) throw new ModelsMissingError(`no API version is pinned for service model '${name}'`);
  const dir = join(botocoreDataDir(), name, apiVersion);
  const gz = join(dir, "service-2.json.gz");
  const plain = join(dir, "service-2.json");
  let text: string;
  if (existsSync(gz)) text = gunzipSync(readFileSync(gz)).toString("utf8");
  else if (existsSync(plain)) text = readFileSync(plain, "utf8");
  else
    throw new ModelsMissingError(
      `botocore has no model for ${name} ${apiVersion} (looked in ${dir}); is the pinned botocore installed?`,
    );
  const json = JSON.parse(text) as Omit<ServiceModel, "name" | "apiVersion">;
  const model: ServiceModel = { name, apiVersion, ...json };
  cache.set(name, model);
  return model;
}
