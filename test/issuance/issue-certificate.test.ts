import { X509Certificate } from "node:crypto";
import { ListTagsForCertificateCommand } from "@aws-sdk/client-acm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { PrivateCaAdapter } from "../../functions/adapters/private-ca.ts";
import { CredentialStore } from "../../functions/adapters/secrets.ts";
import { factsOf } from "../../functions/core/certificate.ts";
import { CertificateValidationError } from "../../functions/core/validation.ts";
import { generateKeyPair } from "../../functions/crypto/keys.ts";
import {
  abandonIssuance,
  completeIssuance,
  derivedId,
  type IssuanceDeps,
  IssuanceError,
  type IssuanceRequest,
  issueReplacement,
  prepareKey,
  promoteCredential,
  readStagedCredential,
  requestCertificate,
} from "../../functions/issuance/issue-certificate.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  EKU,
  issueClientCredential,
} from "../../standins/pki.ts";
import {
  credentialSecrets,
  expectCompleteCredential,
  expectOnlyCompleteCredentials,
} from "../support/credential-secrets.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { mtlsRequest } from "../support/mtls-client.ts";
import { type NginxOrigin, startNginxOrigin } from "../support/nginx.ts";
import { makeTestPki, opensslVerify, type TestPki } from "../support/openssl.ts";
import { describeWithNginx, describeWithTools } from "../support/tools.ts";

const DAY = 86_400_000;

let standins: Standins;
let root: CertificateAuthority;
let issuing: CertificateAuthority;
let authorityArn: string;
let deps: IssuanceDeps;
let counter = 0;

beforeAll(async () => {
  standins = await startStandins({ privateCa: { pendingPolls: 2 } });
  root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
  issuing = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
  authorityArn = standins.privateCa.addAuthority(issuing);
  const clients = standins.clients();
  // One adapter set for the whole file, as one Lambda cold start would have: the ACM pacer is shared.
  deps = {
    privateCa: new PrivateCaAdapter(clients.privateCa),
    acm: new AcmAdapter(clients.acm),
    credentials: new CredentialStore(clients.secrets),
    now: () => new Date(),
    wait: { initialDelayMs: 5 },
  };
});

afterAll(async () => {
  await standins?.close();
});

function request(overrides: Partial<IssuanceRequest> = {}): IssuanceRequest {
  counter += 1;
  return {
    rotationId: `rot-${counter}`,
    credential: `mtls-rotator/credentials/edge-${counter}`,
    authorityArn,
    keyAlgorithm: "EC_prime256v1",
    subject: { name: "CN=edge-to-origin, O=Acme" },
    sans: [{ type: "dns", value: "edge.acme.example" }],
    validityDays: 30,
    previousCertificateArn:
      "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000001",
    ...overrides,
  };
}

function stagedCredential(req: IssuanceRequest) {
  return readStagedCredential(deps, req);
}

/** The issuance secret's first version: the marker AWS makes AWSCURRENT (no key in it). */
function markerOf(req: IssuanceRequest): string {
  const marker = credentialSecrets(standins, req.credential).issuance.holder("AWSCURRENT");
  expect(marker?.document?.kind).toBe("issuance-secret");
  expect(JSON.stringify(marker?.document)).not.toContain("PRIVATE KEY");
  return marker!.versionId;
}

