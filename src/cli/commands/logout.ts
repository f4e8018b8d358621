/**
 * `logout`: deletes the token file; idempotent. A login given by environment variables is not
 * something a command can remove, so it is named plainly instead.
 */
import { TokenStorage } from '../../store/file.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable } from './common.js';
import type { Target } from './target.js';

export async function logout(ctx: CliContext, target: Target): Promise<ExitCode> {
  const { store, where } = target;
  // A keychain entry has no `exists()`: reading it tells.
  const present = store instanceof TokenStorage ? await store.exists() : (await store.load()) !== null;
  if (present) {
    await store.clear();
    ctx.say(`Logged out: removed ${where}`);
  } else {
    ctx.say(`Already logged out: there is no login at ${where}`);
  }
  const variable = envTokenVariable(ctx.env);
  if (variable) {
    ctx.say(`${variable} is still set in the environment: that login is not affected. Unset it to stop using it.`);
  }
  return EXIT.ok;
}
