/**
 * One client of measurement (1) in a process of its own, as in a user's program: the SDK's code
 * sees one client class only, so no variant's calls run through inline caches shaped by another's.
 * Started by `ClientProcess.start()` (overhead.ts) with `fork()`; it runs blocks of calls on command,
 * one at a time, and reports each block's wall time, CPU time and per-call latencies. The parent runs
 * the variants' processes in turn, so only one of them is busy at a time.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { Bench } from 'tinybench';
import { type ClientSetup, HELLO, makeClient, type Variant } from './clients.js';
import { collectGarbage } from './stats.js';

export interface BlockCommand {
  mode: 'sequential' | 'concurrent';
  calls: number;
  inFlight: number;
}

export type WorkerMessage =
  | { op: 'init'; variant: Variant; setup: Omit<ClientSetup, 'options'> }
  | ({ op: 'block' } & BlockCommand);

/** Wall and CPU time in ms, latencies in ms, call by call. */
export interface BlockResult {
  wall: number;
  cpu: number;
  latencies: number[];
}

export type WorkerReply = { ok: true; value: BlockResult | null } | { ok: false; error: string };

let client: Anthropic | undefined;

/**
 * Sequential blocks are a plain loop, each call timed on its own; concurrent blocks run in tinybench
 * (`concurrency: 'task'`, `inFlight` calls at a time), which times each call. A scavenge first, so
 * the previous block's young garbage is not collected on this one's time.
 */
async function runBlock({ mode, calls, inFlight }: BlockCommand): Promise<BlockResult> {
  const measured = client as Anthropic;
  collectGarbage();
  if (mode === 'sequential') {
    const latencies: number[] = [];
    const startCpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await measured.messages.create(HELLO);
      latencies.push(performance.now() - t);
    }
    const wall = performance.now() - start;
    const used = process.cpuUsage(startCpu);
    return { wall, cpu: (used.user + used.system) / 1000, latencies };
  }
  const bench = new Bench({
    throws: true,
    retainSamples: true,
    // Exactly `calls` timed calls (time: 0 removes the time budget); warmup is done by the parent.
    iterations: calls,
    time: 0,
    warmup: false,
    concurrency: 'task',
    threshold: inFlight,
  });
  bench.add(mode, () => measured.messages.create(HELLO));
  const startCpu = process.cpuUsage();
  const start = performance.now();
  await bench.run();
  const used = process.cpuUsage(startCpu);
  const wall = performance.now() - start;
  const result = bench.tasks[0]?.result;
  if (!result || !('latency' in result) || !result.latency.samples) throw new Error(`${mode} block: no samples`);
  return { wall, cpu: (used.user + used.system) / 1000, latencies: [...result.latency.samples] };
}

process.on('message', (message: WorkerMessage) => {
  const work = async (): Promise<BlockResult | null> => {
    if (message.op === 'init') {
      client = makeClient(message.variant, message.setup);
      return null;
    }
    return runBlock(message);
  };
  work().then(
    (value) => process.send?.({ ok: true, value } satisfies WorkerReply),
    (error: unknown) => process.send?.({ ok: false, error: String(error) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
