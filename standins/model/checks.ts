/**
 * Model checks of the stand-ins: every request a stand-in serves is read back into the model's terms
 * (./wire.ts) and validated against the operation's input shape (./validate.ts); an invalid request is
 * answered as AWS answers it for that service, and changes nothing. Every answer is checked against the
 * output shape, and every error code against the errors the operation declares (or AWS's common errors).
 *
 * Counting: `modelChecks` (one per process) counts the calls checked and keeps every violation. A violation
 * that no test declared it expected (`expectModelViolations`) fails the test that caused it
 * (test/setup/model-checks.ts) and the whole test run (test/setup/model-checks-global.ts); the sandbox and
 * the benchmark report both numbers.
 */
import { AwsError } from "../protocol.ts";
import { botocoreVersion, loadServiceModel, type Operation, type ServiceModel } from "./botocore.ts";
import { describeViolation, ShapeValidator, type Violation, validationMessage } from "./validate.ts";
import { type Protocol, type WireAnswer, type WireMessage, WireReader } from "./wire.ts";

export type Direction = "request" | "response" | "error" | "routing";

export interface ModelViolation {
  service: string;
  operation: string;
  direction: Direction;
  violations: Violation[];
}

export interface ModelCheckCounts {
  /** Calls checked against a model (requests; their answers are checked as part of the same call). */
  checked: number;
  /** Calls with at least one violation of any kind. */
  violations: number;
  /** Of those, the ones a test declared it expected (tests proving the checks fire). */
  expected: number;
  /** Answers of a third-party emulator (dynalite) that differ from the model in a listed, known way. */
  knownDeviations: number;
  /** Checked calls by "service:Operation". */
  byOperation: Record<string, number>;
}

export function describeModelViolation(v: ModelViolation): string {
  return `${v.service}:${v.operation} ${v.direction}: ${v.violations.map(describeViolation).join("; ")}`;
}

class ModelCheckRegistry {
  #checked = 0;
  #knownDeviations = 0;
  #byOperation: Record<string, number> = {};
  #violations: Array<ModelViolation & { expected: boolean }> = [];
  #unexpected: ModelViolation[] = [];
  #expecting = 0;
  #expectedNow: ModelViolation[] = [];
  /** Counts already handed to `takeCounts` (per-file reports of the test run). */
  #reported = { checked: 0, violations: 0, expected: 0, knownDeviations: 0, servers: 0 };

  #servers = 0;

  #checkMs = 0;

  /** Time spent checking (reading wire messages back and validating them), for benchmarks. */
  addCheckTime(ms: number): void {
    this.#checkMs += ms;
  }

  get checkMs(): number {
    return this.#checkMs;
  }

  /** A stand-in server started (with model checks on). */
  countServer(): void {
    this.#servers += 1;
  }

  get servers(): number {
    return this.#servers;
  }

  /** An answer of a third-party emulator that differs from the model in a way listed as known. */
  countKnownDeviation(): void {
    this.#knownDeviations += 1;
  }

  get knownDeviations(): number {
    return this.#knownDeviations;
  }

  countCall(service: string, operation: string): void {
    this.#checked += 1;
    const key = `${service}:${operation}`;
    this.#byOperation[key] = (this.#byOperation[key] ?? 0) + 1;
  }

  record(violation: ModelViolation): void {
    const expected = this.#expecting > 0;
    this.#violations.push({ ...violation, expected });
    if (expected) this.#expectedNow.push(violation);
    else this.#unexpected.push(violation);
  }

