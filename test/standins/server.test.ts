/**
 * The loopback server in front of every stand-in: faults on demand (throttling, 5xx, timeouts) as the real
 * SDK sees them, call accounting, unknown targets, and loopback-only listening.
 */
import { connect } from "node:net";
import {
  type ACMPCAClient,
  DescribeCertificateAuthorityCommand,
  IssueCertificateCommand,
} from "@aws-sdk/client-acm-pca";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyAndCsr } from "../../functions/crypto/keys.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { expectModelViolations } from "../../standins/model/checks.ts";
import { createRootCa } from "../../standins/pki.ts";
import { CALLER_HEADER, type CallRecord } from "../../standins/server.ts";
import { withIntendedViolations } from "../support/model-checks.ts";

let s: Standins;
let counter = 0;

beforeAll(async () => {
  s = await startStandins({ timeoutHoldMs: 10_000 });
});

afterAll(async () => {
  await s?.close();
});

function secretName(): string {
  counter += 1;
  return `mtls-rotator/test/server-${counter}`;
}

/** The calls the server recorded since `from`, as [service:operation, status, error]. */
function callsSince(from: number): Array<[string, number, string | undefined]> {
  return s.server.calls.slice(from).map((c) => [`${c.service}:${c.operation}`, c.status, c.error]);
}

describe("fault injection", () => {
  it("fails exactly `times` matching calls; the SDK's retries succeed on the third attempt", async () => {
    const sm = s.clients().secrets;
    const from = s.server.calls.length;
    s.server.faults.inject({
      service: "secretsmanager",
      operation: "CreateSecret",
      kind: "server-error",
      times: 2,
    });

    const name = secretName();
    const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: "value" }));
    expect(out.$metadata.attempts).toBe(3);
    expect(callsSince(from)).toEqual([
      ["secretsmanager:CreateSecret", 503, "ServiceUnavailable"],
      ["secretsmanager:CreateSecret", 503, "ServiceUnavailable"],
      ["secretsmanager:CreateSecret", 200, undefined],
    ]);
    expect(s.server.faults.pending).toBe(0);
    expect(s.secrets.names()).toContain(name);

    // Spent: the next call goes straight through.
    const next = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(next.$metadata.attempts).toBe(1);
  });

  it("[secretsmanager.throttling-exception] answers an injected throttle with ThrottlingException, exactly `times` times", async () => {
    const sm = s.clients({ maxAttempts: 1 }).secrets;
    const name = secretName();
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: "value" }));
    s.server.faults.inject({
      service: "secretsmanager",
      operation: "GetSecretValue",
      kind: "throttle",
      times: 2,
    });

    const read = () => sm.send(new GetSecretValueCommand({ SecretId: name }));
    await expect(read()).rejects.toMatchObject({
      name: "ThrottlingException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(read()).rejects.toMatchObject({ name: "ThrottlingException" });
    await expect(read()).resolves.toMatchObject({ SecretString: "value" });
  });

  it("fails only calls of the service and operation a rule names", async () => {
    const { secrets, privateCa } = s.clients({ maxAttempts: 1 });
    const ca = await createRootCa({ name: "CN=Server Test CA" });
    const authorityArn = s.privateCa.addAuthority(ca);
    const { csrPem } = await generateKeyAndCsr({
      keyAlgorithm: "EC_prime256v1",
      subject: { name: "CN=server-test" },
      sans: [],
    });
    const issue = () =>
      privateCa.send(
        new IssueCertificateCommand({
          CertificateAuthorityArn: authorityArn,
          Csr: Buffer.from(csrPem),
          SigningAlgorithm: "SHA256WITHECDSA",
          Validity: { Type: "DAYS", Value: 7 },
        }),
      );
    const injected = s.server.faults.injected;

    s.server.faults.inject({ service: "acm-pca", operation: "IssueCertificate", kind: "server-error" });
    // Same service, other operation; other service, any operation: untouched.
    await privateCa.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: authorityArn }));
    const name = secretName();
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
    expect(s.server.faults.pending).toBe(1);
    await expect(issue()).rejects.toMatchObject({
      name: "ServiceUnavailable",
      $metadata: { httpStatusCode: 503 },
    });
    await expect(issue()).resolves.toMatchObject({ CertificateArn: expect.stringContaining(authorityArn) });

    // A rule naming only a service matches any of its operations, and no other service's.
    s.server.faults.inject({ service: "secretsmanager", kind: "throttle" });
    await privateCa.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: authorityArn }));
    await expect(secrets.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: "ThrottlingException",
    });

    // A rule naming only an operation matches it in any service.
    s.server.faults.inject({ operation: "PutSecretValue", kind: "server-error" });
    await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    await expect(
      secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: "v2" })),
    ).rejects.toMatchObject({ name: "ServiceUnavailable" });
    expect(s.server.faults.injected).toBe(injected + 3);
    expect(s.server.faults.pending).toBe(0);
  });

  it("holds a call on a timeout fault; clients({ requestTimeoutMs: 200 }) times out, retries and succeeds", async () => {
    const authorityArn = s.privateCa.addAuthority(await createRootCa({ name: "CN=Timeout Test CA" }));
    const describeCa = (client: ACMPCAClient) =>
      client.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: authorityArn }));
    const from = s.server.calls.length;
    s.server.faults.inject({
      service: "acm-pca",
      operation: "DescribeCertificateAuthority",
      kind: "timeout",
    });

    const started = Date.now();
    const out = await describeCa(s.clients({ requestTimeoutMs: 200 }).privateCa);
    const elapsed = Date.now() - started;
    expect(out).toMatchObject({ CertificateAuthority: { Arn: authorityArn }, $metadata: { attempts: 2 } });
    // Given up after the client's 200 ms, long before the server would drop the held call (10 s).
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(3_000);
    expect(callsSince(from)).toEqual([
      ["acm-pca:DescribeCertificateAuthority", 0, "Timeout"],
      ["acm-pca:DescribeCertificateAuthority", 200, undefined],
    ]);

    // Without retries the timeout reaches the caller.
    s.server.faults.inject({
      service: "acm-pca",
      operation: "DescribeCertificateAuthority",
      kind: "timeout",
    });
    await expect(
      describeCa(s.clients({ requestTimeoutMs: 200, maxAttempts: 1 }).privateCa),
    ).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });

  it("has a timeout fault retried by a current-SDK client that throws on its request timeout", async () => {
    // @smithy/node-http-handler 4.x only warns when requestTimeout passes, unless throwOnRequestTimeout is set.
    const sm = new SecretsManagerClient({
      region: "us-east-1",
      endpoint: s.endpoint,
      credentials: STANDIN_CREDENTIALS,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });
    const name = secretName();
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
    const from = s.server.calls.length;
    s.server.faults.inject({ service: "secretsmanager", operation: "GetSecretValue", kind: "timeout" });

    const started = Date.now();
    const out = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(out).toMatchObject({ SecretString: "v", $metadata: { attempts: 2 } });
    expect(callsSince(from)).toEqual([
      ["secretsmanager:GetSecretValue", 0, "Timeout"],
      ["secretsmanager:GetSecretValue", 200, undefined],
    ]);
    sm.destroy();
  });

  it("refuses a rule with a non-positive or fractional `times`", () => {
    for (const times of [0, -1, 1.5]) {
      expect(() => s.server.faults.inject({ kind: "throttle", times })).toThrow(/positive integer/);
    }
    expect(s.server.faults.pending).toBe(0);
  });
});

