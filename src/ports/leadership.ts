/**
 * Who runs the cluster-wide duties (promoting delayed jobs, expiring, reaping leases, marking lost
 * workers, repairing the dispatch index). Those duties are guarded writes and safe to run twice;
 * one leader keeps the work from being done N times over.
 */
export interface Leadership {
  /** Starts campaigning; `onChange(true)` when this process becomes leader, `onChange(false)` when it no longer is. */
  start(onChange: (leader: boolean) => void): Promise<void>;
  readonly isLeader: boolean;
  /** Steps down (releasing leadership at once for the next one) and stops campaigning. */
  stop(): Promise<void>;
}
