/**
 * How requests introduce themselves: the user agent and the betas sent on every API request.
 *
 * Precedence, lowest to highest: the defaults in `constants.ts` (from the design this package
 * implements: `claude-cli/…` and the Claude Code betas), the environment variables
 * `ANTHROPIC_OAUTH_USER_AGENT` and `ANTHROPIC_OAUTH_BETAS` (comma-separated; empty for none), then the
 * `userAgent` / `betas` options. The OAuth beta itself (`oauth-2025-04-20`) is always added where it
 * is needed, whatever these say. A value that could not go into a header is `invalid_env` naming the
 * variable, or `invalid_config` naming the option, when the client is made: never a `TypeError` from
 * `Headers` on the first request, nor a header split by a line break.
 */
import { DEFAULT_OAUTH_BETAS, DEFAULT_USER_AGENT } from './constants.js';
import { ENV_BETAS, ENV_USER_AGENT } from './env-variables.js';
import { OAuthFlowError } from './errors.js';
import type { Env } from './types.js';

const MAX_USER_AGENT_CHARS = 512;
/** Printable ASCII, spaces included: what a header value may hold without surprises. */
const HEADER_TEXT = /^[\x20-\x7e]+$/;
/** A beta name as the API spells them (`oauth-2025-04-20`). */
const BETA_NAME = /^[A-Za-z0-9._-]{1,128}$/;

const isUserAgent = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_USER_AGENT_CHARS && HEADER_TEXT.test(value);

/** The user agent: `option`, else `ANTHROPIC_OAUTH_USER_AGENT`, else `DEFAULT_USER_AGENT`. */
export function resolveUserAgent(option: string | undefined, env: Env): string {
  if (option !== undefined) {
    if (!isUserAgent(option)) {
      throw new OAuthFlowError(
        'invalid_config',
        `The userAgent option must be a string of printable ASCII on one line, 1 to ${MAX_USER_AGENT_CHARS} characters.`,
      );
    }
    return option;
  }
  const fromEnv = env[ENV_USER_AGENT]?.trim();
  if (!fromEnv) return DEFAULT_USER_AGENT;
  if (!isUserAgent(fromEnv)) {
    throw new OAuthFlowError(
      'invalid_env',
      `${ENV_USER_AGENT} must be printable ASCII on one line, at most ${MAX_USER_AGENT_CHARS} characters. Fix or unset it.`,
    );
  }
  return fromEnv;
}

/** The betas: `option`, else `ANTHROPIC_OAUTH_BETAS` (comma-separated, empty for none), else `DEFAULT_OAUTH_BETAS`. */
export function resolveBetas(option: readonly string[] | undefined, env: Env): string[] {
  if (option !== undefined) {
    if (!Array.isArray(option) || option.some((name) => typeof name !== 'string' || !BETA_NAME.test(name))) {
      throw new OAuthFlowError(
        'invalid_config',
        "The betas option must be an array of beta names (letters, digits, '.', '_' and '-'), or [] for none.",
      );
    }
    return [...option];
  }
  const fromEnv = env[ENV_BETAS];
  if (fromEnv === undefined) return [...DEFAULT_OAUTH_BETAS];
  const names = fromEnv
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.some((name) => !BETA_NAME.test(name))) {
    throw new OAuthFlowError(
      'invalid_env',
      `${ENV_BETAS} must be beta names separated by commas (letters, digits, '.', '_' and '-'), or empty for none. Fix or unset it.`,
    );
  }
  return names;
}
