/**
 * The package under test is built by the benchmark itself, into a private directory
 * (`node_modules/.cache/anthropic-oauth-bench/`), with the project's tsup config: the same files
 * as `npm run build` puts in `dist/`. `dist/` itself is shared — `npm test` rebuilds it, and its
 * `clean` empties it — so a build running elsewhere during the benchmark cannot change or remove
 * what is being measured.
 *
 * The directory gets a copy of package.json (for `"type": "module"`, and for `npm pack`), README.md
 * and LICENSE, so that it is the package as published. Modules in it resolve their dependencies
 * (`@anthropic-ai/sdk`, …) from the project's node_modules, as an installed package would.
 *
 * `ANTHROPIC_OAUTH_BENCH_BUILD=DIR` measures the build in DIR instead (a package.json beside a
 * `dist/`, e.g. made from a scratch copy of the sources) and builds nothing: to compare a change.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Set when measuring a build made elsewhere. */
export const BUILD_OVERRIDE = process.env.ANTHROPIC_OAUTH_BENCH_BUILD || undefined;
export const BUILD = BUILD_OVERRIDE
  ? resolve(BUILD_OVERRIDE)
  : join(ROOT, 'node_modules', '.cache', 'anthropic-oauth-bench');
export const BUILT_ENTRIES = { library: 'dist/index.js', testing: 'dist/testing.js', CLI: 'dist/cli.cjs' } as const;

function checkBuild(): void {
  for (const entry of ['package.json', BUILT_ENTRIES.library, BUILT_ENTRIES.testing]) {
    if (!existsSync(join(BUILD, entry))) throw new Error(`no ${entry} in ${BUILD}`);
  }
}

/** Builds the package into `BUILD` (unless `ANTHROPIC_OAUTH_BENCH_BUILD` names one); returns the build time in ms. */
export function buildPackage(): number {
  if (BUILD_OVERRIDE) {
    checkBuild();
    return 0;
  }
  const start = performance.now();
  mkdirSync(BUILD, { recursive: true });
  const tsup = spawnSync('npx', ['--no-install', 'tsup', '--out-dir', join(BUILD, 'dist')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (tsup.status !== 0) throw new Error(`the build failed:\n${tsup.stdout}\n${tsup.stderr}`);
  for (const file of ['package.json', 'README.md', 'LICENSE']) {
    if (existsSync(join(ROOT, file))) copyFileSync(join(ROOT, file), join(BUILD, file));
  }
  checkBuild();
  return performance.now() - start;
}
