/**
 * `status`: where the login comes from and what it holds, without refreshing. The source is decided
 * as the library decides it: `--storage` alone when given, else the environment variables, else the
 * token file. No network call: the plan and organization are the summary saved with the login
 * (`plan.ts`), shown "as of" when it was fetched; `--offline` is accepted and changes nothing. A
 * Console login (an API key) shows its kind, organization, role and the masked key.
 * Names and scopes come from a server or a file: the context makes every line safe to print
 * (`forTerminal`), and JSON keeps them exact (`jsonText`).
 */

import { loadTokensFromEnv } from '../../env.js';
import { LOGIN_HINT, SETUP_TOKEN_SAVE_HINT } from '../../errors.js';
import { maskToken } from '../../mask-token.js';
import { TokenStorage } from '../../store/file.js';
import { listProfiles } from '../../store/profiles.js';
import { isApiKeyLogin, isLongLivedLogin, maskApiKey } from '../../stored-login.js';
import type { ApiKeyLogin, StoredLogin } from '../../types.js';
import { type CliContext, jsonText, oneLine } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { exactHints } from '../hint.js';
import { envTokenVariable, relativeTime } from './common.js';
import { whoLine } from './login.js';
import { isoDate as isoTime, summaryStatus } from './plan.js';
import type { Target } from './target.js';

/** `recoveredFrom`: the rescue copy, journal or keychain fallback file the login was read from (`loadDetailed`). */
type Source =
  | { kind: 'env'; variable: string }
  | { kind: 'file'; path: string; recoveredFrom?: string | undefined }
  | { kind: 'keychain' | 'redis'; where: string; recoveredFrom?: string | undefined };

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
      const login = await new TokenStorage(path).load();
      const email = isApiKeyLogin(login) ? null : (login?.account?.emailAddress ?? login?.summary?.email ?? null);
      rows.push({
        name,
        path,
        email: isApiKeyLogin(login) ? `API key, ${login.organization.name ?? 'organization unknown'}` : email,
        error: null,
      });
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

function sourceLine(source: Source): string {
  if (source.kind === 'env') return `environment variable ${source.variable}`;
  if (source.kind === 'file') return `token file ${source.path}`;
  return `${source.kind === 'keychain' ? 'OS keychain' : 'Redis'} ${source.where}`;
}

function sourceJson(source: Source): Record<string, unknown> {
  return {
    source: source.kind,
    path: source.kind === 'file' ? source.path : null,
    ...(source.kind === 'keychain' ? { keychain: source.where } : {}),
    ...(source.kind === 'redis' ? { redis: source.where } : {}),
    recovered_from: (source.kind !== 'env' && source.recoveredFrom) || null,
  };
}

/** The `Recovered from:` row, when the login was not read from the store itself. */
function recoveredRows(source: Source): Array<[string, string]> {
  if (source.kind === 'env' || !source.recoveredFrom) return [];
  const store = source.kind === 'file' ? source.path : source.where;
  return [
    [
      'Recovered from',
      `${source.recoveredFrom} (${store} could not take this login when it was saved; do not delete the copy: the next save to ${store} replaces it)`,
    ],
  ];
}

/** `status` of a Console login: the key is the credential; it never expires here and is never refreshed. */
function apiKeyStatus(
  ctx: CliContext,
  json: boolean,
  login: ApiKeyLogin,
  source: Source,
  extra: { profile?: string; json: object; lines: string[] },
): ExitCode {
  const { organization, role } = login;
  const created = login.createdAt > 0 ? isoTime(login.createdAt) : null;
  if (json) {
    ctx.out(
      jsonText({
        logged_in: true,
        kind: 'api_key',
        ...sourceJson(source),
        profile: extra.profile ?? 'default',
        organization: { uuid: organization.uuid ?? null, name: organization.name ?? null },
        role: { organization: role.organization ?? null, workspace: role.workspace ?? null },
        api_key_masked: maskApiKey(login.apiKey),
        created_at: login.createdAt > 0 ? login.createdAt : null,
        created_at_iso: created,
        ...extra.json,
      }),
    );
    return EXIT.ok;
  }
  const roles = [
    role.organization && `organization ${role.organization}`,
    role.workspace && `workspace ${role.workspace}`,
  ];
  const rows: Array<[string, string]> = [
    ['Kind', 'API key (Console login; billed to the Console organization)'],
    ['Source', sourceLine(source)],
    ...recoveredRows(source),
    ['Organization', organization.name ?? organization.uuid ?? 'unknown'],
    ['Role', roles.filter(Boolean).join(', ') || 'unknown'],
    ['API key', maskApiKey(login.apiKey)],
    ['Created', created ?? 'unknown'],
  ];
  if (extra.profile !== undefined) rows.unshift(['Profile', extra.profile]);
  ctx.out('Logged in with an API key');
  for (const [label, value] of rows) ctx.out(`  ${`${label}:`.padEnd(15)} ${oneLine(value)}`);
  for (const line of extra.lines) ctx.out(line);
  return EXIT.ok;
}

export async function status(ctx: CliContext, json: boolean, target: Target): Promise<ExitCode> {
  const now = ctx.now() / 1000;
  const path = target.where;
  const fileSource: Source = target.kind === 'file' ? { kind: 'file', path } : { kind: target.kind, where: path };
  let source: Source = fileSource;
  let tokens: StoredLogin | null = null;
  const variable = envTokenVariable(ctx.env);
  if (!target.explicit && variable) {
    tokens = loadTokensFromEnv(ctx.env);
    source = { kind: 'env', variable };
  }
  if (!tokens) {
    const { store } = target;
    const loaded = store.loadDetailed ? await store.loadDetailed() : { tokens: await store.load() };
    tokens = loaded.tokens;
    source = { ...fileSource, recoveredFrom: loaded.recoveredFrom };
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
  if (isApiKeyLogin(tokens)) {
    return apiKeyStatus(ctx, json, tokens, source, {
      profile: target.profile,
      json: profilesJson,
      lines: profileLines(profiles, active),
    });
  }

  const expired = tokens.expiresAt !== null && tokens.expiresAt <= now;
  const refreshable = tokens.refreshToken !== '';
  const scopes = tokens.scope.split(/\s+/).filter(Boolean);
  const code = expired && !refreshable ? EXIT.loginAgain : EXIT.ok;
  const plan = summaryStatus(tokens.summary);

  if (json) {
    ctx.out(
      jsonText({
        logged_in: true,
        kind: 'oauth',
        ...sourceJson(source),
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
    ['Source', sourceLine(source)],
    ...recoveredRows(source),
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
  if (code === EXIT.loginAgain) {
    const again = isLongLivedLogin(tokens) ? `Make a new one with \`${SETUP_TOKEN_SAVE_HINT}\`.` : LOGIN_HINT;
    ctx.out(exactHints(`The access token has expired and cannot be refreshed. ${again}`, ctx.loginCommand));
  }
  for (const line of profileLines(profiles, active)) ctx.out(line);
  return code;
}
