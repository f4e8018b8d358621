/**
 * `emulator`: the local emulator of `anthropic-oauth/testing` on the command line, to try the CLI
 * and a client offline. It starts the emulator, prints the `export` lines that point the CLI and the
 * library at it (stdout; `--json`: one JSON object), and serves until Ctrl+C (SIGINT or SIGTERM:
 * closed, exit 0). Everything for people (the banner, which says plainly that this is not
 * Anthropic) goes to stderr, so `eval "$(anthropic-oauth emulator &)"`-style use reads only data.
 *
 * The login it makes is kept apart from the user's real one: the exports set
 * `ANTHROPIC_OAUTH_PROFILE=emulator` (or `--profile NAME`; `--storage PATH` sets
 * `ANTHROPIC_OAUTH_TOKEN_FILE` instead), and unset the variables that would otherwise win over it
 * (an access token in the environment, account URLs aimed elsewhere, custom scopes).
 *
 * The emulator is loaded only here. In the built CLI its `import()` is left to the package itself,
 * `anthropic-oauth/testing` (tsup.config.ts), so `dist/cli.cjs` holds none of it and no other
 * command loads it (tests/module-graph.test.ts).
 */
import {
  ENV_ACCESS_TOKEN,
  ENV_ACCESS_TOKEN_ALT,
  ENV_AUTHORIZE_URL,
  ENV_BASE_URL,
  ENV_CLIENT_ID,
  ENV_CONSOLE_AUTHORIZE_URL,
  ENV_EXPIRES_AT,
  ENV_PROFILE,
  ENV_PROFILE_URL,
  ENV_REDIRECT_URI,
  ENV_REFRESH_TOKEN,
  ENV_SCOPES,
  ENV_TOKEN_FILE,
  ENV_TOKEN_URL,
  ENV_USAGE_URL,
} from '../../env-variables.js';
import type { EmulatorArgs } from '../args.js';
import type { CliContext } from '../context.js';
import type { EmulatorFaultName } from '../emulator-faults.js';
import { EXIT, type ExitCode } from '../exit.js';
import { shellQuote } from '../hint.js';

type Emulator = Awaited<ReturnType<typeof import('../../testing/index.js').startEmulator>>;

/** The profile the emulator's login goes to unless `--profile` names another. */
export const EMULATOR_PROFILE = 'emulator';

/** Variables that would win over the emulator's login or endpoints if left set in the shell. */
const UNSET = [ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT, ENV_REFRESH_TOKEN, ENV_EXPIRES_AT, ENV_SCOPES];

/** Queues one occurrence of the named fault. */
function queueFault(emu: Emulator, name: EmulatorFaultName): void {
  const { faults } = emu;
  const apply: Record<EmulatorFaultName, () => void> = {
    'token-server-error': () => faults.tokenServerError(1),
    'token-rate-limited': () => faults.tokenRateLimited(30, 1),
    'token-malformed': () => faults.tokenMalformed('{"unexpected":"not a token response"}', 1),
    'token-hang': () => faults.tokenHang(1),
    'token-reset': () => faults.tokenResetAfterRequest(1),
    'messages-rate-limited': () => faults.messagesRateLimited(1),
    'messages-extra-usage-required': () => faults.messagesExtraUsageRequired(1),
    'messages-out-of-extra-usage': () => faults.messagesOutOfExtraUsage(1),
    'messages-claude-code-only': () => faults.messagesClaudeCodeOnly(1),
    'messages-oauth-not-supported': () => faults.messagesOAuthNotSupported(1),
    'profile-malformed': () => faults.profileMalformed('<html>not json</html>', 1),
    'usage-malformed': () => faults.usageMalformed('<html>not json</html>', 1),
  };
  apply[name]();
}

