#!/usr/bin/env node
/** The `anthropic-oauth` executable (dist/cli.cjs, see tsup.config.ts). */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug in the CLI itself: still one line, still no stack full of state.
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
