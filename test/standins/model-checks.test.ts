/**
 * The model checks fire: every stand-in refuses a request AWS's published model does not allow, as that
 * service answers it (code, HTTP status, AWS's message naming the member), before the stand-in acts; a
 * stand-in answer the model does not allow is recorded; the models are required, never skipped.
 */
import { SearchCertificatesCommand } from "@aws-sdk/client-acm";
import { IssueCertificateCommand } from "@aws-sdk/client-acm-pca";
import { CreateDomainNameCommand } from "@aws-sdk/client-apigatewayv2";
import { CreateDistributionCommand, type DistributionConfig } from "@aws-sdk/client-cloudfront";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeTrustStoresCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { GetSMSSandboxAccountStatusCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localWorkflowStarter } from "../../standins/durable.ts";
import { dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { modelCheckedStarter } from "../../standins/lambda.ts";
import { botocoreDataDir, loadServiceModel, ModelsMissingError } from "../../standins/model/botocore.ts";
import { modelChecks } from "../../standins/model/checks.ts";
import { ShapeValidator, validationMessage } from "../../standins/model/validate.ts";
import { WireReader } from "../../standins/model/wire.ts";
import { queryActionOf, StandinServer, type WireRequest } from "../../standins/server.ts";
import { refusedByModel, withIntendedViolations } from "../support/model-checks.ts";

let s: Standins;
beforeAll(async () => {
  s = await startStandins();
});
afterAll(async () => {
  await s?.close();
});

/** The last call the stand-in server recorded: the refused request never reached the stand-in's own code. */
const lastCall = () => s.server.calls.at(-1);

describe("an invalid request is refused as the service refuses it, and changes nothing", () => {
  it("[model.invalid-request-json] ACM: SearchCertificates with MaxResults 501 is a 400 ValidationException naming maxResults", async () => {
    const { error, violations } = await refusedByModel(() =>
      s.clients().acm.send(new SearchCertificatesCommand({ MaxResults: 501 })),
    );
    expect(error).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    expect(error.message).toBe(
      "1 validation error detected: Value '501' at 'maxResults' failed to satisfy constraint: " +
        "Member must have value less than or equal to 500",
    );
    expect(violations).toEqual([
      expect.objectContaining({ service: "acm", operation: "SearchCertificates" }),
    ]);
    expect(lastCall()).toMatchObject({ service: "acm", operation: "SearchCertificates", status: 400 });
    // Within the model's range the same call is served.
    const ok = await s.clients().acm.send(new SearchCertificatesCommand({ MaxResults: 500 }));
    expect(ok.Results).toEqual([]);
  });

  it("[model.invalid-request-json] Secrets Manager, EventBridge and Private CA answer ValidationException", async () => {
    const clients = s.clients();
    const secret = await refusedByModel(() =>
      clients.secrets.send(new GetSecretValueCommand({ SecretId: "" })),
    );
    expect(secret.error).toMatchObject({ name: "ValidationException" });
    expect(secret.error.message).toContain("at 'secretId' failed to satisfy constraint");
    const events = await refusedByModel(() =>
      clients.eventbridge.send(new PutEventsCommand({ Entries: [] })),
    );
    expect(events.error).toMatchObject({ name: "ValidationException" });
    expect(events.error.message).toContain("'entries'");
    const pca = await refusedByModel(() =>
      clients.privateCa.send(
        new IssueCertificateCommand({
          CertificateAuthorityArn: "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
          Csr: new TextEncoder().encode("csr"),
          SigningAlgorithm: "SHA256WITHECDSA",
          Validity: { Type: "DAYS", Value: 1 },
          IdempotencyToken: "t".repeat(37),
        }),
      ),
    );
    expect(pca.error).toMatchObject({ name: "ValidationException" });
    expect(pca.error.message).toContain("'idempotencyToken'");
  });

  it("[model.invalid-request-query] SNS, ELBv2 and CloudWatch answer ValidationError", async () => {
    const clients = s.clients();
    const sns = await refusedByModel(() =>
      clients.sns.send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-1:111122223333:t" } as never)),
    );
    expect(sns.error).toMatchObject({ name: "ValidationError", $metadata: { httpStatusCode: 400 } });
    expect(sns.error.message).toContain("Value null at 'message' failed to satisfy constraint");
    const elb = await refusedByModel(() =>
      clients.elbv2.send(new DescribeTrustStoresCommand({ PageSize: 401 })),
    );
    expect(elb.error).toMatchObject({ name: "ValidationError" });
    expect(elb.error.message).toContain("'pageSize'");
    const cw = await refusedByModel(() =>
      clients.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: [{ Id: "", Expression: "1" }],
          StartTime: new Date(0),
          EndTime: new Date(),
        }),
      ),
    );
    expect(cw.error.message).toContain("'metricDataQueries.1.member.id'");
    expect((cw.error as unknown as { Code?: string }).Code ?? cw.error.name).toMatch(/ValidationError/);
  });

  it("[model.invalid-request-rest-xml] CloudFront and S3 answer InvalidArgument", async () => {
    const clients = s.clients();
    const before = s.cloudfront.ids().length;
    const cf = await refusedByModel(() =>
      clients.cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: {} as DistributionConfig }),
      ),
    );
    expect(cf.error).toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
    expect(cf.error.message).toContain("Value null at 'distributionConfig.callerReference'");
    expect(s.cloudfront.ids()).toHaveLength(before);
    const s3 = await refusedByModel(() =>
      clients.s3.send(
        new PutBucketVersioningCommand({
          Bucket: "bundles",
          VersioningConfiguration: { Status: "Sometimes" as never },
        }),
      ),
    );
    expect(s3.error).toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
    expect(s3.error.message).toContain("'versioningConfiguration.status'");
  });

  it("[model.invalid-request-rest-json] API Gateway v2 answers BadRequestException", async () => {
    const { error } = await refusedByModel(() =>
      s.clients().apigateway.send(new CreateDomainNameCommand({} as never)),
    );
    expect(error).toMatchObject({ name: "BadRequestException", $metadata: { httpStatusCode: 400 } });
    expect(error.message).toContain("Value null at 'domainName'");
  });

  it("[model.invalid-request-dynamodb] DynamoDB (dynalite behind the model check) answers ValidationException", async () => {
    const dynamo = await startDynamoDb();
    try {
      const { error } = await refusedByModel(() =>
        dynamoDbClient(dynamo.endpoint, { maxAttempts: 1 }).send(
          new GetItemCommand({ TableName: "t".repeat(1025), Key: { pk: { S: "x" } } }),
        ),
      );
      expect(error).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
      expect(error.message).toContain("at 'tableName' failed to satisfy constraint");
    } finally {
      await dynamo.close();
    }
  });

  it("[model.invalid-request-lambda] [model.patterns-whole-value] the local durable starter refuses an execution name Lambda's Invoke refuses (a pattern matches the whole value)", async () => {
    let ran = 0;
    const starter = modelCheckedStarter(
      localWorkflowStarter(() => ({
        run: async () => {
          ran += 1;
          return {} as never;
        },
      })),
    );
    const { error } = await refusedByModel(() => starter.start("has/slash", {} as never));
    expect(error).toMatchObject({ name: "ValidationException" });
    expect(error.message).toContain("'durableExecutionName'");
    await refusedByModel(() => starter.start("x".repeat(65), {} as never));
    expect(ran).toBe(0);
    expect(starter.executions()).toEqual([]);
  });

  it("[model.unknown-operation] an operation the model does not have is UnknownOperationException, and counted", async () => {
    const { violations } = await withIntendedViolations(async () => {
      const response = await fetch(`${s.endpoint}/`, {
        method: "POST",
        headers: {
          "x-amz-target": "CertificateManager.MakeCertificatesCheaper",
          "content-type": "application/x-amz-json-1.1",
        },
        body: "{}",
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ __type: "UnknownOperationException" });
    });
    expect(violations[0]).toMatchObject({ direction: "routing", operation: "MakeCertificatesCheaper" });
  });
});

