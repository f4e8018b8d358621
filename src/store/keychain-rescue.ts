/**
 * Where the keychain store keeps a renewed login the OS keychain would not take: a file beside its
 * lock file, `~/.anthropic/keychain-<service>-<account>.rescue.json` (0600, in a 0700 directory).
 *
 * - The journal: `prepareSave()` reserves a temporary file beside it (`.<rescue>.<pid>.<random>.tmp`,
 *   4 KiB of spaces, fsynced) before the refresh token is spent; the commit writes the renewed login
 *   into it, synchronously, before its first `await`, so a `process.exit()` or a crash during the
 *   keychain's write (up to `timeoutMs`) leaves it behind for the next run. A keychain that takes the
 *   login removes it; one that refuses gets it renamed into the rescue file.
 * - The commit (`preparedKeychainSave`): the journal, then compare and swap on the entry's secret
 *   (someone who wrote it without the lock wins), then the write; the store decides where a login
 *   the keychain refused goes (its fallback, else the rescue file) and words the errors here.
 * - Same format and rule as the file store's copies (`pending.ts`): the token file's JSON plus a
 *   `lineage` naming (hashed) the logins it replaces. `load()` uses the newest copy whose lineage
 *   holds the keychain's current login: the keychain then holds a spent refresh token, and sending it
 *   would revoke the login. A later login, a logout or any save that reaches the keychain leaves such
 *   copies stale and removes them. Only small regular files of ours, not group- or
 *   world-accessible and not symlinks, are used; any other is ignored (and never quoted), except a
 *   rescue file of ours for this login that others can read: that is refused with the `chmod` to
 *   run, as a token file is, since passing over it would send the keychain's spent refresh token.
 */
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errnoCode, LOGIN_HINT, TokenStorageError } from '../errors.js';
import type { StoredLogin } from '../types.js';
import { fsyncDirectorySync, problemOf, sweepOrphans } from './atomic.js';
import { Journal } from './journal.js';
import { journalFiles, newestPending, type Pending } from './pending.js';
import type { LoadedLogin, PreparedSave, TokenStore } from './types.js';

const RESERVED_BYTES = 4096;

/** The rescue file of the keychain entry whose lock file (without `.lock`) is `lockFile`. */
export const rescueFileFor = (lockFile: string): string => `${lockFile}.rescue.json`;

/** The newest rescue copy or journal of `rescueFile` that replaces `current`, the keychain's login. */
export async function findRescue(
  location: string,
  rescueFile: string,
  current: StoredLogin | null,
): Promise<Pending | undefined> {
  // A copy other users can read is refused by newestPending, naming the keychain entry it replaces.
  return newestPending([rescueFile, ...(await journalFiles(rescueFile))], rescueFile, current, location);
}

/** Removes the rescue copy and the journals of writers that died: the keychain has the newest login. */
export function removeRescue(rescueFile: string): void {
  try {
    unlinkSync(rescueFile);
  } catch {}
  sweepOrphans(dirname(rescueFile), basename(rescueFile));
}

/**
 * The journal of one renewed login (`journal.ts`), beside the rescue file it is renamed into when
 * the keychain refuses the login. Throws the system error when it cannot be reserved.
 */
export class RescueJournal {
  readonly #journal: Journal;
  readonly #rescueFile: string;

  constructor(rescueFile: string) {
    mkdirSync(dirname(rescueFile), { recursive: true, mode: 0o700 });
    this.#rescueFile = rescueFile;
    this.#journal = new Journal(rescueFile, RESERVED_BYTES);
  }

  get path(): string {
    return this.#journal.path;
  }

  /** Writes `json` into the reserved space and fsyncs it; false when that failed (the disk, not us). */
  write(json: string): boolean {
    try {
      this.#journal.write(json);
    } catch {}
    return this.#journal.written;
  }

