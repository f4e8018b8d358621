/**
 * What the account commands (`usage`, the plan in `status`) share: calling an account endpoint with
 * the login of the target, explaining API errors with `describeApiError`, plan labels, and making
 * server-supplied text safe to print.
 *
 * - The call goes through the token source, as `token` does: refreshed first when close to expiry,
 *   rotated tokens saved; a rejection refreshes once and retries once, by the rule of the client
 *   and `createOAuthFetch` (`replay.ts`: a 401, or a 403 whose body says the token was revoked). The SDK client is not loaded. (Not `createOAuthFetch` itself: it would add
 *   `?beta=true`, every OAuth beta and its user agent to the account endpoints, which take the
 *   `oauth-2025-04-20` beta alone.)
 * - An error is one line: what happened and what to do next (`describeApiError`'s message and
 *   hint), the server's own words and the code only with `--debug`. Exit codes: 4 for a login to
 *   renew (scope missing, revoked), 5 for the network, a 5xx or a rate limit, else as usual.
 */

import { type ApiErrorDescription, describeApiError } from '../../account/api-errors.js';
import type { AccountFetchOptions } from '../../account/http.js';
import type { Plan, Profile } from '../../account/profile.js';
import { DEFAULT_API_BASE_URL } from '../../constants.js';
import { ENV_BASE_URL } from '../../env-variables.js';
import { LOGIN_HINT, OAuthFlowError, TokenStorageError } from '../../errors.js';
import { resolveUserAgent } from '../../identity.js';
import { createTokenSource, type TokenSource } from '../../provider.js';
import { saysTokenRevoked } from '../../replay.js';
import type { OAuthTokens } from '../../types.js';
import { type CliContext, describeError, oneLine } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { relativeTime } from './common.js';
import type { Target } from './target.js';

/** The options every bare-token call of the CLI uses: the environment's base URL, a short timeout. */
export function accountOptions(ctx: CliContext, timeoutMs = 10_000): AccountFetchOptions {
  return { env: ctx.env, timeoutMs, userAgent: resolveUserAgent(undefined, ctx.env), fetch: ctx.fetch };
}

/**
 * The token source of `target`: its store when one was named, else its profile's file or the
 * environment. Here, not in target.ts, so that `status` and `logout` do not load the token source.
 */
export function tokenSourceFor(ctx: CliContext, target: Target): TokenSource {
  return createTokenSource(
    target.explicit
      ? { tokenStorage: target.store, env: ctx.env, fetch: ctx.fetch }
      : { profile: target.profile, env: ctx.env, fetch: ctx.fetch },
  );
}

/** Whether an error of an account call rejects the token it carried: `replay.ts`'s rule, on the SDK error. */
function errorRejectsToken(error: unknown): boolean {
  const { status, error: body } = error as { status?: unknown; error?: unknown };
  if (status === 401) return true;
  return (
    status === 403 && typeof body === 'object' && body !== null && saysTokenRevoked((body as { error?: unknown }).error)
  );
}

/** Runs `call` with the target's access token; a rejection refreshes once and retries once. */
export async function withLogin<T>(
  ctx: CliContext,
  target: Target,
  call: (token: string, tokens: OAuthTokens) => Promise<T>,
): Promise<T> {
  const source = tokenSourceFor(ctx, target);
  const tokens = await source.getTokens();
  const { accessToken } = tokens;
  try {
    return await call(accessToken, tokens);
  } catch (error) {
    // A 401, or the 403 of a revoked token: the token was replaced elsewhere, or is dead.
    if (!errorRejectsToken(error)) throw error;
    ctx.trace('the API refused the access token: refreshing once and retrying once');
    source.markRejected(accessToken);
    const fresh = await source.refreshAfterRejection(accessToken);
    if (fresh.accessToken === accessToken) throw error;
    return call(fresh.accessToken, fresh);
  }
}

/** The described error as one line for people: message, when it resets, hint. */
export function explanationLine(ctx: CliContext, described: ApiErrorDescription): string {
  const at = described.resetsAt;
  const when = at
    ? ` It resets ${relativeTime(at.getTime() / 1000, ctx.now() / 1000)}, at ${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}.`
    : '';
  return `${described.message}${when} ${described.hint}`;
}

