/**
 * Bundles a Lambda entry the way `sst deploy` does (SST 4, Node runtime), with esbuild's JS API: the one
 * implementation behind `npm run bench:lambdas` (scripts/bench-lambdas.ts) and
 * test/infra/lambda-bundles.test.ts.
 *
 * What is read from the installed SST (readInstalledSst), so the emulation fails when SST moves:
 * - the esbuild version its CLI binary is built with (Go build info in the binary): the esbuild npm
 *   package must be that version;
 * - the banner lines, each of which must be in the binary;
 * - that the binary still runs `nodejs.plugins` through .sst/platform/functions/nodejs-runtime/plugin.mjs,
 *   and that runner itself: plugins are run by it, in a Node process of their own, as SST runs them;
 * - that the `sst` package the code imports is the CLI's version (what SST's sst-version-check plugin
 *   enforces at build time).
 * The rest is SST_BUILD below, as SST's pkg/runtime/node/build.go sets it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * SST's esbuild options for a deployed function (pkg/runtime/node/build.go, `Build`), ESM format. Of
 * `nodejs.esbuild` only `external` and `target` are honoured; `nodejs.install` packages are external too;
 * minify (whitespace, syntax, identifiers) only when `nodejs.minify` is true; source map `linked` when
 * `nodejs.sourcemap` is true, none otherwise; the output is `<handler file>.mjs`.
 */
export const SST_BUILD = {
  platform: "node",
  bundle: true,
  keepNames: true,
  format: "esm",
  target: "esnext",
  mainFields: ["module", "main"],
  /** forceExternal */
  external: ["sharp", "pg-native"],
  metafile: true,
} as const;

/** The banner of an ESM function, before `nodejs.banner` (joined by newlines, as build.go does). */
export const SST_BANNER_LINES = [
  "import { createRequire as topLevelCreateRequire } from 'module';",
  "const require = topLevelCreateRequire(import.meta.url);",
  'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
  "const __filename = topLevelFileUrlToPath(import.meta.url)",
  'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
];

/** Where SST's CLI runs `nodejs.plugins` (relative to the project; the CLI names it). */
export const SST_PLUGIN_RUNNER = ".sst/platform/functions/nodejs-runtime/plugin.mjs";

/** Extensions SST tries for a handler's file, in order (NODE_EXTENSIONS). */
const NODE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

/** The `nodejs` options of a function that this emulation builds exactly as SST does. */
export interface NodejsOptions {
  minify?: boolean;
  sourcemap?: boolean;
  /** Relative to sst.config.ts (the project root). */
  plugins?: string;
  banner?: string;
  install?: string[] | Record<string, string>;
  esbuild?: { external?: string[]; target?: string };
}

export interface InstalledSst {
  version: string;
  binary: string;
  esbuildVersion: string;
  /** Absolute path of SST's plugin runner. */
  pluginRunner: string;
}

export class SstBuildMismatch extends Error {
  override name = "SstBuildMismatch";
}

function packageJson(dir: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
}

/** The directory of package `name` as resolved from `from` (a file), without reading its exports map. */
function packageDir(name: string, from: string): string {
  let dir = dirname(createRequire(from).resolve(name));
  while (!existsSync(join(dir, "package.json")) || packageJson(dir).name !== name) {
    const up = dirname(dir);
    if (up === dir) throw new SstBuildMismatch(`no package.json of ${name} above ${from}`);
    dir = up;
  }
  return dir;
}

/**
 * SST's CLI as the `sst` package's own bin/sst.mjs finds it (SST_BIN_PATH, else the
 * `sst-<platform>-<arch>` package), and what this emulation needs to agree with it.
 */
