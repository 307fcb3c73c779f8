/**
 * status, certificates, rotate, rollback and approve: the real commands, parsed from argv, signing every
 * request with SigV4 (injected credentials), against the HTTP API stand-in answering as the contract says.
 */
import { describe, expect, it } from "vitest";
import { MAX_BAKE_SECONDS, MAX_CERTIFICATE_PAGE, MAX_WAVE_SIZES } from "../../functions/api/schemas.ts";
import { parseWaveSpec } from "../../functions/cli/commands/rotate.ts";
import { UsageError } from "../../functions/cli/errors.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment } from "../../functions/cli/main.ts";
import {
  CERT_ARN,
  CERT_ID,
  completedRotation,
  gateFailedRotation,
  OPERATOR,
  PCA_ARN,
  REVOCATION_STORE,
  ROTATION_ID,
  runOperator,
  useContractApi,
} from "./fixtures.ts";

const contract = useContractApi();

const run = (args: string[], overrides: Partial<OperatorEnvironment> = {}) =>
  runOperator(contract.api, args, overrides);

describe("status", () => {
  it("summarises certificates and rotations, with the command to follow a running one", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, gateFailedRotation().slice(0, 12));
    contract.api.backend.rotations.set("rot-older-0001", completedRotation());
    contract.api.backend.rotations.set("rot-older-0002", gateFailedRotation());

    const { code, stdout, stderr, requests } = await run(["status"]);

    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain(
      "Certificates: 4 tracked, 2 managed (1 due, 1 expiring within 14 days), 1 certificate with drift",
    );
    const lines = stdout.split("\n");
    const soonest = lines.indexOf("Expiring soonest:");
    expect(lines[soonest + 1]).toMatch(/^\s+DAYS\s+ID\s+SUBJECT\s+DECISION\s+USED BY$/);
    expect(lines[soonest + 2]).toMatch(
      new RegExp(`^\\s+12\\s+${CERT_ID}\\s+CN=edge-to-origin.example.com.*Due\\s+5 distributions$`),
    );
    expect(lines[soonest + 3]).toMatch(/^\s+71\s+5b6c7d8e-.*Fresh\s+1 distribution$/);
    expect(stdout).toContain("Rotations running: 1");
    expect(stdout).toMatch(
      new RegExp(`${ROTATION_ID}\\s+swapping\\s+started 1h ago\\s+certificate/${CERT_ID}`),
    );
    expect(stdout).toContain(`Follow one: mtls-rotator watch ${ROTATION_ID}`);
    expect(stdout).toMatch(/Recent rotations:\n.*\n\s+rot-older-0001\s+completed\s+updated 11m 38s ago/);
    expect(stdout).toMatch(/rot-older-0002\s+rolled-back/);
    // Both reads went out signed as the operator and were answered.
    expect(requests.map((r) => [r.routeKey, r.principal, r.status])).toEqual(
      expect.arrayContaining([
        ["GET /certificates", OPERATOR.principalArn, 200],
        ["GET /rotations", OPERATOR.principalArn, 200],
      ]),
    );
    expect(requests.find((r) => r.routeKey === "GET /rotations")?.rawQueryString).toBe("limit=50");
  });

  it("--json prints the API's answers", async () => {
    const { code, stdout } = await run(["status", "--json"]);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout);
    expect(parsed.certificates).toHaveLength(4);
    expect(parsed.rotations).toEqual([]);
  });

  it("counts every certificate, following nextToken to the last page", async () => {
    contract.api.backend.certificatePageSize = 3;
    const { code, stdout, requests } = await run(["status"]);
    expect(code).toBe(0);
    expect(requests.filter((r) => r.routeKey === "GET /certificates")).toHaveLength(2);
    expect(stdout).toContain("Certificates: 4 tracked, 2 managed (1 due, 1 expiring within 14 days)");
    const json = JSON.parse((await run(["status", "--json"])).stdout);
    expect(json.certificates).toEqual(contract.api.backend.certificates);
  });

  it("says when nothing is rotating", async () => {
    const { stdout } = await run(["status"]);
    expect(stdout).toContain("Rotations running: none");
  });
});