  /** Runs `fn` declaring that the violations it causes are intended (a test proving a check fires). */
  async expect<T>(fn: () => Promise<T>): Promise<{ result: T; violations: ModelViolation[] }> {
    this.#expecting += 1;
    const start = this.#expectedNow.length;
    try {
      const result = await fn();
      return { result, violations: this.#expectedNow.slice(start) };
    } finally {
      this.#expecting -= 1;
      if (this.#expecting === 0) this.#expectedNow = [];
    }
  }

  /** Violations nobody expected since the last call (the test setup fails the current test with them). */
  takeUnexpected(): ModelViolation[] {
    const out = this.#unexpected;
    this.#unexpected = [];
    return out;
  }

  counts(): ModelCheckCounts {
    return {
      checked: this.#checked,
      violations: this.#violations.length,
      expected: this.#violations.filter((v) => v.expected).length,
      knownDeviations: this.#knownDeviations,
      byOperation: { ...this.#byOperation },
    };
  }

  /** Counts since the previous call (each test file reports its own share). */
  takeCounts(): {
    checked: number;
    violations: number;
    expected: number;
    knownDeviations: number;
    servers: number;
  } {
    const now = this.counts();
    const delta = {
      servers: this.#servers - this.#reported.servers,
      checked: now.checked - this.#reported.checked,
      violations: now.violations - this.#reported.violations,
      expected: now.expected - this.#reported.expected,
      knownDeviations: now.knownDeviations - this.#reported.knownDeviations,
    };
    this.#reported = {
      servers: this.#servers,
      checked: now.checked,
      violations: now.violations,
      expected: now.expected,
      knownDeviations: now.knownDeviations,
    };
    return delta;
  }

  /** Every violation so far (expected ones flagged), for reports. */
  all(): Array<ModelViolation & { expected: boolean }> {
    return [...this.#violations];
  }
}

// One registry per process, even if this module is loaded more than once (test isolation reloads modules).
const KEY = Symbol.for("mtls-rotator.model-checks");
const holder = globalThis as unknown as Record<symbol, ModelCheckRegistry | undefined>;
holder[KEY] ??= new ModelCheckRegistry();

/** The process's model-check counts and violations. */
export const modelChecks: ModelCheckRegistry = holder[KEY];

/** Runs `fn`, declaring the model violations it causes as intended; returns them. */
export function expectModelViolations<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; violations: ModelViolation[] }> {
  return modelChecks.expect(fn);
}

export { botocoreVersion };

/**
 * How each service refuses a request its model does not allow. JSON services answer ValidationException
 * (AWS's "Common Errors" of JSON APIs), query services ValidationError (common errors of query APIs),
 * CloudFront and S3 InvalidArgument, API Gateway v2 BadRequestException. Sources in docs/aws-behaviour.md
 * (rows model.invalid-request-*).
 */
export interface InvalidRequestAnswer {
  code: string;
  status: number;
}

export interface ServiceCheckOptions {
  /** The stand-in's service name (call log, faults): "acm", "monitoring", "elasticloadbalancing", ... */
  service: string;
  /** botocore's directory name: "acm", "cloudwatch", "elbv2", ... */
  model: string;
  invalidRequest: InvalidRequestAnswer;
  /** Error codes the service answers beyond the operation's declared errors (documented per service). */
  extraErrors?: readonly string[];
}

/** Errors any AWS API may answer (AWS "Common Errors" pages of the JSON and query APIs), and SDK-visible faults. */
export const COMMON_ERRORS: ReadonlySet<string> = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "IncompleteSignature",
  "InternalFailure",
  "InternalError",
  "InvalidAction",
  "InvalidClientTokenId",
  "InvalidParameterCombination",
  "InvalidParameterValue",
  "InvalidQueryParameter",
  "MalformedQueryString",
  "MissingAction",
  "MissingAuthenticationToken",
  "MissingParameter",
  "NotAuthorized",
  "OptInRequired",
  "RequestExpired",
  "ServiceUnavailable",
  "ThrottlingException",
  "Throttling",
  "UnrecognizedClientException",
  "UnknownOperationException",
  "SerializationException",
  "ValidationError",
  "ValidationException",
]);

