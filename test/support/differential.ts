/**
 * Differential checks: run one scenario — the call sequence an adapter makes — against moto and against our
 * own stand-ins (`startStandins()`, dynalite for DynamoDB), normalise what legitimately differs between two
 * implementations (account ids, ARN suffixes, request ids, timestamps, ids the service generates) and compare
 * everything else. A difference fails the case with the names of the steps that differ and a diff.
 *
 * Usage (one moto per test file; fresh stand-ins and a reset moto per case):
 * ```ts
 * const { differential } = useDifferential();
 * differential("a first put is AWSCURRENT", async (ctx) => {
 *   await ctx.observe("create", ctx.clients.secrets.send(new CreateSecretCommand({ Name: ctx.name("s") })));
 * });
 * differential("...", scenario, { deviation: "sns.subject-not-validated" }); // it.skip, id in its name
 * differential("...", scenario, { standinGap: "secretsmanager.first-version-current" }); // it.fails
 * ```
 * `DIFFERENTIAL_CHECK_DEVIATIONS=1` runs the skipped cases as `it.fails` instead: an audit that each listed
 * moto deviation still shows (print the diffs with `DIFFERENTIAL_VERBOSE=1`).
 *
 * moto is not faithful for CloudFront, ACM or Private CA (KNOWN_MOTO_DEVIATIONS): on the moto side those
 * clients throw, so no scenario can compare them by accident.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AwsClients } from "../../functions/wiring/aws-clients.ts";
import { type DynamoDbStandin, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { ACCOUNT_ID as STANDIN_ACCOUNT_ID } from "../../standins/protocol.ts";
import { MOTO_ACCOUNT_ID, type Moto, startMoto } from "./moto.ts";
import {
  KNOWN_MOTO_DEVIATIONS,
  KNOWN_STANDIN_GAPS,
  type MotoDeviationId,
  type StandinGapId,
  UNSETTLED_DIFFERENCES,
  type UnsettledId,
} from "./moto-deviations.ts";

export type Backend = "moto" | "stand-in";

/** An SNS message as the backend stored it (moto: /moto-api/data.json; stand-in: its record). */
export interface StoredMessage {
  subject: string | undefined;
  message: string;
  /** name -> { type: DataType, value: StringValue or base64 BinaryValue } */
  attributes: Record<string, { type: string; value: string }>;
}

export interface Observation {
  step: string;
  value: unknown;
}

export interface ScenarioContext {
  backend: Backend;
  /** Real SDK clients for the backend (maxAttempts 1: a refusal is observed, not retried). */
  clients: AwsClients;
  /** A DynamoDB client for the backend (moto itself, or a fresh dynalite). */
  dynamodb: DynamoDBClient;
  /** A resource name unique to this case, the same on both backends. */
  name(base: string): string;
  /**
   * Record what a call answered: its output (without `$metadata`, plus `status`), or `{ error, status }`.
   * Returns the output, or undefined when the call failed. `pick` chooses what of a successful output counts.
   */
  observe<T>(
    step: string,
    call: Promise<T> | (() => Promise<T>),
    pick?: (output: T) => unknown,
  ): Promise<T | undefined>;
  /** Record a value the scenario derived itself (e.g. what an adapter method returned). */
  record(step: string, value: unknown): void;
  /** Have every occurrence of a service-generated `id` compare as `<alias>` (e.g. S3 version ids). */
  alias(id: string | undefined, alias: string): void;
  /** SNS messages published to `topicArn`, oldest first, as the backend stored them. */
  publishedMessages(topicArn: string): Promise<StoredMessage[]>;
}

export type Scenario = (ctx: ScenarioContext) => Promise<void>;

export interface DifferentialOptions {
  /** moto deviates from AWS here: the case is skipped, by name, citing the table id. */
  deviation?: MotoDeviationId;
  /** Our stand-in deviates from AWS here and is not fixed yet: the case is expected to fail (`it.fails`). */
  standinGap?: StandinGapId;
  /** moto and the stand-in differ and AWS's documentation does not settle it: skipped, by name. */
  unsettled?: UnsettledId;
  /** Per-case timeout. */
  timeout?: number;
}

/**
 * A moto deviation that would show in every case that passes through it (e.g. an HTTP status on a common
 * error): moto's answer is mapped to what AWS documents, and the mapping names the table id. The deviation
 * itself is still compared on its own, in a case skipped by name.
 */
