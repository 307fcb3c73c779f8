import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Every stand-in call is checked against AWS's published models (standins/model/): a violation fails
    // the test that caused it and the run, which also prints how many calls were checked.
    globalSetup: ["test/setup/model-checks-global.ts"],
    setupFiles: ["test/setup/model-checks.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start loopback servers (stand-ins, nginx); keep parallelism modest on 2-core machines.
    maxWorkers: 2,
  },
});
