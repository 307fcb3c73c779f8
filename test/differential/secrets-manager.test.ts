/**
 * Secrets Manager, moto against our stand-in: the call sequences the credential store
 * (functions/adapters/secrets.ts), the webhook key reader and the secret bundle target
 * (functions/trust/publish-bundle.ts) make. Compared: the staging labels of each version (by client request
 * token), what reads answer, error codes and HTTP statuses.
 *
 * Two kinds of scenario: raw SDK call sequences (independent of the adapters' method names, which may change)
 * and the same protocol driven through the real CredentialStore / readSecretString / SecretBundleTarget.
 */
import { createHash } from "node:crypto";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { describe } from "vitest";
import { awsErrorName } from "../../functions/adapters/errors.ts";
import {
  type CredentialSecret,
  CredentialStore,
  readSecretString,
} from "../../functions/adapters/secrets.ts";
import type { TrustBundle } from "../../functions/core/trust-bundle.ts";
import { SecretBundleTarget } from "../../functions/trust/publish-bundle.ts";
import { describeError, type ScenarioContext, useDifferential } from "../support/differential.ts";

const { differential } = useDifferential({
  // Every not-found answer would differ by its status alone; the status is compared on its own below.
  motoErrorStatus: [
    {
      deviation: "secretsmanager.not-found-http-404",
      error: "ResourceNotFoundException",
      motoStatus: 404,
      awsStatus: 400,
    },
  ],
});

/** Client request tokens (32..64 characters), the same on both backends. */
const T1 = "00000000-0000-4000-8000-000000000001";
const T2 = "00000000-0000-4000-8000-000000000002";
const T3 = "00000000-0000-4000-8000-000000000003";
const MISSING = "00000000-0000-4000-8000-0000000000ff";

/** Name the tokens in the comparison (`<v1>` ...). */
function aliasTokens(ctx: ScenarioContext): void {
  ctx.alias(T1, "v1");
  ctx.alias(T2, "v2");
  ctx.alias(T3, "v3");
  ctx.alias(MISSING, "missing-version");
}

const sorted = (labels: string[] | undefined) => [...(labels ?? [])].sort();

/**
 * Version -> sorted labels, versions without a label left out. moto lists those with an empty list
 * (KNOWN_MOTO_DEVIATIONS "secretsmanager.describe-lists-unlabelled-versions"); AWS and the stand-in leave
 * them out. The difference is compared on its own in the case that names that id.
 */
function labelled(map: Record<string, string[]> | undefined): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(map ?? {})
      .filter(([, labels]) => labels.length > 0)
      .map(([id, labels]) => [id, sorted(labels)]),
  );
}

const putAnswer = (out: PutSecretValueCommandOutput) => ({
  VersionId: out.VersionId,
  VersionStages: sorted(out.VersionStages),
});
const getAnswer = (out: GetSecretValueCommandOutput) => ({
  VersionId: out.VersionId,
  SecretString: out.SecretString,
  VersionStages: sorted(out.VersionStages),
});
// ARN left out: moto answers the name there (KNOWN_MOTO_DEVIATIONS "secretsmanager.list-versions-arn-is-name").
const listAnswer = (out: ListSecretVersionIdsCommandOutput) => ({
  Versions: Object.fromEntries(
    (out.Versions ?? []).map((v) => [v.VersionId ?? "?", sorted(v.VersionStages)] as const),
  ),
});

function sm(ctx: ScenarioContext) {
  const client = ctx.clients.secrets;
  return {
    create: (step: string, input: { Name: string; SecretString?: string; ClientRequestToken?: string }) =>
      ctx.observe(step, client.send(new CreateSecretCommand(input)), (out) => ({
        ARN: out.ARN,
        Name: out.Name,
        VersionId: out.VersionId,
      })),
    put: (step: string, secretId: string, token: string, value: string, stages?: string[]) =>
      ctx.observe(
        step,
        client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: value,
            ...(stages ? { VersionStages: stages } : {}),
          }),
        ),
        putAnswer,
      ),
    /**
     * GetSecretValue; AWSCURRENT is asked for by name unless `by` says otherwise: moto answers a stale version
     * when neither is given (KNOWN_MOTO_DEVIATIONS "secretsmanager.default-version-not-moved").
     */
    get: (
      step: string,
      secretId: string,
      by: { VersionId?: string; VersionStage?: string } = { VersionStage: "AWSCURRENT" },
    ) => ctx.observe(step, client.send(new GetSecretValueCommand({ SecretId: secretId, ...by })), getAnswer),
    labels: (step: string, secretId: string) =>
      ctx.observe(step, client.send(new DescribeSecretCommand({ SecretId: secretId })), (out) => ({
        ARN: out.ARN,
        VersionIdsToStages: labelled(out.VersionIdsToStages),
      })),
    move: (step: string, secretId: string, stage: string, to?: string, from?: string) =>
      ctx.observe(
        step,
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: stage,
            ...(to ? { MoveToVersionId: to } : {}),
            ...(from ? { RemoveFromVersionId: from } : {}),
          }),
        ),
      ),
    list: (step: string, secretId: string, includeDeprecated?: boolean) =>
      ctx.observe(
        step,
        client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            ...(includeDeprecated !== undefined ? { IncludeDeprecated: includeDeprecated } : {}),
          }),
        ),
        listAnswer,
      ),
  };
}

