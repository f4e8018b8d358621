/**
 * The file store: `~/.anthropic/oauth_tokens.json` by default (or `ANTHROPIC_OAUTH_TOKEN_FILE`).
 *
 * - The file is written 0600 and a directory we create is 0700.
 * - Writes are atomic: a temporary file in the same directory, fsync, rename, fsync of the
 *   directory. A crash at any point leaves the old login or the new one, never neither, and no
 *   temporary file survives a failed write; one left by a writer that was killed is removed by the
 *   next successful save.
 * - A token file that is a symlink is written through to its target (the link stays a link), and
 *   `clear()` (logout) removes the target when it is a token file (the link stays, for the next login).
 * - `prepareSave()` proves a save possible before a refresh token is spent, and its commit keeps the
 *   renewed tokens in a journal or a rescue copy when the file cannot take them (`prepared.ts`,
 *   `pending.ts`); `load()` prefers such a copy while the file holds the login it replaced.
 * - A missing file is "not logged in" (`load()` returns `null`). Empty, truncated, non-JSON,
 *   wrongly typed or over 1 MiB contents are a `corrupt_file` error naming the path, never quoting
 *   the contents; a leading byte order mark is skipped. A path that is not a regular file
 *   (directory, FIFO, device, socket) is `read_failed`, found without blocking and without the
 *   `chmod` advice, which would be wrong there.
 * - Refreshes, logins and logouts write under a cross-process lock beside the file (`lock()`, see
 *   `lock.ts`); `save()` and `clear()` do not take it themselves.
 * - A group- or world-accessible file is refused with the `chmod` to run, as the SDK does for its
 *   credentials file: another local user could have read or planted it.
 */
import {
  closeSync,
  promises as fs,
  constants as fsConstants,
  fsyncSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ENV_TOKEN_FILE } from '../env-variables.js';
import { errnoCode, TokenStorageError } from '../errors.js';
import { fromStoredLogin, toStoredLogin } from '../stored-login.js';
import type { Env, StoredLogin } from '../types.js';
import { done, fsyncDirectory, problemOf, sweepOrphans, tempPath } from './atomic.js';
import { withFileLock } from './lock.js';
import { findPending, lineageKey, nextLineage, removeRescues } from './pending.js';
import { PreparedFileSave } from './prepared.js';
import type { LoadedLogin, PreparedSave, TokenStore } from './types.js';

/** `ANTHROPIC_OAUTH_TOKEN_FILE`, else `~/.anthropic/oauth_tokens.json`. */
export function defaultTokenPath(env: Env = process.env): string {
  const fromEnv = env[ENV_TOKEN_FILE]?.trim();
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.anthropic', 'oauth_tokens.json');
}

export class TokenStorage implements TokenStore {
  readonly path: string;

  constructor(path?: string) {
    this.path = path ? resolve(path) : defaultTokenPath();
  }

  /** The file a save replaces: the token file, or where it points when it is a symlink (dangling too). */
  #targetPath(): string {
    try {
      return realpathSync(this.path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      let link: string | undefined;
      try {
        link = readlinkSync(this.path);
      } catch {
        link = undefined;
      }
      return link === undefined ? this.path : resolve(dirname(this.path), link);
    }
  }

