/**
 * `setup-token`: the long-lived, inference-only token for CI secrets (Claude Code's `setup-token`).
 * The browser flow as `login` runs it, asking `user:inference` alone and a lifetime of one year.
 * The token is printed once on stdout (the only thing there: `VARIABLE=token`, or JSON with
 * `--json`); the variable to put it in and its expiry go to stderr. It is not saved unless `--save`
 * is given (then to the store `login` would use).
 */
import { ENV_ACCESS_TOKEN } from '../../env-variables.js';
import type { Invocation } from '../args.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { runBrowserLogin } from './login.js';
import { isoDate } from './plan.js';
import type { Target } from './target.js';

type Run = Extract<Invocation, { kind: 'run' }>;

export async function setupToken(ctx: CliContext, invocation: Run, target: Target): Promise<ExitCode> {
  const args = invocation.login;
  const result = await runBrowserLogin(ctx, args, 'setup-token', async (options) =>
    (await import('../../console-login.js')).setupToken({
      ...options,
      tokenStorage: args.save ? target.store : undefined,
    }),
  );
  if ('code' in result) return result.code;
  const tokens = result.login;
  const expiresAt = tokens.expiresAt === null ? null : Math.floor(tokens.expiresAt);
  const expiry = expiresAt === null ? 'unknown' : isoDate(expiresAt);
  if (invocation.json) {
    ctx.out(JSON.stringify({ variable: ENV_ACCESS_TOKEN, access_token: tokens.accessToken, expires_at: expiresAt }));
  } else {
    ctx.out(`${ENV_ACCESS_TOKEN}=${tokens.accessToken}`);
  }
  ctx.say(`Put this token in ${ENV_ACCESS_TOKEN} (a CI secret, for example). It is shown only once.`);
  ctx.say(`It expires ${expiry}; it allows inference only and is never refreshed.`);
  ctx.say(
    args.save
      ? `It was also saved to ${target.where}.`
      : 'It was not saved (add --save to keep it in the token store).',
  );
  return EXIT.ok;
}
