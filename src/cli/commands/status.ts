/**
 * `status`: where the login comes from and what it holds, without refreshing. The source is decided
 * as the library decides it: `--storage` alone when given, else the environment variables, else the
 * token file. The one network call is the plan (`plan.ts`): with a valid token, not with `--offline`.
 * Names and scopes come from a server or a file: the context makes every line safe to print
 * (`forTerminal`), and JSON keeps them exact (`jsonText`).
 */
import { loadTokensFromEnv } from '../../env.js';
import { maskToken } from '../../mask-token.js';
import { TokenStorage } from '../../store/file.js';
import { listProfiles } from '../../store/profiles.js';
import type { OAuthTokens } from '../../types.js';
import { type CliContext, jsonText } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable, relativeTime } from './common.js';
import { whoLine } from './login.js';
import { planStatus } from './plan.js';
import type { Target } from './target.js';

type Source =
  | { kind: 'env'; variable: string }
  | { kind: 'file'; path: string }
  | { kind: 'keychain' | 'redis'; where: string };

interface ProfileRow {
  name: string;
  path: string;
  email: string | null;
  /** Why the file could not be read, if it could not. */
  error: string | null;
}

/** Every saved profile with its account email; read-only, a broken file is reported, not fatal. */
async function profileRows(ctx: CliContext): Promise<ProfileRow[]> {
  const rows: ProfileRow[] = [];
  for (const { name, path } of await listProfiles(ctx.env)) {
    try {
      const tokens = await new TokenStorage(path).load();
      rows.push({ name, path, email: tokens?.account?.emailAddress ?? null, error: null });
    } catch (error) {
      rows.push({ name, path, email: null, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return rows;
}

/** The `Profiles:` lines, shown only when a named profile exists (one login looks as it always did). */
function profileLines(rows: readonly ProfileRow[], active: string): string[] {
  if (!rows.some((row) => row.name !== 'default')) return [];
  const width = Math.max(...rows.map((row) => row.name.length));
  return [
    'Profiles:',
    ...rows.map(
      (row) =>
        `  ${row.name === active ? '*' : ' '} ${row.name.padEnd(width)}  ${row.error ? 'unreadable' : (row.email ?? 'account unknown')}  ${row.path}`,
    ),
  ];
}

function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function status(ctx: CliContext, json: boolean, target: Target, offline = false): Promise<ExitCode> {
  const now = ctx.now() / 1000;
  const path = target.where;
  const fileSource: Source = target.kind === 'file' ? { kind: 'file', path } : { kind: target.kind, where: path };
  let source: Source = fileSource;
  let tokens: OAuthTokens | null = null;
  const variable = envTokenVariable(ctx.env);
  if (!target.explicit && variable) {
    tokens = loadTokensFromEnv(ctx.env);
    source = { kind: 'env', variable };
  }
  if (!tokens) {
    tokens = await target.store.load();
    source = fileSource;
  }
  // Without --profile (or --storage), the other saved logins are listed after the active one.
  const listing = !target.profileFlag && target.path !== undefined && !target.explicit;
  const profiles = listing ? await profileRows(ctx) : [];
  const active = target.profile ?? 'default';
  const profilesJson = listing ? { profiles: profiles.map((row) => ({ ...row, active: row.name === active })) } : {};

  if (!tokens) {
    if (json) ctx.out(jsonText({ logged_in: false, source: null, path, ...profilesJson }));
    else {
      const where = target.explicit ? `in ${path}` : `in the environment or in ${path}`;
      ctx.out(`Not logged in (no login ${where}). Run \`${ctx.loginCommand}\` to sign in.`);
      for (const line of profileLines(profiles, active)) ctx.out(line);
    }
    return EXIT.notLoggedIn;
  }

  const expired = tokens.expiresAt !== null && tokens.expiresAt <= now;
  const refreshable = tokens.refreshToken !== '';
  const scopes = tokens.scope.split(/\s+/).filter(Boolean);
  const code = expired && !refreshable ? EXIT.loginAgain : EXIT.ok;
  const plan = await planStatus(ctx, tokens, { offline, expired });

  if (json) {
    ctx.out(
      jsonText({
        logged_in: true,
        source: source.kind,
        path: source.kind === 'file' ? source.path : null,
        ...(source.kind === 'keychain' ? { keychain: source.where } : {}),
        ...(source.kind === 'redis' ? { redis: source.where } : {}),
        profile: target.profile ?? 'default',
        env_variable: source.kind === 'env' ? source.variable : null,
        account: tokens.account ? { email: tokens.account.emailAddress, uuid: tokens.account.uuid } : null,
        organization: tokens.organization ? { name: tokens.organization.name, uuid: tokens.organization.uuid } : null,
        scopes,
        expires_at: tokens.expiresAt === null ? null : Math.floor(tokens.expiresAt),
        expires_at_iso: tokens.expiresAt === null ? null : isoTime(tokens.expiresAt),
        expired,
        has_refresh_token: refreshable,
        access_token_masked: maskToken(tokens.accessToken),
        ...plan.json,
        ...profilesJson,
      }),
    );
    return code;
  }

  let expiry = 'unknown (treated as valid until the API refuses it)';
  if (tokens.expiresAt !== null) {
    const when = relativeTime(tokens.expiresAt, now);
    expiry = `${isoTime(tokens.expiresAt)} (${expired ? `expired ${when}${refreshable ? '; refreshed on next use' : ''}` : when})`;
  }
  const rows: Array<[string, string]> = [
    [
      'Source',
      source.kind === 'env'
        ? `environment variable ${source.variable}`
        : source.kind === 'file'
          ? `token file ${source.path}`
          : `${source.kind === 'keychain' ? 'OS keychain' : 'Redis'} ${source.where}`,
    ],
    ['Scopes', scopes.length > 0 ? scopes.join(' ') : 'unknown'],
    ['Expires', expiry],
    ['Refresh token', refreshable ? 'yes' : 'no'],
    ['Access token', maskToken(tokens.accessToken)],
    ...plan.rows,
  ];
  const who = whoLine(tokens);
  ctx.out(source.kind === 'env' && !tokens.account ? `${who} (account unknown: environment variables)` : who);
  if (target.profile !== undefined) rows.unshift(['Profile', target.profile]);
  for (const [label, value] of rows) ctx.out(`  ${`${label}:`.padEnd(15)} ${value}`);
  if (source.kind === 'env' && target.path !== undefined && (await new TokenStorage(target.path).exists())) {
    ctx.out(`  ${'Also saved:'.padEnd(15)} ${path} (used once ${source.variable} is unset)`);
  }
  if (code === EXIT.loginAgain)
    ctx.out(`The access token has expired and cannot be refreshed. Run \`${ctx.loginCommand}\` to sign in.`);
  for (const line of profileLines(profiles, active)) ctx.out(line);
  return code;
}
