/**
 * The moto harness itself: a missing moto fails with the way to install it; a started moto answers real SDK
 * calls, forgets everything on reset, and is gone after close() — and also when the process that started it
 * dies without closing it.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateTopicCommand, ListTopicsCommand } from "@aws-sdk/client-sns";
import { describe, expect, it } from "vitest";
import { MOTO_ACCOUNT_ID, requireMoto, startMoto } from "./moto.ts";
import { KNOWN_MOTO_DEVIATIONS, KNOWN_STANDIN_GAPS, UNSETTLED_DIFFERENCES } from "./moto-deviations.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

describe("the moto harness", () => {
  it("fails, saying how to install moto, when the Python it needs is missing", () => {
    expect(() => requireMoto("/nonexistent/.venv/bin/python")).toThrow(/bash scripts\/setup\.sh/);
  });

  it("is not fooled by another server that took its port: that answer is not moto being ready", async () => {
    // Loopback servers of the same run (stand-ins, dynalite fronts) listen on OS-chosen ports too; one may
    // take the port moto was given before moto binds it.
    const squatter = createServer((_, res) => res.end("not moto"));
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const { port } = squatter.address() as AddressInfo;
    try {
      await expect(startMoto({ port, readyTimeoutMs: 20_000 })).rejects.toThrow(/taken|exited/);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it("starts moto on a loopback port, serves real SDK clients, resets, and stops", async () => {
    const moto = await startMoto();
    try {
      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const sns = moto.clients({ maxAttempts: 1 }).sns;
      const created = await sns.send(new CreateTopicCommand({ Name: "harness" }));
      expect(created.TopicArn).toBe(`arn:aws:sns:us-east-1:${MOTO_ACCOUNT_ID}:harness`);
      await moto.reset();
      expect((await sns.send(new ListTopicsCommand({}))).Topics ?? []).toEqual([]);
    } finally {
      await moto.close();
    }
    expect(alive(moto.pid)).toBe(false);
  });

  it("does not outlive a test process that dies without closing it", async () => {
    const script = [
      `const { startMoto } = await import(${JSON.stringify(join(fileURLToPath(new URL(".", import.meta.url)), "moto.ts"))});`,
      "const moto = await startMoto();",
      "console.log(moto.pid);",
      "setInterval(() => {}, 1000);",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once("exit", (code) => reject(new Error(`the starter exited early (${code})`)));
    });
    try {
      expect(alive(pid)).toBe(true);
      child.kill("SIGKILL"); // no exit hooks run: only moto's own watch on its stdin can end it
      expect(await gone(pid, 10_000)).toBe(true);
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL"); // never leave it behind, even when this fails
    }
  }, 60_000);
});

describe("the deviation tables", () => {
  it("say what moto does, what AWS does, and cite AWS's documentation", () => {
    for (const [id, entry] of Object.entries({ ...KNOWN_MOTO_DEVIATIONS, ...KNOWN_STANDIN_GAPS })) {
      expect(id).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(entry.aws.length, id).toBeGreaterThan(10);
      expect(entry.doc, id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    }
    for (const [id, entry] of Object.entries(UNSETTLED_DIFFERENCES)) {
      expect(id).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(entry.docs.length, id).toBeGreaterThan(10);
    }
  });
});
