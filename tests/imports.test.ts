/**
 * The module graph of src/, read from the sources: `anthropic-oauth/testing` uses only the public
 * surface of the library (and only its types: the emulator keeps its own wire facts, so it cannot
 * agree with a wrong constant), the library imports neither the CLI nor the emulator, and no import
 * circle exists anywhere in src/, not even one of type-only imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

interface Import {
  from: string;
  specifier: string;
  /** `import type …` / `export type … from`: erased at build time. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+'([^']+)'/gm)) {
    found.push({ from: file, specifier: match[2] as string, typeOnly: match[1] !== undefined });
  }
  for (const match of text.matchAll(/^import\s+'([^']+)'/gm)) {
    found.push({ from: file, specifier: match[1] as string, typeOnly: false });
  }
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) {
    found.push({ from: file, specifier: match[1] as string, typeOnly: false });
  }
  return found;
}

/** The source file a relative specifier names (`./x.js` → `x.ts`); null for packages and builtins. */
function target(entry: Import): string | null {
  if (!entry.specifier.startsWith('.')) return null;
  return resolve(dirname(entry.from), entry.specifier.replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);

describe('src/testing (the emulator)', () => {
  it('imports from the library only its public surface, and only types', () => {
    const testing = join(SRC, 'testing');
    const leaving = imports.filter((entry) => {
      if (!entry.from.startsWith(`${testing}/`)) return false;
      const to = target(entry);
      return to === null ? !entry.specifier.startsWith('node:') : !to.startsWith(`${testing}/`);
    });
    expect(
      leaving.map((entry) => ({
        file: relative(SRC, entry.from),
        specifier: entry.specifier,
        typeOnly: entry.typeOnly,
      })),
    ).toEqual([{ file: 'testing/types.ts', specifier: '../index.js', typeOnly: true }]);
  });

  it('the reader sees every kind of import (so the check above cannot pass by missing one)', () => {
    const kinds = (file: string) => importsOf(join(SRC, file)).map((entry) => [entry.specifier, entry.typeOnly]);
    expect(kinds('testing/types.ts')).toEqual([['../index.js', true]]);
    expect(kinds('testing/state.ts')).toContainEqual(['./wire.js', false]);
    expect(kinds('index.ts')).toContainEqual(['./store/types.js', true]);
    expect(
      importsOf(join(SRC, 'store', 'keychain-worker.ts')).some((entry) => entry.specifier === '@napi-rs/keyring'),
    ).toBe(true);
  });
});

describe('src/', () => {
  /** The files `entry` imports, type-only imports included or not. */
  function graphOf(withTypes: boolean): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const entry of imports) {
      const to = target(entry);
      if (to === null || (entry.typeOnly && !withTypes)) continue;
      graph.set(entry.from, [...(graph.get(entry.from) ?? []), to]);
    }
    return graph;
  }

  function circlesIn(graph: Map<string, string[]>): string[] {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') {
          circles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(SRC, f)).join(' → '));
        } else if (!state.has(next)) {
          visit(next, [...path, next]);
        }
      }
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);
    return circles;
  }

  it('has no import circle, type-only imports included', () => {
    const graph = graphOf(true);
    expect(circlesIn(graph)).toEqual([]);
    expect(graph.size).toBeGreaterThan(20);
  });

  it('the circle check finds a circle (so the check above cannot pass by missing one)', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    expect(
      circlesIn(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toEqual(['a.ts → b.ts → a.ts']);
  });

  it('the library imports neither the CLI nor the emulator', () => {
    const cli = join(SRC, 'cli');
    const testing = join(SRC, 'testing');
    const inside = (file: string, dir: string) => file.startsWith(`${dir}/`);
    const leaving = imports.filter((entry) => {
      const to = target(entry);
      if (to === null || inside(entry.from, cli) || inside(entry.from, testing)) return false;
      return inside(to, cli) || inside(to, testing);
    });
    expect(leaving.map((entry) => `${relative(SRC, entry.from)} → ${entry.specifier}`)).toEqual([]);
    // The CLI does import the library: the filter above sees imports into src/.
    expect(imports.some((entry) => inside(entry.from, cli) && !inside(target(entry) ?? cli, cli))).toBe(true);
  });
});
