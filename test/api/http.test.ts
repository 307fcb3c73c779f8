/**
 * The HTTP plumbing on its own: a test route built from the same middlewares as the API's handlers, fed
 * payload-2.0 events. Every bad input is a 4xx that names its field; anything unexpected is a 500 that
 * reveals nothing; the log line never carries a body.
 */
import middy from "@middy/core";
import { describe, expect, it, vi } from "vitest";
import * as z from "zod/mini";
import {
  type ApiEvent,
  type ApiResult,
  bodyLimit,
  errorResponse,
  fieldPath,
  iamPrincipal,
  json,
  jsonBody,
  jsonResponse,
  type LogFn,
  requestLog,
  validate,
} from "../../functions/api/http.ts";
import { MAX_BODY_BYTES, StartRotationBody } from "../../functions/api/schemas.ts";
import { apiEvent, invoke, PRINCIPAL, ROLE_SESSION } from "../support/api-events.ts";

const ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";

/** A test route: POST /things/{id}?verbose=…, body StartRotationBody; answers what it was given. */
function testRoute(options: { fail?: unknown } = {}) {
  const lines: Array<{ level: string; message: string; data?: Record<string, unknown> }> = [];
  const log: LogFn = (level, message, data) => lines.push({ level, message, ...(data ? { data } : {}) });
  const work = vi.fn();
  const handler = middy<ApiEvent, ApiResult>()
    .use(requestLog({ log }))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(bodyLimit())
    .use(jsonBody({ required: true }))
    .use(
      validate({
        params: z.strictObject({ id: z.string().check(z.regex(/^t-\d+$/, "must be t-<digits>")) }),
        query: z.strictObject({ verbose: z.optional(z.enum(["true", "false"])) }),
        body: StartRotationBody,
      }),
    )
    .handler(async (_event, context) => {
      work(context.input);
      if (options.fail !== undefined) throw options.fail;
      return json(201, { actor: context.actor, input: context.input });
    });
  const call = (event: ApiEvent) => invoke(handler, event);
  return { call, lines, work };
}

const ROUTE = "POST /things/{id}";
const good = { params: { id: "t-1" }, body: { certificateArn: ARN } };

describe("a valid request", () => {
  it("reaches the handler with typed input and the IAM principal as actor; the answer is JSON", async () => {
    const route = testRoute();
    const answer = await route.call(
      apiEvent(ROUTE, { ...good, query: { verbose: "true" }, body: { certificateArn: ARN, dryRun: true } }),
    );
    expect(answer.status).toBe(201);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.body).toEqual({
      actor: PRINCIPAL,
      input: {
        params: { id: "t-1" },
        query: { verbose: "true" },
        body: { certificateArn: ARN, dryRun: true },
      },
    });
  });

  it("takes an assumed-role session as the actor, a base64 body, and a JSON content-type with UTF-8", async () => {
    const route = testRoute();
    const answer = await route.call(
      apiEvent(ROUTE, {
        ...good,
        principal: ROLE_SESSION,
        base64: true,
        contentType: "application/json; charset=UTF-8",
      }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body.actor).toBe(ROLE_SESSION);
  });
});

