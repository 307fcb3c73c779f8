/**
 * The credential store's resource policies (functions/adapters/secrets.ts): every credential and issuance
 * secret it ensures carries one Deny for every principal but the workflow's role, put before any key can be
 * written, and put again on every ensure (a secret made by an earlier version, or whose policy someone
 * changed, gets it back). Against the Secrets Manager stand-in (model-checked); moto agrees on the calls
 * (test/differential/secrets-manager.test.ts "resource policies").
 */
import { CreateSecretCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CREDENTIAL_SECRET_DENIED_ACTIONS,
  CredentialStore,
  credentialSecretPolicy,
  issuanceSecretName,
} from "../../functions/adapters/secrets.ts";
import { rotationVersionIds } from "../../functions/issuance/issue-certificate.ts";
import { type Standins, startStandins } from "../../standins/index.ts";

const ROLE = "arn:aws:iam::123456789012:role/mtls-rotator-test-RotationWorkflowRole";

let standins: Standins;
let client: SecretsManagerClient;
let counter = 0;
const credentialName = () => {
  counter += 1;
  return `mtls-rotator/test/credentials/policy-${counter}`;
};

beforeAll(async () => {
  standins = await startStandins();
  client = standins.clients({ maxAttempts: 1 }).secrets;
});

afterAll(async () => {
  await standins?.close();
});

interface PolicyDocument {
  Statement: Array<{
    Effect: string;
    Principal: unknown;
    Action: string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }>;
}

/**
 * Whether `principalArn` may do `action` as far as the policy says (it holds only Deny statements with
 * StringNotEquals on aws:PrincipalArn: IAM's reading of exactly those).
 */
function deniedTo(policy: PolicyDocument, principalArn: string, action: string): boolean {
  return policy.Statement.some(
    (s) =>
      s.Effect === "Deny" &&
      s.Principal === "*" &&
      s.Action.includes(action) &&
      Object.entries(s.Condition ?? {}).every(([operator, keys]) => {
        expect(operator).toBe("StringNotEquals");
        return Object.entries(keys).every(([key, value]) => {
          expect(key).toBe("aws:PrincipalArn");
          return ![value].flat().includes(principalArn);
        });
      }),
  );
}