/** The model check of one service: decode + validate requests, answers and error codes. */
export class ServiceModelCheck {
  readonly service: string;
  readonly model: ServiceModel;
  readonly #validator: ShapeValidator;
  readonly #answers: ShapeValidator;
  readonly #reader: WireReader;
  readonly #options: ServiceCheckOptions;

  constructor(options: ServiceCheckOptions) {
    this.#options = options;
    this.service = options.service;
    this.model = loadServiceModel(options.model);
    this.#validator = new ShapeValidator(this.model);
    this.#answers = new ShapeValidator(this.model, { answer: true });
    this.#reader = new WireReader(this.model);
  }

  operation(name: string): Operation | undefined {
    return this.model.operations[name];
  }

  /** The operation, or an AwsError as AWS answers an operation it does not have (and a recorded violation). */
  requireOperation(name: string): Operation {
    const operation = this.operation(name);
    if (operation) return operation;
    modelChecks.record({
      service: this.service,
      operation: name,
      direction: "routing",
      violations: [
        {
          member: "",
          path: "",
          constraint: `${this.model.metadata.serviceId} has no operation ${name}`,
          value: "null",
        },
      ],
    });
    throw new AwsError(
      "UnknownOperationException",
      `${this.model.metadata.serviceId} has no operation ${name}`,
    );
  }

