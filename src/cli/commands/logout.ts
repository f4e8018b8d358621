/**
 * `logout`: deletes the login; idempotent. It runs under the store's lock, so a refresh in flight
 * in another process finishes first and then finds the store empty (`not_logged_in`) instead of
 * writing the login back. A token file that is a symlink loses its target's login (the link stays).
 * A login given by environment variables is not something a command can remove, so it is named
 * plainly instead.
 */
import { realpath } from 'node:fs/promises';
import { TokenStorage } from '../../store/file.js';
import { underLock } from '../../store/guard.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable } from './common.js';
import type { Target } from './target.js';

export async function logout(ctx: CliContext, target: Target): Promise<ExitCode> {
  const { store, where } = target;
  // Where a symlinked token file points, before its login is removed.
  const real = target.path === undefined ? where : await realpath(target.path).catch(() => where);
  const removed = await underLock(store, async () => {
    // A keychain entry has no `exists()`: reading it tells. A file may be unreadable and still there.
    const present =
      store instanceof TokenStorage
        ? (await store.exists()) || (await store.load().catch(() => null)) !== null
        : (await store.load()) !== null;
    if (present) await store.clear();
    return present;
  });
  if (removed) {
    ctx.say(real === where ? `Logged out: removed ${where}` : `Logged out: removed ${real} (where ${where} points)`);
  } else {
    ctx.say(`Already logged out: there is no login at ${where}`);
  }
  const variable = envTokenVariable(ctx.env);
  if (variable) {
    ctx.say(`${variable} is still set in the environment: that login is not affected. Unset it to stop using it.`);
  }
  return EXIT.ok;
}
