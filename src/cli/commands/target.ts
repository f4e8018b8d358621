/**
 * Which login a command works on: `--storage PATH` (a file, and the only source), else
 * `--store keychain` (an OS keychain entry per profile, the only source), else the token file of the
 * profile (`--profile`, else `ANTHROPIC_OAUTH_PROFILE`, else the default file), which the login
 * environment variables come before, as in the library.
 */
import { resolve } from 'node:path';
import { profileFromEnv, TokenStorage, tokenPathForProfile, validateProfileName } from '../../store/file.js';
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
  /** The token file, or `keychain:<service>/<account>`. */
  where: string;
  /** The token file when the store is one. */
  path: string | undefined;
  /** `--storage` or `--store keychain`: the only source, environment variables are not consulted. */
  explicit: boolean;
  /** The profile in use (flag, else environment), `undefined` for the default one. */
  profile: string | undefined;
  /** True when `--profile` was given on the command line. */
  profileFlag: boolean;
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
    const store = new KeychainTokenStore({
      account: profile ?? 'default',
      fallback: args.allowFileFallback ? path : false,
      onFallback: (reason) => ctx.say(`WARNING: ${reason}`),
    });
    ctx.trace(`store: ${store.location}${args.allowFileFallback ? ` (fallback ${path})` : ''}`);
    return { store, kind: 'keychain', where: store.location, path: undefined, explicit: true, profile, profileFlag };
  }
  if (profile !== undefined) ctx.trace(`profile ${profile}: ${path}`);
  return { store: new TokenStorage(path), kind: 'file', where: path, path, explicit: false, profile, profileFlag };
}
