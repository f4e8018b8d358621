/**
 * The package under test: the build in `BUILD` (see build.ts), loaded by path. Every process of the
 * benchmark (this one, the emulator's, the workers) loads the same files.
 *
 * The types are those of the sources the build is made from.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Library from '../../src/index.js';
import type * as Testing from '../../src/testing/index.js';
import { BUILD, BUILT_ENTRIES } from './build.js';

export const lib = (await import(pathToFileURL(join(BUILD, BUILT_ENTRIES.library)).href)) as typeof Library;
export const testing = (await import(pathToFileURL(join(BUILD, BUILT_ENTRIES.testing)).href)) as typeof Testing;
