import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', cli: 'src/cli/index.ts', redis: 'src/redis.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
  keepNames: true,
  external: ['@anthropic-ai/sdk', 'open', '@napi-rs/keyring', 'redis'],
});
