/**
 * An API answer that rejects the OAuth token a request carried, and the one replay it earns; shared
 * by `AnthropicOAuth` (client.ts) and `createOAuthFetch` (fetch.ts).
 *
 * Policy:
 * - A rejection is a 401, or a 403 whose body is the API's answer to a revoked OAuth token:
 *   `{"type":"error","error":{"type":"permission_error","message":"OAuth token has been revoked.
 *   Please obtain a new token."}}` (as reported in 2026, e.g. vybestack/llxprt-code#1123 and
 *   Wei-Shaw/sub2api#342; the SDK's source does not name it). We match the words "token" and
 *   "revoked" in the message of a `permission_error` or `authentication_error`, not the whole
 *   sentence, so that new advice after it does not break the match. Every other 403 (a missing
 *   scope, a disabled organization, an encryption key "disabled or revoked") goes to the caller as it is.
 * - The rejected token is marked (so any number of simultaneous rejections cause one refresh), a
 *   newer token is taken, refreshed only if none exists yet, and the request is sent once more with
 *   it. Each caller allows one such replay per call: never a loop.
 * - Reading a 403's body goes through a clone, so the response itself stays unread for the caller;
 *   a body larger than `MAX_ERROR_BODY_BYTES` (by its Content-Length) is not an API error body and
 *   is not read.
 */
import type { TokenSource } from './provider.js';

const MAX_ERROR_BODY_BYTES = 64 * 1024;
const REVOKED = /\brevoked\b/i;
const TOKEN = /\btoken\b/i;

/** Whether `status` may be a rejection: the cheap test before `rejectsToken`. */
export function mayRejectToken(status: number): boolean {
  return status === 401 || status === 403;
}

/** Whether an API error (`{ type, message }`, the `error` of an error body) says the OAuth token was revoked. */
export function saysTokenRevoked(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { type, message } = error as { type?: unknown; message?: unknown };
  if (type !== 'permission_error' && type !== 'authentication_error') return false;
  return typeof message === 'string' && REVOKED.test(message) && TOKEN.test(message);
}

/** Whether an API error body says the OAuth token was revoked. */
function isRevocationBody(text: string): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  return typeof body === 'object' && body !== null && saysTokenRevoked((body as { error?: unknown }).error);
}

/** Whether `response` rejects the access token its request carried: a 401, or a 403 for a revoked token. */
export async function rejectsToken(response: Response): Promise<boolean> {
  if (response.status === 401) return true;
  if (response.status !== 403) return false;
  if (Number(response.headers.get('content-length')) > MAX_ERROR_BODY_BYTES) return false;
  try {
    return isRevocationBody(await response.clone().text());
  } catch {
    return false;
  }
}

/**
 * The access token to send a rejected request again with: the one that replaced `rejected`, or a
 * refreshed one. `undefined` when there is none (the source still has `rejected`). Throws what the
 * refresh throws. The caller has marked `rejected` already.
 */
export async function tokenAfterRejection(source: TokenSource, rejected: string): Promise<string | undefined> {
  const fresh = await source.refreshAfterRejection(rejected);
  return fresh.accessToken === rejected ? undefined : fresh.accessToken;
}

/** Frees the connection of a response nobody will read. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

/** A body that can be sent twice (not a stream, which the first send has consumed). */
export function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams
  );
}
