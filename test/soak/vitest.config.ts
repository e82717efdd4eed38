import { defineConfig } from 'vitest/config';

// `npm run soak` only (scripts/soak.mjs): the soak's file, one long test, output as it comes.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/soak/*.soak.ts'],
    pool: 'forks',
    hookTimeout: 120_000,
  },
});