  async exists(): Promise<boolean> {
    try {
      await fs.access(this.path, fsConstants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The stored login: the token file's, or a renewed login kept beside it or in a rescue copy while
   * the file still holds the login it replaced (see `pending.ts`).
   */
  async load(): Promise<StoredLogin | null> {
    return (await this.loadDetailed()).tokens;
  }

  /** `load()`, with the journal or rescue copy it came from when it did not come from the file. */
  async loadDetailed(): Promise<LoadedLogin> {
    const current = await this.#loadFile();
    let target: string;
    try {
      target = this.#targetPath();
    } catch {
      return { tokens: current };
    }
    const pending = await findPending(target, current);
    return pending ? { tokens: pending.tokens, recoveredFrom: pending.file } : { tokens: current };
  }

  /** The token file alone. */
  async #loadFile(): Promise<StoredLogin | null> {
    // Only a regular file is a login. Checked before opening (a FIFO would block the open, a
    // device may act on it), and again on the open descriptor in case the path changed between.
    let before: Stats;
    try {
      before = await fs.stat(this.path);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') return null;
      throw this.#unreadable(error);
    }
    if (!before.isFile()) throw this.#notAFile(before);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path, READ_FLAGS);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null;
      throw this.#unreadable(error);
    }
    let text: string;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw this.#notAFile(stat);
      const mode = stat.mode & 0o777;
      if (process.platform !== 'win32' && mode & 0o077) {
        throw new TokenStorageError(
          'permission_denied',
          `The token file ${this.path} is accessible to other users (mode 0${mode.toString(8)}). Run \`chmod 600 ${this.path}\` and try again.`,
          { path: this.path },
        );
      }
      text = await this.#readCapped(handle, stat.size);
    } catch (error) {
      if (error instanceof TokenStorageError) throw error;
      throw this.#unreadable(error);
    } finally {
      await handle.close();
    }
    let data: unknown;
    try {
      // A byte order mark, as some Windows editors write, is not part of the JSON.
      data = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
    } catch {
      throw new TokenStorageError(
        'corrupt_file',
        `The token file ${this.path} is ${text.trim() === '' ? 'empty' : 'not valid JSON'}. Run \`npx anthropic-oauth login\` to replace it.`,
        { path: this.path },
      );
    }
    return fromStoredLogin(data, this.path);
  }

  /**
   * Reads at most `MAX_FILE_BYTES`; a larger file (a login is under 2 KiB) is not a login. The buffer
   * starts at the size `fstat` gave and grows only if the file grows while it is read.
   */
  async #readCapped(handle: fs.FileHandle, expected: number): Promise<string> {
    let buffer = Buffer.allocUnsafe(Math.min(Math.max(expected, 0), MAX_FILE_BYTES) + 1);
    let size = 0;
    for (;;) {
      if (size === buffer.length) {
        if (size > MAX_FILE_BYTES) {
          throw new TokenStorageError(
            'corrupt_file',
            `The token file ${this.path} is larger than 1 MiB, so it is not a login. Run \`npx anthropic-oauth login\` to replace it.`,
            { path: this.path },
          );
        }
        const grown = Buffer.allocUnsafe(Math.min(size * 2 + 4096, MAX_FILE_BYTES + 1));
        buffer.copy(grown, 0, 0, size);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    return buffer.toString('utf8', 0, size);
  }

  /** A path that exists but is not a regular file: nothing to read, and nothing to chmod. */
  #notAFile(stat: Stats): TokenStorageError {
    return new TokenStorageError(
      'read_failed',
      `The token file ${this.path} is ${describeFileType(stat)}, not a regular file, so no login can be read from it. Check the path (--storage, ANTHROPIC_OAUTH_TOKEN_FILE); nothing was changed.`,
      { path: this.path },
    );
  }

