/**
 * The Secrets Manager stand-in, driven by the real `@aws-sdk/client-secrets-manager` over loopback HTTP:
 * versions and staging labels exactly as AWS moves them (the first version gets AWSCURRENT, AWSCURRENT
 * hands AWSPREVIOUS to its former holder, a label sits on one version at a time), client request tokens,
 * lookups by stage and by version. Each rule's id (in square brackets in a test's title) is listed with the
 * AWS documentation it comes from at the top of standins/secrets-manager.ts.
 */
import { randomUUID } from "node:crypto";
import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Standins, startStandins } from "../../standins/index.ts";
import { refusedByModel } from "../support/model-checks.ts";

let standins: Standins;
let sm: SecretsManagerClient;
let counter = 0;

beforeAll(async () => {
  standins = await startStandins();
  sm = standins.clients({ maxAttempts: 1 }).secrets;
});

afterAll(async () => {
  await standins?.close();
});

/** A new secret holding `value` as AWSCURRENT; returns its name and the version id. */
async function createSecret(value = "v1"): Promise<{ name: string; v1: string }> {
  counter += 1;
  const name = `mtls-rotator/test/secret-${counter}`;
  const v1 = randomUUID();
  const out = await sm.send(
    new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: v1 }),
  );
  expect(out.VersionId).toBe(v1);
  return { name, v1 };
}

async function put(
  name: string,
  value: string,
  extra: Partial<PutSecretValueCommandInput> = {},
): Promise<string> {
  const token = extra.ClientRequestToken ?? randomUUID();
  const out = await sm.send(
    new PutSecretValueCommand({ SecretId: name, SecretString: value, ClientRequestToken: token, ...extra }),
  );
  expect(out.VersionId).toBe(token);
  return token;
}

/** Version id -> sorted labels, as DescribeSecret answers them (versions without a label are omitted). */
async function stages(name: string): Promise<Record<string, string[]>> {
  const out = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  return Object.fromEntries(
    Object.entries(out.VersionIdsToStages ?? {}).map(([id, labels]) => [id, [...labels].sort()]),
  );
}

function move(name: string, stage: string, to?: string, from?: string) {
  return sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: stage,
      ...(to ? { MoveToVersionId: to } : {}),
      ...(from ? { RemoveFromVersionId: from } : {}),
    }),
  );
}

