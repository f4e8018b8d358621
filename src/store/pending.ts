/**
 * Renewed logins that are not (yet) in the token file, and how every reader finds them.
 *
 * A refresh spends the refresh token in the token file: from the server's answer until the new
 * tokens replace the file, they are the only live copy of the login. Two places keep them when the
 * file does not get them:
 * - The journal: the prepared temporary file beside the token file (`.<file>.<pid>.<random>.tmp`),
 *   filled with the new tokens and fsynced before anything else happens, then renamed over the
 *   file. A process killed between the two leaves it behind; so does a rename that fails.
 * - A rescue copy, when the rename fails (the file or its directory became immutable or read-only
 *   during the refresh): the first writable of `$XDG_STATE_HOME/anthropic-oauth/rescue` (default
 *   `~/.local/state/anthropic-oauth/rescue`), `$XDG_RUNTIME_DIR/anthropic-oauth/rescue` and
 *   `<tmpdir>/anthropic-oauth-<uid>/rescue`, never the token file's own directory, as
 *   `<hash of the token file's path>.json`: 0600, in a 0700 directory of ours.
 *
 * Both carry a `lineage`: hashes of the refresh tokens the login replaces (`none` for "no token
 * file"), and a generation. `load()` prefers the highest generation among those whose lineage holds
 * the token file's current refresh token: the file then holds a spent login, and using it would
 * replay a spent refresh token, which revokes the whole login. A newer login, a logout or any
 * successful save leaves them stale (the file no longer holds what they replace) and removes them.
 * Only files we own, not group- or world-accessible and not symlinks are read.
 */

import {
  chmodSync,
  closeSync,
  constants,
  promises as fs,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ENV_XDG_RUNTIME_DIR, ENV_XDG_STATE_HOME } from '../env-variables.js';
import { errnoCode, TokenStorageError } from '../errors.js';
import { sha256Hex } from '../node-crypto.js';
import { fromStoredLogin, loginSecret, toStoredLogin } from '../stored-login.js';
import type { StoredLogin } from '../types.js';
import { beingWritten, done, fsyncDirectorySync, tempName, tempPath } from './atomic.js';

const MAX_PENDING_BYTES = 64 * 1024;
const MAX_LINEAGE = 32;

export interface Lineage {
  /** Hashes (`lineageKey`) of the logins this one replaces. */
  replaces: string[];
  generation: number;
}

export interface Pending {
  tokens: StoredLogin;
  lineage: Lineage;
  /** The journal or rescue file it was read from. */
  file: string;
}

/** Names the login in a token file by its refresh token (hashed); `none` when there is no file. */
export function lineageKey(tokens: StoredLogin | null): string {
  return tokens === null ? 'none' : sha256Hex(`refresh:${loginSecret(tokens)}`).slice(0, 32);
}

/** The lineage of a login that replaces `current` (what the file holds) and `view` (what load() gave). */
export function nextLineage(current: StoredLogin | null, pending: Pending | undefined): Lineage {
  const replaces = [lineageKey(current), ...(pending ? [lineageKey(pending.tokens), ...pending.lineage.replaces] : [])];
  return {
    replaces: [...new Set(replaces)].slice(0, MAX_LINEAGE),
    generation: (pending?.lineage.generation ?? 0) + 1,
  };
}

/** The token file's JSON plus the lineage (readers of the plain format ignore the extra field). */
export function pendingJson(tokens: StoredLogin, lineage: Lineage, target: string): string {
  return `${JSON.stringify({ ...toStoredLogin(tokens), lineage: { ...lineage, path: target } }, null, 2)}\n`;
}

/**
 * A journal or rescue copy for `target` read from `file`, or `undefined` when `text` is not one. A
 * rescue copy must name `target` as the path it was written for. A journal beside `target` need not:
 * its place and name tie it to the file, whatever path its writer reached the file by (a bind mount,
 * a container's view of the same directory), and its lineage must still hold the file's login.
 */
export function parsePending(text: string, target: string, file: string): Pending | undefined {
  const beside = dirname(file) === dirname(target) && tempName(basename(target)).test(basename(file));
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    const lineage = data?.lineage as Record<string, unknown> | undefined;
    if (!lineage || (!beside && lineage.path !== target) || !Number.isInteger(lineage.generation)) return undefined;
    if (!Array.isArray(lineage.replaces) || !lineage.replaces.every((key) => typeof key === 'string')) return undefined;
    const tokens = fromStoredLogin(data, file);
    return {
      tokens,
      lineage: { replaces: lineage.replaces as string[], generation: lineage.generation as number },
      file,
    };
  } catch {
    // A half-written journal, the padding of a prepared save, a foreign file: not a pending login.
    return undefined;
  }
}

/**
 * Reads `file` if it is a small regular file of ours (not followed through a link); `openMode` when
 * other users can read it too (someone changed its mode: we write them 0600).
 */
