/**
 * Which login a command works on: `--storage PATH` (a file, and the only source), else
 * `--store keychain` (an OS keychain entry per profile, the only source), else `--store redis` (the
 * Redis at `ANTHROPIC_OAUTH_REDIS_URL`, key `anthropic-oauth:<profile>`, the only source; the store
 * and the `redis` package are loaded only then), else the token file of the
 * profile (`--profile`, else `ANTHROPIC_OAUTH_PROFILE`, else the default file), which the login
 * environment variables come before, as in the library.
 */
import { resolve } from 'node:path';
import { ENV_REDIS_ENCRYPTION_KEY, ENV_REDIS_URL } from '../../env-variables.js';
import { OAuthFlowError, TokenStorageError } from '../../errors.js';
import { TokenStorage } from '../../store/file.js';
import type { KeychainBackend } from '../../store/keychain-backend.js';
import { profileFromEnv, tokenPathForProfile, validateProfileName } from '../../store/profiles.js';
import { redisUrlProblem } from '../../store/redis-url.js';
import type { TokenStore } from '../../store/types.js';
import type { StoreKind } from '../args.js';
import type { CliContext } from '../context.js';

export interface TargetArgs {
  storage: string | undefined;
  profile: string | undefined;
  store: StoreKind;
  allowFileFallback: boolean;
}

export interface Target {
  store: TokenStore;
  kind: StoreKind;
  /** The token file, `keychain:<service>/<account>`, or `redis://user:****@host:port/db key K`. */
  where: string;
  /** The token file when the store is one. */
  path: string | undefined;
  /** `--storage` or `--store keychain|redis`: the only source, environment variables are not consulted. */
  explicit: boolean;
  /** The profile in use (flag, else environment), `undefined` for the default one. */
  profile: string | undefined;
  /** True when `--profile` was given on the command line. */
  profileFlag: boolean;
}

/** `--store redis`: the login in the Redis of `ANTHROPIC_OAUTH_REDIS_URL`, read only when asked for. */
async function redisTarget(ctx: CliContext, profile: string | undefined): Promise<TokenStore & { location: string }> {
  const url = ctx.env[ENV_REDIS_URL]?.trim();
  const invalid = (message: string) => new OAuthFlowError('invalid_env', message);
  if (!url) {
    throw invalid(
      `--store redis needs ${ENV_REDIS_URL}: the Redis that keeps the login, as redis://[user:password@]host[:port][/db] (rediss:// for TLS).`,
    );
  }
  const problem = redisUrlProblem(url);
  if (problem !== undefined) {
    throw invalid(`${ENV_REDIS_URL} is not a Redis URL (${problem}): use redis://[user:password@]host[:port][/db].`);
  }
  const { RedisTokenStore } = await import('../../store/redis.js');
  const encryptionKey = ctx.env[ENV_REDIS_ENCRYPTION_KEY]?.trim() || undefined;
  try {
    return new RedisTokenStore({ url, profile: profile ?? 'default', encryptionKey });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw invalid(`${ENV_REDIS_ENCRYPTION_KEY} ${error.message.replace(/^encryptionKey /, '')}`);
  }
}

/**
 * `backend`, with "@napi-rs/keyring is not installed" answered as an unavailable keychain, which
 * the store's fallback covers (with its WARNING), instead of the `keychain_not_installed` error.
 */
function notInstalledIsUnavailable(backend: KeychainBackend): KeychainBackend {
  let missing = false;
  const unavailable = { ok: false, kind: 'unavailable', detail: '@napi-rs/keyring is not installed' } as const;
  return {
    async open() {
      try {
        await backend.open?.();
        missing = false;
      } catch (error) {
        if (!(error instanceof TokenStorageError && error.code === 'keychain_not_installed')) throw error;
        missing = true;
      }
    },
    get: (entry) => (missing ? Promise.resolve(unavailable) : backend.get(entry)),
    set: (entry, secret) => (missing ? Promise.resolve(unavailable) : backend.set(entry, secret)),
    delete: (entry) => (missing ? Promise.resolve(unavailable) : backend.delete(entry)),
  };
}

export async function resolveTarget(ctx: CliContext, args: TargetArgs): Promise<Target> {
  const fromEnv = profileFromEnv(ctx.env);
  const profile = args.profile ?? (fromEnv === undefined ? undefined : validateProfileName(fromEnv));
  const profileFlag = args.profile !== undefined;
  if (args.storage !== undefined) {
    const path = resolve(args.storage);
    return { store: new TokenStorage(path), kind: 'file', where: path, path, explicit: true, profile, profileFlag };
  }
  const path = tokenPathForProfile(profile, ctx.env);
  if (args.store === 'keychain') {
    // Loaded here only: a command on the token file never loads the keychain store.
    const { KeychainTokenStore } = await import('../../store/keychain.js');
    const { napiKeyringBackend } = await import('../../store/keychain-worker.js');
    const store = new KeychainTokenStore({
      account: profile ?? 'default',
      // `--allow-file-fallback` covers a missing @napi-rs/keyring too (the library leaves that an error).
      backend: args.allowFileFallback ? notInstalledIsUnavailable(napiKeyringBackend) : napiKeyringBackend,
      fallback: args.allowFileFallback ? path : false,
      onFallback: (reason) => ctx.say(`WARNING: ${reason}`),
    });
    ctx.trace(`store: ${store.location}${args.allowFileFallback ? ` (fallback ${path})` : ''}`);
    return { store, kind: 'keychain', where: store.location, path: undefined, explicit: true, profile, profileFlag };
  }
  if (args.store === 'redis') {
    const store = await redisTarget(ctx, profile);
    ctx.trace(`store: ${store.location}`);
    return { store, kind: 'redis', where: store.location, path: undefined, explicit: true, profile, profileFlag };
  }
  if (profile !== undefined) ctx.trace(`profile ${profile}: ${path}`);
  return { store: new TokenStorage(path), kind: 'file', where: path, path, explicit: false, profile, profileFlag };
}