export interface MotoErrorStatusNormalisation {
  deviation: MotoDeviationId;
  error: string;
  motoStatus: number;
  awsStatus: number;
}

export interface DifferentialSettings {
  motoErrorStatus?: MotoErrorStatusNormalisation[];
}

export interface DifferentialRun {
  moto: Observation[];
  standin: Observation[];
}

/**
 * Hooks for one test file: starts moto before the first case and stops it after the last. Returns the
 * `differential` case registrar and `runBoth` (for cases that want to assert on the two runs themselves).
 */
export function useDifferential(settings: DifferentialSettings = {}): {
  differential(name: string, scenario: Scenario, options?: DifferentialOptions): void;
  runBoth(scenario: Scenario): Promise<DifferentialRun>;
  moto(): Moto;
} {
  let moto: Moto | undefined;
  let cases = 0;
  /** Cases skipped by name, for one summary line per file (so default reporters show them too). */
  const skipped: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);

  afterAll(async () => {
    await moto?.close();
    if (skipped.length > 0) {
      console.info(`[differential] ${skipped.length} case(s) skipped by name:\n  ${skipped.join("\n  ")}`);
    }
  });

  const motoOrThrow = (): Moto => {
    if (!moto) throw new Error("moto did not start (see the beforeAll error)");
    return moto;
  };

  async function runBoth(scenario: Scenario): Promise<DifferentialRun> {
    cases += 1;
    const prefix = `diff${cases}`;
    const server = motoOrThrow();
    await server.reset();
    const motoDynamo = server.dynamodb({ maxAttempts: 1 });
    const motoSide = await runOn(
      "moto",
      scenario,
      prefix,
      guardUnfaithful(server.clients({ maxAttempts: 1 })),
      motoDynamo,
      async (topicArn) => motoMessages(server, topicArn),
      (error) => {
        for (const n of settings.motoErrorStatus ?? []) {
          if (!(n.deviation in KNOWN_MOTO_DEVIATIONS))
            throw new Error(`unknown moto deviation ${n.deviation}`);
          if (error.error === n.error && error.status === n.motoStatus)
            return { ...error, status: n.awsStatus };
        }
        return error;
      },
    ).finally(() => motoDynamo.destroy());

    let standins: Standins | undefined;
    let dynalite: DynamoDbStandin | undefined;
    let standinDynamo: DynamoDBClient | undefined;
    try {
      standins = await startStandins();
      dynalite = await startDynamoDb();
      standinDynamo = dynamoDbClient(dynalite.endpoint, { maxAttempts: 1 });
      const sns = standins.sns;
      const standinSide = await runOn(
        "stand-in",
        scenario,
        prefix,
        standins.clients({ maxAttempts: 1 }),
        standinDynamo,
        async (topicArn) =>
          sns.messages(topicArn).map((m) => ({
            subject: m.subject,
            message: m.message,
            attributes: Object.fromEntries(
              Object.entries(m.attributes).map(([name, value]) => [
                name,
                { type: m.attributeTypes[name] ?? "", value },
              ]),
            ),
          })),
      );
      return { moto: motoSide, standin: standinSide };
    } finally {
      standinDynamo?.destroy();
      await dynalite?.close();
      await standins?.close();
    }
  }

  function differential(name: string, scenario: Scenario, options: DifferentialOptions = {}): void {
    if (options.deviation) {
      const id = options.deviation;
      if (!(id in KNOWN_MOTO_DEVIATIONS)) throw new Error(`unknown moto deviation ${id}`);
      if (process.env.DIFFERENTIAL_CHECK_DEVIATIONS === "1") {
        // Audit mode: prove moto still deviates (the case must differ). A pass here means moto was fixed:
        // delete the table entry and un-skip the case.
        it.fails(`${name} [moto deviation ${id} must still show]`, async () =>
          expectSameObservations(await runBoth(scenario)));
        return;
      }
      it.skip(`${name} [skipped: moto deviation ${id}, see KNOWN_MOTO_DEVIATIONS]`, () => {});
      skipped.push(`${name} (moto deviation ${id})`);
      return;
    }
    if (options.unsettled) {
      const id = options.unsettled;
      if (!(id in UNSETTLED_DIFFERENCES)) throw new Error(`unknown unsettled difference ${id}`);
      if (process.env.DIFFERENTIAL_CHECK_DEVIATIONS === "1") {
        it.fails(`${name} [unsettled difference ${id} must still show]`, async () =>
          expectSameObservations(await runBoth(scenario)));
        return;
      }
      it.skip(`${name} [skipped: unsettled difference ${id}, see UNSETTLED_DIFFERENCES]`, () => {});
      skipped.push(`${name} (unsettled difference ${id})`);
      return;
    }
    if (options.standinGap) {
      const id = options.standinGap;
      if (!(id in KNOWN_STANDIN_GAPS)) throw new Error(`unknown stand-in gap ${id}`);
      // it.fails passes when the body throws: only the comparison may throw here. A scenario that cannot run
      // at all returns normally, so the case FAILS ("expected to fail") and the error is printed.
      it.fails(
        `${name} [expected to differ until the stand-in fixes ${id}, see KNOWN_STANDIN_GAPS]`,
        async () => {
          let run: DifferentialRun;
          try {
            run = await runBoth(scenario);
          } catch (error) {
            console.error(
              `[differential] ${name}: the scenario did not run, so it proves no difference:`,
              error,
            );
            return;
          }
          expectSameObservations(run);
        },
        options.timeout,
      );
      return;
    }
    it(name, async () => expectSameObservations(await runBoth(scenario)), options.timeout);
  }

  return { differential, runBoth, moto: motoOrThrow };
}

