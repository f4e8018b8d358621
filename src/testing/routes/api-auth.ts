/**
 * The API's rules for OAuth callers, shared by every API endpoint: `Authorization: Bearer` with a
 * live access token, no `x-api-key`, and the OAuth beta in `anthropic-beta` (any position, spaces
 * allowed). The account endpoints add a scope (`user:profile`), refused with the real 403
 * `permission_error`; the profile endpoint does not insist on the beta (Claude Code sends none
 * there). Messages mirror the real API's wording where it is known.
 *
 * An API key minted by `create_api_key` is accepted instead, as `x-api-key` or as `Authorization:
 * Bearer` (the SDK 1.14 sends it so), without any beta; an unknown or revoked key gets the API's 401
 * `invalid x-api-key`. The Console calls themselves take OAuth tokens only (`oauthOnly`).
 */

import type { IncomingHttpHeaders } from 'node:http';
import { apiError, jsonReply, type Reply } from '../http.js';
import type { EmulatorState } from '../state.js';
import { INVALID_API_KEY_MESSAGE, OAUTH_BETA, SUBSCRIPTION_ERRORS, TOKEN_PREFIX } from '../wire.js';

export interface ApiAuthRules {
  /** Default true. */
  requireBeta?: boolean;
  /** A scope the token's login must have been granted. */
  scope?: string;
  /** Refuse API keys: the endpoint takes OAuth access tokens only. */
  oauthOnly?: boolean;
}

/** null for a live minted key; else the API's 401 for a key it does not know. */
function checkApiKey(key: string, emulator: EmulatorState): Reply | null {
  if (emulator.apiKeys.get(key)?.live === true) return null;
  return apiError(emulator.nextId('req'), 401, 'authentication_error', INVALID_API_KEY_MESSAGE);
}

/** null when the request may proceed; else the 401 (also for a missing beta) or the 403 for a scope to answer. */
export function checkApiAuth(
  headers: IncomingHttpHeaders,
  emulator: EmulatorState,
  rules: ApiAuthRules = {},
): Reply | null {
  const refuse = (status: number, type: string, message: string) =>
    apiError(emulator.nextId('req'), status, type, message);
  const apiKey = headers['x-api-key'];
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (!rules.oauthOnly && rules.scope === undefined) {
    if (typeof apiKey === 'string' && match === null) return checkApiKey(apiKey, emulator);
    if (apiKey === undefined && match?.[1]?.startsWith(TOKEN_PREFIX.apiKey)) return checkApiKey(match[1], emulator);
  }
  if (apiKey !== undefined) {
    return refuse(401, 'authentication_error', 'OAuth clients must not send x-api-key');
  }
  if (match === null) {
    return refuse(401, 'authentication_error', 'Missing bearer token: send Authorization: Bearer <access token>');
  }
  const token = match[1] ?? '';
  switch (emulator.ledger.checkAccess(token)) {
    case 'unknown':
      return refuse(401, 'authentication_error', 'Invalid bearer token');
    case 'revoked':
      return refuse(401, 'authentication_error', 'OAuth token has been revoked');
    case 'expired':
      return refuse(
        401,
        'authentication_error',
        'OAuth token has expired. Please obtain a new token or refresh your existing token.',
      );
    case 'live':
      break;
  }
  const betaHeader = headers['anthropic-beta'];
  const betas = (Array.isArray(betaHeader) ? betaHeader.join(',') : (betaHeader ?? '')).split(',');
  // The real answer to a bearer OAuth token without the beta (not a 400: research/wire-facts A4).
  if (rules.requireBeta !== false && !betas.some((beta) => beta.trim() === OAUTH_BETA)) {
    return refuse(401, 'authentication_error', SUBSCRIPTION_ERRORS.oauthNotSupported);
  }
  if (rules.scope !== undefined && !emulator.ledger.hasScope(token, rules.scope)) {
    const requestId = emulator.nextId('req');
    return jsonReply(
      403,
      {
        type: 'error',
        error: {
          type: 'permission_error',
          message: `OAuth token does not meet scope requirement ${rules.scope}`,
          details: { error_visibility: 'user_facing' },
        },
        request_id: requestId,
      },
      { 'request-id': requestId },
    );
  }
  return null;
}
