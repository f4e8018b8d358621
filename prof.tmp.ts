import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { HELLO, makeClient, tokenFileFor, type Variant } from './bench/lib/clients.js';
import { RemoteEmulator } from './bench/lib/remote-emulator.js';

const emu = await RemoteEmulator.start();
const dir = await mkdtemp(join(tmpdir(), 'prof-'));
const mode = process.argv[2];
if (mode === 'child') {
  // unused
}
const tokens = await emu.issueTokens();
const target = { url: emu.url, oauthConfig: emu.oauthConfig };
const script = join(dir, 'run.mts');
const { writeFileSync } = await import('node:fs');
for (const variant of ['authToken', 'AnthropicOAuth'] as Variant[]) {
  const file = await tokenFileFor(dir, variant, tokens);
  writeFileSync(script, `
import { HELLO, makeClient } from '${process.cwd()}/bench/lib/clients.ts';
const c = makeClient(${JSON.stringify(variant)}, { target: ${JSON.stringify(target)}, accessToken: ${JSON.stringify(tokens.accessToken)}, tokenFile: ${JSON.stringify(file)}, options: { maxRetries: 0 } });
for (let i = 0; i < 1500; i++) await c.messages.create(HELLO);
const u0 = process.cpuUsage(); const t0 = performance.now();
for (let i = 0; i < 4000; i++) await c.messages.create(HELLO);
const u = process.cpuUsage(u0);
console.log(${JSON.stringify(variant)}, 'cpu us/call', ((u.user + u.system) / 4000).toFixed(1), 'wall ms', (performance.now()-t0).toFixed(0));
`);
  for (let r = 0; r < 3; r++) {
    const res = spawnSync(process.execPath, ['--import', 'tsx', ...(process.argv[2] === 'prof' && r === 0 ? ['--cpu-prof', '--cpu-prof-dir', `/tmp/oprof-${variant}`] : []), script], { encoding: 'utf8', cwd: process.cwd() });
    process.stdout.write(res.stdout + res.stderr.slice(0, 300));
  }
}
await emu.close();
