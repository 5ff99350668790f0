/**
 * The state file's privacy on disk: Berth creates it 0600 (its directory 0700), SQLite's -wal
 * and -journal files lose any group or other bits, and a file others may read or write is warned
 * about (lib/store.ts opens it).
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Paths SQLite understands as no file at all. */
function inMemory(path: string): boolean {
  return path === "" || path === ":memory:" || path.startsWith("file:");
}

/** The mode bits of `path`, or `undefined` when it does not exist. */
function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Before SQLite opens `path`: creates a missing directory 0700 and a missing file 0600 (SQLite
 * gives its -wal and -journal files the database's mode, so they follow); returns a warning for
 * an existing file that others may read or write.
 */
export function preparePrivateFile(path: string): string[] {
  if (inMemory(path)) return [];
  const dir = dirname(path);
  if (modeOf(dir) === undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = modeOf(path);
  if (mode === undefined) {
    closeSync(openSync(path, "wx", 0o600));
    chmodSync(path, 0o600); // exactly 0600, whatever the umask
    return [];
  }
  if ((mode & 0o066) === 0) return [];
  return [
    `state file ${path} can be read or written by other users (mode ${
      mode.toString(8).padStart(4, "0")
    }); it holds the order journal and audit log: run chmod 600 ${path}`,
  ];
}

/** SQLite's companion files of a database, created next to it. */
const COMPANIONS = ["-wal", "-shm", "-journal"];

/** Takes group and other bits off SQLite's companion files of `path` (those of a shared file too). */
export function restrictCompanions(path: string): void {
  if (inMemory(path)) return;
  for (const suffix of COMPANIONS) {
    const mode = modeOf(`${path}${suffix}`);
    if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(`${path}${suffix}`, mode & 0o700);
  }
}