async function readOwn(file: string): Promise<{ text: string; openMode?: number } | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_PENDING_BYTES) return undefined;
    if (process.platform === 'win32') return { text: await handle.readFile('utf8') };
    if (stat.uid !== process.getuid?.()) return undefined;
    const text = await handle.readFile('utf8');
    return stat.mode & 0o077 ? { text, openMode: stat.mode & 0o777 } : { text };
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** The directories a rescue copy may go to, in order of preference; never `target`'s own. */
export function rescueDirs(target: string): string[] {
  const stateHome = process.env[ENV_XDG_STATE_HOME];
  const runtimeDir = process.env[ENV_XDG_RUNTIME_DIR];
  const state = stateHome && isAbsolute(stateHome) ? stateHome : join(homedir(), '.local', 'state');
  const dirs = [join(state, 'anthropic-oauth', 'rescue')];
  if (runtimeDir && isAbsolute(runtimeDir)) dirs.push(join(runtimeDir, 'anthropic-oauth', 'rescue'));
  dirs.push(join(tmpdir(), `anthropic-oauth-${process.getuid?.() ?? 'user'}`, 'rescue'));
  const own = resolve(dirname(target));
  return [...new Set(dirs.map((dir) => resolve(dir)))].filter((dir) => dir !== own);
}

const rescueName = (target: string): string => `${sha256Hex(`path:${target}`).slice(0, 32)}.json`;

/** The newest pending login for `target` that replaces what the file holds (`current`). */
export async function findPending(target: string, current: StoredLogin | null): Promise<Pending | undefined> {
  // Hashing loads node:crypto, which a load with nothing pending (nearly every load) never needs.
  const files: string[] = [];
  for (const rescueDir of rescueDirs(target)) {
    const names = await fs.readdir(rescueDir).catch(() => [] as string[]);
    if (names.length > 0 && names.includes(rescueName(target))) files.push(join(rescueDir, rescueName(target)));
  }
  files.push(...(await journalFiles(target)));
  return newestPending(files, target, current);
}

/** The journals beside `target`, but for those this process is writing now (saves in progress here). */
export async function journalFiles(target: string): Promise<string[]> {
  const files: string[] = [];
  const dir = dirname(target);
  const pattern = tempName(basename(target));
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1]);
    const path = join(dir, name);
    // Our pid alone does not make a journal ours: one kept after a failed rename is done with, and
    // one left by an earlier process that had this pid (a container's runs often do) is read too.
    if (pid && !(pid === process.pid && beingWritten(path))) files.push(path);
  }
  return files;
}

/**
 * Of `files` (journals or rescue copies for `target`), the login of the highest generation whose
 * lineage holds `current`, what the store itself holds; files that are not such copies are skipped.
 * Such a copy of ours that other users can read is refused with the `chmod` to run, as a token file
 * is: passing over it would send the spent refresh token `location` (default `target`) still holds.
 */
export async function newestPending(
  files: readonly string[],
  target: string,
  current: StoredLogin | null,
  location: string = target,
): Promise<Pending | undefined> {
  let key: string | undefined;
  let best: { pending: Pending; openMode: number | undefined } | undefined;
  for (const file of files) {
    const own = await readOwn(file);
    const pending = own === undefined ? undefined : parsePending(own.text, target, file);
    if (pending === undefined) continue;
    key ??= lineageKey(current);
    if (!pending.lineage.replaces.includes(key)) continue;
    if (best === undefined || pending.lineage.generation > best.pending.lineage.generation) {
      best = { pending, openMode: own?.openMode };
    }
  }
  // Only the copy that would be used: an older one others can read holds a spent token anyway.
  if (best?.openMode !== undefined) {
    const { file } = best.pending;
    throw new TokenStorageError(
      'permission_denied',
      `The renewed login kept in ${file} is accessible to other users (mode 0${best.openMode.toString(8)}). It holds the only live refresh token of this login (the one in ${location} is used up): run \`chmod 600 ${file}\` and try again.`,
      { path: file },
    );
  }
  return best?.pending;
}

/** Makes `dir` (and a per-user parent in a shared temporary directory) ours and 0700, or throws. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const shared = dirname(dir) !== tmpdir() && dirname(dirname(dir)) === tmpdir() ? [dirname(dir), dir] : [dir];
  for (const path of shared) {
    const stat = lstatSync(path);
    if (!stat.isDirectory() || (process.platform !== 'win32' && stat.uid !== process.getuid?.())) {
      throw Object.assign(new Error(`${path} is not a directory of ours`), { code: 'EEXIST' });
    }
    if (stat.mode & 0o077) chmodSync(path, 0o700);
  }
}

export type RescueResult = { file: string } | { failures: string[] };

/** Writes `json` as the rescue copy for `target` (atomically), in the first directory that takes it. */
export function writeRescue(target: string, json: string): RescueResult {
  const failures: string[] = [];
  for (const dir of rescueDirs(target)) {
    const file = join(dir, rescueName(target));
    const tmp = tempPath(file);
    try {
      ensurePrivateDir(dir);
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, json);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      fsyncDirectorySync(dir);
      return { file };
    } catch (error) {
      try {
        unlinkSync(tmp);
      } catch {}
      failures.push(`${dir}: ${errnoCode(error) ?? 'error'}`);
    } finally {
      done(tmp);
    }
  }
  return { failures };
}

/** Removes the rescue copies for `target`: the token file now holds the newest login, or none. */
export function removeRescues(target: string): void {
  for (const dir of rescueDirs(target)) {
    try {
      unlinkSync(join(dir, rescueName(target)));
    } catch {}
  }
}
