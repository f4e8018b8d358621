/**
 * Preloaded (`node --require`) into a process measured by bench/cli-start.ts: when it exits, writes its
 * peak resident memory (KiB) and CPU time (user + system, µs) to fd 3, a pipe the parent opened. The
 * wall-time runs do not load it; it runs in the memory runs of every variant alike, `node -e 0` too.
 */
process.on('exit', () => {
  const usage = process.resourceUsage();
  require('node:fs').writeSync(
    3,
    JSON.stringify({ maxRssKiB: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime }),
  );
});
