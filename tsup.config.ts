import { defineConfig } from 'tsup';

/**
 * Two builds into dist/:
 *
 * - The library (`index`, `testing`): ESM and CommonJS, one file per entry point, with types. The SDK
 *   is external, so `AnthropicError` is the SDK's own class (from `@anthropic-ai/sdk/core/error`, the
 *   module the SDK's root re-exports, in either format) and `instanceof AnthropicError` holds.
 * - The CLI (`cli.cjs`, the `bin`): one CommonJS file, nothing else. A command runs once per request
 *   in shells and scripts, so its start is measured against `node -e 0` (bench §5) and this build is
 *   shaped for it: CommonJS skips the ESM loader's start-up; one file, because every module file costs
 *   a resolve, a read and a compile (a file per command, as ESM chunks, measured slower than the one
 *   file); every module inside it runs only when a command imports it (each `await import()` in
 *   `src/cli` and below becomes a lazy initializer), and `open`, `proper-lockfile`, `@napi-rs/keyring`
 *   and `node:http` stay `import()`s and `readline` a lazy `require`, loaded by the commands that use
 *   them. The SDK's error base class is bundled in (tree-shaken to that class): resolving
 *   `@anthropic-ai/sdk` through its `exports` map at start cost more than the rest of `token`, and no
 *   error of the CLI process ever meets another copy of the class.
 */
export default defineConfig([
  {
    entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The CLI build writes into the same directory at the same time: keep its files.
    clean: ['!cli.cjs', '!cli.cjs.map'],
    target: 'node20',
    splitting: false,
    treeshake: true,
    keepNames: true,
    external: ['@anthropic-ai/sdk', 'open', '@napi-rs/keyring'],
  },
  {
    entry: { cli: 'src/cli/index.ts' },
    format: ['cjs'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: false,
    // Not tsup's Rollup pass: it hoists every module's `require`s to the top of the file, which would
    // load `readline` and the rest at start. esbuild's own bundling keeps them lazy and still drops
    // unused code.
    treeshake: false,
    keepNames: true,
    noExternal: ['@anthropic-ai/sdk/core/error'],
    external: ['open', '@napi-rs/keyring'],
  },
]);
