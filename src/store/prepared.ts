/**
 * The file store's prepared save (`TokenStorage.prepareSave`, see `PreparedSave`): proof, taken
 * under the lock before a refresh token is spent, that the renewed login can be saved.
 *
 * - Preparing creates the temporary file beside the token file (0600), fills it with 4 KiB (or
 *   twice the token file's size) of spaces and fsyncs it: the directory is writable and the disk has
 *   room for the new file, reserved. It then opens the token file for writing without changing it,
 *   which an immutable or append-only file or a read-only file system refuses. Any failure here is
 *   an error before the network call: nothing is spent.
 * - Committing is synchronous from start to end, so `process.exit()` cannot cut it in half: the new
 *   tokens go into the reserved space and are fsynced (the journal, found by `load()` if the process
 *   dies now); then, if the token file still holds the login it held when the save was prepared
 *   (compare and swap), the journal is renamed over it and the directory fsynced; otherwise nothing
 *   is written and `commit` resolves `false`.
 * - If that write fails, the tokens go to a rescue copy (`pending.ts`) and the error,
 *   `saved_elsewhere`, names it; `load()` prefers it from then on. It never advises to "try again":
 *   the login in the token file is spent.
 */
import { closeSync, constants, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errnoCode, LOGIN_HINT, TokenStorageError } from '../errors.js';
import { fromStoredLogin } from '../stored-login.js';
import type { StoredLogin } from '../types.js';
import { fsyncDirectorySync, problemOf, sweepOrphans } from './atomic.js';
import { Journal } from './journal.js';
import { type Lineage, lineageKey, pendingJson, removeRescues, writeRescue } from './pending.js';
import type { PreparedSave } from './types.js';

const MIN_RESERVED_BYTES = 4096;
const MAX_TOKEN_FILE_BYTES = 1 << 20;

/** The lineage key of what `target` holds now, or `undefined` when that cannot be told. */
function keyNow(target: string): string | undefined {
  try {
    if (statSync(target).size > MAX_TOKEN_FILE_BYTES) return undefined;
    return lineageKey(fromStoredLogin(JSON.parse(readFileSync(target, 'utf8')), target));
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? lineageKey(null) : undefined;
  }
}

/** Fails when `target` cannot be replaced although its directory takes new files. */
function probeReplaceable(target: string): void {
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY);
  } catch (error) {
    const code = errnoCode(error);
    // Absent: the rename creates it. EACCES: a read-only mode bit does not stop a rename.
    if (code === 'ENOENT' || code === 'EACCES') return;
    throw error;
  }
  closeSync(fd);
}

export class PreparedFileSave implements PreparedSave {
  readonly #target: string;
  readonly #journal: Journal;
  readonly #expected: string;
  readonly #lineage: Lineage;
  #used = false;

  private constructor(target: string, journal: Journal, expected: string, lineage: Lineage) {
    this.#target = target;
    this.#journal = journal;
    this.#expected = expected;
    this.#lineage = lineage;
  }

  /** Reserves the save of `target`, which holds the login named `expected`; throws the system error. */
  static prepare(target: string, expected: string, lineage: Lineage): PreparedFileSave {
    let size = MIN_RESERVED_BYTES;
    try {
      size = Math.max(size, Math.min(2 * statSync(target).size, MAX_TOKEN_FILE_BYTES));
    } catch {}
    const journal = new Journal(target, size);
    try {
      probeReplaceable(target);
    } catch (error) {
      journal.drop();
      throw error;
    }
    return new PreparedFileSave(target, journal, expected, lineage);
  }

  async commit(tokens: StoredLogin): Promise<boolean> {
    return this.commitSync(tokens);
  }

  /** `commit`, synchronously (it is synchronous throughout anyway). */
  commitSync(tokens: StoredLogin): boolean {
    if (this.#used) throw new Error('This prepared save has been used already.');
    this.#used = true;
    const journal = this.#journal;
    let json: string;
    try {
      json = pendingJson(tokens, this.#lineage, this.#target);
    } catch (error) {
      journal.drop();
      throw error;
    }
    try {
      journal.write(json);
      const now = keyNow(this.#target);
      if (now !== undefined && now !== this.#expected) {
        // Someone wrote the file without the lock (a logout, a login): theirs stands.
        journal.drop();
        return false;
      }
      renameSync(journal.path, this.#target);
    } catch (error) {
      // A journal that was written stays: after this process, `load()` finds it there too.
      if (!journal.written) journal.drop();
      throw this.#rescue(json, error, journal.written);
    } finally {
      journal.release();
    }
    fsyncDirectorySync(dirname(this.#target));
    removeRescues(this.#target);
    sweepOrphans(dirname(this.#target), basename(this.#target));
    return true;
  }

  async discard(): Promise<void> {
    if (this.#used) return;
    this.#used = true;
    this.#journal.drop();
  }

  /** Keeps the tokens somewhere `load()` finds them, and says where (or that nothing could). */
  #rescue(json: string, cause: unknown, journaled: boolean): TokenStorageError {
    const target = this.#target;
    const { why, fix } = problemOf(errnoCode(cause), dirname(target));
    const rescue = writeRescue(target, json);
    let kept: string | undefined = 'file' in rescue ? rescue.file : undefined;
    if (kept === undefined && journaled) {
      try {
        statSync(this.#journal.path);
        kept = this.#journal.path;
      } catch {}
    }
    if (kept !== undefined) {
      return new TokenStorageError(
        'saved_elsewhere',
        `The login was renewed, but ${target} could not be written (${why}). The renewed login is kept in ${kept}, and this program and later runs use it from there: do not delete it. ${fix}; the next renewal then saves the login to ${target} again and removes that copy.`,
        { path: target, cause },
      );
    }
    const failures = 'failures' in rescue ? rescue.failures.join('; ') : '';
    return new TokenStorageError(
      'write_failed',
      `The login was renewed, but it could not be saved: ${target} could not be written (${why}), and no copy could be kept elsewhere (${failures}). This program keeps using it until it exits. The refresh token in ${target} is used up, so after that the login is lost: ${fix}, then sign in again. ${LOGIN_HINT}`,
      { path: target, cause },
    );
  }
}
