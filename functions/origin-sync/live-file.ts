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
