/**
 * What a step retries. Every error a step can throw says whether a retry could fix it (`retryable`, decided by
 * its class); AWS's own errors by the SDK's marks and their code. The decision is taken by the retry strategy on
 * the live error, in whichever invocation the step ran: the durable runtime checkpoints only the error's name
 * and message, so the decision travels as the checkpointed outcome (retry scheduled, or failed), never as data.
 */

import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import {
  AccessDeniedException,
  InternalServerException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-acm";
import { S3ServiceException } from "@aws-sdk/client-s3";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import {
  DistributionChangedError,
  OriginNotFoundError,
  UnsafeUpdateError,
} from "../../functions/adapters/cloudfront.ts";
import { AdapterError, IssuanceTimeoutError } from "../../functions/adapters/errors.ts";
import { RotationStoreError } from "../../functions/adapters/rotation-reads.ts";
import { ItemTooLargeError } from "../../functions/adapters/rotation-store.ts";
import { ReplacementKeyError } from "../../functions/core/certificate.ts";
import { PolicyError } from "../../functions/core/renewal.ts";
import { TrustBundleError } from "../../functions/core/trust-bundle.ts";
import { CertificateValidationError } from "../../functions/core/validation.ts";
import { IssuanceError } from "../../functions/issuance/issue-certificate.ts";
import { AlbTrustStoreError } from "../../functions/trust/targets/alb-trust-store.ts";
import { ApiGatewayTruststoreError } from "../../functions/trust/targets/apigateway-domain.ts";
import { CloudFrontTrustStoreError } from "../../functions/trust/targets/cloudfront-trust-store.ts";
import { EventBridgeTargetError } from "../../functions/trust/targets/eventbridge.ts";
import { BundleBucketError } from "../../functions/trust/targets/s3-bundle-version.ts";
import { WebhookConfigError, WebhookDeliveryError } from "../../functions/trust/targets/webhook.ts";
import { DistributionsNotAllowedError } from "../../functions/workflow/plan.ts";
import { stepRetry } from "../../functions/workflow/retry.ts";
import { createRotationWorkflow } from "../../functions/workflow/rotation-workflow.ts";
import { useDurableRunner, withWaitsThatAddUp } from "../support/durable.ts";
import { buildFleet, type Fleet } from "../support/fleet.ts";

useDurableRunner({ skipTime: true });

const ARN = "arn:aws:acm:us-east-1:111122223333:certificate/4f9a3c1e-0000-4000-8000-000000000001";
const aws = { $metadata: {} };

type Result = Awaited<ReturnType<LocalDurableTestRunner<unknown>["run"]>>;

/** How many times the runtime ran the step `name`. */
function attemptsOf(result: Result, name: string): number | undefined {
  return result
    .getOperations()
    .find((op) => op.getName() === name)
    ?.getOperationData()?.StepDetails?.Attempt;
}

/** [what happened, the error a step throws, whether a retry could fix it] */
const CASES: Array<[string, Error, boolean]> = [
  // A retry cannot fix these: refusals, validation, settings, "not found" as a decision, conflicts.
  [
    "the plan refuses a certificate other distributions present",
    new DistributionsNotAllowedError(ARN, ["E2"]),
    false,
  ],
  [
    "an origin is gone from its distribution",
    new OriginNotFoundError("distribution E1 has no origin o-1"),
    false,
  ],
  ["an update would break a CloudFront rule", new UnsafeUpdateError("more than 5 certificate ARNs"), false],
  ["a distribution changed under every attempt", new DistributionChangedError("E1", 6), false],
  ["issuance refused", new IssuanceError("Private CA is DISABLED, not ACTIVE"), false],
  ["an invalid certificate", new CertificateValidationError("Expired", "expired"), false],
  ["an invalid policy", new PolicyError("canarySize must be a whole number >= 1"), false],
  [
    "no key CloudFront could present",
    new ReplacementKeyError({
      reason: "NoPresentableKey",
      caKeyAlgorithm: "SM2",
      inServiceKeyAlgorithm: "EC_prime256v1",
      message: "no replacement key",
    }),
    false,
  ],
  ["an invalid trust bundle", new TrustBundleError("Empty", "the bundle would trust no CA at all"), false],
  ["a history item over DynamoDB's limit", new ItemTooLargeError("item exceeds 400 KB"), false],
  [
    "a CloudFront trust store that failed to load the bundle",
    new CloudFrontTrustStoreError("TrustStoreFailed", "failed", { trustStoreId: "ts-1" }),
    false,
  ],
  [
    "a CloudFront trust store another writer keeps changing",
    new CloudFrontTrustStoreError("TrustStoreConflict", "stale ETag", { trustStoreId: "ts-1" }),
    false,
  ],
  [
    "an API Gateway domain without mutual TLS",
    new ApiGatewayTruststoreError("NoMutualTls", "no mutual TLS", { domainName: "api.example.com" }),
    false,
  ],
  ["a bundle bucket without versioning", new BundleBucketError("the bucket must have versioning"), false],
  ["an ALB that loaded fewer CAs than the bundle holds", new AlbTrustStoreError("loaded 1 of 2"), false],
  [
    "an EventBridge bus that does not exist",
    new EventBridgeTargetError("event bus does not exist", "ResourceNotFoundException"),
    false,
  ],
  ["a misconfigured webhook", new WebhookConfigError("webhook secret must be at least 16 characters"), false],
  [
    "a webhook receiver that refuses the bundle",
    new WebhookDeliveryError("refused: HTTP 401", { target: "webhook", attempts: 1, status: 401 }),
    false,
  ],
  ["AWS AccessDeniedException", new AccessDeniedException({ ...aws, message: "not authorized" }), false],
  ["AWS ValidationException", new ValidationException({ ...aws, message: "invalid" }), false],
  [
    "S3 InvalidArgument",
    new S3ServiceException({ ...aws, name: "InvalidArgument", $fault: "client", message: "invalid" }),
    false,
  ],
  // A retry may fix these: timeouts, throttling, server faults, answers that may be transient, the unknown.
  ["a certificate not issued in time", new IssuanceTimeoutError("not issued in time"), true],
  ["an AWS answer this code could not use", new AdapterError("ImportCertificate returned no ARN"), true],
  ["a lock that kept changing hands", new RotationStoreError("lock kept changing hands; try again"), true],
  [
    "a CloudFront trust store not active in time",
    new CloudFrontTrustStoreError("TrustStoreNotActive", "still pending", { trustStoreId: "ts-1" }),
    true,
  ],
  ["EventBridge still throttling", new EventBridgeTargetError("refused", "ThrottlingException"), true],
  [
    "a webhook receiver down for every attempt",
    new WebhookDeliveryError("no answer", { target: "webhook", attempts: 4, status: 503 }),
    true,
  ],
  ["AWS ThrottlingException", new ThrottlingException({ ...aws, message: "Rate exceeded" }), true],
  ["AWS InternalServerException", new InternalServerException({ ...aws, message: "internal" }), true],
  ["an error nothing says anything about", new Error("socket hang up"), true],
];

describe("the retry strategy decides by the error's own word", () => {
  it.each(CASES.map(([what, error, retryable]) => ({ what, error, retryable })))(
    "$what: retryable $retryable",
    ({ error, retryable }) => {
      expect(stepRetry(error, 1).shouldRetry).toBe(retryable);
      expect(stepRetry(error, 5).shouldRetry).toBe(false);
    },
  );
});

describe("across the durable checkpoint boundary", () => {
  /** A workflow of one step that throws `errors` in turn (then succeeds), answering what its code receives. */
  async function runStep(errors: Error[]) {
    let runs = 0;
    const handler = workflow.handler(async (_input: unknown, ctx) => {
      try {
        return await ctx.step(
          "work",
          async () => {
            const error = errors[runs];
            runs += 1;
            if (error) throw error;
            return "done";
          },
          { retryStrategy: stepRetry },
        );
      } catch (error) {
        const received = error as Error & { cause?: Error; retryable?: unknown };
        return {
          name: received.name,
          message: received.message,
          cause: received.cause?.name,
          retryable: received.retryable,
        };
      }
    });
    const result = await new LocalDurableTestRunner({ handlerFunction: handler }).run({ payload: {} });
    return {
      result,
      runs,
      attempts: attemptsOf(result, "work"),
      invocations: result.getInvocations().length,
    };
  }

  it("a permanent error fails the step at once; later code gets its name and message, not the decision", async () => {
    const { result, runs } = await runStep([new DistributionsNotAllowedError(ARN, ["E2"])]);
    expect(runs).toBe(1);
    expect(result.getResult()).toEqual({
      name: "StepError",
      message: expect.stringContaining("is also presented by E2"),
      cause: "DistributionsNotAllowedError",
      retryable: undefined,
    });
  });

  it("a retryable error is retried in a later invocation, where a permanent one stops it", async () => {
    const { result, runs, attempts, invocations } = await runStep([
      new IssuanceTimeoutError("not issued in time"),
      new OriginNotFoundError("distribution E1 has no origin o-1"),
    ]);
    // The second attempt ran after a replay, on a live error again: its own class decided.
    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(runs).toBe(2);
    expect(attempts).toBe(2);
    expect(result.getResult()).toMatchObject({ cause: "OriginNotFoundError" });
  });

  it("a retryable error retried until the step succeeds", async () => {
    const { result, runs, invocations } = await runStep([
      new IssuanceTimeoutError("not issued in time"),
      new ThrottlingException({ ...aws, message: "Rate exceeded" }),
    ]);
    expect(invocations).toBeGreaterThanOrEqual(3);
    expect(runs).toBe(3);
    expect(result.getResult()).toBe("done");
  });
});

describe("the rotation does not retry what a retry cannot fix", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  async function rotate(f: Fleet, deps: Partial<Fleet["deps"]>) {
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), { ...f.deps, ...deps });
    return new LocalDurableTestRunner({ handlerFunction: handler }).run({ payload: f.input() });
  }

  it("a certificate other distributions present: the plan refuses once, the rotation fails", async () => {
    fleet = await buildFleet({ distributions: 2 });
    const f = fleet;
    const [allowed] = [...f.distributionIds].sort() as [string, string];
    const result = await rotate(f, { settings: { ...f.settings, distributionIds: [allowed] } });
    expect(result.getError()?.errorMessage).toMatch(
      /failed \(Unexpected\): plan failed: .* is also presented by/,
    );
    expect(attemptsOf(result, "plan")).toBe(1);
  });

  it("an origin gone from its distribution: the preflight fails once, the rotation fails", async () => {
    fleet = await buildFleet({ distributions: 1 });
    const f = fleet;
    const cloudfront = f.deps.distributions;
    // The distribution's origin was replaced after planning: the planned origin id is not there any more.
    const distributions: Fleet["deps"]["distributions"] = {
      findDistributionsPresenting: (arn) => cloudfront.findDistributionsPresenting(arn),
      swapOriginCertificate: (request) => cloudfront.swapOriginCertificate(request),
      deploymentStatus: (ids) => cloudfront.deploymentStatus(ids),
      originEndpoints: (id) => cloudfront.originEndpoints(id, ["origin-replaced"]),
    };
    const result = await rotate(f, { distributions });
    expect(result.getError()?.errorMessage).toMatch(
      /failed \(Unexpected\): preflight failed: .* has no origin/,
    );
    expect(attemptsOf(result, "preflight:1")).toBe(1);
  });
});
