/**
 * The HTTP API stand-in enforces what API Gateway's IAM authorization enforces. Its verifier recomputes
 * SigV4 on its own (node:crypto), proven against AWS's published test vectors; requests signed by the real
 * signer pass, and every kind of bad, tampered, expired, wrongly scoped or unknown signature is refused with
 * API Gateway's answer and never reaches the handler. Accepted requests arrive as payload format 2.0 events.
 */
import { request as httpRequest } from "node:http";
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AwsCredentials, signRequest } from "../../functions/cli/api-client.ts";
import {
  canonicalQuery,
  canonicalUri,
  computeSignature,
  type HttpApiStandin,
  startHttpApi,
} from "../../standins/http-api.ts";

const REGION = "eu-west-1";
const USER: AwsCredentials & { principalArn: string; accountId: string } = {
  accessKeyId: "AKIAOPERATOR00000001",
  secretAccessKey: "operator-secret-key/with+chars",
  principalArn: "arn:aws:iam::111122223333:user/operator",
  accountId: "111122223333",
};
const ROLE = {
  accessKeyId: "ASIAROLESESSION00001",
  secretAccessKey: "role-session-secret",
  sessionToken: "FwoGZXIvYXdzEBAaDH-session-token",
  principalArn: "arn:aws:sts::111122223333:assumed-role/rotator-operators/alice",
  accountId: "111122223333",
};
const READER = {
  accessKeyId: "AKIAREADONLY00000001",
  secretAccessKey: "reader-secret",
  principalArn: "arn:aws:iam::444455556666:user/auditor",
  accountId: "444455556666",
  allowedRoutes: ["GET /certificates"],
};

let api: HttpApiStandin;
let events: APIGatewayProxyEventV2WithIAMAuthorizer[] = [];
let clockSkewMs = 0;

beforeAll(async () => {
  const echo = async (event: APIGatewayProxyEventV2WithIAMAuthorizer) => {
    events.push(event);
    return {
      statusCode: 200,
      headers: { "content-type": "application/json", "x-echo": "yes" },
      body: JSON.stringify({ ok: true, routeKey: event.routeKey }),
    };
  };
  api = await startHttpApi({
    region: REGION,
    apiId: "a1b2c3d4e5",
    accounts: [USER, ROLE, READER],
    now: () => new Date(Date.now() + clockSkewMs),
    routes: {
      "GET /certificates": echo,
      "GET /certificates/{id}": echo,
      "GET /rotations/{id}": echo,
      "POST /rotations": echo,
      "POST /rotations/{id}/rollback": echo,
      "GET /files/{path+}": echo,
      "GET /boom": async () => {
        throw new Error("handler bug");
      },
      "GET /bad-status": async () => ({ statusCode: 42 }),
      "GET /plain": async () => ({ hello: "world" }),
    },
  });
});

afterAll(async () => {
  await api?.close();
});

beforeEach(() => {
  events = [];
  clockSkewMs = 0;
});

interface Sent {
  status: number;
  body: { message?: string; ok?: boolean; routeKey?: string; hello?: string };
  headers: Record<string, string | string[] | undefined>;
}

/** Sends exactly these bytes (no client library in between: tampering is possible). */
function send(input: {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: string;
}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const url = new URL(input.target, api.url);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: input.method,
        path: `${url.pathname}${url.search}`,
        headers: input.headers,
        setHost: !("host" in input.headers),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, headers: res.headers });
        });
      },
    );
    req.on("error", reject);
    req.end(input.body);
  });
}

/** A request signed by the real SigV4 signer (the one the CLI uses). */
async function signed(
  method: string,
  target: string,
  options: {
    body?: string;
    credentials?: AwsCredentials;
    region?: string;
    date?: Date;
    headers?: Record<string, string>;
  } = {},
) {
  const url = new URL(target, api.url).toString();
  const headers = await signRequest(
    { method, url, body: options.body, headers: options.headers },
    {
      credentials: options.credentials ?? USER,
      region: options.region ?? REGION,
      date: options.date ?? new Date(),
    },
  );
  return { method, target, headers, body: options.body };
}

const SIGNATURE_MISMATCH = /^The request signature we calculated does not match the signature you provided\./;

