/**
 * The SST infra, loaded against recording stand-ins of SST's globals (test/support/sst-infra.ts): what it
 * would declare is checked against the code that runs on it — the table against the rotation store's key
 * schema, the workflow's IAM against the AWS calls its adapters make, the linked settings against the wiring
 * that reads them, and every stage's settings against resolveSettings. test/infra/iam-reference.test.ts
 * checks the same IAM against AWS's Service Authorization Reference.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AcmAdapter, LINEAGE_TAGS, Pacer } from "../../functions/adapters/acm.ts";
import { CLIENT_AUTH_TEMPLATE_ARN } from "../../functions/adapters/private-ca.ts";
import { rotationTableDefinition } from "../../functions/adapters/rotation-store.ts";
import { resolveSettings } from "../../functions/config/settings.ts";
import { tableApiConfig } from "../../functions/wiring/api-reads.ts";
import { rotationsApiConfig } from "../../functions/wiring/api-rotations.ts";
import { scanApiConfig } from "../../functions/wiring/api-scan.ts";
import { viewerRevocationWriteConfig } from "../../functions/wiring/api-viewer-revocation-writes.ts";
import { viewerRevocationListConfig } from "../../functions/wiring/api-viewer-revocations.ts";
import { viewerMigrationsApiConfig } from "../../functions/wiring/api-viewer-start.ts";
import { SCAN_LINKS, scanConfig } from "../../functions/wiring/scan.ts";
import { TRACKING_LINKS, trackingConfig } from "../../functions/wiring/tracking.ts";
import { RECONCILIATION_LINKS, reconciliationConfig } from "../../functions/wiring/trust-reconciliation.ts";
import { VIEWER_WORKFLOW_LINKS, viewerWorkflowConfig } from "../../functions/wiring/viewer-migration.ts";
import { WORKFLOW_LINKS, wiringConfig } from "../../functions/wiring/workflow.ts";
import { LAMBDA_NODEJS, LAMBDAS } from "../../infra/lambdas.ts";
import {
  ACCOUNT,
  AUTHORITY_ARN,
  type Declared,
  isolateStubs,
  KEY_ARN,
  loadInfra,
  REGION,
  type Statement,
  VIEWER_DOMAINS,
  VIEWER_ENV,
  workflowRoleArn,
} from "../support/sst-infra.ts";

isolateStubs();

describe("storage", () => {
  it("declares the rotation table exactly as the rotation store defines it", async () => {
    const { one } = await loadInfra("production");
    const args = one("sst:aws:Dynamo").args as {
      fields: Record<string, string>;
      primaryIndex: { hashKey: string; rangeKey: string };
      globalIndexes: Record<string, { hashKey: string; rangeKey: string; projection: string[] }>;
      deletionProtection: boolean;
    };
    const expected = rotationTableDefinition("any");

    const types = { string: "S", number: "N", binary: "B" } as Record<string, string>;
    expect(
      Object.entries(args.fields)
        .map(([AttributeName, type]) => ({ AttributeName, AttributeType: types[type] }))
        .sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    ).toEqual(
      [...expected.AttributeDefinitions!].sort((a, b) => a.AttributeName!.localeCompare(b.AttributeName!)),
    );
    expect([
      { AttributeName: args.primaryIndex.hashKey, KeyType: "HASH" },
      { AttributeName: args.primaryIndex.rangeKey, KeyType: "RANGE" },
    ]).toEqual(expected.KeySchema);
    expect(
      Object.entries(args.globalIndexes).map(([IndexName, index]) => ({
        IndexName,
        KeySchema: [
          { AttributeName: index.hashKey, KeyType: "HASH" },
          { AttributeName: index.rangeKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: index.projection },
      })),
    ).toEqual(expected.GlobalSecondaryIndexes);
    expect(args.deletionProtection).toBe(true);
  });

  it("keeps every trust bundle version", async () => {
    const { one } = await loadInfra("staging");
    expect(one("sst:aws:Bucket").args).toMatchObject({ versioning: true });
  });
});

describe("notifications", () => {
  it("subscribes each configured address once, named after the address", async () => {
    const { declared, one } = await loadInfra("staging", {
      MTLS_ROTATOR_NOTIFY_EMAILS: "ops@example.com, OPS@example.com ,pki@example.org",
    });
    const subscriptions = declared.filter((d) => d.type === "aws:sns:TopicSubscription");
    const topicArn = (one("sst:aws:SnsTopic") &&
      one("sst:Linkable", "NotificationTopic").args.properties) as {
      arn: string;
    };
    expect(subscriptions.map((s) => s.args)).toEqual([
      { topic: topicArn.arn, protocol: "email", endpoint: "ops@example.com" },
      { topic: topicArn.arn, protocol: "email", endpoint: "pki@example.org" },
    ]);
    expect(subscriptions.map((s) => s.name)).toEqual([
      expect.stringMatching(/^NotificationEmail[0-9a-f]{12}$/),
      expect.stringMatching(/^NotificationEmail[0-9a-f]{12}$/),
    ]);

    const again = await loadInfra("staging", { MTLS_ROTATOR_NOTIFY_EMAILS: "pki@example.org" });
    const names = again.declared.filter((d) => d.type === "aws:sns:TopicSubscription").map((s) => s.name);
    expect(names).toEqual([subscriptions[1]!.name]);
  });
});

describe("the rotation workflow", () => {
  it("runs the workflow handler on Node 22 with the durable limits of the stage", async () => {
    const { one, settings } = await loadInfra("production");
    const args = one("sst:aws:Workflow", "RotationWorkflow").args as Record<string, unknown>;
    expect(args).toMatchObject({
      handler: "functions/handlers/rotation-workflow.handler",
      runtime: "nodejs22.x",
      retention: `${settings.settings.workflow.retentionDays} days`,
      timeout: { execution: `${settings.settings.workflow.executionTimeoutDays} days` },
    });
    const entry = readFileSync(
      new URL("../../functions/handlers/rotation-workflow.ts", import.meta.url),
      "utf8",
    );
    expect(entry).toMatch(/export const handler = /);
  });

  it("links what the wiring reads, in the shape it reads", async () => {
    const { one } = await loadInfra("production");
    const links = (
      one("sst:aws:Workflow", "RotationWorkflow").args.link as {
        name: string;
        properties: Record<string, unknown>;
      }[]
    )
      .map((l) => [l.name, l.properties] as const)
      .sort();
    expect(links.map(([name]) => name)).toEqual([...WORKFLOW_LINKS].sort());

    const config = wiringConfig({ resource: Object.fromEntries(links), env: { AWS_REGION: REGION } });
    expect(config).toMatchObject({
      tableName: expect.stringContaining("Rotations"),
      bundleKey: "trust/origin-client-ca.pem",
      bundleSecretName: "mtls-rotator/production/trust/origin-client-ca",
      credentialsKeyArn: KEY_ARN,
      workflowRoleArn: `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-production-RotationWorkflowRole`,
      settings: {
        authorityArn: AUTHORITY_ARN,
        credentialSecretPrefix: "mtls-rotator/production/credentials/",
        // The execution timeout, against which the API checks per-request overrides.
        maxRotationSeconds: 30 * 86_400,
      },
    });
  });

  it("grants no wildcard action, and '*' resources only where AWS offers nothing narrower", async () => {
    const { permissions } = await loadInfra("production");
    for (const statement of permissions) {
      for (const action of statement.actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
    }
    const starred = permissions.filter((s) => s.resources.includes("*")).flatMap((s) => s.actions);
    expect(starred.sort()).toEqual([
      "acm:SearchCertificates",
      "cloudfront:ListDistributions",
      "cloudwatch:GetMetricData",
      "cloudwatch:PutMetricData",
    ]);
  });

  it("scopes Private CA access to the configured CA and issuance to the client-auth template", async () => {
    const { permissions, CLIENT_AUTH_TEMPLATE_ARN: infraTemplate } = await loadInfra("production");
    expect(infraTemplate).toBe(CLIENT_AUTH_TEMPLATE_ARN);
    const pca = permissions.filter((s) => s.actions.some((a) => a.startsWith("acm-pca:")));
    for (const statement of pca) expect(statement.resources).toEqual([AUTHORITY_ARN]);
    const issue = pca.find((s) => s.actions.includes("acm-pca:IssueCertificate"))!;
    expect(issue.actions).toEqual(["acm-pca:IssueCertificate"]);
    expect(issue.conditions).toEqual([
      { test: "StringEquals", variable: "acm-pca:TemplateArn", values: [CLIENT_AUTH_TEMPLATE_ARN] },
    ]);
  });

  it("grants revocation only to stages that revoke retired certificates", async () => {
    const production = await loadInfra("production");
    const staging = await loadInfra("staging");
    const actions = (p: Statement[]) => p.flatMap((s) => s.actions);
    expect(production.settings.settings.rotation.revokeRetired).toBe(true);
    expect(actions(production.permissions)).toContain("acm-pca:RevokeCertificate");
    expect(staging.settings.settings.rotation.revokeRetired).toBe(false);
    expect(actions(staging.permissions)).not.toContain("acm-pca:RevokeCertificate");
  });

  it("narrows CloudFront writes to configured distributions when there are some", async () => {
    const all = await loadInfra("staging");
    const some = await loadInfra("staging", {
      MTLS_ROTATOR_DISTRIBUTION_IDS: "E2QWRUHAPOMQZL,E1ABCDEFGHIJK",
    });
    const update = (p: Statement[]) => p.find((s) => s.actions.includes("cloudfront:UpdateDistribution"))!;
    expect(update(all.permissions).resources).toEqual([`arn:aws:cloudfront::${ACCOUNT}:distribution/*`]);
    expect(update(some.permissions).resources).toEqual([
      `arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`,
      `arn:aws:cloudfront::${ACCOUNT}:distribution/E1ABCDEFGHIJK`,
    ]);
  });

  it("allows every AWS call the workflow's adapters make, on the resources they make it on", async () => {
    const { permissions } = await loadInfra("production");
    const prefix = "mtls-rotator/production/";
    const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
    const resources: Record<string, string> = {
      "acm-pca": AUTHORITY_ARN,
      acm: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`,
      cloudfront: `arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`,
      cloudwatch: "*",
      sns: `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-production-NotificationsTopic-abcdef`,
    };
    const sources: Array<[file: string, resource?: string]> = [
      ["functions/adapters/acm.ts"],
      ["functions/adapters/private-ca.ts"],
      ["functions/adapters/cloudfront.ts"],
      ["functions/adapters/metrics.ts"],
      ["functions/adapters/notifier.ts"],
      [
        "functions/adapters/secrets.ts",
        secret(`${prefix}credentials/1f2e3d4c-aaaa-bbbb-cccc-ddddeeeeffff-AbCdEf`),
      ],
      ["functions/trust/publish-bundle.ts", secret(`${prefix}trust/origin-client-ca-AbCdEf`)],
    ];
    const service: Record<string, string> = {
      "client-acm": "acm",
      "client-acm-pca": "acm-pca",
      "client-cloudfront": "cloudfront",
      "client-cloudwatch": "cloudwatch",
      "client-sns": "sns",
      "client-secrets-manager": "secretsmanager",
      "client-s3": "s3",
    };
    const bucketObject =
      "arn:aws:s3:::mtls-rotator-production-trustbundlesbucket-abcdef/trust/origin-client-ca.pem";
    // Calls of these adapters that only the tracking functions make (granted and checked there).
    const trackingOnly = new Set([
      "acm:SearchCertificates",
      "cloudfront:GetOriginRequestPolicy",
      "cloudfront:ListTrustStores",
    ]);
    const calls: Array<{ action: string; resource: string }> = [];
    for (const [file, fileResource] of sources) {
      const text = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
      for (const [, names, client] of text.matchAll(/import \{([^}]*)\} from "@aws-sdk\/([a-z0-9-]+)"/g)) {
        const prefixOf = service[client!]!;
        for (const name of names!.split(",").map((n) => n.trim())) {
          const command = /^(\w+)Command$/.exec(name)?.[1];
          if (!command) continue;
          // HeadObject is authorised as GetObject.
          const action = `${prefixOf}:${command === "HeadObject" ? "GetObject" : command}`;
          if (trackingOnly.has(action)) continue;
          calls.push({
            action,
            resource: prefixOf === "s3" ? bucketObject : (fileResource ?? resources[prefixOf]!),
          });
        }
      }
    }
    // Calls with tags need the tagging action too: a credential secret is created with tags, a certificate
    // imported with its lineage tags.
    calls.push({ action: "secretsmanager:TagResource", resource: sources[5]![1]! });
    calls.push({ action: "acm:AddTagsToCertificate", resource: resources.acm! });
    expect(calls.length).toBeGreaterThan(20);

    const allows = ({ action, resource }: { action: string; resource: string }) =>
      permissions.some(
        (s) =>
          s.actions.includes(action) && s.resources.some((pattern) => iamPatternMatches(pattern, resource)),
      );
    expect(calls.filter((call) => !allows(call))).toEqual([]);

    // And the rotation store's writes (lib-dynamodb commands: Get/Put/Update/Delete items).
    const table = permissions.find((s) => s.actions.includes("dynamodb:PutItem"))!;
    expect(table.actions.sort()).toEqual([
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    // The account's pacer (PACE# items of the same table) needs nothing beyond them.
    const pacer = readFileSync(new URL("../../functions/adapters/pacer.ts", import.meta.url), "utf8");
    const pacerCalls = [...pacer.matchAll(/new (Get|Put|Update|Delete)Command\(/g)].map(
      ([, verb]) => `dynamodb:${verb}Item`,
    );
    expect(new Set(pacerCalls)).toEqual(
      new Set(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
    );
    for (const action of pacerCalls) expect(table.actions).toContain(action);
    expect(table.resources).toEqual([
      `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/mtls-rotator-production-RotationsTable-abcdef`,
    ]);
  });

  it("lets the workflow publish the probe certificates and read, never write, origins' acknowledgements", async () => {
    const { permissions } = await loadInfra("production");
    const bucket = "arn:aws:s3:::mtls-rotator-production-trustbundlesbucket-abcdef";
    expect(permissions).toEqual(
      expect.arrayContaining([
        { actions: ["s3:GetObject", "s3:PutObject"], resources: [`${bucket}/trust/probe-certificates.pem`] },
        { actions: ["s3:GetObject"], resources: [`${bucket}/acks/*`] },
      ]),
    );
    const allowed = (action: string, resource: string) =>
      permissions.some(
        (s) =>
          s.actions.includes(action) && s.resources.some((pattern) => iamPatternMatches(pattern, resource)),
      );
    // Every call functions/trust/acknowledgements.ts makes (HeadObject is authorised as GetObject)...
    const source = readFileSync(
      new URL("../../functions/trust/acknowledgements.ts", import.meta.url),
      "utf8",
    );
    const commands = [...source.matchAll(/new (\w+)Command\(\{\s*Bucket: this\.bucket,\s*Key: (\w+)/g)].map(
      ([, command, key]) => [command === "HeadObject" ? "GetObject" : command, key] as const,
    );
    // GetObject and a conditional PutObject of the probe certificates, GetObject of an acknowledgement.
    expect(commands.length).toBe(3);
    for (const [command, key] of commands) {
      const resource =
        key === "PROBE_CERTIFICATES_KEY" ? "trust/probe-certificates.pem" : "acks/shop-api.json";
      expect(allowed(`s3:${command}`, `${bucket}/${resource}`), `${command} ${resource}`).toBe(true);
    }
    // ...and no write of an acknowledgement: only the origin host's own identity writes one.
    expect(allowed("s3:PutObject", `${bucket}/acks/shop-api.json`)).toBe(false);
  });

  it("lets the workflow import only certificates carrying the service's mark, and delete only certificates that carry it", async () => {
    const { permissions } = await loadInfra("production");
    const certificates = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/*`;
    const acm = permissions.filter((s) => s.actions.some((a) => a.startsWith("acm:")));
    expect(acm).toEqual([
      {
        actions: ["acm:DescribeCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate"],
        resources: [certificates],
      },
      {
        actions: ["acm:ImportCertificate", "acm:AddTagsToCertificate"],
        resources: [certificates],
        conditions: [
          { test: "StringEquals", variable: "aws:RequestTag/mtls-rotator:managed", values: ["true"] },
          { test: "ForAllValues:StringLike", variable: "aws:TagKeys", values: ["mtls-rotator:*"] },
        ],
      },
      {
        actions: ["acm:DeleteCertificate"],
        resources: [certificates],
        conditions: [
          { test: "StringEquals", variable: "aws:ResourceTag/mtls-rotator:managed", values: ["true"] },
        ],
      },
      { actions: ["acm:SearchCertificates"], resources: ["*"] },
    ]);
    // No other function may write certificates, and nobody may take tags off.
    const { declared } = await loadInfra("production");
    const writers = declared
      .filter((d) => ((d.args.permissions ?? []) as Statement[]).some((s) => s.actions.some(isAcmWrite)))
      .map((d) => d.name);
    expect(writers).toEqual(["RotationWorkflow"]);
    expect(permissions.flatMap((s) => s.actions)).not.toContain("acm:RemoveTagsFromCertificate");

    // The adapter's import satisfies the import's conditions, as IAM evaluates them on its request; the
    // certificate it imported satisfies the deletion's, one imported without the mark does not.
    let sent: { Tags?: { Key?: string; Value?: string }[] } | undefined;
    const client = {
      send: async (command: { input: typeof sent }) => {
        sent = command.input;
        return {
          CertificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`,
        };
      },
    };
    await new AcmAdapter(client as never, new Pacer(0)).importCertificate({
      certificatePem: "leaf",
      chainPem: "chain",
      privateKeyPem: "key",
      lineage: { rotationId: "r1", previousArn: "arn:aws:acm:us-east-1:1:certificate/x", credential: "c" },
    });
    const requestTags = Object.fromEntries((sent?.Tags ?? []).map((t) => [t.Key!, t.Value!]));
    const importStatement = acm[1]!;
    expect(conditionsHold(importStatement, { request: requestTags })).toBe(true);
    // A re-import (no tags: ACM refuses them on a re-import) or an import with a foreign tag key does not.
    expect(conditionsHold(importStatement, {})).toBe(false);
    expect(conditionsHold(importStatement, { request: { ...requestTags, owner: "someone" } })).toBe(false);
    const deleteStatement = acm[2]!;
    expect(conditionsHold(deleteStatement, { resource: requestTags })).toBe(true);
    expect(conditionsHold(deleteStatement, { resource: { owner: "someone" } })).toBe(false);
    expect(conditionsHold(deleteStatement, { resource: { [LINEAGE_TAGS.managed]: "false" } })).toBe(false);
  });

  it("grants the workflow on a credential secret's issuance secret what it grants on the credential secret, and on no secret outside the prefix", async () => {
    const { permissions } = await loadInfra("production");
    const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
    const credential = "mtls-rotator/production/credentials/1f2e3d4c-aaaa-bbbb-cccc-ddddeeeeffff";
    const granted = (resource: string) =>
      permissions
        .filter((s) => s.resources.some((pattern) => iamPatternMatches(pattern, resource)))
        .flatMap((s) => s.actions)
        .filter((a) => a.startsWith("secretsmanager:"))
        .sort();
    const onCredential = granted(secret(credential));
    expect(onCredential).toEqual([
      "secretsmanager:CreateSecret",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutResourcePolicy",
      "secretsmanager:PutSecretValue",
      "secretsmanager:TagResource",
      "secretsmanager:UpdateSecretVersionStage",
    ]);
    expect(granted(secret(`${credential}/issuance`))).toEqual(onCredential);
    expect(granted(secret("mtls-rotator/staging/credentials/x/issuance"))).toEqual([]);
  });

  it("names the workflow's role itself and tells the workflow that name, the role the credentials key's policy names (the secrets' resource policy names it too)", async () => {
    const { one } = await loadInfra("production");
    const workflow = one("sst:aws:Workflow", "RotationWorkflow");
    expect(workflow.args.transform).toEqual({
      function: { role: { name: "mtls-rotator-production-RotationWorkflowRole" } },
    });
    const settings = (workflow.args.link as { name: string; properties: Record<string, unknown> }[]).find(
      (l) => l.name === "RotationSettings",
    );
    const keyPolicy = JSON.parse(one("aws:kms:KeyPolicy", "CredentialsKeyPolicy").args.policy as string) as {
      Statement: { Sid: string; Principal: { AWS: string } }[];
    };
    const keyUser = keyPolicy.Statement.find((s) => s.Sid === "WorkflowUsesTheKeyThroughSecretsManager");
    expect(settings?.properties.workflowRoleArn).toBe(keyUser?.Principal.AWS);
    expect(settings?.properties.workflowRoleArn).toBe(
      `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-production-RotationWorkflowRole`,
    );
    // IAM role names are at most 64 characters: a long stage keeps a unique, valid name.
    const long = (await loadInfra("a-very-long-stage-name-for-a-pull-request-preview")).one(
      "sst:aws:Workflow",
      "RotationWorkflow",
    );
    const longName = (long.args.transform as { function: { role: { name: string } } }).function.role.name;
    expect(longName).toMatch(/^mtls-rotator-a-very-long-stage-name-for-a-pull-requ-[0-9a-f]{12}$/);
    expect(longName.length).toBeLessThanOrEqual(64);
  });

  it("lets the workflow put the credential secrets' resource policy only with BlockPublicPolicy", async () => {
    const { permissions } = await loadInfra("production");
    const grants = permissions.filter((p) => p.actions.includes("secretsmanager:PutResourcePolicy"));
    expect(grants).toEqual([
      {
        actions: ["secretsmanager:PutResourcePolicy"],
        resources: [expect.stringMatching(/:secret:mtls-rotator\/production\/credentials\/\*-\?{6}$/)],
        conditions: [{ test: "Bool", variable: "secretsmanager:BlockPublicPolicy", values: ["true"] }],
      },
    ]);
  });

  it("gives the credentials key a policy that lets only the workflow's role use it, through Secrets Manager, and the account administer it", async () => {
    const { one } = await loadInfra("production");
    const key = one("aws:kms:Key", "CredentialsKey");
    const keyPolicy = one("aws:kms:KeyPolicy", "CredentialsKeyPolicy");
    expect(keyPolicy.args.keyId).toBe(KEY_ARN.split("/")[1]);
    expect(key.args.policy).toBeUndefined(); // one policy per key: the KeyPolicy resource's
    const policy = JSON.parse(keyPolicy.args.policy as string) as {
      Statement: { Sid: string; Principal: { AWS: string }; Action: string[]; Condition?: unknown }[];
    };
    expect(policy.Statement.map((s) => [s.Sid, s.Principal.AWS])).toEqual([
      ["AccountAdministersTheKey", `arn:aws:iam::${ACCOUNT}:root`],
      [
        "WorkflowUsesTheKeyThroughSecretsManager",
        workflowRoleArn("production", "RotationWorkflow", "mtls-rotator-production-RotationWorkflowRole"),
      ],
    ]);
    const [account, workflow] = policy.Statement;
    // The account administers the key but cannot use it: no cryptographic operation, no grants, no wildcard.
    const cryptographic =
      /^kms:(Decrypt|Encrypt|ReEncrypt|GenerateDataKey|GenerateMac|VerifyMac|Sign|Verify|CreateGrant|Derive|\*)/;
    expect(account!.Action.filter((a) => cryptographic.test(a) || a.includes("*"))).toEqual([]);
    for (const needed of [
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:EnableKeyRotation",
      "kms:CreateAlias",
    ])
      expect(account!.Action).toContain(needed);
    expect(account!.Condition).toBeUndefined();
    // The workflow's role: what Secrets Manager needs for it, only through Secrets Manager, in this account.
    expect(workflow!.Action).toEqual(["kms:GenerateDataKey", "kms:Decrypt"]);
    expect(workflow!.Condition).toEqual({
      StringEquals: {
        "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`,
        "kms:CallerAccount": ACCOUNT,
      },
    });
  });

  it("lets the credentials key be used only through Secrets Manager", async () => {
    const { permissions } = await loadInfra("production");
    const kms = permissions.filter((s) => s.actions.some((a) => a.startsWith("kms:")));
    expect(kms).toEqual([
      {
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [KEY_ARN],
        conditions: [
          {
            test: "StringEquals",
            variable: "kms:ViaService",
            values: [`secretsmanager.${REGION}.amazonaws.com`],
          },
        ],
      },
    ]);
  });
});

describe("the viewer CA migration workflow", () => {
  const viewerRole = `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-production-ViewerMigrationWorkflowRole`;
  const keyStatements = (one: (type: string, name?: string) => Declared) =>
    (
      JSON.parse(one("aws:kms:KeyPolicy", "CredentialsKeyPolicy").args.policy as string) as {
        Statement: { Sid: string; Principal: { AWS: string }; Action: string[]; Condition?: unknown }[];
      }
    ).Statement;

  it("runs its handler on Node 22 with the stage's durable limits, under a role named in advance, linked what its wiring reads", async () => {
    const { one, settings } = await loadInfra("production", VIEWER_ENV);
    const workflow = one("sst:aws:Workflow", "ViewerMigrationWorkflow");
    expect(workflow.args).toMatchObject({
      handler: "functions/handlers/viewer-migration-workflow.handler",
      runtime: "nodejs22.x",
      nodejs: LAMBDA_NODEJS,
      retention: `${settings.settings.workflow.retentionDays} days`,
      timeout: { execution: `${settings.settings.workflow.executionTimeoutDays} days` },
      transform: { function: { role: { name: "mtls-rotator-production-ViewerMigrationWorkflowRole" } } },
    });
    const links = (workflow.args.link as { name: string; properties: Record<string, unknown> }[]).map(
      (l) => [l.name, l.properties] as const,
    );
    expect(links.map(([name]) => name).sort()).toEqual([...VIEWER_WORKFLOW_LINKS].sort());
    const config = viewerWorkflowConfig({ resource: Object.fromEntries(links), env: { AWS_REGION: REGION } });
    expect(config.domains.map((d) => d.name)).toEqual(["partners"]);
    expect(config.settings.credentialSecretPrefix).toBe("mtls-rotator/production/credentials/");
    expect(one("sst:Linkable", "ViewerSettings").args.properties).toEqual({ domains: config.domains });
  });

  it("may read, never write, credential secrets and decrypt them through Secrets Manager, when the stage has passthrough origins", async () => {
    const { one, viewerPermissions } = await loadInfra("production", VIEWER_ENV);
    const secrets = viewerPermissions.filter((s) =>
      s.resources.some((r) => r.includes(":secret:mtls-rotator/production/credentials/")),
    );
    expect(secrets).toEqual([
      {
        actions: ["secretsmanager:GetSecretValue"],
        resources: [expect.stringMatching(/:secret:mtls-rotator\/production\/credentials\/\*-\?{6}$/)],
      },
    ]);
    expect(viewerPermissions.filter((s) => s.actions.some((a) => a.startsWith("kms:")))).toEqual([
      {
        actions: ["kms:Decrypt"],
        resources: [KEY_ARN],
        conditions: [
          {
            test: "StringEquals",
            variable: "kms:ViaService",
            values: [`secretsmanager.${REGION}.amazonaws.com`],
          },
        ],
      },
    ]);
    // The key's policy allows its role the same (a key policy that does not name it would refuse Decrypt,
    // whatever IAM says): Decrypt only, through Secrets Manager, in this account.
    const statements = keyStatements(one);
    expect(statements.map((s) => s.Sid)).toEqual([
      "AccountAdministersTheKey",
      "WorkflowUsesTheKeyThroughSecretsManager",
      "ViewerMigrationReadsCredentialsThroughSecretsManager",
    ]);
    expect(statements[2]).toEqual({
      Sid: "ViewerMigrationReadsCredentialsThroughSecretsManager",
      Effect: "Allow",
      Principal: {
        AWS: workflowRoleArn(
          "production",
          "ViewerMigrationWorkflow",
          "mtls-rotator-production-ViewerMigrationWorkflowRole",
        ),
      },
      Action: ["kms:Decrypt"],
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`,
          "kms:CallerAccount": ACCOUNT,
        },
      },
    });
    expect(statements[2]!.Principal.AWS).toBe(viewerRole);
    // The rotation workflow names that role as a reader in the credential secrets' resource policy.
    const rotationLinks = one("sst:aws:Workflow", "RotationWorkflow").args.link as {
      name: string;
      properties: Record<string, unknown>;
    }[];
    const config = wiringConfig({
      resource: Object.fromEntries(rotationLinks.map((l) => [l.name, l.properties])),
      env: { AWS_REGION: REGION },
    });
    expect(config.credentialReaderRoleArns).toEqual([viewerRole]);
  });

  it("reads no credential and decrypts nothing in a stage without passthrough origins", async () => {
    const trustStoresOnly = [{ ...VIEWER_DOMAINS[0]!, passthrough: undefined }];
    for (const env of [{}, { MTLS_ROTATOR_VIEWER_TRUST_DOMAINS: JSON.stringify(trustStoresOnly) }] as Record<
      string,
      string
    >[]) {
      const { one, viewerPermissions } = await loadInfra("production", env);
      const granted = viewerPermissions.flatMap((s) => s.actions);
      expect(granted.filter((a) => a.startsWith("kms:") || a === "secretsmanager:GetSecretValue")).toEqual(
        [],
      );
      expect(keyStatements(one).map((s) => s.Sid)).toEqual([
        "AccountAdministersTheKey",
        "WorkflowUsesTheKeyThroughSecretsManager",
      ]);
      const settings = one("sst:Linkable", "RotationSettings").args.properties as Record<string, unknown>;
      expect(settings.credentialReaderRoleArns).toEqual([]);
    }
  });
});

describe("secret ARNs", () => {
  const arn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
  /** Every statement of every function, workflow and route the infra declares. */
  const allStatements = (declared: Declared[]) =>
    declared.flatMap((d) => ((d.args.permissions ?? []) as Statement[]).map((s) => ({ where: d.name, s })));

  it("names every secret with Secrets Manager's suffix: a named secret is `<name>-??????`, never `<name>*`", async () => {
    const { declared } = await loadInfra("production", {
      MTLS_ROTATOR_WEBHOOK_URL: "https://origins.example.com/mtls/trust-bundle",
      MTLS_ROTATOR_WEBHOOK_SECRET_NAME: "mtls-rotator/production/webhook-hmac",
    });
    const secretResources = allStatements(declared).flatMap(({ where, s }) =>
      s.resources.filter((r) => r.includes(":secretsmanager:")).map((resource) => ({ where, resource })),
    );
    expect(new Set(secretResources.map((r) => r.resource))).toEqual(
      new Set([
        arn("mtls-rotator/production/credentials/*-??????"),
        arn("mtls-rotator/production/trust/origin-client-ca-??????"),
        arn("mtls-rotator/production/webhook-hmac-??????"),
      ]),
    );
    for (const { where, resource } of secretResources) expect(resource, where).toMatch(/-\?{6}$/);

    const matches = (name: string) =>
      secretResources.some(({ resource }) => iamPatternMatches(resource, arn(name)));
    // The secrets themselves, as their ARNs are (name, hyphen, six random characters).
    expect(matches("mtls-rotator/production/trust/origin-client-ca-AbCdEf")).toBe(true);
    expect(matches("mtls-rotator/production/webhook-hmac-x1Y2z3")).toBe(true);
    expect(matches("mtls-rotator/production/credentials/1f2e3d4c-AbCdEf")).toBe(true);
    expect(matches("mtls-rotator/production/credentials/1f2e3d4c/issuance-AbCdEf")).toBe(true);
    // Other secrets whose names merely start with a granted name: `<name>*` would have matched them.
    expect(matches("mtls-rotator/production/trust/origin-client-ca-old-AbCdEf")).toBe(false);
    expect(matches("mtls-rotator/production/trust/origin-client-ca/x-AbCdEf")).toBe(false);
    expect(matches("mtls-rotator/production/webhook-hmac2-AbCdEf")).toBe(false);
    expect(matches("mtls-rotator/production/credentials-AbCdEf")).toBe(false);
  });
});

