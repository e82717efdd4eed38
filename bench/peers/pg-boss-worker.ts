/** A pg-boss worker process of the benchmark: `workersPerProcess` work() loops with batchSize. */
import PgBoss from 'pg-boss';
import { SignalSender } from '../signals.js';
import type { PgBossSettings } from './pg-boss.js';
import { envSettings } from './processes.js';

const s = envSettings<PgBossSettings>();
const signals = new SignalSender();
const boss = new PgBoss({ connectionString: s.connectionString, max: s.max, migrate: false, supervise: false, schedule: false });
boss.on('error', (err) => console.error('[pg-boss]', err));
await boss.start();
for (let i = 0; i < s.workersPerProcess; i++) {
  await boss.work<{ k?: string }>(s.queue, { batchSize: s.batchSize, pollingIntervalSeconds: s.pollingIntervalSeconds }, async (jobs) => {
    for (const job of jobs) {
      if (job.data?.k) signals.probe(job.data.k);
      else signals.noop();
    }
  });
}
process.once('SIGTERM', () => {
  void boss.stop({ graceful: true, wait: true }).then(() => {
    signals.flush();
    setTimeout(() => process.exit(0), 20);
  });
});