describe("issuing a replacement through the stand-ins", () => {
  it("issues a client-auth certificate, imports it as a new tagged ARN and stages it AWSPENDING in the issuance secret, not in the credential secret", async () => {
    const req = request();
    const issued = await issueReplacement(deps, req);

    expect(issued.certificateArn).toMatch(/^arn:aws:acm:us-east-1:111122223333:certificate\//);
    expect(issued.certificateArn).not.toBe(req.previousCertificateArn);
    expect(issued.privateCaCertificateArn.startsWith(`${authorityArn}/certificate/`)).toBe(true);
    expect(issued.keyAlgorithm).toBe("EC_prime256v1");
    expect(issued.subject).toBe("CN=edge-to-origin, O=Acme");
    expect(issued.issuer).toBe("CN=Acme Origin Client CA, O=Acme");

    const described = standins.acm.describeForCloudFront(issued.certificateArn);
    expect(described).toEqual({
      region: "us-east-1",
      keyAlgorithm: "EC_prime256v1",
      extendedKeyUsages: ["TLS_WEB_CLIENT_AUTHENTICATION"],
    });
    const { Tags } = await standins
      .clients()
      .acm.send(new ListTagsForCertificateCommand({ CertificateArn: issued.certificateArn }));
    expect(Object.fromEntries((Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      "mtls-rotator:managed": "true",
      "mtls-rotator:rotation-id": req.rotationId,
      "mtls-rotator:credential": req.credential,
      "mtls-rotator:previous-arn": req.previousCertificateArn,
    });

    // The staged credential holds certificate + key + ARN and is the only one staged AWSPENDING, in the
    // issuance secret, whose AWSCURRENT (AWS's label for a first version) sits on the keyless marker.
    const secrets = credentialSecrets(standins, req.credential);
    expect(secrets.issuance.stages).toEqual({
      [markerOf(req)]: ["AWSCURRENT"],
      [derivedId(req.rotationId, "key")]: [],
      [issued.credentialVersionId]: ["AWSPENDING"],
    });
    // Nothing was written to the credential secret: it does not even exist before a promotion.
    expect(secrets.credential.exists).toBe(false);
    const credential = await stagedCredential(req);
    expect(credential.certificateArn).toBe(issued.certificateArn);
    expect(
      new X509Certificate(credential.certificatePem!).checkPrivateKey(
        (await import("node:crypto")).createPrivateKey(credential.privateKeyPem),
      ),
    ).toBe(true);

    // Nothing that leaves the function carries key material.
    expectNoKeyMaterial(issued, [credential.privateKeyPem]);
  });

  it("issues an RSA-2048 replacement from an RSA CA, carrying over the replaced subject and SANs", async () => {
    const rsaCa = await createSubordinateCa(root, {
      name: "CN=Acme RSA CA, O=Acme",
      keyAlgorithm: "RSA_2048",
    });
    const old = await issueClientCredential(rsaCa, {
      subject: "CN=legacy-edge, OU=Platform, O=Acme",
      dnsNames: ["legacy.acme.example", "edge.acme.example"],
      keyAlgorithm: "RSA_2048",
    });
    const oldFacts = factsOf(new X509Certificate(old.certificatePem));
    const issued = await issueReplacement(
      deps,
      request({
        authorityArn: standins.privateCa.addAuthority(rsaCa),
        keyAlgorithm: "RSA_2048",
        subject: { certificatePem: old.certificatePem },
        sans: oldFacts.sans,
      }),
    );
    expect(issued.keyAlgorithm).toBe("RSA_2048");
    expect(issued.subject).toBe(oldFacts.subject);
    const stored = standins.acm.certificatePemOf(issued.certificateArn)!;
    expect(factsOf(new X509Certificate(stored)).sans).toEqual(oldFacts.sans);
    expect(issued.serial).not.toBe(oldFacts.serial);
  });

  it("refuses bad requests before calling AWS", async () => {
    const before = standins.server.calls.length;
    await expect(issueReplacement(deps, request({ validityDays: 0 }))).rejects.toThrow(IssuanceError);
    await expect(issueReplacement(deps, request({ rotationId: " " }))).rejects.toThrow(/rotationId/);
    expect(standins.server.calls.length).toBe(before);
  });

  it("never asks for a certificate that outlives the CA's certificate: capped to the days left", async () => {
    const ending = await createSubordinateCa(root, {
      name: "CN=Ending CA, O=Acme",
      notAfter: new Date(Date.now() + 10.5 * 86_400_000),
    });
    const issued = await issueReplacement(
      deps,
      request({ authorityArn: standins.privateCa.addAuthority(ending), validityDays: 30 }),
    );
    const caNotAfter = new Date(new X509Certificate(ending.certificatePem).validTo);
    expect(new Date(issued.notAfter).getTime()).toBeLessThanOrEqual(caNotAfter.getTime());
    expect(new Date(issued.notAfter).getTime()).toBeGreaterThan(Date.now() + 9 * 86_400_000);
  });

  it("refuses (nothing issued) when the CA's certificate expires within a day: plan a CA migration", async () => {
    const ending = await createSubordinateCa(root, {
      name: "CN=Last Day CA, O=Acme",
      notAfter: new Date(Date.now() + 12 * 3_600_000),
    });
    const arn = standins.privateCa.addAuthority(ending);
    const issuedBefore = standins.privateCa.issuedCount;
    await expect(issueReplacement(deps, request({ authorityArn: arn }))).rejects.toMatchObject({
      name: "IssuanceError",
      message: expect.stringMatching(/would outlive it; plan a CA migration$/),
    });
    expect(standins.privateCa.issuedCount).toBe(issuedBefore);
  });

  it("refuses a Private CA that is not ACTIVE", async () => {
    const other = await createSubordinateCa(root, { name: "CN=Disabled CA" });
    const arn = standins.privateCa.addAuthority(other);
    standins.privateCa.disableAuthority(arn);
    const issuedBefore = standins.privateCa.issuedCount;
    await expect(issueReplacement(deps, request({ authorityArn: arn }))).rejects.toThrow(
      /DISABLED, not ACTIVE/,
    );
    expect(standins.privateCa.issuedCount).toBe(issuedBefore);
  });
});

describe("a key of the CA's key type only", () => {
  it("refuses to have an RSA-2048 certificate issued by a P-256 CA (ACM would not import it): nothing issued", async () => {
    const issuedBefore = standins.privateCa.issuedCount;
    const importsBefore = standins.server.count("acm", "ImportCertificate");
    await expect(issueReplacement(deps, request({ keyAlgorithm: "RSA_2048" }))).rejects.toMatchObject({
      name: "IssuanceError",
      message: expect.stringMatching(
        /RSA_2048 certificate .* \(key EC_prime256v1\) would not import into ACM/,
      ),
    });
    expect(standins.privateCa.issuedCount).toBe(issuedBefore);
    expect(standins.server.count("acm", "ImportCertificate")).toBe(importsBefore);
  });
});

describe("validation stops a bad certificate before ACM is called", () => {
  const cases: Array<{
    name: string;
    reason: string;
    misissue: () => Promise<Parameters<Standins["privateCa"]["misissueNext"]>[0]>;
  }> = [
    {
      name: "server-auth-only EKU",
      reason: "NotClientAuth",
      misissue: async () => ({ extendedKeyUsages: [EKU.serverAuth] }),
    },
    { name: "no EKU at all", reason: "NotClientAuth", misissue: async () => ({ extendedKeyUsages: [] }) },
    {
      name: "a key other than the one the service generated",
      reason: "KeyMismatch",
      misissue: async () => ({ publicKey: (await generateKeyPair("EC_prime256v1")).publicKey }),
    },
    {
      name: "a wrong key type (RSA-2048 for a P-256 credential)",
      reason: "KeyAlgorithmChanged",
      misissue: async () => ({ publicKey: (await generateKeyPair("RSA_2048")).publicKey }),
    },
    {
      name: "an expired certificate",
      reason: "Expired",
      misissue: async () => ({
        notBefore: new Date(Date.now() - 10 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
    },
  ];

  it.each(cases)("$name -> $reason", async ({ reason, misissue }) => {
    standins.privateCa.misissueNext(await misissue());
    const importsBefore = standins.server.count("acm", "ImportCertificate");
    const req = request();
    const error = await issueReplacement(deps, req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateValidationError);
    expect((error as CertificateValidationError).reason).toBe(reason);
    expect(standins.server.count("acm", "ImportCertificate")).toBe(importsBefore);
    expect(standins.acm.arns().some((arn) => standins.acm.certificatePemOf(arn) === undefined)).toBe(false);
    // Only the key version exists (in the issuance secret); no credential was staged; AWSCURRENT is on
    // the keyless marker, never on the key; the credential secret was not created.
    const secrets = credentialSecrets(standins, req.credential);
    expect(secrets.issuance.stages).toEqual({
      [markerOf(req)]: ["AWSCURRENT"],
      [derivedId(req.rotationId, "key")]: ["AWSPENDING"],
    });
    expect(secrets.credential.exists).toBe(false);
    expectNoKeyMaterial((error as Error).message);
  });
});

describe("retries converge on one certificate", () => {
  it("a retried issuance with the same rotation id yields exactly one certificate and one import", async () => {
    const req = request();
    const issuedBefore = standins.privateCa.issuedCount;
    const importsBefore = standins.acm.arns().length;
    const first = await issueReplacement(deps, req);
    const second = await issueReplacement(deps, req);
    expect(second).toEqual(first);
    expect(standins.privateCa.issuedCount).toBe(issuedBefore + 1);
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
  });

  it("each phase repeated (as after a crash between steps) issues once and imports once", async () => {
    const req = request();
    const issuedBefore = standins.privateCa.issuedCount;
    const importsBefore = standins.acm.arns().length;
    await prepareKey(deps, req);
    await prepareKey(deps, req);
    const a = await requestCertificate(deps, req);
    const b = await requestCertificate(deps, req);
    expect(b.privateCaCertificateArn).toBe(a.privateCaCertificateArn);
    const x = await completeIssuance(deps, req, a.privateCaCertificateArn);
    const y = await completeIssuance(deps, req, b.privateCaCertificateArn);
    expect(y).toEqual(x);
    await promoteCredential(deps, req, x);
    await promoteCredential(deps, req, y);
    expect(standins.privateCa.issuedCount).toBe(issuedBefore + 1);
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
    // One credential version, AWSCURRENT; the issuance secret: marker, key, staged credential, nothing pending.
    const secrets = credentialSecrets(standins, req.credential);
    expect(secrets.credential.stages).toEqual({ [x.credentialVersionId]: ["AWSCURRENT"] });
    expect(secrets.issuance.versions).toHaveLength(3);
    expect(secrets.issuance.holder("AWSPENDING")).toBeUndefined();
  });

  it("a crash after the ACM import is recovered by finding the import, not importing again", async () => {
    const req = request();
    const importsBefore = standins.acm.arns().length;
    // Secrets Manager keeps failing after the import: the step fails after ImportCertificate succeeded.
    standins.server.faults.inject({
      service: "secretsmanager",
      operation: "PutSecretValue",
      kind: "server-error",
      times: 5,
    });
    await prepareKey(deps, req).catch(() => undefined);
    standins.server.faults.clear();
    await prepareKey(deps, req);
    const { privateCaCertificateArn } = await requestCertificate(deps, req);
    standins.server.faults.inject({
      service: "secretsmanager",
      operation: "PutSecretValue",
      kind: "server-error",
      times: 5,
    });
    await expect(completeIssuance(deps, req, privateCaCertificateArn)).rejects.toThrow();
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
    standins.server.faults.clear();
    const issued = await completeIssuance(deps, req, privateCaCertificateArn);
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
    expect(standins.acm.arns()).toContain(issued.certificateArn);
  });

  it("throttling and 5xx from every service are retried and still yield one certificate", async () => {
    const req = request();
    const issuedBefore = standins.privateCa.issuedCount;
    const importsBefore = standins.acm.arns().length;
    const { faults } = standins.server;
    faults.inject({ service: "acm-pca", operation: "IssueCertificate", kind: "throttle", times: 2 });
    faults.inject({ service: "acm-pca", operation: "GetCertificate", kind: "server-error", times: 2 });
    faults.inject({ service: "acm", operation: "ImportCertificate", kind: "throttle" });
    faults.inject({ service: "acm", operation: "SearchCertificates", kind: "server-error" });
    faults.inject({ service: "secretsmanager", operation: "PutSecretValue", kind: "throttle" });
    faults.inject({ service: "secretsmanager", operation: "GetSecretValue", kind: "server-error" });
    const issued = await issueReplacement(deps, req);
    expect(faults.pending).toBe(0);
    expect(standins.privateCa.issuedCount).toBe(issuedBefore + 1);
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
    expect(standins.acm.arns()).toContain(issued.certificateArn);
  });

  it("a request that times out is retried", async () => {
    const clients = standins.clients({ requestTimeoutMs: 300 });
    const quick: IssuanceDeps = { ...deps, privateCa: new PrivateCaAdapter(clients.privateCa) };
    standins.server.faults.inject({ service: "acm-pca", operation: "IssueCertificate", kind: "timeout" });
    const issuedBefore = standins.privateCa.issuedCount;
    await issueReplacement(quick, request());
    expect(standins.server.faults.pending).toBe(0);
    expect(standins.privateCa.issuedCount).toBe(issuedBefore + 1);
  });
});

describe("promotion and abandonment: the credential secret holds only complete credentials", () => {
  const anchors = () => ({ trustAnchorsPem: issuing.certificatePem });

  it("first rotation: promotion writes the credential secret's first version, AWSCURRENT, with no AWSPREVIOUS and nothing pending", async () => {
    const req = request();
    const issued = await issueReplacement(deps, req);
    expect(credentialSecrets(standins, req.credential).credential.exists).toBe(false);

    await promoteCredential(deps, req, issued);

    const { credential, issuance } = credentialSecrets(standins, req.credential);
    expect(credential.stages).toEqual({ [issued.credentialVersionId]: ["AWSCURRENT"] });
    const { current, previous } = expectOnlyCompleteCredentials(credential, anchors());
    expect(current?.certificateArn).toBe(issued.certificateArn);
    expect(current?.serial).toBe(issued.serial);
    expect(standins.acm.certificatePemOf(issued.certificateArn)).toBe(current?.certificatePem);
    expect(previous).toBeUndefined();
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
    expect(issuance.holder("AWSCURRENT")?.document?.kind).toBe("issuance-secret");
  });

  it("second rotation: AWSCURRENT is the new credential and AWSPREVIOUS the first one; an abandoned third leaves both as they were", async () => {
    const credentialName = request().credential;
    const first = request({ credential: credentialName });
    const second = request({ credential: credentialName });
    const third = request({ credential: credentialName });
    const issued1 = await issueReplacement(deps, first);
    await promoteCredential(deps, first, issued1);
    const issued2 = await issueReplacement(deps, second);
    await promoteCredential(deps, second, issued2);

    const after = credentialSecrets(standins, credentialName).credential;
    expect(after.stages).toEqual({
      [issued1.credentialVersionId]: ["AWSPREVIOUS"],
      [issued2.credentialVersionId]: ["AWSCURRENT"],
    });
    const { current, previous } = expectOnlyCompleteCredentials(after, anchors());
    expect(current?.certificateArn).toBe(issued2.certificateArn);
    expect(previous?.certificateArn).toBe(issued1.certificateArn);

    // A third rotation issues, stages, then is rolled back: the credential secret is exactly as it was.
    const before = standins.secrets.versionsOf(credentialName);
    await issueReplacement(deps, third);
    await abandonIssuance(deps, third);
    await abandonIssuance(deps, third);
    expect(standins.secrets.versionsOf(credentialName)).toEqual(before);
    expect(credentialSecrets(standins, credentialName).issuance.holder("AWSPENDING")).toBeUndefined();
  });

  it("an abandoned first rotation (after its key, or after its credential was staged) leaves no credential secret at all", async () => {
    const keyOnly = request();
    await prepareKey(deps, keyOnly);
    await abandonIssuance(deps, keyOnly);
    const staged = request();
    await issueReplacement(deps, staged);
    await abandonIssuance(deps, staged);
    for (const req of [keyOnly, staged]) {
      const { credential, issuance } = credentialSecrets(standins, req.credential);
      expect(credential.exists).toBe(false);
      expect(issuance.holder("AWSPENDING")).toBeUndefined();
      expect(issuance.holder("AWSCURRENT")?.document?.kind).toBe("issuance-secret");
    }
  });

  it("a promotion that fails after its write (AWSPENDING not cleared) and runs again makes no second version, AWSCURRENT on it", async () => {
    const credentialName = request().credential;
    const first = request({ credential: credentialName });
    const issued1 = await issueReplacement(deps, first);
    await promoteCredential(deps, first, issued1);
    const second = request({ credential: credentialName });
    const issued2 = await issueReplacement(deps, second);

    // The write lands; clearing AWSPENDING afterwards keeps failing (as if the step died there).
    standins.server.faults.inject({
      service: "secretsmanager",
      operation: "UpdateSecretVersionStage",
      kind: "server-error",
      times: 10,
    });
    await expect(promoteCredential(deps, second, issued2)).rejects.toThrow();
    const halfway = credentialSecrets(standins, credentialName);
    expect(halfway.credential.holder("AWSCURRENT")?.versionId).toBe(issued2.credentialVersionId);
    expect(halfway.issuance.holder("AWSPENDING")?.versionId).toBe(issued2.credentialVersionId);
    standins.server.faults.clear();
    await promoteCredential(deps, second, issued2);
    await promoteCredential(deps, second, issued2);

    const { credential, issuance } = credentialSecrets(standins, credentialName);
    expect(credential.stages).toEqual({
      [issued1.credentialVersionId]: ["AWSPREVIOUS"],
      [issued2.credentialVersionId]: ["AWSCURRENT"],
    });
    expectOnlyCompleteCredentials(credential, anchors());
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
  });

  it("promotion refuses a staged credential that is not the rotation's certificate, and changes nothing", async () => {
    const req = request();
    const issued = await issueReplacement(deps, req);
    const other = await issueReplacement(deps, request());
    await expect(
      promoteCredential(deps, req, { certificateArn: other.certificateArn, serial: other.serial }),
    ).rejects.toThrow(IssuanceError);
    await expect(promoteCredential(deps, request(), issued)).rejects.toThrow(/no complete staged credential/);
    expect(credentialSecrets(standins, req.credential).credential.exists).toBe(false);
  });

  it("a rotation started before the issuance secret existed (documents in the credential secret, the key made AWSCURRENT by AWS) promotes into its own version and drops the key's labels", async () => {
    // What the earlier layout left in AWS: the key-only document as the credential secret's first version
    // (AWSCURRENT by AWS's rule, AWSPENDING as asked), then the staged credential taking AWSPENDING.
    const staging = request();
    const issued = await issueReplacement(deps, staging);
    const stagedText = standins.secrets
      .versionsOf(`${staging.credential}/issuance`)
      .find((v) => v.versionId === issued.credentialVersionId)!.value;
    const legacy = request({ rotationId: staging.rotationId });
    const sm = standins.clients().secrets;
    const { CreateSecretCommand, PutSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    await sm.send(new CreateSecretCommand({ Name: legacy.credential }));
    const key = await stagedCredential(staging);
    await sm.send(
      new PutSecretValueCommand({
        SecretId: legacy.credential,
        ClientRequestToken: derivedId(legacy.rotationId, "key"),
        SecretString: JSON.stringify({
          kind: "key",
          rotationId: legacy.rotationId,
          privateKeyPem: key.privateKeyPem,
          csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
        }),
        VersionStages: ["AWSPENDING"],
      }),
    );
    await sm.send(
      new PutSecretValueCommand({
        SecretId: legacy.credential,
        ClientRequestToken: issued.credentialVersionId,
        SecretString: stagedText,
        VersionStages: ["AWSPENDING"],
      }),
    );
    const keyVersion = derivedId(legacy.rotationId, "key");
    expect(standins.secrets.stagesOf(legacy.credential)).toEqual({
      [keyVersion]: ["AWSCURRENT"],
      [issued.credentialVersionId]: ["AWSPENDING"],
    });

    // The probes still find the staged credential there.
    expect((await stagedCredential(legacy)).certificateArn).toBe(issued.certificateArn);
    await promoteCredential(deps, legacy, issued);
    await promoteCredential(deps, legacy, issued);

    // No new version; AWSCURRENT on the complete credential; the key-only document keeps no label (the
    // AWSPREVIOUS AWS gave it is taken off: the rollback record is a complete credential or nothing).
    const { credential } = credentialSecrets(standins, legacy.credential);
    expect(credential.stages).toEqual({ [keyVersion]: [], [issued.credentialVersionId]: ["AWSCURRENT"] });
    const current = expectCompleteCredential(credential.holder("AWSCURRENT"), anchors());
    expect(current.certificateArn).toBe(issued.certificateArn);
    expect(credential.holder("AWSPREVIOUS")).toBeUndefined();
  });
});

describeWithTools("openssl")("an independent judge: openssl", () => {
  it("accepts the issued certificate for purpose sslclient against the CA chain", async () => {
    const req = request();
    await issueReplacement(deps, req);
    const credential = await stagedCredential(req);
    const verdict = await opensslVerify({
      leafPem: credential.certificatePem!,
      untrustedChainPem: issuing.certificatePem,
      trustedRootPem: root.certificatePem,
      purpose: "sslclient",
    });
    expect(verdict.output).toContain("OK");
    expect(verdict.ok).toBe(true);

    const unrelated = await createRootCa({ name: "CN=Unrelated Root" });
    const refused = await opensslVerify({
      leafPem: credential.certificatePem!,
      untrustedChainPem: issuing.certificatePem,
      trustedRootPem: unrelated.certificatePem,
      purpose: "sslclient",
    });
    expect(refused.ok).toBe(false);
  });
});

describeWithNginx()("real mTLS against nginx origins", () => {
  let pki: TestPki;
  let trusting: NginxOrigin;
  let untrusting: NginxOrigin;

  beforeAll(async () => {
    pki = await makeTestPki({ name: "origin" });
    const stranger = await createRootCa({ name: "CN=Some Other CA" });
    [trusting, untrusting] = await Promise.all([
      startNginxOrigin({
        name: "trusting",
        serverCertPem: pki.server.fullChainPem,
        serverKeyPem: pki.server.privateKeyPem,
        clientCaBundlePem: issuing.certificatePem + root.certificatePem,
      }),
      startNginxOrigin({
        name: "untrusting",
        serverCertPem: pki.server.fullChainPem,
        serverKeyPem: pki.server.privateKeyPem,
        clientCaBundlePem: stranger.certificatePem,
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([trusting?.stop(), untrusting?.stop()]);
  });

  it("an origin that trusts the CA accepts the issued certificate; one that does not answers 400", async () => {
    const req = request();
    const issued = await issueReplacement(deps, req);
    const credential = await stagedCredential(req);
    const asClient = {
      certificatePem: credential.certificatePem!,
      chainPem: issuing.certificatePem,
      privateKeyPem: credential.privateKeyPem,
      caPem: pki.root.certificatePem,
    };
    const accepted = await mtlsRequest({ ...asClient, port: trusting.port });
    expect(accepted.status).toBe(200);
    const refused = await mtlsRequest({ ...asClient, port: untrusting.port });
    expect(refused.status).toBe(400);

    const log = await trusting.accessLog({ minEntries: 1 });
    const entry = log.at(-1)!;
    expect(entry.clientVerify).toBe("SUCCESS");
    expect(entry.clientSerial.toLowerCase()).toBe(issued.serial);
  });
});
