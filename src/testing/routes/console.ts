/**
 * The Console login's two API calls (research/wire-facts B2, B3), bearer access token only (no beta
 * required, as Claude Code sends none):
 *
 * - `POST /api/oauth/claude_cli/create_api_key`, empty body → `{ "raw_key": "sk-ant-api03-…" }`. The
 *   token's login must have been granted `org:create_api_key`; else, or when the organization forbids
 *   keys (`consoleForbidsApiKeys`), a 403 `permission_error`. Minted keys are recorded (`apiKeys()`)
 *   and accepted by the API (`api-auth.ts`). Faults: `faults.apiKeyMalformed`.
 * - `GET /api/oauth/claude_cli/roles` → `{ organization_role, workspace_role, organization_name }`;
 *   a 403 for a token not granted `user:profile` (an inference-only one).
 *
 * The real error shapes of these endpoints are not known; the API's envelope is used.
 */

import { randomBytes } from 'node:crypto';
import { jsonReply, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { CREATE_API_KEY_SCOPE, PATHS, PROFILE_SCOPE, TOKEN_PREFIX } from '../wire.js';
import { checkApiAuth } from './api-auth.js';

function permissionError(emulator: EmulatorState, message: string): Reply {
  const requestId = emulator.nextId('req');
  return jsonReply(
    403,
    { type: 'error', error: { type: 'permission_error', message }, request_id: requestId },
    { 'request-id': requestId },
  );
}

function bearerOf(request: RouteRequest): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
}

function createApiKey(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator, { requireBeta: false, oauthOnly: true });
  if (refused !== null) return refused;
  const token = bearerOf(request);
  if (emulator.settings.consoleForbidsApiKeys || !emulator.ledger.hasScope(token, CREATE_API_KEY_SCOPE)) {
    return permissionError(emulator, `OAuth token does not meet scope requirement ${CREATE_API_KEY_SCOPE}`);
  }
  const key = `${TOKEN_PREFIX.apiKey}${randomBytes(68).toString('base64url')}-AA`;
  emulator.apiKeys.set(key, {
    key,
    createdAt: Date.now(),
    organizationUuid: emulator.settings.organization.uuid,
    live: true,
  });
  return jsonReply(200, { raw_key: key });
}

function roles(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator, { requireBeta: false, oauthOnly: true });
  if (refused !== null) return refused;
  const token = bearerOf(request);
  if (!emulator.ledger.hasScope(token, PROFILE_SCOPE)) {
    return permissionError(emulator, `OAuth token does not meet scope requirement ${PROFILE_SCOPE}`);
  }
  const { roles: granted, organization } = emulator.settings;
  return jsonReply(200, {
    organization_role: granted.organization,
    workspace_role: granted.workspace,
    organization_name: organization.name,
  });
}

export const createApiKeyRoute: Route = {
  path: PATHS.createApiKey,
  methods: { POST: createApiKey },
  dialect: 'api',
  faults: 'apiKey',
};

export const rolesRoute: Route = {
  path: PATHS.roles,
  methods: { GET: roles },
  dialect: 'api',
};