describe("SigV4 verification, computed independently", () => {
  const EXAMPLE = {
    headers: { Host: "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z" },
    signedHeaders: ["host", "x-amz-date"],
    body: "",
    amzDate: "20150830T123600Z",
    scope: "20150830/us-east-1/service/aws4_request",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  };

  it("reproduces AWS's published get-vanilla signature", () => {
    const computed = computeSignature({ ...EXAMPLE, method: "GET", path: "/", rawQueryString: "" });
    expect(computed.canonicalRequest).toBe(
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(computed.signature).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  });

  it("reproduces get-vanilla-query-order-key-case (parameters sorted before signing)", () => {
    const computed = computeSignature({
      ...EXAMPLE,
      method: "GET",
      path: "/",
      rawQueryString: "Param2=value2&Param1=value1",
    });
    expect(computed.signature).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });

  it.each([
    ["/", "/"],
    ["/rotations/rot-1", "/rotations/rot-1"],
    ["/a//b/./c/../d/", "/a/b/d/"],
    ["/certificates/a%20b", "/certificates/a%2520b"],
  ])("canonical URI of %s is %s (normalized, encoded again)", (path, expected) => {
    expect(canonicalUri(path)).toBe(expected);
  });

  it.each([
    ["", ""],
    ["b=2&a=1&A=0", "A=0&a=1&b=2"],
    ["due=true&due=false", "due=false&due=true"],
    ["q=a%20b&flag", "flag=&q=a%20b"],
    ["x=a+b", "x=a%2Bb"],
  ])("canonical query of %j is %j", (raw, expected) => {
    expect(canonicalQuery(raw)).toBe(expected);
  });
});

describe("requests signed correctly", () => {
  it("reach the route's handler as a payload format 2.0 event with the IAM caller", async () => {
    const answer = await send(
      await signed("GET", "/certificates/cert-1?due=true&expiringWithinDays=30", {
        headers: { "user-agent": "mtls-rotator-test/1.0" },
      }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true, routeKey: "GET /certificates/{id}" });
    expect(answer.headers["x-echo"]).toBe("yes");
    expect(answer.headers["apigw-requestid"]).toMatch(/^[A-Za-z0-9+/=]+$/);

    expect(events).toHaveLength(1);
    const event = events[0]!;
    const port = new URL(api.url).port;
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "GET /certificates/{id}",
      rawPath: "/certificates/cert-1",
      rawQueryString: "due=true&expiringWithinDays=30",
      queryStringParameters: { due: "true", expiringWithinDays: "30" },
      pathParameters: { id: "cert-1" },
      isBase64Encoded: false,
      requestContext: {
        accountId: "111122223333",
        apiId: "a1b2c3d4e5",
        domainName: `127.0.0.1:${port}`,
        http: {
          method: "GET",
          path: "/certificates/cert-1",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "mtls-rotator-test/1.0",
        },
        routeKey: "GET /certificates/{id}",
        stage: "$default",
        authorizer: {
          iam: {
            accessKey: USER.accessKeyId,
            accountId: "111122223333",
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: USER.principalArn,
          },
        },
      },
    });
    expect(event.body).toBeUndefined();
    expect(event.headers.host).toBe(`127.0.0.1:${port}`);
    expect(event.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAOPERATOR00000001\//);
    expect(event.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
    const iam = event.requestContext.authorizer.iam;
    expect(iam.userId).toMatch(/^AIDA[0-9A-F]{17}$/);
    expect(iam.callerId).toBe(iam.userId);
    expect(event.requestContext.requestId).toBe(answer.headers["apigw-requestid"]);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5_000);
  });

  it("with temporary credentials: the session token is checked and the assumed-role session named", async () => {
    const body = JSON.stringify({ certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/abc" });
    const answer = await send(await signed("POST", "/rotations", { body, credentials: ROLE }));
    expect(answer.status).toBe(200);
    const event = events[0]!;
    expect(event.body).toBe(body);
    expect(event.headers["content-type"]).toBe("application/json");
    expect(event.headers["x-amz-security-token"]).toBe(ROLE.sessionToken);
    expect(event.requestContext.authorizer.iam.userArn).toBe(ROLE.principalArn);
    expect(event.requestContext.authorizer.iam.userId).toMatch(/^AROA[0-9A-F]{17}:alice$/);
  });

  it("decodes path parameters (encoded characters, greedy segments) and keeps rawPath as sent", async () => {
    expect((await send(await signed("GET", "/certificates/a%20b%2Bc"))).status).toBe(200);
    expect(events[0]!.pathParameters).toEqual({ id: "a b+c" });
    expect(events[0]!.rawPath).toBe("/certificates/a%20b%2Bc");
    expect((await send(await signed("GET", "/files/trust/origin-ca.pem"))).status).toBe(200);
    expect(events[1]!.pathParameters).toEqual({ path: "trust/origin-ca.pem" });
  });

  it("within 5 minutes of the clock on either side", async () => {
    const fourMinutes = 4 * 60_000;
    expect(
      (await send(await signed("GET", "/certificates", { date: new Date(Date.now() - fourMinutes) }))).status,
    ).toBe(200);
    expect(
      (await send(await signed("GET", "/certificates", { date: new Date(Date.now() + fourMinutes) }))).status,
    ).toBe(200);
  });
});

describe("refused by API Gateway, never reaching the handler", () => {
  async function refused(request: Parameters<typeof send>[0]): Promise<Sent> {
    const answer = await send(request);
    expect(events).toEqual([]);
    return answer;
  }

  it("[http-api.missing-auth-token] no Authorization header: Missing Authentication Token", async () => {
    const answer = await refused({ method: "GET", target: "/certificates", headers: {} });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ message: "Missing Authentication Token" });
  });

  it("an Authorization header that is not SigV4", async () => {
    const answer = await refused({
      method: "GET",
      target: "/certificates",
      headers: { authorization: "Bearer abc" },
    });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/^Authorization header requires 'Credential' parameter\./);
  });

  it("[http-api.signature-verified] a tampered body", async () => {
    const good = await signed("POST", "/rotations", { body: JSON.stringify({ certificateArn: "arn:a" }) });
    const answer = await refused({ ...good, body: JSON.stringify({ certificateArn: "arn:b" }) });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
    expect(answer.body.message).toContain("The Canonical String for this request should have been");
  });

  it("a tampered signed header", async () => {
    const good = await signed("GET", "/certificates", { headers: { "x-tenant": "blue" } });
    const answer = await refused({ ...good, headers: { ...good.headers, "x-tenant": "red" } });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
  });

  it("a tampered query: a changed value, an added parameter", async () => {
    const good = await signed("GET", "/certificates?due=true");
    for (const target of ["/certificates?due=false", "/certificates?due=true&managed=false"]) {
      const answer = await refused({ ...good, target });
      expect(answer.status).toBe(403);
      expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
    }
  });

  it("a tampered path (another rotation)", async () => {
    const good = await signed("GET", "/rotations/rot-mine");
    const answer = await refused({ ...good, target: "/rotations/rot-other" });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
  });

  it("a wrong secret key", async () => {
    const answer = await refused(
      await signed("GET", "/certificates", { credentials: { ...USER, secretAccessKey: "not-the-secret" } }),
    );
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
  });

  it("[http-api.credential-scope] a credential scoped to another region", async () => {
    const answer = await refused(await signed("GET", "/certificates", { region: "us-east-1" }));
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/^Credential should be scoped to a valid region\./);
  });

  it("[http-api.credential-scope] a credential scoped to another service", async () => {
    const good = await signed("GET", "/certificates");
    const authorization = good.headers.authorization!.replace("/execute-api/", "/s3/");
    const answer = await refused({ ...good, headers: { ...good.headers, authorization } });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toBe("Credential should be scoped to correct service: 'execute-api'. ");
  });

  it("[http-api.clock-skew-5-minutes] a signature more than 5 minutes old, or from more than 5 minutes ahead", async () => {
    const old = await refused(
      await signed("GET", "/certificates", { date: new Date(Date.now() - 6 * 60_000) }),
    );
    expect(old.status).toBe(403);
    expect(old.body.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    const ahead = await refused(
      await signed("GET", "/certificates", { date: new Date(Date.now() + 6 * 60_000) }),
    );
    expect(ahead.status).toBe(403);
    expect(ahead.body.message).toMatch(/^Signature not yet current: /);
  });

  it("an x-amz-date that is not the signed one (replayed signature, new date)", async () => {
    const good = await signed("GET", "/certificates", { date: new Date(Date.now() - 60_000) });
    const now = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const answer = await refused({ ...good, headers: { ...good.headers, "x-amz-date": now } });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(SIGNATURE_MISMATCH);
  });

  it("an unknown access key", async () => {
    const answer = await refused(
      await signed("GET", "/certificates", { credentials: { ...USER, accessKeyId: "AKIAUNKNOWN000000000" } }),
    );
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ message: "The security token included in the request is invalid." });
  });

  it("[http-api.invalid-token] a wrong, missing or unexpected session token", async () => {
    const cases: AwsCredentials[] = [
      { ...ROLE, sessionToken: "another-session-token" },
      { ...ROLE, sessionToken: undefined },
      { ...USER, sessionToken: "a-token-this-key-never-had" },
    ];
    for (const credentials of cases) {
      const answer = await refused(await signed("GET", "/certificates", { credentials }));
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ message: "The security token included in the request is invalid." });
    }
  });

  it("a host header left out of the signature", async () => {
    const good = await signed("GET", "/certificates");
    const authorization = good.headers.authorization!.replace(
      /SignedHeaders=[^,]+/,
      "SignedHeaders=x-amz-date",
    );
    const answer = await refused({ ...good, headers: { ...good.headers, authorization } });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toBe(
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  });

  it("[http-api.invoke-permission] a principal without execute-api:Invoke on the route: Forbidden (and allowed where granted)", async () => {
    const denied = await refused(await signed("POST", "/rotations", { body: "{}", credentials: READER }));
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ message: "Forbidden" });
    expect((await send(await signed("GET", "/certificates", { credentials: READER }))).status).toBe(200);
  });

  it("[http-api.route-before-auth] no route for the method and path: 404 Not Found, signed or not", async () => {
    for (const request of [
      { method: "GET", target: "/nothing-here", headers: {} },
      await signed("DELETE", "/certificates"),
      await signed("GET", "/rotations/rot-1/extra"),
    ]) {
      const answer = await refused(request);
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ message: "Not Found" });
    }
  });
});

