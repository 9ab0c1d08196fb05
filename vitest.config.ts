import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // MariaDB: each file creates its own database; two at a time suits a 2-core machine.
    maxWorkers: 2,
    reporters: ['default', './tests/helpers/closing-line-reporter.ts'],
  },
});
