/**
 * End-to-end check after a reload: an HTTPS request (with a client certificate, for mTLS) to the origin,
 * repeated on fresh connections until it is answered 2xx/3xx or the deadline passes. A reload is
 * asynchronous (nginx's old workers keep the old bundle until they exit), so one request is not enough.
 */
import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";

export interface VerifySettings {
  url: URL;
  certificatePem?: string;
  privateKeyPem?: string;
  /** Trust for the origin's server certificate (PEM); system roots when absent. */
  caPem?: string;
  timeoutMs: number;
  /** Pause between attempts (default 200 ms). */
  intervalMs?: number;
}

export interface VerifyOutcome {
  ok: boolean;
  attempts: number;
  /** The last status seen, or the last transport error. */
  last: string;
}

export async function verifyUrl(settings: VerifySettings): Promise<VerifyOutcome> {
  const deadline = Date.now() + settings.timeoutMs;
  let attempts = 0;
  let last = "no attempt";
  for (;;) {
    attempts += 1;
    const remaining = Math.max(1, deadline - Date.now());
    try {
      const status = await requestOnce(settings, Math.min(5_000, remaining));
      last = `HTTP ${status}`;
      if (status >= 200 && status < 400) return { ok: true, attempts, last };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      last = `${code ? `${code}: ` : ""}${(error as Error).message}`;
    }
    if (Date.now() + (settings.intervalMs ?? 200) >= deadline) return { ok: false, attempts, last };
    await sleep(settings.intervalMs ?? 200);
  }
}

function requestOnce(settings: VerifySettings, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      settings.url,
      {
        method: "GET",
        agent: false, // a fresh connection (and handshake) every time: judged by the current configuration
        headers: { connection: "close", "user-agent": "mtls-rotator origin-sync" },
        timeout: timeoutMs,
        ...(settings.certificatePem ? { cert: settings.certificatePem } : {}),
        ...(settings.privateKeyPem ? { key: settings.privateKeyPem } : {}),
        ...(settings.caPem ? { ca: settings.caPem } : {}),
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
