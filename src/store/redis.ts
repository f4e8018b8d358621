/**
 * The Redis token store (`anthropic-oauth/redis`): one login shared by every machine that reaches
 * the same Redis (a devcontainer and its host, workstations, CI runners, agent workers), refreshed
 * once for all of them.
 *
 * - The login is a hash at `key` (default `anthropic-oauth:<profile>`): `rev`, a random revision
 *   new at every write, and `login`, the token file's JSON, or its AES-256-GCM encryption with
 *   `encryptionKey` (`redis-value.ts`). Nothing else is stored, and nothing expires by itself.
 * - `lock()` is a lock in Redis at `<key>:lock` (`redis-lease.ts`), with the file lock's guarantees
 *   across machines: one holder at a time, a dead holder let go of within `lockTtlMs`, waits bounded
 *   and ended early by `whileWaiting`. `save()` and `clear()` do not take it (callers hold it).
 * - `prepareSave()`, called under the lock just before a refresh token is spent, checks in one
 *   script that the lock is still this holder's and that the login is the one read under it, and
 *   makes the lock last `refreshLeaseMs`, so a holder paused after sending is waited for rather
 *   than raced. Its `commit` is a compare-and-swap on the revision read then: a holder whose lock
 *   expired (a paused process, a network partition) can never overwrite newer tokens. A holder that
 *   finds the lock lost before spending spends nothing: `lock()` takes the lock again and runs the
 *   refresh again, which then finds the tokens the other holder saved.
 * - Redis unreachable: every call is bounded (`timeoutMs`, `redis-link.ts`) and fails with
 *   `store_unavailable`, before anything is spent; the token source then serves a token that is still
 *   valid. A commit that cannot reach Redis after the refresh keeps the renewed login in this
 *   process (`load()` returns it) and writes it as soon as Redis answers (`saved_elsewhere`).
 * - No `saveSync`: Redis cannot be written synchronously, so a process that calls `process.exit()`
 *   between a refresh and its commit loses the renewed login (the file store keeps it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ENV_PROFILE, ENV_REDIS_URL } from '../env-variables.js';
import { TokenStorageError } from '../errors.js';
import type { StoredLogin } from '../types.js';
import { DEFAULT_PROFILE } from './profile-name.js';
import { validateProfileName } from './profiles.js';
import { acquire, keepAlive, type Lease, LeaseLost, release } from './redis-lease.js';
import { type RedisCommandClient, RedisLink, RedisReplyError, reasonOf } from './redis-link.js';
import { COMMIT, evalArgs, GATE, LOAD, SAVE } from './redis-scripts.js';
import { parseRedisUrl, type RedisUrl } from './redis-url.js';
import { encryptionKeyFrom, LoginCodec } from './redis-value.js';
import type { PreparedSave, TokenStore } from './types.js';

export type { RedisCommandClient } from './redis-link.js';

export const DEFAULT_LOCK_TTL_MS = 5_000;
export const DEFAULT_LOCK_WAIT_MS = 15_000;
export const DEFAULT_REFRESH_LEASE_MS = 30_000;
export const DEFAULT_REDIS_TIMEOUT_MS = 3_000;
/** A login is under 2 KiB; a larger value is not read. */
const MAX_LOGIN_BYTES = 64 * 1024;
/** Times `lock()` takes the lock again after losing it before anything was spent. */
const MAX_HOLDS = 3;
/** A renewed login that Redis could not take is written again this often until it is. */
const PENDING_RETRY_MS = 500;