describe("a stand-in answer AWS's model does not allow is caught", () => {
  /** A stand-in for SNS's GetSMSSandboxAccountStatus whose answer is the given `<...Result>` body. */
  async function snsAnswering(result: string) {
    const service = {
      service: "sns",
      operationFor: (request: WireRequest) => queryActionOf(request, "sns"),
      handle: () => ({
        status: 200,
        headers: { "content-type": "text/xml" },
        body:
          `<GetSMSSandboxAccountStatusResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">` +
          `<GetSMSSandboxAccountStatusResult>${result}</GetSMSSandboxAccountStatusResult>` +
          `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSMSSandboxAccountStatusResponse>`,
      }),
    };
    const server = new StandinServer([service]);
    const endpoint = await server.listen();
    const client = new SNSClient({ region: "us-east-1", endpoint, credentials: STANDIN_CREDENTIALS });
    return { server, client };
  }

  it("[model.answers-checked] an answer missing a required member is recorded as a violation of the answer", async () => {
    const { server, client } = await snsAnswering("");
    try {
      const { violations } = await withIntendedViolations(() =>
        client.send(new GetSMSSandboxAccountStatusCommand({})),
      );
      expect(violations).toEqual([
        expect.objectContaining({
          service: "sns",
          operation: "GetSMSSandboxAccountStatus",
          direction: "response",
          violations: [
            expect.objectContaining({ path: "IsInSandbox", constraint: "Member must not be null" }),
          ],
        }),
      ]);
    } finally {
      await server.close();
    }
  });

  it("[model.answers-checked] an answer with a member the model does not define, or a wrong type, is recorded", async () => {
    const { server, client } = await snsAnswering("<IsInSandbox>perhaps</IsInSandbox><Extra>1</Extra>");
    try {
      const { violations } = await withIntendedViolations(() =>
        client.send(new GetSMSSandboxAccountStatusCommand({})).catch(() => undefined),
      );
      const found = violations.flatMap((v) => v.violations.map((x) => `${x.path}: ${x.constraint}`));
      expect(found).toEqual([
        "IsInSandbox: Member must be a boolean",
        "Extra: Member is not defined by the model",
      ]);
    } finally {
      await server.close();
    }
  });

  it("[model.answers-checked] a well-formed answer passes unrecorded", async () => {
    const { server, client } = await snsAnswering("<IsInSandbox>true</IsInSandbox>");
    try {
      const before = modelChecks.counts();
      const out = await client.send(new GetSMSSandboxAccountStatusCommand({}));
      expect(out.IsInSandbox).toBe(true);
      const after = modelChecks.counts();
      expect(after.checked).toBe(before.checked + 1);
      expect(after.violations).toBe(before.violations);
    } finally {
      await server.close();
    }
  });

  it("[model.answers-lower-bounds] an answer below a lower bound the model shares with inputs is not a violation", () => {
    // DynamoDB's own documented answers hold "UnprocessedItems": {} although the model says min 1.
    const model = loadServiceModel("dynamodb");
    const answer = new ShapeValidator(model, { answer: true });
    const request = new ShapeValidator(model);
    const output = model.operations.BatchWriteItem!.output!.shape;
    expect(answer.validate(output, { UnprocessedItems: {} })).toEqual([]);
    const input = model.operations.BatchWriteItem!.input!.shape;
    expect(request.validate(input, { RequestItems: {} }).map((v) => v.constraint)).toEqual([
      "Member must have length greater than or equal to 1",
    ]);
  });
});

