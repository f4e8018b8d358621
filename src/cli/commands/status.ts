/**
 * `status`: where the login comes from and what it holds, without refreshing or any network call.
 * The source is decided as the library decides it: `--storage` alone when given, else the
 * environment variables, else the token file.
 */
import { resolve } from 'node:path';
import { loadTokensFromEnv } from '../../env.js';
import { LOGIN_HINT } from '../../errors.js';
import { maskToken } from '../../redact.js';
import { defaultTokenPath, TokenStorage } from '../../store/file.js';
import type { OAuthTokens } from '../../types.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable, relativeTime } from './common.js';
import { whoLine } from './login.js';

type Source = { kind: 'env'; variable: string } | { kind: 'file'; path: string };

function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function status(ctx: CliContext, json: boolean, storagePath: string | undefined): Promise<ExitCode> {
  const now = ctx.now() / 1000;
  const path = storagePath !== undefined ? resolve(storagePath) : defaultTokenPath(ctx.env);
  let source: Source = { kind: 'file', path };
  let tokens: OAuthTokens | null = null;
  const variable = envTokenVariable(ctx.env);
  if (storagePath === undefined && variable) {
    tokens = loadTokensFromEnv(ctx.env);
    source = { kind: 'env', variable };
  }
  if (!tokens) tokens = await new TokenStorage(path).load();

  if (!tokens) {
    if (json) ctx.out(JSON.stringify({ logged_in: false, source: null, path }, null, 2));
    else {
      const where = storagePath === undefined ? `in the environment or in ${path}` : `in ${path}`;
      ctx.out(`Not logged in (no login ${where}). ${LOGIN_HINT}`);
    }
    return EXIT.notLoggedIn;
  }

  const expired = tokens.expiresAt !== null && tokens.expiresAt <= now;
  const refreshable = tokens.refreshToken !== '';
  const scopes = tokens.scope.split(/\s+/).filter(Boolean);
  const code = expired && !refreshable ? EXIT.loginAgain : EXIT.ok;

  if (json) {
    ctx.out(
      JSON.stringify(
        {
          logged_in: true,
          source: source.kind,
          path: source.kind === 'file' ? source.path : null,
          env_variable: source.kind === 'env' ? source.variable : null,
          account: tokens.account ? { email: tokens.account.emailAddress, uuid: tokens.account.uuid } : null,
          organization: tokens.organization ? { name: tokens.organization.name, uuid: tokens.organization.uuid } : null,
          scopes,
          expires_at: tokens.expiresAt === null ? null : Math.floor(tokens.expiresAt),
          expires_at_iso: tokens.expiresAt === null ? null : isoTime(tokens.expiresAt),
          expired,
          has_refresh_token: refreshable,
          access_token_masked: maskToken(tokens.accessToken),
        },
        null,
        2,
      ),
    );
    return code;
  }

  let expiry = 'unknown (treated as valid until the API refuses it)';
  if (tokens.expiresAt !== null) {
    const when = relativeTime(tokens.expiresAt, now);
    expiry = `${isoTime(tokens.expiresAt)} (${expired ? `expired ${when}${refreshable ? '; refreshed on next use' : ''}` : when})`;
  }
  const rows: Array<[string, string]> = [
    ['Source', source.kind === 'env' ? `environment variable ${source.variable}` : `token file ${source.path}`],
    ['Scopes', scopes.length > 0 ? scopes.join(' ') : 'unknown'],
    ['Expires', expiry],
    ['Refresh token', refreshable ? 'yes' : 'no'],
    ['Access token', maskToken(tokens.accessToken)],
  ];
  const who = whoLine(tokens);
  ctx.out(source.kind === 'env' && !tokens.account ? `${who} (account unknown: environment variables)` : who);
  for (const [label, value] of rows) ctx.out(`  ${`${label}:`.padEnd(15)} ${value}`);
  if (source.kind === 'env' && (await new TokenStorage(path).exists())) {
    ctx.out(`  ${'Also saved:'.padEnd(15)} ${path} (used once ${source.variable} is unset)`);
  }
  if (code === EXIT.loginAgain) ctx.out(`The access token has expired and cannot be refreshed. ${LOGIN_HINT}`);
  return code;
}
