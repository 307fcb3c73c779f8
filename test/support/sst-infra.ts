/**
 * Recording stand-ins of SST's globals (`sst`, `aws`, `$app`, `$interpolate`, `$jsonStringify`) and a loader
 * that evaluates infra/ against them: what the infra would declare, with every argument, so tests can check
 * it without AWS or Pulumi (test/infra/*.test.ts).
 *
 * infra/ is imported by computed path: it is type-checked by tsconfig.infra.json against SST's own types,
 * not by this project's tsconfig.
 */
import { afterEach, beforeEach, expect, vi } from "vitest";

export const ACCOUNT = "123456789012";
/** The home region infra is loaded in: one where AWS documents Lambda durable functions (infra/settings.ts). */
export const REGION = "us-east-2";
export const AUTHORITY_ARN = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`;
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6`;

/** A viewer trust domain with a trust store and a passthrough origin (MTLS_ROTATOR_VIEWER_TRUST_DOMAINS). */
export const VIEWER_CA = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/44444444-5555-4666-8777-888888888888`;
export const VIEWER_NEXT_CA = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/55555555-6666-4777-8888-999999999999`;
export const VIEWER_DISTRIBUTION = "E3VIEWERPASSTH";
export const VIEWER_DOMAINS = [
  {
    name: "partners",
    authorities: { current: VIEWER_CA, next: VIEWER_NEXT_CA },
    trustStoreIds: ["TSVIEWER1"],
    passthrough: {
      bucketKey: "viewer/partners.pem",
      origins: [{ name: "api", distributionId: VIEWER_DISTRIBUTION, originId: "api-origin" }],
    },
  },
];
/** The deploying shell's variable for VIEWER_DOMAINS. */
export const VIEWER_ENV = { MTLS_ROTATOR_VIEWER_TRUST_DOMAINS: JSON.stringify(VIEWER_DOMAINS) };

/** The deploying shell's trust-target variables (infra/settings.ts). */
export const TARGET_VARIABLES = [
  "MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS",
  "MTLS_ROTATOR_ALB_TRUST_STORE_ARNS",
  "MTLS_ROTATOR_APIGATEWAY_DOMAINS",
  "MTLS_ROTATOR_WEBHOOK_URL",
  "MTLS_ROTATOR_WEBHOOK_SECRET_NAME",
  "MTLS_ROTATOR_EVENT_BUS",
];

export interface Declared {
  type: string;
  name: string;
  args: Record<string, unknown>;
  opts?: Record<string, unknown>;
}

