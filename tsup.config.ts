import { builtinModules, createRequire } from 'node:module';
import { defineConfig, type Options } from 'tsup';

/**
 * Two builds into dist/, both shaped by what they cost at start (bench §4 and §5; what each loads is
 * held by tests/module-graph.test.ts):
 *
 * - The library (`index`, `testing`, `redis`): ESM and CommonJS, one file per entry point, with types. The SDK
 *   is external, so `AnthropicError` is the SDK's own class and `instanceof AnthropicError` holds in
 *   either format. The two plugins below trim what its `import` costs a program.
 * - The CLI (`cli.cjs`, the `bin`): one CommonJS file, nothing else. A command runs once per request
 *   in shells and scripts, so its start is measured against `node -e 0`: CommonJS skips the ESM
 *   loader's start-up; one file, because every module file costs a resolve, a read and a compile (a
 *   file per command, as ESM chunks, measured slower than the one file); every module inside it runs
 *   only when a command imports it (each `await import()` in `src/cli` becomes a lazy initializer),
 *   and `open`, `proper-lockfile`, `@napi-rs/keyring` and `node:http` stay `import()`s and `readline`
 *   a lazy `require`, loaded by the commands that use them. The SDK's error base class is bundled in
 *   (tree-shaken to that class): resolving `@anthropic-ai/sdk` through its `exports` map at start cost
 *   more than the rest of `token`, and no error of the CLI process ever meets another copy of it.
 *
 * Every built file is ASCII (a test checks it): one other character anywhere makes Node decode, and
 * V8 scan, the whole file as UTF-16.
 */

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);

/**
 * In the ESM build, Node's built-ins come through `createRequire` instead of `import`. An `import` of
 * a built-in makes Node build its ESM facade, which reads every export, and that runs the lazy ones:
 * `import { … } from 'node:fs'` loads the streams (for `ReadStream`), `'node:util'` the argument
 * parser and MIME types, about twenty internal modules in all: half the cost of importing the
 * package after the SDK. Each built-in becomes a module of the bundle that requires it (from the
 * `require` the banner makes) and exports its functions one by one, each read only if something
 * imports it (the pure annotation lets esbuild drop the rest), so no lazy export is ever touched.
 * An `import()` of a built-in (`node:http` for the loopback listener) is left as it is: it runs
 * only on the path that needs it, and then it needs the whole module anyway.
 */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(build) {
    if (build.initialOptions.format !== 'esm') return;
    const require = createRequire(import.meta.url);
    build.onResolve({ filter: BUILTIN }, (args) =>
      args.kind === 'dynamic-import'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'node-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const names = Object.keys(require(args.path)).filter((name) => IDENTIFIER.test(name) && name !== 'default');
      const lines = [
        `const builtin = __nodeRequire(${JSON.stringify(args.path)});`,
        'export default builtin;',
        ...names.map((name) => `export const ${name} = /* @__PURE__ */ (() => builtin.${name})();`),
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

/**
 * In the library, `AnthropicError` comes from the SDK's root, the same class (the root re-exports
 * `core/error`): the package imports the root anyway (`AnthropicOAuth` extends `Anthropic`), and a
 * second subpath costs one more search of the SDK's `exports` map, whose patterns make a subpath
 * slower to resolve than the root. The source imports `core/error`, which the CLI bundles alone.
 */
const SDK_ERROR = '@anthropic-ai/sdk/core/error';
const sdkErrorFromRoot: Plugin = {
  name: 'sdk-error-from-root',
  setup(build) {
    build.onResolve({ filter: /^@anthropic-ai\/sdk\/core\/error$/ }, () => ({
      path: '@anthropic-ai/sdk',
      external: true,
    }));
  },
};

/**
 * In the CLI, the emulator (`emulator` command) comes from the package itself, `anthropic-oauth/testing`
 * (dist/testing.cjs, found through the package's own `exports`), not bundled: the one CLI file stays
 * free of it, and only that command loads it.
 */
const testingFromPackage: Plugin = {
  name: 'testing-from-package',
  setup(build) {
    build.onResolve({ filter: /\/testing\/index\.js$/ }, (args) =>
      /[/\\]src[/\\]cli[/\\]/.test(args.importer) ? { path: 'anthropic-oauth/testing', external: true } : undefined,
    );
  },
};

export default defineConfig([
  {
    entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', redis: 'src/redis.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The CLI build writes into the same directory at the same time: keep its files.
    clean: ['!cli.cjs', '!cli.cjs.map'],
    target: 'node20',
    splitting: false,
    // esbuild's own tree shaking, not tsup's Rollup pass: that pass builds the CommonJS files from
    // ESM, which would give them the plugin's ESM-only `require` below.
    treeshake: false,
    keepNames: true,
    external: ['@anthropic-ai/sdk', 'open', '@napi-rs/keyring', 'redis'],
    // Not external to tsup, whose plugin would claim it before sdkErrorFromRoot.
    noExternal: [SDK_ERROR],
    esbuildPlugins: [sdkErrorFromRoot, builtinsThroughRequire],
    // Keep `node:` specifiers as written: tsup's plugin that strips them would claim them first.
    removeNodeProtocol: false,
    banner: ({ format }) =>
      format === 'esm'
        ? {
            js: "import { createRequire as __createRequire } from 'node:module';\nconst __nodeRequire = __createRequire(import.meta.url);",
          }
        : undefined,
  },
  {
    entry: { cli: 'src/cli/index.ts' },
    format: ['cjs'],
    sourcemap: true,
    // Minified: Node reads and V8 scans the whole file at every start, and a third fewer bytes is a
    // third less of that (about 4 ms of `token`'s 30 over `node -e 0`). Names stay (`keepNames`), and
    // the source map beside it maps any stack back to src/.
    minify: true,
    clean: false,
    target: 'node20',
    splitting: false,
    // Not tsup's Rollup pass: it hoists every module's `require`s to the top of the file, which would
    // load `readline` and the rest at start. esbuild's own bundling keeps them lazy and still drops
    // unused code.
    treeshake: false,
    keepNames: true,
    noExternal: [SDK_ERROR],
    // `redis` is loaded by `--store redis` only (an optional peer of the package).
    external: ['open', '@napi-rs/keyring', 'redis'],
    esbuildPlugins: [testingFromPackage],
  },
]);
