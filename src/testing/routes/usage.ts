/**
 * `GET /api/oauth/usage`: the usage windows and extra usage set by the `usage` option (`setUsage`),
 * as an open map with keys no client knows yet. Needs a live token granted `user:profile` (else the
 * real 403) and the OAuth beta. Faults: `faults.usageMalformed`.
 */

import { jsonReply, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { usageBody } from '../subscription.js';
import { PATHS, PROFILE_SCOPE } from '../wire.js';
import { checkApiAuth } from './api-auth.js';

function usageEndpoint(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator, { scope: PROFILE_SCOPE });
  if (refused !== null) return refused;
  return jsonReply(200, usageBody(emulator.subscription), { 'request-id': emulator.nextId('req') });
}

export const usageRoute: Route = {
  path: PATHS.usage,
  methods: { GET: usageEndpoint },
  dialect: 'api',
  faults: 'usage',
};
