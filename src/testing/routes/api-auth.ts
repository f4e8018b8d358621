/**
 * The API's rules for OAuth callers, shared by every API endpoint: `Authorization: Bearer` with a
 * live access token, no `x-api-key`, and the OAuth beta in `anthropic-beta` (any position, spaces
 * allowed). The account endpoints add a scope (`user:profile`), refused with the real 403
 * `permission_error`; the profile endpoint does not insist on the beta (Claude Code sends none
 * there). Messages mirror the real API's wording where it is known.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { apiError, jsonReply, type Reply } from '../http.js';
import type { EmulatorState } from '../state.js';
import { OAUTH_BETA, SUBSCRIPTION_ERRORS } from '../wire.js';

export interface ApiAuthRules {
  /** Default true. */
  requireBeta?: boolean;
  /** A scope the token's login must have been granted. */
  scope?: string;
}

/** null when the request may proceed; else the 401 (also for a missing beta) or the 403 for a scope to answer. */
export function checkApiAuth(
  headers: IncomingHttpHeaders,
  emulator: EmulatorState,
  rules: ApiAuthRules = {},
): Reply | null {
  const refuse = (status: number, type: string, message: string) =>
    apiError(emulator.nextId('req'), status, type, message);
  if (headers['x-api-key'] !== undefined) {
    return refuse(401, 'authentication_error', 'OAuth clients must not send x-api-key');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
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
