/**
 * Every Lambda entry the infra declares (infra/lambdas.ts), bundled as `sst deploy` bundles it: SST's
 * esbuild settings read from the installed SST, infra's `nodejs` options, its plugins run by SST's own
 * plugin runner (scripts/lambda-bundles.ts, shared with `npm run bench:lambdas`). Each bundle's import graph
 * (the metafile's inputs: every module esbuild took in, tree-shaken or not) holds only code the function
 * can call — SDK clients of the services its role may call, no issuance, trust-target or durable-execution
 * code in routes that only read and answer, never the SDK's default credential chain — and its raw bytes
 * keep to its kind's budget. Import time is measured by the bench only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { version as esbuildVersion } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_BUDGETS, LAMBDA_NODEJS, LAMBDAS, type LambdaName } from "../../infra/lambdas.ts";
import {
  bundleLambda,
  type InstalledSst,
  type LambdaBundle,
  type NodejsOptions,
  packageOf,
  readInstalledSst,
} from "../../scripts/lambda-bundles.ts";
import { isolateStubs, loadInfra, type Statement, VIEWER_ENV } from "../support/sst-infra.ts";

/** Code a route that only reads and answers never calls. */
const READ_ONLY_FORBIDDEN = [
  "functions/issuance/",
  "@aws-sdk/client-acm-pca",
  "functions/trust/",
  "@aws/durable-execution-sdk-js",
];

/** ... and, in the routes that read the table without an SDK client, the SDK's client stack. */
const READ_ONLY_SDK_FORBIDDEN = [...READ_ONLY_FORBIDDEN, "@aws-sdk/lib-dynamodb", "@aws-sdk/core"];

/**
 * What each function may bundle: the SDK clients (`@aws-sdk/client-<name>`) of the services its role may
 * call (checked against the infra's IAM below), and modules it must not import.
 */
const RULES: Record<LambdaName, { clients: string[]; forbidden: string[] }> = {
  // No SDK client: the table is read with signed fetches of DynamoDB's JSON API (signed-table.ts).
  "GET /certificates": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "GET /certificates/{id}": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "GET /rotations": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "GET /rotations/{id}": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "GET /viewer-mtls": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  // The control point (read as the GET routes read) and its durable callback (SST's signed fetch).
  "POST /rotations/{id}/approve": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "POST /rotations/{id}/rollback": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  // Viewer migrations: read as the rotation routes read (signed fetches); POST /viewer-migrations starts the
  // workflow with SST's signed fetch (a durable start), the decisions answer its callback the same way.
  "GET /viewer-migrations": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "GET /viewer-migrations/{id}": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "POST /viewer-migrations": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "POST /viewer-migrations/{id}/approve": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "POST /viewer-migrations/{id}/rollback": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  // An asynchronous invoke of the scan's function.
  "POST /scan": { clients: ["lambda"], forbidden: READ_ONLY_FORBIDDEN },
  // The revocation list over SigV4A-signed fetches (no SDK client); the changes publish their audit notice.
  "GET /viewer-revocations/{serial}": { clients: [], forbidden: READ_ONLY_SDK_FORBIDDEN },
  "POST /viewer-revocations": { clients: ["sns"], forbidden: READ_ONLY_FORBIDDEN },
  "DELETE /viewer-revocations/{serial}": { clients: ["sns"], forbidden: READ_ONLY_FORBIDDEN },
  // The certificate (ACM), managed issuers (Private CA's CA certificate), the distributions presenting it,
  // the lock, a durable start of the workflow. It issues nothing.
  "POST /rotations": {
    clients: ["acm", "acm-pca", "cloudfront", "dynamodb", "lambda"],
    forbidden: ["functions/issuance/"],
  },
  // One certificate's scan: no trust reconciliation, no issuance.
  AcmExpiryEvent: {
    clients: ["acm", "acm-pca", "cloudfront", "dynamodb", "lambda", "sns"],
    forbidden: ["functions/issuance/", "functions/trust/"],
  },
  // The fleet scan: tracking's decisions; it invokes the trust reconciliation, it publishes nothing.
  TrackingScan: {
    clients: ["acm", "acm-pca", "cloudfront", "dynamodb", "lambda", "sns"],
    forbidden: ["functions/issuance/", "functions/trust/targets/", "functions/trust/publish-bundle.ts"],
  },
  // Trust reconciliation: the CAs (Private CA), the retirement clock (DynamoDB), every trust target.
  TrustReconciliation: {
    clients: [
      "acm-pca",
      "apigatewayv2",
      "cloudfront",
      "dynamodb",
      "elastic-load-balancing-v2",
      "eventbridge",
      "s3",
      "secrets-manager",
    ],
    forbidden: ["functions/issuance/", "@aws/durable-execution-sdk-js"],
  },
  RotationWorkflow: {
    clients: [
      "acm",
      "acm-pca",
      "apigatewayv2",
      "cloudfront",
      "cloudwatch",
      "dynamodb",
      "elastic-load-balancing-v2",
      "eventbridge",
      // The durable execution SDK's checkpoints (sst.aws.Workflow grants those itself).
      "lambda",
      "s3",
      "secrets-manager",
      "sns",
    ],
    forbidden: [],
  },
  // The viewer CA migration: the viewer CAs (Private CA), their trust stores (CloudFront) and bundles (S3,
  // Secrets Manager), the passthrough proof (a distribution's origin, its certificate's lineage tag in ACM, its
  // credential in Secrets Manager), its items (DynamoDB), SNS, the ViewerCaReady event, durable checkpoints.
  // None of the rotation's gate or trust targets (CloudWatch, ALB, API Gateway).
  ViewerMigrationWorkflow: {
    clients: [
      "acm",
      "acm-pca",
      "cloudfront",
      "dynamodb",
      "eventbridge",
      "lambda",
      "s3",
      "secrets-manager",
      "sns",
    ],
    forbidden: ["functions/workflow/rotation-workflow.ts"],
  },
};

