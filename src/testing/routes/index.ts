/**
 * The route table: every endpoint the emulator serves, and `dispatch`, which finds the handler for
 * a request or answers 404/405 in the endpoint's dialect. To add an endpoint, add a file exporting a
 * `Route` and list it here.
 */

import { apiError, oauthError, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { authorizeRoute, consoleAuthorizeRoute, manualCallbackRoute } from './authorize.js';
import { createApiKeyRoute, rolesRoute } from './console.js';
import { messagesRoute } from './messages.js';
import { modelsRoute } from './models.js';
import { profileRoute } from './profile.js';
import { tokenRoute } from './token.js';
import { usageRoute } from './usage.js';

export const ROUTES: readonly Route[] = [
  authorizeRoute,
  manualCallbackRoute,
  tokenRoute,
  messagesRoute,
  modelsRoute,
  profileRoute,
  usageRoute,
  consoleAuthorizeRoute,
  createApiKeyRoute,
  rolesRoute,
];

const byPath = new Map(ROUTES.map((route) => [route.path, route]));

export function findRoute(path: string): Route | undefined {
  return byPath.get(path);
}

/** The answer to a body past 1 MiB, in the endpoint's dialect; the connection is closed after it. */
export function tooLarge(route: Route | undefined, emulator: EmulatorState): Reply {
  const reply =
    route?.dialect === 'oauth'
      ? oauthError(413, 'invalid_request', 'Request body exceeds 1 MiB')
      : apiError(emulator.nextId('req'), 413, 'request_too_large', 'Request body exceeds 1 MiB');
  reply.headers.connection = 'close';
  return reply;
}

export function dispatch(request: RouteRequest, emulator: EmulatorState): Reply {
  const route = findRoute(request.url.pathname);
  if (route === undefined) {
    return apiError(
      emulator.nextId('req'),
      404,
      'not_found_error',
      `Not found: ${request.method} ${request.url.pathname}`,
    );
  }
  const handler = Object.hasOwn(route.methods, request.method) ? route.methods[request.method] : undefined;
  if (handler !== undefined) return handler(request, emulator);
  const allow = Object.keys(route.methods).join(', ');
  const reply =
    route.dialect === 'oauth'
      ? oauthError(405, 'invalid_request', `Use ${allow}`)
      : apiError(emulator.nextId('req'), 405, 'invalid_request_error', `Method not allowed; use ${allow}`);
  reply.headers.allow = allow;
  return reply;
}
