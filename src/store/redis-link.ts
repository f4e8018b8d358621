/**
 * The Redis token store's connection: every command it sends goes through `RedisLink.call`.
 *
 * - A client made from `url` is ours: it is created on first use from the `redis` package (an
 *   optional peer dependency, loaded then and only then), with no offline queue and no reconnect
 *   loop of its own, so a command never waits in a queue behind a dead connection. A command finds
 *   it ready or connects it again. Its socket never keeps the process alive (unref); each call's
 *   own deadline timer does, for as long as the call runs, and `close()` ends it.
 * - A client you pass (`client`) is used as it is: it is never connected, closed, ref'd or unref'd.
 * - Every call is bounded by `timeoutMs` (3 s by default) in all. Within that, a connection that is
 *   refused, closes or does not answer is opened again (50 ms apart, doubling to 400 ms), and so is
 *   a server still loading its data after a restart (`LOADING`). Past that the call fails with
 *   `store_unavailable`, saying where Redis was expected and what to check. A wrong password or
 *   missing permission fails at once, as `store_unavailable`; any other error reply is the caller's.
 * - A call abandoned at its deadline is not cancelled (Redis may still run it): the store's scripts
 *   are written so that running one twice does what running it once does.
 */

import { ENV_REDIS_URL } from '../env-variables.js';
import { errnoCode, scrubSecrets, TokenStorageError } from '../errors.js';
import type { RedisUrl } from './redis-url.js';

/** What the store needs of a client: node-redis' `sendCommand` (v4 to v6). */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** Our own client: the part of a node-redis client we use. */
interface OwnClient extends RedisCommandClient {
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  unref(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly isReady: boolean;
}

/** An error reply from Redis other than the ones handled here (`WRONGTYPE …`, `ERR …`). */
export class RedisReplyError extends Error {
  /** The reply's first word, e.g. `WRONGTYPE`. */
  readonly reply: string;
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
    this.reply = /^[A-Z_]+/.exec(message)?.[0] ?? 'ERR';
  }
}

/** node-redis' errors for a connection that failed, closed or timed out (by class name: v4 to v6). */
const CONNECTION_ERRORS = new Set([
  'ConnectionTimeoutError',
  'SocketClosedUnexpectedlyError',
  'ClientClosedError',
  'ClientOfflineError',
  'SocketTimeoutError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
  'TimeoutError',
]);
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ECONNABORTED: 'the connection was closed',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
};
/** Error replies that pass: retried within the call's time. */
const TRANSIENT_REPLIES = new Set(['LOADING', 'BUSY', 'TRYAGAIN', 'MASTERDOWN']);
/** Error replies that say we may not in: a wrong password, a missing permission. */
const DENIED_REPLIES = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM']);

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 400;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

class Deadline extends Error {}

function isReply(error: Error): boolean {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'ErrorReply') return true;
  }
  return /^[A-Z]{2,}[A-Z_]* /.test(error.message);
}

/** `timedOut`: a connection that did not come up in time (its bound is what is left of the call's). */
type Problem = { retry: string; timedOut?: true } | { fail: Error };

/** What to do about `error`: retry (a passing problem, described for people), or fail with it. */
function classify(error: unknown, where: string, timeoutMs: number, ours: boolean): Problem {
  if (error instanceof Deadline) return { retry: `no answer within ${Math.round(timeoutMs / 100) / 10} s` };
  if (error instanceof TokenStorageError) return { fail: error };
  if (!(error instanceof Error)) return { fail: new RedisReplyError(String(error)) };
  const code = errnoCode(error);
  if (code === 'ETIMEDOUT') return { retry: 'the connection timed out', timedOut: true };
  if (code !== undefined && NETWORK_CODES[code]) return { retry: NETWORK_CODES[code] };
  if (CONNECTION_ERRORS.has(error.name) || CONNECTION_ERRORS.has(error.constructor.name)) {
    if (!ours && error.constructor.name === 'ClientClosedError') {
      return { retry: 'the Redis client given to RedisTokenStore is not connected: call its connect() first' };
    }
    return error.constructor.name === 'ConnectionTimeoutError'
      ? { retry: 'the connection timed out', timedOut: true }
      : { retry: 'the connection was closed' };
  }
  if (isReply(error)) {
    const reply = new RedisReplyError(error.message);
    if (TRANSIENT_REPLIES.has(reply.reply)) return { retry: `Redis answered ${reply.reply}: it is still starting` };
    if (DENIED_REPLIES.has(reply.reply)) {
      return {
        fail: new TokenStorageError(
          'store_unavailable',
          `Redis at ${where} refused this client (${reply.reply}: a wrong user or password, or missing permissions), so the login kept there cannot be read or changed; nothing was changed. Check the user and password in the Redis URL (${ENV_REDIS_URL} for the CLI), and that this user may run EVAL, HSET, HGET, SET, GET, DEL and PEXPIRE on the key.`,
          { path: where },
        ),
      };
    }
    return { fail: reply };
  }
  return { retry: error.message.slice(0, 200) };
}

/** Why Redis could not be reached, by the `store_unavailable` error that said so. */
const reasons = new WeakMap<Error, string>();

/** Why Redis could not be reached (`connection refused`), for an error from `RedisLink.call`. */
export function reasonOf(error: Error): string {
  return reasons.get(error) ?? 'unreachable';
}

export function unavailable(where: string, why: string): TokenStorageError {
  const error = new TokenStorageError(
    'store_unavailable',
    `Cannot reach Redis at ${where} (${why}), so the login kept there cannot be read, renewed or changed now; nothing was changed. Start Redis, or check its address (${ENV_REDIS_URL} for the CLI, the url option in a program), then run this again.`,
    { path: where },
  );
  reasons.set(error, why);
  return error;
}

