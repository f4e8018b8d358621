/**
 * `anthropic-oauth <command>`: reads the command line, runs one command, returns its exit code.
 * The only place that decides what reaches the terminal; `index.ts` only sets the exit code.
 */
import { VERSION } from '../version.js';
import { type Invocation, parseCommandLine } from './args.js';
import { login } from './commands/login.js';
import { logout } from './commands/logout.js';
import { status } from './commands/status.js';
import { resolveTarget } from './commands/target.js';
import { token } from './commands/token.js';
import { type CliDeps, createContext, defaultDeps, errorLine } from './context.js';
import { EXIT, type ExitCode } from './exit.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';

async function dispatch(invocation: Extract<Invocation, { kind: 'run' }>, deps: CliDeps): Promise<ExitCode> {
  const ctx = createContext(deps, invocation.debug);
  const { command, storage } = invocation;
  if (storage !== undefined) ctx.trace(`token file: ${storage} (--storage)`);
  try {
    const target = await resolveTarget(ctx, invocation);
    switch (command) {
      case 'login':
        return await login(ctx, invocation.login, target);
      case 'status':
        return await status(ctx, invocation.json, target);
      case 'token':
        return await token(ctx, invocation.json, target);
      case 'logout':
        return await logout(ctx, target);
    }
  } catch (error) {
    return ctx.fail(error);
  }
}

export async function main(argv: readonly string[], deps: CliDeps = defaultDeps()): Promise<ExitCode> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    deps.stderr.write(`${errorLine(error, false)}\n`);
    return EXIT.usage;
  }
  switch (invocation.kind) {
    case 'help':
      deps.stdout.write(invocation.command ? (COMMAND_HELP[invocation.command] ?? MAIN_HELP) : MAIN_HELP);
      return EXIT.ok;
    case 'version':
      deps.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    case 'run':
      return dispatch(invocation, deps);
  }
}