describe("interceptors", () => {
  it("run before a call is answered and are awaited: a second writer's call lands first; faults spare excepted callers", async () => {
    const name = secretName();
    const secrets = s.clients({ maxAttempts: 1 }).secrets;
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: "v1" }));
    // The other writer: its own client, named by the caller header.
    const other = s.clients({ maxAttempts: 1 }).secrets;
    other.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers[CALLER_HEADER] = "other-writer";
        return next(args);
      },
      { step: "build", name: "testCaller" },
    );
    const seen: string[] = [];
    const records: CallRecord[] = [];
    const remove = s.server.intercept(async ({ service, operation, record }) => {
      seen.push(`${record.caller ?? "service"} ${service}:${operation}`);
      if (operation !== "PutSecretValue" || record.caller) return;
      records.push(record);
      // Still unanswered while the interceptor runs.
      expect(record.status).toBe(0);
      await other.send(new PutSecretValueCommand({ SecretId: name, SecretString: "other" }));
    });
    // A fault on every PutSecretValue but the other writer's.
    const rule = s.server.faults.inject({
      service: "secretsmanager",
      operation: "PutSecretValue",
      kind: "server-error",
      rate: 1,
      times: 1,
      exceptCallers: ["other-writer"],
    });
    try {
      await expect(
        secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: "mine" })),
      ).rejects.toMatchObject({ name: "ServiceUnavailable" });
      await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: "mine" }));
    } finally {
      remove();
    }
    expect(seen).toEqual([
      "service secretsmanager:PutSecretValue",
      "other-writer secretsmanager:PutSecretValue",
      "service secretsmanager:PutSecretValue",
      "other-writer secretsmanager:PutSecretValue",
    ]);
    expect(records.map((r) => [r.status, r.error])).toEqual([
      [503, "ServiceUnavailable"],
      [200, undefined],
    ]);
    // Spent after its one fault: the second call was not decided on; the other writer's never counted.
    expect([rule.matched, rule.delivered, rule.spent]).toEqual([1, 1, true]);
    // Removed: no longer called.
    await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    expect(seen).toHaveLength(4);
    expect(s.secrets.valuesOf(name).at(-1)).toBe("mine");
  });
});

