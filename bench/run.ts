/**
 * `npm run bench`: the measurements of the benchmark, against the local emulator only
 * (127.0.0.1), on the package as built by the run. Prints each table as it is done, then the goals
 * of the benchmark next to the figures that answer them, and writes it all, with the machine and
 * the command, to bench/RESULTS.md.
 *
 * A benchmark reports; it never fails on a figure. It exits non-zero only if it could not run.
 *
 *   npm run bench                  the full run (3–4 minutes on 2 cores), writes bench/RESULTS.md
 *   npm run bench -- --quick       fewer rounds, to try it out
 *   npm run bench -- --only=1,3    some of the measurements: 1 overhead, 2 storm, 3 processes, 4 import, 5 CLI start, 6 two machines (Redis)
 *
 * Only a full run of the project's own build writes RESULTS.md; the others print only.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BUILD, BUILD_OVERRIDE, buildPackage } from './lib/build.js';
import { fmt, fmtSignedSpread, fmtSpread } from './lib/stats.js';
import { renderTable } from './lib/table.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .map(Number);
const runs = (section: number) => only === undefined || only.includes(section);
const writesResults = !quick && only === undefined && BUILD_OVERRIDE === undefined;

const settings = quick
  ? {
      overhead: {
        rounds: 3,
        warmupCalls: 300,
        sequentialCalls: 500,
        sequentialBlock: 50,
        concurrentCalls: 1024,
        concurrentBlock: 512,
        inFlight: 64,
      },
      storm: { runs: 2, requests: 1000 },
      many: { runs: 1, processes: 8, requests: 200, intervalMs: 10, ttl: 1 },
      imports: { rounds: 5 },
      cliStart: { rounds: 3 },
    }
  : {
      overhead: {
        rounds: 5,
        warmupCalls: 500,
        sequentialCalls: 2000,
        sequentialBlock: 50,
        concurrentCalls: 2048,
        concurrentBlock: 512,
        inFlight: 64,
      },
      storm: { runs: 5, requests: 1000 },
      many: { runs: 3, processes: 8, requests: 500, intervalMs: 10, ttl: 1 },
      imports: { rounds: 30 },
      cliStart: { rounds: 20 },
    };

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const log = (line: string) => console.log(line);
const signed1 = (value: number) => `${value < 0 ? '−' : '+'}${fmt(Math.abs(value), 1)}`;
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');

const began = performance.now(); // the build is included
const date = new Date();
const cpu = cpus();
const machine = `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30)} GiB; Node ${process.version} (${process.platform} ${process.arch})`;
log('anthropic-oauth benchmarks');
log(machine);

// Build first: the measurements load the build, so they are imported after it.
const buildMs = buildPackage();
log(
  BUILD_OVERRIDE
    ? `measuring the build in ${BUILD} (not built here)`
    : `built the package in ${fmt(buildMs / 1000, 1)} s`,
);
const { measureOverhead, reportOverhead } = await import('./overhead.js');
const { measureStorm, reportStorm } = await import('./refresh-storm.js');
const { measureMany, reportMany } = await import('./many-processes.js');
const { IMPORT_GOAL_MS, measureImports, measureFootprint, reportImports } = await import('./cold-start.js');
const { CLI_GOAL_RATIO, measureCliStart, reportCliStart } = await import('./cli-start.js');

const sections: string[] = [];
/** The goals of the benchmark, each next to the figure that answers it: [goal, measured, met]. */
const goals: string[][] = [];
let sectionStart = performance.now();
const print = (title: string, body: string) => {
  const took = (performance.now() - sectionStart) / 1000;
  sectionStart = performance.now();
  const text = `## ${title}\n\n${body}\n\n(${fmt(took)} s)\n`;
  sections.push(text);
  log(`\n${text}`);
};

sectionStart = performance.now();
if (runs(1)) {
  log('\n(1) per-request overhead');
  const overhead = await measureOverhead(settings.overhead, log);
  print('1. Per-request overhead', reportOverhead(overhead));
  for (const mode of ['sequential', 'concurrent'] as const) {
    const row = overhead.rows[mode].find((r) => r.variant === 'AnthropicOAuth');
    if (!row) continue;
    const inFlight = mode === 'sequential' ? 1 : settings.overhead.inFlight;
    goals.push([
      `client CPU per call, \`Anthropic({ authToken })\`'s over ours ≥ 0.98, ${inFlight} in flight`,
      `${fmt(row.cpuRatio, 3)} (rounds: ${fmt(row.cpuRatioMin, 2)}–${fmt(row.cpuRatioMax, 2)}); throughput ratio ${fmt(row.ratio, 3)} (${fmt(row.ratioMin, 2)}–${fmt(row.ratioMax, 2)})`,
      yes(row.cpuRatio >= 0.98),
    ]);
    goals.push([
      `(not a goal) the same, against the plain SDK sending the same request (\`beta=true\`, betas, user agent), ${inFlight} in flight`,
      `${fmt(row.wireCpuRatio, 3)} (rounds: ${fmt(row.wireCpuRatioMin, 2)}–${fmt(row.wireCpuRatioMax, 2)}): the package's own code`,
      '—',
    ]);
  }
}

