/**
 * The grant ledger: the emulator's memory of authorization codes and token families, and the rules
 * of the two grants (RFC 6749 §4.1.3, §6), with no HTTP in it.
 *
 * - A code is single-use and short-lived, bound to its client, redirect URI, PKCE challenge (S256)
 *   and state. Any exchange naming a known code burns it; replaying a used code revokes the family
 *   it minted (RFC 6749 §4.1.2).
 * - Refresh tokens rotate: each refresh spends the old one. Presenting a spent one revokes every
 *   token of that login (RFC 9700 §4.14.2 reuse detection); revoked families get `invalid_grant`.
 * - Tokens are random, prefixed like the real ones, and live only in this ledger's maps.
 */

import { createHash, randomBytes } from 'node:crypto';
import type { JsonObject } from './http.js';
import type { IssuedTokens } from './types.js';
import { CREATE_API_KEY_SCOPE, INFERENCE_SCOPE, MAX_CUSTOM_EXPIRES_IN, TOKEN_PREFIX } from './wire.js';

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** Every token descended from one login; revoking it kills them all (RFC 9700 reuse detection). */
interface Family {
  revoked: boolean;
  /** Space-separated scopes granted to this login (the profile and usage endpoints check them). */
  scope: string;
}

/** What an authorization code is bound to, as the authorize step approved it. */
export interface CodeBinding {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  state: string;
  scopes: string;
  /** Approved on the Console's page (`consoleAuthorize`), not the subscription login's. */
  console?: boolean;
}

interface CodeRecord extends CodeBinding {
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

export type AccessCheck = 'live' | 'unknown' | 'expired' | 'revoked';

/** A grant's outcome: new tokens, or the RFC 6749 §5.2 error (status, code, description) to answer. */
export type GrantResult =
  | { ok: true; tokens: IssuedTokens; scope: string; withRefreshToken: boolean }
  | { ok: false; status: number; error: string; description: string };

export interface LedgerSettings {
  /** The only client id accepted at the token endpoint. */
  clientId: string;
  accessTtlMs: number;
  codeTtlMs: number;
  /** The scopes every login is granted unless `issue` says otherwise (what the token endpoint echoes). */
  scopes: string;
  /** A Console login is granted its scopes without `org:create_api_key`. */
  consoleForbidsApiKeys: boolean;
  /** A long-lived exchange also gets a refresh token. */
  longLivedRefreshToken: boolean;
}

/**
 * The scopes a login is granted: those asked for when they are a part of what the account may have
 * (the long-lived flow asks `user:inference` alone), else all the account may have; a Console login
 * of an organization that forbids keys loses `org:create_api_key`.
 */
function grantedScopes(binding: CodeBinding, settings: LedgerSettings): string {
  const allowed = settings.scopes.split(/\s+/).filter(Boolean);
  const asked = binding.scopes.split(/\s+/).filter(Boolean);
  let granted = asked.length > 0 && asked.every((scope) => allowed.includes(scope)) ? asked : allowed;
  if (binding.console && settings.consoleForbidsApiKeys) granted = granted.filter((s) => s !== CREATE_API_KEY_SCOPE);
  return granted.join(' ');
}

/**
 * A custom `expires_in` in the code exchange (the long-lived flow): honoured only for `user:inference`
 * alone; else the real 400 naming one scope it is not allowed for (research/wire-facts B5).
 */
function customLifetime(body: JsonObject, scope: string): { ttlMs: number } | GrantResult | null {
  if (!('expires_in' in body)) return null;
  const seconds = body.expires_in;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_CUSTOM_EXPIRES_IN) {
    return fail(
      400,
      'invalid_request',
      `expires_in must be a whole number of seconds from 1 to ${MAX_CUSTOM_EXPIRES_IN}`,
    );
  }
  const other = scope.split(/\s+/).find((s) => s !== '' && s !== INFERENCE_SCOPE);
  if (other !== undefined) return fail(400, 'invalid_request', `Custom expires_in not allowed for scope '${other}'`);
  return { ttlMs: seconds * 1000 };
}

export interface GrantLedger {
  /** Records an approved authorization request; returns its fresh code. */
  mintCode(binding: CodeBinding): string;
  /** The `authorization_code` grant, on the parsed JSON body. */
  redeemCode(body: JsonObject): GrantResult;
  /** The `refresh_token` grant, on the parsed JSON body. */
  refresh(body: JsonObject): GrantResult;
  /** A fresh family, as if a user had logged in; `scope` defaults to the settings' scopes. */
  issue(ttlMs: number, scope?: string): IssuedTokens;
  checkAccess(token: string): AccessCheck;
  /** Whether the login of a known access token was granted `scope`. */
  hasScope(token: string, scope: string): boolean;
  revokeAccess(token: string): void;
  /** Every access token issued so far expires now; refresh tokens stay valid. */
  expireAll(): void;
  isRefreshLive(token: string): boolean;
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function fail(status: number, error: string, description: string): GrantResult {
  return { ok: false, status, error, description };
}

function requireStrings(body: JsonObject, names: readonly string[]): GrantResult | null {
  for (const name of names) {
    const value = body[name];
    if (typeof value !== 'string' || value === '') return fail(400, 'invalid_request', `${name} is required`);
  }
  return null;
}

export function createGrantLedger(settings: LedgerSettings): GrantLedger {
  const codes = new Map<string, CodeRecord>();
  const accessTokens = new Map<string, AccessRecord>();
  const refreshTokens = new Map<string, RefreshRecord>();

  function mint(family: Family, ttlMs: number): IssuedTokens {
    const now = Date.now();
    const accessToken = TOKEN_PREFIX.access + randomToken();
    const refreshToken = TOKEN_PREFIX.refresh + randomToken();
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

      const scope = grantedScopes(record, settings);
      const lifetime = customLifetime(body, scope);
      if (lifetime !== null && 'ok' in lifetime) return lifetime;
      const family: Family = { revoked: false, scope };
      record.family = family;
      return {
        ok: true,
        tokens: mint(family, lifetime?.ttlMs ?? settings.accessTtlMs),
        scope,
        withRefreshToken: lifetime === null || settings.longLivedRefreshToken,
      };
    },

    refresh(body: JsonObject): GrantResult {
      const missing = requireStrings(body, ['refresh_token', 'client_id']);
      if (missing !== null) return missing;
      if (body.client_id !== settings.clientId) return fail(401, 'invalid_client', 'Unknown client_id');
      // docs/protocol.md: sending scope on refresh fails. Refused before the token is touched.
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
      return {
        ok: true,
        tokens: mint(record.family, settings.accessTtlMs),
        scope: record.family.scope,
        withRefreshToken: true,
      };
    },

    issue(ttlMs: number, scope: string = settings.scopes): IssuedTokens {
      return mint({ revoked: false, scope }, ttlMs);
    },

    checkAccess(token: string): AccessCheck {
      const record = accessTokens.get(token);
      if (record === undefined) return 'unknown';
      if (record.revoked || record.family.revoked) return 'revoked';
      if (Date.now() >= record.expiresAtMs) return 'expired';
      return 'live';
    },

    hasScope(token: string, scope: string): boolean {
      const record = accessTokens.get(token);
      return record?.family.scope.split(/\s+/).includes(scope) === true;
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