describe("settings", () => {
  it("gives every stage settings the workflow accepts", async () => {
    const { settings } = await loadInfra("production");
    for (const stage of [...Object.keys(settings.STAGES), "alice"]) {
      const deployed = settings.settingsFor(stage, { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN });
      expect(resolveSettings(deployed.rotation)).toEqual(deployed.rotation);
      expect(deployed.rotation.credentialSecretPrefix).toBe(`mtls-rotator/${stage}/credentials/`);
    }
  });

  it("uses the default policy for stages without an entry", async () => {
    const { settings } = await loadInfra("alice");
    expect(settings.settings.rotation).toMatchObject(settings.STAGES.default.policy);
  });

  it("stops the deploy with every problem named", async () => {
    const { settings } = await loadInfra("production");
    const error = (() => {
      try {
        settings.settingsFor("production", {
          MTLS_ROTATOR_AUTHORITY_ARN: "",
          MTLS_ROTATOR_NOTIFY_EMAILS: "ops@example.com,not-an-address",
          MTLS_ROTATOR_DISTRIBUTION_IDS: "e2qwruhapomqzl",
        });
      } catch (e) {
        return e as Error & { problems: string[] };
      }
      throw new Error("expected a DeploySettingsError");
    })();
    expect(error.name).toBe("DeploySettingsError");
    expect(error.problems).toEqual([
      'no Private CA: set MTLS_ROTATOR_AUTHORITY_ARN=arn:aws:acm-pca:<region>:<account>:certificate-authority/<id> (or authorityArn in STAGES["production"])',
      'notification email "not-an-address" is not an address',
      'rotation.distributionIds[0] must be a CloudFront distribution id, got "e2qwruhapomqzl" (MTLS_ROTATOR_DISTRIBUTION_IDS)',
    ]);
    expect(error.message).toContain('stage "production"');

    expect(() =>
      settings.settingsFor("production", { MTLS_ROTATOR_AUTHORITY_ARN: "arn:aws:acm:us-east-1:1:x" }),
    ).toThrow(
      'rotation.authorityArn must be a Private CA ARN, got "arn:aws:acm:us-east-1:1:x" (MTLS_ROTATOR_AUTHORITY_ARN)',
    );
  });

  it("every stage's gate fails closed on missing datapoints and waits at least as long as its bake", async () => {
    const { settings } = await loadInfra("production");
    type Gate = {
      onNoData: string;
      periodSeconds: number;
      metricsDeadlineSeconds: number;
      minDatapoints: number;
    };
    const stages = settings.STAGES as Record<string, { policy: { bakeSeconds: number; gate: Gate } }>;
    for (const [stage, { policy }] of Object.entries(stages)) {
      expect(policy.gate.onNoData, stage).toBe("fail");
      expect(policy.gate.periodSeconds % 60, stage).toBe(0);
      expect(policy.gate.metricsDeadlineSeconds, stage).toBeGreaterThanOrEqual(policy.bakeSeconds);
      expect(policy.gate.metricsDeadlineSeconds, stage).toBeGreaterThanOrEqual(
        (policy.gate.minDatapoints + 1) * policy.gate.periodSeconds,
      );
    }
    expect(settings.STAGES.production.policy.gate).toMatchObject({
      minDatapoints: 5,
      metricsDeadlineSeconds: 20 * 60,
      periodSeconds: 60,
    });
  });

  it("refuses a gate that could never see enough datapoints, or asks CloudFront for a period it does not have", async () => {
    const { settings } = await loadInfra("production");
    const production = settings.STAGES.production;
    const gate = production.policy.gate;
    const problemsWith = (change: Partial<typeof gate>) => {
      settings.STAGES.production = {
        ...production,
        policy: { ...production.policy, gate: { ...gate, ...change } },
      };
      try {
        settings.settingsFor("production", { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      } finally {
        settings.STAGES.production = production;
      }
    };
    expect(problemsWith({ periodSeconds: 1 })).toEqual([
      "rotation.gate.metricsDeadlineSeconds (1200) is more than 240 periods of gate.periodSeconds (1): the gate would poll too often",
      "rotation.gate.periodSeconds must be a multiple of 60 (CloudFront's one-minute metrics), got 1",
    ]);
    expect(problemsWith({ metricsDeadlineSeconds: 300 })).toEqual([
      'rotation.gate.metricsDeadlineSeconds (300) is shorter than 360 s, the time 5 datapoint(s) of 60 s need after a deployment: with onNoData "fail" every gate would fail',
    ]);
    expect(problemsWith({ metricsDeadlineSeconds: 300, onNoData: "pass" })).toEqual([]);
    expect(problemsWith({ minDatapoints: 0 })).toEqual([
      "rotation.gate.minDatapoints must be a whole number >= 1, got 0",
    ]);
    expect(problemsWith({ onNoData: "ignore" as "pass" })).toEqual([
      'rotation.gate.onNoData must be "fail" or "pass", got "ignore"',
    ]);
  });

  it("counts a gate that waits past the bake in the worst case", async () => {
    const { settings } = await loadInfra("production");
    const policy = settings.STAGES.production.policy;
    const longer = { ...policy, gate: { ...policy.gate, metricsDeadlineSeconds: policy.bakeSeconds + 3600 } };
    const waves = 2 + policy.waves.waves.length;
    expect(
      settings.worstCaseSeconds(longer) -
        settings.worstCaseSeconds({
          ...longer,
          gate: { ...longer.gate, metricsDeadlineSeconds: policy.bakeSeconds },
        }),
    ).toBe(waves * 3600);
  });

  it("refuses a policy a rotation could outlive the execution timeout with", async () => {
    const { settings } = await loadInfra("production");
    const production = settings.STAGES.production;
    const days = settings.worstCaseSeconds(production.policy) / 86_400;
    expect(days).toBeLessThan(production.workflow.executionTimeoutDays);

    settings.STAGES.production = {
      ...production,
      workflow: { ...production.workflow, executionTimeoutDays: 7 },
    };
    try {
      expect(() => settings.settingsFor("production", { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN })).toThrow(
        /a rotation can take up to 10\.\d days under this policy, longer than workflow\.executionTimeoutDays \(7\)/,
      );
    } finally {
      settings.STAGES.production = production;
    }
  });
});

describe("expiry tracking", () => {
  const PREVIOUS_ARN = `arn:aws:acm-pca:us-east-1:${ACCOUNT}:certificate-authority/11111111-2222-4333-8444-555555555555`;
  const queueArn = (stage: string, region = REGION) =>
    `arn:aws:sqs:${region}:${ACCOUNT}:mtls-rotator-${stage}-TrackingDeadLettersQueue`;
  const functions = (declared: Declared[]) => declared.filter((d) => d.type === "sst:aws:Function");

  it("scans on the stage's schedule, daily at 06:00 UTC unless configured, with retries and a dead-letter queue", async () => {
    const { one, declared } = await loadInfra("production");
    const cron = one("sst:aws:CronV2").args as Record<string, unknown>;
    expect(cron).toMatchObject({ schedule: "cron(0 6 * * ? *)", dlq: queueArn("production") });
    expect(cron.retries).toBeGreaterThan(0);
    expect((cron.function as { name: string }).name).toBe("mtls-rotator-production-TrackingScanFunction");
    one("sst:aws:Queue", "TrackingDeadLetters");

    // A failed invocation (the scan throws after a fleet with failures) is retried, then dead-lettered.
    expect(
      functions(declared)
        .map((f) => f.name)
        .sort(),
    ).toEqual(["AcmExpiryEvent", "TrackingScan", "TrustReconciliation"]);
    // The two invoked asynchronously (the scheduler, the event rule); the scan invokes the reconciliation
    // synchronously and records its failure itself.
    for (const fn of functions(declared).filter((f) => f.name !== "TrustReconciliation")) {
      expect(fn.args).toMatchObject({
        runtime: "nodejs22.x",
        retries: expect.any(Number),
        transform: {
          eventInvokeConfig: { destinationConfig: { onFailure: { destination: queueArn("production") } } },
        },
      });
    }

    const custom = await loadInfra("staging", { MTLS_ROTATOR_SCAN_SCHEDULE: "rate(12 hours)" });
    expect(custom.one("sst:aws:CronV2").args.schedule).toBe("rate(12 hours)");
  });

  it("refuses a schedule EventBridge Scheduler would refuse", async () => {
    const { settings } = await loadInfra("production");
    const env = (schedule: string) => ({
      MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN,
      MTLS_ROTATOR_SCAN_SCHEDULE: schedule,
    });
    for (const good of ["rate(1 day)", "rate(6 hours)", "cron(0 6 * * ? *)", "cron(30 5 ? * MON-FRI *)"])
      expect(settings.settingsFor("production", env(good)).tracking.schedule).toBe(good);
    for (const bad of [
      "rate(1 days)",
      "rate(2 day)",
      "rate(0 hours)",
      "cron(0 6 * * * *)",
      "at(2026-01-01T00:00:00)",
      "daily",
    ])
      expect(() => settings.settingsFor("production", env(bad)), bad).toThrow(/scan schedule/);
  });

  it("runs handlers that exist and export `handler`", async () => {
    const { declared } = await loadInfra("production");
    for (const fn of functions(declared)) {
      const [file, exported] = (fn.args.handler as string).split(".");
      expect(exported).toBe("handler");
      expect(readFileSync(new URL(`../../${file}.ts`, import.meta.url), "utf8")).toMatch(
        /export const handler = /,
      );
    }
  });

  it("invokes the expiry handler on exactly ACM's Approaching Expiration events on the default bus", async () => {
    const { declared, one } = await loadInfra("production");
    const rules = declared.filter((d) => d.type === "aws:cloudwatch:EventRule" && d.name === "AcmExpiryRule");
    expect(rules).toHaveLength(1);
    const rule = rules[0]!;
    expect(JSON.parse(rule.args.eventPattern as string)).toEqual({
      source: ["aws.acm"],
      "detail-type": ["ACM Certificate Approaching Expiration"],
    });
    expect(rule.args.eventBusName).toBeUndefined(); // the default bus: where AWS services' events arrive
    expect(rule.opts?.provider).toBeUndefined(); // the service's region

    const ruleArn = `arn:aws:events:${REGION}:${ACCOUNT}:rule/AcmExpiryRule-rule`;
    const handler = one("sst:aws:Function", "AcmExpiryEvent");
    expect(handler.args.handler).toBe("functions/handlers/acm-expiry-event.handler");
    expect(one("aws:cloudwatch:EventTarget", "AcmExpiryTarget").args).toMatchObject({
      rule: "AcmExpiryRule-rule",
      arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-AcmExpiryEventFunction`,
      deadLetterConfig: { arn: queueArn("production") },
    });
    expect(one("aws:lambda:Permission").args).toEqual({
      action: "lambda:InvokeFunction",
      function: "mtls-rotator-production-AcmExpiryEventFunction",
      principal: "events.amazonaws.com",
      sourceArn: ruleArn,
    });
    // The rule's dead letters: only EventBridge, only for this rule.
    const policy = JSON.parse(one("aws:sqs:QueuePolicy").args.policy as string);
    expect(policy.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn("production"),
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
      },
    ]);
  });

  it("forwards ACM's us-east-1 events to the service region's default bus, and only when it runs elsewhere", async () => {
    const elsewhere = await loadInfra("production");
    const forward = elsewhere.one("aws:cloudwatch:EventRule", "AcmExpiryForwardRule");
    const provider = elsewhere.one("pulumi:providers:aws");
    expect(provider.args).toEqual({ region: "us-east-1" });
    expect(forward.opts?.provider).toBeDefined();
    expect(JSON.parse(forward.args.eventPattern as string)).toEqual({
      source: ["aws.acm"],
      "detail-type": ["ACM Certificate Approaching Expiration"],
    });
    const bus = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;
    const target = elsewhere.one("aws:cloudwatch:EventTarget", "AcmExpiryForwardTarget");
    expect(target.args).toMatchObject({
      arn: bus,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/AcmExpiryForwardRole`,
    });
    expect(target.opts?.provider).toBe(forward.opts?.provider);
    const role = elsewhere.one("aws:iam:Role").args as {
      inlinePolicies: { policy: string }[];
      assumeRolePolicy: string;
    };
    expect(role.inlinePolicies.map((p) => JSON.parse(p.policy).Statement)).toEqual([
      [{ Effect: "Allow", Action: "events:PutEvents", Resource: bus }],
    ]);
    // Only the forwarding rule may have EventBridge assume the role (aws:SourceArn), in this account.
    expect(JSON.parse(role.assumeRolePolicy).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ArnEquals: { "aws:SourceArn": expect.stringMatching(/AcmExpiryForwardRule/) },
        },
      },
    ]);

    // us-east-1 is not a documented durable-functions region (infra/settings.ts): deployable by override.
    const home = await loadInfra(
      "production",
      { MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION: "1" },
      "us-east-1",
    );
    expect(home.declared.filter((d) => d.type === "aws:cloudwatch:EventRule").map((d) => d.name)).toEqual([
      "AcmExpiryRule",
    ]);
    expect(
      home.declared.filter((d) => d.type === "pulumi:providers:aws" || d.type === "aws:iam:Role"),
    ).toEqual([]);
  });

  it("grants no wildcard action, '*' resources only where AWS offers nothing narrower", async () => {
    const { trackingPermissions, scanPermissions, expiryEventPermissions, one } =
      await loadInfra("production");
    expect(one("sst:aws:Function", "TrackingScan").args.permissions).toBe(scanPermissions);
    expect(one("sst:aws:Function", "AcmExpiryEvent").args.permissions).toBe(expiryEventPermissions);
    // The expiry event: the tracking permissions, every DynamoDB action limited to its partitions.
    expect(expiryEventPermissions.map((s: Statement) => ({ ...s, conditions: undefined }))).toEqual(
      trackingPermissions.map((s: Statement) => ({ ...s, conditions: undefined })),
    );
    for (const statement of expiryEventPermissions as Statement[]) {
      const dynamodb = statement.actions.every((a) => a.startsWith("dynamodb:"));
      const leading = statement.conditions?.find((c) => c.variable === "dynamodb:LeadingKeys");
      if (statement.actions.includes("dynamodb:DeleteItem")) {
        expect(leading?.values).toEqual(["CERT#*"]);
        continue;
      }
      expect(leading, statement.actions.join()).toEqual(
        dynamodb
          ? {
              test: "ForAllValues:StringLike",
              variable: "dynamodb:LeadingKeys",
              values: ["INVENTORY", "ALERT#*", "ROT#*", "CERT#*"],
            }
          : undefined,
      );
    }
    for (const permissions of [trackingPermissions, scanPermissions, expiryEventPermissions]) {
      for (const statement of permissions) {
        for (const action of statement.actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        expect(statement.resources.length).toBeGreaterThan(0);
      }
      const starred = permissions.filter((s) => s.resources.includes("*")).flatMap((s) => s.actions);
      // ListTrustStores (the full scan's viewer mTLS inventory) names no resource type either.
      expect(starred.sort()).toEqual([
        "acm:SearchCertificates",
        "cloudfront:ListDistributions",
        ...(permissions === scanPermissions ? ["cloudfront:ListTrustStores"] : []),
      ]);
    }
  });

  it("lets only the trust reconciliation publish the trust bundle: this object, this bucket, this secret", async () => {
    const { trackingPermissions, scanPermissions, trustReconcilePermissions } = await loadInfra("production");
    const bucket = "arn:aws:s3:::mtls-rotator-production-trustbundlesbucket-abcdef";
    const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:mtls-rotator/production/trust/origin-client-ca-??????`;
    const trust = [
      { actions: ["s3:GetObject", "s3:PutObject"], resources: [`${bucket}/trust/origin-client-ca.pem`] },
      // ListBucket: a missing bundle answers 404, not 403 (the first publish).
      { actions: ["s3:ListBucket"], resources: [bucket] },
      // The probe certificates, republished with each reconciled bundle; no acknowledgement.
      { actions: ["s3:GetObject", "s3:PutObject"], resources: [`${bucket}/trust/probe-certificates.pem`] },
      {
        actions: [
          "secretsmanager:GetSecretValue",
          "secretsmanager:PutSecretValue",
          "secretsmanager:CreateSecret",
          "secretsmanager:UpdateSecretVersionStage",
        ],
        resources: [secret],
      },
    ];
    expect(trustReconcilePermissions).toEqual(expect.arrayContaining(trust));
    expect(trustReconcilePermissions.some((s) => s.resources.some((r) => String(r).includes("/acks/")))).toBe(
      false,
    );
    // The scan may only invoke the reconciliation function (synchronously, after a full scan), and read
    // what the viewer mTLS inventory needs (trust stores, origin request policies): nothing that writes.
    expect(scanPermissions).toEqual([
      ...trackingPermissions,
      { actions: ["lambda:InvokeFunction"], resources: [expect.stringContaining("TrustReconciliation")] },
      { actions: ["cloudfront:ListTrustStores"], resources: ["*"] },
      {
        actions: ["cloudfront:GetOriginRequestPolicy"],
        resources: [`arn:aws:cloudfront::${ACCOUNT}:origin-request-policy/*`],
      },
    ]);
    // The expiry function scans one certificate and never reconciles: no bundle access at all.
    const bundleAccess = trackingPermissions.flatMap((s) =>
      s.actions.filter((a) => a.startsWith("s3:") || a.startsWith("secretsmanager:")),
    );
    expect(bundleAccess).toEqual([]);

    // Every call the trust targets make (functions/trust/publish-bundle.ts) is allowed to the scan.
    const source = readFileSync(new URL("../../functions/trust/publish-bundle.ts", import.meta.url), "utf8");
    const prefixes: Record<string, string> = {
      "client-s3": "s3",
      "client-secrets-manager": "secretsmanager",
    };
    const resources: Record<string, string> = {
      s3: `${bucket}/trust/origin-client-ca.pem`,
      secretsmanager: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:mtls-rotator/production/trust/origin-client-ca-AbCdEf`,
    };
    const calls: Array<{ action: string; resource: string }> = [];
    for (const [, names, client] of source.matchAll(/import \{([^}]*)\} from "@aws-sdk\/([a-z0-9-]+)"/g)) {
      const prefix = prefixes[client!]!;
      for (const name of names!.split(",").map((n) => n.trim())) {
        const command = /^(\w+)Command$/.exec(name)?.[1];
        if (!command) continue;
        // HeadObject is authorised as GetObject.
        calls.push({
          action: `${prefix}:${command === "HeadObject" ? "GetObject" : command}`,
          resource: resources[prefix]!,
        });
      }
    }
    expect(calls.length).toBe(7);
    const allows = (permissions: Statement[], { action, resource }: { action: string; resource: string }) =>
      permissions.some(
        (s) =>
          s.actions.includes(action) && s.resources.some((pattern) => iamPatternMatches(pattern, resource)),
      );
    expect(calls.filter((call) => !allows(trustReconcilePermissions, call))).toEqual([]);
    expect(calls.filter((call) => allows(scanPermissions, call))).toEqual([]);
    expect(calls.filter((call) => allows(trackingPermissions, call))).toEqual([]);
    // Not another secret of the stage (the credential secrets hold private keys).
    expect(
      allows([...scanPermissions, ...trustReconcilePermissions], {
        action: "secretsmanager:GetSecretValue",
        resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:mtls-rotator/production/credentials/x-AbCdEf`,
      }),
    ).toBe(false);
  });

  it("allows every call the scan makes, on the resources it makes it on, and nothing else", async () => {
    const { trackingPermissions } = await loadInfra("production", {
      MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS: PREVIOUS_ARN,
    });
    const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/mtls-rotator-production-RotationsTable-abcdef`;
    const calls = [
      { action: "acm:SearchCertificates", resource: "*" },
      { action: "cloudfront:ListDistributions", resource: "*" },
      // Which CA key signed a certificate naming a configured CA: its body, any certificate in us-east-1.
      { action: "acm:GetCertificate", resource: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/*` },
      { action: "acm-pca:GetCertificateAuthorityCertificate", resource: AUTHORITY_ARN },
      { action: "acm-pca:GetCertificateAuthorityCertificate", resource: PREVIOUS_ARN },
      // Inventory: Query (loadAll), BatchWriteItem (putMany), GetItem/PutItem (reported drift, the CA
      // retirement clock); the dispatcher's status lookup: GetItem.
      ...["Query", "BatchWriteItem", "GetItem", "PutItem"].map((a) => ({
        action: `dynamodb:${a}`,
        resource: table,
      })),
      // A durable start is an Invoke of the published version.
      {
        action: "lambda:InvokeFunction",
        resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-RotationWorkflowHandler:3`,
      },
      // Whether an earlier rotation is alive (its execution by name), and releasing a dead one's lock.
      {
        action: "lambda:ListDurableExecutionsByFunction",
        resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-RotationWorkflowHandler`,
      },
      { action: "dynamodb:DeleteItem", resource: table },
      {
        action: "sns:Publish",
        resource: `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-production-NotificationsTopic-abcdef`,
      },
      // Lambda's on-failure destination, sent with the function's role.
      { action: "sqs:SendMessage", resource: queueArn("production") },
    ];
    const allows = ({ action, resource }: { action: string; resource: string }) =>
      trackingPermissions.some((s) => s.actions.includes(action) && s.resources.includes(resource));
    expect(calls.filter((call) => !allows(call))).toEqual([]);
    // Nothing granted beyond those calls.
    const granted = trackingPermissions.flatMap((s) =>
      s.actions.flatMap((a) => s.resources.map((r) => `${a} ${r}`)),
    );
    expect(granted.sort()).toEqual(calls.map((c) => `${c.action} ${c.resource}`).sort());
  });

  it("lets the full scan alone read trust stores and origin request policies (the viewer mTLS inventory)", async () => {
    const { scanPermissions, expiryEventPermissions, trackingPermissions } = await loadInfra("production");
    const viewerCalls = [
      { action: "cloudfront:ListTrustStores", resource: "*" },
      // A managed policy (Managed-AllViewer) and a custom one: the same resource type, origin-request-policy.
      {
        action: "cloudfront:GetOriginRequestPolicy",
        resource: `arn:aws:cloudfront::${ACCOUNT}:origin-request-policy/216adef6-5c7f-47e4-b989-5492eafa07d3`,
      },
      {
        action: "cloudfront:GetOriginRequestPolicy",
        resource: `arn:aws:cloudfront::${ACCOUNT}:origin-request-policy/0a1b2c3d-0000-4000-8000-000000000000`,
      },
    ];
    const allows =
      (permissions: typeof scanPermissions) =>
      ({ action, resource }: { action: string; resource: string }) =>
        permissions.some(
          (s) =>
            s.actions.includes(action) && s.resources.some((p) => iamPatternMatches(String(p), resource)),
        );
    expect(viewerCalls.filter((call) => !allows(scanPermissions)(call))).toEqual([]);
    // An ACM expiry event decides one certificate: it never builds the viewer inventory.
    expect(viewerCalls.filter(allows(expiryEventPermissions))).toEqual([]);
    expect(viewerCalls.filter(allows(trackingPermissions))).toEqual([]);
    // Not a distribution's ARN: GetOriginRequestPolicy is granted on policies only.
    expect(
      allows(scanPermissions)({
        action: "cloudfront:GetOriginRequestPolicy",
        resource: `arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`,
      }),
    ).toBe(false);
  });

  it("links what the tracking wiring reads, in the shape it reads", async () => {
    const { one, settings, trackingPermissions } = await loadInfra("production", {
      MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS: PREVIOUS_ARN,
    });
    for (const name of ["TrackingScan", "AcmExpiryEvent"]) {
      const links = one("sst:aws:Function", name).args.link as {
        name: string;
        properties: Record<string, unknown>;
      }[];
      expect(links.map((l) => l.name).sort()).toEqual(
        [...(name === "TrackingScan" ? SCAN_LINKS : TRACKING_LINKS)].sort(),
      );
      const resource = Object.fromEntries(links.map((l) => [l.name, l.properties]));
      const config = trackingConfig({ resource, env: { AWS_REGION: REGION } });
      expect(config).toEqual({
        region: REGION,
        tableName: "mtls-rotator-production-RotationsTable-abcdef",
        topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-production-NotificationsTopic-abcdef`,
        bucketName: "mtls-rotator-production-trustbundlesbucket-abcdef",
        bundleKey: "trust/origin-client-ca.pem",
        bundleSecretName: "mtls-rotator/production/trust/origin-client-ca",
        workflow: { name: "mtls-rotator-production-RotationWorkflowHandler", qualifier: "3" },
        authorityArns: [AUTHORITY_ARN, PREVIOUS_ARN],
        trackedAuthorityArns: [AUTHORITY_ARN, PREVIOUS_ARN],
        renewBefore: settings.settings.rotation.renewBefore,
        thresholdsDays: [30, 14, 7, 1],
        caRetirementGraceSeconds: 7 * 86_400,
        targets: { cloudFrontTrustStoreIds: [], albTrustStoreArns: [], apiGatewayDomainNames: [] },
      });
      // Every CA whose certificate's expiry the full scan tracks may be read by the tracking roles.
      const readable = trackingPermissions
        .filter((p) => p.actions.includes("acm-pca:GetCertificateAuthorityCertificate"))
        .flatMap((p) => p.resources);
      expect(config.trackedAuthorityArns.filter((arn) => !readable.includes(arn))).toEqual([]);
      // The scan reconciles the bundle the workflow publishes: the same object and secret.
      const workflowLinks = one("sst:aws:Workflow", "RotationWorkflow").args.link as {
        name: string;
        properties: Record<string, unknown>;
      }[];
      const workflow = wiringConfig({
        resource: Object.fromEntries(workflowLinks.map((l) => [l.name, l.properties])),
        env: { AWS_REGION: REGION },
      });
      expect({
        bucketName: config.bucketName,
        bundleKey: config.bundleKey,
        bundleSecretName: config.bundleSecretName,
      }).toEqual({
        bucketName: workflow.bucketName,
        bundleKey: workflow.bundleKey,
        bundleSecretName: workflow.bundleSecretName,
      });
      if (name === "TrackingScan")
        expect(scanConfig({ resource, env: { AWS_REGION: REGION } }).reconciliationFunction).toBe(
          "mtls-rotator-production-TrustReconciliationFunction",
        );
    }
    // The reconciliation function reads what it publishes from: the workflow's bundle, the same CAs.
    const reconcileLinks = one("sst:aws:Function", "TrustReconciliation").args.link as {
      name: string;
      properties: Record<string, unknown>;
    }[];
    expect(reconcileLinks.map((l) => l.name).sort()).toEqual([...RECONCILIATION_LINKS].sort());
    const reconciliation = reconciliationConfig({
      resource: Object.fromEntries(reconcileLinks.map((l) => [l.name, l.properties])),
      env: { AWS_REGION: REGION },
    });
    expect(reconciliation).toMatchObject({
      bucketName: "mtls-rotator-production-trustbundlesbucket-abcdef",
      bundleKey: "trust/origin-client-ca.pem",
      bundleSecretName: "mtls-rotator/production/trust/origin-client-ca",
      authorityArns: [AUTHORITY_ARN, PREVIOUS_ARN],
      caRetirementGraceSeconds: 7 * 86_400,
    });
  });

  it("keeps an unused CA in the bundle per stage: 7 days in production, refused outside 0..366 days", async () => {
    const { settings } = await loadInfra("production");
    const grace = (stage: string) =>
      settings.settingsFor(stage, { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN }).tracking
        .caRetirementGraceSeconds;
    expect(grace("production")).toBe(7 * 86_400);
    expect(grace("staging")).toBe(86_400);
    expect(grace("alice")).toBe(settings.STAGES.default.tracking.caRetirementGraceSeconds);
    expect(settings.DEFAULT_TRACKING.caRetirementGraceSeconds).toBe(7 * 86_400);

    const production = settings.STAGES.production;
    try {
      for (const [value, ok] of [
        [0, true],
        [366 * 86_400, true],
        [-1, false],
        [1.5, false],
        [366 * 86_400 + 1, false],
      ] as const) {
        settings.STAGES.production = { ...production, tracking: { caRetirementGraceSeconds: value } };
        const deploy = () =>
          settings.settingsFor("production", { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN });
        if (ok) expect(deploy().tracking.caRetirementGraceSeconds).toBe(value);
        else
          expect(deploy, String(value)).toThrow(
            `tracking.caRetirementGraceSeconds must be a whole number of seconds from 0 to 31622400, got ${value}`,
          );
      }
    } finally {
      settings.STAGES.production = production;
    }

    // What every stage links is what the scan's wiring accepts.
    for (const stage of [...Object.keys(settings.STAGES), "alice"]) {
      const deployed = await loadInfra(stage);
      const links = deployed.one("sst:aws:Function", "TrackingScan").args.link as {
        name: string;
        properties: Record<string, unknown>;
      }[];
      const resource = Object.fromEntries(links.map((l) => [l.name, l.properties]));
      expect(trackingConfig({ resource, env: { AWS_REGION: REGION } }).caRetirementGraceSeconds).toBe(
        deployed.settings.settings.tracking.caRetirementGraceSeconds,
      );
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\/]/g, "\\$&");
}

/** ACM actions that change certificates. */
function isAcmWrite(action: string): boolean {
  return /^acm:(Import|Delete|AddTags|RemoveTags|Renew|Request|Export|Update|Resend)/.test(action);
}

/**
 * Whether a statement's conditions hold for a request with these request tags and a resource with these
 * tags, as IAM evaluates the operators used here: StringEquals on a single-valued key (false when the key is
 * missing), ForAllValues:StringLike on aws:TagKeys (true when there are none).
 */
function conditionsHold(
  statement: Statement,
  context: { request?: Record<string, string>; resource?: Record<string, string> },
): boolean {
  const value = (variable: string): string[] | undefined => {
    if (variable === "aws:TagKeys") return Object.keys(context.request ?? {});
    const [, kind, key] = /^aws:(RequestTag|ResourceTag)\/(.+)$/.exec(variable) ?? [];
    const tags =
      kind === "RequestTag" ? context.request : kind === "ResourceTag" ? context.resource : undefined;
    const found = key !== undefined ? tags?.[key] : undefined;
    return found === undefined ? undefined : [found];
  };
  return (statement.conditions ?? []).every(({ test, variable, values }) => {
    const actual = value(variable);
    if (test === "StringEquals") return actual !== undefined && values.includes(actual[0]!);
    if (test === "ForAllValues:StringLike")
      return (actual ?? []).every((v) => values.some((pattern) => iamPatternMatches(pattern, v)));
    throw new Error(`conditionsHold: no evaluation for ${test}`);
  });
}

/** Whether an IAM resource pattern matches `resource`: `*` any run of characters, `?` any one character. */
function iamPatternMatches(pattern: string, resource: string): boolean {
  const regex = pattern
    .split("*")
    .map((part) => part.split("?").map(escapeRegExp).join("."))
    .join(".*");
  return new RegExp(`^${regex}$`).test(resource);
}

describe("optional trust targets", () => {
  const ALB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:truststore/origin-alb/0123456789abcdef`;
  const TARGETS = {
    MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS: "TS1ABCDEFGH, TS2ABCDEFGH",
    MTLS_ROTATOR_ALB_TRUST_STORE_ARNS: ALB,
    MTLS_ROTATOR_APIGATEWAY_DOMAINS: "API.Origin.Example.com",
    MTLS_ROTATOR_WEBHOOK_URL: "https://origins.example.com/mtls/trust-bundle",
    MTLS_ROTATOR_WEBHOOK_SECRET_NAME: "mtls-rotator/production/webhook-hmac",
    MTLS_ROTATOR_EVENT_BUS: "origin-trust",
  };
  const bucket = "arn:aws:s3:::mtls-rotator-production-trustbundlesbucket-abcdef";
  const allows = (permissions: Statement[], { action, resource }: { action: string; resource: string }) =>
    permissions.some(
      (s) =>
        s.actions.includes(action) && s.resources.some((pattern) => iamPatternMatches(pattern, resource)),
    );

  it("are read from the deploying shell, checked, and linked to the workflow and the scan alike", async () => {
    const { one, settings } = await loadInfra("production", TARGETS);
    expect(settings.settings.trust.targets).toEqual({
      cloudFrontTrustStoreIds: ["TS1ABCDEFGH", "TS2ABCDEFGH"],
      albTrustStoreArns: [ALB],
      apiGatewayDomainNames: ["api.origin.example.com"],
      webhook: {
        url: "https://origins.example.com/mtls/trust-bundle",
        secretName: "mtls-rotator/production/webhook-hmac",
      },
      eventBus: "origin-trust",
    });
    const resource = (links: { name: string; properties: Record<string, unknown> }[]) =>
      Object.fromEntries(links.map((l) => [l.name, l.properties]));
    const workflow = wiringConfig({
      resource: resource(one("sst:aws:Workflow", "RotationWorkflow").args.link as never),
      env: { AWS_REGION: REGION },
    });
    const scan = trackingConfig({
      resource: resource(one("sst:aws:Function", "TrackingScan").args.link as never),
      env: { AWS_REGION: REGION },
    });
    expect(workflow.targets).toEqual(settings.settings.trust.targets);
    expect(scan.targets).toEqual(settings.settings.trust.targets);
  });

  it("lets the workflow and the trust reconciliation make every call the targets make, on those resources only", async () => {
    const { permissions, trackingPermissions, scanPermissions, trustReconcilePermissions } = await loadInfra(
      "production",
      TARGETS,
    );
    const resources: Record<string, string[]> = {
      cloudfront: [
        `arn:aws:cloudfront::${ACCOUNT}:trust-store/TS1ABCDEFGH`,
        `arn:aws:cloudfront::${ACCOUNT}:trust-store/TS2ABCDEFGH`,
      ],
      elasticloadbalancing: [ALB],
      apigateway: [`arn:aws:apigateway:${REGION}::/domainnames/api.origin.example.com`],
      events: [`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/origin-trust`],
      s3: [
        `${bucket}/trust/targets/cloudfront/TS1ABCDEFGH.pem`,
        `${bucket}/trust/targets/alb/origin-alb-0123456789abcdef.pem`,
        `${bucket}/trust/targets/apigateway/api.origin.example.com.pem`,
      ],
    };
    const prefixes: Record<string, string> = {
      "client-cloudfront": "cloudfront",
      "client-elastic-load-balancing-v2": "elasticloadbalancing",
      "client-apigatewayv2": "apigateway",
      "client-eventbridge": "events",
      "client-s3": "s3",
    };
    // API Gateway authorises by HTTP verb on the resource path.
    const apigatewayVerb: Record<string, string> = { GetDomainName: "GET", UpdateDomainName: "PATCH" };
    // Describe* of ELBv2 supports no resource-level permission.
    const unscoped = new Set(["elasticloadbalancing:DescribeTags"]);
    const calls: Array<{ action: string; resource: string }> = [];
    for (const file of ["cloudfront-trust-store", "alb-trust-store", "apigateway-domain", "eventbridge"]) {
      const text = readFileSync(new URL(`../../functions/trust/targets/${file}.ts`, import.meta.url), "utf8");
      for (const [, names, client] of text.matchAll(/import \{([^}]*)\} from "@aws-sdk\/([a-z0-9-]+)"/g)) {
        const prefix = prefixes[client!];
        if (!prefix) continue;
        for (const name of names!.split(",").map((n) => n.trim())) {
          const command = /^(\w+)Command$/.exec(name)?.[1];
          if (!command) continue;
          const action =
            prefix === "apigateway"
              ? `apigateway:${apigatewayVerb[command]}`
              : `${prefix}:${command === "HeadObject" ? "GetObject" : command}`;
          const targets = unscoped.has(action) ? ["*"] : resources[prefix]!;
          for (const resource of targets) calls.push({ action, resource });
        }
      }
    }
    // Services load a given version of the object with the caller's permissions.
    for (const resource of resources.s3!) calls.push({ action: "s3:GetObjectVersion", resource });
    calls.push({
      action: "secretsmanager:GetSecretValue",
      resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:mtls-rotator/production/webhook-hmac-AbCdEf`,
    });
    expect(calls.length).toBeGreaterThan(15);
    expect(calls.filter((call) => !allows(permissions, call))).toEqual([]);
    expect(calls.filter((call) => !allows(trustReconcilePermissions, call))).toEqual([]);
    // The scan (which only invokes the reconciliation) and the ACM expiry-event function publish nothing.
    expect(calls.filter((call) => allows(scanPermissions, call))).toEqual([]);
    expect(calls.filter((call) => allows(trackingPermissions, call))).toEqual([]);
    // Not a trust store, domain or bus that is not configured.
    for (const call of [
      { action: "cloudfront:UpdateTrustStore", resource: `arn:aws:cloudfront::${ACCOUNT}:trust-store/OTHER` },
      {
        action: "apigateway:PATCH",
        resource: `arn:aws:apigateway:${REGION}::/domainnames/other.example.com`,
      },
      { action: "events:PutEvents", resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` },
      { action: "s3:PutObject", resource: `${bucket}/other/object.pem` },
    ]) {
      expect(allows(permissions, call), call.resource).toBe(false);
    }
  });

  it("grants nothing for targets a stage does not configure", async () => {
    const none = await loadInfra("production");
    const actions = none.permissions.flatMap((s) => s.actions);
    for (const prefix of ["elasticloadbalancing:", "apigateway:", "events:", "cloudfront:GetTrustStore"]) {
      expect(actions.filter((a) => a.startsWith(prefix))).toEqual([]);
    }
  });

  it("stops the deploy naming each malformed target", async () => {
    await expect(
      loadInfra("production", {
        MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS: "has space",
        MTLS_ROTATOR_ALB_TRUST_STORE_ARNS: `arn:aws:elasticloadbalancing:us-west-2:${ACCOUNT}:truststore/x/0123456789abcdef`,
        MTLS_ROTATOR_APIGATEWAY_DOMAINS: "not a domain",
        MTLS_ROTATOR_WEBHOOK_URL: "http://origins.example.com/hook",
        MTLS_ROTATOR_EVENT_BUS: "arn:aws:sns:eu-west-1:123456789012:topic",
      }),
    ).rejects.toThrow(
      expect.objectContaining({
        problems: [
          'trust.targets.cloudFrontTrustStoreIds[0] must be a trust store id, got "has space" (MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS)',
          'trust.targets.apiGatewayDomainNames[0] must be a domain name, got "not a domain" (MTLS_ROTATOR_APIGATEWAY_DOMAINS)',
          "trust.targets.webhook.url: webhook URL must be https:// (http:// only on a loopback address): http://origins.example.com/hook (MTLS_ROTATOR_WEBHOOK_URL)",
          `trust.targets.webhook.secretName must be a secret name (the secret holding the webhook's HMAC key), got "" (MTLS_ROTATOR_WEBHOOK_SECRET_NAME)`,
          'trust.targets.eventBus must be an event bus name or ARN, got "arn:aws:sns:eu-west-1:123456789012:topic" (MTLS_ROTATOR_EVENT_BUS)',
          `ALB trust store arn:aws:elasticloadbalancing:us-west-2:${ACCOUNT}:truststore/x/0123456789abcdef is in us-west-2, not in the service region ${REGION} (MTLS_ROTATOR_REGION)`,
        ],
      }),
    );
  });
});