  /**
   * Makes the written journal the rescue copy; returns where the login is kept now (the rescue
   * file, or the journal itself when the rename failed), or `undefined` when it was never written.
   */
  keep(): string | undefined {
    if (!this.#journal.written) {
      this.#journal.drop();
      return undefined;
    }
    this.#journal.release();
    try {
      renameSync(this.path, this.#rescueFile);
    } catch {
      return this.path;
    }
    fsyncDirectorySync(dirname(this.#rescueFile));
    return this.#rescueFile;
  }

  /** Removes the journal: the login is where it belongs, or no login came. Never throws. */
  drop(): void {
    this.#journal.drop();
  }
}

/** What a keychain's prepared save needs from its store. */
export interface KeychainSaveSteps {
  /** Reserved by `prepareSave`. */
  journal: RescueJournal;
  /** The journal's contents for `tokens` (with their lineage). */
  json(tokens: StoredLogin): string;
  /** The entry's secret now; rejects when it cannot be read. */
  read(): Promise<string | null>;
  /** What the entry held (or was written back with) when the save was prepared. */
  expected: string | null;
  write(tokens: StoredLogin): Promise<void>;
  /** After the keychain took the login. */
  saved(): void;
  /** The keychain refused: keeps the login elsewhere and throws saying where (or resolves `true`). */
  refused(tokens: StoredLogin, error: unknown): Promise<boolean>;
}

/**
 * The keychain's `PreparedSave`: the journal first (synchronously), then compare and swap on the
 * entry's secret, then the write. The journal goes when the keychain took the login or someone wrote
 * the entry without the lock (theirs stands, `false`); `refused` decides what happens otherwise.
 */
export function preparedKeychainSave(steps: KeychainSaveSteps): PreparedSave {
  const { journal } = steps;
  let used = false;
  return {
    commit: async (tokens) => {
      if (used) throw new Error('This prepared save has been used already.');
      used = true;
      let json: string;
      try {
        json = steps.json(tokens);
      } catch (error) {
        journal.drop();
        throw error;
      }
      // Before the first `await`: from here on, a crash or `process.exit()` leaves the journal.
      journal.write(json);
      try {
        // Unreadable now: nobody who respects the lock can have changed it, so the save goes ahead.
        const now = await steps.read().catch(() => undefined);
        if (now !== undefined && now !== steps.expected) {
          journal.drop();
          return false;
        }
        await steps.write(tokens);
      } catch (error) {
        return steps.refused(tokens, error);
      }
      journal.drop();
      steps.saved();
      return true;
    },
    discard: async () => {
      if (used) return;
      used = true;
      journal.drop();
    },
  };
}

/** `saved_elsewhere`: the keychain (`location`) refused a renewed login, kept in `place` instead. */
export function keptElsewhere(location: string, why: string, place: string, cause: unknown): TokenStorageError {
  return new TokenStorageError(
    'saved_elsewhere',
    `The login was renewed, but the OS keychain did not save it to ${location} (${why}). The renewed login is kept in ${place}, and this program and later runs use it from there: do not delete it. Once the keychain takes writes again (unlocked, reachable, this program allowed to change the entry), the next renewal saves it there and removes that copy.`,
    { path: location, cause },
  );
}

/** `renewedLost`: the keychain refused a renewed login and no copy could be kept in `dir` either. */
export function renewedLost(location: string, why: string, dir: string, cause: unknown): TokenStorageError {
  return new TokenStorageError(
    'write_failed',
    `The login was renewed, but the OS keychain did not save it to ${location} (${why}), and no copy could be kept in ${dir}. This program keeps using it until it exits. The refresh token in ${location} is used up, so after that the login is lost. ${LOGIN_HINT}`,
    { path: location, cause },
  );
}

/** A failed `prepareSave` on the keychain: nothing was spent, so its own advice (even "try again") is safe. */
export function notRenewed(location: string, error: unknown): unknown {
  if (!(error instanceof TokenStorageError)) return error;
  return new TokenStorageError(
    error.code,
    `The login in ${location} was not renewed: renewing uses up the refresh token it holds, and the OS keychain could not save the renewed login. Nothing was spent or changed. ${error.message}`,
    { path: location, cause: error },
  );
}

/** The journal could not be reserved in `dir`: the renewal stops before anything is spent. */
export function noRoomForJournal(location: string, dir: string, error: unknown): TokenStorageError {
  const { why, fix, code } = problemOf(errnoCode(error), dir);
  return new TokenStorageError(
    code,
    `The login in ${location} was not renewed: renewing uses up the refresh token it holds, and ${dir} could not take the copy kept while the keychain saves the renewed login (${why}). Nothing was spent or changed. ${fix}, then run this again.`,
    { path: location, cause: error },
  );
}

/** `store.loadDetailed()`, or `load()` for a store without it. */
export const loadedFrom = async (store: TokenStore): Promise<LoadedLogin> =>
  store.loadDetailed ? store.loadDetailed() : { tokens: await store.load() };

/**
 * The fallback's login, to weigh against the keychain's: none when it cannot be read, but a copy
 * refused for its mode (a file or rescue copy others can read) is thrown, not passed over: it may
 * hold the only live refresh token, and its `chmod` is the fix.
 */
export const fallbackLogin = (store: TokenStore): Promise<LoadedLogin> =>
  loadedFrom(store).catch((error: unknown) => {
    if (error instanceof TokenStorageError && error.code === 'permission_denied') throw error;
    return { tokens: null };
  });

/** Whether `store` took `tokens` (a fallback, after the keychain refused them). */
export const savedIn = (store: TokenStore, tokens: StoredLogin): Promise<boolean> =>
  store.save(tokens).then(
    () => true,
    () => false,
  );