describe("staging labels", () => {
  it("[secretsmanager.first-version-current] stages the value of CreateSecret as AWSCURRENT", async () => {
    const { name, v1 } = await createSecret("first");
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"] });
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(got).toMatchObject({ SecretString: "first", VersionId: v1, VersionStages: ["AWSCURRENT"] });
  });

  it("[secretsmanager.create-without-value] creates a secret without a version when CreateSecret has no value", async () => {
    counter += 1;
    const name = `mtls-rotator/test/empty-${counter}`;
    const out = await sm.send(new CreateSecretCommand({ Name: name }));
    expect(out.VersionId).toBeUndefined();
    expect(await stages(name)).toEqual({});
    await expect(sm.send(new GetSecretValueCommand({ SecretId: name }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });

  it("[secretsmanager.first-version-current] gives the first PutSecretValue AWSCURRENT whatever VersionStages says", async () => {
    counter += 1;
    const name = `mtls-rotator/test/first-${counter}`;
    await sm.send(new CreateSecretCommand({ Name: name }));
    const token = randomUUID();
    const out = await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: "pending only?",
        ClientRequestToken: token,
        VersionStages: ["AWSPENDING"],
      }),
    );
    // As moto 5.2 answers it: the labels asked for, then AWSCURRENT.
    expect(out.VersionStages).toEqual(["AWSPENDING", "AWSCURRENT"]);
    expect(await stages(name)).toEqual({ [token]: ["AWSCURRENT", "AWSPENDING"] });
    // A plain read (AWSCURRENT) now answers that value.
    expect(await sm.send(new GetSecretValueCommand({ SecretId: name }))).toMatchObject({
      SecretString: "pending only?",
      VersionId: token,
    });

    // Only the first version: a second one staged AWSPENDING takes AWSPENDING and leaves AWSCURRENT alone.
    const second = await put(name, "second", { VersionStages: ["AWSPENDING"] });
    expect(await stages(name)).toEqual({ [token]: ["AWSCURRENT"], [second]: ["AWSPENDING"] });

    // A first version with a custom label only gets AWSCURRENT too.
    counter += 1;
    const other = `mtls-rotator/test/first-${counter}`;
    await sm.send(new CreateSecretCommand({ Name: other }));
    const custom = await put(other, "x", { VersionStages: ["MYLABEL"] });
    expect(await stages(other)).toEqual({ [custom]: ["AWSCURRENT", "MYLABEL"] });
  });

  it("[secretsmanager.first-version-current] gives the first PutSecretValue without VersionStages AWSCURRENT and no AWSPREVIOUS", async () => {
    counter += 1;
    const name = `mtls-rotator/test/first-${counter}`;
    await sm.send(new CreateSecretCommand({ Name: name }));
    const v1 = await put(name, "one");
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"] });
  });

  it("[secretsmanager.put-default-current] has PutSecretValue stage AWSCURRENT by default, the old current becoming AWSPREVIOUS", async () => {
    const { name, v1 } = await createSecret();
    const v2 = await put(name, "v2");
    expect(await stages(name)).toEqual({ [v1]: ["AWSPREVIOUS"], [v2]: ["AWSCURRENT"] });

    const v3 = await put(name, "v3");
    // v1 lost AWSPREVIOUS and with it its last label.
    expect(await stages(name)).toEqual({ [v2]: ["AWSPREVIOUS"], [v3]: ["AWSCURRENT"] });
    expect(standins.secrets.stagesOf(name)[v1]).toEqual([]);
  });

  it("[secretsmanager.put-moves-named-labels-only] [secretsmanager.label-on-one-version] moves AWSPENDING off any other version when PutSecretValue stages it, leaving AWSCURRENT alone", async () => {
    const { name, v1 } = await createSecret();
    const p1 = await put(name, "pending-1", { VersionStages: ["AWSPENDING"] });
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"], [p1]: ["AWSPENDING"] });

    const p2 = await put(name, "pending-2", { VersionStages: ["AWSPENDING"] });
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"], [p2]: ["AWSPENDING"] });
    expect(standins.secrets.stagesOf(name)[p1]).toEqual([]);
  });

  it("[secretsmanager.move-needs-remove-from] refuses to move AWSCURRENT without RemoveFromVersionId while another version holds it", async () => {
    const { name, v1 } = await createSecret();
    const p = await put(name, "pending", { VersionStages: ["AWSPENDING"] });
    const before = await stages(name);

    await expect(move(name, "AWSCURRENT", p)).rejects.toMatchObject({
      name: "InvalidParameterException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(move(name, "AWSCURRENT", p, p)).rejects.toMatchObject({ name: "InvalidParameterException" });
    expect(await stages(name)).toEqual(before);
    expect(before[v1]).toEqual(["AWSCURRENT"]);
  });

  it("[secretsmanager.current-leaves-previous] makes the old current AWSPREVIOUS when AWSCURRENT moves, taking AWSPREVIOUS off its former holder", async () => {
    const { name, v1 } = await createSecret();
    const v2 = await put(name, "v2");
    const p = await put(name, "pending", { VersionStages: ["AWSPENDING"] });
    expect(await stages(name)).toEqual({
      [v1]: ["AWSPREVIOUS"],
      [v2]: ["AWSCURRENT"],
      [p]: ["AWSPENDING"],
    });

    await move(name, "AWSCURRENT", p, v2);
    const after = await stages(name);
    expect(after[p]).toContain("AWSCURRENT");
    expect(after[v2]).toEqual(["AWSPREVIOUS"]);
    expect(after[v1]).toBeUndefined();

    // Rolling back: AWSCURRENT returns to v2, which gives up AWSPREVIOUS to p.
    await move(name, "AWSCURRENT", v2, p);
    const rolledBack = await stages(name);
    expect(rolledBack[v2]).toEqual(["AWSCURRENT"]);
    expect(rolledBack[p]).toContain("AWSPREVIOUS");
    expect(rolledBack[p]).not.toContain("AWSCURRENT");
  });

  it("[secretsmanager.current-leaves-previous] moves AWSCURRENT and AWSPREVIOUS when PutSecretValue names AWSCURRENT explicitly", async () => {
    const { name, v1 } = await createSecret();
    const v2 = await put(name, "v2", { VersionStages: ["AWSCURRENT"] });
    expect(await stages(name)).toEqual({ [v1]: ["AWSPREVIOUS"], [v2]: ["AWSCURRENT"] });
    const p = await put(name, "pending", { VersionStages: ["AWSPENDING"] });
    const v3 = await put(name, "v3", { VersionStages: ["AWSCURRENT"] });
    expect(await stages(name)).toEqual({ [v2]: ["AWSPREVIOUS"], [v3]: ["AWSCURRENT"], [p]: ["AWSPENDING"] });
    expect(standins.secrets.stagesOf(name)[v1]).toEqual([]);
  });

  it("[secretsmanager.current-only-moves] refuses to remove AWSCURRENT without moving it", async () => {
    const { name, v1 } = await createSecret();
    await expect(move(name, "AWSCURRENT", undefined, v1)).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"] });
  });

  it("[secretsmanager.remove-from-holder-only] removes another label from the version named, and only from the version that holds it", async () => {
    const { name, v1 } = await createSecret();
    const p = await put(name, "pending", { VersionStages: ["AWSPENDING"] });

    await expect(move(name, "AWSPENDING", undefined, v1)).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
    await expect(move(name, "AWSPENDING")).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(move(name, "AWSPENDING", randomUUID())).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });

    await move(name, "AWSPENDING", undefined, p);
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"] });
  });
});