/** Compare the normalised runs; on a difference, say which steps differ, then show the diff. */
export function expectSameObservations(run: DifferentialRun): void {
  if (process.env.DIFFERENTIAL_VERBOSE === "1") {
    console.log(JSON.stringify({ moto: run.moto, standin: run.standin }, null, 1));
  }
  const moto = run.moto;
  const standin = run.standin;
  const steps = Math.max(moto.length, standin.length);
  const differing: string[] = [];
  for (let i = 0; i < steps; i += 1) {
    const a = moto[i];
    const b = standin[i];
    if (a?.step !== b?.step) {
      differing.push(
        `#${i + 1}: moto ran "${a?.step ?? "(nothing)"}", the stand-in "${b?.step ?? "(nothing)"}"`,
      );
    } else if (stableJson(a?.value) !== stableJson(b?.value)) {
      differing.push(`#${i + 1} "${a?.step}"`);
    }
  }
  expect(
    standin,
    differing.length === 0
      ? "moto and the stand-in agree"
      : `moto (expected) and the stand-in (received) differ at ${differing.join("; ")}`,
  ).toEqual(moto);
}

// ---- one run ------------------------------------------------------------------------------------------------

async function runOn(
  backend: Backend,
  scenario: Scenario,
  prefix: string,
  clients: AwsClients,
  dynamodb: DynamoDBClient,
  publishedMessages: (topicArn: string) => Promise<StoredMessage[]>,
  mapError: (error: ObservedError) => ObservedError = (error) => error,
): Promise<Observation[]> {
  const observations: Observation[] = [];
  const aliases = new Map<string, string>();
  const ctx: ScenarioContext = {
    backend,
    clients,
    dynamodb,
    name: (base) => `${prefix}-${base}`,
    async observe(step, call, pick) {
      try {
        const output = await (typeof call === "function" ? call() : call);
        observations.push({
          step,
          value: { ...describeOutput(pick ? await pick(output) : output), ...statusOf(output) },
        });
        return output;
      } catch (error) {
        if (error instanceof UnfaithfulServiceError) throw error;
        observations.push({ step, value: mapError(describeError(error)) });
        return undefined;
      }
    },
    record(step, value) {
      observations.push({ step, value });
    },
    alias(id, alias) {
      if (id === undefined) return;
      const existing = aliases.get(id);
      if (existing !== undefined && existing !== alias)
        throw new Error(`${backend}: id ${id} is already aliased as ${existing}`);
      aliases.set(id, `<${alias}>`);
    },
    publishedMessages,
  };
  try {
    await scenario(ctx);
  } catch (error) {
    throw new Error(`the scenario failed on ${backend}: ${(error as Error).message}`, { cause: error });
  }
  const normalise = normaliser(aliases);
  return observations.map((o) => ({ step: o.step, value: normalise(o.value) }));
}

export interface ObservedError {
  error: string;
  status: number | undefined;
}

