import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // GPU tests load a native addon: a crash (an abort in VMA or the driver) takes down one forked worker
    // and its file, not the whole run. Two workers: lavapipe is CPU-bound and the machines have two cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
