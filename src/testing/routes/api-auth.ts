/**
 * The API's rules for OAuth callers, shared by every API endpoint: `Authorization: Bearer` with a
 * live access token, no `x-api-key`, and the OAuth beta in `anthropic-beta` (any position, spaces
 * allowed). Messages mirror the real API's wording where it is known.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { apiError, type Reply } from '../http.js';
import type { EmulatorState } from '../state.js';
import { OAUTH_BETA } from '../wire.js';

/** null when the request may proceed; else the 401 (or 400 for a missing beta) to answer. */
export function checkApiAuth(headers: IncomingHttpHeaders, emulator: EmulatorState): Reply | null {
  const refuse = (status: number, type: string, message: string) =>
    apiError(emulator.nextId('req'), status, type, message);
  if (headers['x-api-key'] !== undefined) {
    return refuse(401, 'authentication_error', 'OAuth clients must not send x-api-key');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (match === null) {
    return refuse(401, 'authentication_error', 'Missing bearer token: send Authorization: Bearer <access token>');
  }
  switch (emulator.ledger.checkAccess(match[1] ?? '')) {
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
  if (!betas.some((beta) => beta.trim() === OAUTH_BETA)) {
    return refuse(400, 'invalid_request_error', `OAuth authentication requires the ${OAUTH_BETA} beta`);
  }
  return null;
}