describe("integration answers", () => {
  it("[http-api.integration-errors-500] a handler that throws: 500 Internal Server Error", async () => {
    const answer = await send(await signed("GET", "/boom"));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ message: "Internal Server Error" });
  });

  it("a handler answering an impossible status: 500 Internal Server Error", async () => {
    const answer = await send(await signed("GET", "/bad-status"));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ message: "Internal Server Error" });
  });

  it("[http-api.payload-v2-inference] a result without statusCode: 200 with the result as JSON (format 2.0 inference)", async () => {
    const answer = await send(await signed("GET", "/plain"));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.body).toEqual({ hello: "world" });
  });
});

describe("the record of requests", () => {
  it("has method, path, route, principal, status and why a request was refused", async () => {
    const from = api.requests.length;
    await send(await signed("GET", "/rotations/rot-7", { credentials: ROLE }));
    await send(await signed("GET", "/rotations/rot-7", { region: "us-west-2" }));
    await send({ method: "GET", target: "/missing", headers: {} });
    expect(api.requests.slice(from)).toEqual([
      {
        method: "GET",
        path: "/rotations/rot-7",
        rawQueryString: "",
        routeKey: "GET /rotations/{id}",
        principal: ROLE.principalArn,
        accessKeyId: ROLE.accessKeyId,
        status: 200,
      },
      {
        method: "GET",
        path: "/rotations/rot-7",
        rawQueryString: "",
        routeKey: "GET /rotations/{id}",
        status: 403,
        refused: "Credential should be scoped to a valid region. ",
      },
      { method: "GET", path: "/missing", rawQueryString: "", status: 404, refused: "Not Found" },
    ]);
  });

  it("listens on loopback only", () => {
    expect(new URL(api.url).hostname).toBe("127.0.0.1");
  });
});
