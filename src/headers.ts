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

/** How many distinct incoming `anthropic-beta` values an applier remembers the merge of. */
const MERGE_CACHE_SIZE = 64;

/**
 * An applier that sets `anthropic-beta` to the configured betas, the OAuth beta, then the request's
 * own, and drops `x-api-key`. Requests repeat the same few header values, so the merge of each is
 * remembered (up to 64 values; past that, merged each time).
 */
export function oauthBetaApplier(configured: readonly string[]): (headers: Headers) => void {
  const base = mergeBetas(configured, [OAUTH_BETA]);
  const baseValue = base.join(',');
  const merged = new Map<string, string>();
  return (headers) => {
    const present = headers.get('anthropic-beta');
    let value = present === null ? baseValue : merged.get(present);
    if (value === undefined) {
      value = mergeBetas(base, (present as string).split(',')).join(',');
      if (merged.size < MERGE_CACHE_SIZE) merged.set(present as string, value);
    }
    headers.set('anthropic-beta', value);
    headers.delete('x-api-key');
  };
}
