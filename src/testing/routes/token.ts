/**
 * `POST /v1/oauth/token`: the two grants, JSON bodies only (docs/protocol.md), answered with RFC 6749
 * §5.1 JSON or §5.2 errors, `Cache-Control: no-store` on both. The rules live in the grant ledger;
 * this file is the wire around them and the counters. Faults (`faults.token*`) apply here.
 */

import { isObject, jsonBody, jsonReply, mediaType, oauthError, type Reply, type RouteRequest } from '../http.js';
import type { GrantResult } from '../ledger.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { PATHS } from '../wire.js';

function tokenEndpoint(request: RouteRequest, emulator: EmulatorState): Reply {
  if (mediaType(request.headers) !== 'application/json') {
    return oauthError(400, 'invalid_request', 'The token endpoint accepts application/json bodies only');
  }
  const parsed = jsonBody(request);
  if (!parsed.ok || !isObject(parsed.value)) {
    return oauthError(400, 'invalid_request', 'The body must be a JSON object');
  }
  const body = parsed.value;

  let result: GrantResult;
  if (body.grant_type === 'authorization_code') result = emulator.ledger.redeemCode(body);
  else if (body.grant_type === 'refresh_token') result = emulator.ledger.refresh(body);
  else if (body.grant_type === undefined) return oauthError(400, 'invalid_request', 'grant_type is required');
  else return oauthError(400, 'unsupported_grant_type', 'Supported: authorization_code, refresh_token');

  const { stats, settings } = emulator;
  if (!result.ok) {
    if (result.error === 'invalid_grant') stats.invalidGrant++;
    return oauthError(result.status, result.error, result.description);
  }
  if (body.grant_type === 'authorization_code') stats.authorizationCode++;
  else stats.refresh++;
  return jsonReply(
    200,
    {
      access_token: result.tokens.accessToken,
      ...(result.withRefreshToken ? { refresh_token: result.tokens.refreshToken } : {}),
      expires_in: result.tokens.expiresIn,
      token_type: 'Bearer',
      scope: result.scope,
      organization: { uuid: settings.organization.uuid, name: settings.organization.name },
      account: { uuid: settings.account.uuid, email_address: settings.account.emailAddress },
    },
    { 'cache-control': 'no-store' },
  );
}

export const tokenRoute: Route = {
  path: PATHS.token,
  methods: { POST: tokenEndpoint },
  dialect: 'oauth',
  faults: 'token',
};