describe("the event bus setting follows PutEvents' model", () => {
  it.each(["team/bus", "partner/example.com/bus", "bus name"])(
    "refuses %s at deploy: AWS's model for EventBusName (PutEvents) has no '/' and no spaces",
    async (bus) => {
      await expect(loadInfra("production", { MTLS_ROTATOR_EVENT_BUS: bus })).rejects.toThrow(
        expect.objectContaining({
          problems: [
            `trust.targets.eventBus must be an event bus name or ARN, got ${JSON.stringify(bus)} (MTLS_ROTATOR_EVENT_BUS)`,
          ],
        }),
      );
    },
  );

  it.each(["mtls-rotator.bundles", `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/mtls_rotator-bundles`])(
    "accepts %s",
    async (bus) => {
      await expect(loadInfra("production", { MTLS_ROTATOR_EVENT_BUS: bus })).resolves.toBeDefined();
    },
  );
});

describe("the operator API", () => {
  type Route = {
    name: string;
    args: {
      handler: string;
      link: { name: string; properties: Record<string, unknown> }[];
      permissions: Statement[];
      runtime: string;
      route: { auth?: { iam?: boolean } };
    };
  };
  const routesOf = (declared: Declared[]) =>
    declared.filter((d) => d.type === "sst:aws:ApiGatewayV2Route") as unknown as Route[];

  it("declares every route of the OpenAPI document, each with IAM auth, on Node 22, with a handler that exists", async () => {
    const { declared } = await loadInfra("production");
    const routes = routesOf(declared);
    const openapi = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8")) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(openapi.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.map((r) => r.name).sort()).toEqual(documented.sort());
    // Throttled as a whole: operators, not traffic.
    const api = declared.find((d) => d.type === "sst:aws:ApiGatewayV2")!;
    const stage: Record<string, unknown> = {};
    (api.args.transform as { stage: (args: Record<string, unknown>) => void }).stage(stage);
    expect(stage.defaultRouteSettings).toEqual({ throttlingRateLimit: 10, throttlingBurstLimit: 20 });
    for (const route of routes) {
      expect(route.args.route.auth, route.name).toEqual({ iam: true });
      expect(route.args.runtime).toBe("nodejs22.x");
      const [file, exported] = route.args.handler.split(".");
      const source = readFileSync(new URL(`../../${file}.ts`, import.meta.url), "utf8");
      expect(source, route.name).toMatch(new RegExp(`export const ${exported} = `));
    }
  });

  it("links each route what its wiring reads, in the shape it reads", async () => {
    const { declared } = await loadInfra("production");
    const config = {
      "list-certificates": tableApiConfig,
      "get-certificate": tableApiConfig,
      "get-viewer-mtls": tableApiConfig,
      "list-rotations": tableApiConfig,
      "get-rotation": tableApiConfig,
      "rollback-rotation": tableApiConfig,
      "approve-rotation": tableApiConfig,
      "start-rotation": rotationsApiConfig,
      "start-scan": scanApiConfig,
      "revoke-viewer": viewerRevocationWriteConfig,
      "reinstate-viewer": viewerRevocationWriteConfig,
      "get-viewer-revocation": viewerRevocationListConfig,
      "start-viewer-migration": viewerMigrationsApiConfig,
      "list-viewer-migrations": tableApiConfig,
      "get-viewer-migration": tableApiConfig,
      "approve-viewer-migration": tableApiConfig,
      "rollback-viewer-migration": tableApiConfig,
    } as Record<string, (sources: { resource: object; env: Record<string, string> }) => unknown>;
    for (const route of routesOf(declared)) {
      const file = route.args.handler.split("/").pop()!.split(".")[0]!;
      const resource = Object.fromEntries(route.args.link.map((l) => [l.name, l.properties]));
      expect(() => config[file]!({ resource, env: { AWS_REGION: REGION } }), route.name).not.toThrow();
    }
    const start = routesOf(declared).find((r) => r.name === "POST /rotations")!;
    const read = rotationsApiConfig({
      resource: Object.fromEntries(start.args.link.map((l) => [l.name, l.properties])),
      env: { AWS_REGION: REGION },
    }) as { settings: { authorityArn: string }; workflow: { qualifier: string } };
    expect(read.settings.authorityArn).toBe(AUTHORITY_ARN);
    expect(read.workflow.qualifier).toBe("3");
    // POST /viewer-migrations starts the viewer migration workflow (its own), on the stage's domains.
    const viewer = (await loadInfra("production", VIEWER_ENV)).declared;
    const startViewer = routesOf(viewer).find((r) => r.name === "POST /viewer-migrations")!;
    const viewerConfig = viewerMigrationsApiConfig({
      resource: Object.fromEntries(startViewer.args.link.map((l) => [l.name, l.properties])),
      env: { AWS_REGION: REGION },
    });
    expect(viewerConfig.workflow).toEqual({
      name: "mtls-rotator-production-ViewerMigrationWorkflowHandler",
      qualifier: "3",
    });
    expect(viewerConfig.domains.map((d) => d.name)).toEqual(["partners"]);
  });

  it("grants each route only its own calls: no wildcard action, '*' only for ListDistributions", async () => {
    const { declared } = await loadInfra("production");
    const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/mtls-rotator-production-RotationsTable-abcdef`;
    const workflow = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-RotationWorkflowHandler`;
    const granted = (route: string) =>
      routesOf(declared)
        .find((r) => r.name === route)!
        .args.permissions.flatMap((s) => s.actions.flatMap((a) => s.resources.map((r) => `${a} ${r}`)))
        .sort();
    for (const route of routesOf(declared)) {
      for (const statement of route.args.permissions) {
        expect(
          statement.actions.every((a) => !a.includes("*")),
          route.name,
        ).toBe(true);
        if (statement.resources.includes("*"))
          expect(statement.actions).toEqual(["cloudfront:ListDistributions"]);
      }
    }
    expect(granted("GET /certificates")).toEqual([`dynamodb:GetItem ${table}`, `dynamodb:Query ${table}`]);
    // ... and only the inventory's partition of it.
    const certificates = routesOf(declared).find((r) => r.name === "GET /certificates")!;
    expect(certificates.args.permissions[0]).toMatchObject({
      conditions: [
        { test: "ForAllValues:StringEquals", variable: "dynamodb:LeadingKeys", values: ["INVENTORY"] },
      ],
    });
    // GET /viewer-mtls: one Query of the viewer mTLS inventory's partition, nothing else.
    expect(granted("GET /viewer-mtls")).toEqual([`dynamodb:Query ${table}`]);
    expect(routesOf(declared).find((r) => r.name === "GET /viewer-mtls")!.args.permissions).toEqual([
      {
        actions: ["dynamodb:Query"],
        resources: [expect.any(String)],
        conditions: [
          {
            test: "ForAllValues:StringEquals",
            variable: "dynamodb:LeadingKeys",
            values: ["VIEWER-INVENTORY"],
          },
        ],
      },
    ]);
    // Only Query reads the index (GetItem on an index is no resource of GetItem's).
    expect(granted("GET /rotations/{id}")).toEqual(
      [`dynamodb:GetItem ${table}`, `dynamodb:Query ${table}`, `dynamodb:Query ${table}/index/list`].sort(),
    );
    // Starting and deciding read single items only; starting also releases a dead rotation's lock item,
    // and a rollback records its request for the rotation's next safe point.
    expect(granted("POST /rotations/{id}/approve").filter((g) => g.startsWith("dynamodb:"))).toEqual([
      `dynamodb:GetItem ${table}`,
    ]);
    expect(granted("POST /rotations/{id}/rollback").filter((g) => g.startsWith("dynamodb:"))).toEqual([
      `dynamodb:GetItem ${table}`,
      `dynamodb:PutItem ${table}`,
    ]);
    expect(granted("POST /rotations").filter((g) => g.startsWith("dynamodb:"))).toEqual([
      `dynamodb:DeleteItem ${table}`,
      `dynamodb:GetItem ${table}`,
    ]);
    // POST /rotations reads the configured CA's certificate (managed issuers), nothing else of Private CA.
    expect(granted("POST /rotations").filter((g) => g.startsWith("acm-pca:"))).toEqual([
      `acm-pca:GetCertificateAuthorityCertificate ${AUTHORITY_ARN}`,
    ]);
    // Only the control routes may answer a rotation's callbacks; only POST /rotations may start one.
    const answering = (workflowArn: string) =>
      routesOf(declared)
        .filter((r) =>
          granted(r.name).some((g) =>
            g.startsWith(`lambda:SendDurableExecutionCallbackSuccess ${workflowArn}:`),
          ),
        )
        .map((r) => r.name)
        .sort();
    expect(answering(workflow)).toEqual(["POST /rotations/{id}/approve", "POST /rotations/{id}/rollback"]);
    // ... and the viewer migration's control routes its callbacks, nothing else of it but POST /viewer-migrations.
    const viewerWorkflow = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-ViewerMigrationWorkflowHandler`;
    expect(answering(viewerWorkflow)).toEqual([
      "POST /viewer-migrations/{id}/approve",
      "POST /viewer-migrations/{id}/rollback",
    ]);
    const touchingViewer = routesOf(declared)
      .filter((r) => granted(r.name).some((g) => g.includes(viewerWorkflow)))
      .map((r) => r.name)
      .sort();
    expect(touchingViewer).toEqual([
      "POST /viewer-migrations",
      "POST /viewer-migrations/{id}/approve",
      "POST /viewer-migrations/{id}/rollback",
    ]);
    // Starting reads, and releases a dead holder's lock: Lambda's word on its execution, the lock deleted.
    expect(granted("POST /viewer-migrations")).toEqual([
      `dynamodb:DeleteItem ${table}`,
      `dynamodb:GetItem ${table}`,
      `lambda:InvokeFunction ${viewerWorkflow}:3`,
      `lambda:ListDurableExecutionsByFunction ${viewerWorkflow}`,
    ]);
    // The viewer routes read viewer migrations' and domains' items only (and the list index).
    const viewerRoutes = routesOf(declared).filter((r) => r.name.includes("/viewer-migrations"));
    expect(viewerRoutes).toHaveLength(5);
    for (const route of viewerRoutes)
      for (const statement of route.args.permissions.filter(
        (p) => p.actions.some((a) => a.startsWith("dynamodb:")) && p.resources.includes(table),
      )) {
        expect(statement.conditions, route.name).toEqual([
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values:
              route.name !== "POST /viewer-migrations"
                ? ["VMIG#*"]
                : statement.actions.includes("dynamodb:DeleteItem")
                  ? ["VDOM#*"]
                  : ["VMIG#*", "VDOM#*"],
          },
        ]);
        // Reads only, but for the one conditional delete of a domain's lock a dead migration holds, and the
        // one conditional put of a rollback request.
        const allowed = ["dynamodb:GetItem", "dynamodb:Query"];
        const only = (action: string) => statement.actions.length === 1 && statement.actions[0] === action;
        expect(
          statement.actions.every((a) => allowed.includes(a)) ||
            (route.name === "POST /viewer-migrations" && only("dynamodb:DeleteItem")) ||
            (route.name === "POST /viewer-migrations/{id}/rollback" && only("dynamodb:PutItem")),
          route.name,
        ).toBe(true);
      }
    expect(granted("GET /viewer-migrations")).toEqual(
      [`dynamodb:GetItem ${table}`, `dynamodb:Query ${table}`, `dynamodb:Query ${table}/index/list`].sort(),
    );
    expect(granted("POST /rotations/{id}/rollback")).toContain(
      `lambda:SendDurableExecutionCallbackSuccess ${workflow}:*`,
    );
    const starting = routesOf(declared)
      .filter((r) => granted(r.name).includes(`lambda:InvokeFunction ${workflow}:3`))
      .map((r) => r.name);
    expect(starting).toEqual(["POST /rotations"]);
    expect(granted("POST /scan")).toEqual([
      `lambda:InvokeFunction arn:aws:lambda:${REGION}:${ACCOUNT}:function:mtls-rotator-production-TrackingScanFunction`,
    ]);
    // Nothing of the API may write the table — but POST /rotations and POST /viewer-migrations release a
    // dead execution's lock item (lock items only: a certificate's, a viewer trust domain's) and POST
    // /rollback (a rotation's, a viewer migration's) records a rollback request (its own items only) — touch
    // keys, secrets, Private CA or distributions' configs.
    const writesOf = (action: string) =>
      routesOf(declared).flatMap((r) =>
        r.args.permissions
          .filter((statement) => statement.actions.includes(action))
          .map((statement) => ({ route: r.name, statement })),
      );
    for (const [action, expected] of [
      [
        "dynamodb:DeleteItem",
        [
          ["POST /rotations", "CERT#*"],
          ["POST /viewer-migrations", "VDOM#*"],
        ],
      ],
      [
        "dynamodb:PutItem",
        [
          ["POST /rotations/{id}/rollback", "ROT#*"],
          ["POST /viewer-migrations/{id}/rollback", "VMIG#*"],
        ],
      ],
    ] as const) {
      const writes = writesOf(action);
      expect(writes.map((w) => w.route)).toEqual(expected.map(([route]) => route));
      for (const [i, [, partitions]] of expected.entries())
        expect(writes[i]!.statement).toMatchObject({
          actions: [action],
          conditions: [
            { test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: [partitions] },
          ],
        });
    }
    const all = routesOf(declared).flatMap((r) => granted(r.name));
    for (const forbidden of [
      /^dynamodb:(Update|BatchWrite)/,
      /^secretsmanager:/,
      /^kms:/,
      /^acm-pca:(?!GetCertificateAuthorityCertificate )/,
      /^cloudfront:Update/,
    ]) {
      expect(
        all.filter((g) => forbidden.test(g)),
        String(forbidden),
      ).toEqual([]);
    }
  });
});

describe("the viewer revocation routes", () => {
  type Route = {
    name: string;
    args: { link: { name: string; properties: Record<string, unknown> }[]; permissions: Statement[] };
  };
  const STORE = `arn:aws:cloudfront::${ACCOUNT}:key-value-store/0f9c5e6a-1111-2222-3333-444455556666`;
  const ROUTES = [
    "POST /viewer-revocations",
    "GET /viewer-revocations/{serial}",
    "DELETE /viewer-revocations/{serial}",
  ];
  const revocationRoutes = (declared: Declared[]) =>
    (declared.filter((d) => d.type === "sst:aws:ApiGatewayV2Route") as unknown as Route[]).filter((r) =>
      ROUTES.includes(r.name),
    );
  const grants = (route: Route) =>
    route.args.permissions
      .flatMap((s) => s.actions.flatMap((a) => s.resources.map((r) => `${a} ${r}`)))
      .sort();
  const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:mtls-rotator-production-NotificationsTopic-abcdef`;

  it("grant each route only its KeyValueStore calls, on the configured store alone, and link it", async () => {
    const { declared } = await loadInfra("production", { MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN: STORE });
    const routes = revocationRoutes(declared);
    expect(routes.map((r) => r.name).sort()).toEqual([...ROUTES].sort());
    const byName = Object.fromEntries(routes.map((r) => [r.name, r]));
    const kvs = (actions: string[]) => actions.map((a) => `cloudfront-keyvaluestore:${a} ${STORE}`);
    expect(grants(byName["POST /viewer-revocations"]!)).toEqual(
      [...kvs(["DescribeKeyValueStore", "GetKey", "PutKey"]), `sns:Publish ${topic}`].sort(),
    );
    expect(grants(byName["DELETE /viewer-revocations/{serial}"]!)).toEqual(
      [...kvs(["DeleteKey", "DescribeKeyValueStore", "GetKey"]), `sns:Publish ${topic}`].sort(),
    );
    expect(grants(byName["GET /viewer-revocations/{serial}"]!)).toEqual(kvs(["GetKey"]));
    // No other function may touch the store.
    const others = declared
      .filter((d) => !ROUTES.includes(d.name))
      .flatMap((d) => (d.args.permissions as Statement[] | undefined) ?? [])
      .filter((st) => st.actions.some((a) => a.startsWith("cloudfront-keyvaluestore:")));
    expect(others).toEqual([]);
    // Each route's cold start reads the store from its links, with its endpoint by AWS's rules.
    for (const route of routes) {
      const resource = Object.fromEntries(route.args.link.map((l) => [l.name, l.properties]));
      expect(resource.ViewerRevocationSettings, route.name).toEqual({ storeArn: STORE });
      expect(viewerRevocationListConfig({ resource, env: { AWS_REGION: REGION } })).toMatchObject({
        storeArn: STORE,
        storeEndpoint: `https://${ACCOUNT}.cloudfront-kvs.global.api.aws`,
      });
    }
  });

  it("grant no KeyValueStore action without a store; the routes are still declared and read no store", async () => {
    const { declared } = await loadInfra("production");
    const routes = revocationRoutes(declared);
    expect(routes).toHaveLength(3);
    for (const route of routes) {
      expect(
        grants(route).filter((g) => g.startsWith("cloudfront-keyvaluestore:")),
        route.name,
      ).toEqual([]);
      const resource = Object.fromEntries(route.args.link.map((l) => [l.name, l.properties]));
      expect(resource.ViewerRevocationSettings).toEqual({});
      expect(viewerRevocationListConfig({ resource, env: { AWS_REGION: REGION } })).toEqual({
        region: REGION,
      });
    }
  });

  it("refuse a store ARN AWS's endpoint rules refuse, at deploy", async () => {
    await expect(
      loadInfra("production", {
        MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN: `arn:aws-cn:cloudfront::${ACCOUNT}:key-value-store/x`,
      }),
    ).rejects.toThrow(
      /viewerRevocations\.storeArn must be a CloudFront KeyValueStore ARN .*\(MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN\)/,
    );
  });
});

describe("Lambda functions", () => {
  it("are exactly infra/lambdas.ts's entries, each built with the common nodejs options", async () => {
    const { declared } = await loadInfra("production", {
      MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS: "TS1ABCDEFGH",
      MTLS_ROTATOR_EVENT_BUS: "origin-trust",
    });
    // Anything declared with a handler is a function SST bundles (sst.aws.Workflow, sst.aws.Function, API
    // routes); the scan's schedule runs the TrackingScan function, not inline arguments of its own.
    const functions = declared.filter((d) => typeof d.args.handler === "string");
    expect(functions.map((f) => [f.name, f.args.handler]).sort()).toEqual(
      LAMBDAS.map((l) => [l.name, l.handler]).sort(),
    );
    for (const fn of functions) expect(fn.args.nodejs, fn.name).toEqual(LAMBDA_NODEJS);
    expect(declared.filter((d) => d.type === "sst:aws:CronV2").map((c) => typeof c.args.function)).toEqual([
      "object",
    ]);
    // SST resolves `plugins` against the directory of sst.config.ts.
    expect(existsSync(new URL(`../../${LAMBDA_NODEJS.plugins}`, import.meta.url))).toBe(true);
  });
});
