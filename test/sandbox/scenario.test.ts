/**
 * Sandbox scenario files are validated strictly, before anything starts: every problem is named with its
 * path. The CLI refuses bad usage and invalid files with exit code 2 and starts nothing. The expectations
 * are checked as documented.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCENARIO, runSandboxCli, SCENARIO_DIR, shippedScenarios } from "../../sandbox/cli.ts";
import { evaluateExpectations, type Observed, type RotationReport } from "../../sandbox/report.ts";
import { loadScenario, parseScenario, ScenarioError, STEP_NAMES } from "../../sandbox/scenario.ts";
import { isViewerScenarioDocument, parseViewerScenario } from "../../sandbox/viewer-scenario.ts";

/** A small valid scenario; each case below breaks one thing. */
function valid(): Record<string, unknown> {
  return {
    name: "case",
    authority: { name: "CA 1" },
    certificates: [{ name: "edge", expiresInDays: 10, validityDays: 90 }],
    distributions: [
      { name: "shop", origins: [{ name: "api", certificate: "edge" }] },
      { name: "blog", origins: [{ name: "web", certificate: "edge" }] },
    ],
    actions: [{ action: "rotate", certificate: "edge" }],
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the cases reach into the document freely to break one thing each
type Loose = Record<string, any>;
type Mutation = (s: Loose) => void;

function problemsOf(mutate: Mutation): string[] {
  const document = valid();
  mutate(document);
  try {
    parseScenario(document, "case.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).problems;
  }
  return [];
}

describe("scenario validation", () => {
  it("accepts the valid base case", () => {
    expect(problemsOf(() => undefined)).toEqual([]);
  });

  const cases: Array<[string, Mutation, string[]]> = [
    [
      "an origin behaviour outside the enum",
      (s) => {
        s.nextAuthority = { name: "CA 2" };
        s.distributions[1].origins[0].trustsNewIssuer = "soon";
      },
      ['distributions[1].origins[0].trustsNewIssuer: expected "now" | "late" | "never", got "soon"'],
    ],
    [
      "a missing required field",
      (s) => {
        delete s.certificates[0].expiresInDays;
      },
      ["certificates[0].expiresInDays: required (a number)"],
    ],
    [
      "an unknown field (a typo)",
      (s) => {
        s.distributions[0].origins[0].trustNewIssuer = "now";
      },
      ["distributions[0].origins[0].trustNewIssuer: unknown field"],
    ],
    [
      "a wrong type",
      (s) => {
        s.distributions[0].origins[0].down = "yes";
      },
      ['distributions[0].origins[0].down: expected true or false, got "yes"'],
    ],
    [
      "a fraction where a whole number is needed",
      (s) => {
        s.distributions[0].origins[0].slowMs = 2.5;
      },
      ["distributions[0].origins[0].slowMs: expected a whole number, got 2.5"],
    ],
    [
      "a number out of range",
      (s) => {
        s.policy = { bakeSeconds: 600 };
      },
      ["policy.bakeSeconds: must be <= 30, got 600"],
    ],
    [
      "a key type CloudFront refuses",
      (s) => {
        s.certificates[0].keyType = "RSA_4096";
      },
      ['certificates[0].keyType: expected "RSA_2048" | "EC_prime256v1", got "RSA_4096"'],
    ],
    [
      "a name that cannot be a file name",
      (s) => {
        s.name = "My Scenario";
      },
      [
        "name: must be 1-40 lowercase letters, digits or '-', starting with a letter or digit, got \"My Scenario\"",
      ],
    ],
    [
      "an unknown action",
      (s) => {
        s.actions = [{ action: "rotat", certificate: "edge" }];
      },
      [
        'actions[0].action: expected "scan" | "rotate" | "dryRun" | "rollback" | "approve" | "duplicateTriggers" | "concurrentTriggers" | "origin" | "wait", got "rotat"',
      ],
    ],
    [
      "an action without its kind",
      (s) => {
        s.actions = [{ certificate: "edge" }];
      },
      [
        'actions[0].action: required, expected "scan" | "rotate" | "dryRun" | "rollback" | "approve" | "duplicateTriggers" | "concurrentTriggers" | "origin" | "wait"',
      ],
    ],
    [
      "no actions",
      (s) => {
        s.actions = [];
      },
      ["actions: needs at least 1 item"],
    ],
    [
      "a wave size that is both",
      (s) => {
        s.policy = { waves: { waves: [{ count: 1, percent: 50 }] } };
      },
      ['policy.waves.waves[0]: expected { "count": <whole number> } or { "percent": <number> }'],
    ],
    [
      "an unknown fault kind",
      (s) => {
        s.faults = [{ kind: "slow", service: "acm" }];
      },
      ['faults[0].kind: expected "throttle" | "5xx" | "foreignWrite" | "crashBetweenSteps", got "slow"'],
    ],
    [
      "a fault on a service the stand-ins do not serve",
      (s) => {
        s.faults = [{ kind: "throttle", service: "lambda" }];
      },
      [
        'faults[0].service: expected "acm" | "acm-pca" | "cloudfront" | "secretsmanager" | "s3" | "sns" | "monitoring", got "lambda"',
      ],
    ],
    [
      "an unknown expected status",
      (s) => {
        s.expect = { rotations: [{ certificate: "edge", status: "done" }] };
      },
      [
        'expect.rotations[0].status: expected "started" | "planned" | "issued" | "trust-published" | "swapping" | "finalizing" | "completed" | "rolling-back" | "rolled-back" | "aborted" | "failed", got "done"',
      ],
    ],
    [
      "the status report version 1 gave a dry run",
      (s) => {
        s.expect = { rotations: [{ certificate: "edge", status: "dry-run" }] };
      },
      [
        'expect.rotations[0].status: "dry-run" is not a rotation status: a dry run starts no rotation, it answers the plan (as POST /rotations with dryRun does); expect it with "dryRuns": [{ "certificate": "<name>" }]',
      ],
    ],
    [
      "a crash in the workflow's dry-run step (the sandbox's dry run never runs the workflow)",
      (s) => {
        s.faults = [{ kind: "crashBetweenSteps", step: "dry-run" }];
      },
      [
        `faults[0].step: unknown workflow step "dry-run" (steps: ${STEP_NAMES.join(", ")}; <distribution> is a distribution name: shop, blog)`,
      ],
    ],
    [
      "a dry-run expectation about unknown things",
      (s) => {
        s.expect = { dryRuns: [{ certificate: "x", waves: [["shop"], ["blog", "media"]] }] };
      },
      [
        'expect.dryRuns[0].certificate: no certificate named "x" (certificates: "edge")',
        'expect.dryRuns[0].waves[1][1]: no distribution named "media"',
      ],
    ],
    [
      "a malformed awsCalls key",
      (s) => {
        s.expect = { awsCalls: { UpdateDistribution: 0 } };
      },
      ['expect.awsCalls.UpdateDistribution: expected "<service>:<Operation>", got "UpdateDistribution"'],
    ],
    [
      "several problems at once, each with its path",
      (s) => {
        s.certificates[0].keyType = "P-384";
        s.distributions[1].origins[0].slowMs = -1;
        s.timeoutSeconds = 1;
      },
      [
        "timeoutSeconds: must be >= 5, got 1",
        'certificates[0].keyType: expected "RSA_2048" | "EC_prime256v1", got "P-384"',
        "distributions[1].origins[0].slowMs: must be >= 0, got -1",
      ],
    ],
    // Cross-checks: references, uniqueness, behaviours that need a second CA, step names.
    [
      "an origin presenting a certificate that does not exist",
      (s) => {
        s.distributions[1].origins[0].certificate = "edgy";
      },
      ['distributions[1].origins[0].certificate: no certificate named "edgy" (certificates: "edge")'],
    ],
    [
      "duplicate names",
      (s) => {
        s.distributions[1].name = "shop";
        s.distributions[0].origins.push({ name: "api" });
      },
      [
        'distributions[0].origins[1].name: duplicate origin name "api" in distribution "shop"',
        'distributions[1].name: duplicate distribution name "shop"',
      ],
    ],
    [
      "a certificate of another key type than its CA's (ACM would not import it)",
      (s) => {
        s.certificates[0].keyType = "RSA_2048";
        s.certificates.push({ name: "other", keyType: "EC_prime256v1", expiresInDays: 10 });
        s.nextAuthority = { name: "CA 2", keyType: "RSA_4096" };
      },
      [
        'certificates[0].keyType: "RSA_2048" cannot come from authority (key EC_prime256v1): ACM imports a ' +
          'certificate only with its signing CA\'s key type; use "EC_prime256v1", or give authority.keyType of ' +
          "the certificate's type",
      ],
    ],
    [
      "a CA key type no Private CA has",
      (s) => {
        s.authority.keyType = "RSA_1024";
      },
      [
        'authority.keyType: expected "RSA_2048" | "RSA_3072" | "RSA_4096" | "EC_prime256v1" | "EC_secp384r1", got "RSA_1024"',
      ],
    ],
    [
      "a certificate that is not valid yet",
      (s) => {
        s.certificates[0] = { name: "edge", expiresInDays: 120 };
      },
      [
        "certificates[0].expiresInDays: must be less than validityDays (90, the default): the certificate must already be valid",
      ],
    ],
    [
      "distrust behaviours without a second CA",
      (s) => {
        s.distributions[0].origins[0].trustsNewIssuer = "never";
        s.distributions[1].origins[0].stopsTrustingAfterSwap = true;
      },
      [
        'distributions[0].origins[0].trustsNewIssuer: "never" needs a nextAuthority: replacements come from the same CA the origin already trusts',
        "distributions[1].origins[0].stopsTrustingAfterSwap: needs a nextAuthority: with one CA, distrusting the new certificate distrusts the old one too",
      ],
    ],
    [
      "late trust without its delay",
      (s) => {
        s.nextAuthority = { name: "CA 2" };
        s.distributions[0].origins[0].trustsNewIssuer = "late";
      },
      ['distributions[0].origins[0].trustDelaySeconds: required when trustsNewIssuer is "late"'],
    ],
    [
      "a down origin with other behaviours",
      (s) => {
        s.distributions[0].origins[0].down = true;
        s.distributions[0].origins[0].slowMs = 100;
      },
      [
        "distributions[0].origins[0].down: a down origin takes no other behaviour (trustsNewIssuer, stopsTrustingAfterSwap, slowMs)",
      ],
    ],
    [
      "nothing presented anywhere",
      (s) => {
        for (const d of s.distributions) delete d.origins[0].certificate;
      },
      ["distributions: no origin presents a certificate: there is nothing to rotate"],
    ],
    [
      "a crash on a workflow step that does not exist",
      (s) => {
        s.faults = [{ kind: "crashBetweenSteps", step: "swap:0:media" }];
      },
      [
        `faults[0].step: unknown workflow step "swap:0:media" (steps: ${STEP_NAMES.join(", ")}; <distribution> is a distribution name: shop, blog)`,
      ],
    ],
    [
      "a wait with both seconds and for",
      (s) => {
        s.actions.push({ action: "wait", seconds: 1, for: "rotations" });
      },
      ['actions[1]: a wait needs exactly one of "seconds" or "for"'],
    ],
    [
      "an approval nobody waits for",
      (s) => {
        s.actions.push({ action: "approve" });
      },
      ['actions[1]: approve needs policy.approval.mode "between-waves" (nothing ever waits for an approval)'],
    ],
    [
      "a rollback without a certificate when there are several",
      (s) => {
        s.certificates.push({ name: "other", expiresInDays: 10 });
        s.actions.push({ action: "rollback" });
      },
      ["actions[1].certificate: required when the scenario has more than one certificate"],
    ],
    [
      "expectations about unknown things",
      (s) => {
        s.expect = {
          rotations: [{ certificate: "x", status: "completed" }],
          refusalsOnlyAt: ["shop/web"],
          trustBundle: { excludes: ["nextAuthority"] },
        };
      },
      [
        'expect.rotations[0].certificate: no certificate named "x" (certificates: "edge")',
        'expect.refusalsOnlyAt[0]: no origin "shop/web" (origins: shop/api, blog/web)',
        'expect.trustBundle.excludes[0]: "nextAuthority" is not configured',
      ],
    ],
  ];

  cases.push(
    [
      "a gate that never waits for a datapoint, an unknown onNoData, a negative CloudWatch delay",
      (s) => {
        s.policy = { gate: { minDatapoints: 0, onNoData: "ignore" }, metricsDelaySeconds: -1 };
      },
      [
        "policy.gate.minDatapoints: must be >= 1, got 0",
        'policy.gate.onNoData: expected "fail" | "pass", got "ignore"',
        "policy.metricsDelaySeconds: must be >= 0, got -1",
      ],
    ],
    [
      "a metrics deadline too short for the datapoints it needs while no data fails",
      (s) => {
        s.policy = { gate: { minDatapoints: 5, metricsDeadlineSeconds: 5 } };
      },
      [
        'policy.gate.metricsDeadlineSeconds: 5 s is too short for 5 one-second datapoint(s) after a deployment (at least 6): with onNoData "fail" every gate would fail',
      ],
    ],
  );

  cases.push(
    [
      "a subject with a line break, and one in OpenSSL's notation",
      (s) => {
        s.certificates[0].subject = "CN=edge\nO=evil";
        s.certificates.push({ name: "api", subject: "/CN=api/O=Acme", expiresInDays: 10 });
      },
      [
        'certificates[0].subject: not a valid distinguished name: contains a line break (U+000A), got "CN=edge\\nO=evil"',
        `certificates[1].subject: not a valid distinguished name: OpenSSL's "/CN=.../O=..." notation is not read here: ` +
          'write it as "CN=<name>, O=<organization>" (types: CN, O, OU, L, ST, C, DC, E, G, I, SN, T), got "/CN=api/O=Acme"',
      ],
    ],
    [
      "a subject with an empty value and an unknown attribute type",
      (s) => {
        s.certificates[0].subject = "CN=edge, O=";
        s.certificates.push({ name: "api", subject: "CN=api, XX=1", expiresInDays: 10 });
      },
      [
        'certificates[0].subject: not a valid distinguished name: O has an empty value, got "CN=edge, O="',
        'certificates[1].subject: not a valid distinguished name: unknown attribute type "XX" ' +
          '(types: CN, O, OU, L, ST, C, DC, E, G, I, SN, T), got "CN=api, XX=1"',
      ],
    ],
    [
      "CA names that would add attributes to the CA's subject or break a line",
      (s) => {
        s.authority.name = "CA 1, O=Evil";
        s.nextAuthority = { name: "CA 2\u2028CN=Evil" };
      },
      [
        "authority.name: must not contain ',': the name becomes the CA's common name " +
          `(CN=<name>, O=mtls-rotator sandbox), which ',' would split or add attributes to, got "CA 1, O=Evil"`,
        'nextAuthority.name: contains a line break (U+2028), got "CA 2\\u2028CN=Evil"',
      ],
    ],
  );

  // Issue 11's defects: a final crash, a re-keyed CA, rollbacks between control points, waits and phase bounds.
  cases.push(
    [
      "a final crash that is not true or false",
      (s) => {
        s.faults = [{ kind: "crashBetweenSteps", step: "lock", final: "yes" }];
      },
      ['faults[0].final: expected true or false, got "yes"'],
    ],
    [
      "rekeyed on the authority (only the next CA can re-key it)",
      (s) => {
        s.authority.rekeyed = true;
      },
      ["authority.rekeyed: unknown field"],
    ],
    [
      "a re-keyed CA under another name",
      (s) => {
        s.nextAuthority = { name: "CA 2", rekeyed: true };
      },
      ['nextAuthority.name: a re-keyed CA keeps its name: expected "CA 1" (authority.name), got "CA 2"'],
    ],
    [
      "a rollback at an unknown moment",
      (s) => {
        s.actions.push({ action: "rollback", when: "swapping" });
      },
      ['actions[1].when: expected "baking" | "approval" | "deploying" | "gate", got "swapping"'],
    ],
    [
      "a rollback while deploying with CloudFront deploying in 1 s (the default)",
      (s) => {
        s.actions.push({ action: "rollback", afterWave: 0, when: "deploying" });
      },
      [
        'actions[1].when: "deploying" needs policy.deploySeconds >= 2 (got 1, the default): the rollback must arrive while CloudFront still deploys the wave',
      ],
    ],
    [
      "expectations of an unknown phase, a negative bound and a waited that is not true or false",
      (s) => {
        s.expect = {
          rotations: [
            {
              certificate: "edge",
              status: "completed",
              waited: "yes",
              maxPhaseSeconds: { bake: 3, "wave 0": -1 },
            },
          ],
        };
      },
      [
        'expect.rotations[0].waited: expected true or false, got "yes"',
        'expect.rotations[0].maxPhaseSeconds.bake: expected a phase: "plan", "issue", "trust", "preflight", "wave <n>", "rollback" or "finalize", got "bake"',
        "expect.rotations[0].maxPhaseSeconds.wave 0: must be >= 0, got -1",
      ],
    ],
  );

  // Fault rates, concurrent triggers, foreign writes, CloudWatch history.
  cases.push(
    [
      "fault rates out of range, a bound that needs a rate, and a seed that is not a whole number",
      (s) => {
        s.seed = 1.5;
        s.faults = [
          { kind: "throttle", service: "acm", rate: 0 },
          { kind: "5xx", service: "acm", rate: 1.5 },
          { kind: "throttle", service: "cloudfront", maxConsecutive: 2 },
        ];
      },
      [
        "seed: expected a whole number, got 1.5",
        "faults[0].rate: must be > 0, got 0",
        "faults[1].rate: must be <= 1, got 1.5",
      ],
    ],
    [
      "maxConsecutive without a rate",
      (s) => {
        s.faults = [{ kind: "throttle", service: "cloudfront", times: 3, maxConsecutive: 2 }];
      },
      [
        "faults[0].maxConsecutive: only applies with a rate (without one, the first `times` matching calls fail, in a row)",
      ],
    ],
    [
      "a rate of 1 with no bound (no rotation could get past it)",
      (s) => {
        s.faults = [{ kind: "5xx", service: "acm-pca", operation: "IssueCertificate", rate: 1 }];
      },
      [
        "faults[0].rate: 1 without times or maxConsecutive answers every matching call with the fault for good, " +
          "so nothing that needs the call could ever succeed: give times (the most faults in total) or " +
          "maxConsecutive (the most in a row)",
      ],
    ],
  );

  cases.push(
    [
      "concurrent triggers: too few, too many, an unknown path and one listed twice",
      (s) => {
        s.actions = [
          { action: "concurrentTriggers", certificate: "edge", count: 1 },
          { action: "concurrentTriggers", certificate: "edge", count: 51 },
          { action: "concurrentTriggers", certificate: "edge", count: 5, via: ["scan", "api"] },
        ];
      },
      [
        "actions[0].count: must be >= 2, got 1",
        "actions[1].count: must be <= 50, got 51",
        'actions[2].via[1]: expected "scan" | "acm-event" | "manual", got "api"',
      ],
    ],
    [
      "concurrent triggers for an unknown certificate, through a path listed twice",
      (s) => {
        s.actions = [
          { action: "concurrentTriggers", certificate: "edgy", count: 5, via: ["manual", "scan", "manual"] },
        ];
      },
      [
        'actions[0].certificate: no certificate named "edgy" (certificates: "edge")',
        'actions[0].via[2]: "manual" is listed twice',
      ],
    ],
  );

  cases.push(
    [
      "foreign writes to an unknown distribution, at an unknown moment, too often, and twice for one moment",
      (s) => {
        s.faults = [
          { kind: "foreignWrite", distribution: "media" },
          { kind: "foreignWrite", distribution: "shop", when: "deploy" },
          { kind: "foreignWrite", distribution: "shop", times: 11 },
        ];
      },
      [
        'faults[1].when: expected "swap" | "rollback", got "deploy"',
        "faults[2].times: must be <= 10, got 11",
      ],
    ],
    [
      "a foreign write to a distribution that does not exist, and a second one for the same moment",
      (s) => {
        s.faults = [
          { kind: "foreignWrite", distribution: "media" },
          { kind: "foreignWrite", distribution: "shop" },
          { kind: "foreignWrite", distribution: "shop", when: "rollback" },
          { kind: "foreignWrite", distribution: "shop", when: "swap", times: 2 },
        ];
      },
      [
        'faults[0].distribution: no distribution named "media" (distributions: shop, blog)',
        'faults[3]: a second foreignWrite to "shop" during a swap (faults[1]): give that one more times',
      ],
    ],
    [
      "a foreign write without its distribution",
      (s) => {
        s.faults = [{ kind: "foreignWrite" }];
      },
      ["faults[0].distribution: required (a string)"],
    ],
  );

  cases.push(
    [
      "CloudWatch history out of range",
      (s) => {
        s.metricHistory = [
          { distribution: "shop", errorRatePercent: 101, minutes: 0 },
          { distribution: "blog", points: [{ minutesAgo: 61, errorRatePercent: -1 }], requestsPerMinute: 0 },
        ];
      },
      [
        "metricHistory[0].errorRatePercent: must be <= 100, got 101",
        "metricHistory[0].minutes: must be >= 1, got 0",
        "metricHistory[1].points[0].minutesAgo: must be <= 60, got 61",
        "metricHistory[1].points[0].errorRatePercent: must be >= 0, got -1",
        "metricHistory[1].requestsPerMinute: must be >= 1, got 0",
      ],
    ],
    [
      "CloudWatch history that is both, neither, of an unknown or repeated distribution, or repeats a minute",
      (s) => {
        s.metricHistory = [
          { distribution: "shop", errorRatePercent: 4, points: [{ minutesAgo: 1, errorRatePercent: 4 }] },
          { distribution: "blog", minutes: 5 },
          { distribution: "media", errorRatePercent: 4 },
          { distribution: "shop", errorRatePercent: 4 },
          {
            distribution: "blog",
            points: [
              { minutesAgo: 2, errorRatePercent: 1 },
              { minutesAgo: 2, errorRatePercent: 3 },
            ],
          },
        ];
      },
      [
        'metricHistory[0]: needs exactly one of "errorRatePercent" (with "minutes") or "points"',
        'metricHistory[1]: needs exactly one of "errorRatePercent" (with "minutes") or "points"',
        'metricHistory[1].minutes: only applies with "errorRatePercent"',
        'metricHistory[2].distribution: no distribution named "media" (distributions: shop, blog)',
        'metricHistory[3].distribution: "shop" already has a history (metricHistory[0])',
        'metricHistory[4].distribution: "blog" already has a history (metricHistory[1])',
        "metricHistory[4].points[1].minutesAgo: minute 2 is already points[0]",
      ],
    ],
  );

  it("accepts CloudWatch history as a rate over minutes (10 by default) or as points", () => {
    expect(
      problemsOf((s) => {
        s.metricHistory = [
          { distribution: "shop", errorRatePercent: 4, minutes: 10 },
          {
            distribution: "blog",
            points: [{ minutesAgo: 60, errorRatePercent: 100 }],
            requestsPerMinute: 50,
          },
        ];
      }),
    ).toEqual([]);
    expect(
      problemsOf((s) => {
        s.metricHistory = [{ distribution: "shop", errorRatePercent: 0 }];
      }),
    ).toEqual([]);
  });

  it("accepts foreign writes before a swap and before a rollback", () => {
    expect(
      problemsOf((s) => {
        s.faults = [
          { kind: "foreignWrite", distribution: "shop" },
          { kind: "foreignWrite", distribution: "blog", when: "rollback", times: 10 },
          { kind: "foreignWrite", distribution: "shop", when: "rollback" },
        ];
      }),
    ).toEqual([]);
  });

  it("accepts concurrent triggers through every path or some", () => {
    expect(
      problemsOf((s) => {
        s.actions = [
          { action: "concurrentTriggers", certificate: "edge", count: 50 },
          { action: "concurrentTriggers", certificate: "edge", count: 2, via: ["acm-event", "manual"] },
        ];
      }),
    ).toEqual([]);
  });

  it("accepts fault rates with and without bounds, and a seed; files without them mean what they meant", () => {
    expect(
      problemsOf((s) => {
        s.seed = 4_294_967_295;
        s.faults = [
          { kind: "throttle", service: "cloudfront", rate: 0.3 },
          { kind: "5xx", service: "acm", operation: "DescribeCertificate", rate: 1, times: 3 },
          { kind: "throttle", service: "s3", rate: 1, maxConsecutive: 2 },
          { kind: "throttle", service: "sns", rate: 0.5, times: 10, maxConsecutive: 1 },
        ];
      }),
    ).toEqual([]);
    const scenario = parseScenario({
      ...valid(),
      faults: [{ kind: "throttle", service: "acm-pca", operation: "IssueCertificate", times: 2 }],
    });
    expect(scenario.seed).toBeUndefined();
    expect(scenario.faults).toEqual([
      { kind: "throttle", service: "acm-pca", operation: "IssueCertificate", times: 2 },
    ]);
  });

  // Origins that change during the run, and origins reachable only through acknowledgements.
  cases.push(
    [
      "an origin change whose origin is not a path",
      (s) => {
        s.actions.push({ action: "origin", origin: "shop", down: true });
      },
      ['actions[1].origin: expected "<distribution>/<origin>", got "shop"'],
    ],
    [
      "an origin change naming an origin that does not exist",
      (s) => {
        s.actions.push({ action: "origin", origin: "shop/nope", down: true });
      },
      ['actions[1].origin: no origin "shop/nope" (origins: shop/api, blog/web)'],
    ],
    [
      "an origin change that changes nothing, and a down origin that is slow",
      (s) => {
        s.actions.push(
          { action: "origin", origin: "shop/api" },
          { action: "origin", origin: "shop/api", down: true, slowMs: 500 },
        );
      },
      [
        'actions[1]: an origin change needs "down" and/or "slowMs"',
        "actions[2].slowMs: a down origin takes no slowMs (nothing serves)",
      ],
    ],
    [
      "an origin change at an unknown moment",
      (s) => {
        s.actions.push({ action: "origin", origin: "shop/api", down: true, when: "swapped" });
      },
      ['actions[1].when: expected "baking" | "approval" | "deploying" | "gate", got "swapped"'],
    ],
    [
      "an origin change's afterWave and certificate without when",
      (s) => {
        s.actions.push({
          action: "origin",
          origin: "shop/api",
          down: true,
          afterWave: 1,
          certificate: "edge",
        });
      },
      [
        'actions[1].afterWave: only applies with "when" (the change is made when the action is reached)',
        'actions[1].certificate: only applies with "when" (the rotation whose moment the change waits for)',
      ],
    ],
    [
      "an origin change at a bake window with no bake, at an approval without approvals, and an unknown certificate",
      (s) => {
        s.policy = { bakeSeconds: 0 };
        s.actions.push(
          { action: "origin", origin: "shop/api", down: true, when: "baking" },
          { action: "origin", origin: "blog/web", slowMs: 4000, when: "approval", certificate: "api" },
        );
      },
      [
        'actions[2].certificate: no certificate named "api" (certificates: "edge")',
        'actions[2].when: "approval" needs policy.approval.mode "between-waves"',
        'actions[1].when: "baking" needs a bake window (policy.bakeSeconds > 0)',
      ],
    ],
    [
      "an origin change timed by a rotation when there are two certificates and it names none",
      (s) => {
        s.certificates.push({ name: "api", expiresInDays: 10 });
        s.actions.push({ action: "origin", origin: "shop/api", down: true, when: "gate" });
      },
      ["actions[1].certificate: required when the scenario has more than one certificate"],
    ],
    [
      "origin fields outside their enums, and an acknowledgement id with a slash",
      (s) => {
        Object.assign(s.distributions[0].origins[0], {
          reachable: "cloudfront",
          proof: "ack",
          ackId: "shop/api",
        });
      },
      [
        'distributions[0].origins[0].reachable: expected "anywhere" | "edge-only", got "cloudfront"',
        'distributions[0].origins[0].proof: expected "probe" | "acknowledgement" | "both", got "ack"',
        "distributions[0].origins[0].ackId: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-', " +
          'got "shop/api"',
      ],
    ],
    [
      "an acknowledgement from an origin that runs no origin-sync, from a down one, and from one with no certificate",
      (s) => {
        s.nextAuthority = { name: "CA 2" };
        Object.assign(s.distributions[0].origins[0], { trustsNewIssuer: "never", proof: "acknowledgement" });
        s.distributions[1].origins[0] = { name: "web", certificate: "edge", down: true, proof: "both" };
        s.distributions[1].origins.push({ name: "static", proof: "acknowledgement" });
      },
      [
        'distributions[0].origins[0].proof: "acknowledgement" needs an origin whose origin-sync installs the ' +
          'published bundle and reloads the server (trustsNewIssuer "now" or "late"): with "never" it runs no ' +
          "origin-sync and can acknowledge nothing",
        'distributions[1].origins[0].proof: "both" needs an origin whose origin-sync installs the published ' +
          "bundle and reloads the server: a down origin runs none",
        'distributions[1].origins[1].proof: "acknowledgement" only applies to an origin that presents a ' +
          "certificate (the preflight judges no other)",
      ],
    ],
    [
      "an acknowledgement id without an acknowledgement proof, and two origins acknowledging as one",
      (s) => {
        Object.assign(s.distributions[0].origins[0], { proof: "probe", ackId: "api" });
        Object.assign(s.distributions[1].origins[0], { proof: "acknowledgement", ackId: "shared" });
        s.distributions[1].origins.push({
          name: "static",
          certificate: "edge",
          proof: "both",
          ackId: "shared",
        });
        s.distributions.push({
          name: "blog-web",
          origins: [{ name: "x", certificate: "edge", proof: "acknowledgement" }],
        });
        s.distributions[1].origins.push({
          name: "x",
          certificate: "edge",
          proof: "both",
          ackId: "blog-web-x",
        });
      },
      [
        'distributions[0].origins[0].ackId: only applies with proof "acknowledgement" or "both"',
        'distributions[1].origins[1].ackId: acknowledgement id "shared" is also blog/web\'s: each origin host acknowledges as itself',
        'distributions[2].origins[0].name: acknowledgement id "blog-web-x" is also blog/x\'s: each origin host acknowledges as itself',
      ],
    ],
    [
      "an acknowledged expectation that is not a path",
      (s) => {
        s.expect = { acknowledged: ["shop"] };
      },
      ['expect.acknowledged[0]: expected "<distribution>/<origin>", got "shop"'],
    ],
    [
      "an acknowledged expectation of an unknown origin and of one that is probed",
      (s) => {
        s.expect = { acknowledged: ["shop/nope", "shop/api"] };
      },
      [
        'expect.acknowledged[0]: no origin "shop/nope" (origins: shop/api, blog/web)',
        'expect.acknowledged[1]: "shop/api" has no acknowledgement proof (give it proof "acknowledgement" or "both")',
      ],
    ],
  );

  it("accepts origin changes (at once, or at a rotation's moment) and origins reachable only through acknowledgements", () => {
    const document: Loose = valid();
    Object.assign(document.distributions[0].origins[0], {
      reachable: "edge-only",
      proof: "acknowledgement",
      ackId: "shop-api.host_1",
    });
    Object.assign(document.distributions[1].origins[0], { proof: "both", slowMs: 100 });
    document.nextAuthority = { name: "CA 2" };
    document.distributions.push({
      name: "media",
      origins: [
        { name: "late", certificate: "edge", trustsNewIssuer: "late", trustDelaySeconds: 1, proof: "both" },
        { name: "dead", certificate: "edge", down: true, reachable: "edge-only", proof: "probe" },
      ],
    });
    document.policy = { approval: { mode: "between-waves" } };
    document.actions.push(
      { action: "origin", origin: "blog/web", down: true, when: "baking", afterWave: 1 },
      {
        action: "origin",
        origin: "media/dead",
        down: false,
        slowMs: 0,
        when: "approval",
        certificate: "edge",
      },
      { action: "origin", origin: "shop/api", slowMs: 4000, when: "deploying" },
      { action: "origin", origin: "shop/api", slowMs: 0, when: "gate", afterWave: 0 },
      { action: "origin", origin: "blog/web", down: false },
    );
    document.expect = { acknowledged: ["shop/api", "blog/web", "media/late"] };
    const scenario = parseScenario(document);
    expect(scenario.actions[1]).toEqual({
      action: "origin",
      origin: "blog/web",
      down: true,
      when: "baking",
      afterWave: 1,
    });
    // Without the new fields an origin means what it meant: reachable by anyone, probed.
    const plain = parseScenario(valid());
    expect(plain.distributions[0]!.origins[0]).toEqual({ name: "api", certificate: "edge" });
  });

  it("accepts a final crash, a re-keyed CA, rollbacks between control points, waits and phase bounds", () => {
    expect(
      problemsOf((s) => {
        s.nextAuthority = { name: "CA 1", keyType: "RSA_2048", rekeyed: true };
        s.faults = [{ kind: "crashBetweenSteps", step: "lock", final: true }];
        // Between control points: no bake window needed.
        s.policy = { bakeSeconds: 0, deploySeconds: 2 };
        s.actions.push(
          { action: "rollback", afterWave: 0, when: "deploying" },
          { action: "rollback", when: "gate", reason: "error budget" },
        );
        s.expect = {
          rotations: [
            {
              certificate: "edge",
              status: "rolled-back",
              waited: false,
              maxPhaseSeconds: { preflight: 9, "wave 0": 3, rollback: 10 },
            },
          ],
        };
      }),
    ).toEqual([]);
    // A scenario without the new fields means what it meant: not re-keyed, crashes retried.
    const scenario = parseScenario({ ...valid(), nextAuthority: { name: "CA 2" } });
    expect(scenario.nextAuthority).toEqual({ name: "CA 2" });
  });

  it("accepts the gate's wait for datapoints, and a crash at one of its metrics polls", () => {
    expect(
      problemsOf((s) => {
        s.policy = {
          gate: { minDatapoints: 3, metricsDeadlineSeconds: 20, onNoData: "pass" },
          metricsDelaySeconds: 2.5,
        };
        s.faults = [{ kind: "crashBetweenSteps", step: "gate:0:metrics:2" }];
      }),
    ).toEqual([]);
    expect(STEP_NAMES).toContain("gate:<wave>:metrics:<poll>");
  });

  it.each(cases)("rejects %s with the exact message", (_, mutate, problems) => {
    expect(problemsOf(mutate)).toEqual(problems);
  });

  it("names the file in the error and lists every problem on its own line", () => {
    const document = valid();
    (document.certificates as Array<Record<string, unknown>>)[0]!.keyType = "RSA_4096";
    expect(() => parseScenario(document, "my.json")).toThrow(
      'invalid scenario my.json:\n  - certificates[0].keyType: expected "RSA_2048" | "EC_prime256v1", got "RSA_4096"',
    );
  });

  it("accepts subjects that are distinguished names, and CA names that are one plain value", () => {
    expect(
      problemsOf((s) => {
        s.authority.name = "Acme Origin Client CA #1 (test)";
        s.certificates[0].subject = "CN=edge.example, OU=Edge\\, Delivery, O=Acme, C=DE";
      }),
    ).toEqual([]);
  });

  it("accepts every shipped scenario", async () => {
    expect(shippedScenarios()).toEqual([
      "acknowledgement-preflight",
      "ca-migration",
      "ca-migration-by-scan",
      "ca-migration-key-type",
      "ca-rekeyed-same-name",
      "dead-first-attempt",
      "failing-wave",
      "faults",
      "healthy",
      "manual-rollback",
      "one-rotation-per-distribution",
      "preflight-deadline-slow-origin",
      "rollback-between-control-points",
      "untrusted-origin",
      "viewer-ca-migration",
      "viewer-trust-store-failed",
    ]);
    for (const name of shippedScenarios()) {
      const path = join(SCENARIO_DIR, `${name}.json`);
      const document = JSON.parse(await readFile(path, "utf8"));
      if (isViewerScenarioDocument(document)) {
        const viewer = parseViewerScenario(document);
        expect(viewer.ok && viewer.scenario.name).toBe(name);
        continue;
      }
      const scenario = await loadScenario(path);
      expect(scenario.name).toBe(name);
    }
    expect(shippedScenarios()).toContain(DEFAULT_SCENARIO);
  });
});

describe("the sandbox CLI refuses bad input before starting anything", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sandbox-cli-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(argv: string[]) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runSandboxCli(argv, {
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      cwd: dir,
    });
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
  }

  it("exits 2 on an invalid scenario file, listing the problems with their paths", async () => {
    const file = join(dir, "bad.json");
    const document: Loose = valid();
    document.distributions[1].origins[0].trustsNewIssuer = "soon";
    document.nextAuthority = { name: "CA 2" };
    await writeFile(file, JSON.stringify(document));
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`invalid scenario ${file}:`);
    expect(result.stderr).toContain(
      'distributions[1].origins[0].trustsNewIssuer: expected "now" | "late" | "never", got "soon"',
    );
    expect(result.stdout).toBe("");
  });

  it("exits 2 on a subject that is not a distinguished name, naming its path, and starts nothing", async () => {
    const file = join(dir, "bad-subject.json");
    const document: Loose = valid();
    document.certificates[0].subject = "CN=edge, O=Acme\r\nCN=admin";
    document.authority.name = "CA/O=Evil";
    await writeFile(file, JSON.stringify(document));
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")).toEqual([
      `sandbox: invalid scenario ${file}:`,
      "  - authority.name: must not contain '/': the name becomes the CA's common name " +
        `(CN=<name>, O=mtls-rotator sandbox), which '/' would split or add attributes to, got "CA/O=Evil"`,
      '  - certificates[0].subject: not a valid distinguished name: contains a line break (U+000D), got "CN=edge, O=Acme\\r\\nCN=admin"',
    ]);
    expect(result.stdout).toBe("");
  });

  it("exits 2 on a re-keyed CA under another name and a rollback while a 1 s deployment runs, naming their paths", async () => {
    const file = join(dir, "bad-rekey.json");
    const document: Loose = valid();
    document.nextAuthority = { name: "CA 2", rekeyed: true };
    document.actions.push({ action: "rollback", afterWave: 0, when: "deploying" });
    await writeFile(file, JSON.stringify(document));
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")).toEqual([
      `sandbox: invalid scenario ${file}:`,
      '  - nextAuthority.name: a re-keyed CA keeps its name: expected "CA 1" (authority.name), got "CA 2"',
      '  - actions[1].when: "deploying" needs policy.deploySeconds >= 2 (got 1, the default): the rollback must arrive while CloudFront still deploys the wave',
    ]);
    expect(result.stdout).toBe("");
  });

  it("exits 2 on an acknowledgement-only origin that runs no origin-sync and an origin change of an unknown origin", async () => {
    const file = join(dir, "bad-acknowledgement.json");
    const document: Loose = valid();
    document.nextAuthority = { name: "CA 2" };
    Object.assign(document.distributions[0].origins[0], {
      reachable: "edge-only",
      proof: "acknowledgement",
      trustsNewIssuer: "never",
    });
    document.actions.push({ action: "origin", origin: "blog/api", down: true, when: "baking" });
    await writeFile(file, JSON.stringify(document));
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")).toEqual([
      `sandbox: invalid scenario ${file}:`,
      '  - distributions[0].origins[0].proof: "acknowledgement" needs an origin whose origin-sync installs the ' +
        'published bundle and reloads the server (trustsNewIssuer "now" or "late"): with "never" it runs no ' +
        "origin-sync and can acknowledge nothing",
      '  - actions[1].origin: no origin "blog/api" (origins: shop/api, blog/web)',
    ]);
    expect(result.stdout).toBe("");
  });

  it("exits 2 on a file that is not JSON", async () => {
    const file = join(dir, "broken.json");
    await writeFile(file, "{ name: ");
    const result = await cli([file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid scenario .*broken\.json:\n {2}- not valid JSON: /);
  });

  it.each([
    [
      ["nope"],
      'no scenario file "nope" and no shipped scenario of that name (shipped: acknowledgement-preflight, ca-migration, ',
    ],
    [["healthy", "faults"], "one scenario at a time, got 2: healthy faults"],
    [["--origins", "docker"], '--origins must be auto, nginx or node, got "docker"'],
    [["--verbose"], "Unknown option '--verbose'"],
  ])("exits 2 on %j", async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("lists the shipped scenarios and prints its usage", async () => {
    expect((await cli(["--list"])).stdout.split("\n")).toEqual(shippedScenarios());
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: npm run sandbox -- [scenario] [--report <path>] [--quiet]");
  });
});

