/**
 * `logout`: deletes the token file; idempotent. A login given by environment variables is not
 * something a command can remove, so it is named plainly instead.
 */
import { resolve } from 'node:path';
import { defaultTokenPath, TokenStorage } from '../../store/file.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable } from './common.js';

export async function logout(ctx: CliContext, storagePath: string | undefined): Promise<ExitCode> {
  const storage = new TokenStorage(storagePath !== undefined ? resolve(storagePath) : defaultTokenPath(ctx.env));
  if (await storage.exists()) {
    await storage.clear();
    ctx.say(`Logged out: removed ${storage.path}`);
  } else {
    ctx.say(`Already logged out: there is no login at ${storage.path}`);
  }
  const variable = envTokenVariable(ctx.env);
  if (variable) {
    ctx.say(`${variable} is still set in the environment: that login is not affected. Unset it to stop using it.`);
  }
  return EXIT.ok;
}