export function readInstalledSst(root = ROOT): InstalledSst {
  const projectFile = join(root, "package.json");
  const sstDir = packageDir("sst", projectFile);
  const version = packageJson(sstDir).version ?? "";
  const binary =
    process.env.SST_BIN_PATH ||
    createRequire(join(sstDir, "bin", "sst.mjs")).resolve(
      `sst-${process.platform}-${process.arch}/bin/${process.platform === "win32" ? "sst.exe" : "sst"}`,
    );
  const bytes = readFileSync(binary);

  // Go's build info lists each module dependency as "dep\t<path>\t<version>\t<sum>".
  const marker = Buffer.from("github.com/evanw/esbuild\tv");
  const at = bytes.indexOf(marker);
  if (at < 0) throw new SstBuildMismatch(`${binary}: no esbuild in the build info of SST's CLI`);
  const start = at + marker.length;
  const esbuildVersion = bytes
    .subarray(start, start + 32)
    .toString("latin1")
    .split(/[\t\n]/)[0]!;

  const problems: string[] = [];
  if (esbuild.version !== esbuildVersion)
    problems.push(
      `SST ${version}'s CLI is built with esbuild ${esbuildVersion}; the installed esbuild package is ${esbuild.version}`,
    );
  const cliVersion = packageJson(dirname(dirname(binary))).version;
  if (!process.env.SST_BIN_PATH && cliVersion !== version)
    problems.push(`the sst package is ${version}, its CLI ${cliVersion}`);
  for (const line of [...SST_BANNER_LINES, SST_PLUGIN_RUNNER])
    if (bytes.indexOf(Buffer.from(line)) < 0)
      problems.push(`SST's CLI no longer holds ${JSON.stringify(line)}`);
  const pluginRunner = join(root, SST_PLUGIN_RUNNER);
  if (!existsSync(pluginRunner))
    problems.push(
      `${SST_PLUGIN_RUNNER} is missing: install SST's platform first (bash scripts/sst-types.sh)`,
    );
  if (problems.length > 0)
    throw new SstBuildMismatch(
      `lambda bundles would not be built as SST builds them: ${problems.join("; ")}`,
    );
  return { version, binary, esbuildVersion, pluginRunner };
}

/** The handler's file as SST finds it: `dir/base.<first existing extension>`. */
export function handlerFile(handler: string, root = ROOT): string {
  const path = isAbsolute(handler) ? handler : join(root, handler);
  const base = path.slice(0, path.lastIndexOf("."));
  for (const extension of NODE_EXTENSIONS) {
    const file = base + extension;
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  throw new Error(`Handler not found: ${handler}`);
}

type Reply = Record<string, unknown>;

/**
 * SST's `nodejs-plugin` (pkg/runtime/node/plugin.go): every resolve and load goes to SST's own runner
 * (plugin.mjs, one Node process per build) as a JSON line; these fields of the answer are copied back.
 * pluginData in an answer is refused: SST's side reads it as an integer, which JSON never gives it.
 */
function sstPluginBridge(runner: string, pluginsFile: string, root: string): esbuild.Plugin {
  return {
    name: "nodejs-plugin",
    setup(build) {
      const child: ChildProcess = spawn(process.execPath, [runner, pluginsFile], {
        cwd: root,
        stdio: ["pipe", "pipe", "inherit"],
      });
      const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (e: Error) => void }>();
      let next = 0;
      let exited: Error | undefined;
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const message = JSON.parse(line) as { id: number; value: Reply };
        pending.get(message.id)?.resolve(message.value);
        pending.delete(message.id);
      });
      child.on("exit", (code, signal) => {
        exited = new Error(`SST's plugin runner stopped (${signal ?? code}) running ${pluginsFile}`);
        for (const { reject } of pending.values()) reject(exited);
        pending.clear();
      });
      const request = (command: "resolve" | "load", value: Reply) =>
        new Promise<Reply>((resolve, reject) => {
          if (exited) return reject(exited);
          const id = next++;
          pending.set(id, { resolve, reject });
          child.stdin!.write(`${JSON.stringify({ id, command, value })}\n`);
        });
      const common = (reply: Reply, pluginName: string) => {
        if (typeof reply.error === "string") throw new Error(reply.error);
        if ("pluginData" in reply)
          throw new Error(`${pluginsFile}: SST cannot carry pluginData back from a plugin (${pluginName})`);
        const result: Reply = {};
        for (const key of ["pluginName", "errors", "warnings", "watchFiles", "watchDirs"])
          if (key in reply) result[key] = reply[key];
        return result;
      };
      build.onResolve({ filter: /.*/ }, async (args) => {
        const reply = await request("resolve", {
          path: args.path,
          importer: args.importer,
          namespace: args.namespace,
          resolveDir: args.resolveDir,
          kind: args.kind,
          pluginData: args.pluginData ?? null,
          with: args.with,
        });
        const result = common(reply, "resolve");
        for (const key of ["path", "namespace", "suffix", "external", "sideEffects"])
          if (key in reply) result[key] = reply[key];
        return Object.keys(result).length > 0 ? (result as esbuild.OnResolveResult) : undefined;
      });
      build.onLoad({ filter: /.*/ }, async (args) => {
        const reply = await request("load", {
          path: args.path,
          namespace: args.namespace,
          suffix: args.suffix,
          pluginData: args.pluginData ?? null,
          with: args.with,
        });
        const result = common(reply, "load");
        for (const key of ["contents", "loader", "resolveDir"]) if (key in reply) result[key] = reply[key];
        return "contents" in result ? (result as esbuild.OnLoadResult) : undefined;
      });
      // plugin.go registers onEnd but sends the runner nothing: plugins' onEnd never runs under SST.
      build.onDispose(() => {
        child.stdin!.end();
        child.kill();
      });
    },
  };
}