describe("reading the wire back into the model", () => {
  it("awsQuery: lists as Name.member.N, maps as Name.entry.N.key/value, scalars typed", () => {
    const model = loadServiceModel("sns");
    const reader = new WireReader(model);
    const body = new URLSearchParams({
      Action: "Publish",
      Version: "2010-03-31",
      TopicArn: "arn:aws:sns:us-east-1:111122223333:t",
      Message: "m",
      "MessageAttributes.entry.1.Name": "event",
      "MessageAttributes.entry.1.Value.DataType": "String",
      "MessageAttributes.entry.1.Value.StringValue": "rotation-started",
    }).toString();
    const decoded = reader.request("query", model.operations.Publish!, {
      method: "POST",
      path: "/",
      query: new URLSearchParams(),
      headers: {},
      body,
    });
    expect(decoded.violations).toEqual([]);
    expect(decoded.value).toEqual({
      TopicArn: "arn:aws:sns:us-east-1:111122223333:t",
      Message: "m",
      MessageAttributes: { event: { DataType: "String", StringValue: "rotation-started" } },
    });
    const unknown = reader.request("query", model.operations.Publish!, {
      method: "POST",
      path: "/",
      query: new URLSearchParams(),
      headers: {},
      body: `${body}&Bogus=1`,
    });
    expect(unknown.violations.map((v) => v.constraint)).toEqual(["Parameter is not defined by the model"]);
  });

  it("restXml: the HTTP binding is checked against the model's method and URI", () => {
    const model = loadServiceModel("cloudfront");
    const reader = new WireReader(model);
    const wrong = reader.request("rest-xml", model.operations.GetDistributionConfig!, {
      method: "GET",
      path: "/2020-05-31/distribution/E123",
      query: new URLSearchParams(),
      headers: {},
      body: "",
    });
    expect(wrong.violations.map((v) => v.constraint)).toEqual([
      "request must match GetDistributionConfig2020_05_31's HTTP binding GET /2020-05-31/distribution/{Id}/config",
    ]);
    const right = reader.request("rest-xml", model.operations.GetDistributionConfig!, {
      method: "GET",
      path: "/2020-05-31/distribution/E123/config",
      query: new URLSearchParams(),
      headers: {},
      body: "",
    });
    expect(right).toEqual({ value: { Id: "E123" }, violations: [] });
  });

  it("writes AWS's message for several violations", () => {
    expect(
      validationMessage([
        { member: "a", path: "A", constraint: "Member must not be null", value: "null" },
        {
          member: "b.1.member",
          path: "B[0]",
          constraint: "Member must have length less than or equal to 3",
          value: "'abcd'",
        },
      ]),
    ).toBe(
      "2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; " +
        "Value 'abcd' at 'b.1.member' failed to satisfy constraint: Member must have length less than or equal to 3",
    );
  });
});

