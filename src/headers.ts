/**
 * The OAuth request shape, shared by `AnthropicOAuth` and `createOAuthFetch`: betas merged in order
 * without duplicates (configured first, then the request's own), and never an `x-api-key`.
 */
import { OAUTH_BETA } from './constants.js';

/** Merges beta lists in order, trimmed, without duplicates. */
export function mergeBetas(...lists: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  for (const list of lists) {
    for (const raw of list) {
      const beta = raw.trim();
      if (beta && !out.includes(beta)) out.push(beta);
    }
  }
  return out;
}

/** Sets `anthropic-beta` to the configured betas, the OAuth beta, then the request's own; drops `x-api-key`. */
export function applyOAuthBetas(headers: Headers, configured: readonly string[]): void {
  const present = headers.get('anthropic-beta')?.split(',') ?? [];
  headers.set('anthropic-beta', mergeBetas(configured, [OAUTH_BETA], present).join(','));
  headers.delete('x-api-key');
}
