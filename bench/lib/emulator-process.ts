/**
 * The emulator in a process of its own, so that the process being measured runs only the client.
 * Started by `RemoteEmulator.start()` with `fork()`; it listens on 127.0.0.1 only and answers a few
 * commands over the IPC channel. It exits when the parent goes away.
 *
 * argv[2]: access-token lifetime in seconds (default: the emulator's 8 h).
 */
import { testing } from './package.js';
import type { EmulatorCommand, EmulatorReply, TokenCall } from './remote-emulator.js';

const ttl = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
const emu = await testing.startEmulator(ttl === undefined ? {} : { accessTokenTtl: ttl });

/** Every call to the token endpoint since the last `reset`, in arrival order (kept small: no bodies). */
function tokenCalls(): TokenCall[] {
  const calls: TokenCall[] = [];
  for (const request of emu.requests) {
    if (request.path !== '/v1/oauth/token') continue;
    const body = request.body as { refresh_token?: unknown } | undefined;
    calls.push({
      time: request.time,
      status: request.status,
      refreshToken: typeof body?.refresh_token === 'string' ? body.refresh_token : '',
      process: request.headers['x-bench-process'] ?? '',
    });
  }
  return calls;
}

function run(command: EmulatorCommand): unknown {
  switch (command.op) {
    case 'issueTokens':
      return emu.issueTokens(command.ttl === undefined ? {} : { ttl: command.ttl });
    case 'stats':
      return emu.stats();
    case 'expireAccessTokens':
      emu.expireAccessTokens();
      return null;
    case 'tokenCalls':
      return tokenCalls();
    case 'reset':
      // The request log is capped at 10,000 entries: empty it between measurements.
      emu.requests.length = 0;
      return null;
  }
}

process.on('message', (message: { id: number; command: EmulatorCommand }) => {
  let reply: EmulatorReply;
  try {
    reply = { id: message.id, ok: true, value: run(message.command) };
  } catch (error) {
    reply = { id: message.id, ok: false, error: String(error) };
  }
  process.send?.(reply);
});
process.on('disconnect', () => {
  void emu.close().finally(() => process.exit(0));
});

process.send?.({ ready: true, url: emu.url, oauthConfig: emu.oauthConfig });