/** What an SDK error says that two implementations must agree on: its code and its HTTP status. */
export function describeError(error: unknown): ObservedError {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return { error: String(e?.name ?? "Error"), status: e?.$metadata?.httpStatusCode };
}

function statusOf(output: unknown): { status?: number } {
  const status = (output as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return status === undefined ? {} : { status };
}

/** An SDK output as data: `$metadata` dropped (its status is kept separately), streams left out. */
function describeOutput(output: unknown): Record<string, unknown> {
  if (output === undefined || output === null) return {};
  if (typeof output !== "object" || Array.isArray(output)) return { value: output };
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(output as Record<string, unknown>)) {
    if (key === "$metadata" || value === undefined) continue;
    if (typeof value === "object" && value !== null && "transformToString" in value) continue; // a body stream
    result[key] = value;
  }
  return result;
}

// ---- normalisation ------------------------------------------------------------------------------------------

/** Member names whose values are per-request noise. */
const DROPPED_MEMBERS = new Set(["RequestId", "requestId", "RequestCharged"]);

/**
 * What legitimately differs between two implementations, replaced by placeholders:
 * - account ids (the stand-ins' and moto's) -> `<account>`;
 * - the random six-character suffix of Secrets Manager ARNs -> `-<suffix>`;
 * - timestamps (Date values) -> `<date>`;
 * - ids the service generated, as the scenario aliased them -> `<alias>` (values and object keys).
 */
function normaliser(aliases: Map<string, string>): (value: unknown) => unknown {
  const text = (s: string): string => {
    const aliased = aliases.get(s);
    if (aliased !== undefined) return aliased;
    let out = s.replaceAll(STANDIN_ACCOUNT_ID, "<account>").replaceAll(MOTO_ACCOUNT_ID, "<account>");
    out = out.replace(
      /(arn:aws:secretsmanager:[a-z0-9-]+:<account>:secret:[^"\s]+)-[A-Za-z0-9]{6}\b/g,
      "$1-<suffix>",
    );
    for (const [id, alias] of aliases)
      if (id.length >= 8 && out.includes(id)) out = out.replaceAll(id, alias);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (value instanceof Date) return "<date>";
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString("base64") };
    if (typeof value === "object" && value !== null) {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([key, v]) => v !== undefined && !DROPPED_MEMBERS.has(key))
        .map(([key, v]) => [text(key), walk(v)] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return Object.fromEntries(entries);
    }
    return value;
  };
  return walk;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value) ?? "undefined";
}

// ---- moto specifics -----------------------------------------------------------------------------------------

class UnfaithfulServiceError extends Error {
  override name = "UnfaithfulServiceError";
}

/** On the moto side, CloudFront, ACM and Private CA clients refuse to be used (KNOWN_MOTO_DEVIATIONS). */
function guardUnfaithful(clients: AwsClients): AwsClients {
  const refuse = (service: string, ids: string[]) =>
    new Proxy(
      {},
      {
        get() {
          throw new UnfaithfulServiceError(
            `moto is not faithful for ${service} (KNOWN_MOTO_DEVIATIONS ${ids.join(", ")}): do not compare it`,
          );
        },
      },
    );
  return {
    ...clients,
    cloudfront: refuse("CloudFront", ["cloudfront.origin-mtls-dropped", "cloudfront.if-match-ignored"]),
    acm: refuse("ACM", ["acm.imported-certificate-details"]),
    acmImport: refuse("ACM", ["acm.imported-certificate-details"]),
    privateCa: refuse("Private CA", ["acm-pca.client-auth-template"]),
  } as AwsClients;
}

/** moto keeps what a topic delivered as `sent_notifications`: (id, message, subject, attributes, group). */
async function motoMessages(moto: Moto, topicArn: string): Promise<StoredMessage[]> {
  const data = await moto.modelData();
  const topic = data.sns?.Topic?.find((t) => t.arn === topicArn);
  const sent = (topic?.sent_notifications ?? []) as Array<
    [string, string, string | null, Record<string, { Type: string; Value: string }> | null, string | null]
  >;
  return sent.map(([, message, subject, attributes]) => ({
    subject: subject ?? undefined,
    message,
    attributes: Object.fromEntries(
      Object.entries(attributes ?? {}).map(([name, a]) => [name, { type: a.Type, value: a.Value }]),
    ),
  }));
}