describe("bad input is a 4xx naming the field, and the handler never runs", () => {
  const cases: Array<[string, Parameters<typeof apiEvent>[1], number, string, Array<[string, RegExp]>]> = [
    [
      "malformed JSON",
      { ...good, body: '{"certificateArn": ' },
      400,
      "ValidationError",
      [["body", /not valid JSON/]],
    ],
    ["a JSON array", { ...good, body: [ARN] }, 400, "ValidationError", [["body", /JSON object/]]],
    [
      "no body where one is required",
      { params: good.params },
      400,
      "ValidationError",
      [["body", /required/]],
    ],
    [
      "a body that is not JSON",
      { ...good, body: "certificateArn=x", contentType: "application/x-www-form-urlencoded" },
      415,
      "UnsupportedMediaType",
      [["content-type", /application\/json/]],
    ],
    [
      "a body without content-type",
      { ...good, body: "{}", contentType: null },
      415,
      "UnsupportedMediaType",
      [],
    ],
    [
      "JSON in another charset",
      { ...good, contentType: "application/json; charset=latin1" },
      415,
      "UnsupportedMediaType",
      [],
    ],
    [
      "a body over 16 KiB",
      { ...good, body: { certificateArn: ARN, reason: "r".repeat(MAX_BODY_BYTES) } },
      413,
      "PayloadTooLarge",
      [["body", /at most 16384 bytes/]],
    ],
    [
      "a base64 body over 16 KiB",
      { ...good, base64: true, body: { certificateArn: ARN, reason: "r".repeat(MAX_BODY_BYTES) } },
      413,
      "PayloadTooLarge",
      [],
    ],
    ["a missing field", { ...good, body: {} }, 400, "ValidationError", [["certificateArn", /required/]]],
    [
      "a malformed ARN",
      { ...good, body: { certificateArn: ARN.replace("us-east-1", "eu-west-1") } },
      400,
      "ValidationError",
      [["certificateArn", /ACM certificate ARN in us-east-1/]],
    ],
    [
      "a wrong type and an unknown field",
      { ...good, body: { certificateArn: ARN, dryRun: "yes", dryrun: true } },
      400,
      "ValidationError",
      [
        ["dryRun", /boolean/],
        ["dryrun", /unknown field/],
      ],
    ],
    [
      "a nested bad value",
      { ...good, body: { certificateArn: ARN, waves: { waves: [{ count: 2 }, { percent: 150 }] } } },
      400,
      "ValidationError",
      [["waves.waves[1].percent", /<=100/]],
    ],
    [
      "a wave size that is neither",
      { ...good, body: { certificateArn: ARN, waves: { waves: [{ count: 1, percent: 5 }] } } },
      400,
      "ValidationError",
      [["waves.waves[0]", /count.*or.*percent/]],
    ],
    [
      "a malformed path parameter",
      { ...good, params: { id: "x" } },
      400,
      "ValidationError",
      [["id", /t-<digits>/]],
    ],
    [
      "an unknown or bad query parameter",
      { ...good, query: { verbose: "yes", page: "2" } },
      400,
      "ValidationError",
      [
        ["verbose", /true.*false/],
        ["page", /unknown field/],
      ],
    ],
  ];

  it.each(cases)("%s", async (_, options, status, code, fields) => {
    const route = testRoute();
    const answer = await route.call(apiEvent(ROUTE, options));
    expect(answer.status).toBe(status);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.body.error.code).toBe(code);
    for (const [field, message] of fields) {
      const problem = (answer.body.error.problems as Array<{ field: string; message: string }>).find(
        (p) => p.field === field,
      );
      expect(problem, `a problem on ${field}: ${answer.raw}`).toBeDefined();
      expect(problem!.message).toMatch(message);
    }
    expect(route.work).not.toHaveBeenCalled();
    expect(route.lines).toHaveLength(1);
    expect(route.lines[0]).toMatchObject({ level: "WARN", data: { status, code } });
  });

  it("reports every problem of every part at once", async () => {
    const answer = await testRoute().call(
      apiEvent(ROUTE, { params: { id: "x" }, query: { verbose: "no" }, body: { dryRun: 1 } }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems.map((p: { field: string }) => p.field).sort()).toEqual([
      "certificateArn",
      "dryRun",
      "id",
      "verbose",
    ]);
  });
});

/** A route whose body is optional (as approve, rollback and POST /scan): what it was given, or that it ran. */
function optionalBodyRoute() {
  const work = vi.fn();
  const handler = middy<ApiEvent, ApiResult>()
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(bodyLimit())
    .use(jsonBody({ required: false }))
    .use(validate({ body: z.strictObject({ reason: z.optional(z.string()) }) }))
    .handler(async (_event, context) => {
      work(context.input.body);
      return json(202, { body: context.input.body });
    });
  return { call: (event: ApiEvent) => invoke(handler, event), work };
}

describe("an optional body: only JSON whitespace counts as none", () => {
  const OPTIONAL = "POST /things/{id}/act";

  it.each([
    ["nothing", undefined],
    ["the empty string", ""],
    ["JSON whitespace (space, tab, line feed, carriage return)", " \t\r\n "],
  ])("%s: no body, the route runs with {}", async (_name, body) => {
    const route = optionalBodyRoute();
    const answer = await route.call(apiEvent(OPTIONAL, body === undefined ? {} : { body }));
    expect(answer.status).toBe(202);
    expect(route.work).toHaveBeenCalledWith({});
  });

  it.each([
    ["a byte order mark", "\ufeff"],
    ["a no-break space", "\u00a0"],
    ["a line separator", "\u2028"],
    ["an ideographic space", "\u3000"],
    ["a vertical tab", "\u000b"],
    ["a form feed", "\u000c"],
    ["an em space between JSON whitespace", " \u2003\n"],
    ["a byte order mark before an object", '\ufeff{"reason":"x"}'],
  ])("%s: not JSON, refused with 400 on the body; the route never runs", async (_name, body) => {
    for (const base64 of [false, true]) {
      const route = optionalBodyRoute();
      const answer = await route.call(apiEvent(OPTIONAL, { body, base64 }));
      expect(answer.status, `base64: ${base64}`).toBe(400);
      expect(answer.body.error.problems).toEqual([
        { field: "body", message: expect.stringMatching(/not valid JSON/) },
      ]);
      expect(route.work).not.toHaveBeenCalled();
    }
  });

  it.each([
    ["characters outside base64", "e30=!"],
    ["a length that is not a multiple of 4", "e30"],
    ["padding in the middle", "e3=0"],
    ["whitespace", "e3 0="],
  ])("an isBase64Encoded body with %s: 400 on the body; the route never runs", async (_name, raw) => {
    const route = optionalBodyRoute();
    const event = apiEvent(OPTIONAL, {});
    const answer = await route.call({ ...event, body: raw, isBase64Encoded: true });
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems).toEqual([{ field: "body", message: "is not valid base64" }]);
    expect(route.work).not.toHaveBeenCalled();
  });

  it("a base64 body that is not UTF-8: 400 on the body", async () => {
    const route = optionalBodyRoute();
    const event = apiEvent(OPTIONAL, {});
    const raw = Buffer.from([0x7b, 0xff, 0x7d]).toString("base64");
    const answer = await route.call({ ...event, body: raw, isBase64Encoded: true });
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems).toEqual([{ field: "body", message: "is not valid UTF-8" }]);
    expect(route.work).not.toHaveBeenCalled();
  });
});

