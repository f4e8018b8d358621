/**
 * The keychain store: the login in the OS credential store (macOS Keychain, Windows Credential
 * Manager, the Secret Service on Linux: gnome-keyring, KWallet, KeePassXC), by default through
 * `@napi-rs/keyring` in a worker thread (`keychain-worker.ts`); any `KeychainBackend` can stand in.
 *
 * - One entry per `service`/`account` (default `anthropic-oauth`/`default`). The secret is the token
 *   file's JSON (`toStoredLogin`), compact, so it stays well inside Windows' size limit. On
 *   Linux the item's attributes are `service` and `username` (keyring-rs's names).
 * - Every keychain call is bounded (`timeoutMs`, default 3 s; `withinDeadline`). A call that times
 *   out is abandoned; until it returns, later calls fail at once instead of queueing behind it.
 * - "Unavailable" (no Secret Service, no session bus, a locked keychain whose prompt was dismissed)
 *   and "timed out" fall back to `fallback` only when one was given, calling `onFallback(reason)`
 *   every time; without a fallback they are `keychain_unavailable` / `timeout` errors saying what
 *   to do. A malformed secret is `corrupt_file`, never quoted. A locked gnome-keyring collection
 *   hides its items from searches, so it reads as no login (`null`); saving then asks to unlock it.
 * - With a fallback, `load()` also reads it and returns its login when it is newer than the
 *   keychain's (it was saved there while the keychain was unavailable), so a flapping keychain never
 *   leaves a spent refresh token in charge; `clear()` clears both.
 * - `lock()`: a keychain entry cannot be locked across processes, so refreshes run under a lock file
 *   in `~/.anthropic/` (`keychain-<service>-<account>.lock`, see `lock.ts`).
 * - `prepareSave()`, under that lock before a refresh token is spent, writes the entry back (or the
 *   login in use, when it came from another copy) and reserves a journal (`keychain-rescue.ts`): a
 *   keychain that refuses fails the renewal with nothing spent; an unavailable one with a fallback
 *   prepares the fallback's save. A renewed login the keychain refuses goes to the fallback file, else
 *   to `~/.anthropic/keychain-<service>-<account>.rescue.json`, named by the `saved_elsewhere` error;
 *   `load()` prefers it while the keychain holds the login it replaced.
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { TokenStorageError } from '../errors.js';
import { fromStoredLogin, isApiKeyLogin, toStoredLogin } from '../stored-login.js';
import type { StoredLogin } from '../types.js';
import { TokenStorage } from './file.js';
import { type KeychainBackend, type KeychainEntry, type KeychainResult, withinDeadline } from './keychain-backend.js';
import {
  fallbackLogin,
  findRescue,
  keptElsewhere,
  loadedFrom,
  noRoomForJournal,
  notRenewed,
  preparedKeychainSave,
  RescueJournal,
  removeRescue,
  renewedLost,
  rescueFileFor,
  savedIn,
} from './keychain-rescue.js';
import { napiKeyringBackend } from './keychain-worker.js';
import { withFileLock } from './lock.js';
import { nextLineage, pendingJson } from './pending.js';
import type { LoadedLogin, PreparedSave, TokenStore } from './types.js';

export type { KeychainBackend, KeychainEntry, KeychainResult } from './keychain-backend.js';

export const DEFAULT_KEYCHAIN_SERVICE = 'anthropic-oauth';
export const DEFAULT_KEYCHAIN_ACCOUNT = 'default';
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 3_000;

export interface KeychainTokenStoreOptions {
  /** The keychain service name. Default `anthropic-oauth`. */
  service?: string | undefined;
  /** The keychain account (user) name: one login per account. Default `default`. */
  account?: string | undefined;
  /**
   * Where to keep the login when the keychain is unavailable or times out: a store, or a token file
   * path (a `TokenStorage`). Default `false`: no fallback, those cases are errors.
   */
  fallback?: TokenStore | string | false | undefined;
  /**
   * Called with a sentence for people every time the fallback is used. Default: a process warning
   * (`process.emitWarning`), so a fallback is never silent.
   */
  onFallback?: ((reason: string) => void) | undefined;
  /** Bound on each keychain call, in milliseconds. Default 3000. */
  timeoutMs?: number | undefined;
  /**
   * The credential store itself. Default: the OS keychain through `@napi-rs/keyring` in a worker
   * thread. Another backend (another secret store, or one in memory for tests) gets the same
   * bounds, fallback and messages.
   */
  backend?: KeychainBackend | undefined;
}

type Op = 'get' | 'set' | 'delete';