/** A secret created with value "one" (token T1, AWSCURRENT) and "two" written as AWSPENDING (T2). */
async function secretWithPending(ctx: ScenarioContext): Promise<string> {
  const name = ctx.name("secret");
  const api = sm(ctx);
  await api.create("create with a value", { Name: name, SecretString: "one", ClientRequestToken: T1 });
  await api.put("put AWSPENDING", name, T2, "two", ["AWSPENDING"]);
  return name;
}

describe("raw calls: versions and staging labels", () => {
  differential(
    "CreateSecret without a value has no version: reads answer ResourceNotFoundException",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create without a value", { Name: name });
      await api.labels("describe", name);
      await api.get("get AWSCURRENT", name);
      await api.get("get AWSPENDING", name, { VersionStage: "AWSPENDING" });
      await api.list("list versions (deprecated included)", name, true);
      await api.create("create again", { Name: name });
    },
  );

  differential(
    "the first PutSecretValue, staged AWSPENDING, also gets AWSCURRENT",
    async (ctx) => {
      // AWS: "If this operation creates the first version for the secret, then Secrets Manager automatically
      // attaches the staging label AWSCURRENT to the new version." The stand-in does not yet: another branch
      // fixes it; when that lands this case turns red and the merger flips `standinGap` off.
      // [secretsmanager.first-version-current]
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create without a value", { Name: name });
      await api.put("first put, staged AWSPENDING", name, T1, "one", ["AWSPENDING"]);
      await api.labels("labels after the first put", name);
      await api.get("get AWSCURRENT", name);
    },
    { standinGap: "secretsmanager.first-version-current" },
  );

  differential("a first PutSecretValue without VersionStages is AWSCURRENT", async (ctx) => {
    aliasTokens(ctx);
    const api = sm(ctx);
    const name = ctx.name("secret");
    await api.create("create without a value", { Name: name });
    await api.put("first put", name, T1, "one");
    await api.labels("labels", name);
    await api.get("get AWSCURRENT", name);
  });

  differential(
    "PutSecretValue without VersionStages moves AWSCURRENT; the old current becomes AWSPREVIOUS",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create with a value", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.labels("labels after create", name);
      await api.put("put v2", name, T2, "two");
      await api.labels("labels after v2", name);
      await api.put("put v3", name, T3, "three");
      await api.labels("labels after v3", name);
      await api.get("get AWSPREVIOUS", name, { VersionStage: "AWSPREVIOUS" });
    },
  );

  differential(
    "a repeated PutSecretValue (same token, same value) of a current version changes nothing",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create with a value", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.put("put v2", name, T2, "two");
      await api.put("put v2 again", name, T2, "two");
      await api.labels("labels", name);
    },
  );

  differential(
    "the same token with a different value is refused (ResourceExistsException) for a current version",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create with a value", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.put("put v2", name, T2, "two");
      await api.put("put v2 with another value", name, T2, "changed");
      await api.get("get v2", name, { VersionId: T2 });
      await api.labels("labels", name);
    },
  );

  differential(
    "a repeated AWSPENDING put (same token, same value) keeps the labels, AWSCURRENT included",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.put("put AWSPENDING again", name, T2, "two", ["AWSPENDING"]);
      await api.labels("labels", name);
      await api.get("get AWSPENDING", name, { VersionStage: "AWSPENDING" });
    },
  );

  differential(
    "the same token with a different value is refused for an AWSPENDING version",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.put("put AWSPENDING with another value", name, T2, "changed", ["AWSPENDING"]);
      await api.get("get v2", name, { VersionId: T2 });
    },
    { deviation: "secretsmanager.pending-put-rewrites-version" },
  );

  differential(
    "repeating the first AWSPENDING put keeps the AWSCURRENT it was given",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create without a value", { Name: name });
      await api.put("first put, staged AWSPENDING", name, T1, "one", ["AWSPENDING"]);
      await api.put("the same put again", name, T1, "one", ["AWSPENDING"]);
      await api.labels("labels", name);
    },
    { deviation: "secretsmanager.pending-put-rewrites-version" },
  );

  differential(
    "UpdateSecretVersionStage: AWSCURRENT moves to the pending version, the old one becomes AWSPREVIOUS, then AWSPENDING is removed",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.labels("labels before", name);
      await api.move("move AWSCURRENT v1 -> v2", name, "AWSCURRENT", T2, T1);
      await api.labels("labels after the move", name);
      await api.move("remove AWSPENDING from v2", name, "AWSPENDING", undefined, T2);
      await api.labels("labels after removing AWSPENDING", name);
      await api.get("get AWSCURRENT", name);
      await api.get("get AWSPREVIOUS", name, { VersionStage: "AWSPREVIOUS" });
      await api.get("get AWSPENDING (gone)", name, { VersionStage: "AWSPENDING" });
      // A second rotation: v1 loses AWSPREVIOUS (and with it its last label).
      await api.put("put v3 AWSPENDING", name, T3, "three", ["AWSPENDING"]);
      await api.move("move AWSCURRENT v2 -> v3", name, "AWSCURRENT", T3, T2);
      await api.labels("labels after the second rotation", name);
      await api.get("get v1 by version id (no labels)", name, { VersionId: T1 });
    },
  );

  differential(
    "UpdateSecretVersionStage refusals: label not on the version, AWSCURRENT moved without RemoveFromVersionId",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.move("remove AWSPENDING from v1 (not there)", name, "AWSPENDING", undefined, T1);
      await api.move("move AWSCURRENT to v2 without RemoveFromVersionId", name, "AWSCURRENT", T2);
      await api.move("move AWSCURRENT to v2 removing it from v2 (wrong holder)", name, "AWSCURRENT", T2, T2);
      await api.labels("labels unchanged", name);
    },
  );

  differential(
    "a retried first AWSPENDING put, then AWSCURRENT moved to it without RemoveFromVersionId (CredentialStore.promote)",
    async (ctx) => {
      // On AWS the first put makes v1 AWSCURRENT and the retry is ignored, so the move finds v1 holding it.
      // moto's retry takes AWSCURRENT off v1 ("secretsmanager.pending-put-rewrites-version"), and its move
      // with no holder then crashes: the sequence CredentialStore.promote makes after a retried putPending.
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create without a value", { Name: name });
      await api.put("first put, staged AWSPENDING", name, T1, "one", ["AWSPENDING"]);
      await api.put("the same put again", name, T1, "one", ["AWSPENDING"]);
      await api.move("move AWSCURRENT to v1", name, "AWSCURRENT", T1);
      await api.labels("labels", name);
    },
    { deviation: "secretsmanager.move-current-without-holder" },
  );

  differential("GetSecretValue by stage, by version, and by both", async (ctx) => {
    aliasTokens(ctx);
    const api = sm(ctx);
    const name = await secretWithPending(ctx);
    await api.get("get without VersionId or VersionStage (AWSCURRENT)", name, {});
    await api.get("get AWSCURRENT", name);
    await api.get("get AWSPENDING", name, { VersionStage: "AWSPENDING" });
    await api.get("get v1 by version id", name, { VersionId: T1 });
    await api.get("get v2 by version id and its stage", name, { VersionId: T2, VersionStage: "AWSPENDING" });
    // VersionId with another version's stage: see the unsettled case below.
    await api.get("get a missing version id", name, { VersionId: MISSING });
    await api.get("get a stage no version has", name, { VersionStage: "AWSPREVIOUS" });
  });

  differential(
    "GetSecretValue with a VersionId and the stage of another version is refused",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.get("get v1 with AWSPENDING", name, { VersionId: T1, VersionStage: "AWSPENDING" });
    },
    { unsettled: "secretsmanager.version-and-other-stage" },
  );

  differential(
    "UpdateSecretVersionStage to a version that does not exist is refused",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.move("move AWSPENDING to a missing version", name, "AWSPENDING", MISSING, T2);
      await api.labels("labels unchanged", name);
    },
    { unsettled: "secretsmanager.move-to-missing-version" },
  );

  differential(
    "GetSecretValue without VersionId or VersionStage follows AWSCURRENT when UpdateSecretVersionStage moves it",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.move("move AWSCURRENT v1 -> v2", name, "AWSCURRENT", T2, T1);
      await api.get("get without VersionId or VersionStage", name, {});
    },
    { deviation: "secretsmanager.default-version-not-moved" },
  );

  differential(
    "DescribeSecret leaves out versions without staging labels",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.move("remove AWSPENDING from v2", name, "AWSPENDING", undefined, T2);
      // Unfiltered: `labelled()` would hide exactly what this case is about.
      await ctx.observe(
        "describe",
        ctx.clients.secrets.send(new DescribeSecretCommand({ SecretId: name })),
        (out) => ({
          VersionIdsToStages: out.VersionIdsToStages,
        }),
      );
    },
    { deviation: "secretsmanager.describe-lists-unlabelled-versions" },
  );

  differential(
    "ListSecretVersionIds with IncludeDeprecated lists versions without labels too",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.list("list (deprecated included) before", name, true);
      await api.move("remove AWSPENDING from v2", name, "AWSPENDING", undefined, T2);
      await api.list("list (deprecated included) after", name, true);
    },
  );

  differential(
    "ListSecretVersionIds without IncludeDeprecated leaves out versions without labels",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = await secretWithPending(ctx);
      await api.move("remove AWSPENDING from v2", name, "AWSPENDING", undefined, T2);
      await api.list("list", name);
      await api.list("list (IncludeDeprecated false)", name, false);
    },
    { deviation: "secretsmanager.list-versions-ignores-include-deprecated" },
  );

  differential(
    "a retried CreateSecret (same token, same value) is ignored; another value is ResourceExistsException",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create with a value", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.create("the same create again", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.create("the same token with another value", {
        Name: name,
        SecretString: "two",
        ClientRequestToken: T1,
      });
      await api.create("another token", { Name: name, SecretString: "one", ClientRequestToken: T2 });
      await api.labels("labels", name);
    },
  );

  differential(
    "a secret is found by name, by ARN and by partial ARN (without the random suffix)",
    async (ctx) => {
      aliasTokens(ctx);
      const api = sm(ctx);
      const name = ctx.name("secret");
      const created = await api.create("create", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      const arn = created?.ARN ?? "";
      await api.get("by name", name);
      await api.get("by ARN", arn);
      await api.get("by partial ARN", arn.slice(0, -7));
      await api.labels("DescribeSecret by partial ARN", arn.slice(0, -7));
      await api.get("by an ARN with a wrong suffix", `${arn.slice(0, -6)}zzzzzz`);
    },
  );

  differential(
    "the service model's limits: a value over 65,536 bytes, more than 20 labels, a name with a space",
    async (ctx) => {
      const api = sm(ctx);
      const name = ctx.name("secret");
      await api.create("create", { Name: name, SecretString: "one", ClientRequestToken: T1 });
      await api.put("65,537 bytes", name, T2, "x".repeat(65_537));
      const labels = Array.from({ length: 21 }, (_, i) => `L${i}`);
      await api.put("21 labels", name, T3, "three", labels);
      await api.create("a name with a space", { Name: "not allowed!", SecretString: "v" });
    },
    { deviation: "secretsmanager.model-limits-unchecked" },
  );

  differential("a missing secret: every operation answers ResourceNotFoundException", async (ctx) => {
    aliasTokens(ctx);
    const api = sm(ctx);
    const name = ctx.name("no-such-secret");
    await api.get("GetSecretValue", name);
    await api.labels("DescribeSecret", name);
    await api.put("PutSecretValue", name, T1, "one", ["AWSPENDING"]);
    await api.move("UpdateSecretVersionStage", name, "AWSPENDING", T1);
  });

  differential(
    "ResourceNotFoundException is an HTTP 400",
    async (ctx) => {
      // Recorded as it came (observe() would map moto's 404 to 400 for the other cases).
      try {
        await ctx.clients.secrets.send(new GetSecretValueCommand({ SecretId: ctx.name("no-such-secret") }));
        ctx.record("GetSecretValue of a missing secret", "answered");
      } catch (error) {
        ctx.record("GetSecretValue of a missing secret", describeError(error));
      }
    },
    { deviation: "secretsmanager.not-found-http-404" },
  );

  differential(
    "ListSecretVersionIds of a missing secret answers ResourceNotFoundException",
    async (ctx) => {
      await sm(ctx).list("ListSecretVersionIds", ctx.name("no-such-secret"), true);
    },
    { deviation: "secretsmanager.list-versions-missing-secret" },
  );

  differential(
    "ListSecretVersionIds answers the secret's ARN",
    async (ctx) => {
      const name = await secretWithPending(ctx);
      await ctx.observe(
        "list",
        ctx.clients.secrets.send(new ListSecretVersionIdsCommand({ SecretId: name })),
        (out) => ({
          ARN: out.ARN,
        }),
      );
    },
    { deviation: "secretsmanager.list-versions-arn-is-name" },
  );
});