/** Every variable the CLI and the library need to use `emu`, in the order they are printed. */
export function emulatorVariables(
  emu: Pick<
    Emulator,
    'url' | 'authorizeUrl' | 'consoleAuthorizeUrl' | 'tokenUrl' | 'manualRedirectUri' | 'oauthConfig'
  >,
  where: { profile: string } | { storage: string },
): Array<[string, string]> {
  return [
    [ENV_BASE_URL, emu.url],
    [ENV_AUTHORIZE_URL, emu.authorizeUrl],
    // `login --console` signs in there.
    [ENV_CONSOLE_AUTHORIZE_URL, emu.consoleAuthorizeUrl],
    [ENV_TOKEN_URL, emu.tokenUrl],
    // `login --manual` sends this one; the loopback login sends its own listener's.
    [ENV_REDIRECT_URI, emu.manualRedirectUri],
    [ENV_CLIENT_ID, emu.oauthConfig.clientId],
    [ENV_PROFILE_URL, `${emu.url}/api/oauth/profile`],
    [ENV_USAGE_URL, `${emu.url}/api/oauth/usage`],
    'profile' in where ? [ENV_PROFILE, where.profile] : [ENV_TOKEN_FILE, where.storage],
  ];
}

/**
 * One request as the emulator's terminal shows it: method, path (never the query, which can hold a
 * code or a state) and status, `dropped` for a hang or reset fault. Nothing else of it (headers and
 * bodies hold the tokens) is printed.
 */
function requestLine(request: { method: string; path: string; status: number }): string {
  return `  ${request.method} ${request.path} -> ${request.status === 0 ? 'dropped' : request.status}`;
}

/** Resolves on the first SIGINT or SIGTERM (then the handlers are removed). */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function emulator(
  ctx: CliContext,
  invocation: { emulator: EmulatorArgs; json: boolean; profile: string | undefined; storage: string | undefined },
): Promise<ExitCode> {
  const args = invocation.emulator;
  const { startEmulator } = await import('../../testing/index.js');
  let emu: Emulator;
  try {
    emu = await startEmulator({
      port: args.port,
      plan: args.plan,
      accessTokenTtl: args.tokenLifetime,
      onRequest: (request) => ctx.say(requestLine(request)),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      ctx.say(`Error: Port ${args.port} is taken: choose another with --port, or leave it out for a free one.`);
      return EXIT.error;
    }
    throw error;
  }
  for (const fault of args.faults) queueFault(emu, fault);
  // Before anything is printed: a script that stops it as soon as it reads the exports gets exit 0
  // (without a listener, SIGINT ends the process at once, with no cleanup).
  const stopped = untilStopped();

  const { resolve } = await import('node:path');
  const where =
    invocation.storage !== undefined
      ? { storage: resolve(invocation.storage) }
      : { profile: invocation.profile ?? EMULATOR_PROFILE };
  const variables = emulatorVariables(emu, where);
  const unset = 'storage' in where ? [...UNSET, ENV_PROFILE] : UNSET;

  ctx.say(`LOCAL EMULATOR of Anthropic's sign-in and API endpoints at ${emu.url}: this is not Anthropic.`);
  ctx.say('Its tokens are fake and nothing leaves this machine. The user is user@example.com (Example Org).');
  if (args.faults.length > 0) ctx.say(`Queued faults: ${args.faults.join(', ')}.`);
  if (invocation.json) {
    ctx.out(JSON.stringify({ url: emu.url, env: Object.fromEntries(variables), unset, faults: args.faults }));
  } else {
    ctx.say('Paste these lines into another shell, then run `npx anthropic-oauth login --manual` there:');
    ctx.out(`unset ${unset.join(' ')}`);
    for (const [name, value] of variables) ctx.out(`export ${name}=${shellQuote(value)}`);
  }
  const login = 'profile' in where ? `profile ${where.profile}` : `token file ${where.storage}`;
  ctx.say(`The login is saved to the ${login}, apart from your real one. Serving until Ctrl+C.`);

  const signal = await stopped;
  await emu.close();
  ctx.say(`Emulator stopped (${signal}).`);
  return EXIT.ok;
}
