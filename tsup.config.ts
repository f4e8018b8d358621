import { builtinModules, createRequire } from 'node:module';
import { defineConfig, type Options } from 'tsup';

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
    // esbuild's own tree shaking, not tsup's Rollup pass: that pass builds the CommonJS files from
    // ESM, which would give them the plugin's ESM-only `require` below.
    treeshake: false,
    keepNames: true,
    external: ['@anthropic-ai/sdk', 'open', '@napi-rs/keyring'],
    esbuildPlugins: [builtinsThroughRequire],
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
