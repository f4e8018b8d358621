/**
 * `anthropic-oauth <command>`: reads the command line, runs one command, returns its exit code.
 * The only place that decides what reaches the terminal; `index.ts` only sets the exit code.
 *
 * Start-up is part of the interface: `token` runs once per request in shells, prompts and credential
 * helpers. So this module loads only the command line, the help texts and the exit codes; the context
 * and each command are imported when they run, and a command imports what it uses at the point of
 * use: `readline`, the login flow and its loopback listener, the browser opener, the keychain store
 * and its binding, and the lock are loaded by the commands that reach them, never at start. The
 * build makes each `import()` here a lazy initializer inside the one CLI file (tsup.config.ts);
 * `tests/module-graph.test.ts` holds the built CLI to this.
 */
import { ENV_PROFILE } from '../env-variables.js';
import { VERSION } from '../version.js';
import { type Invocation, parseCommandLine } from './args.js';
import type { CliDeps } from './context.js';
import { EXIT, type ExitCode } from './exit.js';
import { commandHelp, mainHelp } from './help.js';
import { type OutputName, processOutput } from './output.js';

type Run = Extract<Invocation, { kind: 'run' }>;

async function dispatch(invocation: Run, deps: CliDeps | undefined): Promise<ExitCode> {
  const { createContext, defaultDeps } = await import('./context.js');
  const { loginCommand } = await import('./hint.js');
  const given = deps ?? defaultDeps();
  const profile = invocation.profile ?? (given.env[ENV_PROFILE]?.trim() || undefined);
  const ctx = createContext(given, invocation.debug, {
    loginCommand: loginCommand({ ...invocation, profile }),
    json: invocation.json,
  });
  const { command, storage } = invocation;
  if (storage !== undefined) ctx.trace(`token file: ${storage} (--storage)`);
  try {
    // The emulator works on no login: it only serves, and prints the variables that point at it.
    if (command === 'emulator') return await (await import('./commands/emulator.js')).emulator(ctx, invocation);
    const { resolveTarget } = await import('./commands/target.js');
    const target = await resolveTarget(ctx, invocation);
    switch (command) {
      case 'login':
        return await (await import('./commands/login.js')).login(ctx, invocation.login, target);
      case 'status':
        return await (await import('./commands/status.js')).status(ctx, invocation.json, target);
      case 'token':
        return await (await import('./commands/token.js')).token(ctx, invocation.json, target);
      case 'logout':
        return await (await import('./commands/logout.js')).logout(ctx, target);
      case 'usage':
        return await (await import('./commands/usage.js')).usage(ctx, invocation.json, target);
      case 'setup-token':
        return await (await import('./commands/setup-token.js')).setupToken(ctx, invocation, target);
    }
  } catch (error) {
    return ctx.fail(error);
  }
}

/** Writes on stdout or stderr before a context exists: through `deps`, or the process's own output. */
function print(deps: CliDeps | undefined, to: OutputName, text: string): void {
  if (deps === undefined) processOutput(to).write(text);
  else if (deps.write) deps.write(to, text);
  else deps[to].write(text);
}

/** Runs the command line `argv`; `deps` default to the process's environment, streams and clock. */
export async function main(argv: readonly string[], deps?: CliDeps): Promise<ExitCode> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    const { errorLine } = await import('./context.js');
    print(deps, 'stderr', `${errorLine(error, false)}\n`);
    return EXIT.usage;
  }
  switch (invocation.kind) {
    case 'help':
      if (invocation.missing) {
        // No command: a script that forgot one must not see success.
        print(deps, 'stderr', mainHelp());
        return EXIT.usage;
      }
      print(deps, 'stdout', invocation.command ? commandHelp(invocation.command) : mainHelp());
      return EXIT.ok;
    case 'version':
      print(deps, 'stdout', `${VERSION}\n`);
      return EXIT.ok;
    case 'run':
      return dispatch(invocation, deps);
  }
}
