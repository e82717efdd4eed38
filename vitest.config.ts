import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that spawn processes or share the machine's PostgreSQL/Redis stay isolated per file.
    pool: 'forks',
    // A real Kafka broker on 127.0.0.1:9092 (scripts/kafka.mjs): started when none answers.
    globalSetup: ['./test/setup/kafka.ts'],
  },
});
