/** The systems under test by name. */
import { DocketEmbeddedSystem } from './docket/embedded.js';
import { DocketProductionSystem } from './docket/production.js';
import { BullmqSystem } from './peers/bullmq.js';
import { GraphileWorkerSystem } from './peers/graphile-worker.js';
import { PgBossSystem } from './peers/pg-boss.js';
import type { System, SystemContext, SystemName } from './system.js';

export function makeSystem(name: SystemName, ctx: SystemContext): System {
  switch (name) {
    case 'docket-embedded':
      return new DocketEmbeddedSystem(ctx);
    case 'docket-production':
      return new DocketProductionSystem(ctx);
    case 'bullmq':
      return new BullmqSystem(ctx);
    case 'graphile-worker':
      return new GraphileWorkerSystem(ctx);
    case 'pg-boss':
      return new PgBossSystem(ctx);
  }
}