  #unreadable(error: unknown): TokenStorageError {
    const code = errnoCode(error);
    if (code === 'EACCES' || code === 'EPERM') {
      return new TokenStorageError(
        'permission_denied',
        `Cannot read the token file ${this.path} (permission denied). Check its owner, or run \`chmod 600 ${this.path}\`.`,
        { path: this.path, cause: error },
      );
    }
    return new TokenStorageError('read_failed', `Cannot read the token file ${this.path} (${code ?? 'error'}).`, {
      path: this.path,
      cause: error,
    });
  }

  async save(tokens: StoredLogin): Promise<void> {
    const data = serialize(tokens);
    let target = this.path;
    let tmp: string | undefined;
    try {
      target = this.#targetPath();
      const dir = dirname(target);
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      tmp = tempPath(target);
      const handle = await fs.open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(data, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, target);
      done(tmp);
      tmp = undefined;
      await fsyncDirectory(dir);
      removeRescues(target);
      sweepOrphans(dir, basename(target));
    } catch (error) {
      if (tmp !== undefined) {
        await fs.unlink(tmp).catch(() => {});
        done(tmp);
      }
      const { why, fix, code } = problemOf(errnoCode(error), dirname(target));
      throw new TokenStorageError(
        code,
        `Could not save the login to ${target} (${why}); the file was not changed. ${fix}, then try again.`,
        { path: target, cause: error },
      );
    }
  }

  /**
   * `save()`, synchronously, for the token source's exit guard only (see `TokenStore.saveSync`): the
   * same atomic replace of the same file, without the directory sync and the sweep. Throws the
   * file system's error.
   */
  saveSync(tokens: StoredLogin): void {
    const target = this.#targetPath();
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const tmp = tempPath(target);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeFileSync(fd, serialize(tokens), 'utf8');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
    } catch (error) {
      try {
        unlinkSync(tmp);
      } catch {}
      throw error;
    } finally {
      done(tmp);
    }
    removeRescues(target);
  }

  /**
   * Proves that a save will work before a refresh token is spent (see `TokenStore.prepareSave` and
   * `prepared.ts`). Throws a `TokenStorageError` saying what to fix, with nothing spent or changed.
   */
  async prepareSave(): Promise<PreparedSave> {
    const current = await this.#loadFile();
    let target = this.path;
    try {
      target = this.#targetPath();
      await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const pending = await findPending(target, current);
      return PreparedFileSave.prepare(target, lineageKey(current), nextLineage(current, pending));
    } catch (error) {
      const { why, fix, code } = problemOf(errnoCode(error), dirname(target));
      throw new TokenStorageError(
        code,
        `The login in ${target} was not renewed, because the renewed login could not be saved there (${why}): renewing uses up the refresh token it holds. Nothing was changed. ${fix}, then run this again.`,
        { path: target, cause: error },
      );
    }
  }

  /**
   * Runs `fn` under the cross-process lock for this file (`<file>.lock`, see `lock.ts`). The token
   * source refreshes inside it, and login and logout write inside it; the directory is created first
   * so the lock has somewhere to live.
   */
  async lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    const target = this.#targetPath();
    await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 }).catch(() => {});
    return withFileLock(target, fn, whileWaiting);
  }

  /**
   * Removes the login: the token file, or, when it is a symlink, the token file it points to (the
   * link stays, so the next login is saved there again), and any renewed copy of it. A link to
   * something that is not a token file is left alone, with an error saying so.
   */
  async clear(): Promise<void> {
    let target = this.path;
    try {
      const link = await fs.lstat(this.path).then(
        (stat) => stat.isSymbolicLink(),
        () => false,
      );
      target = this.#targetPath();
      if (link) await assertTokenFile(this.path, target);
      await fs.unlink(target);
    } catch (error) {
      if (error instanceof TokenStorageError) throw error;
      if (errnoCode(error) !== 'ENOENT') {
        throw new TokenStorageError(
          'write_failed',
          `Could not delete the token file ${target} (${errnoCode(error) ?? 'error'}).`,
          {
            path: target,
            cause: error,
          },
        );
      }
    }
    removeRescues(target);
    sweepOrphans(dirname(target), basename(target));
  }
}

/** A login is a few hundred bytes; reading stops past this (a 2 GB sparse file is not read). */
const MAX_FILE_BYTES = 1 << 20;
/** Opening never blocks (a FIFO would wait for a writer) nor takes a terminal as controlling tty. */
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

function describeFileType(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'something else';
}

const serialize = (tokens: StoredLogin) => `${JSON.stringify(toStoredLogin(tokens), null, 2)}\n`;

/** Refuses to delete `target` (where the symlink `link` points) unless it is absent or a token file. */
async function assertTokenFile(link: string, target: string): Promise<void> {
  const refuse = (what: string) =>
    new TokenStorageError(
      'write_failed',
      `The token file ${link} is a symbolic link to ${target}, which is ${what}: it was left alone. If that link is not yours, remove it (\`rm ${link}\`).`,
      { path: link },
    );
  let stat: Awaited<ReturnType<typeof fs.lstat>>;
  try {
    stat = await fs.lstat(target);
  } catch {
    return;
  }
  if (!stat.isFile()) throw refuse('not a regular file');
  if (stat.size > 1 << 20) throw refuse('not a token file');
  const text = await fs.readFile(target, 'utf8');
  if (text.trim() === '') return;
  try {
    fromStoredLogin(JSON.parse(text), target);
  } catch {
    throw refuse('not a token file');
  }
}
