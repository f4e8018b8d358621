/**
 * Redis URLs as the Redis token store takes them and shows them.
 *
 * - Accepted: `redis://[[user][:password]@]host[:port][/db]` and `rediss://…` (TLS), as node-redis
 *   reads them. Anything else is refused where it enters, without quoting it (it may hold a password).
 * - Shown: always with the password masked, the port and the database spelled out
 *   (`redis://alice:****@cache.internal:6379/0`), so `status` and every message say exactly where
 *   the login is without showing the secret that opens it.
 */

const DEFAULT_PORT = '6379';

export interface RedisUrl {
  /** As given, for the client. Never shown. */
  readonly url: string;
  /** The same place, password masked: for messages, `status` and `inspect`. */
  readonly shown: string;
}

/** Why `value` is not a Redis URL, or `undefined` when it is one. Never quotes `value`. */
export function redisUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'it does not parse as a URL';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'it must start with redis:// or rediss://';
  if (url.hostname === '') return 'it names no host';
  if (!/^\/?(\d{1,5})?$/.test(url.pathname)) return 'its path must be a database number, like /0';
  if (url.search !== '' || url.hash !== '') return 'it must have no ?query or #fragment';
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part);
    } catch {
      return 'its user name or password has a % that is not followed by two hex digits (write % as %25)';
    }
  }
  return undefined;
}

/** `value` as a `RedisUrl`; throws a `TypeError` saying what is wrong (never quoting it) when it is not one. */
export function parseRedisUrl(value: string, what = 'url'): RedisUrl {
  const problem = typeof value === 'string' ? redisUrlProblem(value) : 'it is not a string';
  if (problem !== undefined) {
    throw new TypeError(
      `${what} is not a Redis URL (${problem}): use redis://[user:password@]host[:port][/db], or rediss://… for TLS.`,
    );
  }
  const url = new URL(value);
  // The user name stays percent-encoded: printable as it is. Alone, it is masked too: a password
  // written in its place (`redis://s3cret@host`, for `redis://:s3cret@host`) must not be shown.
  const user = url.username;
  const auth = url.password !== '' ? `${user}:****@` : user !== '' ? '****@' : '';
  const db = url.pathname.replace(/^\//, '') || '0';
  return { url: value, shown: `${url.protocol}//${auth}${url.hostname}:${url.port || DEFAULT_PORT}/${db}` };
}