interface RedisModule {
  createClient(options: {
    url: string;
    socket: { connectTimeout: number; reconnectStrategy: false };
    disableOfflineQueue: boolean;
  }): OwnClient;
}

/** The `redis` package, or `store_unavailable` naming it when it is not installed. */
async function loadRedis(where: string): Promise<RedisModule> {
  try {
    const mod = (await import('redis')) as unknown as RedisModule & { default?: RedisModule };
    return typeof mod.createClient === 'function' ? mod : (mod.default as RedisModule);
  } catch (error) {
    const code = errnoCode(error);
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    throw new TokenStorageError(
      'store_unavailable',
      missing
        ? 'The Redis token store needs the `redis` package (node-redis), which is not installed. Run `npm install redis`, or pass a connected client (the client option).'
        : `The \`redis\` package could not be loaded (${error instanceof Error ? error.message.slice(0, 200) : 'error'}). Reinstall it (\`npm install redis\`).`,
      { path: where, cause: error },
    );
  }
}

export interface RedisLinkOptions {
  url: RedisUrl | undefined;
  client: RedisCommandClient | undefined;
  timeoutMs: number;
  /** Where the login is, as messages name it. */
  where: string;
}

export class RedisLink {
  readonly #url: RedisUrl | undefined;
  readonly #given: RedisCommandClient | undefined;
  readonly #timeoutMs: number;
  readonly #where: string;
  /** The URL's password, as written and decoded. */
  readonly #secrets: string[];
  #own: OwnClient | undefined;
  #connecting: Promise<OwnClient> | undefined;
  #module: Promise<RedisModule> | undefined;
  #closed = false;

  constructor(options: RedisLinkOptions) {
    this.#url = options.url;
    this.#given = options.client;
    this.#timeoutMs = options.timeoutMs;
    this.#where = options.where;
    const password = options.url ? new URL(options.url.url).password : '';
    this.#secrets = password === '' ? [] : [password, safeDecode(password)];
  }

  /** Sends one command (`['HGET', key, field]`, `['EVAL', ...]`), within `budgetMs` in all (default `timeoutMs`). */
  async call(args: string[], budgetMs = this.#timeoutMs): Promise<unknown> {
    // Loading the package (once) is not talking to Redis: it does not count against the time bound.
    if (this.#given === undefined) this.#module ??= loadRedis(this.#where);
    await this.#module;
    const deadline = performance.now() + budgetMs;
    let delay = FIRST_RETRY_MS;
    /** The last reason other than running out of time: "connection refused" says more than "no answer". */
    let reason: string | undefined;
    for (;;) {
      let client: RedisCommandClient | undefined;
      try {
        client = await this.#within(this.#client(deadline), deadline);
        return await this.#within(client.sendCommand(args), deadline);
      } catch (error) {
        const problem = classify(error, this.#where, budgetMs, this.#given === undefined);
        if ('fail' in problem) throw problem.fail;
        // A connection that never came up is dropped too, so that the next attempt starts a new one.
        this.#drop(client ?? (this.#own?.isReady ? undefined : this.#own));
        // A connect that timed out near the deadline (its bound shrinks with it) says less than a
        // refusal seen before it: that one is kept.
        if (!(error instanceof Deadline) && !(problem.timedOut && reason !== undefined)) reason = problem.retry;
        if (this.#closed || performance.now() + delay >= deadline) {
          // A client's own wording might quote the URL: never its password.
          throw unavailable(this.#where, scrubSecrets(reason ?? problem.retry, this.#secrets));
        }
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }

  /** Closes our own client (a client you passed is left as it is). */
  async close(): Promise<void> {
    this.#closed = true;
    const own = this.#own;
    this.#own = undefined;
    if (!own) return;
    await this.#within(own.close(), performance.now() + this.#timeoutMs).catch(() => own.destroy());
  }

  async #client(deadline: number): Promise<RedisCommandClient> {
    if (this.#given) return this.#given;
    if (this.#closed) throw unavailable(this.#where, 'this store was closed');
    if (this.#own?.isReady) return this.#own;
    if (this.#connecting) return this.#connecting;
    const connecting: Promise<OwnClient> = this.#connect(deadline).finally(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    });
    this.#connecting = connecting;
    return connecting;
  }

  async #connect(deadline: number): Promise<OwnClient> {
    this.#module ??= loadRedis(this.#where);
    const { createClient } = await this.#module;
    const url = this.#url as RedisUrl;
    this.#own?.destroy();
    const client = createClient({
      url: url.url,
      socket: { connectTimeout: Math.max(1, Math.round(deadline - performance.now())), reconnectStrategy: false },
      disableOfflineQueue: true,
    });
    // Failures reach the callers through their commands; an unhandled 'error' event would end the process.
    client.on('error', () => {});
    client.unref();
    this.#own = client;
    try {
      await client.connect();
    } catch (error) {
      this.#drop(client);
      throw error;
    }
    return client;
  }

  /** Forgets our client after it failed, so that the next call connects again. */
  #drop(client: RedisCommandClient | undefined): void {
    if (client === undefined || client !== this.#own) return;
    this.#own = undefined;
    this.#connecting = undefined;
    try {
      (client as OwnClient).destroy();
    } catch {}
  }

  /**
   * `promise`, or a `Deadline` error at `deadline` (a ref'd timer: the process waits for the call).
   * The deadline is declared only after the event loop's next poll: a process that was busy past it
   * (timers run before I/O is read) must not take a reply that arrived meanwhile for no reply.
   */
  #within<T>(promise: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      const expire = () => setImmediate(() => reject(new Deadline()));
      timer = setTimeout(expire, Math.max(0, deadline - performance.now()));
    });
    promise.catch(() => {}); // abandoned at the deadline: its rejection is nobody's
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }
}
