/**
 * `login`: the browser login (loopback listener + paste) or `--manual` (paste only), then save.
 * The flow itself is `loginWithLoopback` / `loginManually`; this file only talks to the person.
 */
import { canOpenBrowser } from '../../browser.js';
import { OAuthFlowError } from '../../errors.js';
import type { LoginEvent } from '../../login.js';
import type { OAuthTokens } from '../../types.js';
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

export async function login(ctx: CliContext, args: LoginArgs, target: Target): Promise<ExitCode> {
  // Before the browser: a store that cannot keep the login fails now, with nothing spent.
  await (await import('./store-check.js')).checkStoreCanSave(target);
  const storage = target.store;
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

  const common = {
    tokenStorage: storage,
    openBrowser: browser ? ctx.openBrowser : (false as const),
    pastedAnswers: waiting.lines,
    timeoutMs: args.timeoutMs,
    onUrl,
    onEvent,
    signal: interrupt.signal,
    env: ctx.env,
  };
  let tokens: OAuthTokens;
  try {
    const { loginManually, loginWithLoopback } = await import('../../login.js');
    tokens = args.manual ? await loginManually(common) : await loginWithLoopback({ ...common, port: args.port });
  } catch (error) {
    waiting.stop();
    if (interrupt.signal.aborted) {
      ctx.say('Login cancelled.');
      return EXIT.interrupted;
    }
    if (!answered && error instanceof OAuthFlowError && error.code === 'timeout') {
      ctx.say(
        `Error: No answer from the browser within ${describeDuration(args.timeoutMs)}. Run \`${PROGRAM} login\` again (--timeout SECONDS waits longer).`,
      );
      return EXIT.loginTimeout;
    }
    return ctx.fail(error);
  } finally {
    waiting.close();
  }

  waiting.stop();
  const mark = ctx.fancy ? '✓ ' : '';
  ctx.say(`${mark}${whoLine(tokens)}`);
  const profile = target.profile !== undefined ? ` (profile ${target.profile})` : '';
  ctx.say(`${ctx.fancy ? '  ' : ''}Login saved to ${target.where}${profile}`);
  const variable = envTokenVariable(ctx.env);
  if (!target.explicit && variable) {
    ctx.say(`Note: ${variable} is set, and programs use it before this login. Unset it to use this login.`);
  }
  return EXIT.ok;
}
