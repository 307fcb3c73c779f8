/**
 * Origins reachable only through acknowledgements, as many real origins are: they accept connections from
 * CloudFront's address ranges only, so the workflow Lambda's direct probes never get an answer, and
 * `origin-sync --ack-id` on the host proves instead that it installed and reloaded the rotation's bundle.
 *
 * - `reachable: "edge-only"`: the address in the origin's distribution configuration (what the workflow
 *   probes) is a {@link DroppingAddress}: connections are accepted and never answered, as a firewall that
 *   drops packets from outside CloudFront's ranges leaves them (the probe times out); the edge reaches the
 *   real origin through {@link edgeView} (CloudFront's own path, which the firewall admits).
 * - `proof: "acknowledgement" | "both"`: the stage settings get `preflight.proofs` for the origin, and its
 *   origin-sync runs with `--ack-id` and the host's own S3 client, whose role ({@link hostRoleClient}) may
 *   read the bundle and the probe certificates and write `acks/<ackId>.json` only; the service's S3 client
 *   may write no acknowledgement ({@link guardServiceAcknowledgements}), as README's roles say. The stand-in
 *   has no IAM: these are client-side policies with S3's AccessDenied.
 *
 * What the report shows: each such origin's acknowledgement (as written to the S3 stand-in: public facts,
 * no key material), the connections its address dropped, and each rotation's last preflight verdicts.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { S3Client } from "@aws-sdk/client-s3";
import { ackKey, PROBE_CERTIFICATES_KEY } from "../functions/core/acknowledgement.ts";
import type { RotationEvent } from "../functions/core/rotation.ts";
import type { EdgeWorld } from "../standins/edge.ts";
import type { Standins } from "../standins/index.ts";
import { CALLER_HEADER } from "../standins/server.ts";
import type { SandboxFleet, SandboxOrigin } from "./fleet.ts";
import type { BundleFollowerOptions } from "./origins.ts";
import { closable, listen } from "./origins.ts";
import type { Printer } from "./printer.ts";
import type { OriginReport, RotationReport } from "./report.ts";
import { ackIdOf, acknowledges } from "./scenario-origins.ts";

// Real time even if something fakes Date in this process (as the runner's times are).
const RealDate = globalThis.Date;

/** An address that accepts connections and never answers them (packets dropped): counted, held until closed. */
export class DroppingAddress {
  readonly #server: Server;
  readonly #closer: ReturnType<typeof closable>;
  /** ms epoch of each connection. */
  readonly connections: number[] = [];

  constructor(onConnection?: () => void) {
    this.#server = createServer((socket: Socket) => {
      this.connections.push(RealDate.now());
      socket.on("error", () => undefined);
      // Nothing is read or written: the client's handshake waits until its own timeout ends it.
      onConnection?.();
    });
    this.#closer = closable(this.#server);
  }

  listen(): Promise<number> {
    return listen(this.#server);
  }

  close(): Promise<void> {
    return this.#closer.close();
  }
}

/**
 * Puts a dropping address in front of an edge-only origin: its distribution will name that port (the
 * workflow's probes go there), the edge keeps the origin's real port (`edgePort`).
 */
export async function reachableFromTheEdgeOnly(
  origin: SandboxOrigin,
  printer: Printer,
  cleanups: Array<() => Promise<unknown>>,
): Promise<void> {
  origin.edgePort = origin.port;
  const address = new DroppingAddress(() =>
    printer.line(
      `origin ${origin.path}: a connection to its address from outside CloudFront's ranges (not the edge): dropped, never answered`,
    ),
  );
  origin.direct = address;
  cleanups.push(() => address.close());
  origin.port = await address.listen();
}

/**
 * What the edge reads of the world: the live configurations, with each edge-only origin at the port
 * CloudFront's own path reaches (the configured address drops everyone else).
 */
export function edgeView(world: SandboxFleet): EdgeWorld {
  const routes = new Map(
    world.origins.flatMap((o) =>
      o.edgePort === undefined ? [] : [[`${o.distributionId}/${o.originId}`, o.edgePort] as const],
    ),
  );
  const { cloudfront, acm, cloudwatch } = world.standins;
  return {
    acm,
    cloudwatch,
    cloudfront: {
      originsOf: (distributionId) =>
        cloudfront.originsOf(distributionId).map((o) => {
          const port = routes.get(`${distributionId}/${o.originId}`);
          return port === undefined ? o : { ...o, httpsPort: port };
        }),
    },
  };
}

