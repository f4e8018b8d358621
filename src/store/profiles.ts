/**
 * Profiles: which store holds which login. The default profile is the token file
 * (`defaultTokenPath`, `ANTHROPIC_OAUTH_TOKEN_FILE`); each other profile `<name>` is
 * `~/.anthropic/profiles/<name>.json`, named by `--profile`, the `profile` option or
 * `ANTHROPIC_OAUTH_PROFILE`. A store given in code (`tokenStorage`) is a `TokenStore` or a file path
 * (`resolveStore`).
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ENV_PROFILE } from '../env-variables.js';
import { OAuthFlowError } from '../errors.js';
import type { Env } from '../types.js';
import { defaultTokenPath, TokenStorage } from './file.js';
import { DEFAULT_PROFILE, isProfileName } from './profile-name.js';
import { isTokenStore, type TokenStore } from './types.js';

/** `name` when it is a valid profile name (1-64 of `A-Z a-z 0-9 _ . -`, not `.` or `..`); else `invalid_config`. */
export function validateProfileName(name: string): string {
  if (isProfileName(name)) return name;
  throw new OAuthFlowError(
    'invalid_config',
    `Invalid profile name ${JSON.stringify(String(name)).slice(0, 80)}: use 1 to 64 letters, digits, \`_\`, \`.\` or \`-\` (not \`.\` or \`..\`).`,
  );
}

/** `~/.anthropic/profiles`: one `<name>.json` token file per named profile. */
export function profilesDirectory(): string {
  return join(homedir(), '.anthropic', 'profiles');
}

/**
 * The token file of a profile. No profile or `default`: `defaultTokenPath(env)`, unchanged (so
 * `ANTHROPIC_OAUTH_TOKEN_FILE` applies to the default profile only). Any other name:
 * `~/.anthropic/profiles/<name>.json`; an invalid name is an `invalid_config` error.
 */
export function tokenPathForProfile(profile?: string, env: Env = process.env): string {
  if (profile === undefined || profile === DEFAULT_PROFILE) return defaultTokenPath(env);
  return join(profilesDirectory(), `${validateProfileName(profile)}.json`);
}

/** `ANTHROPIC_OAUTH_PROFILE`, trimmed; unset or empty is `undefined` (the default profile). */
export function profileFromEnv(env: Env = process.env): string | undefined {
  return env[ENV_PROFILE]?.trim() || undefined;
}

export interface ProfileInfo {
  name: string;
  path: string;
}

/**
 * The saved logins: `default` (its file, when it exists) first, then each
 * `~/.anthropic/profiles/<name>.json` with a valid name, sorted. Reads no token file.
 */
export async function listProfiles(env: Env = process.env): Promise<ProfileInfo[]> {
  const profiles: ProfileInfo[] = [];
  const defaultPath = defaultTokenPath(env);
  if (await new TokenStorage(defaultPath).exists()) profiles.push({ name: DEFAULT_PROFILE, path: defaultPath });
  const dir = profilesDirectory();
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const file of names.sort()) {
    if (!file.endsWith('.json')) continue;
    const name = file.slice(0, -'.json'.length);
    if (name === DEFAULT_PROFILE || !isProfileName(name)) continue;
    profiles.push({ name, path: join(dir, file) });
  }
  return profiles;
}

/** A store given in code: a `TokenStore` as it is, a path as the token file there. */
export function resolveStore(tokenStorage: TokenStore | string): TokenStore {
  if (typeof tokenStorage === 'string') return new TokenStorage(tokenStorage);
  if (isTokenStore(tokenStorage)) return tokenStorage;
  throw new TypeError('tokenStorage must be a TokenStore (load/save/clear), a file path, or null.');
}