/** The esbuild options SST would use for `handler` with `nodejs`, writing under `outdir`. */
export function sstBuildOptions(
  handler: string,
  nodejs: NodejsOptions,
  outdir: string,
  sst: InstalledSst,
  root = ROOT,
): esbuild.BuildOptions {
  const file = handlerFile(handler, root);
  const unsupported = Object.keys(nodejs).filter(
    (key) => !["minify", "sourcemap", "plugins", "banner", "install", "esbuild"].includes(key),
  );
  if (unsupported.length > 0)
    throw new Error(`lambda-bundles: nodejs.${unsupported.join(", nodejs.")} is not emulated`);
  // build.go: <out>/<path relative to the root, dots of the file name as dashes>.mjs
  const rel = relative(root, file);
  const name = rel
    .split(sep)
    .pop()!
    .replace(/\.[^.]+$/, "")
    .replaceAll(".", "-");
  const outfile = join(
    outdir,
    dirname(rel)
      .split(sep)
      .filter((part) => part !== "..")
      .join(sep),
    `${name}.mjs`,
  );
  const install = Array.isArray(nodejs.install) ? nodejs.install : Object.keys(nodejs.install ?? {});
  return {
    ...SST_BUILD,
    mainFields: [...SST_BUILD.mainFields],
    entryPoints: [file],
    absWorkingDir: root,
    external: [...SST_BUILD.external, ...install, ...(nodejs.esbuild?.external ?? [])],
    target: nodejs.esbuild?.target ?? SST_BUILD.target,
    outfile,
    write: true,
    logLevel: "silent",
    banner: { js: [...SST_BANNER_LINES, nodejs.banner ?? ""].join("\n") },
    ...(nodejs.minify ? { minifyWhitespace: true, minifySyntax: true, minifyIdentifiers: true } : {}),
    sourcemap: nodejs.sourcemap ? "linked" : false,
    plugins: nodejs.plugins ? [sstPluginBridge(sst.pluginRunner, join(root, nodejs.plugins), root)] : [],
  };
}

export interface PackageBytes {
  /** An npm package (`@aws-sdk/client-dynamodb`), or the project's own `functions/<dir>`. */
  name: string;
  bytes: number;
}

export interface LambdaBundle {
  handler: string;
  outfile: string;
  /** Raw bytes of the .mjs (the source map is a file of its own). */
  bytes: number;
  gzipBytes: number;
  metafile: esbuild.Metafile;
  /** Every module in the bundle's import graph (the metafile's inputs), relative to the root. */
  inputs: string[];
  /** Bytes in the output per package, largest first. */
  packages: PackageBytes[];
}

/** The npm package a module belongs to (the innermost node_modules), or the project's top directory. */
export function packageOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at >= 0) {
    const scoped = parts[at + 1]?.startsWith("@");
    return parts.slice(at + 1, at + (scoped ? 3 : 2)).join("/");
  }
  if (parts[0] === "functions" && parts.length > 2) return `functions/${parts[1]}`;
  return parts.slice(0, -1).join("/") || input;
}

/** Bundles `handler` as SST deploys it with `nodejs`, into `outdir` (a directory of the caller's). */
export async function bundleLambda(
  handler: string,
  nodejs: NodejsOptions,
  outdir: string,
  sst: InstalledSst,
  root = ROOT,
): Promise<LambdaBundle> {
  const options = sstBuildOptions(handler, nodejs, outdir, sst, root);
  mkdirSync(dirname(options.outfile!), { recursive: true });
  const result = await esbuild.build(options);
  const metafile = result.metafile!;
  const output = metafile.outputs[relative(root, options.outfile!).split(sep).join("/")];
  if (!output) throw new Error(`esbuild wrote no ${options.outfile}`);
  const contents = readFileSync(options.outfile!);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  return {
    handler,
    outfile: options.outfile!,
    bytes: contents.length,
    gzipBytes: gzipSync(contents).length,
    metafile,
    inputs: Object.keys(metafile.inputs),
    packages: [...byPackage]
      .map(([name, bytes]) => ({ name, bytes }))
      .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name)),
  };
}

/** A handler that does nothing, as a file: the baseline every bundle is compared with. */
export const EMPTY_HANDLER_SOURCE = "export const handler = async () => ({});\n";
