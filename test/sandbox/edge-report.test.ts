/**
 * The report's per-origin edge traffic: every second from the first request to the last (quiet seconds as
 * zeros, so a hung origin shows), and the summary line that prints it.
 */
import { describe, expect, it } from "vitest";
import { originTrafficLine } from "../../sandbox/printer.ts";
import { everySecond } from "../../sandbox/report.ts";

describe("an origin's edge traffic per second", () => {
  it("lists every second from the first with a request to the last, the quiet ones as zeros", () => {
    expect(
      everySecond([
        { second: 5, requests: 4, refused: 4, timedOut: 4 },
        { second: 2, requests: 4, refused: 4, timedOut: 4 },
      ]),
    ).toEqual([
      { second: 2, requests: 4, refused: 4, timedOut: 4 },
      { second: 3, requests: 0, refused: 0, timedOut: 0 },
      { second: 4, requests: 0, refused: 0, timedOut: 0 },
      { second: 5, requests: 4, refused: 4, timedOut: 4 },
    ]);
    expect(everySecond([])).toEqual([]);
  });

  it("prints requests per second, and refusals and timeouts per second when there were any", () => {
    const perSecond = everySecond([
      { second: 1, requests: 19, refused: 0, timedOut: 0 },
      { second: 2, requests: 20, refused: 3, timedOut: 1 },
    ]);
    expect(originTrafficLine("shop/api", { requests: 39, refused: 3, timedOut: 1, perSecond })).toBe(
      "edge shop/api: 39 requests, 3 refused (1 timed out); per second from 1 s: 19 20; " +
        "refused per second: 0 3; timed out per second: 0 1",
    );
    expect(
      originTrafficLine("blog/web", {
        requests: 39,
        refused: 0,
        timedOut: 0,
        perSecond: perSecond.map((s) => ({ ...s, refused: 0, timedOut: 0 })),
      }),
    ).toBe("edge blog/web: 39 requests, 0 refused; per second from 1 s: 19 20");
  });
});