export interface Statement {
  actions: string[];
  resources: string[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

/**
 * The role of a workflow's function (the stand-in's `nodes.function.nodes.role.arn`): named by the workflow's
 * `transform.function.role.name` when it sets one, else as SST would name it (with a random suffix).
 */
export const workflowRoleArn = (stage: string, name = "RotationWorkflow", roleName?: string) =>
  `arn:aws:iam::${ACCOUNT}:role/${roleName ?? `mtls-rotator-${stage}-${name}Role-abcdef`}`;

/** Installs recording stand-ins for SST's globals; returns what the infra declares. */
export function installSst(stage: string, region = REGION): Declared[] {
  const declared: Declared[] = [];
  const component = (
    type: string,
    outputs: (name: string, args: Record<string, unknown>) => Record<string, string>,
  ) =>
    class {
      [key: string]: unknown;
      constructor(name: string, args: Record<string, unknown> = {}, opts?: Record<string, unknown>) {
        declared.push({ type, name, args, ...(opts ? { opts } : {}) });
        Object.assign(this, outputs(name, args));
      }
    };
  vi.stubGlobal("$app", { name: "mtls-rotator", stage, providers: { aws: { region } } });
  vi.stubGlobal("$interpolate", (strings: TemplateStringsArray, ...values: unknown[]) =>
    String.raw({ raw: strings }, ...values.map(String)),
  );
  vi.stubGlobal("$jsonStringify", (value: unknown) => JSON.stringify(value));
  const lambdaArn = (name: string) =>
    `arn:aws:lambda:${region}:${ACCOUNT}:function:mtls-rotator-${stage}-${name}`;
  vi.stubGlobal("aws", {
    getPartitionOutput: () => ({ partition: "aws" }),
    getCallerIdentityOutput: () => ({ accountId: ACCOUNT }),
    getRegionOutput: () => ({ region }),
    Provider: component("pulumi:providers:aws", () => ({})),
    cloudwatch: {
      EventRule: component("aws:cloudwatch:EventRule", (name) => ({
        name: `${name}-rule`,
        arn: `arn:aws:events:${region}:${ACCOUNT}:rule/${name}-rule`,
      })),
      EventTarget: component("aws:cloudwatch:EventTarget", () => ({})),
    },
    lambda: { Permission: component("aws:lambda:Permission", () => ({})) },
    sqs: { QueuePolicy: component("aws:sqs:QueuePolicy", () => ({})) },
    iam: {
      Role: component("aws:iam:Role", (name) => ({ arn: `arn:aws:iam::${ACCOUNT}:role/${name}` })),
    },
    kms: {
      Key: component("aws:kms:Key", () => ({ arn: KEY_ARN, keyId: KEY_ARN.split("/")[1]! })),
      Alias: component("aws:kms:Alias", () => ({})),
      KeyPolicy: component("aws:kms:KeyPolicy", () => ({})),
    },
    sns: { TopicSubscription: component("aws:sns:TopicSubscription", () => ({})) },
  });
  vi.stubGlobal("sst", {
    Linkable: class {
      readonly name: string;
      readonly properties: Record<string, unknown>;
      constructor(name: string, definition: { properties: Record<string, unknown> }) {
        declared.push({ type: "sst:Linkable", name, args: definition });
        this.name = name;
        this.properties = definition.properties;
      }
    },
    aws: {
      Dynamo: component("sst:aws:Dynamo", (name) => ({
        name: `mtls-rotator-${stage}-${name}Table-abcdef`,
        arn: `arn:aws:dynamodb:${region}:${ACCOUNT}:table/mtls-rotator-${stage}-${name}Table-abcdef`,
      })),
      Bucket: component("sst:aws:Bucket", (name) => ({
        name: `mtls-rotator-${stage}-${name.toLowerCase()}bucket-abcdef`,
        arn: `arn:aws:s3:::mtls-rotator-${stage}-${name.toLowerCase()}bucket-abcdef`,
      })),
      SnsTopic: component("sst:aws:SnsTopic", (name) => ({
        arn: `arn:aws:sns:${region}:${ACCOUNT}:mtls-rotator-${stage}-${name}Topic-abcdef`,
      })),
      Workflow: component("sst:aws:Workflow", (name, args) => {
        const transform = args.transform as { function?: { role?: { name?: string } } } | undefined;
        return {
          name: `mtls-rotator-${stage}-${name}Handler`,
          arn: lambdaArn(`${name}Handler`),
          qualifier: "3",
          nodes: {
            function: {
              nodes: { role: { arn: workflowRoleArn(stage, name, transform?.function?.role?.name) } },
            },
          } as never,
        };
      }),
      Function: component("sst:aws:Function", (name) => ({
        name: `mtls-rotator-${stage}-${name}Function`,
        arn: lambdaArn(`${name}Function`),
      })),
      CronV2: component("sst:aws:CronV2", () => ({})),
      ApiGatewayV2: class {
        readonly url = `https://a1b2c3d4e5.execute-api.${region}.amazonaws.com`;
        constructor(name: string, args: Record<string, unknown> = {}) {
          declared.push({ type: "sst:aws:ApiGatewayV2", name, args });
        }
        route(key: string, handler: Record<string, unknown>, args: Record<string, unknown> = {}) {
          declared.push({ type: "sst:aws:ApiGatewayV2Route", name: key, args: { ...handler, route: args } });
          return {};
        }
      },
      Queue: component("sst:aws:Queue", (name) => ({
        arn: `arn:aws:sqs:${region}:${ACCOUNT}:mtls-rotator-${stage}-${name}Queue`,
        url: `https://sqs.${region}.amazonaws.com/${ACCOUNT}/mtls-rotator-${stage}-${name}Queue`,
      })),
    },
  });
  return declared;
}

/**
 * Fresh modules, the stand-ins for `stage` in `region`, and the deploying shell's variables: none of the
 * developer's own, only AUTHORITY_ARN and `env`. Returns what the infra declares from then on.
 */
export function stageSst(stage: string, env: Record<string, string> = {}, region = REGION): Declared[] {
  vi.resetModules();
  const declared = installSst(stage, region);
  vi.stubEnv("MTLS_ROTATOR_AUTHORITY_ARN", AUTHORITY_ARN);
  vi.stubEnv("MTLS_ROTATOR_NOTIFY_EMAILS", "");
  vi.stubEnv("MTLS_ROTATOR_DISTRIBUTION_IDS", "");
  vi.stubEnv("MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS", "");
  vi.stubEnv("MTLS_ROTATOR_SCAN_SCHEDULE", "");
  vi.stubEnv("MTLS_ROTATOR_REGION", "");
  vi.stubEnv("MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION", "");
  vi.stubEnv("MTLS_ROTATOR_VIEWER_TRUST_DOMAINS", "");
  for (const name of TARGET_VARIABLES) vi.stubEnv(name, "");
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  return declared;
}

/** An infra/ module, evaluated against the stand-ins installed last (stageSst). */
export const importInfra = (name: string) => import(/* @vite-ignore */ `../../infra/${name}.ts`);

/** sst.config.ts itself, with `$config` standing in as the identity (its app() and run()). */
export async function loadSstConfig(): Promise<{
  app(input: { stage: string }): { providers: { aws: { region: string } } } & Record<string, unknown>;
  run(): Promise<Record<string, unknown>>;
}> {
  vi.stubGlobal("$config", (config: unknown) => config);
  // By computed path, like infra/: sst.config.ts is type-checked by tsconfig.infra.json.
  const file = "../../sst.config.ts";
  return (await import(/* @vite-ignore */ file)).default;
}

export async function loadInfra(stage: string, env: Record<string, string> = {}, region = REGION) {
  const declared = stageSst(stage, env, region);
  const infra = importInfra;
  const rotation = await infra("rotation");
  const viewerMigration = await infra("viewer-migration");
  await infra("credentials-key-policy");
  const settings = await infra("settings");
  const tracking = await infra("tracking");
  const api = await infra("api");
  const one = (type: string, name?: string) => {
    const found = declared.filter((d) => d.type === type && (name === undefined || d.name === name));
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  return {
    declared,
    one,
    settings,
    permissions: rotation.rotationWorkflowPermissions as Statement[],
    viewerPermissions: viewerMigration.viewerMigrationPermissions as Statement[],
    trackingPermissions: tracking.trackingPermissions as Statement[],
    scanPermissions: tracking.scanPermissions as Statement[],
    expiryEventPermissions: tracking.expiryEventPermissions as Statement[],
    trustReconcilePermissions: tracking.trustReconcilePermissions as Statement[],
    apiPermissions: api.apiPermissions as Record<string, Statement[]>,
    CLIENT_AUTH_TEMPLATE_ARN: rotation.CLIENT_AUTH_TEMPLATE_ARN as string,
  };
}

/** Each test starts and ends with no stubbed globals (SST's `$app`, ...) and no stubbed environment. */
export function isolateStubs(): void {
  const reset = () => {
    vi.unstubAllGlobals();
    vi.unstubAllEnvs();
  };
  beforeEach(reset);
  afterEach(reset);
}
