/**
 * Resolving an `OAuthConfig`.
 *
 * Precedence, lowest to highest: the defaults in `constants.ts`, the `ANTHROPIC_OAUTH_*` environment
 * variables, then the explicit `Partial<OAuthConfig>` a caller passes. The token and authorize URLs
 * must be https, except on loopback (RFC 8252 §8.3 allows http only there), so a typo can never send
 * a refresh token in clear text. They must not carry a user name or password (`user:pass@host`):
 * a URL is shown in messages and logs, and a credential there would be shown with it. A URL that
 * does not parse is reported without the parser's error, which quotes the whole input.
 */
import {
  DEFAULT_AUTHORIZE_URL,
  DEFAULT_CLIENT_ID,
  DEFAULT_REDIRECT_URI,
  DEFAULT_SCOPES,
  DEFAULT_TOKEN_URL,
} from './constants.js';
import { ENV_AUTHORIZE_URL, ENV_CLIENT_ID, ENV_REDIRECT_URI, ENV_SCOPES, ENV_TOKEN_URL } from './env-variables.js';
import { OAuthFlowError } from './errors.js';
import type { Env, OAuthConfig } from './types.js';

const ENV_VARIABLES: Readonly<Record<keyof OAuthConfig, string>> = {
  clientId: ENV_CLIENT_ID,
  redirectUri: ENV_REDIRECT_URI,
  tokenUrl: ENV_TOKEN_URL,
  authorizeUrl: ENV_AUTHORIZE_URL,
  scopes: ENV_SCOPES,
};

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a URL's hostname is the local machine (`localhost`, 127.0.0.0/8, `::1`): http is allowed there. */
export function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Throws `insecure_url` unless `value` is an https URL, or http on a loopback host, and
 * `invalid_config` when it does not parse or carries a user name or password.
 */
export function requireSecureUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not the parser's TypeError as the cause: its `input` is the whole URL, password included.
    throw new OAuthFlowError('invalid_config', `The ${what} is not a valid URL. Check your configuration.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new OAuthFlowError(
      'invalid_config',
      `The ${what} must not contain a user name or password (user:password@). Remove them from the URL (${url.protocol}//${url.host}${url.pathname}).`,
    );
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHostname(url.hostname)) return url;
  throw new OAuthFlowError(
    'insecure_url',
    `The ${what} must use https (http is allowed only on localhost). Got ${url.protocol}//${url.host}.`,
  );
}

/** The defaults, overridden by the environment, overridden by `overrides`; URLs checked. */
export function resolveConfig(overrides: Partial<OAuthConfig> = {}, env: Env = process.env): OAuthConfig {
  const config: OAuthConfig = {
    clientId: DEFAULT_CLIENT_ID,
    redirectUri: DEFAULT_REDIRECT_URI,
    tokenUrl: DEFAULT_TOKEN_URL,
    authorizeUrl: DEFAULT_AUTHORIZE_URL,
    scopes: DEFAULT_SCOPES,
  };
  for (const key of Object.keys(ENV_VARIABLES) as (keyof OAuthConfig)[]) {
    const fromEnv = env[ENV_VARIABLES[key]]?.trim();
    if (fromEnv) config[key] = fromEnv;
    const explicit = overrides[key];
    if (explicit !== undefined) {
      if (typeof explicit !== 'string' || explicit.trim() === '') {
        throw new OAuthFlowError('invalid_config', `oauthConfig.${key} must be a non-empty string.`);
      }
      config[key] = explicit;
    }
  }
  requireSecureUrl(config.tokenUrl, 'token URL');
  requireSecureUrl(config.authorizeUrl, 'authorize URL');
  return config;
}