describe("ClientRequestToken", () => {
  it("[secretsmanager.token-idempotent] makes PutSecretValue with the same token and value idempotent", async () => {
    const { name, v1 } = await createSecret();
    const token = randomUUID();
    await put(name, "pending", { ClientRequestToken: token, VersionStages: ["AWSPENDING"] });
    const again = await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: token,
        SecretString: "pending",
        VersionStages: ["AWSPENDING"],
      }),
    );
    expect(again).toMatchObject({ VersionId: token, VersionStages: ["AWSPENDING"] });
    expect(Object.keys(standins.secrets.stagesOf(name))).toEqual([v1, token]);
  });

  it("[secretsmanager.token-idempotent] moves no label when the repeated write names other VersionStages", async () => {
    const { name, v1 } = await createSecret();
    const token = await put(name, "pending", { VersionStages: ["AWSPENDING"] });
    // "succeeds but does nothing": AWSCURRENT stays where it is, AWSPENDING too.
    const again = await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: token,
        SecretString: "pending",
        VersionStages: ["AWSCURRENT"],
      }),
    );
    expect(again).toMatchObject({ VersionId: token, VersionStages: ["AWSPENDING"] });
    const plain = await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: "pending" }),
    );
    expect(plain.VersionStages).toEqual(["AWSPENDING"]);
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"], [token]: ["AWSPENDING"] });
  });

  it("[secretsmanager.version-immutable] refuses the same token with a different value as ResourceExistsException", async () => {
    const { name, v1 } = await createSecret();
    const token = randomUUID();
    await put(name, "pending", { ClientRequestToken: token, VersionStages: ["AWSPENDING"] });
    await expect(
      put(name, "something else", { ClientRequestToken: token, VersionStages: ["AWSPENDING"] }),
    ).rejects.toMatchObject({ name: "ResourceExistsException" });
    expect(standins.secrets.valuesOf(name)).toEqual(["v1", "pending"]);
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"], [token]: ["AWSPENDING"] });
  });

  it("refuses a token shorter than 32 characters", async () => {
    const { name } = await createSecret();
    const before = standins.secrets.valuesOf(name);
    // ClientRequestToken is 32..64 characters in AWS's model: the model check refuses a shorter one as
    // Secrets Manager does (ValidationException naming `clientRequestToken`), before the stand-in sees it.
    const { error } = await refusedByModel(() => put(name, "x", { ClientRequestToken: "short-token" }));
    expect(error).toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
      message:
        "1 validation error detected: Value 'short-token' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32",
    });
    expect(standins.secrets.valuesOf(name)).toEqual(before);
  });

  it("[secretsmanager.token-idempotent] answers no VersionStages for a repeated write of a version that has lost its labels", async () => {
    const { name } = await createSecret();
    const token = await put(name, "v2");
    await put(name, "v3");
    await put(name, "v4");
    expect(standins.secrets.stagesOf(name)[token]).toEqual([]);
    const again = await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: "v2" }),
    );
    // AWS's model: a version's VersionStages list holds 1..20 labels, so a version without any answers none.
    expect(again.VersionId).toBe(token);
    expect(again.VersionStages).toBeUndefined();
    expect(standins.secrets.stagesOf(name)[token]).toEqual([]);
  });
});

