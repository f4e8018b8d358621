/**
 * `startEmulator()`: a local, faithful stand-in for Anthropic's OAuth endpoints (authorize page,
 * manual code page, token endpoint) and the two API endpoints an OAuth client touches
 * (`POST /v1/messages`, `GET /v1/models`). Used by our tests, the offline demo and users' own tests.
 *
 * Policy:
 * - Loopback only. It listens on 127.0.0.1 (a free port unless `port` is given) and never makes an
 *   outbound request; `approve()`/`deny()` refuse any URL that is not this emulator's own page.
 * - Faithful where PROTOCOL.md knows the real behaviour, strict where it does not: PKCE S256 only,
 *   exact redirect_uri match, single-use short-lived codes, JSON-only token endpoint, rotating
 *   refresh tokens whose reuse revokes the whole family (RFC 9700), `scope` on refresh refused,
 *   the OAuth beta required on the API. A client that passes here should not pass by leniency.
 * - Fake secrets only: every token is random, prefixed like the real ones, held in memory and gone
 *   with the instance. The request log keeps `authorization` on purpose (tests assert on it).
 * - Cheap per request: `/v1/messages` serves benchmarks, so it does no crypto, answers at once in a
 *   single write, keeps connections alive, and the request log is capped.
 * - Silent: no console output; everything observable is in `requests` and `stats()`.
 */

import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_CLIENT_ID, DEFAULT_SCOPES, OAUTH_BETA } from '../constants.js';
import type { OAuthConfig } from '../types.js';
import {
  readAuthorizeForm,
  readProblems,
  renderAuthorizePage,
  renderErrorPage,
  renderManualCodePage,
  renderManualErrorPage,
} from './pages.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface EmulatorOptions {
  /** Port to listen on (127.0.0.1 only). Default 0: a free port. */
  port?: number;
  /** The only accepted client id. Default `DEFAULT_CLIENT_ID`. */
  clientId?: string;
  /** Seconds an access token lives (fractions allowed). Default 28800 (8 h). */
  accessTokenTtl?: number;
  /** Seconds an authorization code lives (fractions allowed). Default 300. */
  codeTtl?: number;
  /** The signed-in user. Default a fixed fake user, `user@example.com`. */
  account?: { uuid: string; emailAddress: string };
  /** The user's organization. Default a fixed fake "Example Org". */
  organization?: { uuid: string; name: string };
  /** Scope echoed in token responses. Default `DEFAULT_SCOPES`. */
  scopes?: string;
  /** `GET /oauth/authorize` redirects at once, as if Approve was clicked. Default false. */
  autoApprove?: boolean;
}

/** One request as the emulator received it. */
export interface EmulatorRequest {
  method: string;
  path: string;
  /** Query parameters (the last value wins when one repeats). */
  query: Record<string, string>;
  /** Header names lower-cased; repeated headers joined with ", ". `authorization` is kept. */
  headers: Record<string, string>;
  /** Parsed JSON for JSON requests, else the raw text; `undefined` when there was no body. */
  body: unknown;
  /** HTTP status answered; 0 while unanswered and for requests never answered (hang, reset). */
  status: number;
  /** Arrival time, epoch milliseconds. */
  time: number;
}

export interface EmulatorStats {
  /** Successful authorization_code grants. */
  authorizationCode: number;
  /** Successful refresh_token grants (including ones whose response was then lost on purpose). */
  refresh: number;
  /** Token requests refused with `invalid_grant`. */
  invalidGrant: number;
  /** Successful `/v1/messages` calls (streaming or not). */
  messages: number;
  /** Every 401 the emulator produced (API auth failures and `invalid_client`). */
  unauthorized: number;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives, as in `expires_in`. */
  expiresIn: number;
  /** When the access token expires, epoch SECONDS (rounded down). */
  expiresAt: number;
}