describe("a JSON body with a key given twice", () => {
  it.each([
    ['{"dryRun":true,"dryRun":false}', "dryRun"],
    ['{"reason":"a","\\u0072eason":"b"}', "reason"],
    ['{"overrides":{"waveSize":2,"waveSize":3}}', "overrides.waveSize"],
    ['{"a":[{"x":1},{"x":2,"x":3}]}', "a[1].x"],
  ])("%s is refused with 400 naming the key; the route never runs", async (body, field) => {
    const route = optionalBodyRoute();
    const answer = await route.call(apiEvent("POST /things/{id}/act", { body }));
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems).toEqual([{ field, message: "is given more than once" }]);
    expect(route.work).not.toHaveBeenCalled();
  });

  it("the same key in different objects, or as a value, is no duplicate", async () => {
    const route = optionalBodyRoute();
    const answer = await route.call(
      apiEvent("POST /things/{id}/act", { body: '{"reason":"reason: \\"reason\\" {\\"reason\\":1}"}' }),
    );
    expect(answer.status).toBe(202);
    expect(answer.body.body).toEqual({ reason: 'reason: "reason" {"reason":1}' });
  });
});

describe("failures that are not the caller's", () => {
  it("an unexpected error is a 500 InternalError that reveals nothing; the log has the details", async () => {
    const secret = new Error("AccessDeniedException: arn:aws:iam::123456789012:role/api is not authorized");
    const route = testRoute({ fail: secret });
    const answer = await route.call(apiEvent(ROUTE, good));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({
      error: { code: "InternalError", message: "internal error; the request was logged" },
    });
    expect(answer.raw).not.toContain("AccessDenied");
    expect(route.lines).toEqual([
      expect.objectContaining({
        level: "ERROR",
        data: expect.objectContaining({
          status: 500,
          error: expect.objectContaining({ message: secret.message }),
        }),
      }),
    ]);
  });

  it("a request without an IAM principal (a route without IAM auth) is a 500, never trusted", async () => {
    const route = testRoute();
    const answer = await route.call(apiEvent(ROUTE, { ...good, principal: null }));
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("InternalError");
    expect(route.work).not.toHaveBeenCalled();
    expect(route.lines[0]?.data?.error).toMatchObject({ name: "MisconfiguredRouteError" });
  });

  it("a principal that is not an IAM ARN is not trusted either", async () => {
    const route = testRoute();
    const answer = await route.call(apiEvent(ROUTE, { ...good, principal: "alice" }));
    expect(answer.status).toBe(500);
    expect(route.work).not.toHaveBeenCalled();
  });
});

describe("request logging", () => {
  it("logs one line per call with route, principal, status and duration, never the body or query", async () => {
    const route = testRoute();
    const reason = "confidential-reason-text";
    await route.call(
      apiEvent(ROUTE, { ...good, query: { verbose: "true" }, body: { certificateArn: ARN, reason } }),
    );
    expect(route.lines).toHaveLength(1);
    const [line] = route.lines;
    expect(line).toMatchObject({
      level: "INFO",
      message: "api request",
      data: { routeKey: ROUTE, principal: PRINCIPAL, status: 201 },
    });
    expect(typeof line!.data!.durationMs).toBe("number");
    const text = JSON.stringify(route.lines);
    expect(text).not.toContain(reason);
    expect(text).not.toContain(ARN);
    expect(text).not.toContain("verbose");
  });
});

describe("fieldPath", () => {
  it.each([
    [["waves", "waves", 0, "percent"], "waves.waves[0].percent"],
    [["certificateArn"], "certificateArn"],
    [[], "body"],
    [[0], "[0]"],
  ] as Array<[PropertyKey[], string]>)("%j -> %s", (path, field) => {
    expect(fieldPath(path)).toBe(field);
  });
});