describe("GetSecretValue", () => {
  it("[secretsmanager.get-default-current] reads by VersionStage and by VersionId, and refuses a stage no version holds", async () => {
    const { name, v1 } = await createSecret("one");
    const v2 = await put(name, "two");
    const p = await put(name, "three", { VersionStages: ["AWSPENDING"] });

    const read = (input: { VersionStage?: string; VersionId?: string }) =>
      sm.send(new GetSecretValueCommand({ SecretId: name, ...input }));
    expect(await read({})).toMatchObject({ SecretString: "two", VersionId: v2 });
    expect(await read({ VersionStage: "AWSCURRENT" })).toMatchObject({ SecretString: "two", VersionId: v2 });
    expect(await read({ VersionStage: "AWSPREVIOUS" })).toMatchObject({ SecretString: "one", VersionId: v1 });
    expect(await read({ VersionStage: "AWSPENDING" })).toMatchObject({ SecretString: "three", VersionId: p });
    expect(await read({ VersionId: v1 })).toMatchObject({
      SecretString: "one",
      VersionStages: ["AWSPREVIOUS"],
    });
    expect(await read({ VersionId: p, VersionStage: "AWSPENDING" })).toMatchObject({ SecretString: "three" });

    await move(name, "AWSPENDING", undefined, p);
    await expect(read({ VersionStage: "AWSPENDING" })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(read({ VersionId: randomUUID() })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(read({ VersionId: v1, VersionStage: "AWSCURRENT" })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    // A version without labels is still readable by id; it answers no VersionStages (AWS's model: the list
    // holds 1..20 labels, so an empty one is not sent).
    const unlabeled = await read({ VersionId: p });
    expect(unlabeled).toMatchObject({ SecretString: "three", VersionId: p });
    expect(unlabeled.VersionStages).toBeUndefined();
  });

  it("answers ResourceNotFoundException for an unknown secret, and finds a secret by ARN", async () => {
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: "mtls-rotator/test/no-such-secret" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    const { name } = await createSecret("by-arn");
    const arn = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? "";
    expect(arn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:111122223333:secret:mtls-rotator\/test\/secret-\d+-\w{6}$/,
    );
    expect(await sm.send(new GetSecretValueCommand({ SecretId: arn }))).toMatchObject({
      Name: name,
      SecretString: "by-arn",
    });
  });
});

describe("CreateSecret and values", () => {
  it("[secretsmanager.create-exists] refuses to create a secret twice with ResourceExistsException", async () => {
    const { name, v1 } = await createSecret("original");
    await expect(
      sm.send(new CreateSecretCommand({ Name: name, SecretString: "again" })),
    ).rejects.toMatchObject({
      name: "ResourceExistsException",
    });
    expect(standins.secrets.valuesOf(name)).toEqual(["original"]);
    expect(await stages(name)).toEqual({ [v1]: ["AWSCURRENT"] });
  });

  it("accepts 65536 bytes and refuses one byte more (bytes, not characters)", async () => {
    const { name } = await createSecret();
    await put(name, "a".repeat(65_536));
    const before = standins.secrets.valuesOf(name).length;

    // AWS's model bounds SecretString to 65,536 characters and SecretBinary to 65,536 bytes: the model check
    // refuses 65,537 as Secrets Manager does (ValidationException naming the member), before the stand-in.
    const tooLong = (member: string) => ({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        new RegExp(
          // A secret value is never quoted in the message (it is sensitive).
          `^1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to 65536$`,
        ),
      ),
    });
    expect((await refusedByModel(() => put(name, "a".repeat(65_537)))).error).toMatchObject(
      tooLong("secretString"),
    );
    // 32,769 characters, 65,538 bytes in UTF-8: within the model's length (characters), over AWS's limit of
    // 65,536 bytes, which the stand-in enforces.
    await expect(put(name, "é".repeat(32_769))).rejects.toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
    });
    const binary = await refusedByModel(() =>
      sm.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretBinary: new Uint8Array(65_537),
          ClientRequestToken: randomUUID(),
        }),
      ),
    );
    expect(binary.error).toMatchObject(tooLong("secretBinary"));
    counter += 1;
    const created = await refusedByModel(() =>
      sm.send(
        new CreateSecretCommand({
          Name: `mtls-rotator/test/big-${counter}`,
          SecretString: "b".repeat(65_537),
        }),
      ),
    );
    expect(created.error).toMatchObject(tooLong("secretString"));
    expect(standins.secrets.valuesOf(name)).toHaveLength(before);
    expect(standins.secrets.names()).not.toContain(`mtls-rotator/test/big-${counter}`);
  });
});