/** The SDK's default chain and what only it uses (SSO, STS web identity, ini files, login, processes). */
const CREDENTIAL_CHAIN = [
  "@aws-sdk/credential-provider-node",
  "@aws-sdk/credential-provider-ini",
  "@aws-sdk/credential-provider-sso",
  "@aws-sdk/credential-provider-process",
  "@aws-sdk/credential-provider-web-identity",
  "@aws-sdk/credential-provider-http",
  "@aws-sdk/credential-provider-login",
  "@aws-sdk/nested-clients",
  "@aws-sdk/token-providers",
  // EC2 instance metadata: bundles get functions/wiring/no-instance-metadata.ts instead.
  "@smithy/credential-provider-imds",
];
const LAMBDA_CREDENTIALS = "functions/wiring/lambda-credentials.ts";

/** The IAM service prefix of each SDK client's service. */
const IAM_PREFIX: Record<string, string> = {
  acm: "acm",
  "acm-pca": "acm-pca",
  apigatewayv2: "apigateway",
  cloudfront: "cloudfront",
  cloudwatch: "cloudwatch",
  dynamodb: "dynamodb",
  "elastic-load-balancing-v2": "elasticloadbalancing",
  eventbridge: "events",
  lambda: "lambda",
  s3: "s3",
  "secrets-manager": "secretsmanager",
  sns: "sns",
};

const KiB = 1024;