if (runs(2)) {
  log('\n(2) refresh storm');
  const storm = await measureStorm(settings.storm, log);
  print('2. Refresh storm', reportStorm(storm));
  const row = storm.rows.find((r) => r.variant === 'AnthropicOAuth');
  if (row) {
    goals.push([
      `exactly one refresh per storm (${fmt(settings.storm.requests)} calls on an expired token)`,
      `token-endpoint calls per storm: ${row.tokenCalls.join(', ')}; added over one refresh: ${signed1(row.addedFirst)} ms`,
      yes(row.tokenCalls.every((calls) => calls === 1)),
    ]);
  }
}

if (runs(3)) {
  log('\n(3) many processes');
  const many = await measureMany(settings.many, log);
  print('3. Many processes, one token file', reportMany(many));
  const ours = many.rows.find((row) => row.variant === 'AnthropicOAuth')?.runs ?? [];
  const perGeneration = Math.max(...ours.map((run) => run.tokenCalls / Math.max(1, run.generations)));
  const invalidGrants = ours.reduce((sum, run) => sum + run.invalidGrants, 0);
  const failed = ours.reduce((sum, run) => sum + run.failed, 0);
  goals.push([
    'exactly one refresh per expiry across processes, zero `invalid_grant`',
    `at most ${fmt(perGeneration, 2)} token-endpoint calls per token generation; ${invalidGrants} \`invalid_grant\`, ${failed} failed requests (${ours.length} runs)`,
    yes(perGeneration === 1 && invalidGrants === 0 && failed === 0),
  ]);
}

if (runs(4)) {
  log('\n(4) import and footprint');
  const imports = await measureImports(settings.imports, log);
  const footprint = measureFootprint();
  print('4. Import and footprint', reportImports(imports, footprint));
  goals.push(
    [
      `\`import('${imports.name}')\` after the SDK's ≤ ${IMPORT_GOAL_MS} ms`,
      `${fmtSpread(imports.afterSdk)} ms`,
      yes(imports.afterSdk.median <= IMPORT_GOAL_MS),
    ],
    [
      `\`import('${imports.name}')\` ≤ the SDK's own import + ${IMPORT_GOAL_MS} ms`,
      `${fmtSignedSpread(imports.added)} ms over the SDK's import of the same round (SDK: ${fmt(imports.sdk.median, 1)} ms)`,
      yes(imports.added.median <= IMPORT_GOAL_MS),
    ],
    [
      'no runtime dependency beyond the SDK peer and those the CLI needs',
      footprint.dependencies.map((dep) => `\`${dep.name}\`: ${dep.importedBy.join(', ') || 'not loaded'}`).join('; ') ||
        'none',
      'see §4',
    ],
  );
}

if (runs(5)) {
  log('\n(5) CLI start');
  const cli = await measureCliStart(settings.cliStart, log);
  print('5. CLI start', reportCliStart(cli));
  for (const row of cli?.rows.filter((r) => r.goal) ?? []) {
    goals.push([
      `${row.label}: wall time and peak memory ≤ ${CLI_GOAL_RATIO}× \`node -e 0\``,
      `wall ×${fmtSpread(row.wallRatio)}, memory ×${fmtSpread(row.memoryRatio)} (${fmt(row.wall.median, 1)} ms, ${fmt(row.memory.median, 1)} MiB)`,
      yes(row.wallRatio.median <= CLI_GOAL_RATIO && row.memoryRatio.median <= CLI_GOAL_RATIO),
    ]);
  }
}

if (runs(6)) {
  log('\n(6) one login on two machines');
  const cross = await import('./cross-machine.js');
  const result = await cross.measureCrossMachine(cross.CROSS_SETTINGS[quick ? 'quick' : 'full'], log);
  print('6. One login on two machines (Redis)', cross.reportCrossMachine(result));
  goals.push(cross.crossMachineGoal(result));
}

const headline = renderTable({
  headers: ['goal', 'measured (`AnthropicOAuth`)', 'met'],
  align: ['left', 'left', 'left'],
  rows: goals,
});
log(`\n## Goals\n\n${headline}\n`);

const seconds = (performance.now() - began) / 1000;
if (writesResults) {
  const document = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (`node --expose-gc --import tsx bench/run.ts`, which builds the package first); the',
    'tables below are its output, unedited. How each figure is measured: the comment at the top of each file in `bench/`.',
    '',
    `- Machine: ${machine}`,
    `- Date: ${date.toISOString()}`,
    `- Run time: ${fmt(seconds)} s, the build included`,
    '- Everything runs against the emulator (`anthropic-oauth/testing`) on 127.0.0.1, in a process of its own; the',
    "  client is the package built by the run (the project's tsup config), loaded as users load it.",
    '',
    '## Goals',
    '',
    headline,
    '',
    ...sections,
  ].join('\n');
  await writeFile(RESULTS, document);
  log(`done in ${fmt(seconds)} s; written to bench/RESULTS.md`);
} else {
  log(`done in ${fmt(seconds)} s (a partial run or another build: ${RESULTS} not written)`);
}
