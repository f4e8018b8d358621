/**
 * The file-system pieces of an atomic replace, shared by the file store, its prepared saves and the
 * rescue copies: temporary-file names, directory sync, the sweep of files left by dead writers,
 * and what a failing system call means for the person reading the error.
 */
import { closeSync, promises as fs, fsyncSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoCode, type TokenStorageErrorCode } from '../errors.js';

/** The temporary files this process is writing now: the sweep leaves them alone. */
const writing = new Set<string>();

/**
 * A new temporary file beside `target`, named as `tempName` matches, counted as being written
 * until `done(path)`; a file of ours left after that (a journal whose rename failed) is swept later.
 */
export function tempPath(target: string): string {
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString('hex');
  const path = join(dirname(target), `.${basename(target)}.${process.pid}.${random}.tmp`);
  writing.add(path);
  return path;
}

/** Ends `tempPath(…)`'s claim on `path`. */
export function done(path: string): void {
  writing.delete(path);
}

/** Whether this process is writing `path` now (claimed by `tempPath(…)`, not yet `done`). */
export const beingWritten = (path: string): boolean => writing.has(path);

/** `.<file>.<pid>.<random>.tmp`: the temporary files of the saves of `<file>`; group 1 is the pid. */
export const tempName = (base: string): RegExp =>
  new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Removes temporary files left by writers that died mid-write (SIGKILL, power loss): only those of
 * processes that no longer exist, or of this one and no longer being written, so a write in
 * progress is never touched. Best effort.
 * Call it only after `<base>` itself was written (or removed): a dead writer's temporary file may
 * hold a renewed login that is newer than the file until then (see `pending.ts`).
 */
export function sweepOrphans(dir: string, base: string): void {
  const pattern = tempName(base);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    const path = join(dir, name);
    if (!pid || (pid === process.pid ? beingWritten(path) : isAlive(pid))) continue;
    try {
      unlinkSync(path);
    } catch {}
  }
}

/** Makes a rename durable (best effort: some platforms cannot open a directory). */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Not supported here (e.g. Windows); the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** `fsyncDirectory`, synchronously. */
export function fsyncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // As above.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface Problem {
  /** What went wrong, for "(…)" after the path. */
  why: string;
  /** What to do about it: a sentence without its final period. */
  fix: string;
  code: TokenStorageErrorCode;
}

/** What a failed write in `dir` means, from its `errno` code. */
export function problemOf(code: string | undefined, dir: string): Problem {
  switch (code) {
    case 'EACCES':
      return { why: 'permission denied', fix: `Fix the permissions of ${dir}`, code: 'permission_denied' };
    case 'EPERM':
      return {
        why: 'operation not permitted: an immutable or append-only file or directory?',
        fix: `Check \`lsattr -d ${dir}\` and the token file in it (\`chattr -i\` removes an immutable flag)`,
        code: 'permission_denied',
      };
    case 'EROFS':
      return {
        why: 'read-only file system',
        fix: `Make the file system holding ${dir} writable`,
        code: 'write_failed',
      };
    case 'ENOSPC':
      return { why: 'the disk is full', fix: `Free space on the disk holding ${dir}`, code: 'write_failed' };
    case 'EDQUOT':
      return { why: 'disk quota exceeded', fix: `Free space in your quota on ${dir}`, code: 'write_failed' };
    case 'ENOTDIR':
      return { why: 'a part of the path is not a directory', fix: `Check the path ${dir}`, code: 'write_failed' };
    default:
      return { why: code ?? 'error', fix: `Check that ${dir} is writable`, code: 'write_failed' };
  }
}