function exitCodeOf(error: unknown, described: ApiErrorDescription | null): ExitCode {
  switch (described?.code) {
    case 'scope_missing':
    case 'token_revoked':
      return EXIT.loginAgain;
    case 'rate_limited':
      return EXIT.network;
    case undefined:
      break;
    default:
      return EXIT.error;
  }
  const { status } = error as { status?: unknown };
  return typeof status === 'number' && status >= 500 ? EXIT.network : EXIT.error;
}

/**
 * Prints `error` as one line and returns its exit code. Our own errors keep their messages (they
 * say what to do); an API error is explained by `describeApiError`, else summarized in one line
 * without its body (an HTML error page is not printed).
 */
export function failExplained(ctx: CliContext, error: unknown): ExitCode {
  const described = describeApiError(error);
  if (described === null && (error instanceof OAuthFlowError || error instanceof TokenStorageError)) {
    return ctx.fail(error);
  }
  const name = error instanceof Error ? error.name : '';
  if (described === null && name.startsWith('APIConnection')) {
    // The endpoint the library named (a profile or usage URL may be set apart from the base URL).
    const named = /\((https?:\/\/[^\s)]+)\)/.exec(error instanceof Error ? error.message : '')?.[1];
    const base = named ?? (ctx.env[ENV_BASE_URL]?.trim() || DEFAULT_API_BASE_URL);
    ctx.report(
      error,
      `Error: ${name === 'APIConnectionTimeoutError' ? 'The API did not answer in time' : 'Could not reach the API'} (${oneLine(base)}). Check your connection (and any proxy or ANTHROPIC_BASE_URL) and try again.`,
      EXIT.network,
    );
    for (const line of describeError(error)) ctx.trace(line);
    return EXIT.network;
  }
  if (described === null) {
    const status = (error as { status?: unknown }).status;
    if (typeof status !== 'number') return ctx.fail(error);
    const type = (error as { type?: unknown }).type;
    const next =
      status >= 500
        ? ' This is usually temporary: try again shortly.'
        : ctx.debug
          ? ''
          : ' Run again with --debug for details.';
    ctx.report(
      error,
      `Error: The API answered HTTP ${status}${typeof type === 'string' ? ` (${oneLine(type)})` : ''}.${next}`,
      exitCodeOf(error, described),
    );
  } else {
    // A revoked token reaches here only once `withLogin` refreshed the login and the new token was
    // refused too: a login with a refresh token (a long-lived one fails at that refresh, saying
    // `setup-token`). So of the library's hint, which names both, only the login applies.
    const hint = described.code === 'token_revoked' ? LOGIN_HINT : described.hint;
    ctx.report(
      { name: 'ApiError', code: described.code },
      `Error: ${explanationLine(ctx, { ...described, hint })}`,
      exitCodeOf(error, described),
      hint,
    );
    ctx.trace(`error: code=${described.code} status=${described.status ?? 'none'}`);
  }
  const server = (error as { apiMessage?: unknown }).apiMessage ?? described?.serverMessage;
  if (typeof server === 'string') ctx.trace(`the API said: ${oneLine(server).slice(0, 500)}`);
  return exitCodeOf(error, described);
}

const PLAN_NAMES: Readonly<Record<Plan, string>> = {
  pro: 'Claude Pro',
  max: 'Claude Max',
  team: 'Claude Team',
  enterprise: 'Claude Enterprise',
};

/** `Claude Max 5x`, `Claude Pro`, or the organization type as sent for a plan not known yet. */
export function planLabel(profile: Profile): string {
  const org = profile.organization;
  if (profile.plan === null) {
    return org?.organizationType ? `plan ${oneLine(org.organizationType)}` : 'no subscription plan reported';
  }
  const multiplier = profile.plan === 'max' ? /_(\d+)x$/.exec(org?.rateLimitTier ?? '')?.[1] : undefined;
  return `${PLAN_NAMES[profile.plan]}${multiplier ? ` ${multiplier}x` : ''}`;
}