/** The stage settings' `preflight.proofs` for the origins that name a proof (none: the settings as before). */
export function proofsSetting(
  origins: readonly SandboxOrigin[],
): { proofs: Record<string, { proof: "probe" | "acknowledgement" | "both"; ackId?: string }> } | undefined {
  const entries = origins.flatMap((o) =>
    o.spec.proof === undefined
      ? []
      : [
          [
            `${o.distributionId}/${o.originId}`,
            { proof: o.spec.proof, ...(o.ackId !== undefined ? { ackId: o.ackId } : {}) },
          ] as const,
        ],
  );
  return entries.length > 0 ? { proofs: Object.fromEntries(entries) } : undefined;
}

class AccessDenied extends Error {
  override name = "AccessDenied";
  readonly $fault = "client";
  readonly $metadata = { httpStatusCode: 403 };
}

/** Refuses, as S3 would with AccessDenied, every call `allowed` does not allow (operation, object key). */
function withPolicy(
  client: S3Client,
  who: string,
  allowed: (operation: string, key: string | undefined) => boolean,
): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "").replace(/Command$/, "");
      const key = (args.input as { Key?: unknown }).Key;
      const object = typeof key === "string" ? key : undefined;
      if (!allowed(operation, object))
        throw new AccessDenied(
          `Access Denied: ${who} is not allowed s3:${operation} on ${object ?? "(bucket)"}`,
        );
      return next(args);
    },
    { step: "initialize", name: "sandboxRolePolicy" },
  );
  return client;
}

/** The service's S3 client may read acknowledgements, never write one (its role in infra/rotation.ts). */
export function guardServiceAcknowledgements(client: S3Client): S3Client {
  return withPolicy(
    client,
    "the service's role",
    (operation, key) => !(operation === "PutObject" && key?.startsWith("acks/")),
  );
}

/**
 * An origin host's own S3 client (its calls counted as origin-sync's): its role may read the bundle and the
 * probe certificates, and write its own acknowledgement, nothing else (README, "Acknowledgements").
 */
export function hostRoleClient(standins: Standins, input: { bundleKey: string; ackId: string }): S3Client {
  const client = standins.clients().s3;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[CALLER_HEADER] = "origin-sync";
      return next(args);
    },
    { step: "build", name: "sandboxOriginSyncCaller" },
  );
  const readable = new Set([input.bundleKey, PROBE_CERTIFICATES_KEY]);
  return withPolicy(
    client,
    `origin host ${input.ackId}'s role`,
    (operation, key) =>
      (operation === "GetObject" && key !== undefined && readable.has(key)) ||
      (operation === "PutObject" && key === ackKey(input.ackId)),
  );
}

/**
 * The follower options of an origin whose proof includes an acknowledgement: `--ack-id`, the host's own
 * client and name, and lines for acknowledgements written and (when the reason changes) not written.
 */
export function acknowledgingFollower(
  origin: SandboxOrigin,
  standins: Standins,
  input: { bundleKey: string; printer: Printer },
): Partial<BundleFollowerOptions> {
  if (!acknowledges(origin.spec)) return {};
  const ackId = ackIdOf(origin.distribution, origin.spec, origin.name);
  origin.ackId = ackId;
  let lastFailure: string | undefined;
  return {
    s3: hostRoleClient(standins, { bundleKey: input.bundleKey, ackId }),
    ackId,
    host: `sandbox-${origin.distribution}-${origin.name}`,
    onAcknowledged: (result) => {
      lastFailure = undefined;
      input.printer.line(
        `origin ${origin.path}: origin-sync acknowledged bundle ${result.sha256?.slice(0, 12)} as ${ackId} ` +
          `(probe certificates verified against the installed file) -> ${result.acknowledgement?.key}`,
      );
    },
    onAckFailure: (message) => {
      const why = message.replace(/^[\s\S]*?NOT acknowledged as [^:]+: /, "").split("\n")[0]!;
      if (why === lastFailure) return;
      lastFailure = why;
      input.printer.line(`origin ${origin.path}: origin-sync did not acknowledge (exit 7): ${why}`);
    },
  };
}

/** The report's fields of an edge-only or acknowledging origin (nothing for the others). */
export function reachabilityReport(
  world: SandboxFleet,
  origin: SandboxOrigin,
  bucket: string,
  startedAt: number,
): Pick<OriginReport, "edgePort" | "directConnections" | "acknowledgement"> {
  const out: Pick<OriginReport, "edgePort" | "directConnections" | "acknowledgement"> = {};
  if (origin.edgePort !== undefined) out.edgePort = origin.edgePort;
  if (origin.direct) out.directConnections = origin.direct.connections.map((at) => at - startedAt);
  if (origin.ackId !== undefined) {
    const key = ackKey(origin.ackId);
    const stored = world.standins.s3.object(bucket, key);
    let written: Record<string, unknown> | undefined;
    try {
      written = stored ? (JSON.parse(stored.body.toString("utf8")) as Record<string, unknown>) : undefined;
    } catch {
      written = undefined;
    }
    out.acknowledgement = {
      ackId: origin.ackId,
      key,
      written: origin.follower?.acknowledgements ?? 0,
      notWritten: origin.follower?.ackFailures ?? 0,
      ...(written
        ? {
            last: {
              host: String(written.host),
              bundleSha256: String(written.bundleSha256),
              acknowledgedAt: String(written.acknowledgedAt),
              probes: Array.isArray(written.probes) ? written.probes.length : 0,
            },
          }
        : {}),
    };
  }
  return out;
}

