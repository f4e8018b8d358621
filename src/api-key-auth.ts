/**
 * How the installed SDK sends an API key, asked of the SDK itself rather than written out here: a
 * client made with `new Anthropic({ apiKey })` is asked for its `apiKeyAuth()` headers (1.14 sends
 * `Authorization: Bearer <key>`; older versions sent `x-api-key`). `createOAuthFetch` uses it on an
 * API-key login (`login --console`); `AnthropicOAuth` lets the SDK do it by setting its `apiKey`.
 */
import { Anthropic } from '@anthropic-ai/sdk';

class KeyHeaders extends Anthropic {
  /** The auth headers this client's SDK sends for its key. */
  async forKey(): Promise<Headers> {
    const headers = await this.apiKeyAuth({ method: 'post', path: '/v1/messages' });
    return new Headers(headers?.values);
  }
}

const cache = new Map<string, Promise<Headers>>();

/** The headers the installed SDK authenticates `apiKey` with (cached per key; callers must not change them). */
export function apiKeyHeaders(apiKey: string): Promise<Headers> {
  let headers = cache.get(apiKey);
  if (headers === undefined) {
    headers = new KeyHeaders({ apiKey, baseURL: 'http://127.0.0.1' }).forKey();
    // One key per login: a handful at most in a process.
    if (cache.size > 16) cache.clear();
    cache.set(apiKey, headers);
  }
  return headers;
}