export interface RedisTokenStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. Default: `ANTHROPIC_OAUTH_REDIS_URL`. */
  url?: string | undefined;
  /**
   * A connected node-redis client to use instead of `url` (anything with node-redis' `sendCommand`).
   * It is yours: the store never connects, closes or reconfigures it.
   */
  client?: RedisCommandClient | undefined;
  /** The Redis key of the login. Default `anthropic-oauth:<profile>`. The lock is `<key>:lock`. */
  key?: string | undefined;
  /** The profile whose default key is used. Default `ANTHROPIC_OAUTH_PROFILE`, else `default`. */
  profile?: string | undefined;
  /**
   * 32 bytes (a `Uint8Array`, 64 hex digits or base64): the login is then stored encrypted with
   * AES-256-GCM, and a login in clear is refused. Every program sharing the login needs the same key.
   */
  encryptionKey?: Uint8Array | string | undefined;
  /** How long the lock lasts unless its holder renews it (a dead holder is let go after this). Default 5000. */
  lockTtlMs?: number | undefined;
  /** How long to wait for the lock before `lock_timeout`. Default 15000. */
  lockWaitMs?: number | undefined;
  /** How long the lock lasts once a refresh token has been sent, if its holder stops renewing it. Default 30000. */
  refreshLeaseMs?: number | undefined;
  /** Bound on each call to Redis, reconnections included. Default 3000. */
  timeoutMs?: number | undefined;
}

/** A renewed login that Redis could not take yet, and the compare-and-swap that writes it. */
interface Pending {
  tokens: StoredLogin;
  expected: string;
  rev: string;
  value: string;
}

/** The hold of the lock that the code running now is inside, per store. */
const holds = new AsyncLocalStorage<{ store: RedisTokenStore; lease: Lease }>();