/**
 * The verdicts of a rotation's last preflight attempt, one per origin ("<distribution>/<origin>"): what the
 * probe got (status, transport error), the proof that counted and the acknowledgement's facts.
 */
export function lastPreflight(
  history: RotationEvent[],
  names: Map<string, string>,
): Pick<RotationReport, "preflight"> {
  const last = history.filter((e) => e.type === "preflight").at(-1);
  if (last?.type !== "preflight") return {};
  return {
    preflight: last.probes.map((p) => {
      const [distributionId = "", originId = ""] = p.target.split("/");
      return {
        origin: `${names.get(distributionId) ?? distributionId}/${originId}`,
        accepted: p.accepted,
        ...(p.reason ? { reason: p.reason } : {}),
        ...(p.proof ? { proof: p.proof } : {}),
        status: p.status,
        ...(p.error ? { error: p.error } : {}),
        ...(p.acknowledgement
          ? {
              acknowledgement: {
                ackId: p.acknowledgement.ackId,
                accepted: p.acknowledgement.accepted,
                reason: p.acknowledgement.reason,
                ...(p.acknowledgement.host ? { host: p.acknowledgement.host } : {}),
                ...(p.acknowledgement.bundleSha256 ? { bundleSha256: p.acknowledgement.bundleSha256 } : {}),
              },
            }
          : {}),
      };
    }),
  };
}

/** Behaviour words for the setup line and the report. */
export function describeReachability(origin: SandboxOrigin): string[] {
  const parts: string[] = [];
  if (origin.spec.reachable === "edge-only")
    parts.push(
      `reachable from the edge only (on :${origin.edgePort}); connections to its address from elsewhere are dropped`,
    );
  if (origin.spec.proof !== undefined)
    parts.push(
      `preflight proof ${origin.spec.proof}${origin.ackId ? ` (origin-sync --ack-id ${origin.ackId})` : ""}`,
    );
  return parts;
}

/**
 * For the `acknowledged` expectation, per acknowledging origin ("<distribution>/<origin>"): how many
 * acknowledgements its origin-sync wrote, and the last preflight verdict on it of the latest rotation of
 * the certificate it presents (accepted or not, and the acknowledgement's reason; "not read" when none).
 */
export function acknowledgementsObserved(
  report: Pick<SandboxReportLike, "distributions" | "rotations">,
): Record<string, { written: number; accepted: boolean; acknowledgement: string }> {
  const out: Record<string, { written: number; accepted: boolean; acknowledgement: string }> = {};
  for (const d of report.distributions)
    for (const o of d.origins) {
      if (!o.acknowledgement) continue;
      const path = `${d.name}/${o.name}`;
      const latest = report.rotations.filter((r) => r.certificate === o.certificate).at(-1);
      const verdict = latest?.preflight?.find((v) => v.origin === path);
      out[path] = {
        written: o.acknowledgement.written,
        accepted: verdict?.accepted ?? false,
        acknowledgement: verdict?.acknowledgement?.reason ?? "not read",
      };
    }
  return out;
}

interface SandboxReportLike {
  distributions: Array<{ name: string; origins: OriginReport[] }>;
  rotations: RotationReport[];
}

/** One summary line per edge-only or acknowledging origin: dropped connections, acknowledgements. */
export function reachabilitySummary(report: Pick<SandboxReportLike, "distributions">): string[] {
  const lines: string[] = [];
  for (const d of report.distributions)
    for (const o of d.origins) {
      const parts: string[] = [];
      if (o.directConnections)
        parts.push(
          `${o.directConnections.length} connection(s) to its address from outside the edge (all dropped)`,
        );
      const ack = o.acknowledgement;
      if (ack)
        parts.push(
          `${ack.written} acknowledgement(s) written to ${ack.key}` +
            (ack.last ? ` (last for bundle ${ack.last.bundleSha256.slice(0, 12)} by ${ack.last.host})` : "") +
            `, ${ack.notWritten} origin-sync run(s) without one (exit 7)`,
        );
      if (parts.length) lines.push(`origin ${d.name}/${o.name}: ${parts.join("; ")}`);
    }
  return lines;
}
