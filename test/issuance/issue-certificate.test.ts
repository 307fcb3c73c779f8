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
  completeIssuance,
  derivedId,
  type IssuanceDeps,
  IssuanceError,
  type IssuanceRequest,
  issueReplacement,
  prepareKey,
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

async function stagedCredential(req: IssuanceRequest) {
  const value = await deps.credentials.readVersion(req.credential, derivedId(req.rotationId, "credential"));
  if (!value?.certificatePem) throw new Error("no staged credential");
  return value;
}

describe("issuing a replacement through the stand-ins", () => {
  it("issues a client-auth certificate, imports it as a new tagged ARN and stages it AWSPENDING", async () => {
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

    // The credential version holds certificate + key + ARN and is the only one staged AWSPENDING.
    expect(standins.secrets.stagesOf(req.credential)).toEqual({
      [derivedId(req.rotationId, "key")]: [],
      [issued.credentialVersionId]: ["AWSPENDING"],
    });
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
    // Only the key version exists; no credential was staged.
    expect(standins.secrets.stagesOf(req.credential)).toEqual({
      [derivedId(req.rotationId, "key")]: ["AWSPENDING"],
    });
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
    expect(standins.privateCa.issuedCount).toBe(issuedBefore + 1);
    expect(standins.acm.arns().length).toBe(importsBefore + 1);
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
    faults.inject({ service: "acm", operation: "ListCertificates", kind: "server-error" });
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