/** Why a bundle breaks its rules, one line per reason (none: it keeps them). */
function bundleViolations(
  bundle: Pick<LambdaBundle, "inputs" | "bytes">,
  rules: { clients: string[]; forbidden: string[]; maxBytes: number },
): string[] {
  const problems: string[] = [];
  const packages = new Set(bundle.inputs.map(packageOf));
  const clients = [...packages].filter((p) => p.startsWith("@aws-sdk/client-")).sort();
  const uncallable = clients.filter((c) => !rules.clients.includes(c.slice("@aws-sdk/client-".length)));
  if (uncallable.length > 0) problems.push(`SDK clients it cannot call: ${uncallable.join(", ")}`);
  for (const forbidden of rules.forbidden) {
    const found = forbidden.endsWith("/")
      ? bundle.inputs.filter((input) => input.startsWith(forbidden))
      : bundle.inputs.filter((input) => packageOf(input) === forbidden);
    if (found.length > 0) problems.push(`imports ${forbidden} (${found.length} modules)`);
  }
  const chain = CREDENTIAL_CHAIN.filter((p) => packages.has(p));
  if (chain.length > 0) problems.push(`the SDK's default credential chain: ${chain.join(", ")}`);
  if (clients.length > 0 && !bundle.inputs.includes(LAMBDA_CREDENTIALS))
    problems.push(`SDK clients without ${LAMBDA_CREDENTIALS}`);
  if (bundle.bytes > rules.maxBytes)
    problems.push(
      `${bundle.bytes} bytes (${(bundle.bytes / KiB).toFixed(0)} KiB) > ${rules.maxBytes / KiB} KiB budget, ` +
        `${(bundle.bytes / rules.maxBytes).toFixed(2)}×`,
    );
  return problems;
}

const rulesOf = (name: LambdaName) => {
  const entry = LAMBDAS.find((l) => l.name === name)!;
  return { ...RULES[name], maxBytes: LAMBDA_BUDGETS[entry.kind].maxBytes };
};

/** A read route as it would be with the SDK's DynamoDB client (the fixture): a read's rules, that client allowed. */
const SDK_READ_ROUTE_RULES = {
  clients: ["dynamodb"],
  forbidden: READ_ONLY_FORBIDDEN,
  maxBytes: LAMBDA_BUDGETS.read.maxBytes,
};

const LEAN_READ_ROUTE = "test/infra/fixtures/lean-read-route.handler";
const NARROW_FILTER_PLUGINS = "test/infra/fixtures/narrow-filter-plugins.mjs";

let outdir: string;
let sst: InstalledSst;
const bundles = new Map<string, LambdaBundle>();
const fixture = (nodejs: NodejsOptions, label: string) =>
  bundleLambda(LEAN_READ_ROUTE, nodejs, join(outdir, "fixtures", label), sst);
