/** `GET /v1/models`: a small fake catalogue behind the same OAuth rules as the Messages API. */

import { jsonReply, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { PATHS } from '../wire.js';
import { checkApiAuth } from './api-auth.js';

/** Ids the SDK knows and does not flag as deprecated. */
const MODELS = [
  { id: 'claude-opus-4-8', display_name: 'Claude Opus 4.8', created_at: '2026-01-01T00:00:00Z' },
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-01-01T00:00:00Z' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
] as const;

function modelsEndpoint(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator);
  if (refused !== null) return refused;
  const data = MODELS.map((model) => ({ type: 'model', ...model }));
  return jsonReply(
    200,
    { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
    { 'request-id': emulator.nextId('req') },
  );
}

export const modelsRoute: Route = {
  path: PATHS.models,
  methods: { GET: modelsEndpoint },
  dialect: 'api',
};
