/**
 * The three ways a user can call the API with an OAuth access token, set up against one emulator,
 * and a fourth client that is a yardstick, not a way:
 *
 * - `authToken`: `new Anthropic({ authToken })` with the OAuth beta header: the plain SDK with a
 *   static token and no refresh at all. The physical limit: the reference for every ratio.
 * - `AnthropicOAuth`: this package, reading and rotating a token file (`tokenStorage: path`).
 * - `user_oauth`: the SDK's own OAuth path, `new Anthropic({ config: { authentication: { type:
 *   'user_oauth', … } } })`, reading and rotating the SDK's credentials file.
 *
 * - `oauthWire`: `new Anthropic({ authToken })` sending what `AnthropicOAuth` sends on the wire (the
 *   `beta=true` query, its betas, its user agent) through the SDK's own options, with none of this
 *   package's code. `AnthropicOAuth` against it is what the package's code costs; it against
 *   `authToken` is what that request shape costs (on 2026-11-30 the `beta=true` query alone was about
 *   2.5% of a call's client CPU at 1 in flight, the betas and user agent nothing measurable).
 *
 * Both token files are in the same format (the SDK's `oauth_token` credentials file), 0600.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { OAuthConfig } from '../../src/index.js';
import type { IssuedTokens } from '../../src/testing/index.js';
import { lib } from './package.js';

export const OAUTH_BETA = 'oauth-2025-04-20';

export const VARIANTS = ['authToken', 'AnthropicOAuth', 'user_oauth', 'oauthWire'] as const;
export type Variant = (typeof VARIANTS)[number];

/** Where the emulator is: its API base URL and its OAuth config (`RemoteEmulator` has both). */
export interface Target {
  url: string;
  oauthConfig: OAuthConfig;
}

/** Every request of the benchmark stays on this machine: refuses any URL that is not loopback. */
export function assertLoopback(target: Target): void {
  for (const url of [target.url, target.oauthConfig.tokenUrl]) {
    const { hostname } = new URL(url);
    if (hostname !== '127.0.0.1' && hostname !== 'localhost' && hostname !== '[::1]') {
      throw new Error(`the benchmark only talks to the local emulator, not to ${url}`);
    }
  }
}

/** The smallest valid Messages request: the emulator answers it at once. */
export const HELLO = {
  model: 'claude-sonnet-4-6',
  max_tokens: 16,
  messages: [{ role: 'user' as const, content: 'hi' }],
};

/** Writes a login to `path` in the SDK's credentials-file format (which is also ours), mode 0600. */
export async function writeTokenFile(path: string, tokens: IssuedTokens): Promise<void> {
  const credentials = {
    version: '1.0',
    type: 'oauth_token',
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    expires_at: tokens.expiresAt,
    token_type: 'Bearer',
    scope: '',
  };
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
}

export interface ClientSetup {
  target: Target;
  /** The static access token of `authToken` (never refreshed); the others ignore it. */
  accessToken?: string;
  /** The token file of `AnthropicOAuth` and `user_oauth` (written by the caller); `authToken` ignores it. */
  tokenFile: string;
  /** SDK client options common to all variants. */
  options?: { maxRetries?: number; timeout?: number; fetch?: typeof fetch };
}

/** A client of the given kind. Each is the way that kind is documented to be set up. */
export function makeClient(variant: Variant, setup: ClientSetup): Anthropic {
  const { target, accessToken, tokenFile, options = {} } = setup;
  assertLoopback(target);
  switch (variant) {
    case 'authToken':
      if (accessToken === undefined) throw new TypeError('authToken needs an access token');
      return new Anthropic({
        ...options,
        authToken: accessToken,
        baseURL: target.url,
        defaultHeaders: { 'anthropic-beta': OAUTH_BETA },
      });
    case 'AnthropicOAuth':
      return new lib.AnthropicOAuth({
        ...options,
        baseURL: target.url,
        oauthConfig: target.oauthConfig,
        tokenStorage: tokenFile,
      });
    case 'oauthWire':
      if (accessToken === undefined) throw new TypeError('oauthWire needs an access token');
      return new Anthropic({
        ...options,
        authToken: accessToken,
        baseURL: target.url,
        defaultQuery: { beta: 'true' },
        defaultHeaders: { 'anthropic-beta': lib.DEFAULT_OAUTH_BETAS.join(','), 'user-agent': lib.DEFAULT_USER_AGENT },
      });
    case 'user_oauth':
      return new Anthropic({
        ...options,
        config: {
          authentication: { type: 'user_oauth', credentials_path: tokenFile, client_id: target.oauthConfig.clientId },
          base_url: target.url,
        },
      });
  }
}

/** A fresh token file in `dir` for `variant`, holding `tokens`. */
export async function tokenFileFor(dir: string, variant: Variant, tokens: IssuedTokens): Promise<string> {
  const path = join(dir, `${variant}.json`);
  await writeTokenFile(path, tokens);
  return path;
}
