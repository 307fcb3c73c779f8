/**
 * Origins that change during a run: `{ "action": "origin", "origin": "shop/api", "down": true }` makes the
 * origin go down (or come back with `"down": false`, or get slow with `"slowMs"`) when the action is reached,
 * or, with `when` (and `afterWave`), at that moment of the certificate's latest rotation (./moments.ts: the
 * same moments a rollback action can be timed by).
 *
 * An origin an action changes has an {@link OriginFront} on the port its distribution connects to: a TCP
 * front that passes each connection to the origin's TLS server, holds it `slowMs` first, or resets it while
 * the origin is down. Its server and origin-sync keep running behind it (the host is up, the service on it
 * is not), so it can come back. Origins no action changes are built as before (./fleet.ts).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import type { SandboxFleet, SandboxOrigin } from "./fleet.ts";
import { describeMoment, type MomentContext, waitForMoment } from "./moments.ts";
import { closable, listen } from "./origins.ts";
import type { Printer } from "./printer.ts";
import type { ScenarioAction } from "./scenario.ts";

export type OriginChangeAction = Extract<ScenarioAction, { action: "origin" }>;

/** What an origin does with a connection now. */
export interface OriginCondition {
  /** Connections are accepted and reset (a dead origin). */
  down: boolean;
  /** Each new connection is held this long before it reaches the server. */
  slowMs: number;
}

/** A change as the report lists it: when, the condition after it, and the rotation moment it waited for. */
export interface OriginChangeReport {
  atMs: number;
  down: boolean;
  slowMs: number;
  at?: string;
}

/** A TCP front on 127.0.0.1 whose condition (down, slow) can change while it runs. */
export class OriginFront {
  readonly #server: Server;
  readonly #closer: ReturnType<typeof closable>;
  /** Viewer-side sockets that reached (or wait to reach) the origin: reset when it goes down. */
  readonly #clients = new Set<Socket>();
  #condition: OriginCondition;

  constructor(upstreamPort: number, initial: OriginCondition) {
    this.#condition = { ...initial };
    this.#server = createServer((client) => {
      client.on("error", () => undefined);
      if (this.#condition.down) {
        client.resetAndDestroy();
        return;
      }
      client.pause();
      this.#clients.add(client);
      const connect = () => {
        if (client.destroyed) return;
        const upstream = tcpConnect(upstreamPort, "127.0.0.1");
        this.#closer.sockets.add(upstream);
        upstream.on("close", () => this.#closer.sockets.delete(upstream));
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      };
      const timer = this.#condition.slowMs > 0 ? setTimeout(connect, this.#condition.slowMs) : undefined;
      client.on("close", () => {
        clearTimeout(timer);
        this.#clients.delete(client);
      });
      if (!timer) connect();
    });
    this.#closer = closable(this.#server);
  }

  get condition(): OriginCondition {
    return { ...this.#condition };
  }

  /** Changes the condition for new connections; going down resets the open ones too (the server died). */
  change(next: Partial<OriginCondition>): OriginCondition {
    this.#condition = { ...this.#condition, ...next };
    if (this.#condition.down) for (const client of [...this.#clients]) client.resetAndDestroy();
    return this.condition;
  }

  listen(): Promise<number> {
    return listen(this.#server);
  }

  close(): Promise<void> {
    return this.#closer.close();
  }
}

export function describeCondition(condition: OriginCondition): string {
  if (condition.down) return "down (connections reset)";
  if (condition.slowMs > 0) return `slow (+${condition.slowMs} ms per connection)`;
  return "serving";
}

/** "shop/api: down", "shop/api: up, slow 4000 ms, at wave 1 baking" (the action as listed). */
export function describeOriginChange(action: OriginChangeAction): string {
  const parts = [
    ...(action.down === undefined ? [] : [action.down ? "goes down" : "comes back up"]),
    ...(action.slowMs === undefined ? [] : [`slowMs ${action.slowMs}`]),
  ];
  return (
    `origin ${action.origin}: ${parts.join(", ")}` +
    (action.when ? ` at ${describeMoment(action.when, action.afterWave)}` : "")
  );
}

export interface OriginChangeContext extends MomentContext {
  world: MomentContext["world"] & Pick<SandboxFleet, "origins" | "certificates">;
  printer: Printer;
}

/**
 * Applies an origin action: at once, or once the certificate's latest rotation is at the action's moment
 * (failing, as a rollback does, when the rotation ends or moves past it first).
 */
export async function changeOrigin(ctx: OriginChangeContext, action: OriginChangeAction): Promise<string> {
  const origin = ctx.world.origins.find((o) => o.path === action.origin)!;
  const front = origin.front;
  if (!front) throw new Error(`origin ${action.origin} has no front to change (the fleet built none)`);
  let at: string | undefined;
  if (action.when) {
    const certificate = action.certificate ?? [...ctx.world.certificates.keys()][0]!;
    const { rotationId, wave } = await waitForMoment(ctx, certificate, action.when, action.afterWave);
    at = `${describeMoment(action.when, wave)} of ${ctx.printer.who(rotationId)}`;
  }
  const before = front.condition;
  const after = front.change({
    ...(action.down !== undefined ? { down: action.down } : {}),
    ...(action.slowMs !== undefined ? { slowMs: action.slowMs } : {}),
  });
  recordChange(origin, { atMs: ctx.printer.elapsedMs(), ...after, ...(at ? { at } : {}) });
  const text = `origin ${origin.path}: ${describeCondition(before)} -> ${describeCondition(after)}${at ? ` at ${at}` : ""}`;
  ctx.printer.line(text);
  return text;
}

function recordChange(origin: SandboxOrigin, change: OriginChangeReport): void {
  origin.changes ??= [];
  origin.changes.push(change);
}
