/**
 * The whole test run: the models must be there (a missing model fails the run, never skips it), and at the
 * end the run prints how many AWS calls were checked against AWS's published models and how many violated
 * them; any violation no test expected fails the run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_VERSIONS, botocoreVersion, loadServiceModel } from "../../standins/model/botocore.ts";

interface FileCounts {
  servers: number;
  checked: number;
  knownDeviations: number;
  violations: number;
  expected: number;
  unexpected: string[];
}

export default function setup(): () => void {
  // Fails the run at once, naming the fix, when the pinned models are not installed.
  for (const name of Object.keys(API_VERSIONS)) loadServiceModel(name);
  const dir = mkdtempSync(join(tmpdir(), "mtls-rotator-model-checks-"));
  process.env.MTLS_ROTATOR_MODEL_CHECK_DIR = dir;
  return () => {
    const totals = {
      servers: 0,
      checked: 0,
      violations: 0,
      expected: 0,
      knownDeviations: 0,
      unexpected: [] as string[],
    };
    for (const file of readdirSync(dir)) {
      const counts = JSON.parse(readFileSync(join(dir, file), "utf8")) as FileCounts;
      totals.checked += counts.checked;
      totals.servers += counts.servers ?? 0;
      totals.violations += counts.violations;
      totals.expected += counts.expected;
      totals.knownDeviations += counts.knownDeviations ?? 0;
      totals.unexpected.push(...counts.unexpected);
    }
    rmSync(dir, { recursive: true, force: true });
    const unexpected = totals.violations - totals.expected;
    console.log(
      `\nAWS model checks (botocore ${botocoreVersion()}): ${totals.checked} calls checked against AWS's ` +
        `published service models; ${unexpected} violation(s)` +
        (totals.expected ? ` (+${totals.expected} intended by tests proving the checks fire)` : "") +
        (totals.knownDeviations ? `; ${totals.knownDeviations} known dynalite table-answer quirks` : ""),
    );
    if (unexpected > 0) {
      throw new Error(
        `AWS model violations in this run:\n${totals.unexpected.map((u) => `  - ${u}`).join("\n")}`,
      );
    }
    if (totals.servers > 0 && totals.checked === 0)
      throw new Error("stand-ins ran but no AWS call was checked against the models: the checks are not on");
  };
}
