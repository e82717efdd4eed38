// Debian's kcat (librdkafka): a Kafka client no one here wrote, to check Docket against.
import { spawn, spawnSync } from 'node:child_process';
import { TEST_KAFKA_BROKERS } from '../setup/kafka.js';

const KCAT = 'kcat';

/** Whether kcat is installed (`.ci/run` installs it; `apt-get install -y kcat`). */
export const HAS_KCAT = spawnSync(KCAT, ['-V'], { stdio: 'ignore' }).status === 0;

export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  /** Flat: name, value, name, value, ... */
  headers?: string[];
}

/** Runs kcat against the test broker with `input` on stdin; resolves its stdout, rejects with its stderr. */
export function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, ['-b', TEST_KAFKA_BROKERS.join(','), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** kcat as a producer: one record per line of `lines`, all with `key`. murmur2 partitioning as the Java client. */
export function kcatProduce(topic: string, key: string, lines: string[], headers: Record<string, string> = {}): Promise<string> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  return kcat(['-P', '-t', topic, '-k', key, '-X', 'partitioner=murmur2_random', ...h], `${lines.join('\n')}\n`);
}

/** kcat as a consumer: every record of `topic` from the beginning, then exits. */
export async function kcatConsumeAll(topic: string): Promise<KcatRecord[]> {
  const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatRecord);
}
