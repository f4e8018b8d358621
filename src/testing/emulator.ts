/**
 * `startEmulator()`: a local, faithful stand-in for Anthropic's OAuth endpoints (authorize page,
 * manual code page, token endpoint), the API endpoints an OAuth client touches (`POST /v1/messages`,
 * `GET /v1/models`) and the account endpoints (`GET /api/oauth/profile`, `GET /api/oauth/usage`,
 * with the plan and usage set by `plan`/`usage`). Used by our tests, the offline demo and users' own
 * tests.
 *
 * Policy:
 * - Loopback only. It listens on 127.0.0.1 (a free port unless `port` is given) and never makes an
 *   outbound request; `approve()`/`deny()` refuse any URL that is not this emulator's own page.
 * - Faithful where docs/protocol.md knows the real behaviour, strict where it does not: PKCE S256 only,
 *   exact redirect_uri match, single-use short-lived codes, JSON-only token endpoint, rotating
 *   refresh tokens whose reuse revokes the whole family (RFC 9700), `scope` on refresh refused,
 *   the OAuth beta required on the API. A client that passes here should not pass by leniency.
 * - Fake secrets only: every token is random, prefixed like the real ones, held in memory and gone
 *   with the instance. The request log keeps `authorization` on purpose (tests assert on it).
 * - Cheap per request: `/v1/messages` serves benchmarks, so it does no crypto, answers at once in a
 *   single write, keeps connections alive, and the request log is capped.
 * - Silent: no console output; everything observable is in `requests` and `stats()`.
 *
 * Layout: `state.ts` holds one emulator's state (settings, grant ledger, fault queues, counters,
 * request log) as an explicit object; `routes/` holds one file per endpoint, each a function of
 * (request, state) to a reply, listed in the route table `routes/index.ts`; `server.ts` wires the
 * table to HTTP. This file builds the state, starts the server and hands out the `Emulator`.
 * The emulator imports nothing of the library but its public types: its wire facts are its own
 * (`wire.ts`), so it can catch a wrong constant in the library instead of agreeing with it.
 */

import { checkSeconds } from './checks.js';
import { faultControls } from './faults.js';
import { serve } from './server.js';
import { createState, settingsFrom } from './state.js';
import { setPlan, setUsage } from './subscription.js';
import type { Emulator, EmulatorOptions } from './types.js';
import { visit } from './visit.js';

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = createState(settingsFrom(options));
  const server = await serve(options.port ?? 0, state);
  const { settings, urls, ledger } = state;
  return {
    url: urls.origin,
    authorizeUrl: urls.authorizeUrl,
    tokenUrl: urls.tokenUrl,
    manualRedirectUri: urls.manualRedirectUri,
    consoleAuthorizeUrl: urls.consoleAuthorizeUrl,
    oauthConfig: {
      clientId: settings.clientId,
      redirectUri: urls.manualRedirectUri,
      tokenUrl: urls.tokenUrl,
      authorizeUrl: urls.authorizeUrl,
      scopes: settings.scopes,
    },
    requests: state.log.entries,
    stats: () => ({ ...state.stats }),
    approve: (url) => visit(url, 'approve', urls),
    deny: (url) => visit(url, 'deny', urls),
    issueTokens: (opts = {}) => {
      const ttl = opts.ttl === undefined ? settings.accessTtlMs : checkSeconds('ttl', opts.ttl) * 1000;
      return ledger.issue(ttl, opts.scope);
    },
    setPlan: (plan) => setPlan(state.subscription, plan),
    setUsage: (usage) => setUsage(state.subscription, usage),
    revokeAccessToken: (token) => ledger.revokeAccess(token),
    expireAccessTokens: () => ledger.expireAll(),
    isRefreshTokenLive: (token) => ledger.isRefreshLive(token),
    apiKeys: () => [...state.apiKeys.values()].map((key) => ({ ...key })),
    revokeApiKey: (key) => {
      const minted = state.apiKeys.get(key);
      if (minted) minted.live = false;
    },
    faults: faultControls(state.faults, state.nextId),
    close: () => server.close(),
  };
}