describe("the models are required", () => {
  it("a missing botocore data directory is an error naming the fix, never a skip", () => {
    const saved = process.env.MTLS_ROTATOR_BOTOCORE_DATA;
    process.env.MTLS_ROTATOR_BOTOCORE_DATA = "/nonexistent/botocore/data";
    try {
      expect(() => botocoreDataDir()).toThrow(ModelsMissingError);
    } finally {
      if (saved === undefined) delete process.env.MTLS_ROTATOR_BOTOCORE_DATA;
      else process.env.MTLS_ROTATOR_BOTOCORE_DATA = saved;
    }
    expect(botocoreDataDir()).toMatch(/botocore[/\\]data$/);
  });
});

describe("no secret in a message", () => {
  it("never quotes a sensitive member's value (a secret string, a private key)", async () => {
    const secret = `-----BEGIN PRIVATE KEY-----${"A".repeat(65_536)}`;
    const { error, violations } = await refusedByModel(() =>
      s.clients().secrets.send(
        new PutSecretValueCommand({
          SecretId: "mtls-rotator/test/sensitive",
          SecretString: secret,
          ClientRequestToken: "t".repeat(32),
        }),
      ),
    );
    expect(error.message).toBe(
      "1 validation error detected: Value at 'secretString' failed to satisfy constraint: " +
        "Member must have length less than or equal to 65536",
    );
    expect(JSON.stringify(violations)).not.toContain("PRIVATE KEY");
  });
});