describe("certificates", () => {
  it("lists every certificate soonest expiry first: days left, decision, usage, drift", async () => {
    const { code, stdout } = await run(["certificates"]);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+SUBJECT\s+DAYS LEFT\s+DECISION\s+USED BY\s+DRIFT$/);
    expect(lines[1]).toMatch(
      /^c0ffee00-\S+\s+CN=legacy-client, O=Old Vendor\s+-3\s+NotManaged\s+1\s+DRIFT\(1\)$/,
    );
    expect(lines[2]).toMatch(
      new RegExp(`^${CERT_ID}\\s+CN=edge-to-origin\\.example\\.com, O=Example Corp\\s+12\\s+Due\\s+5$`),
    );
    expect(lines[3]).toMatch(/^dead0000-\S+\s+.*\s+40\s+Fresh \(retired\)\s+0$/);
    expect(lines[4]).toMatch(/^5b6c7d8e-\S+\s+.*\s+71\s+Fresh\s+1$/);
    expect(stdout).toContain("4 certificates (1 due, 1 with drift)");
    expect(stdout).toContain(
      "Drift:\n  c0ffee00-1111-4222-8333-444455556666: E7GGGGGGGGGGGG/legacy unmanaged-certificate: " +
        "presents a certificate from an unmanaged issuer (expired 3 days ago)",
    );
  });

  it("--due and --expiring-within are asked of the API", async () => {
    const due = await run(["certificates", "--due"]);
    expect(due.requests[0]?.rawQueryString).toBe(`due=true&limit=${MAX_CERTIFICATE_PAGE}`);
    expect(due.stdout).toContain("1 certificate (1 due)");

    const soon = await run(["certificates", "--expiring-within", "45"]);
    expect(soon.requests[0]?.rawQueryString).toBe(`expiringWithinDays=45&limit=${MAX_CERTIFICATE_PAGE}`);
    expect(soon.stdout).not.toContain("5b6c7d8e");
    expect(soon.stdout).toContain("3 certificates");
  });

  it("--json prints the API's answer as is", async () => {
    const { stdout } = await run(["certificates", "--json", "--due"]);
    expect(JSON.parse(stdout)).toEqual({
      certificates: contract.api.backend.certificates.filter((c) => c.due),
    });
  });

  it("follows nextToken to the last page, with the filters on every request", async () => {
    contract.api.backend.certificatePageSize = 1;
    const { code, stdout, stderr, requests } = await run(["certificates", "--expiring-within", "3650"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const queries = contract.api.backend.certificateQueries;
    expect(queries.map((q) => [q.expiringWithinDays, q.limit])).toEqual(
      Array(4).fill(["3650", String(MAX_CERTIFICATE_PAGE)]),
    );
    expect(queries[0]?.nextToken).toBeUndefined();
    expect(queries.slice(1).every((q) => typeof q.nextToken === "string")).toBe(true);
    expect(new Set(queries.map((q) => q.nextToken)).size).toBe(4);
    expect(stdout).toContain("4 certificates (1 due, 1 with drift)");

    const json = await run(["certificates", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ certificates: contract.api.backend.certificates });
  });

  it("says so when nothing matches", async () => {
    contract.api.backend.certificates = contract.api.backend.certificates.filter((c) => !c.due);
    const { code, stdout } = await run(["certificates", "--due"]);
    expect(code).toBe(0);
    expect(stdout).toBe("No certificates match.\n");
  });

  it("a bad --expiring-within is a usage error and sends nothing", async () => {
    const { code, stderr, requests } = await run(["certificates", "--expiring-within", "soon"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'mtls-rotator certificates: --expiring-within must be a whole number from 0 to 3650, got "soon"\n' +
        'Run "mtls-rotator certificates --help" for usage.\n',
    );
    expect(requests).toEqual([]);
  });
});

describe("rotate", () => {
  it("--dry-run prints the plan: new key, issuer, trust targets, waves with distributions, duration", async () => {
    const { code, stdout, stderr } = await run([
      "rotate",
      CERT_ARN,
      "--dry-run",
      "--waves",
      "1,25%,50%",
      "--bake",
      "600",
      "--approval",
      "between-waves",
      "--reason",
      "CA migration",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(contract.api.backend.started).toEqual([
      {
        certificateArn: CERT_ARN,
        dryRun: true,
        waves: { canarySize: 1, waves: [{ percent: 25 }, { percent: 50 }] },
        bakeSeconds: 600,
        approval: "between-waves",
        reason: "CA migration",
      },
    ]);
    expect(stdout).toBe(
      [
        `Dry run for ${CERT_ARN}: nothing was changed.`,
        "",
        "Certificate being replaced",
        "  subject  CN=edge-to-origin.example.com, O=Example Corp",
        "  serial   4c:1f:7a:22:90:0b:3e:5d",
        "  expires  2026-03-14 11:00:00Z (in 12d)",
        "Replacement",
        "  new key  EC_prime256v1 (follows CA key EC_prime256v1; unchanged)",
        `  issuer   ${PCA_ARN}`,
        "Trust targets (the new CA bundle is published to each, and every origin must accept the new certificate, before any swap)",
        "  s3://acme-trust/trust/origin-client-ca.pem",
        "  secretsmanager:mtls-rotator/trust-bundle",
        "Waves (3 waves, 5 distributions; each wave is swapped, deployed, baked and gated before the next)",
        "  WAVE             DISTRIBUTIONS (ORIGINS)",
        "  wave 0 (canary)  E1CANARYAAAAAA (api)",
        "  wave 1           E2BBBBBBBBBBBB (api, static), E3CCCCCCCCCCCC (api)",
        "  wave 2           E4DDDDDDDDDDDD (api), E5EEEEEEEEEEEE (api)",
        "Expected duration: about 45m, at worst 2h 15m",
        "",
        `Start it: mtls-rotator rotate ${CERT_ARN} --waves "1,25%,50%" --bake 600 --approval between-waves --reason "CA migration"`,
        "",
      ].join("\n"),
    );
  });

  it("starts a rotation and tells how to follow it", async () => {
    const { code, stdout, requests } = await run(["rotate", CERT_ARN, "--reason", "due"]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      `Rotation ${ROTATION_ID} started for ${CERT_ARN} (status: started).\nFollow it: mtls-rotator watch ${ROTATION_ID}\n`,
    );
    expect(contract.api.backend.started).toEqual([{ certificateArn: CERT_ARN, reason: "due" }]);
    expect(requests.map((r) => [r.method, r.path, r.status])).toEqual([["POST", "/rotations", 202]]);
  });

  it("takes the certificate id the listing shows and resolves it to its ARN", async () => {
    const { code, requests } = await run(["rotate", CERT_ID, "--dry-run"]);
    expect(code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /certificates/${CERT_ID} 200`,
      "POST /rotations 200",
    ]);
    expect(contract.api.backend.started[0]?.certificateArn).toBe(CERT_ARN);
  });

  it("--json prints the API's answer", async () => {
    const { stdout } = await run(["rotate", CERT_ARN, "--json"]);
    expect(JSON.parse(stdout)).toEqual({ rotationId: ROTATION_ID, started: true, status: "started" });
  });

  it("a certificate already rotating: exit 5, naming the rotation to watch", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 9));
    const { code, stdout, stderr } = await run(["rotate", CERT_ARN]);
    expect(code).toBe(5);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `mtls-rotator rotate: refused in the current state: rotation ${ROTATION_ID} is already running for ${CERT_ARN}\n` +
        `See it: mtls-rotator watch ${ROTATION_ID}\n`,
    );
  });

  it("the API's validation problems are printed field by field: exit 2", async () => {
    const { code, stderr } = await run([
      "rotate",
      "arn:aws:iam::111122223333:role/not-a-cert",
      "--bake",
      "900",
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "mtls-rotator rotate: the API refused the request (400 ValidationError):\n" +
        "  certificateArn: must be an ACM certificate ARN\n",
    );
  });

  it("takes the server's largest values: --bake 86400, 100 wave sizes after the canary", async () => {
    const waves = ["1", ...Array(MAX_WAVE_SIZES).fill("1%")].join(",");
    const { code, stderr } = await run([
      "rotate",
      CERT_ARN,
      "--dry-run",
      "--bake",
      "86400",
      "--waves",
      waves,
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(contract.api.backend.started[0]).toMatchObject({ bakeSeconds: MAX_BAKE_SECONDS });
    expect(contract.api.backend.started[0]?.waves?.waves).toHaveLength(MAX_WAVE_SIZES);
    expect(MAX_BAKE_SECONDS).toBe(86_400);
    expect(MAX_WAVE_SIZES).toBe(100);
  });

  it("an unknown certificate id: the API's 404, exit 2", async () => {
    const { code, stderr } = await run(["rotate", "no-such-id"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "mtls-rotator rotate: the API refused the request (404 NotFound): no certificate no-such-id\n",
    );
  });

  it.each([
    [["rotate"], "missing <certificate-arn>"],
    [["rotate", CERT_ARN, "extra"], "unexpected argument: extra"],
    [
      ["rotate", CERT_ARN, "--approval", "always"],
      '--approval must be "none" or "between-waves", got "always"',
    ],
    [["rotate", CERT_ARN, "--bake=-5"], '--bake must be a whole number from 0 to 86400, got "-5"'],
    [["rotate", CERT_ARN, "--bake", "86401"], '--bake must be a whole number from 0 to 86400, got "86401"'],
    [
      ["rotate", CERT_ARN, "--bake", String(366 * 86_400)],
      '--bake must be a whole number from 0 to 86400, got "31622400"',
    ],
    [
      ["rotate", CERT_ARN, "--waves", ["1", ...Array(101).fill("1")].join(",")],
      "--waves: at most 100 wave sizes after the canary (the API's limit), got 101",
    ],
    [
      ["rotate", CERT_ARN, "--reason", "drill\u0085forged line"],
      "--reason must not contain control characters",
    ],
    [
      ["rotate", CERT_ARN, "--reason", "drill\u2028forged line"],
      "--reason must not contain control characters",
    ],
    [["rotate", CERT_ARN, "--reason", "drill\u001b[2J"], "--reason must not contain control characters"],
    [["rotate", CERT_ARN, "--reason", "x".repeat(513)], "--reason must be at most 512 characters"],
    [["rotate", CERT_ARN, "--reason", "  "], "--reason must not be blank"],
    [
      ["rotate", CERT_ARN, "--waves", "25%,1"],
      "--waves: the first item is the canary wave and must be a count",
    ],
    [["rotate", CERT_ARN, "--waves", "1,abc"], '--waves: "abc" is neither a count nor a percentage'],
    [["rotate", CERT_ARN, "--waves", "1,150%"], "--waves: waves[0].percent must be > 0 and <= 100, got 150"],
    [["rotate", CERT_ARN, "--canary", "2"], "Unknown option '--canary'"],
  ])("%j is a usage error (exit 2) and sends nothing", async (args, message) => {
    const { code, stderr, requests } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Run "mtls-rotator rotate --help" for usage.');
    expect(requests).toEqual([]);
  });
});

describe("parseWaveSpec", () => {
  it.each([
    ["1", { canarySize: 1, waves: [] }],
    ["2,50%", { canarySize: 2, waves: [{ percent: 50 }] }],
    ["1, 25%, 50%", { canarySize: 1, waves: [{ percent: 25 }, { percent: 50 }] }],
    ["1,3,12.5%", { canarySize: 1, waves: [{ count: 3 }, { percent: 12.5 }] }],
  ])("%j", (spec, expected) => {
    expect(parseWaveSpec(spec)).toEqual(expected);
  });

  it.each(["", "0", "0,50%", "1,0%", "1,-2", "1,,2"])("refuses %j", (spec) => {
    expect(() => parseWaveSpec(spec)).toThrow(UsageError);
  });
});

describe("rollback and approve", () => {
  it("rollback during a bake window: delivered, reason sent", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 10));
    contract.api.backend.controls.set(ROTATION_ID, { kind: "bake", wave: 1 });
    const { code, stdout } = await run([
      "rollback",
      ROTATION_ID,
      "--reason",
      "origin team sees handshake errors",
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      `Rollback delivered to rotation ${ROTATION_ID} at the bake window of wave 1: it puts every swapped distribution back.\n` +
        `Follow it: mtls-rotator watch ${ROTATION_ID}\n`,
    );
    expect(contract.api.backend.decisions).toEqual([
      { rotationId: ROTATION_ID, action: "rollback", body: { reason: "origin team sees handshake errors" } },
    ]);
  });

  it("approve at an approval point", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 9));
    contract.api.backend.controls.set(ROTATION_ID, { kind: "approval", wave: 0 });
    const { code, stdout } = await run(["approve", ROTATION_ID]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Approved: rotation ${ROTATION_ID} continues after wave 0.`);
    expect(contract.api.backend.decisions).toEqual([
      { rotationId: ROTATION_ID, action: "approve", body: {} },
    ]);
  });

  it("--json prints the API's answer", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 10));
    contract.api.backend.controls.set(ROTATION_ID, { kind: "bake", wave: 1 });
    const { stdout } = await run(["rollback", ROTATION_ID, "--json"]);
    expect(JSON.parse(stdout)).toEqual({
      rotationId: ROTATION_ID,
      action: "rollback",
      kind: "bake",
      wave: 1,
    });
  });

  it("not at a control point: exit 5 with the API's reason", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 7));
    const { code, stderr } = await run(["rollback", ROTATION_ID]);
    expect(code).toBe(5);
    expect(stderr).toContain(
      `refused in the current state: rotation ${ROTATION_ID} is swapping and not at a bake window or approval; retry then`,
    );
    expect(contract.api.backend.decisions).toEqual([]);
  });

  it("approve while a wave bakes: exit 5", async () => {
    contract.api.backend.rotations.set(ROTATION_ID, completedRotation().slice(0, 8));
    contract.api.backend.controls.set(ROTATION_ID, { kind: "bake", wave: 0 });
    const { code, stderr } = await run(["approve", ROTATION_ID]);
    expect(code).toBe(5);
    expect(stderr).toContain(`rotation ${ROTATION_ID} is baking wave 0, not waiting for approval`);
  });

  it.each([
    ["rollback", "\u009b31mforged"],
    ["approve", "ok\u2029forged paragraph"],
  ])("%s --reason the API would refuse: exit 2 naming --reason, nothing sent", async (command, reason) => {
    const { code, stderr, requests } = await run([command, ROTATION_ID, "--reason", reason]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(`^mtls-rotator ${command}: --reason must not contain control characters`),
    );
    expect(requests).toEqual([]);
  });

  it("an unknown rotation: the API's 404, exit 2", async () => {
    const { code, stderr } = await run(["approve", "rot-nope"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "mtls-rotator approve: the API refused the request (404 NotFound): no rotation rot-nope\n",
    );
  });
});

