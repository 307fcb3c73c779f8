/**
 * The routes whose body is optional act on an operator's word (approve, rollback, POST /scan): a body that
 * only looks empty, is not valid base64, or gives a key twice is refused with 400 before the route's
 * dependencies are even built, so nothing is approved, rolled back or scanned. JSON whitespace is no body.
 */
import { describe, expect, it, vi } from "vitest";
import { approveRotationHandler } from "../../../functions/handlers/api/approve-rotation.ts";
import { rollbackRotationHandler } from "../../../functions/handlers/api/rollback-rotation.ts";
import { startScanHandler } from "../../../functions/handlers/api/start-scan.ts";
import { apiEvent, invoke } from "../../support/api-events.ts";

const quiet = { log: () => undefined };

/** Each route with dependencies that record being asked for (and cannot act). */
function routes() {
  const built = vi.fn();
  const deps = async (): Promise<never> => {
    built();
    throw new Error("the route acted");
  };
  return {
    built,
    calls: [
      (body: string, base64: boolean) =>
        invoke(
          approveRotationHandler(deps, quiet),
          apiEvent("POST /rotations/{id}/approve", { params: { id: "rot-1" }, body, base64 }),
        ),
      (body: string, base64: boolean) =>
        invoke(
          rollbackRotationHandler(deps, quiet),
          apiEvent("POST /rotations/{id}/rollback", { params: { id: "rot-1" }, body, base64 }),
        ),
      (body: string, base64: boolean) =>
        invoke(startScanHandler(deps, quiet), apiEvent("POST /scan", { body, base64 })),
    ],
  };
}

describe("approve, rollback and POST /scan refuse bodies that only look empty", () => {
  it.each([
    ["a byte order mark", "\ufeff"],
    ["a no-break space", "\u00a0"],
    ["a line separator", "\u2028"],
    ["an ideographic space", "\u3000"],
    ["a duplicate key", '{"reason":"a","reason":"b"}'],
  ])("%s: 400, and nothing is built or done", async (_name, body) => {
    const { built, calls } = routes();
    for (const call of calls) {
      for (const base64 of [false, true]) {
        const answer = await call(body, base64);
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe("ValidationError");
      }
    }
    expect(built).not.toHaveBeenCalled();
  });

  it("JSON whitespace is no body: the route goes on to its dependencies", async () => {
    const { built, calls } = routes();
    for (const call of calls) expect((await call(" \n\t\r", false)).status).toBe(500);
    expect(built).toHaveBeenCalledTimes(3);
  });
});