describe("credential secrets' resource policy", () => {
  it("denies every principal but the workflow's role the values, labels and key changes, and grants nothing", () => {
    const policy = JSON.parse(credentialSecretPolicy(ROLE)) as PolicyDocument;
    expect(policy.Statement.every((s) => s.Effect === "Deny")).toBe(true);
    for (const action of CREDENTIAL_SECRET_DENIED_ACTIONS) {
      expect(deniedTo(policy, "arn:aws:iam::123456789012:role/Administrator", action), action).toBe(true);
      expect(deniedTo(policy, "arn:aws:iam::123456789012:root", action), action).toBe(true);
      expect(deniedTo(policy, ROLE, action), action).toBe(false);
    }
    // A look-alike role (another stage's, or a prefix of the name) is someone else.
    expect(deniedTo(policy, `${ROLE}2`, "secretsmanager:GetSecretValue")).toBe(true);
    expect(CREDENTIAL_SECRET_DENIED_ACTIONS).toEqual(
      expect.arrayContaining([
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:UpdateSecret",
      ]),
    );
  });

  it("lets reader roles read a credential secret's value and nothing more, and no one else read it", () => {
    const reader = "arn:aws:iam::123456789012:role/mtls-rotator-test-ViewerMigrationWorkflowRole";
    const policy = JSON.parse(credentialSecretPolicy(ROLE, [reader])) as PolicyDocument;
    expect(policy.Statement.every((s) => s.Effect === "Deny")).toBe(true);
    for (const action of CREDENTIAL_SECRET_DENIED_ACTIONS) {
      expect(deniedTo(policy, ROLE, action), action).toBe(false);
      expect(deniedTo(policy, "arn:aws:iam::123456789012:role/Administrator", action), action).toBe(true);
      expect(deniedTo(policy, reader, action), action).toBe(action !== "secretsmanager:GetSecretValue");
    }
    expect(deniedTo(policy, `${reader}2`, "secretsmanager:GetSecretValue")).toBe(true);
    // No reader (or the workflow itself as one): the workflow-only policy.
    expect(JSON.parse(credentialSecretPolicy(ROLE, []))).toEqual(JSON.parse(credentialSecretPolicy(ROLE)));
    expect(JSON.parse(credentialSecretPolicy(ROLE, [ROLE]))).toEqual(
      JSON.parse(credentialSecretPolicy(ROLE)),
    );
  });

  it("names readers on the credential secret only, never on its issuance secret (the in-flight key)", async () => {
    const reader = "arn:aws:iam::123456789012:role/mtls-rotator-test-ViewerMigrationWorkflowRole";
    const store = new CredentialStore(client, { workflowRoleArn: ROLE, readerRoleArns: [reader] });
    const name = credentialName();
    await store.ensureIssuanceSecret(name);
    await store.ensureCredentialSecret(name);
    expect(standins.secrets.policyOf(name)).toEqual(JSON.parse(credentialSecretPolicy(ROLE, [reader])));
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toEqual(
      JSON.parse(credentialSecretPolicy(ROLE)),
    );
  });

  it("is on the issuance secret before any key is written, and on the credential secret before its first value", async () => {
    const store = new CredentialStore(client, { workflowRoleArn: ROLE });
    const name = credentialName();
    await store.ensureIssuanceSecret(name);
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toEqual(
      JSON.parse(credentialSecretPolicy(ROLE)),
    );
    // Only the marker is in it yet: the policy came first.
    expect(standins.secrets.valuesOf(issuanceSecretName(name))).toHaveLength(1);
    expect(standins.secrets.valuesOf(issuanceSecretName(name))[0]).not.toContain("PRIVATE KEY");

    await store.ensureCredentialSecret(name);
    expect(standins.secrets.policyOf(name)).toEqual(JSON.parse(credentialSecretPolicy(ROLE)));
    expect(standins.secrets.valuesOf(name)).toEqual([]);
  });

  it("puts it back on a secret that has none (made by an earlier version) or another one", async () => {
    const name = credentialName();
    await client.send(new CreateSecretCommand({ Name: name }));
    await client.send(
      new CreateSecretCommand({
        Name: issuanceSecretName(name),
        SecretString: "{}",
        ClientRequestToken: "00000000-0000-4000-8000-000000000001",
      }),
    );
    expect(standins.secrets.policyOf(name)).toBeUndefined();
    const store = new CredentialStore(client, { workflowRoleArn: ROLE });
    await store.ensureIssuanceSecret(name);
    await store.ensureCredentialSecret(name);
    expect(standins.secrets.policyOf(name)).toEqual(JSON.parse(credentialSecretPolicy(ROLE)));
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toEqual(
      JSON.parse(credentialSecretPolicy(ROLE)),
    );

    await new CredentialStore(client, { workflowRoleArn: `${ROLE}-other` }).ensureCredentialSecret(name);
    await store.ensureCredentialSecret(name);
    expect(standins.secrets.policyOf(name)).toEqual(JSON.parse(credentialSecretPolicy(ROLE)));
  });

  it("fails the ensure when the policy cannot be put, so no key is written into a secret without it", async () => {
    const store = new CredentialStore(client, { workflowRoleArn: ROLE });
    const name = credentialName();
    standins.server.faults.inject({
      service: "secretsmanager",
      operation: "PutResourcePolicy",
      kind: "server-error",
      times: 1,
    });
    await expect(store.ensureIssuanceSecret(name)).rejects.toThrow();
    // The secret exists (created with its marker) without a policy; the next ensure puts it.
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toBeUndefined();
    await store.ensureIssuanceSecret(name);
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toEqual(
      JSON.parse(credentialSecretPolicy(ROLE)),
    );
    const { key } = rotationVersionIds("r1");
    expect(await store.readInFlight(name, key)).toBeUndefined();
  });

  it("puts none without a workflow role (label-only uses of the store)", async () => {
    const store = new CredentialStore(client);
    const name = credentialName();
    await store.ensureIssuanceSecret(name);
    expect(standins.secrets.policyOf(issuanceSecretName(name))).toBeUndefined();
  });
});