describe("scan", () => {
  it("starts the scan through POST /scan", async () => {
    const before = contract.api.backend.scans;
    const { code, stdout } = await run(["scan"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Scan started");
    expect(contract.api.backend.scans).toBe(before + 1);
    const json = await run(["scan", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ accepted: true });
  });
});

describe("revoke-viewer, reinstate-viewer, viewer-revocation", () => {
  const ALICE = OPERATOR.principalArn;
  const AT = "2026-03-02 11:00:00Z";

  it("revokes a serial however it is pasted, shows it, and reinstates it: each change announced once", async () => {
    const backend = contract.api.backend;
    const revoked = await run(["revoke-viewer", "00:4A:3F:5C", "--reason", "laptop stolen"]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(
      "Revoked serial 4a3f5c: viewers presenting it are refused once the change has propagated to CloudFront's edge locations.\n" +
        `Recorded: revoked ${AT} by ${ALICE}: laptop stolen\n`,
    );
    expect(revoked.stderr).toBe("");
    // Sent in its normal form, signed by the operator.
    expect(revoked.requests.map((r) => [r.method, r.path, r.principal, r.status])).toEqual([
      ["POST", "/viewer-revocations", ALICE, 200],
    ]);
    expect(backend.revocations?.get("4a3f5c")).toEqual({
      reason: "laptop stolen",
      revokedAt: "2026-03-02T11:00:00.000Z",
      revokedBy: ALICE,
    });

    const again = await run(["revoke-viewer", "4a3f5c", "--reason", "still stolen"]);
    expect(again.stdout).toBe(
      `Serial 4a3f5c was already on the revocation list (revoked ${AT} by ${ALICE}: laptop stolen); nothing changed.\n`,
    );

    const shown = await run(["viewer-revocation", "4A:3F:5C"]);
    expect(shown.stdout).toBe(`Serial 4a3f5c is revoked ${AT} by ${ALICE}: laptop stolen\n`);
    expect(shown.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/viewer-revocations/4a3f5c"]]);

    const reinstated = await run(["reinstate-viewer", "4a3f5c", "--reason", "laptop found & wiped"]);
    expect(reinstated.code).toBe(0);
    expect(reinstated.stdout).toBe(
      "Reinstated serial 4a3f5c: viewers presenting it connect again once the change has propagated to CloudFront's edge locations.\n" +
        `It had been revoked ${AT} by ${ALICE}: laptop stolen\n`,
    );
    // The reason travels in the query, percent-encoded.
    expect(reinstated.requests.map((r) => [r.method, r.path, r.rawQueryString])).toEqual([
      ["DELETE", "/viewer-revocations/4a3f5c", "reason=laptop%20found%20%26%20wiped"],
    ]);
    expect((await run(["viewer-revocation", "4a3f5c"])).stdout).toBe("Serial 4a3f5c is not revoked.\n");
    expect((await run(["reinstate-viewer", "4a3f5c", "--reason", "again"])).stdout).toBe(
      "Serial 4a3f5c is not on the revocation list; nothing changed.\n",
    );
    expect(backend.notices.map((n) => [n.event, n.certificateArn, n.body.reason])).toEqual([
      ["viewer-certificate-revoked", REVOCATION_STORE, "laptop stolen"],
      ["viewer-certificate-reinstated", REVOCATION_STORE, "laptop found & wiped"],
    ]);
  });

  it("--json prints the API's answers", async () => {
    const revoked = await run(["revoke-viewer", "beef", "--reason", "key leaked", "--json"]);
    expect(JSON.parse(revoked.stdout)).toEqual({
      serial: "beef",
      alreadyRevoked: false,
      revocation: { reason: "key leaked", revokedAt: "2026-03-02T11:00:00.000Z", revokedBy: ALICE },
      notified: true,
    });
    expect(JSON.parse((await run(["viewer-revocation", "beef", "--json"])).stdout)).toMatchObject({
      serial: "beef",
      revoked: true,
    });
    expect(
      JSON.parse((await run(["reinstate-viewer", "beef", "--reason", "ok", "--json"])).stdout),
    ).toMatchObject({ serial: "beef", reinstated: true, notified: true });
  });

  it.each([
    [["revoke-viewer", "not-hex", "--reason", "x"], "<serial>: a certificate serial number is hexadecimal"],
    [
      ["revoke-viewer", "1".repeat(41), "--reason", "x"],
      "<serial>: a certificate serial number has at most 20 octets",
    ],
    [["revoke-viewer", "4a3f"], "--reason is required: why the certificate is revoked"],
    [["revoke-viewer", "4a3f", "--reason", "x".repeat(257)], "--reason must be at most 256 characters"],
    [["revoke-viewer", "--reason", "x"], "missing <serial>"],
    [["reinstate-viewer", "4a3f"], "--reason is required: why the certificate may connect again"],
    [["viewer-revocation", "4a3f", "5c"], "unexpected argument: 5c"],
  ])("%j is a usage error (exit 2) and sends nothing", async (args, message) => {
    const { code, stderr, requests } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(requests).toEqual([]);
    expect(contract.api.backend.revocations?.size).toBe(0);
  });

  it("a stage without a revocation store: exit 5 naming the setting; nothing announced", async () => {
    contract.api.backend.revocations = undefined;
    for (const args of [
      ["revoke-viewer", "4a3f", "--reason", "x"],
      ["viewer-revocation", "4a3f"],
      ["reinstate-viewer", "4a3f", "--reason", "x"],
    ]) {
      const { code, stderr } = await run(args);
      expect(code, args[0]).toBe(5);
      expect(stderr).toMatch(
        /no viewer revocation store is configured .*MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN/,
      );
    }
    expect(contract.api.backend.notices).toEqual([]);
  });

  it("a notice that could not be published: the revocation stands, and a warning says so", async () => {
    contract.api.backend.notify = false;
    const { code, stdout, stderr } = await run(["revoke-viewer", "beef", "--reason", "key leaked"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Revoked serial beef: /);
    expect(stderr).toBe(
      "Warning: the revocation stands, but its notification was not published (the API's log says why).\n",
    );
    expect(contract.api.backend.revocations?.has("beef")).toBe(true);
  });
});

describe("--help", () => {
  it.each(OPERATOR_COMMANDS.map((c) => c.name))(
    "%s --help: usage, API options, exit codes; nothing sent",
    async (name) => {
      const { code, stdout, requests } = await run([name, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: mtls-rotator ${name}`));
      expect(stdout).toContain("--endpoint <url>");
      expect(stdout).toContain("Exit codes:");
      expect(requests).toEqual([]);
    },
  );
});