describe("DescribeSecret and ListSecretVersionIds", () => {
  it("[secretsmanager.deprecated-versions] omit versions without a staging label (ListSecretVersionIds lists them with IncludeDeprecated)", async () => {
    const { name, v1 } = await createSecret();
    const v2 = await put(name, "v2");
    const v3 = await put(name, "v3");
    expect(standins.secrets.stagesOf(name)).toEqual({
      [v1]: [],
      [v2]: ["AWSPREVIOUS"],
      [v3]: ["AWSCURRENT"],
    });

    expect(Object.keys(await stages(name)).sort()).toEqual([v2, v3].sort());

    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect((listed.Versions ?? []).map((v) => v.VersionId).sort()).toEqual([v2, v3].sort());
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    // v1 has no label, so it answers no VersionStages (AWS's model: the list holds 1..20 labels).
    expect(Object.fromEntries((all.Versions ?? []).map((v) => [v.VersionId, v.VersionStages]))).toEqual({
      [v1]: undefined,
      [v2]: ["AWSPREVIOUS"],
      [v3]: ["AWSCURRENT"],
    });
    expect(all.Versions?.find((v) => v.VersionId === v1)).not.toHaveProperty("VersionStages");
  });
});

describe("version retention", () => {
  it("[secretsmanager.unlabeled-versions-pruned] removes unlabeled versions above 100, oldest first, none younger than 24 hours and never a labeled one", async () => {
    let clock = new Date("2026-06-01T00:00:00Z");
    const local = await startStandins({ now: () => clock });
    try {
      const client = local.clients({ maxAttempts: 1 }).secrets;
      const name = "mtls-rotator/test/retention";
      const send = (value: string, stagesToAttach?: string[]) =>
        client.send(
          new PutSecretValueCommand({
            SecretId: name,
            SecretString: value,
            ClientRequestToken: randomUUID(),
            ...(stagesToAttach ? { VersionStages: stagesToAttach } : {}),
          }),
        );
      const first = await client.send(
        new CreateSecretCommand({ Name: name, SecretString: "v0", ClientRequestToken: randomUUID() }),
      );
      // v0 keeps a label of its own: it must survive however old it gets.
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: "KEEP",
          MoveToVersionId: first.VersionId,
        }),
      );
      const ids = [first.VersionId!];
      for (let i = 1; i < 100; i += 1) ids.push((await send(`v${i}`)).VersionId!);
      expect(local.secrets.valuesOf(name)).toHaveLength(100);

      // A 101st version the same day: everything is younger than 24 hours, nothing goes.
      clock = new Date("2026-06-01T23:00:00Z");
      ids.push((await send("v100")).VersionId!);
      expect(local.secrets.valuesOf(name)).toHaveLength(101);

      // A day later, the next version brings the secret to 102: the two oldest unlabeled go (v1, v2),
      // not v0 (labeled KEEP), not AWSPREVIOUS or AWSCURRENT.
      clock = new Date("2026-06-02T01:00:00Z");
      ids.push((await send("v101")).VersionId!);
      const kept = local.secrets.stagesOf(name);
      expect(Object.keys(kept)).toHaveLength(100);
      expect(kept[ids[0]!]).toEqual(["KEEP"]);
      expect(kept[ids[1]!]).toBeUndefined();
      expect(kept[ids[2]!]).toBeUndefined();
      expect(kept[ids[3]!]).toEqual([]);
      expect(kept[ids[100]!]).toEqual(["AWSPREVIOUS"]);
      expect(kept[ids[101]!]).toEqual(["AWSCURRENT"]);
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: name, VersionId: ids[1]! })),
      ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
      // An unlabeled version that is kept stays readable by its id (no VersionStages: AWS's model has 1..20).
      const kept3 = await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: ids[3]! }));
      expect(kept3).toMatchObject({ SecretString: "v3", VersionId: ids[3] });
      expect(kept3.VersionStages).toBeUndefined();
    } finally {
      await local.close();
    }
  });
});

