/**
 * `token`: a valid access token on stdout and nothing else. The token source refreshes it when it
 * is within the expiry buffer and saves the rotated tokens before handing it out. When they could
 * only be kept in a rescue copy (`saved_elsewhere`), the token is still printed and a warning on
 * stderr says where the login is and what to fix: the login is safe, and failing would only make
 * the next run find it there.
 *
 * On a Console login the credential is the API key: it is printed as it is (never refreshed), and
 * `--json` says so: `{"api_key": …, "kind": "api_key"}`.
 */
import { TokenStorageError } from '../../errors.js';
import { isApiKeyLogin } from '../../stored-login.js';
import type { StoredLogin } from '../../types.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { failExplained, tokenSourceFor } from './account.js';
import type { Target } from './target.js';

export async function token(ctx: CliContext, json: boolean, target: Target): Promise<ExitCode> {
  const source = tokenSourceFor(ctx, target);
  let tokens: StoredLogin;
  try {
    tokens = await source.getLogin();
  } catch (error) {
    if (!(error instanceof TokenStorageError && error.code === 'saved_elsewhere')) {
      // A rate-limited token endpoint is explained with its reset time (describeApiError).
      return failExplained(ctx, error);
    }
    ctx.say(`WARNING: ${error.message}`);
    tokens = await source.getTokens();
  }
  if (isApiKeyLogin(tokens)) {
    ctx.out(json ? JSON.stringify({ api_key: tokens.apiKey, kind: 'api_key' }) : tokens.apiKey);
    return EXIT.ok;
  }
  // Whole epoch seconds, rounded down: a script never believes the token lives longer than it does.
  const expiresAt = tokens.expiresAt === null ? null : Math.floor(tokens.expiresAt);
  ctx.out(json ? JSON.stringify({ access_token: tokens.accessToken, expires_at: expiresAt }) : tokens.accessToken);
  return EXIT.ok;
}