describe("expectations", () => {
  const base: Observed = {
    timedOut: false,
    faults: [],
    foreignChanges: [],
    actions: [],
    rotations: [],
    rotationCount: 1,
    issuedCertificates: 1,
    edgeRefused: 0,
    refusingOrigins: [],
    presenting: { edge: { finalArns: ["arn:new", "arn:new"], initialArn: "arn:old", newArn: "arn:new" } },
    awsCalls: { "cloudfront:UpdateDistribution": 2 },
    bundles: [
      { where: "published bundle", authorities: ["nextAuthority"] },
      { where: "origin shop/api", authorities: ["authority", "nextAuthority"] },
    ],
    notificationEvents: ["rotation-started"],
    dryRuns: [],
    credentialSecrets: {},
    modelViolations: [],
  };

  it("fail with what was expected and what was found", () => {
    const results = evaluateExpectations(
      {
        rotationCount: 2,
        maxRefusals: 0,
        presenting: { edge: "old" },
        awsCalls: { "cloudfront:UpdateDistribution": 0, "acm:ImportCertificate": 0 },
        trustBundle: { excludes: ["authority"] },
        notifications: ["rotation-completed"],
      },
      { ...base, timedOut: true, faults: [{ fault: "crash after plan", times: 1, delivered: 0 }] },
    );
    expect(results.map((r) => [r.name, r.passed, r.actual])).toEqual([
      ["finished within timeoutSeconds", false, false],
      ["every action completed", true, "all ok"],
      ["every injected fault was delivered", false, ["crash after plan: 0/1 (the run never reached it)"]],
      ["rotationCount", false, 1],
      ["maxRefusals", true, 0],
      ["presenting edge", false, "new"],
      ["awsCalls cloudfront:UpdateDistribution", false, 2],
      ["awsCalls acm:ImportCertificate", true, 0],
      ["trustBundle (published, and every origin following it)", false, ["origin shop/api has authority"]],
      ["notification rotation-completed", false, "not sent"],
      ["no AWS call violated AWS's published models", true, 0],
    ]);
  });

  it("want every count fault delivered, and every rate fault to have met a matching call (what it delivers is its rate's)", () => {
    const faults = [
      { fault: "faults[0] throttle on acm:* x2", times: 2, delivered: 2 },
      { fault: "faults[1] 5xx on sns:* at rate 0.5", rate: 0.5, matched: 3, delivered: 0 },
      { fault: "faults[2] throttle on s3:GetObjekt at rate 0.5", rate: 0.5, matched: 0, delivered: 0 },
      { fault: "faults[3] throttle on acm-pca:* x1", times: 1, delivered: 0 },
    ];
    const [, , delivered] = evaluateExpectations(undefined, { ...base, faults });
    expect(delivered).toEqual({
      name: "every injected fault was delivered",
      passed: false,
      expected: "all delivered",
      actual: [
        "faults[2] throttle on s3:GetObjekt at rate 0.5: no matching call (the run never reached it)",
        "faults[3] throttle on acm-pca:* x1: 0/1 (the run never reached it)",
      ],
    });
    const [, , fine] = evaluateExpectations(undefined, { ...base, faults: faults.slice(0, 2) });
    expect(fine).toMatchObject({ passed: true, actual: "all delivered" });
  });

  it("fail a run in which the service overwrote a foreign writer's change to a distribution", () => {
    const kept = (foreignChanges: Observed["foreignChanges"]) =>
      evaluateExpectations(undefined, { ...base, foreignChanges }).find(
        (r) => r.name === "no foreign change was overwritten",
      );
    expect(kept([])).toBeUndefined();
    expect(kept([{ distribution: "shop", kept: true }])).toMatchObject({ passed: true });
    expect(
      kept([
        { distribution: "shop", kept: true },
        { distribution: "blog", kept: false },
      ]),
    ).toMatchObject({ passed: false, actual: ["blog: its foreign change is gone"] });
  });

  it("fail any run in which an AWS call violated AWS's published models", () => {
    const violation =
      "acm:SearchCertificates request: MaxResults: Member must have value less than or equal to 500";
    const results = evaluateExpectations({}, { ...base, modelViolations: [violation] });
    expect(results.at(-1)).toEqual({
      name: "no AWS call violated AWS's published models",
      passed: false,
      expected: 0,
      actual: [violation],
    });
  });

  it("check a dry run's waves by distribution names, in wave order, in any order within a wave", () => {
    const observed: Observed = {
      ...base,
      dryRuns: [
        { certificate: "edge", waves: [["shop"], ["media", "blog"]], keyType: "EC_prime256v1" },
        { certificate: "other", waves: [], keyType: "RSA_2048" },
      ],
    };
    const results = evaluateExpectations(
      {
        dryRuns: [
          { certificate: "edge", waves: [["shop"], ["blog", "media"]] },
          { certificate: "edge", waves: [["blog"], ["shop", "media"]] },
          { certificate: "other" },
          { certificate: "third" },
        ],
      },
      observed,
    ).slice(2, -1);
    expect(results.map((r) => [r.name, r.passed, r.actual])).toEqual([
      ["dry run of edge", true, { waves: [["shop"], ["media", "blog"]] }],
      ["dry run of edge", false, { waves: [["shop"], ["media", "blog"]] }],
      ["dry run of other", true, "planned"],
      ["dry run of third", false, "no dry run"],
    ]);
  });

  it("check the key type a dry run planned and the one a rotation had issued", () => {
    const rotation = (newKeyType?: string) => ({
      rotationId: "rot-1",
      certificate: "edge",
      certificateArn: "arn:old",
      triggers: [],
      status: "completed",
      ...(newKeyType ? { newKeyType } : {}),
      execution: { status: "SUCCEEDED", invocations: 1 },
      waves: [],
      preflightAttempts: 1,
      phases: [],
    });
    const observed = (newKeyType?: string): Observed => ({
      ...base,
      dryRuns: [{ certificate: "edge", waves: [["shop"]], keyType: "EC_prime256v1" }],
      rotations: [rotation(newKeyType)],
    });
    const wanted = {
      dryRuns: [
        { certificate: "edge", keyType: "EC_prime256v1" as const },
        { certificate: "edge", keyType: "RSA_2048" as const, waves: [["shop"]] },
      ],
      rotations: [{ certificate: "edge", status: "completed" as const, keyType: "EC_prime256v1" as const }],
    };
    expect(
      evaluateExpectations(wanted, observed("EC_prime256v1"))
        .slice(2, -1)
        .map((r) => [r.name, r.passed, r.actual]),
    ).toEqual([
      ["rotation of edge", true, { status: "completed", keyType: "EC_prime256v1" }],
      ["dry run of edge", true, { keyType: "EC_prime256v1" }],
      ["dry run of edge", false, { waves: [["shop"]], keyType: "EC_prime256v1" }],
    ]);
    const [wrongKey] = evaluateExpectations(wanted, observed("RSA_2048")).slice(2);
    expect(wrongKey).toMatchObject({ passed: false, actual: { status: "completed", keyType: "RSA_2048" } });
    const [noneIssued] = evaluateExpectations(wanted, observed(undefined)).slice(2);
    expect(noneIssued).toMatchObject({
      passed: false,
      actual: { status: "completed", keyType: "none issued" },
    });
  });

  it("check whether a rotation waited for another's distributions, and how long its phases took", () => {
    const rotation = (certificate: string, waitedFor?: string[]): RotationReport => ({
      rotationId: `rot-${certificate}`,
      certificate,
      certificateArn: `arn:${certificate}`,
      triggers: [],
      status: "completed",
      execution: { status: "SUCCEEDED", invocations: 1 },
      waves: [],
      preflightAttempts: 1,
      ...(waitedFor ? { waitedFor } : {}),
      phases: [
        { phase: "preflight", startMs: 1000, durationMs: 5275 },
        { phase: "wave 0", startMs: 6275, durationMs: 1091 },
      ],
    });
    const observed: Observed = {
      ...base,
      rotations: [rotation("a"), rotation("b", ["shop (rotation rot-a)"])],
    };
    const results = evaluateExpectations(
      {
        rotations: [
          { certificate: "a", status: "completed", waited: false, maxPhaseSeconds: { preflight: 9 } },
          { certificate: "b", status: "completed", waited: false },
          { certificate: "a", status: "completed", maxPhaseSeconds: { "wave 0": 1, rollback: 5 } },
        ],
      },
      observed,
    ).slice(2, -1);
    expect(results.map((r) => [r.name, r.passed, r.actual])).toEqual([
      ["rotation of a", true, { status: "completed", waited: false, maxPhaseSeconds: { preflight: 5.275 } }],
      ["rotation of b", false, { status: "completed", waited: true }],
      // Over its bound, and a phase the rotation never reached.
      [
        "rotation of a",
        false,
        { status: "completed", maxPhaseSeconds: { "wave 0": 1.091, rollback: "not reached" } },
      ],
    ]);
  });

  it("call a certificate presented partly old and partly new mixed", () => {
    const [, presenting] = evaluateExpectations(
      { presenting: { edge: "new" } },
      {
        ...base,
        presenting: { edge: { finalArns: ["arn:new", "arn:old"], initialArn: "arn:old", newArn: "arn:new" } },
      },
    ).slice(1);
    expect(presenting).toMatchObject({ passed: false, actual: "mixed: arn:new, arn:old" });
  });

  it("check every rotated certificate's credential secret: AWSCURRENT is the latest completed rotation's, nothing incomplete or pending", () => {
    const rotation = (status: string, newCertificateArn?: string) =>
      ({
        certificate: "edge",
        status,
        ...(newCertificateArn ? { newCertificateArn } : {}),
      }) as RotationReport;
    const secret = (current?: string, extra: { incomplete?: number; pending?: string[] } = {}) => ({
      name: "mtls-rotator/sandbox/credentials/x",
      versions: current ? 1 : 0,
      ...(current
        ? { current: { versionId: "v", certificateArn: current, serial: "0a", rotationId: "rot-1" } }
        : {}),
      incomplete: extra.incomplete ?? 0,
      pending: extra.pending ?? [],
    });
    const check = (rotations: RotationReport[], edge: ReturnType<typeof secret>, timedOut = false) =>
      evaluateExpectations(undefined, {
        ...base,
        timedOut,
        rotations,
        credentialSecrets: { edge, other: secret() },
      }).find((r) => r.name === "credential secret of edge");

    expect(check([rotation("completed", "arn:new")], secret("arn:new"))).toMatchObject({ passed: true });
    expect(check([rotation("completed", "arn:new")], secret())).toMatchObject({
      passed: false,
      expected: { current: "arn:new", incomplete: 0, pending: [] },
      actual: { current: "none", incomplete: 0, pending: [] },
    });
    // Rolled back (or aborted) first rotations leave no credential at all.
    expect(check([rotation("rolled-back", "arn:new")], secret())).toMatchObject({ passed: true });
    expect(check([rotation("rolled-back", "arn:new")], secret("arn:new"))).toMatchObject({ passed: false });
    expect(
      check([rotation("completed", "arn:1"), rotation("rolled-back", "arn:2")], secret("arn:1")),
    ).toMatchObject({ passed: true });
    expect(check([rotation("aborted")], secret(undefined, { pending: ["issuance secret"] }))).toMatchObject({
      passed: false,
    });
    // An incomplete rollback keeps the credential the stuck distributions present staged.
    const stuck = { ...rotation("failed", "arn:new"), reason: "RollbackIncomplete" };
    expect(check([stuck], secret(undefined, { pending: ["issuance secret"] }))).toMatchObject({
      passed: true,
    });
    expect(check([stuck], secret())).toMatchObject({ passed: false });
    expect(check([rotation("completed", "arn:new")], secret("arn:new", { incomplete: 1 }))).toMatchObject({
      passed: false,
    });
    // A certificate no rotation touched, and a run that timed out (rotations still running), are not judged.
    expect(check([], secret())).toBeUndefined();
    expect(
      check([rotation("swapping")], secret(undefined, { pending: ["issuance secret"] }), true),
    ).toBeUndefined();
  });
});