const newRev = () => randomBytes(16).toString('hex');

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds.`);
  return value;
}

export class RedisTokenStore implements TokenStore {
  /** The Redis key of the login. */
  readonly key: string;
  /** The Redis key of the lock. */
  readonly lockKey: string;
  /** Where the login is, as messages and `status` show it: `redis://user:****@host:port/db key K`. */
  readonly location: string;
  readonly #link: RedisLink;
  readonly #codec: LoginCodec;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  /** A renewed login Redis could not take yet: written as soon as it can be. */
  #pending: Pending | undefined;
  #pendingTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisTokenStoreOptions = {}) {
    let url: RedisUrl | undefined;
    if (options.client === undefined) {
      const given = options.url ?? process.env[ENV_REDIS_URL];
      if (given === undefined || given.trim() === '') {
        throw new TypeError(`RedisTokenStore needs a url (or ${ENV_REDIS_URL}) or a connected client.`);
      }
      url = parseRedisUrl(given.trim(), options.url === undefined ? ENV_REDIS_URL : 'url');
    } else if (options.url !== undefined) {
      throw new TypeError('Give RedisTokenStore a url or a client, not both.');
    } else if (typeof options.client?.sendCommand !== 'function') {
      throw new TypeError('client must be a node-redis client (with sendCommand).');
    }
    const profile = validateProfileName(options.profile ?? (process.env[ENV_PROFILE]?.trim() || DEFAULT_PROFILE));
    this.key = options.key ?? `anthropic-oauth:${profile}`;
    if (typeof this.key !== 'string' || this.key === '' || this.key.length > 512 || /[\s\p{Cc}]/u.test(this.key)) {
      throw new TypeError('key must be 1 to 512 characters, with no spaces or control characters.');
    }
    this.lockKey = `${this.key}:lock`;
    this.location = `${url ? url.shown : 'the Redis client given'} key ${this.key}`;
    this.#lockTtlMs = positive('lockTtlMs', options.lockTtlMs, DEFAULT_LOCK_TTL_MS);
    this.#lockWaitMs = positive('lockWaitMs', options.lockWaitMs, DEFAULT_LOCK_WAIT_MS);
    this.#leaseMs = Math.max(
      this.#lockTtlMs,
      positive('refreshLeaseMs', options.refreshLeaseMs, DEFAULT_REFRESH_LEASE_MS),
    );
    const key = options.encryptionKey === undefined ? null : encryptionKeyFrom(options.encryptionKey);
    this.#codec = new LoginCodec(key, this.key, this.location);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_REDIS_TIMEOUT_MS);
    this.#link = new RedisLink({ url, client: options.client, timeoutMs: this.#timeoutMs, where: this.location });
  }

  /** True when logins are stored encrypted (`encryptionKey`). */
  get encrypted(): boolean {
    return this.#codec.encrypted;
  }

  async load(): Promise<StoredLogin | null> {
    const pending = this.#pending;
    if (pending && !(await this.#flushPending())) return structuredClone(pending.tokens);
    const { rev, value } = await this.#read();
    const hold = this.#hold();
    if (hold) hold.rev = rev;
    return value === null ? null : this.#codec.decode(value);
  }

  async save(tokens: StoredLogin): Promise<void> {
    const reply = await this.#write(evalArgs(SAVE, [this.key], [newRev(), this.#codec.encode(tokens)]), 'saved');
    if (Array.isArray(reply)) throw this.#wrongType(String(reply[1]), 'saved');
    this.#dropPending();
  }

  async clear(): Promise<void> {
    await this.#write(['DEL', this.key], 'removed');
    this.#dropPending();
  }

  /** Runs `fn` holding the lock in Redis (see the header and `redis-lease.ts`). */
  async lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    const timings = { ttlMs: this.#lockTtlMs, waitMs: this.#lockWaitMs };
    for (let hold = 1; ; hold++) {
      const got = await acquire(this.#link, this.lockKey, this.location, timings, whileWaiting).catch((error) => {
        throw this.#lockKeyError(error);
      });
      if ('value' in got) return got.value;
      const { lease } = got;
      const stop = keepAlive(this.#link, this.lockKey, lease, this.#lockTtlMs);
      try {
        return await holds.run({ store: this, lease }, fn);
      } catch (error) {
        // Lost before anything was spent: take the lock again and run `fn` again.
        if (error instanceof LeaseLost && error.lease === lease && hold < MAX_HOLDS) continue;
        throw error;
      } finally {
        stop();
        await release(this.#link, this.lockKey, lease);
      }
    }
  }

  /**
   * The last check before a refresh token is spent, and the compare-and-swap after (see the header).
   * Outside `lock()` only the compare-and-swap: on the revision found now.
   */
  async prepareSave(): Promise<PreparedSave> {
    const hold = this.#hold();
    let expected: string;
    if (hold) {
      const reply = await this.#link.call(
        evalArgs(GATE, [this.lockKey, this.key], [hold.owner, this.#leaseMs, hold.rev ?? '*']),
      );
      const [state, rev] = Array.isArray(reply) ? reply.map(String) : [];
      if (state === 'lost')
        throw new LeaseLost(
          hold,
          this.location,
          'it lasted less than this process was paused or cut off from Redis, and another process took it',
        );
      if (state === 'changed')
        throw new LeaseLost(hold, this.location, 'the login was changed by a program that did not take the lock');
      expected = rev ?? '';
    } else {
      expected = (await this.#read()).rev;
    }
    let used = false;
    return {
      commit: async (tokens) => {
        if (used) throw new Error('This prepared save has been used already.');
        used = true;
        return this.#commit(tokens, expected);
      },
      discard: async () => {
        used = true;
      },
    };
  }

  /** Closes the connection this store opened from `url` (a client you passed is left open). */
  async close(): Promise<void> {
    clearInterval(this.#pendingTimer);
    await this.#link.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [inspect.custom](): string {
    return `RedisTokenStore { ${this.location}${this.encrypted ? ', encrypted' : ''} }`;
  }

  #hold(): Lease | undefined {
    const held = holds.getStore();
    return held?.store === this ? held.lease : undefined;
  }

  async #read(): Promise<{ rev: string; value: string | null }> {
    let reply: unknown;
    try {
      reply = await this.#link.call(evalArgs(LOAD, [this.key], [MAX_LOGIN_BYTES]));
    } catch (error) {
      throw this.#replyError(error, 'read');
    }
    const [state, a, b] = Array.isArray(reply) ? reply.map((part) => (part === null ? '' : String(part))) : [];
    if (state === 'none') return { rev: '', value: null };
    if (state === 'type') throw this.#wrongType(a ?? 'unknown', 'read');
    if (state === 'large') {
      throw new TokenStorageError(
        'corrupt_file',
        `The login in ${this.location} is ${a} bytes, so it is not a login. Run \`npx anthropic-oauth login --store redis\` to replace it.`,
        { path: this.location },
      );
    }
    return { rev: a ?? '', value: b ?? '' };
  }

  async #write(args: string[], what: string): Promise<unknown> {
    try {
      return await this.#link.call(args);
    } catch (error) {
      throw this.#replyError(error, what);
    }
  }

  async #commit(tokens: StoredLogin, expected: string): Promise<boolean> {
    const pending = { tokens: structuredClone(tokens), expected, rev: newRev(), value: this.#codec.encode(tokens) };
    let reply: unknown;
    try {
      // The refresh token is spent now: Redis gets twice the usual time to take its successor.
      const args = evalArgs(COMMIT, [this.key], [expected, pending.rev, pending.value]);
      reply = await this.#link.call(args, 2 * this.#timeoutMs);
    } catch (error) {
      if (!(error instanceof TokenStorageError && error.code === 'store_unavailable'))
        throw this.#replyError(error, 'saved');
      this.#keepPending(pending);
      throw new TokenStorageError(
        'saved_elsewhere',
        `The login was renewed, but Redis could not take it (${reasonOf(error)}). This process keeps the renewed login in memory and writes it to ${this.location} as soon as Redis answers: do not stop this program before then, or the login is lost (the refresh token still in Redis is used up). Start Redis, or check its address.`,
        { path: this.location, cause: error },
      );
    }
    return reply === 1;
  }

  /** Keeps a renewed login that Redis could not take, and tries to write it every `PENDING_RETRY_MS`. */
  #keepPending(pending: Pending): void {
    this.#pending = pending;
    clearInterval(this.#pendingTimer);
    this.#pendingTimer = setInterval(() => void this.#flushPending().catch(() => {}), PENDING_RETRY_MS);
    this.#pendingTimer.unref();
  }

  /** Writes the pending login (compare and swap, as its commit): true once it is no longer pending. */
  async #flushPending(): Promise<boolean> {
    const pending = this.#pending;
    if (!pending) return true;
    try {
      await this.#link.call(evalArgs(COMMIT, [this.key], [pending.expected, pending.rev, pending.value]));
    } catch {
      return false;
    }
    // Written, or the login changed meanwhile (a login, a logout): either way Redis is right now.
    if (this.#pending === pending) this.#dropPending();
    return true;
  }

  #dropPending(): void {
    this.#pending = undefined;
    clearInterval(this.#pendingTimer);
    this.#pendingTimer = undefined;
  }

  #wrongType(type: string, what: string): TokenStorageError {
    return new TokenStorageError(
      what === 'read' ? 'corrupt_file' : 'write_failed',
      `The Redis key ${this.key} (${this.location}) holds a ${type}, not a login, so no login could be ${what} there; it was left alone. Use another key (the key option, or another --profile).`,
      { path: this.location },
    );
  }

  /** A lock key of another type (someone else's data under `<key>:lock`): it is not ours to remove. */
  #lockKeyError(error: unknown): unknown {
    if (!(error instanceof RedisReplyError) || error.reply !== 'WRONGTYPE') return error;
    return new TokenStorageError(
      'lock_unavailable',
      `The Redis key ${this.lockKey} (the lock of the login in ${this.location}) holds a value of another type, so the login cannot be locked; nothing was changed. Remove that key if nothing else uses it (\`DEL ${this.lockKey}\` in redis-cli), or use another key (the key option, or another --profile).`,
      { path: this.location, cause: error },
    );
  }

  /** A Redis error reply as a `TokenStorageError`; other errors pass through. */
  #replyError(error: unknown, what: string): unknown {
    if (!(error instanceof RedisReplyError)) return error;
    if (error.reply === 'WRONGTYPE') return this.#wrongType('value of another type', what);
    return new TokenStorageError(
      what === 'read' ? 'read_failed' : 'write_failed',
      `Redis refused to let the login in ${this.location} be ${what} (${error.reply}); nothing was changed. ${error.reply === 'READONLY' ? 'This is a read-only replica: point the URL at the primary.' : error.reply === 'OOM' || error.reply === 'MISCONF' ? 'Redis cannot write now (out of memory, or persistence failing): see its log.' : 'See the Redis log.'}`,
      { path: this.location, cause: error },
    );
  }
}