/** Faults for the token endpoint. Queued faults apply in order, each to its next `count` calls. */
export interface EmulatorFaults {
  /** Answer 500 (or the given 5xx) with `{"error":"server_error"}`. */
  tokenServerError(count?: number, status?: number): void;
  /** Answer 429 with a `Retry-After` header. */
  tokenRateLimited(retryAfterSeconds: number, count?: number): void;
  /** Answer exactly this raw body (default status 200) as `application/json`. */
  tokenMalformed(body: string, count?: number, status?: number): void;
  /** Read the request and never answer (until `close()`). */
  tokenHang(count?: number): void;
  /** Read and PROCESS the request (a refresh really rotates), then drop the connection unanswered. */
  tokenResetAfterRequest(count?: number): void;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`, no trailing slash; also the API base URL for the SDK. */
  url: string;
  authorizeUrl: string;
  tokenUrl: string;
  manualRedirectUri: string;
  /** Ready to pass to the library: `{ clientId, redirectUri: manualRedirectUri, tokenUrl, authorizeUrl, scopes }`. */
  oauthConfig: OAuthConfig;
  /** Every request received, in arrival order (the last 10,000). */
  requests: EmulatorRequest[];
  stats(): EmulatorStats;
  /**
   * Visits `authorizeUrl` like a browser (GET the page, POST the form over real HTTP) and clicks
   * Approve. Resolves to the redirect target: `redirect_uri?code=…&state=…`, or the manual code
   * page URL. Rejects when the page refuses the request or the URL is not this emulator's.
   */
  approve(authorizeUrl: string): Promise<string>;
  /** Same as `approve`, clicking Deny: resolves to `redirect_uri?error=access_denied&…&state=…`. */
  deny(authorizeUrl: string): Promise<string>;
  /** Mints a fresh token family, as if a user had logged in. `ttl` overrides `accessTokenTtl`. */
  issueTokens(opts?: { ttl?: number }): IssuedTokens;
  /** That access token gets 401 from now on. */
  revokeAccessToken(token: string): void;
  /** Every access token issued so far gets 401 from now on, as if expired; refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** True when the refresh token exists, is unspent and its family is not revoked. */
  isRefreshTokenLive(token: string): boolean;
  faults: EmulatorFaults;
  /** Closes the server and destroys every open or hanging connection. Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const HOST = '127.0.0.1';
const AUTHORIZE_PATH = '/oauth/authorize';
const MANUAL_CALLBACK_PATH = '/oauth/code/callback';
const TOKEN_PATH = '/v1/oauth/token';
const MESSAGES_PATH = '/v1/messages';
const MODELS_PATH = '/v1/models';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;

const ACCESS_TOKEN_PREFIX = 'sk-ant-oat01-';
const REFRESH_TOKEN_PREFIX = 'sk-ant-ort01-';

const DEFAULT_ACCESS_TOKEN_TTL = 28_800;
const DEFAULT_CODE_TTL = 300;
const DEFAULT_ACCOUNT = Object.freeze({
  uuid: '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  emailAddress: 'user@example.com',
});
const DEFAULT_ORGANIZATION = Object.freeze({ uuid: '9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1', name: 'Example Org' });

/** The only loopback redirect URIs accepted, like the real service: explicit port, `/callback`. */
const LOOPBACK_REDIRECT_URI = /^http:\/\/(?:localhost|127\.0\.0\.1):([0-9]{1,5})\/callback$/;
/** base64url(SHA-256(verifier)) is always 43 characters (RFC 7636 §4.2). */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** A small fake catalogue for `GET /v1/models` (ids the SDK knows and does not flag as deprecated). */
const MODELS = [
  { id: 'claude-opus-4-8', display_name: 'Claude Opus 4.8', created_at: '2026-01-01T00:00:00Z' },
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-01-01T00:00:00Z' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
] as const;

/** Pages never get cached, never leak the code through Referer, never run script or get framed. */
const PAGE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // No form-action directive: Chrome applies it to the redirect after the POST, which would block
  // the redirect to the loopback callback.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

/** What a route answers; kept as data so the reset fault can compute a reply and then drop it. */
interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mediaType(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

type ParseResult = { ok: true; value: unknown } | { ok: false };

function tryParseJson(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function jsonReply(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

function htmlReply(status: number, body: string): Reply {
  return { status, headers: PAGE_HEADERS, body };
}

function redirectReply(location: string): Reply {
  return {
    status: 302,
    headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    body: '',
  };
}

/** RFC 6749 §5.2 error, as the token endpoint answers it. */
function oauthError(status: number, error: string, description: string): Reply {
  return jsonReply(status, { error, error_description: description }, { 'cache-control': 'no-store' });
}

function withQuery(base: string, params: Record<string, string>): string {
  return `${base}?${new URLSearchParams(params).toString()}`;
}

function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  return count;
}

function checkSeconds(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number of seconds`);
  return value;
}

function copyHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) copy[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return copy;
}

/** Reads the whole body as UTF-8; resolves null (and stops buffering) past `MAX_BODY_BYTES`. */
function readBody(req: IncomingMessage): Promise<string | null> {
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

// ---------------------------------------------------------------------------------------------
// Token state: codes, token families, rotation (no HTTP here)
// ---------------------------------------------------------------------------------------------

/** Every token descended from one login; revoking it kills them all (RFC 9700 reuse detection). */
interface Family {
  revoked: boolean;
}

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state: string;
  scopes: string;
  expiresAtMs: number;
  used: boolean;
  /** The family minted from this code, revoked if the code is replayed (RFC 6749 §4.1.2). */
  family: Family | null;
}

interface AccessRecord {
  family: Family;
  expiresAtMs: number;
  revoked: boolean;
}

interface RefreshRecord {
  family: Family;
  spent: boolean;
}

