/**
 * `GET /api/oauth/profile`: the signed-in account and its organization, with the plan set by the
 * `plan` option (`setPlan`). Needs a live token granted `user:profile` (else the real 403); the
 * OAuth beta is not insisted on (Claude Code sends none here). Faults: `faults.profileMalformed`.
 */

import { jsonReply, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { accountPlanFlags, planFields } from '../subscription.js';
import { PATHS, PROFILE_SCOPE } from '../wire.js';
import { checkApiAuth } from './api-auth.js';

/** When the fake account and its subscription were created (fixed: answers stay comparable). */
const CREATED_AT = '2025-03-14T09:26:53.589793+00:00';

function profileEndpoint(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator, { requireBeta: false, scope: PROFILE_SCOPE });
  if (refused !== null) return refused;
  const { account, organization } = emulator.settings;
  const sub = emulator.subscription;
  return jsonReply(
    200,
    {
      account: {
        uuid: account.uuid,
        email: account.emailAddress,
        display_name: account.emailAddress.split('@', 1)[0],
        full_name: 'Example User',
        created_at: CREATED_AT,
        ...accountPlanFlags(sub),
      },
      organization: {
        uuid: organization.uuid,
        name: organization.name,
        ...planFields(sub),
        subscription_created_at: CREATED_AT,
      },
      application: {},
      enabled_plugins: [],
    },
    { 'request-id': emulator.nextId('req') },
  );
}

export const profileRoute: Route = {
  path: PATHS.profile,
  methods: { GET: profileEndpoint },
  dialect: 'api',
  faults: 'profile',
};