describe("call accounting", () => {
  it("counts calls by service and operation, failed and faulted calls included", async () => {
    const fresh = await startStandins();
    try {
      const sm = fresh.clients({ maxAttempts: 1 }).secrets;
      const name = secretName();
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
      await sm.send(new GetSecretValueCommand({ SecretId: name }));
      await expect(sm.send(new GetSecretValueCommand({ SecretId: `${name}-missing` }))).rejects.toMatchObject(
        {
          name: "ResourceNotFoundException",
        },
      );
      fresh.server.faults.inject({
        service: "secretsmanager",
        operation: "DescribeSecret",
        kind: "throttle",
      });
      await expect(sm.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
        name: "ThrottlingException",
      });

      expect(fresh.server.callsByOperation()).toEqual({
        "secretsmanager:CreateSecret": 1,
        "secretsmanager:GetSecretValue": 2,
        "secretsmanager:DescribeSecret": 1,
      });
      expect(fresh.server.count()).toBe(4);
      expect(fresh.server.count("secretsmanager")).toBe(4);
      expect(fresh.server.count("secretsmanager", "GetSecretValue")).toBe(2);
      expect(fresh.server.count("acm")).toBe(0);
      expect(fresh.server.calls.map((c) => c.error)).toEqual([
        undefined,
        undefined,
        "ResourceNotFoundException",
        "ThrottlingException",
      ]);
      expect(fresh.server.calls.every((c) => c.region === "us-east-1")).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe("protocol", () => {
  async function post(target: string, body: Record<string, unknown> = {}) {
    const response = await fetch(s.endpoint, {
      method: "POST",
      headers: { "x-amz-target": target, "content-type": "application/x-amz-json-1.1" },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as { __type?: string; message?: string; Message?: string },
    };
  }

  it("answers UnknownOperationException for an X-Amz-Target no stand-in serves", async () => {
    const calls = s.server.calls.length;
    // Sent on purpose: no stand-in serves DynamoDB's target here, which the model checks record as routing.
    const { result, violations } = await withIntendedViolations(() => post("AmazonDynamoDBv2.GetItem"));
    expect(result).toMatchObject({ status: 400, body: { __type: "UnknownOperationException" } });
    expect(violations).toEqual([
      expect.objectContaining({
        service: "unknown",
        operation: "AmazonDynamoDBv2.GetItem",
        direction: "routing",
      }),
    ]);
    expect(s.server.calls.length).toBe(calls);
  });

  it("answers UnknownOperationException for an operation a stand-in does not implement", async () => {
    // A request AWS's model allows (RequestCertificate requires DomainName), so it reaches the ACM stand-in,
    // which does not implement the operation and says so (UnknownOperationException, a common error).
    expect(
      await post("CertificateManager.RequestCertificate", { DomainName: "origin.acme.example" }),
    ).toMatchObject({
      status: 400,
      body: { __type: "UnknownOperationException" },
    });
    expect(s.server.calls.at(-1)).toMatchObject({
      service: "acm",
      operation: "RequestCertificate",
      error: "UnknownOperationException",
    });
    // The model check comes first: without DomainName it is refused as ACM refuses it, whoever implements it.
    const { result, violations } = await expectModelViolations(() =>
      post("CertificateManager.RequestCertificate"),
    );
    expect(result).toMatchObject({ status: 400, body: { __type: "ValidationException" } });
    expect(JSON.stringify(result.body)).toContain(
      "Value null at 'domainName' failed to satisfy constraint: Member must not be null",
    );
    expect(violations).toEqual([
      expect.objectContaining({ service: "acm", operation: "RequestCertificate", direction: "request" }),
    ]);
    expect(s.server.calls.at(-1)).toMatchObject({
      service: "acm",
      operation: "RequestCertificate",
      error: "ValidationException",
    });
  });

  it("listens on 127.0.0.1 only", async () => {
    const url = new URL(s.endpoint);
    expect(url.hostname).toBe("127.0.0.1");
    const port = Number(url.port);
    expect(await reachable("127.0.0.1", port)).toBe(true);
    // The rest of 127.0.0.0/8 reaches this host too (Linux), but nothing listens there.
    expect(await reachable("127.0.0.2", port)).toBe(false);
  });
});

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}
