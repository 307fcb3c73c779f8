/**
 * Everything that can stand between the operator and the API, each ending in one actionable message and
 * its exit code, never a stack trace: configuration (endpoint, region), credentials, the signature API
 * Gateway refuses (region, unknown key, wrong secret, clock skew, session token), missing
 * execute-api:Invoke, an endpoint that cannot be reached (refused, unknown host, timeout), and the API's
 * own 4xx/5xx answers.
 */
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { resolveEndpoint, resolveRegion, signRequest } from "../../functions/cli/api-client.ts";
import { ApiAnswerError, explainError, NoCredentialsError } from "../../functions/cli/errors.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../../functions/cli/main.ts";
import { startHttpApi } from "../../standins/http-api.ts";
import {
  AUDITOR,
  capture,
  environmentFor,
  NOW,
  OPERATOR,
  REGION,
  runOperator,
  useContractApi,
} from "./fixtures.ts";

const contract = useContractApi();

const run = (args: string[], overrides: Partial<OperatorEnvironment> = {}) =>
  runOperator(contract.api, args, overrides);

const credentials =
  (c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) => async () =>
    c;

describe("configuration", () => {
  it("no endpoint: exit 2, naming --endpoint and MTLS_ROTATOR_API_URL", async () => {
    const { code, stderr } = await run(["status"], { env: { AWS_REGION: REGION } });
    expect(code).toBe(2);
    expect(stderr).toContain("no API endpoint: pass --endpoint <url> or set MTLS_ROTATOR_API_URL");
  });

  it("no region anywhere: exit 2, naming --region and AWS_REGION", async () => {
    const { code, stderr, requests } = await run(["status"], {
      env: { MTLS_ROTATOR_API_URL: contract.api.standin.url },
    });
    expect(code).toBe(2);
    expect(stderr).toContain("no AWS region to sign for: pass --region <region>");
    expect(requests).toEqual([]);
  });

  it("--endpoint and --region on the command line", async () => {
    const { code } = await run(["status", "--endpoint", contract.api.standin.url, "--region", REGION], {
      env: {},
    });
    expect(code).toBe(0);
  });

  it.each([
    [undefined, {}, /^no API endpoint/],
    ["ftp://example.com", {}, /must be an https:\/\/ URL/],
    ["http://api.example.com", {}, /must be an https:\/\/ URL/],
    ["not a url", {}, /is not a URL/],
    ["https://api.example.com/?x=1", {}, /must not have a query/],
  ])("resolveEndpoint(%j) refuses", (flag, env, message) => {
    expect(() => resolveEndpoint(flag, env)).toThrow(message);
  });

  it.each([
    [
      undefined,
      { MTLS_ROTATOR_API_URL: "https://abc123.execute-api.eu-west-1.amazonaws.com/" },
      "https://abc123.execute-api.eu-west-1.amazonaws.com",
    ],
    ["https://api.example.com/mtls/", {}, "https://api.example.com/mtls"],
    ["http://127.0.0.1:8080", {}, "http://127.0.0.1:8080"],
    [
      "http://localhost:8080",
      { MTLS_ROTATOR_API_URL: "https://ignored.example.com" },
      "http://localhost:8080",
    ],
  ])("resolveEndpoint(%j, %j) = %s", (flag, env, expected) => {
    expect(resolveEndpoint(flag, env)).toBe(expected);
  });

  const HOST = "https://abc123.execute-api.ap-southeast-2.amazonaws.com";
  const CUSTOM_DOMAIN = "https://rotator.ops.example.com";
  it.each([
    ["eu-west-1", { AWS_REGION: "us-east-1" }, HOST, { region: "eu-west-1", source: "--region" }],
    ["eu-west-1", {}, CUSTOM_DOMAIN, { region: "eu-west-1", source: "--region" }],
    // The endpoint host names the API's region: the shell's AWS_REGION (another region) does not win.
    [
      undefined,
      { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-west-2" },
      HOST,
      { region: "ap-southeast-2", source: "the endpoint host" },
    ],
    [
      undefined,
      { AWS_DEFAULT_REGION: "us-west-2" },
      HOST,
      { region: "ap-southeast-2", source: "the endpoint host" },
    ],
    [undefined, {}, HOST, { region: "ap-southeast-2", source: "the endpoint host" }],
    // A custom domain has no region in its host: the environment's.
    [
      undefined,
      { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-west-2" },
      CUSTOM_DOMAIN,
      { region: "us-east-1", source: "AWS_REGION" },
    ],
    [
      undefined,
      { AWS_DEFAULT_REGION: "us-west-2" },
      CUSTOM_DOMAIN,
      { region: "us-west-2", source: "AWS_DEFAULT_REGION" },
    ],
    [
      undefined,
      {},
      "https://abc.execute-api.cn-north-1.amazonaws.com.cn",
      { region: "cn-north-1", source: "the endpoint host" },
    ],
  ])("resolveRegion(%j, %j, %s)", (flag, env, endpoint, expected) => {
    expect(resolveRegion(flag, env, endpoint)).toEqual(expected);
  });
});

describe("credentials and signatures API Gateway refuses: exit 3", () => {
  it("no credentials: what to provide", async () => {
    const { code, stderr, requests } = await run(["certificates"], {
      credentials: async () => {
        throw new NoCredentialsError(
          "no usable AWS credentials (Could not load credentials from any providers).",
        );
      },
    });
    expect(code).toBe(3);
    expect(stderr).toBe(
      "mtls-rotator certificates: no usable AWS credentials (Could not load credentials from any providers).\n",
    );
    expect(requests).toEqual([]);
  });

  it("signed for another region: names the region used, where it came from, and the fix", async () => {
    const { code, stderr, requests } = await run(["status"], {
      env: { MTLS_ROTATOR_API_URL: contract.api.standin.url, AWS_REGION: "us-east-1" },
    });
    expect(code).toBe(3);
    expect(stderr).toContain(
      "the request was signed for us-east-1 (from AWS_REGION), but the API is in another region. " +
        "Pass --region with the region the API was deployed to",
    );
    expect(stderr.split("\n").filter(Boolean)).toHaveLength(1); // one message, even for two failed calls
    expect(
      requests.every((r) => r.status === 403 && r.refused?.startsWith("Credential should be scoped")),
    ).toBe(true);
  });

  it.each([
    [
      "--region",
      "the request was signed for us-east-1 (from --region), but the API is in another region. " +
        "Pass --region eu-central-1 (the region in the API URL), or leave --region out: the CLI then signs for the URL's region.",
    ],
    [
      "AWS_REGION",
      "the request was signed for us-east-1 (from AWS_REGION), but the API is in another region. " +
        "Pass --region eu-central-1 (the region in the API URL).",
    ],
  ])("an execute-api URL names the region to pass (region from %s)", (regionSource, expected) => {
    const { message, exitCode } = explainError(
      new ApiAnswerError({
        status: 403,
        method: "GET",
        url: "https://abc123.execute-api.eu-central-1.amazonaws.com/certificates",
        message: "Credential should be scoped to a valid region. ",
        gateway: true,
        signing: { accessKeyId: "AKIA1", credentialSource: "x", region: "us-east-1", regionSource },
      }),
    );
    expect(exitCode).toBe(3);
    expect(message).toBe(expected);
  });

  it("an access key the API does not know", async () => {
    const { code, stderr } = await run(["status"], {
      credentials: credentials({ accessKeyId: "AKIASTRANGER00000001", secretAccessKey: "x" }),
    });
    expect(code).toBe(3);
    expect(stderr).toContain(
      "the API does not recognise access key AKIASTRANGER00000001 (credentials from the credentials given)",
    );
    expect(stderr).toContain("aws sso login");
  });

  it("temporary credentials without their session token", async () => {
    const { code, stderr } = await run(["status"], {
      credentials: credentials({
        accessKeyId: OPERATOR.accessKeyId,
        secretAccessKey: OPERATOR.secretAccessKey,
      }),
    });
    expect(code).toBe(3);
    expect(stderr).toContain(`the API does not recognise access key ${OPERATOR.accessKeyId}`);
    expect(stderr).toContain("AWS_SESSION_TOKEN");
  });

  it("a secret key that does not belong to the access key", async () => {
    const { code, stderr } = await run(["status"], {
      credentials: credentials({ ...OPERATOR, secretAccessKey: "wrong" }),
    });
    expect(code).toBe(3);
    expect(stderr).toContain(
      `the signature did not match: the secret key does not belong to access key ${OPERATOR.accessKeyId}`,
    );
  });

  it("this machine's clock 10 minutes behind: says to fix the clock", async () => {
    const { code, stderr } = await run(["status"], { now: () => new Date(NOW.getTime() - 10 * 60_000) });
    expect(code).toBe(3);
    expect(stderr).toContain("this machine's clock is off");
    expect(stderr).toContain("(API Gateway said: Signature expired: ");
  });

  it("a principal without execute-api:Invoke on the route: names it and the resource to grant", async () => {
    const { code, stderr, requests } = await run(
      ["rotate", "arn:aws:acm:us-east-1:111122223333:certificate/x"],
      {
        credentials: credentials(AUDITOR),
      },
    );
    expect(code).toBe(3);
    expect(stderr).toBe(
      `mtls-rotator rotate: 403 Forbidden: the IAM principal behind access key ${AUDITOR.accessKeyId} ` +
        "(credentials from the credentials given) may be missing execute-api:Invoke on " +
        `arn:aws:execute-api:${REGION}:<account-id>:<api-id>/*/POST/rotations. ` +
        "Grant it in the principal's IAM policy (see who you are with `aws sts get-caller-identity`).\n",
    );
    expect(requests.map((r) => [r.principal, r.status, r.refused])).toEqual([
      [AUDITOR.principalArn, 403, "Forbidden"],
    ]);
  });

  it("a resource policy denial names the principal API Gateway names", () => {
    const { message } = explainError(
      new ApiAnswerError({
        status: 403,
        method: "POST",
        url: "https://abc123.execute-api.eu-west-1.amazonaws.com/rotations/rot-1/rollback",
        message:
          "User: arn:aws:sts::111122223333:assumed-role/readonly/bob is not authorized to perform: " +
          "execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:111122223333:abc123/$default/POST/rotations/rot-1/rollback",
        gateway: true,
      }),
    );
    expect(message).toBe(
      "403 Forbidden: arn:aws:sts::111122223333:assumed-role/readonly/bob may be missing execute-api:Invoke on " +
        "arn:aws:execute-api:eu-west-1:<account-id>:abc123/*/POST/rotations/rot-1/rollback. " +
        "Grant it in the principal's IAM policy (see who you are with `aws sts get-caller-identity`).",
    );
  });
});

describe("the API's 4xx answers", () => {
  const refusal = (input: Partial<ConstructorParameters<typeof ApiAnswerError>[0]>) =>
    explainError(
      new ApiAnswerError({
        status: 400,
        method: "POST",
        url: "https://api.example.com/rotations",
        message: "",
        gateway: false,
        ...input,
      }),
    );

  it("problems the message does not already recap: both, each field on its line", () => {
    expect(
      refusal({
        code: "ValidationError",
        message: "the body does not describe a rotation",
        problems: [{ field: "waves.waves[0].percent", message: "must be > 0 and <= 100" }],
      }),
    ).toEqual({
      message:
        "the API refused the request (400 ValidationError): the body does not describe a rotation\n" +
        "  waves.waves[0].percent: must be > 0 and <= 100",
      exitCode: 2,
    });
  });

  it("413 and 415 are refusals of the request too: exit 2", () => {
    expect(
      refusal({ status: 413, code: "PayloadTooLarge", message: "the body is larger than 16 KB" }),
    ).toEqual({
      message: "the API refused the request (413 PayloadTooLarge): the body is larger than 16 KB",
      exitCode: 2,
    });
  });

  it("409 for a rotation that already ended names it", () => {
    expect(
      refusal({
        status: 409,
        code: "Conflict",
        message: "rotation rot-1 has already ended (completed)",
        rotationId: "rot-1",
      }),
    ).toEqual({
      message:
        "refused in the current state: rotation rot-1 has already ended (completed)\nSee it: mtls-rotator watch rot-1",
      exitCode: 5,
    });
  });
});

describe("an endpoint that cannot be reached: exit 4 with the URL", () => {
  let silent: Server;
  let silentUrl: string;
  let closedUrl: string;

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const closed = createHttpServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });

  afterAll(async () => {
    silent.close();
  });

  it("connection refused", async () => {
    const { code, stderr } = await run(["status", "--endpoint", closedUrl]);
    expect(code).toBe(4);
    expect(stderr).toBe(
      `mtls-rotator status: cannot reach the API at ${closedUrl}: connection refused (ECONNREFUSED). ` +
        "Check --endpoint / MTLS_ROTATOR_API_URL (the URL `sst deploy` prints) and your network.\n",
    );
  });

  it("unknown host", async () => {
    const { code, stderr } = await run(["certificates", "--endpoint", "https://mtls-rotator-api.invalid"]);
    expect(code).toBe(4);
    expect(stderr).toContain(
      "cannot reach the API at https://mtls-rotator-api.invalid: host not found (ENOTFOUND)",
    );
  });

  it("no answer within --timeout", async () => {
    const started = Date.now();
    const { code, stderr } = await run(["certificates", "--endpoint", silentUrl, "--timeout", "0.3"]);
    expect(code).toBe(4);
    expect(stderr).toContain(`cannot reach the API at ${silentUrl}: no answer within 0.3 s`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('an id that a URL would resolve away ("..") is refused before anything is sent', async () => {
    const { code, stderr, requests } = await run(["watch", ".."]);
    expect(code).toBe(2);
    expect(stderr).toContain('not a valid id: ".."');
    expect(requests).toEqual([]);
  });

  it("a bad --timeout is a usage error", async () => {
    const { code, stderr } = await run(["status", "--timeout", "0"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--timeout must be a positive number of seconds, got "0"');
  });
});

describe("the API's own failures", () => {
  it("5xx: exit 1 with API Gateway's request id, says the request was not at fault", async () => {
    contract.api.backend.timelines.set("rot-broken", ["error"]);
    const { code, stderr, requests } = await run(["watch", "rot-broken"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^mtls-rotator watch: the API failed: 500 Internal Server Error \(request id [A-Za-z0-9+/=]+\)\. Nothing indicates your request was wrong/,
    );
    expect(requests.map((r) => r.status)).toEqual([500]);
  });

  it("a URL that is not the mtls-rotator API (no such route): exit 2", async () => {
    const { code, stderr } = await run(["status", "--endpoint", `${contract.api.standin.url}/prod`]);
    expect(code).toBe(2);
    expect(stderr).toContain(`the endpoint has no route for GET ${contract.api.standin.url}/prod/`);
    expect(stderr).toContain("is --endpoint / MTLS_ROTATOR_API_URL the mtls-rotator API");
  });

  it("a 200 that is not JSON (a proxy's HTML page) is reported, not parsed into nonsense: exit 1", async () => {
    const html = await startHttpApi({
      region: REGION,
      accounts: [OPERATOR],
      now: () => NOW,
      routes: {
        "GET /certificates": async () => ({
          statusCode: 200,
          headers: { "content-type": "text/html" },
          body: "<html>Sign in to continue</html>",
        }),
      },
    });
    try {
      const { code, stderr } = await run(["certificates", "--endpoint", html.url]);
      expect(code).toBe(1);
      expect(stderr).toBe(
        `mtls-rotator certificates: unexpected answer to GET ${html.url}/certificates?limit=500: 200 with something ` +
          "that is not a JSON object: <html>Sign in to continue</html>. Is --endpoint the mtls-rotator API?\n",
      );
    } finally {
      await html.close();
    }
  });
});

describe("the region requests are signed for", () => {
  const EXECUTE_API = "https://abc123.execute-api.ap-southeast-2.amazonaws.com";
  const CUSTOM_DOMAIN = "https://rotator.ops.example.com";

  /** Runs `scan` against `endpoint` with fetch stubbed: the credential scope of the request it sent. */
  async function signedRegion(env: Record<string, string>, args: string[] = []) {
    const sent: Array<{ url: string; method: string; body?: string; authorization: string | null }> = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      sent.push({
        url: String(url),
        method: String(init.method),
        body: init.body as string | undefined,
        authorization: new Headers(init.headers).get("authorization"),
      });
      return new Response(JSON.stringify({ accepted: true }), {
        status: 202,
        headers: { "content-type": "application/json" },
      });
    });
    try {
      const spec = OPERATOR_COMMANDS.find((c) => c.name === "scan")!;
      const out = capture();
      const code = await runOperatorCommand(spec, args, out.io, {
        ...environmentFor(contract.api.standin),
        env,
      });
      expect(out.stderr()).toBe("");
      expect(code).toBe(0);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(sent).toHaveLength(1);
    const [request] = sent as [(typeof sent)[number]];
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/execute-api\/aws4_request/.exec(
      request.authorization ?? "",
    )?.[1];
    // The whole signature is the one for that region (not only the scope's text).
    const expected = await signRequest(
      {
        method: request.method,
        url: request.url,
        ...(request.body !== undefined ? { body: request.body } : {}),
      },
      {
        credentials: {
          accessKeyId: OPERATOR.accessKeyId,
          secretAccessKey: OPERATOR.secretAccessKey,
          sessionToken: OPERATOR.sessionToken!,
        },
        region: region ?? "?",
        date: NOW,
      },
    );
    expect(request.authorization).toBe(expected.authorization);
    return region;
  }

  it("an execute-api endpoint: its host's region, whatever AWS_REGION and AWS_DEFAULT_REGION say", async () => {
    expect(
      await signedRegion({
        MTLS_ROTATOR_API_URL: EXECUTE_API,
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-west-2",
      }),
    ).toBe("ap-southeast-2");
  });

  it("--region wins over the endpoint host and the environment", async () => {
    expect(
      await signedRegion({ MTLS_ROTATOR_API_URL: EXECUTE_API, AWS_REGION: "us-east-1" }, [
        "--region",
        "eu-west-1",
      ]),
    ).toBe("eu-west-1");
  });

  it("a custom domain (no region in its host): AWS_REGION, else AWS_DEFAULT_REGION", async () => {
    expect(
      await signedRegion({
        MTLS_ROTATOR_API_URL: CUSTOM_DOMAIN,
        AWS_REGION: "eu-central-1",
        AWS_DEFAULT_REGION: "us-west-2",
      }),
    ).toBe("eu-central-1");
    expect(await signedRegion({ MTLS_ROTATOR_API_URL: CUSTOM_DOMAIN, AWS_DEFAULT_REGION: "us-west-2" })).toBe(
      "us-west-2",
    );
  });

  it("a custom domain and no region anywhere: exit 2 before anything is sent", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    try {
      const { code, stderr } = await run(["scan"], { env: { MTLS_ROTATOR_API_URL: CUSTOM_DOMAIN } });
      expect(code).toBe(2);
      expect(stderr).toContain("no AWS region to sign for: pass --region <region>");
    } finally {
      vi.unstubAllGlobals();
    }
    expect(fetch).not.toHaveBeenCalled();
  });
});
