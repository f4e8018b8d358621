/**
 * The process's stdout and stderr as the CLI writes them: with `writeSync` on the file descriptor
 * until something needs the stream object itself (a readline prompt or a spinner in `login`, a
 * terminal check), then through the stream.
 *
 * Why: `process.stdout` is built on first use, and building it loads Node's streams, `net` and
 * `tty` (about thirty internal modules, the largest single cost of `token` after the CLI file
 * itself). One line of data needs none of that. The order of what is written is kept: once the stream
 * exists every later line goes through it, and on Linux both are synchronous for files, pipes and
 * terminals, as Node's own stdout is.
 *
 * A reader that has gone away (`anthropic-oauth token | head -c 10`, EPIPE) ends the output quietly;
 * a descriptor left non-blocking by the parent (EAGAIN) hands the rest to the stream, which waits.
 * On Windows the stream is used from the start: a console there takes UTF-16 through the stream,
 * and bytes written to it directly would show other characters than `…` and `✓`.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

export type OutputName = 'stdout' | 'stderr';

export interface ProcessOutput {
  /** The stream (`process.stdout` or `process.stderr`), built on first access; later writes use it. */
  readonly stream: Writable & { isTTY?: boolean };
  write(text: string): void;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function processOutput(name: OutputName): ProcessOutput {
  const fd = name === 'stdout' ? 1 : 2;
  let stream: (Writable & { isTTY?: boolean }) | undefined;
  let closed = false;
  const output: ProcessOutput = {
    get stream() {
      if (stream === undefined) {
        stream = process[name];
        // As for the direct writes: a reader that has gone ends the output, quietly.
        stream.on('error', (error) => {
          if (errnoOf(error) !== 'EPIPE') throw error;
          closed = true;
        });
      }
      return stream;
    },
    write(text) {
      if (closed) return;
      if (stream !== undefined || process.platform === 'win32') {
        output.stream.write(text);
        return;
      }
      let rest = Buffer.from(text, 'utf8');
      while (rest.length > 0) {
        try {
          rest = rest.subarray(writeSync(fd, rest));
        } catch (error) {
          const code = errnoOf(error);
          if (code === 'EPIPE') {
            closed = true;
            return;
          }
          if (code !== 'EAGAIN') throw error;
          output.stream.write(rest);
          return;
        }
      }
    },
  };
  return output;
}
