// The suite's files that the sanitizer lane (`npm run test:asan`) and the Windows lane (`npm run test:win`) leave
// out, and why. `npm test` runs every file; the other two lanes exist to run vkmem's native code under another
// build or another system, and CI (.ci/run) runs all three on two cores inside its time budget. A file is listed
// here only when it runs none of vkmem's native code that the lane would check differently: what it checks is
// the same on every lane, and `npm test` has checked it already. Nothing else may go here.

/** Checks of the sources' text alone: the same on every build and system. */
const SOURCE_CHECKS = [
  ['test/house/house.test.ts', 'formatting, import cycles and module length of the sources'],
  ['test/package/docs.test.ts', 'TypeDoc over the sources, with no warning'],
  ['test/house/vitest-projects.test.ts', "vitest.config.ts's projects, which the lanes do without"],
  ['test/house/types.test.ts', 'tsc over the sources and the tests'],
];

/** Left out of the sanitizer lane. */
export const ASAN_LEFT_OUT = [
  ...SOURCE_CHECKS,
  // The consumer install loads the prebuilt addons of the packed tarball: the normal build, never the sanitized one.
  ['test/package/install.test.ts', 'installs the packed tarball, whose addons are the normal build'],
  // A report page in chromium: the page is JavaScript in the browser; its one native step (a dump of a lavapipe
  // allocator) is what test/memory/dump.test.ts and test/cli run under the sanitizers.
  ['test/report/page.test.ts', 'a static report page in chromium'],
  // scripts/test-asan.mjs runs the fuzzer itself after the suite, with the same operations, seeds and jobs.
  ['test/fuzz/fuzz.test.ts', "the lane's own fuzz run replaces it"],
];

/** Left out of the Windows lane (the consumer install and the browser tests skip there by themselves). */
export const WIN_LEFT_OUT = [...SOURCE_CHECKS];

/** The bounded fuzz run's arguments: `seeds` seeds from seed 1, 5,000 operations each, two at a time. */
export function fuzzArgs(seeds) {
  return ['--ops', String(5000 * seeds), '--seed', '1', '--seeds', String(seeds), '--jobs', '2'];
}

/** The seeds of test/fuzz/fuzz.test.ts's run, which the sanitizer lane runs as its own step (FUZZ_ARGS). */
export const FUZZ_SEEDS = 6;
export const FUZZ_ARGS = fuzzArgs(FUZZ_SEEDS);

/**
 * The same run on Windows (the Windows lane), over the first three of those seeds: the operations, their checks and
 * the first 5,000 operations of each seed are the same, at half the cost. Under Wine the six seeds took 38-46 s of
 * the lane, its slowest file, while `npm test` and the sanitizer lane run all six on Linux.
 */
export const WIN_FUZZ_SEEDS = 3;

/**
 * vitest's arguments for a lane: the files left out are excluded, and the files share their worker processes
 * (`--no-isolate`, unless the caller says `--isolate`), unless the caller named files of its own (then it gets what
 * it asked for).
 *
 * Why the lanes share workers: `npm test` runs each file in a fresh process (vitest.config.ts), which the two lanes
 * pay for dearly: a Node start under the ASan runtime, a process start under Wine, and the engine's modules loaded
 * again, 70 times over. Measured on this two-core machine, quiet, 2026-12-04: the sanitizer lane's vitest 275 s
 * isolated against 176 s shared, the Windows lane's 355 against 228 s. The tests are the same; what sharing adds is
 * that a file meets what the files before it left in the process, as a game's long-lived process does. That found
 * four bugs of the suite (leak report order, two copies of the engine's JS, the rehearsal test's premise, and an
 * upload test that took new memory to read zero). A crash still fails the lane; rerun the file alone to see which.
 * @param {string[][]} leftOut the lane's list
 * @param {string[]} args the caller's vitest arguments
 */
export function laneArgs(leftOut, args) {
  if (args.some((a) => !a.startsWith('-'))) return args;
  const isolation = args.some((a) => /^--(no-)?isolate\b/.test(a)) ? [] : ['--no-isolate']; // the caller's, or none
  return [...leftOut.flatMap(([file]) => ['--exclude', file]), ...isolation, ...args];
}

/**
 * The environment a lane runs vitest with: VKMEM_TEST_LANE tells vitest.config.ts to define no projects, so that the
 * lane runs the suite once, as `npm test`'s project `device` does. The second run of the GPU tests through the test
 * layer (project `discrete-memory`) checks the tests' assumptions about memory, which `npm test` has done, not the
 * native code; and with projects defined, vitest 4 does not share workers across files for `--no-isolate` (measured:
 * three files, one worker, two processes), which cost each lane 20-40 s.
 */
export const LANE_ENV = { VKMEM_TEST_LANE: '1' };
