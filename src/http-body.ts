/**
 * Reading an HTTP answer's body, for the token endpoint (`token-endpoint.ts`) and the account
 * endpoints (`account/http.ts`), each of which turns "too large" and "not JSON" into its own error.
 *
 * - A body is read up to a cap (1 MiB for both): past it, reading stops and the rest is cancelled,
 *   so a runaway or hostile server cannot fill memory.
 * - A redirect's body is never read: those endpoints never redirect, and a redirect is not followed.
 */
import type { ResponseLike } from './types.js';

/**
 * The body as text, or `null` when it is larger than `limit` bytes (the rest is then cancelled,
 * not read). A response without a body is `''`.
 */
export async function readCappedText(response: ResponseLike, limit: number): Promise<string | null> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `text` parsed as JSON, or `undefined` when it is not JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** True for a 3xx answer, whose body is then cancelled unread. */
export async function isRedirect(response: ResponseLike): Promise<boolean> {
  if (response.status < 300 || response.status >= 400) return false;
  await response.body?.cancel().catch(() => {});
  return true;
}
