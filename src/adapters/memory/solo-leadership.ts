import type { Leadership } from '../../ports/leadership.js';

/** One process, always the leader (embedded mode). */
export class SoloLeadership implements Leadership {
  isLeader = false;

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.isLeader = true;
    onChange(true);
  }

  async stop(): Promise<void> {
    this.isLeader = false;
  }
}