// ---- through the adapters ---------------------------------------------------------------------------------

/** A credential document as the rotation stores it (no real key material needed for label semantics). */
function credential(rotationId: string): CredentialSecret {
  return {
    kind: "credential",
    rotationId,
    privateKeyPem: `key of ${rotationId}`,
    certificatePem: `cert of ${rotationId}`,
  };
}

/** What a CredentialStore call did: its result, or the AWS error it threw. */
async function outcome<T>(call: Promise<T>): Promise<unknown> {
  try {
    const value = await call;
    return value === undefined ? "undefined" : value;
  } catch (error) {
    return { threw: awsErrorName(error) ?? String(error) };
  }
}

describe("through CredentialStore, readSecretString and SecretBundleTarget", () => {
  differential(
    "CredentialStore: the first credential is stored AWSPENDING and promoted",
    async (ctx) => {
      // [secretsmanager.first-version-current]: on AWS (and moto) the first putPending already makes v1
      // AWSCURRENT; the stand-in leaves it AWSPENDING only until the fix on another branch lands.
      aliasTokens(ctx);
      const store = new CredentialStore(ctx.clients.secrets);
      const name = ctx.name("credential");
      await store.ensureSecret(name, { "mtls-rotator:certificate": "c1" });
      await store.ensureSecret(name);
      ctx.record("stages after ensureSecret x2", await store.stages(name));
      await store.putPending(name, T1, credential("r1"));
      ctx.record("stages after putPending v1", labelled(await store.stages(name)));
      ctx.record("readStage AWSCURRENT", await outcome(store.readStage(name, "AWSCURRENT")));
      await store.promote(name, T1);
      ctx.record("stages after promote v1", labelled(await store.stages(name)));
    },
    { standinGap: "secretsmanager.first-version-current" },
  );

  differential(
    "CredentialStore: a second rotation — retried putPending, promote (twice), rollback record",
    async (ctx) => {
      aliasTokens(ctx);
      const store = new CredentialStore(ctx.clients.secrets);
      const name = ctx.name("credential");
      // Set-up, not compared: a first credential promoted to AWSCURRENT (both end here, see the case above).
      await store.ensureSecret(name);
      await store.putPending(name, T1, credential("r1"));
      await store.promote(name, T1);
      ctx.record("stages after the first rotation", labelled(await store.stages(name)));

      await store.putPending(name, T2, credential("r2"));
      await store.putPending(name, T2, credential("r2")); // the retried step
      ctx.record("stages after putPending v2 (twice)", labelled(await store.stages(name)));
      ctx.record("readStage AWSPENDING", await outcome(store.readStage(name, "AWSPENDING")));
      ctx.record("readStage AWSCURRENT", await outcome(store.readStage(name, "AWSCURRENT")));
      await store.promote(name, T2);
      await store.promote(name, T2); // idempotent
      ctx.record("stages after promote v2 (twice)", labelled(await store.stages(name)));
      ctx.record(
        "readStage AWSPREVIOUS (the rollback record)",
        await outcome(store.readStage(name, "AWSPREVIOUS")),
      );
      ctx.record("readVersion v1", await outcome(store.readVersion(name, T1)));
      ctx.record("readVersion of a missing version", await outcome(store.readVersion(name, MISSING)));
    },
  );

  differential(
    "CredentialStore: a rolled-back rotation — clearPending leaves AWSCURRENT where it was",
    async (ctx) => {
      aliasTokens(ctx);
      const store = new CredentialStore(ctx.clients.secrets);
      const name = ctx.name("credential");
      await store.ensureSecret(name);
      await store.putPending(name, T1, credential("r1"));
      await store.promote(name, T1);

      await store.putPending(name, T2, credential("r2"));
      await store.clearPending(name);
      ctx.record("stages after clearPending", labelled(await store.stages(name)));
      await store.clearPending(name); // nothing pending: a no-op
      ctx.record("stages after clearPending again", labelled(await store.stages(name)));
      ctx.record("readStage AWSPENDING", await outcome(store.readStage(name, "AWSPENDING")));
      ctx.record("readVersion v2 (unlabelled, still there)", await outcome(store.readVersion(name, T2)));
      // A new attempt with a new token after the rollback.
      await store.putPending(name, T3, credential("r3"));
      await store.promote(name, T3);
      ctx.record("stages after the new attempt", labelled(await store.stages(name)));
    },
  );

  differential(
    "CredentialStore on a missing secret: reads are undefined, clearPending is a no-op, stages throw",
    async (ctx) => {
      aliasTokens(ctx);
      const store = new CredentialStore(ctx.clients.secrets);
      const name = ctx.name("no-such-credential");
      ctx.record("readStage", await outcome(store.readStage(name, "AWSCURRENT")));
      ctx.record("readVersion", await outcome(store.readVersion(name, T1)));
      ctx.record("clearPending", await outcome(store.clearPending(name)));
      ctx.record("stages", await outcome(store.stages(name)));
      ctx.record("putPending", await outcome(store.putPending(name, T1, credential("r1"))));
    },
  );

  differential(
    "readSecretString: the current value; a secret without a value throws ResourceNotFoundException",
    async (ctx) => {
      const secrets = ctx.clients.secrets;
      const withValue = ctx.name("webhook-key");
      const without = ctx.name("webhook-key-empty");
      await secrets.send(new CreateSecretCommand({ Name: withValue, SecretString: "hmac-key-1" }));
      await secrets.send(new CreateSecretCommand({ Name: without }));
      ctx.record("with a value", await outcome(readSecretString(secrets, withValue)));
      ctx.record("without a value", await outcome(readSecretString(secrets, without)));
      ctx.record("missing secret", await outcome(readSecretString(secrets, ctx.name("no-such-key"))));
    },
  );

  differential(
    "SecretBundleTarget: create, replace, unchanged, and a return to an earlier bundle",
    async (ctx) => {
      const target = new SecretBundleTarget(ctx.clients.secrets, ctx.name("bundle"));
      const bundleA = textBundle("bundle A\n");
      const bundleB = textBundle("bundle B\n");
      ctx.alias(uuidFrom(bundleA.sha256), "bundle-A");
      ctx.alias(uuidFrom(bundleB.sha256), "bundle-B");
      const describeTarget = async (step: string) =>
        ctx.observe(
          step,
          ctx.clients.secrets.send(
            new DescribeSecretCommand({ SecretId: target.name.slice("secretsmanager:".length) }),
          ),
          (out) => labelled(out.VersionIdsToStages),
        );
      const write = async (bundle: TrustBundle) => outcome(target.write(bundle));
      ctx.record("write A (creates the secret)", await write(bundleA));
      await describeTarget("labels after A");
      ctx.record("write B", await write(bundleB));
      await describeTarget("labels after B");
      ctx.record("write B again (unchanged)", await write(bundleB));
      ctx.record("write A again (an earlier bundle)", await write(bundleA));
      await describeTarget("labels after A again");
      // target.read() asks without a stage: moto would answer a stale version there
      // (KNOWN_MOTO_DEVIATIONS "secretsmanager.default-version-not-moved"), so read AWSCURRENT by name.
      await ctx.observe(
        "read AWSCURRENT",
        ctx.clients.secrets.send(
          new GetSecretValueCommand({
            SecretId: target.name.slice("secretsmanager:".length),
            VersionStage: "AWSCURRENT",
          }),
        ),
        (out) => out.SecretString,
      );
    },
  );
});

/** A bundle as the secret target sees it: only the text and its digest matter there. */
function textBundle(pem: string): TrustBundle {
  return {
    pem,
    sha256: createHash("sha256").update(pem).digest("hex"),
    entries: [],
    bytes: Buffer.byteLength(pem),
  };
}

/** SecretBundleTarget's version id for a bundle (publish-bundle.ts uuidFrom). */
function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
