/**
 * The live bundle file a server reads: read it with its mode and owner, replace it atomically (a temp file
 * in the same directory, fsync, rename, fsync of the directory), and put the previous content back the
 * same way. A reader (nginx re-reading on reload) sees either the old or the new file, never half of one.
 * A symlinked `--out` is resolved, so the file it points at is replaced and the link is kept.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface LiveFile {
  /** The path actually written (symlinks resolved). */
  path: string;
  /** Current content, or undefined when the file does not exist yet. */
  content?: Buffer;
  mode: number;
  uid?: number;
  gid?: number;
}

/** Default mode of a bundle file created from scratch: CA certificates are public. */
const NEW_FILE_MODE = 0o644;

export class LiveFileError extends Error {
  override name = "LiveFileError";
}

/** Reads the live file, or describes why it cannot be the live file (missing directory, a directory...). */
export async function readLiveFile(out: string): Promise<LiveFile> {
  let path = out;
  try {
    path = await realpath(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw describe(out, error);
  }
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new LiveFileError(`--out ${out} is not a regular file`);
    const content = await readFile(path);
    return { path, content, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  } catch (error) {
    if (error instanceof LiveFileError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw describe(out, error);
  }
  // Does not exist yet: its directory must.
  const dir = dirname(path);
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new LiveFileError(`--out ${out}: ${dir} is not a directory`);
  } catch (error) {
    if (error instanceof LiveFileError) throw error;
    throw new LiveFileError(`--out ${out}: directory ${dir} does not exist`);
  }
  return { path, mode: NEW_FILE_MODE };
}

function describe(out: string, error: unknown): LiveFileError {
  const code = (error as NodeJS.ErrnoException).code;
  return new LiveFileError(`--out ${out}: ${code ?? (error as Error).message}`);
}

/**
 * Replaces `file.path` with `data` atomically, keeping the file's mode (and owner when running as root).
 * On failure the temp file is removed and the live file is as it was.
 */
export async function writeAtomically(file: LiveFile, data: string | Buffer): Promise<void> {
  const dir = dirname(file.path);
  const temp = join(dir, `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(data);
      if (process.getuid?.() === 0 && file.uid !== undefined && file.gid !== undefined) {
        await handle.chown(file.uid, file.gid);
      }
      await handle.chmod(file.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file.path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Puts the previous content back (or removes a file that did not exist before). */
export async function restore(file: LiveFile): Promise<void> {
  if (file.content === undefined) {
    await rm(file.path, { force: true });
    await syncDirectory(dirname(file.path));
    return;
  }
  await writeAtomically(file, file.content);
}

/** Makes a rename durable. Some platforms cannot fsync a directory; that is not worth failing for. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

/**
 * The "pending" marker: written (atomically) before the live file is replaced and removed once the run has
 * finished (reloaded, or put the previous content back). Finding it on start means a run was killed in
 * between: the live file may hold a bundle the server never re-read, so comparing it with the source would
 * wrongly say "already up to date". The marker keeps what is needed to finish the job or undo it.
 */
export interface PendingMarker {
  /** SHA-256 of the bundle the interrupted run wrote. */
  newSha256: string;
  /** The live file's content before that run (undefined: there was no file). */
  previous?: Buffer;
  mode: number;
}

export function pendingPath(livePath: string): string {
  return join(dirname(livePath), `.${basename(livePath)}.origin-sync-pending`);
}

export async function writePending(file: LiveFile, newSha256: string): Promise<void> {
  const marker = {
    version: 1,
    newSha256,
    previous: file.content === undefined ? null : file.content.toString("base64"),
    mode: file.mode,
  };
  await writeAtomically({ path: pendingPath(file.path), mode: 0o600 }, `${JSON.stringify(marker)}\n`);
}

/** The marker of an interrupted run, `undefined` when there is none, `"corrupt"` when it cannot be read. */
export async function readPending(livePath: string): Promise<PendingMarker | "corrupt" | undefined> {
  let text: string;
  try {
    text = await readFile(pendingPath(livePath), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return "corrupt";
  }
  try {
    const marker = JSON.parse(text) as { newSha256?: unknown; previous?: unknown; mode?: unknown };
    if (typeof marker.newSha256 !== "string" || typeof marker.mode !== "number") return "corrupt";
    if (marker.previous !== null && typeof marker.previous !== "string") return "corrupt";
    return {
      newSha256: marker.newSha256,
      mode: marker.mode,
      ...(typeof marker.previous === "string" ? { previous: Buffer.from(marker.previous, "base64") } : {}),
    };
  } catch {
    return "corrupt";
  }
}

export async function clearPending(livePath: string): Promise<void> {
  await rm(pendingPath(livePath), { force: true });
}