/** Unavailable or timed out: the two cases a fallback covers. */
const FALLBACK_CODES = new Set(['keychain_unavailable', 'timeout']);

const MAX_DETAIL_CHARS = 300;
const detailOf = (message: string) =>
  message.length <= MAX_DETAIL_CHARS ? message : `${message.slice(0, MAX_DETAIL_CHARS)}…`;

/** A file-name-safe piece of the lock file name. */
const safeName = (value: string) => value.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);

export class KeychainTokenStore implements TokenStore {
  readonly service: string;
  readonly account: string;
  readonly timeoutMs: number;
  /** The file whose lock (`<file>.lock`) serializes refreshes across processes. */
  readonly lockFile: string;
  /** Where a renewed login the keychain refused is kept (`keychain-rescue.ts`). */
  readonly rescueFile: string;
  readonly #backend: KeychainBackend;
  readonly #fallback: TokenStore | null;
  readonly #onFallback: (reason: string) => void;
  /** Short reasons for the `onFallback` sentence, by error. */
  readonly #reasons = new WeakMap<Error, string>();

  constructor(options: KeychainTokenStoreOptions = {}) {
    this.service = options.service ?? DEFAULT_KEYCHAIN_SERVICE;
    this.account = options.account ?? DEFAULT_KEYCHAIN_ACCOUNT;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    if (typeof this.service !== 'string' || this.service === '')
      throw new TypeError('service must be a non-empty string.');
    if (typeof this.account !== 'string' || this.account === '')
      throw new TypeError('account must be a non-empty string.');
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0)
      throw new TypeError('timeoutMs must be a positive number.');
    this.#backend = options.backend ?? napiKeyringBackend;
    const { fallback } = options;
    this.#fallback =
      fallback === undefined || fallback === false
        ? null
        : typeof fallback === 'string'
          ? new TokenStorage(fallback)
          : fallback;
    this.#onFallback =
      options.onFallback ?? ((reason) => process.emitWarning(reason, { code: 'ANTHROPIC_OAUTH_KEYCHAIN_FALLBACK' }));
    this.lockFile = join(homedir(), '.anthropic', `keychain-${safeName(this.service)}-${safeName(this.account)}`);
    this.rescueFile = rescueFileFor(this.lockFile);
  }

  /** How errors name this entry (`TokenStorageError.path`). */
  get location(): string {
    return `keychain:${this.service}/${this.account}`;
  }

  async load(): Promise<StoredLogin | null> {
    return (await this.loadDetailed()).tokens;
  }

  /** `load()`, naming the copy the login came from when it was not the keychain entry itself. */
  async loadDetailed(): Promise<LoadedLogin> {
    let secret: string | null;
    try {
      secret = await this.#call('get', (backend, entry) => backend.get(entry));
    } catch (error) {
      const fallback = this.#fallbackFor(error);
      if (!fallback) throw error;
      this.#notify(error, `reading the login from ${this.#fallbackName()} instead`);
      const loaded = await loadedFrom(fallback);
      const from = loaded.tokens ? (loaded.recoveredFrom ?? this.#fallbackPlace()) : undefined;
      return { tokens: loaded.tokens, recoveredFrom: from };
    }
    const { tokens, recoveredFrom } = await this.#resolve(secret, true);
    return { tokens, recoveredFrom };
  }

  /** The login in use, given the keychain's secret: its own, or a newer copy (fallback, rescue). */
  async #resolve(secret: string | null, notify: boolean): Promise<LoadedLogin> {
    const keychain = secret === null ? null : this.#parse(secret);
    const say = notify ? this.#onFallback : () => {};
    let tokens = keychain;
    let recoveredFrom: string | undefined;
    if (this.#fallback) {
      // A login saved to the fallback while the keychain was unavailable may be newer than this one.
      const other = await fallbackLogin(this.#fallback);
      if (other.tokens && isNewer(other.tokens, keychain)) {
        say(
          `${this.#fallbackName()} holds a newer login than the OS keychain (${this.location}), saved there while the keychain was unavailable; using it. The next save puts it back in the keychain.`,
        );
        tokens = other.tokens;
        recoveredFrom = other.recoveredFrom ?? this.#fallbackPlace();
      }
    }
    const rescue = await findRescue(this.location, this.rescueFile, keychain);
    if (rescue && !(tokens !== null && recoveredFrom !== undefined && isNewer(tokens, rescue.tokens))) {
      say(
        `${rescue.file} holds a renewed login that the OS keychain (${this.location}) did not take; using it. The next renewal saves it to the keychain and removes that copy.`,
      );
      tokens = rescue.tokens;
      recoveredFrom = rescue.file;
    }
    return { tokens, recoveredFrom };
  }

  async save(tokens: StoredLogin): Promise<void> {
    const secret = serialize(tokens);
    try {
      await this.#call('set', (backend, entry) => backend.set(entry, secret));
    } catch (error) {
      const fallback = this.#fallbackFor(error);
      if (!fallback) throw error;
      this.#notify(error, `saving the login to ${this.#fallbackName()} instead`);
      await fallback.save(tokens);
    }
    removeRescue(this.rescueFile);
  }

  async clear(): Promise<void> {
    try {
      await this.#call('delete', (backend, entry) => backend.delete(entry));
    } catch (error) {
      const fallback = this.#fallbackFor(error);
      if (!fallback) throw error;
      this.#notify(error, `the keychain entry was not deleted; clearing ${this.#fallbackName()} only`);
      await fallback.clear();
      removeRescue(this.rescueFile);
      return;
    }
    await this.#fallback?.clear();
    removeRescue(this.rescueFile);
  }

  /**
   * Proves, under the lock and before a refresh token is spent, that the renewed login can be kept
   * (see `TokenStore.prepareSave` and the header). Throws a `TokenStorageError` saying what to fix,
   * with nothing spent.
   */
  async prepareSave(): Promise<PreparedSave> {
    let expected: string | null;
    let holds: StoredLogin | null;
    try {
      const secret = await this.#call('get', (backend, entry) => backend.get(entry));
      const found = await this.#resolve(secret, false);
      // Write back what the entry holds; a login in use from another copy goes into the keychain.
      expected = found.recoveredFrom === undefined ? secret : found.tokens && serialize(found.tokens);
      holds = found.tokens;
      const probe = expected;
      if (probe !== null) await this.#call('set', (backend, entry) => backend.set(entry, probe));
    } catch (error) {
      const fallback = this.#fallbackFor(error);
      if (!fallback) throw notRenewed(this.location, error);
      // Said before the refresh: the renewed login does not exist yet, and a failed refresh saves none.
      this.#notify(error, `a renewed login will be saved to ${this.#fallbackName()} instead`);
      if (fallback.prepareSave) return fallback.prepareSave();
      return { commit: (tokens) => fallback.save(tokens).then(() => true), discard: async () => {} };
    }
    let journal: RescueJournal;
    try {
      journal = new RescueJournal(this.rescueFile);
    } catch (error) {
      throw noRoomForJournal(this.location, dirname(this.rescueFile), error);
    }
    return preparedKeychainSave({
      journal,
      json: (tokens) => pendingJson(tokens, nextLineage(holds, undefined), this.rescueFile),
      read: () => this.#call('get', (backend, entry) => backend.get(entry)),
      expected,
      write: (tokens) => {
        const secret = serialize(tokens);
        return this.#call('set', (backend, entry) => backend.set(entry, secret));
      },
      saved: () => removeRescue(this.rescueFile),
      refused: (tokens, error) => this.#rescue(tokens, error, journal),
    });
  }

  /** Runs `fn` under a cross-process lock file in `~/.anthropic/` (the keychain has no locks). */
  async lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    await fs.mkdir(dirname(this.lockFile), { recursive: true, mode: 0o700 }).catch(() => {});
    return withFileLock(this.lockFile, fn, whileWaiting);
  }

  [inspect.custom](): string {
    const fallback =
      this.#fallback === null ? 'none' : this.#fallback instanceof TokenStorage ? this.#fallback.path : 'custom store';
    return `KeychainTokenStore { service: ${inspect(this.service)}, account: ${inspect(this.account)}, fallback: ${fallback} }`;
  }

  #fallbackFor(error: unknown): TokenStore | null {
    return this.#fallback && error instanceof TokenStorageError && FALLBACK_CODES.has(error.code)
      ? this.#fallback
      : null;
  }

  /** The keychain refused a renewed login: keep it in the fallback or the rescue file, and say where. */
  async #rescue(tokens: StoredLogin, error: unknown, journal: RescueJournal): Promise<boolean> {
    const why =
      (error instanceof Error && this.#reasons.get(error)) || (error instanceof Error ? error.message : 'error');
    if (this.#fallback && (await savedIn(this.#fallback, tokens))) {
      journal.drop();
      if (!this.#fallbackFor(error)) throw keptElsewhere(this.location, why, this.#fallbackName(), error);
      this.#notify(error, `saving the login to ${this.#fallbackName()} instead`);
      return true;
    }
    const kept = journal.keep();
    throw kept === undefined
      ? renewedLost(this.location, why, dirname(this.rescueFile), error)
      : keptElsewhere(this.location, why, kept, error);
  }

  /** How `recoveredFrom` names the fallback: its file, or "fallback store". */
  #fallbackPlace(): string {
    return this.#fallback instanceof TokenStorage ? this.#fallback.path : 'fallback store';
  }

  #fallbackName(): string {
    return this.#fallback instanceof TokenStorage ? `the token file ${this.#fallback.path}` : 'the fallback store';
  }

  #notify(error: unknown, action: string): void {
    const why = (error instanceof Error && this.#reasons.get(error)) || 'the OS keychain is unavailable';
    this.#onFallback(`${why}; ${action}.`);
  }

  #parse(secret: string): StoredLogin {
    const corrupt = (what: string, cause?: unknown) =>
      new TokenStorageError(
        'corrupt_file',
        `The keychain entry ${this.location} is not a valid login (${what}). Run \`npx anthropic-oauth login --store keychain\` to replace it.`,
        { path: this.location, cause },
      );
    let data: unknown;
    try {
      data = JSON.parse(secret);
    } catch {
      throw corrupt(secret.trim() === '' ? 'empty' : 'not valid JSON');
    }
    try {
      return fromStoredLogin(data, this.location);
    } catch (error) {
      // Its message says which field is wrong (never a value): keep that part.
      const what = error instanceof Error ? /not a valid login \(([^)]+)\)/.exec(error.message)?.[1] : undefined;
      throw corrupt(what ?? 'not the token file format', error);
    }
  }

  async #call<T>(
    op: Op,
    run: (backend: KeychainBackend, entry: KeychainEntry) => Promise<KeychainResult<T>>,
  ): Promise<T> {
    const backend = this.#backend;
    const entry = { service: this.service, account: this.account };
    let result: KeychainResult<T>;
    try {
      result = await withinDeadline(backend, this.timeoutMs, () => run(backend, entry));
    } catch (error) {
      if (error instanceof TokenStorageError) throw error;
      result = { ok: false, kind: 'failed', detail: error instanceof Error ? error.message : String(error) };
    }
    if (result.ok) return result.value;
    if (result.kind === 'timeout') {
      const why =
        result.stuckMs === undefined
          ? `the OS keychain did not answer within ${this.timeoutMs} ms`
          : `an earlier OS keychain call has not returned for ${Math.round(result.stuckMs / 1000)} s`;
      throw this.#error(
        'timeout',
        `${capitalize(why)} (${this.location}): a locked keychain may be waiting for its unlock prompt, or the Secret Service is not responding. Unlock the keychain and try again, use the file store (\`--store file\`), or allow the file fallback.`,
        why,
      );
    }
    const detail = detailOf(result.detail);
    if (result.kind === 'unavailable') {
      const hint =
        process.platform === 'linux'
          ? 'On Linux it needs a Secret Service (gnome-keyring, KWallet or KeePassXC) on the D-Bus session bus: run in a desktop session, or start one (e.g. `dbus-run-session -- sh -c "echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; YOUR_COMMAND"`).'
          : 'Unlock it (or allow this program to use it) and try again.';
      throw this.#error(
        'keychain_unavailable',
        `The OS keychain is unavailable (${detail}). ${hint} Or use the file store (\`--store file\`), or allow the file fallback.`,
        `the OS keychain is unavailable (${detail})`,
      );
    }
    throw this.#error(
      op === 'get' ? 'read_failed' : 'write_failed',
      `The OS keychain could not ${op === 'get' ? 'read' : op === 'set' ? 'save' : 'delete'} ${this.location} (${detail}).`,
      detail,
    );
  }

  #error(code: TokenStorageError['code'], message: string, reason: string): TokenStorageError {
    const error = new TokenStorageError(code, message, { path: this.location });
    this.#reasons.set(error, reason);
    return error;
  }
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The secret: the token file's JSON, compact. */
const serialize = (tokens: StoredLogin) => JSON.stringify(toStoredLogin(tokens));

/**
 * True when `a` is a later login than `b` (or `b` is none). Unknown expiries never win, nor does an
 * API-key login (it has no expiry) over a login in the keychain.
 */
function isNewer(a: StoredLogin, b: StoredLogin | null): boolean {
  if (b === null) return true;
  if (isApiKeyLogin(a) || isApiKeyLogin(b)) return false;
  if (a.accessToken === b.accessToken || a.expiresAt === null || b.expiresAt === null) return false;
  return a.expiresAt > b.expiresAt;
}
