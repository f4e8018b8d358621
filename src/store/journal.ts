/**
 * A journal: the private file a renewed login is written to before it goes where it belongs, its
 * room reserved up front. Both prepared saves keep one: the file store's (`prepared.ts`) and the
 * keychain's (`keychain-rescue.ts`).
 *
 * - Reserving it beside its target (`tempPath`: a dot file, 0600, never followed through a link),
 *   filled with spaces and fsynced, proves before a refresh token is spent that the directory takes
 *   new files and the disk has the room: a full disk or quota fails here, when nothing is lost.
 * - Writing it is one synchronous write into that room, a truncate and an fsync: a crash or a
 *   `process.exit()` right after leaves it for `load()` to find (`pending.ts` reads journals).
 * - Dropping it removes the file; a journal that was written and must stay is released instead.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { done, tempPath } from './atomic.js';

export class Journal {
  readonly path: string;
  #fd: number | undefined;
  #written = false;

  /** Reserves `bytes` beside `target`; throws the system error, leaving nothing, when it cannot. */
  constructor(target: string, bytes: number) {
    this.path = tempPath(target);
    let fd: number;
    try {
      fd = openSync(this.path, 'wx', 0o600);
    } catch (error) {
      done(this.path);
      throw error;
    }
    this.#fd = fd;
    try {
      writeSync(fd, Buffer.alloc(bytes, 0x20));
      fsyncSync(fd);
    } catch (error) {
      this.drop();
      throw error;
    }
  }

  /** Whether a login was written into it (and fsynced). */
  get written(): boolean {
    return this.#written;
  }

  /** Writes `json` into the reserved room and fsyncs it, then closes it; throws the system error. */
  write(json: string): void {
    const fd = this.#fd;
    if (fd === undefined) throw new Error('This journal is closed already.');
    try {
      const data = Buffer.from(json, 'utf8');
      writeSync(fd, data, 0, data.length, 0);
      ftruncateSync(fd, data.length);
      fsyncSync(fd);
      this.#written = true;
    } finally {
      this.close();
    }
  }

  /** Closes the file, keeping it. Never throws. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {}
    this.#fd = undefined;
  }

  /**
   * Closes the file and ends this process's claim on it (`atomic.ts`), leaving it where it is: written
   * and kept for `load()` to find, or renamed away already. Never throws.
   */
  release(): void {
    this.close();
    done(this.path);
  }

  /** Removes the file: its login is where it belongs, or none came. Never throws. */
  drop(): void {
    this.close();
    try {
      unlinkSync(this.path);
    } catch {}
    done(this.path);
  }
}