describe("resource policies", () => {
  const policy = (statement: Record<string, unknown>) =>
    JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
  const denyOthers = policy({
    Effect: "Deny",
    Principal: "*",
    Action: "secretsmanager:GetSecretValue",
    Resource: "*",
    Condition: { StringNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/reader" } },
  });

  it("[secretsmanager.resource-policy-replaces] attaches the policy given, replacing the one before; a secret without one is answered without ResourcePolicy", async () => {
    const { name } = await createSecret();
    const bare = await sm.send(new GetResourcePolicyCommand({ SecretId: name }));
    expect(bare.Name).toBe(name);
    expect(bare.ResourcePolicy).toBeUndefined();

    await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: denyOthers }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(denyOthers);
    const other = policy({
      Effect: "Deny",
      Principal: "*",
      Action: "secretsmanager:PutSecretValue",
      Resource: "*",
    });
    await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: other }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(other);

    await sm.send(new DeleteResourcePolicyCommand({ SecretId: name }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBeUndefined();
    await expect(
      sm.send(new PutResourcePolicyCommand({ SecretId: `${name}-missing`, ResourcePolicy: denyOthers })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });

  it("[secretsmanager.resource-policy-json] refuses a ResourcePolicy that is not a policy document, and keeps the one before", async () => {
    const { name } = await createSecret();
    await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: denyOthers }));
    for (const malformed of [
      "{not json",
      "[]",
      JSON.stringify({ Version: "2012-10-17" }),
      JSON.stringify({ Version: "2012-10-17", Statement: [] }),
      policy({ Effect: "Maybe", Principal: "*", Action: "secretsmanager:GetSecretValue" }),
      policy({ Effect: "Deny", Principal: "*" }),
    ]) {
      await expect(
        sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: malformed })),
        malformed,
      ).rejects.toMatchObject({ name: "MalformedPolicyDocumentException" });
    }
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(denyOthers);
  });

  it("[secretsmanager.block-public-policy] with BlockPublicPolicy, refuses an Allow for any principal without a condition; a Deny for everyone but one role passes", async () => {
    const { name } = await createSecret();
    const publicRead = policy({
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: "secretsmanager:GetSecretValue",
      Resource: "*",
    });
    await expect(
      sm.send(
        new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: publicRead, BlockPublicPolicy: true }),
      ),
    ).rejects.toMatchObject({ name: "PublicPolicyException" });
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBeUndefined();
    await sm.send(
      new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: denyOthers, BlockPublicPolicy: true }),
    );
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(denyOthers);
    // Without BlockPublicPolicy, AWS does not block it ("By default, public policies aren't blocked").
    await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: publicRead }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(publicRead);
  });
});