type AccessCheck = 'live' | 'unknown' | 'expired' | 'revoked';

type GrantResult = { ok: true; tokens: IssuedTokens } | { ok: false; reply: Reply; error: string };

interface CodeBinding {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state: string;
  scopes: string;
}

interface TokenStoreSettings {
  clientId: string;
  accessTtlMs: number;
  codeTtlMs: number;
}

function fail(status: number, error: string, description: string): GrantResult {
  return { ok: false, reply: oauthError(status, error, description), error };
}

function requireStrings(body: JsonObject, names: readonly string[]): GrantResult | null {
  for (const name of names) {
    const value = body[name];
    if (typeof value !== 'string' || value === '') return fail(400, 'invalid_request', `${name} is required`);
  }
  return null;
}

function createTokenStore(settings: TokenStoreSettings) {
  const codes = new Map<string, CodeRecord>();
  const accessTokens = new Map<string, AccessRecord>();
  const refreshTokens = new Map<string, RefreshRecord>();

  function mint(family: Family, ttlMs: number): IssuedTokens {
    const now = Date.now();
    const accessToken = ACCESS_TOKEN_PREFIX + randomToken();
    const refreshToken = REFRESH_TOKEN_PREFIX + randomToken();
    accessTokens.set(accessToken, { family, expiresAtMs: now + ttlMs, revoked: false });
    refreshTokens.set(refreshToken, { family, spent: false });
    return { accessToken, refreshToken, expiresIn: ttlMs / 1000, expiresAt: Math.floor((now + ttlMs) / 1000) };
  }

  return {
    mintCode(binding: CodeBinding): string {
      const code = randomToken();
      codes.set(code, { ...binding, expiresAtMs: Date.now() + settings.codeTtlMs, used: false, family: null });
      return code;
    },

    redeemCode(body: JsonObject): GrantResult {
      // Any exchange attempt naming a known code burns it, whatever else is wrong with the request.
      const record = typeof body.code === 'string' ? codes.get(body.code) : undefined;
      const replayed = record?.used === true;
      if (record !== undefined) record.used = true;

      const missing = requireStrings(body, ['code', 'state', 'client_id', 'redirect_uri', 'code_verifier']);
      if (missing !== null) return missing;
      if (body.client_id !== settings.clientId) return fail(401, 'invalid_client', 'Unknown client_id');
      if (record === undefined) return fail(400, 'invalid_grant', 'Invalid authorization code');
      if (replayed) {
        if (record.family !== null) record.family.revoked = true;
        return fail(400, 'invalid_grant', 'Authorization code has already been used');
      }
      if (Date.now() >= record.expiresAtMs) return fail(400, 'invalid_grant', 'Authorization code has expired');
      if (record.clientId !== body.client_id) return fail(400, 'invalid_grant', 'Code was issued to another client');
      if (record.redirectUri !== body.redirect_uri) {
        return fail(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
      }
      const verifier = body.code_verifier as string;
      if (!CODE_VERIFIER.test(verifier) || s256(verifier) !== record.codeChallenge) {
        return fail(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
      }
      if (record.state !== body.state)
        return fail(400, 'invalid_grant', 'state does not match the authorization request');

      const family: Family = { revoked: false };
      record.family = family;
      return { ok: true, tokens: mint(family, settings.accessTtlMs) };
    },

    refresh(body: JsonObject): GrantResult {
      const missing = requireStrings(body, ['refresh_token', 'client_id']);
      if (missing !== null) return missing;
      if (body.client_id !== settings.clientId) return fail(401, 'invalid_client', 'Unknown client_id');
      // PROTOCOL.md: sending scope on refresh fails. Refused before the token is touched.
      if ('scope' in body) return fail(400, 'invalid_scope', 'scope must not be sent with a refresh_token grant');
      const record = refreshTokens.get(body.refresh_token as string);
      if (record === undefined) return fail(400, 'invalid_grant', 'Invalid refresh token');
      if (record.family.revoked) return fail(400, 'invalid_grant', 'Refresh token has been revoked');
      if (record.spent) {
        // A spent token presented again means it leaked or two clients raced: revoke the family.
        record.family.revoked = true;
        return fail(400, 'invalid_grant', 'Refresh token has already been used; all tokens of this login are revoked');
      }
      record.spent = true;
      return { ok: true, tokens: mint(record.family, settings.accessTtlMs) };
    },

    issue(ttlMs: number): IssuedTokens {
      return mint({ revoked: false }, ttlMs);
    },

    checkAccess(token: string): AccessCheck {
      const record = accessTokens.get(token);
      if (record === undefined) return 'unknown';
      if (record.revoked || record.family.revoked) return 'revoked';
      if (Date.now() >= record.expiresAtMs) return 'expired';
      return 'live';
    },

    revokeAccess(token: string): void {
      const record = accessTokens.get(token);
      if (record !== undefined) record.revoked = true;
    },

    expireAll(): void {
      const now = Date.now();
      for (const record of accessTokens.values()) record.expiresAtMs = Math.min(record.expiresAtMs, now);
    },

    isRefreshLive(token: string): boolean {
      const record = refreshTokens.get(token);
      return record !== undefined && !record.spent && !record.family.revoked;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

type Fault = { kind: 'reply'; reply: Reply } | { kind: 'hang' } | { kind: 'reset' };

function createFaultQueue() {
  const queue: Array<{ fault: Fault; remaining: number }> = [];
  return {
    add(fault: Fault, count: number): void {
      if (checkCount(count) > 0) queue.push({ fault, remaining: count });
    },
    /** The fault for this call, if any; consumes one use. */
    take(): Fault | undefined {
      const head = queue[0];
      if (head === undefined) return undefined;
      head.remaining -= 1;
      if (head.remaining === 0) queue.shift();
      return head.fault;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Messages helpers
// ---------------------------------------------------------------------------------------------

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content) {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') text += block.text;
  }
  return text;
}

/** A deterministic reply that echoes the start of the last user message, so tests can tell calls apart. */
function replyText(messages: readonly unknown[]): string {
  const toolResult = toolResultText(messages);
  if (toolResult !== null) {
    const snippet = toolResult.length > 40 ? `${toolResult.slice(0, 40)}…` : toolResult;
    return `Hello from the emulator. The tool said: ${snippet}`;
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!isObject(message) || message.role !== 'user') continue;
    const said = textOf(message.content).replace(/\s+/g, ' ').trim();
    if (said === '') break;
    const snippet = said.length > 40 ? `${said.slice(0, 40)}…` : said;
    return `Hello from the emulator. You said: ${snippet}`;
  }
  return 'Hello from the emulator';
}

/** The tool call the emulator makes: the named tool under `tool_choice: {type: "tool"}`, else the first. */
interface ToolCall {
  name: string;
  input: JsonObject;
}

/**
 * Tool use, kept small: when the request has `tools` (and `tool_choice` is not `none`) and the last
 * message is a user TEXT message, the model "calls" one tool, with an input holding each required
 * string property of its schema (`"emulated <name>"`). After a `tool_result` it answers text.
 */
function toolCallFor(body: JsonObject, messages: readonly unknown[]): ToolCall | null {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return null;
  const choice = isObject(body.tool_choice) ? body.tool_choice : {};
  if (choice.type === 'none') return null;
  const last = messages.at(-1);
  if (!isObject(last) || last.role !== 'user' || textOf(last.content).trim() === '') return null;
  if (Array.isArray(last.content) && last.content.some((b) => isObject(b) && b.type === 'tool_result')) return null;
  const tools = body.tools.filter((tool): tool is JsonObject => isObject(tool) && typeof tool.name === 'string');
  const tool = choice.type === 'tool' ? tools.find((t) => t.name === choice.name) : tools[0];
  if (tool === undefined) return null;
  const schema = isObject(tool.input_schema) ? tool.input_schema : {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  const input: JsonObject = {};
  for (const name of Array.isArray(schema.required) ? schema.required : []) {
    const property = typeof name === 'string' ? properties[name] : undefined;
    if (isObject(property) && property.type === 'string') input[name as string] = `emulated ${name}`;
  }
  return { name: tool.name as string, input };
}

/** The text of the last `tool_result` in the last user message, or null when there is none. */
function toolResultText(messages: readonly unknown[]): string | null {
  const last = messages.at(-1);
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return null;
  const results = last.content.filter((b): b is JsonObject => isObject(b) && b.type === 'tool_result');
  const result = results.at(-1);
  if (result === undefined) return null;
  return textOf(result.content).replace(/\s+/g, ' ').trim();
}

/** A rough, deterministic token estimate (about four characters a token). */
function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

function inputChars(body: JsonObject, messages: readonly unknown[]): number {
  let chars = typeof body.system === 'string' ? body.system.length : textOf(body.system).length;
  for (const message of messages) if (isObject(message)) chars += textOf(message.content).length;
  return chars;
}

function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scopes: string;
  codeChallenge: string;
  state: string;
  manual: boolean;
}

/** One request in flight. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  entry: EmulatorRequest;
  body: string;
  /** The body parsed once, when it was sent as JSON (shared with the log entry, never mutated). */
  json: ParseResult | undefined;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const accessTtlMs = checkSeconds('accessTokenTtl', options.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL) * 1000;
  const codeTtlMs = checkSeconds('codeTtl', options.codeTtl ?? DEFAULT_CODE_TTL) * 1000;
  const account = { ...(options.account ?? DEFAULT_ACCOUNT) };
  const organization = { ...(options.organization ?? DEFAULT_ORGANIZATION) };
  const scopes = options.scopes ?? DEFAULT_SCOPES;
  const autoApprove = options.autoApprove ?? false;

  const store = createTokenStore({ clientId, accessTtlMs, codeTtlMs });
  const faultQueue = createFaultQueue();
  const requests: EmulatorRequest[] = [];
  const counters: EmulatorStats = { authorizationCode: 0, refresh: 0, invalidGrant: 0, messages: 0, unauthorized: 0 };
  const sockets = new Set<Socket>();

  // Cheap unique ids (no crypto per API call): a random instance tag plus a counter.
  const idTag = randomBytes(6).toString('hex');
  let idCounter = 0;
  const nextId = (prefix: string): string => `${prefix}_emu${idTag}${(idCounter++).toString(36).padStart(6, '0')}`;

  // Filled once listening; routes only run after that.
  let origin = '';
  let manualRedirectUri = '';

  // --- authorize --------------------------------------------------------------------------------

  function validateAuthorize(
    params: URLSearchParams,
  ): { ok: true; value: AuthorizeRequest } | { ok: false; problems: string[] } {
    const problems: string[] = [];
    for (const name of new Set(params.keys())) {
      if (params.getAll(name).length > 1) problems.push(`${name} is given more than once.`);
    }
    const get = (name: string): string => params.get(name) ?? '';

    const requestClientId = get('client_id');
    if (requestClientId === '') problems.push('client_id is missing.');
    else if (requestClientId !== clientId) problems.push(`Unknown client_id "${requestClientId}".`);

    if (get('response_type') !== 'code') problems.push(`response_type must be "code" (got "${get('response_type')}").`);

    const codeChallenge = get('code_challenge');
    if (codeChallenge === '') problems.push('code_challenge is missing: PKCE is required.');
    else if (!CODE_CHALLENGE.test(codeChallenge)) {
      problems.push('code_challenge must be 43 base64url characters (base64url of a SHA-256 digest).');
    }
    if (get('code_challenge_method') !== 'S256') problems.push('code_challenge_method must be "S256".');

    const state = get('state');
    if (state === '') problems.push('state is missing.');

    const redirectUri = get('redirect_uri');
    const manual = redirectUri === manualRedirectUri;
    if (redirectUri === '') problems.push('redirect_uri is missing.');
    else if (!manual && !isLoopbackRedirect(redirectUri)) {
      problems.push(
        `redirect_uri "${redirectUri}" is not registered: use ${manualRedirectUri} or http://localhost:PORT/callback.`,
      );
    }

    if (problems.length > 0) return { ok: false, problems };
    return {
      ok: true,
      value: { clientId: requestClientId, redirectUri, scopes: get('scope'), codeChallenge, state, manual },
    };
  }

  function isLoopbackRedirect(uri: string): boolean {
    const match = LOOPBACK_REDIRECT_URI.exec(uri);
    if (match === null) return false;
    const port = Number(match[1]);
    return port >= 1 && port <= 65_535;
  }

  function approveRedirect(request: AuthorizeRequest): Reply {
    const code = store.mintCode({
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      state: request.state,
      scopes: request.scopes,
    });
    // The manual flow lands on our own page, which shows CODE#STATE to paste.
    const target = request.manual ? manualRedirectUri : request.redirectUri;
    return redirectReply(withQuery(target, { code, state: request.state }));
  }

  function denyRedirect(request: AuthorizeRequest): Reply {
    const target = request.manual ? manualRedirectUri : request.redirectUri;
    return redirectReply(
      withQuery(target, {
        error: 'access_denied',
        error_description: 'The user denied the authorization request',
        state: request.state,
      }),
    );
  }

  function authorizePage(ex: Exchange): Reply {
    const checked = validateAuthorize(ex.url.searchParams);
    if (!checked.ok) return htmlReply(400, renderErrorPage('Invalid authorization request', checked.problems));
    if (autoApprove) return approveRedirect(checked.value);
    return htmlReply(
      200,
      renderAuthorizePage({
        clientId: checked.value.clientId,
        scopes: checked.value.scopes.split(/\s+/).filter((scope) => scope !== ''),
        redirectUri: checked.value.redirectUri,
        manual: checked.value.manual,
        account,
        organization,
        action: AUTHORIZE_PATH,
        fields: [...ex.url.searchParams].filter(([name]) => name !== 'decision'),
      }),
    );
  }

  function authorizeDecision(ex: Exchange): Reply {
    if (mediaType(ex.req.headers) !== 'application/x-www-form-urlencoded') {
      return htmlReply(400, renderErrorPage('Invalid authorization request', ['The form must be form-encoded.']));
    }
    const form = new URLSearchParams(ex.body);
    const decision = form.get('decision');
    form.delete('decision');
    // Re-validate: the form's hidden fields are as untrusted as the original query.
    const checked = validateAuthorize(form);
    if (!checked.ok) return htmlReply(400, renderErrorPage('Invalid authorization request', checked.problems));
    if (decision === 'approve') return approveRedirect(checked.value);
    if (decision === 'deny') return denyRedirect(checked.value);
    return htmlReply(400, renderErrorPage('Invalid authorization request', ['decision must be "approve" or "deny".']));
  }

  function manualCallbackPage(ex: Exchange): Reply {
    const params = ex.url.searchParams;
    const error = params.get('error');
    if (error !== null) return htmlReply(200, renderManualErrorPage(error, params.get('error_description') ?? ''));
    const code = params.get('code');
    const state = params.get('state');
    if (code === null || code === '' || state === null || state === '') {
      return htmlReply(400, renderErrorPage('Missing code', ['This page needs both code and state.']));
    }
    return htmlReply(200, renderManualCodePage(code, state));
  }

  // --- token endpoint ---------------------------------------------------------------------------

  function tokenEndpoint(ex: Exchange): Reply {
    if (ex.req.method !== 'POST') {
      const reply = oauthError(405, 'invalid_request', 'Use POST');
      reply.headers.allow = 'POST';
      return reply;
    }
    if (mediaType(ex.req.headers) !== 'application/json') {
      return oauthError(400, 'invalid_request', 'The token endpoint accepts application/json bodies only');
    }
    const parsed = ex.json ?? tryParseJson(ex.body);
    if (!parsed.ok || !isObject(parsed.value)) {
      return oauthError(400, 'invalid_request', 'The body must be a JSON object');
    }
    const body = parsed.value;

    let result: GrantResult;
    if (body.grant_type === 'authorization_code') result = store.redeemCode(body);
    else if (body.grant_type === 'refresh_token') result = store.refresh(body);
    else if (body.grant_type === undefined) return oauthError(400, 'invalid_request', 'grant_type is required');
    else return oauthError(400, 'unsupported_grant_type', 'Supported: authorization_code, refresh_token');

    if (!result.ok) {
      if (result.error === 'invalid_grant') counters.invalidGrant++;
      return result.reply;
    }
    if (body.grant_type === 'authorization_code') counters.authorizationCode++;
    else counters.refresh++;
    return jsonReply(
      200,
      {
        access_token: result.tokens.accessToken,
        refresh_token: result.tokens.refreshToken,
        expires_in: result.tokens.expiresIn,
        token_type: 'Bearer',
        scope: scopes,
        organization: { uuid: organization.uuid, name: organization.name },
        account: { uuid: account.uuid, email_address: account.emailAddress },
      },
      { 'cache-control': 'no-store' },
    );
  }

  // --- API --------------------------------------------------------------------------------------

  function apiError(status: number, type: string, message: string): Reply {
    return jsonReply(status, { type: 'error', error: { type, message } }, { 'request-id': nextId('req') });
  }

  /** The API's auth rules for OAuth callers; null when the request may proceed. */
  function checkApiAuth(headers: IncomingHttpHeaders): Reply | null {
    if (headers['x-api-key'] !== undefined) {
      return apiError(401, 'authentication_error', 'OAuth clients must not send x-api-key');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
    if (match === null) {
      return apiError(401, 'authentication_error', 'Missing bearer token: send Authorization: Bearer <access token>');
    }
    switch (store.checkAccess(match[1] ?? '')) {
      case 'unknown':
        return apiError(401, 'authentication_error', 'Invalid bearer token');
      case 'revoked':
        return apiError(401, 'authentication_error', 'OAuth token has been revoked');
      case 'expired':
        return apiError(
          401,
          'authentication_error',
          'OAuth token has expired. Please obtain a new token or refresh your existing token.',
        );
      case 'live':
        break;
    }
    const betaHeader = headers['anthropic-beta'];
    const betas = (Array.isArray(betaHeader) ? betaHeader.join(',') : (betaHeader ?? '')).split(',');
    if (!betas.some((beta) => beta.trim() === OAUTH_BETA)) {
      return apiError(400, 'invalid_request_error', `OAuth authentication requires the ${OAUTH_BETA} beta`);
    }
    return null;
  }

  function messagesEndpoint(ex: Exchange): Reply {
    const refused = checkApiAuth(ex.req.headers);
    if (refused !== null) return refused;

    const parsed = ex.json ?? tryParseJson(ex.body);
    if (!parsed.ok || !isObject(parsed.value)) {
      return apiError(400, 'invalid_request_error', 'The body must be a JSON object');
    }
    const body = parsed.value;
    if (typeof body.model !== 'string' || body.model === '') {
      return apiError(400, 'invalid_request_error', 'model: Field required');
    }
    if (typeof body.max_tokens !== 'number' || !Number.isFinite(body.max_tokens)) {
      return apiError(400, 'invalid_request_error', 'max_tokens: Field required');
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return apiError(400, 'invalid_request_error', 'messages: at least one message is required');
    }

    if (body.tools !== undefined && !Array.isArray(body.tools)) {
      return apiError(400, 'invalid_request_error', 'tools: Input should be a valid list');
    }

    counters.messages++;
    const model = body.model;
    const call = toolCallFor(body, body.messages);
    const text = call === null ? replyText(body.messages) : '';
    const toolUse =
      call === null ? null : { type: 'tool_use', id: nextId('toolu'), name: call.name, input: call.input };
    const inputJson = call === null ? '' : JSON.stringify(call.input);
    const stopReason = call === null ? 'end_turn' : 'tool_use';
    const usage = {
      input_tokens: estimateTokens(inputChars(body, body.messages)),
      output_tokens: estimateTokens(text.length + inputJson.length),
    };
    const id = nextId('msg');
    const requestId = nextId('req');

    if (body.stream !== true) {
      return jsonReply(
        200,
        {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [toolUse ?? { type: 'text', text }],
          stop_reason: stopReason,
          stop_sequence: null,
          usage,
        },
        { 'request-id': requestId },
      );
    }

    // The real event order; one delta per word so clients see more than one chunk.
    let stream = sseEvent('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
      },
    });
    stream += sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: toolUse === null ? { type: 'text', text: '' } : { ...toolUse, input: {} },
    });
    // Text: one delta per word. Tool input: an empty first delta, then the JSON in short pieces, as
    // the real API sends it (clients must concatenate `partial_json` before parsing).
    const deltas =
      toolUse === null
        ? (text.match(/\S+\s*/g) ?? [text]).map((piece) => ({ type: 'text_delta', text: piece }))
        : ['', ...(inputJson.match(/.{1,8}/gs) ?? [])].map((piece) => ({
            type: 'input_json_delta',
            partial_json: piece,
          }));
    for (const delta of deltas) {
      stream += sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta });
    }
    stream += sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 });
    stream += sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    stream += sseEvent('message_stop', { type: 'message_stop' });
    return {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'request-id': requestId,
      },
      body: stream,
    };
  }

  function modelsEndpoint(ex: Exchange): Reply {
    const refused = checkApiAuth(ex.req.headers);
    if (refused !== null) return refused;
    const data = MODELS.map((model) => ({ type: 'model', ...model }));
    return jsonReply(
      200,
      { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
      { 'request-id': nextId('req') },
    );
  }

  // --- dispatch ---------------------------------------------------------------------------------

  function methodNotAllowed(allow: string): Reply {
    const reply = apiError(405, 'invalid_request_error', `Method not allowed; use ${allow}`);
    reply.headers.allow = allow;
    return reply;
  }

  function route(ex: Exchange): Reply {
    const method = ex.req.method;
    switch (ex.url.pathname) {
      case AUTHORIZE_PATH:
        if (method === 'GET') return authorizePage(ex);
        if (method === 'POST') return authorizeDecision(ex);
        return methodNotAllowed('GET, POST');
      case MANUAL_CALLBACK_PATH:
        return method === 'GET' ? manualCallbackPage(ex) : methodNotAllowed('GET');
      case TOKEN_PATH:
        return tokenEndpoint(ex);
      case MESSAGES_PATH:
        return method === 'POST' ? messagesEndpoint(ex) : methodNotAllowed('POST');
      case MODELS_PATH:
        return method === 'GET' ? modelsEndpoint(ex) : methodNotAllowed('GET');
      default:
        return apiError(404, 'not_found_error', `Not found: ${method} ${ex.url.pathname}`);
    }
  }

  function send(ex: Exchange, reply: Reply): void {
    ex.entry.status = reply.status;
    ex.res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
    ex.res.end(reply.body);
  }

  function log(entry: EmulatorRequest): void {
    requests.push(entry);
    if (requests.length > MAX_LOGGED_REQUESTS) requests.shift();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Concatenate rather than resolve: a target like `//host/x` must stay a path, not become a host.
    const target = req.url ?? '/';
    const url = new URL(target.startsWith('/') ? origin + target : target, origin);
    const entry: EmulatorRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: copyHeaders(req.headers),
      body: undefined,
      status: 0,
      time: Date.now(),
    };
    log(entry);

    const body = await readBody(req);
    if (body === null) {
      entry.status = 413;
      const reply =
        url.pathname === TOKEN_PATH
          ? oauthError(413, 'invalid_request', 'Request body exceeds 1 MiB')
          : apiError(413, 'request_too_large', 'Request body exceeds 1 MiB');
      reply.headers.connection = 'close';
      send({ req, res, url, entry, body: '', json: undefined }, reply);
      return;
    }
    const json = body !== '' && mediaType(req.headers) === 'application/json' ? tryParseJson(body) : undefined;
    if (body !== '') entry.body = json?.ok === true ? json.value : body;
    const ex: Exchange = { req, res, url, entry, body, json };

    const fault = url.pathname === TOKEN_PATH ? faultQueue.take() : undefined;
    if (fault === undefined) {
      const reply = route(ex);
      if (reply.status === 401) counters.unauthorized++;
      send(ex, reply);
      return;
    }
    switch (fault.kind) {
      case 'reply':
        send(ex, fault.reply);
        return;
      case 'hang':
        // Never answered; close() destroys the socket.
        return;
      case 'reset': {
        // Process for real (a refresh rotates), then lose the response.
        const reply = route(ex);
        if (reply.status === 401) counters.unauthorized++;
        req.socket.destroy();
        return;
      }
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch(() => {
      // Only a socket error while reading can land here; the client is gone, so just let go.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal emulator error' } }));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  origin = `http://${HOST}:${port}`;
  manualRedirectUri = `${origin}${MANUAL_CALLBACK_PATH}`;
  const authorizeUrl = `${origin}${AUTHORIZE_PATH}`;
  const tokenUrl = `${origin}${TOKEN_PATH}`;

  /** A browser visit to the consent page that clicks one button, over real HTTP. */
  async function visit(pageUrl: string, decision: 'approve' | 'deny'): Promise<string> {
    const page = new URL(pageUrl);
    // Refuse anything but our own page: a stray real authorize URL must never be fetched.
    if (page.origin !== origin || page.pathname !== AUTHORIZE_PATH) {
      throw new Error(`${decision}(): not this emulator's authorize URL: ${page.origin}${page.pathname}`);
    }
    const response = await fetch(page, { redirect: 'manual' });
    const html = await response.text();
    if (response.status === 302) {
      if (decision === 'approve') return new URL(response.headers.get('location') ?? '', page).href;
      throw new Error('deny(): autoApprove is on, so the authorize page approved without asking');
    }
    if (response.status !== 200) {
      throw new Error(`The authorize page refused the request (${response.status}): ${readProblems(html).join(' ')}`);
    }
    const form = readAuthorizeForm(html);
    if (form === null) throw new Error('The authorize page has no form');
    const submit = await fetch(new URL(form.action, page), {
      method: 'POST',
      body: new URLSearchParams([...form.fields, ['decision', decision]]),
      redirect: 'manual',
    });
    const submitted = await submit.text();
    const location = submit.headers.get('location');
    if (submit.status !== 302 || location === null) {
      throw new Error(`The authorize form was refused (${submit.status}): ${readProblems(submitted).join(' ')}`);
    }
    return new URL(location, page).href;
  }

  let closing: Promise<void> | undefined;

  return {
    url: origin,
    authorizeUrl,
    tokenUrl,
    manualRedirectUri,
    oauthConfig: { clientId, redirectUri: manualRedirectUri, tokenUrl, authorizeUrl, scopes },
    requests,
    stats: () => ({ ...counters }),
    approve: (url) => visit(url, 'approve'),
    deny: (url) => visit(url, 'deny'),
    issueTokens: (opts = {}) => {
      const ttl = opts.ttl === undefined ? accessTtlMs : checkSeconds('ttl', opts.ttl) * 1000;
      return store.issue(ttl);
    },
    revokeAccessToken: (token) => store.revokeAccess(token),
    expireAccessTokens: () => store.expireAll(),
    isRefreshTokenLive: (token) => store.isRefreshLive(token),
    faults: {
      tokenServerError(count = 1, status = 500) {
        if (!Number.isInteger(status) || status < 500 || status > 599) {
          throw new RangeError(`status must be a 5xx code, got ${status}`);
        }
        faultQueue.add({ kind: 'reply', reply: oauthError(status, 'server_error', 'The server had an error') }, count);
      },
      tokenRateLimited(retryAfterSeconds, count = 1) {
        const seconds = checkSeconds('retryAfterSeconds', retryAfterSeconds);
        const reply = oauthError(429, 'rate_limit_error', 'Too many requests');
        reply.headers['retry-after'] = String(seconds);
        faultQueue.add({ kind: 'reply', reply }, count);
      },
      tokenMalformed(body, count = 1, status = 200) {
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          throw new RangeError(`status must be an HTTP status, got ${status}`);
        }
        faultQueue.add(
          { kind: 'reply', reply: { status, headers: { 'content-type': 'application/json' }, body } },
          count,
        );
      },
      tokenHang(count = 1) {
        faultQueue.add({ kind: 'hang' }, count);
      },
      tokenResetAfterRequest(count = 1) {
        faultQueue.add({ kind: 'reset' }, count);
      },
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging requests and idle keep-alive connections would otherwise hold close() open.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