  /**
   * Checks a request; counts it. Throws the AwsError AWS would answer when the model does not allow it
   * (the call is then refused before the stand-in sees it).
   */
  checkRequest(operationName: string, protocol: Protocol, message: WireMessage): Record<string, unknown> {
    const operation = this.requireOperation(operationName);
    modelChecks.countCall(this.service, operationName);
    const started = performance.now();
    const decoded = this.#reader.request(protocol, operation, message);
    const violations = [
      ...decoded.violations,
      ...(operation.input ? this.#validator.validate(operation.input.shape, decoded.value) : []),
    ];
    modelChecks.addCheckTime(performance.now() - started);
    if (violations.length === 0) return decoded.value;
    modelChecks.record({ service: this.service, operation: operationName, direction: "request", violations });
    const { code, status } = this.#options.invalidRequest;
    throw new AwsError(code, validationMessage(violations), status);
  }

  /** Checks an in-process call (the local Lambda doubles): model-form input, no wire. */
  checkInput(operationName: string, input: Record<string, unknown>): void {
    const operation = this.requireOperation(operationName);
    modelChecks.countCall(this.service, operationName);
    const violations = operation.input ? this.#validator.validate(operation.input.shape, input) : [];
    if (violations.length === 0) return;
    modelChecks.record({ service: this.service, operation: operationName, direction: "request", violations });
    const { code, status } = this.#options.invalidRequest;
    throw new AwsError(code, validationMessage(violations), status);
  }

  /**
   * Checks a successful answer against the output shape; records what AWS's model would not allow.
   * `known` names deviations of an emulator that is not ours (dynalite), which are counted, not failed.
   */
  checkResponse(
    operationName: string,
    protocol: Protocol,
    answer: WireAnswer,
    method: string,
    known?: (operation: string, violation: Violation) => boolean,
  ): void {
    const operation = this.operation(operationName);
    if (!operation) return;
    const started = performance.now();
    const decoded = this.#reader.response(protocol, operation, answer, method);
    const checked = [
      ...decoded.violations,
      ...(operation.output ? this.#answers.validate(operation.output.shape, decoded.value) : []),
    ];
    modelChecks.addCheckTime(performance.now() - started);
    const violations = checked.filter((v) => {
      if (!known?.(operationName, v)) return true;
      modelChecks.countKnownDeviation();
      return false;
    });
    if (violations.length > 0) {
      modelChecks.record({
        service: this.service,
        operation: operationName,
        direction: "response",
        violations,
      });
    }
  }

  /** Checks that an error answer is one the operation declares (or a common/documented one). */
  checkError(operationName: string, code: string, status: number): void {
    const operation = this.operation(operationName);
    if (!operation) return;
    if (COMMON_ERRORS.has(code) || this.#options.extraErrors?.includes(code)) return;
    if (code === this.#options.invalidRequest.code) return;
    const fail = (constraint: string, value: string) =>
      modelChecks.record({
        service: this.service,
        operation: operationName,
        direction: "error",
        violations: [{ member: "", path: "", constraint, value }],
      });
    for (const ref of operation.errors ?? []) {
      const shape = this.model.shapes[ref.shape];
      if ((shape?.error?.code ?? ref.shape) !== code && ref.shape !== code) continue;
      const declaredStatus = shape?.error?.httpStatusCode;
      if (declaredStatus !== undefined && declaredStatus !== status) {
        fail(`error ${code} must have HTTP status ${declaredStatus}`, `'${status}'`);
      }
      return;
    }
    const declared = (operation.errors ?? []).map((e) => this.model.shapes[e.shape]?.error?.code ?? e.shape);
    fail(
      `${operationName} does not declare error ${code} (declared: ${declared.join(", ") || "none"})`,
      `'${code}'`,
    );
  }
}

/** The model check every stand-in service gets, by the stand-in's service name. */
export const SERVICE_CHECKS: Readonly<Record<string, Omit<ServiceCheckOptions, "service">>> = {
  acm: { model: "acm", invalidRequest: { code: "ValidationException", status: 400 } },
  "acm-pca": { model: "acm-pca", invalidRequest: { code: "ValidationException", status: 400 } },
  secretsmanager: { model: "secretsmanager", invalidRequest: { code: "ValidationException", status: 400 } },
  monitoring: { model: "cloudwatch", invalidRequest: { code: "ValidationError", status: 400 } },
  events: { model: "events", invalidRequest: { code: "ValidationException", status: 400 } },
  cloudfront: { model: "cloudfront", invalidRequest: { code: "InvalidArgument", status: 400 } },
  "cloudfront-keyvaluestore": {
    model: "cloudfront-keyvaluestore",
    invalidRequest: { code: "ValidationException", status: 400 },
  },
  s3: {
    model: "s3",
    invalidRequest: { code: "InvalidArgument", status: 400 },
    // S3's model declares few errors; these are on S3's documented list of error codes (docs/aws-behaviour.md).
    extraErrors: [
      "NoSuchBucket",
      "NoSuchKey",
      "NoSuchVersion",
      "InvalidArgument",
      "InvalidRequest",
      "InvalidBucketName",
      "PreconditionFailed",
      "NotModified",
      "MalformedXML",
      "IllegalVersioningConfigurationException",
      "IllegalLocationConstraintException",
      "EntityTooLarge",
      "BadDigest",
      "InvalidDigest",
      "SlowDown",
      "MethodNotAllowed",
      "NotImplemented",
      "MetadataTooLarge",
      "XAmzContentSHA256Mismatch",
      "AuthorizationHeaderMalformed",
      "InvalidObjectState",
    ],
  },
  sns: { model: "sns", invalidRequest: { code: "ValidationError", status: 400 }, extraErrors: ["Throttled"] },
  elasticloadbalancing: { model: "elbv2", invalidRequest: { code: "ValidationError", status: 400 } },
  apigateway: {
    model: "apigatewayv2",
    invalidRequest: { code: "BadRequestException", status: 400 },
    extraErrors: ["TooManyRequestsException"],
  },
  dynamodb: { model: "dynamodb", invalidRequest: { code: "ValidationException", status: 400 } },
  lambda: { model: "lambda", invalidRequest: { code: "ValidationException", status: 400 } },
};

/** The model check of a stand-in service (throws when the models are missing: never a silent skip). */
export function serviceCheck(service: string): ServiceModelCheck {
  const options = SERVICE_CHECKS[service];
  if (!options) throw new Error(`no model check is configured for stand-in service '${service}'`);
  return new ServiceModelCheck({ service, ...options });
}
