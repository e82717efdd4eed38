// The Kafka broker the tests use: a real single-node KRaft broker started by scripts/kafka.mjs
// (fetched from Maven Central once, cached outside the repo). As vitest's globalSetup it starts the
// broker before any test file when none answers, and stops it after the run if it started it; the
// Kafka test files also call `ensureKafka()` in beforeAll, so they run without the globalSetup too
// (the broker then stays up for the next run). DOCKET_TEST_KAFKA_BROKERS points the tests at
// another broker, which is then never started or stopped here.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/kafka.mjs', import.meta.url));
const DEFAULT_BROKERS = '127.0.0.1:9092';

export const TEST_KAFKA_BROKERS: string[] = (process.env.DOCKET_TEST_KAFKA_BROKERS ?? DEFAULT_BROKERS).split(',');

/** Long enough for a first run on a new machine: fetching the jars (~40 s) and a cold start. */
export const KAFKA_START_TIMEOUT_MS = 300_000;

/** Starts the development broker unless one answers. Resolves whether this call started it. */
export async function ensureKafka(): Promise<boolean> {
  if (process.env.DOCKET_TEST_KAFKA_BROKERS) return false;
  if (await answers()) return false;
  try {
    await run(process.execPath, [SCRIPT, 'start'], { timeout: KAFKA_START_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`could not start the test Kafka broker with scripts/kafka.mjs: ${e.stderr || e.message}`);
  }
  return true;
}

async function answers(): Promise<boolean> {
  try {
    await run(process.execPath, [SCRIPT, 'status']);
    return true;
  } catch {
    return false; // exit 3: no broker answers
  }
}

/** vitest globalSetup: the returned function runs after all test files. */
export default async function setup(): Promise<() => Promise<void>> {
  const started = await ensureKafka();
  return async () => {
    if (started && process.env.DOCKET_KAFKA_KEEP !== '1') await run(process.execPath, [SCRIPT, 'stop'], { timeout: 60_000 });
  };
}
