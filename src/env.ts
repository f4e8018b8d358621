/**
 * Tokens from environment variables (the seed's four):
 * `ANTHROPIC_OAUTH_ACCESS_TOKEN` (or `ANTHROPIC_ACCESS_TOKEN`), `ANTHROPIC_REFRESH_TOKEN`,
 * `ANTHROPIC_TOKEN_EXPIRES_AT` (epoch seconds). An empty value counts as unset.
 *
 * Tokens from the environment are never written anywhere; a refresh keeps them in memory.
 * A malformed expiry is an `invalid_env` error naming the variable (never a token's value).
 */
import type { Env } from './config.js';
import { OAuthFlowError } from './errors.js';
import type { OAuthTokens } from './types.js';

export const ENV_ACCESS_TOKEN = 'ANTHROPIC_OAUTH_ACCESS_TOKEN';
export const ENV_ACCESS_TOKEN_ALT = 'ANTHROPIC_ACCESS_TOKEN';
export const ENV_REFRESH_TOKEN = 'ANTHROPIC_REFRESH_TOKEN';
export const ENV_EXPIRES_AT = 'ANTHROPIC_TOKEN_EXPIRES_AT';

/** Epoch seconds beyond this are taken for milliseconds (year 5138 in seconds). */
const MAX_PLAUSIBLE_SECONDS = 1e11;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function loadTokensFromEnv(env: Env = process.env): OAuthTokens | null {
  const accessToken = read(env, ENV_ACCESS_TOKEN) ?? read(env, ENV_ACCESS_TOKEN_ALT);
  if (!accessToken) return null;
  const rawExpiry = read(env, ENV_EXPIRES_AT);
  let expiresAt: number | null = null;
  if (rawExpiry !== undefined) {
    const value = Number(rawExpiry);
    if (!/^\d+(\.\d+)?$/.test(rawExpiry) || !Number.isFinite(value)) {
      throw new OAuthFlowError(
        'invalid_env',
        `${ENV_EXPIRES_AT} must be the expiry in epoch seconds (for example ${Math.floor(Date.now() / 1000) + 3600}). Fix or unset it.`,
      );
    }
    if (value > MAX_PLAUSIBLE_SECONDS) {
      throw new OAuthFlowError(
        'invalid_env',
        `${ENV_EXPIRES_AT} looks like milliseconds; it must be epoch seconds (${Math.floor(value / 1000)}). Fix or unset it.`,
      );
    }
    expiresAt = value;
  }
  return {
    accessToken,
    refreshToken: read(env, ENV_REFRESH_TOKEN) ?? '',
    expiresAt,
    tokenType: 'Bearer',
    scope: '',
  };
}
