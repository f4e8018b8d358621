/**
 * The browser side of the login: `GET /oauth/authorize` (the consent page, or an immediate redirect
 * with `autoApprove`), `POST /oauth/authorize` (the Approve/Deny form) and the manual redirect
 * target `GET /oauth/code/callback`, which shows `CODE#STATE` to paste.
 *
 * An invalid request gets an error page, never a redirect to an unvalidated URI. Accepted redirect
 * URIs: this emulator's manual page, or `http://localhost|127.0.0.1:PORT/callback` (explicit port).
 * The form's hidden fields are validated again on POST: they are as untrusted as the query.
 */

import { htmlReply, mediaType, type Reply, type RouteRequest, redirectReply, withQuery } from '../http.js';
import { renderAuthorizePage, renderErrorPage, renderManualCodePage, renderManualErrorPage } from '../pages.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { PATHS } from '../wire.js';

/** The only loopback redirect URIs accepted, like the real service: explicit port, `/callback`. */
const LOOPBACK_REDIRECT_URI = /^http:\/\/(?:localhost|127\.0\.0\.1):([0-9]{1,5})\/callback$/;
/** base64url(SHA-256(verifier)) is always 43 characters (RFC 7636 §4.2). */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scopes: string;
  codeChallenge: string;
  state: string;
  manual: boolean;
  /** Asked on the Console's page. */
  console: boolean;
}

function isLoopbackRedirect(uri: string): boolean {
  const match = LOOPBACK_REDIRECT_URI.exec(uri);
  if (match === null) return false;
  const port = Number(match[1]);
  return port >= 1 && port <= 65_535;
}

function validateAuthorize(
  params: URLSearchParams,
  emulator: EmulatorState,
  onConsole = false,
): { ok: true; value: AuthorizeRequest } | { ok: false; problems: string[] } {
  const { clientId } = emulator.settings;
  const { manualRedirectUri } = emulator.urls;
  const problems: string[] = [];
  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1) problems.push(`${name} is given more than once.`);
  }
  const get = (name: string): string => params.get(name) ?? '';

  const requestClientId = get('client_id');
  if (requestClientId === '') problems.push('client_id is missing.');
  else if (requestClientId !== clientId) problems.push(`Unknown client_id "${requestClientId}".`);

  if (get('response_type') !== 'code') problems.push(`response_type must be "code" (got "${get('response_type')}").`);

  const codeChallenge = get('code_challenge');
  if (codeChallenge === '') problems.push('code_challenge is missing: PKCE is required.');
  else if (!CODE_CHALLENGE.test(codeChallenge)) {
    problems.push('code_challenge must be 43 base64url characters (base64url of a SHA-256 digest).');
  }
  if (get('code_challenge_method') !== 'S256') problems.push('code_challenge_method must be "S256".');

  const state = get('state');
  if (state === '') problems.push('state is missing.');

  const redirectUri = get('redirect_uri');
  const manual = redirectUri === manualRedirectUri;
  if (redirectUri === '') problems.push('redirect_uri is missing.');
  else if (!manual && !isLoopbackRedirect(redirectUri)) {
    problems.push(
      `redirect_uri "${redirectUri}" is not registered: use ${manualRedirectUri} or http://localhost:PORT/callback.`,
    );
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      clientId: requestClientId,
      redirectUri,
      scopes: get('scope'),
      codeChallenge,
      state,
      manual,
      console: onConsole,
    },
  };
}

function approveRedirect(request: AuthorizeRequest, emulator: EmulatorState): Reply {
  const code = emulator.ledger.mintCode({
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    state: request.state,
    scopes: request.scopes,
    console: request.console,
  });
  // The manual flow lands on our own page, which shows CODE#STATE to paste.
  const target = request.manual ? emulator.urls.manualRedirectUri : request.redirectUri;
  return redirectReply(withQuery(target, { code, state: request.state }));
}

function denyRedirect(request: AuthorizeRequest, emulator: EmulatorState): Reply {
  const target = request.manual ? emulator.urls.manualRedirectUri : request.redirectUri;
  return redirectReply(
    withQuery(target, {
      error: 'access_denied',
      error_description: 'The user denied the authorization request',
      state: request.state,
    }),
  );
}

function invalidRequest(problems: readonly string[]): Reply {
  return htmlReply(400, renderErrorPage('Invalid authorization request', problems));
}

/** The Console's banner on its consent page: the same page, saying whose sign-in it is. */
const CONSOLE_BANNER =
  '<p class="console-banner"><strong>Anthropic Console</strong>: signing in creates an API key billed to your Console organization.</p>';

function authorizePage(request: RouteRequest, emulator: EmulatorState, onConsole = false): Reply {
  const checked = validateAuthorize(request.url.searchParams, emulator, onConsole);
  if (!checked.ok) return invalidRequest(checked.problems);
  if (emulator.settings.autoApprove) return approveRedirect(checked.value, emulator);
  const page = renderAuthorizePage({
    clientId: checked.value.clientId,
    scopes: checked.value.scopes.split(/\s+/).filter((scope) => scope !== ''),
    redirectUri: checked.value.redirectUri,
    manual: checked.value.manual,
    account: emulator.settings.account,
    organization: emulator.settings.organization,
    action: onConsole ? PATHS.consoleAuthorize : PATHS.authorize,
    fields: [...request.url.searchParams].filter(([name]) => name !== 'decision'),
  });
  return htmlReply(200, onConsole ? page.replace('<body>', `<body>\n${CONSOLE_BANNER}`) : page);
}

function authorizeDecision(request: RouteRequest, emulator: EmulatorState, onConsole = false): Reply {
  if (mediaType(request.headers) !== 'application/x-www-form-urlencoded') {
    return invalidRequest(['The form must be form-encoded.']);
  }
  const form = new URLSearchParams(request.body);
  const decision = form.get('decision');
  form.delete('decision');
  // Re-validate: the form's hidden fields are as untrusted as the original query.
  const checked = validateAuthorize(form, emulator, onConsole);
  if (!checked.ok) return invalidRequest(checked.problems);
  if (decision === 'approve') return approveRedirect(checked.value, emulator);
  if (decision === 'deny') return denyRedirect(checked.value, emulator);
  return invalidRequest(['decision must be "approve" or "deny".']);
}

function manualCallbackPage(request: RouteRequest): Reply {
  const params = request.url.searchParams;
  const error = params.get('error');
  if (error !== null) return htmlReply(200, renderManualErrorPage(error, params.get('error_description') ?? ''));
  const code = params.get('code');
  const state = params.get('state');
  if (code === null || code === '' || state === null || state === '') {
    return htmlReply(400, renderErrorPage('Missing code', ['This page needs both code and state.']));
  }
  return htmlReply(200, renderManualCodePage(code, state));
}

export const authorizeRoute: Route = {
  path: PATHS.authorize,
  methods: { GET: authorizePage, POST: authorizeDecision },
  dialect: 'api',
};

export const consoleAuthorizeRoute: Route = {
  path: PATHS.consoleAuthorize,
  methods: {
    GET: (request, emulator) => authorizePage(request, emulator, true),
    POST: (request, emulator) => authorizeDecision(request, emulator, true),
  },
  dialect: 'api',
};

export const manualCallbackRoute: Route = {
  path: PATHS.manualCallback,
  methods: { GET: manualCallbackPage },
  dialect: 'api',
};
