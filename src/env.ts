/**
 * Tokens from environment variables (the seed's four):
 * `ANTHROPIC_OAUTH_ACCESS_TOKEN` (or `ANTHROPIC_ACCESS_TOKEN`), `ANTHROPIC_REFRESH_TOKEN`,
 * `ANTHROPIC_TOKEN_EXPIRES_AT` (epoch seconds). An empty value counts as unset; surrounding
 * whitespace is trimmed.
 *
 * Tokens from the environment are never written anywhere; a refresh keeps them in memory.
 * Everything is checked here, once, and a bad value is an `invalid_env` error naming the variable
 * (never a token's value): a token must be visible ASCII (a line break or control character inside
 * it would break every request's `Authorization` header), and the expiry whole or fractional epoch
 * seconds up to `MAX_EPOCH_SECONDS` (a larger number is taken for milliseconds and refused).
 */
import { ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT, ENV_EXPIRES_AT, ENV_REFRESH_TOKEN } from './env-variables.js';
import { OAuthFlowError } from './errors.js';
import { isValidToken, MAX_EPOCH_SECONDS, TOKEN_RULE } from './oauth-tokens.js';
import type { Env, OAuthTokens } from './types.js';

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** The token in variable `name`, checked; `undefined` when unset or empty. */
function readToken(env: Env, name: string): string | undefined {
  const value = read(env, name);
  if (value !== undefined && !isValidToken(value)) {
    throw new OAuthFlowError(
      'invalid_env',
      `${name} is not a token: ${TOKEN_RULE} characters. Set it to the token alone, or unset it.`,
    );
  }
  return value;
}

function readExpiry(env: Env): number | null {
  const raw = read(env, ENV_EXPIRES_AT);
  if (raw === undefined) return null;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value)) {
    throw new OAuthFlowError(
      'invalid_env',
      `${ENV_EXPIRES_AT} must be the expiry in epoch seconds (for example ${Math.floor(Date.now() / 1000) + 3600}). Fix or unset it.`,
    );
  }
  if (value > MAX_EPOCH_SECONDS) {
    const what =
      value / 1000 <= MAX_EPOCH_SECONDS
        ? `looks like milliseconds; it must be epoch seconds (${Math.floor(value / 1000)})`
        : 'is too large to be a time; it must be the expiry in epoch seconds';
    throw new OAuthFlowError('invalid_env', `${ENV_EXPIRES_AT} ${what}. Fix or unset it.`);
  }
  return value;
}

/** The variable the access token is read from: `ANTHROPIC_OAUTH_ACCESS_TOKEN` unless only `ANTHROPIC_ACCESS_TOKEN` is set. */
export function accessTokenVariable(env: Env = process.env): string {
  return read(env, ENV_ACCESS_TOKEN) ? ENV_ACCESS_TOKEN : ENV_ACCESS_TOKEN_ALT;
}

export function loadTokensFromEnv(env: Env = process.env): OAuthTokens | null {
  const accessToken = read(env, ENV_ACCESS_TOKEN)
    ? readToken(env, ENV_ACCESS_TOKEN)
    : readToken(env, ENV_ACCESS_TOKEN_ALT);
  if (!accessToken) return null;
  return {
    accessToken,
    refreshToken: readToken(env, ENV_REFRESH_TOKEN) ?? '',
    expiresAt: readExpiry(env),
    tokenType: 'Bearer',
    scope: '',
  };
}
