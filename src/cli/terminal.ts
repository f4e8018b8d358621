/**
 * The wait in `login`: a spinner on stderr while stdin stays open for a pasted answer.
 *
 * - stdin and stderr both terminals: a readline prompt whose text is the spinner, so what the user
 *   types is echoed and redrawn correctly; a pasted line is wiped from the screen once read (it
 *   holds a code). Ctrl+C arrives through readline.
 * - only stderr a terminal (stdin piped): a `\r` spinner on stderr; lines are read from stdin.
 * - stderr not a terminal: each waiting message once, as a plain line; no escape codes.
 * Lines are buffered from the start, so an answer piped in early is not lost.
 * Every text shown goes through `forTerminal` and `scrub`, as the context's lines do.
 */
import { clearLine, clearScreenDown, createInterface, cursorTo, type Interface, moveCursor } from 'node:readline';
import { type CliStreams, forTerminal, scrub } from './context.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;

const safe = (text: string): string => scrub(forTerminal(text));

export interface Waiting {
  /** The lines typed or piped on stdin, from the moment `startWaiting` was called. */
  readonly lines: AsyncIterable<string>;
  /** Shows `text` as the waiting line: a spinner on a terminal, a plain line otherwise. */
  wait(text: string): void;
  /** Shows `text` as a prompt for typing (no spinner). */
  ask(text: string): void;
  /** Prints `line` above the waiting line. */
  note(line: string): void;
  /** Removes the waiting line and stops the spinner. */
  stop(): void;
  /** Stops reading stdin and removes the Ctrl+C handler. Idempotent. */
  close(): void;
}

type Result = IteratorResult<string, undefined>;

function lineQueue(rl: Interface): AsyncIterable<string> {
  const buffered: string[] = [];
  let ended = false;
  let waiter: ((result: Result) => void) | undefined;
  const end = (): Result => {
    ended = true;
    const pending = waiter;
    waiter = undefined;
    pending?.({ value: undefined, done: true });
    return { value: undefined, done: true };
  };
  rl.on('line', (line: string) => {
    if (ended) return;
    const pending = waiter;
    waiter = undefined;
    if (pending) pending({ value: line, done: false });
    else buffered.push(line);
  });
  rl.on('close', end);
  return {
    [Symbol.asyncIterator]: () => ({
      next: (): Promise<Result> => {
        const line = buffered.shift();
        if (line !== undefined) return Promise.resolve({ value: line, done: false });
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiter = resolve;
        });
      },
      return: (): Promise<Result> => Promise.resolve(end()),
    }),
  };
}

export function startWaiting(streams: CliStreams, onInterrupt: () => void): Waiting {
  const { stdin, stderr } = streams;
  const interactive = stdin.isTTY === true && stderr.isTTY === true;
  const spinning = stderr.isTTY === true;
  const rl = createInterface(
    interactive ? { input: stdin, output: stderr, terminal: true, prompt: '' } : { input: stdin, terminal: false },
  );
  let open = true;
  rl.on('close', () => {
    open = false;
  });
  const lines = lineQueue(rl);

  let text = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let shown = '';

  const draw = (): void => {
    // While the user types, readline owns the line: redrawing under it would garble a wrapped paste.
    if (interactive && open && rl.line !== '') return;
    const line = `${FRAMES[frame % FRAMES.length]} ${text}`;
    frame++;
    if (interactive && open) {
      rl.setPrompt(`${line} `);
      rl.prompt(true);
    } else {
      stderr.write(`\r${line}\x1b[K`);
    }
  };
  const clear = (): void => {
    if (!spinning) return;
    cursorTo(stderr, 0);
    clearLine(stderr, 0);
  };
  const stopTimer = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  if (interactive) {
    rl.on('SIGINT', onInterrupt);
    // A pasted line holds a code: take it off the screen (prompt and echo may span several rows).
    rl.on('line', (line: string) => {
      const columns = (stderr as { columns?: number }).columns ?? 80;
      const rows = Math.max(1, Math.ceil((rl.getPrompt().length + line.length) / columns));
      moveCursor(stderr, 0, -rows);
      cursorTo(stderr, 0);
      clearScreenDown(stderr);
      if (open) rl.prompt(true);
    });
  } else {
    process.on('SIGINT', onInterrupt);
  }

  return {
    lines,
    wait(next) {
      text = safe(next);
      if (!spinning) {
        if (text !== shown) stderr.write(`${text}\n`);
        shown = text;
        return;
      }
      draw();
      timer ??= setInterval(draw, FRAME_MS);
    },
    ask(prompt) {
      stopTimer();
      text = safe(prompt);
      if (interactive && open) {
        rl.setPrompt(text);
        rl.prompt(true);
      } else {
        stderr.write(`${text}\n`);
      }
    },
    note(line) {
      clear();
      stderr.write(`${safe(line)}\n`);
      if (timer) draw();
      else if (interactive && open) rl.prompt(true);
    },
    stop() {
      stopTimer();
      if (interactive && open) rl.setPrompt('');
      clear();
    },
    close() {
      stopTimer();
      process.off('SIGINT', onInterrupt);
      if (open) rl.close();
      // Reading stdin must not keep the process alive once the login is over.
      stdin.pause();
      (stdin as { unref?: () => void }).unref?.();
    },
  };
}