const fixtures: Record<string, LambdaBundle> = {};

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), "lambda-bundles-test-"));
  sst = readInstalledSst();
  await Promise.all([
    ...LAMBDAS.map(async (entry) => {
      bundles.set(
        entry.name,
        await bundleLambda(entry.handler, LAMBDA_NODEJS, join(outdir, entry.name), sst),
      );
    }),
    fixture(LAMBDA_NODEJS, "lean").then((b) => {
      fixtures.lean = b;
    }),
    fixture({ minify: true, sourcemap: true }, "no-plugins").then((b) => {
      fixtures.noPlugins = b;
    }),
    fixture({ ...LAMBDA_NODEJS, plugins: NARROW_FILTER_PLUGINS }, "narrow").then((b) => {
      fixtures.narrow = b;
    }),
  ]);
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe("SST's build", () => {
  it("is read from the installed SST: the esbuild its CLI is built with is the esbuild package bundling here", () => {
    // readInstalledSst also found each banner line and the plugin runner's path in SST's CLI.
    expect(sst).toMatchObject({ esbuildVersion, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });
});

describe("the bundle checks", () => {
  it("pass a lean read route, bundled with infra's nodejs options through SST's plugin runner", () => {
    const lean = fixtures.lean!;
    expect(bundleViolations(lean, SDK_READ_ROUTE_RULES)).toEqual([]);
    expect(lean.inputs).toContain(LAMBDA_CREDENTIALS);
    // About 210 KiB of the 400: the DynamoDB client with credentials from the environment only.
    expect(lean.bytes).toBeLessThan(250 * KiB);
  });

  it("see the SDK's credential chain in the same route bundled without infra's plugins", () => {
    const problems = bundleViolations(fixtures.noPlugins!, SDK_READ_ROUTE_RULES);
    expect(problems).toEqual([
      expect.stringMatching(/^the SDK's default credential chain: @aws-sdk\/credential-provider-node, /),
      `SDK clients without ${LAMBDA_CREDENTIALS}`,
    ]);
    expect(fixtures.noPlugins!.bytes - fixtures.lean!.bytes).toBeGreaterThan(100 * KiB);
  });

  it("see a narrow onResolve filter miss under SST's plugin runner (it tests filters against 'undefined')", () => {
    // If this fails, SST's runner matches filters against the import path now: infra/lambda-plugins.mjs
    // can narrow its filter.
    expect(packageOf(fixtures.narrow!.inputs.find((i) => i.includes("credential-provider-node"))!)).toBe(
      "@aws-sdk/credential-provider-node",
    );
  });

  it("name each reason: uncallable clients, forbidden modules, the credential chain, the budget", () => {
    const inputs = [
      "node_modules/@aws-sdk/client-dynamodb/dist-es/index.js",
      "node_modules/@aws-sdk/client-acm-pca/dist-es/index.js",
      "node_modules/@aws-sdk/client-s3/dist-es/index.js",
      "node_modules/@aws-sdk/credential-provider-node/dist-es/index.js",
      "node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/index.js",
      "node_modules/@aws/durable-execution-sdk-js/dist/index.mjs",
      "node_modules/@aws-sdk/lib-dynamodb/dist-es/index.js",
      "functions/issuance/issue-certificate.ts",
      "functions/trust/publish-bundle.ts",
      "functions/trust/targets/webhook.ts",
    ];
    expect(bundleViolations({ inputs, bytes: 2_000_000 }, rulesOf("GET /certificates"))).toEqual([
      "SDK clients it cannot call: @aws-sdk/client-acm-pca, @aws-sdk/client-dynamodb, @aws-sdk/client-s3",
      "imports functions/issuance/ (1 modules)",
      "imports @aws-sdk/client-acm-pca (1 modules)",
      "imports functions/trust/ (2 modules)",
      "imports @aws/durable-execution-sdk-js (1 modules)",
      "imports @aws-sdk/lib-dynamodb (1 modules)",
      "the SDK's default credential chain: @aws-sdk/credential-provider-node, @aws-sdk/nested-clients",
      `SDK clients without ${LAMBDA_CREDENTIALS}`,
      "2000000 bytes (1953 KiB) > 400 KiB budget, 4.88×",
    ]);
  });
});

describe("the rules", () => {
  isolateStubs();

  it("allow each function only clients of services its role may call", async () => {
    const { declared } = await loadInfra("production", {
      MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS: "TS1ABCDEFGH",
      MTLS_ROTATOR_ALB_TRUST_STORE_ARNS:
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:truststore/o/0123456789abcdef",
      MTLS_ROTATOR_APIGATEWAY_DOMAINS: "api.origin.example.com",
      MTLS_ROTATOR_WEBHOOK_URL: "https://origins.example.com/mtls/trust-bundle",
      MTLS_ROTATOR_WEBHOOK_SECRET_NAME: "mtls-rotator/production/webhook-hmac",
      MTLS_ROTATOR_EVENT_BUS: "origin-trust",
      ...VIEWER_ENV,
    });
    for (const entry of LAMBDAS) {
      const fn = declared.find((d) => d.name === entry.name && typeof d.args.handler === "string")!;
      const services = new Set(
        (fn.args.permissions as Statement[]).flatMap((s) => s.actions.map((a) => a.split(":")[0])),
      );
      // The durable execution SDK's checkpoints: sst.aws.Workflow grants those itself.
      if (entry.kind === "workflow") services.add("lambda");
      const uncallable = RULES[entry.name].clients.filter((client) => !services.has(IAM_PREFIX[client]!));
      expect(uncallable, entry.name).toEqual([]);
    }
  });
});

describe("the Lambda bundles", () => {
  it.each(LAMBDAS.map((entry) => [entry.name, entry.kind] as const))(
    "%s (%s) imports only what it can call, within its budget",
    (name) => {
      expect(bundleViolations(bundles.get(name)!, rulesOf(name))).toEqual([]);
    },
  );
});
