/**
 * The emulator's HTTP vocabulary: a reply as data, the builders every route uses (JSON, HTML pages,
 * redirects, the two error dialects) and reading a request (body, headers, JSON).
 *
 * A reply is data, not a write, so a route stays a function from request to reply and the
 * `tokenResetAfterRequest` fault can compute one and then drop it.
 */

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { PAGE_SCRIPT_HASH } from './pages.js';
import { MAX_BODY_BYTES } from './wire.js';

export type JsonObject = Record<string, unknown>;

export type ParseResult = { ok: true; value: unknown } | { ok: false };

/** What a route answers. */
export interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** One request as a route sees it: no socket, no response object. */
export interface RouteRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text; '' when there was none. */
  body: string;
  /** The body parsed once, when it was sent as JSON (shared with the log entry, never mutated). */
  json: ParseResult | undefined;
}

/** Pages never get cached, never leak the code through Referer, never run script or get framed. */
const PAGE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // No form-action directive: Chrome applies it to the redirect after the POST, which would block
  // the redirect to the loopback callback.
  // The one script: the code page's copy button, by its hash.
  'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src ${PAGE_SCRIPT_HASH}`,
};

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function tryParseJson(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The request's JSON body: parsed when it came as JSON, else parsed now (the API does not insist). */
export function jsonBody(request: RouteRequest): ParseResult {
  return request.json ?? tryParseJson(request.body);
}

export function mediaType(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

export function jsonReply(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

export function htmlReply(status: number, body: string): Reply {
  return { status, headers: PAGE_HEADERS, body };
}

export function redirectReply(location: string): Reply {
  return {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    body: '',
  };
}

/** RFC 6749 §5.2 error, as the token endpoint answers it. */
export function oauthError(status: number, error: string, description: string): Reply {
  return jsonReply(status, { error, error_description: description }, { 'cache-control': 'no-store' });
}

/** The API's error envelope, with a fresh `request-id`. */
export function apiError(requestId: string, status: number, type: string, message: string): Reply {
  return jsonReply(status, { type: 'error', error: { type, message } }, { 'request-id': requestId });
}

export function withQuery(base: string, params: Record<string, string>): string {
  return `${base}?${new URLSearchParams(params).toString()}`;
}

/** Header names as Node gives them (lower-cased); repeated headers joined with ", ". */
export function copyHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) copy[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return copy;
}

/** Reads the whole body as UTF-8; resolves null (and stops buffering) past `MAX_BODY_BYTES`. */
export function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.off('end', onEnd);
        // Keep draining so the socket is not stuck, but drop the bytes.
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}
