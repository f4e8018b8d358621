/**
 * `login`: the browser login (loopback listener + paste) or `--manual` (paste only), then save.
 * The flows are the library's (`loopbackFlow` / `manualFlow`, `loginToConsole`); this file only
 * talks to the person. The subscription login saves the account summary with the tokens (the
 * profile, asked once: `plan.ts`); `--console` saves the API key it creates and shows it masked,
 * never the OAuth tokens. `runBrowserLogin` is shared with `setup-token`.
 */
import { canOpenBrowser } from '../../browser.js';
import type { ConsoleLoginOptions } from '../../console-login.js';
import { OAuthFlowError } from '../../errors.js';
import type { LoginEvent } from '../../login.js';
import { maskApiKey } from '../../stored-login.js';
import type { ApiKeyLogin, OAuthTokens, StoredLogin } from '../../types.js';
import { type LoginArgs, PROGRAM } from '../args.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { describeDuration, envTokenVariable } from './common.js';
import type { Target } from './target.js';

export function whoLine(tokens: OAuthTokens): string {
  const email = tokens.account?.emailAddress;
  const org = tokens.organization?.name;
  if (!email) return org ? `Logged in (${org})` : 'Logged in';
  return `Logged in as ${email}${org ? ` (${org})` : ''}`;
}

/** The browser flow's options, as the CLI shows and reads it; the library functions take them. */
export type BrowserLoginOptions = ConsoleLoginOptions;

/**
 * Runs `flow` with the terminal's URL display, paste reader, waiting line and interrupt; resolves
 * its result, or the exit code it ended with (its error already printed).
 */
export async function runBrowserLogin<L extends StoredLogin>(
  ctx: CliContext,
  args: LoginArgs,
  command: string,
  flow: (options: BrowserLoginOptions) => Promise<L>,
): Promise<{ login: L } | { code: ExitCode }> {
  const interrupt = new AbortController();
  const { startWaiting } = await import('../terminal.js');
  const waiting = startWaiting(ctx, () => interrupt.abort(new DOMException('Interrupted', 'AbortError')));
  let answered = false;
  let strayNoted = false;
  // Over SSH there is no display to open a browser on: only show the URL, as --no-browser does.
  const browser = args.browser && canOpenBrowser(ctx.env);
  if (args.browser && !browser)
    ctx.trace('no graphical display (DISPLAY, WAYLAND_DISPLAY, BROWSER): not opening a browser');

  const onUrl = (url: string): void => {
    ctx.say(
      browser
        ? 'Opening your browser to sign in to Anthropic. If it does not open, visit this URL:'
        : 'Open this URL in a browser to sign in to Anthropic:',
    );
    ctx.say('');
    ctx.say(`  ${url}`);
    ctx.say('');
    if (args.manual) {
      waiting.ask('Paste the code the page shows (CODE#STATE): ');
    } else {
      ctx.say('Browser on another machine? When its last page fails to load, copy its address and paste it here.');
      waiting.wait('Waiting for the browser…');
    }
  };
  const onEvent = (event: LoginEvent): void => {
    switch (event.type) {
      case 'listening':
        ctx.trace(`listening on ${event.redirectUri} (${event.addresses.join(', ')})`);
        return;
      case 'browser_failed':
        waiting.note('Could not open a browser: open the URL above yourself.');
        ctx.trace(`browser: ${event.error instanceof Error ? event.error.message : String(event.error)}`);
        return;
      case 'invalid_answer':
        waiting.note(event.error.message);
        return;
      case 'stray_callback':
        if (!strayNoted)
          waiting.note('Refused a callback that does not belong to this login (wrong state); still waiting.');
        strayNoted = true;
        return;
      case 'answered':
        answered = true;
        ctx.trace(`answer received from the ${event.via}`);
        waiting.wait('Signing in…');
        return;
    }
  };

  const common: BrowserLoginOptions = {
    openBrowser: browser ? ctx.openBrowser : (false as const),
    pastedAnswers: waiting.lines,
    timeoutMs: args.timeoutMs,
    onUrl,
    onEvent,
    signal: interrupt.signal,
    env: ctx.env,
    fetch: ctx.fetch,
    manual: args.manual,
    port: args.manual ? undefined : args.port,
  };
  try {
    const login = await flow(common);
    waiting.stop();
    return { login };
  } catch (error) {
    waiting.stop();
    if (interrupt.signal.aborted) {
      ctx.say('Login cancelled.');
      return { code: EXIT.interrupted };
    }
    if (!answered && error instanceof OAuthFlowError && error.code === 'timeout') {
      ctx.say(
        `Error: No answer from the browser within ${describeDuration(args.timeoutMs)}. Run \`${PROGRAM} ${command}\` again (--timeout SECONDS waits longer).`,
      );
      return { code: EXIT.loginTimeout };
    }
    return { code: ctx.fail(error) };
  } finally {
    waiting.close();
  }
}

/** The lines after a Console login: who, and the key, masked. */
function consoleLines(ctx: CliContext, login: ApiKeyLogin): void {
  const mark = ctx.fancy ? '✓ ' : '';
  const { organization, role } = login;
  ctx.say(
    `${mark}Logged in to the Console${organization.name ? ` (${organization.name})` : ''}; an API key was created.`,
  );
  const roles = [
    role.organization && `organization ${role.organization}`,
    role.workspace && `workspace ${role.workspace}`,
  ];
  const indent = ctx.fancy ? '  ' : '';
  if (roles.some(Boolean)) ctx.say(`${indent}Role: ${roles.filter(Boolean).join(', ')}`);
  ctx.say(
    `${indent}API key: ${maskApiKey(login.apiKey)} (billed to the Console organization; \`${PROGRAM} token\` prints it)`,
  );
}

export async function login(ctx: CliContext, args: LoginArgs, target: Target): Promise<ExitCode> {
  // Before the browser: a store that cannot keep the login fails now, with nothing spent.
  await (await import('./store-check.js')).checkStoreCanSave(target);
  const tokenStorage = target.store;
  const { loopbackFlow, manualFlow } = await import('../../login.js');
  const result = args.console
    ? await runBrowserLogin(ctx, args, 'login --console', async (options) =>
        (await import('../../console-login.js')).loginToConsole({ ...options, tokenStorage }),
      )
    : await runBrowserLogin(ctx, args, 'login', async (options) => {
        const { withAccountSummary } = await import('./plan.js');
        const flow = { finish: (tokens: OAuthTokens) => withAccountSummary(ctx, tokens) };
        return options.manual
          ? manualFlow({ ...options, tokenStorage }, flow)
          : loopbackFlow({ ...options, tokenStorage }, flow);
      });
  if ('code' in result) return result.code;
  const tokens = result.login;
  if (tokens.kind === 'api_key') consoleLines(ctx, tokens);
  else {
    const mark = ctx.fancy ? '✓ ' : '';
    ctx.say(`${mark}${whoLine(tokens)}`);
  }
  const profile = target.profile !== undefined ? ` (profile ${target.profile})` : '';
  ctx.say(`${ctx.fancy ? '  ' : ''}Login saved to ${target.where}${profile}`);
  const variable = envTokenVariable(ctx.env);
  if (!target.explicit && variable) {
    ctx.say(`Note: ${variable} is set, and programs use it before this login. Unset it to use this login.`);
  }
  return EXIT.ok;
}
