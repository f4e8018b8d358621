/**
 * `npm run demo` (scripts/demo.ts) runs offline against the emulator and shows the plan, the usage
 * and a subscription error explained, then a Console login (an API key), without printing a secret.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith('ANTHROPIC_')) env[name] = value;
    }
    const child = spawn(resolve('node_modules/.bin/tsx'), ['scripts/demo.ts'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

it('npm run demo shows the plan, the usage, an explained subscription error and a Console login, and no secret', async () => {
  const { code, stdout, stderr } = await runDemo();
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toContain('user@example.com: plan max (default_claude_max_5x), organization Example Org');
  expect(stdout).toMatch(/five_hour +37% used, resets in 2h 1[34]m/);
  expect(stdout).toContain('extra usage      on, $12.34 of $50.00 this month');
  expect(stdout).toContain('BadRequestError → extra_usage_required');
  expect(stdout).toContain('RateLimitError → rate_limited: The 5-hour limit of this subscription is reached.');
  // The Console login: an API key, shown masked, sent as the SDK sends a key (no OAuth shape).
  expect(stdout).toMatch(/API key sk-ant-api03-…\S{4} for Example Org \(role developer\); saved as kind api_key/);
  expect(stdout).toMatch(/sent as new Anthropic\(\{ apiKey \}\) sends it: .*, OAuth beta: no, \?beta=true: no\n/);
  expect(stdout).not.toMatch(/sk-ant-o[ar]t01-[A-Za-z0-9_-]{8}/);
  expect(stdout).not.toMatch(/sk-ant-api03-[A-Za-z0-9_-]{8}/);
});
