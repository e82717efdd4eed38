/** The public API of the `docket` package. */
export { openEmbedded, Docket, type EmbeddedOptions } from './app/docket.js';
export { resolveConfig, type DocketConfig } from './app/config.js';
export { JobService, type ClaimOptions, type SubmitContext } from './services/job-service.js';
export { Worker, type Handler, type HandlerContext, type WorkerOptions } from './sdk/worker.js';
export { LocalTransport } from './sdk/local-transport.js';
export { HttpTransport } from './sdk/http-transport.js';
export { DocketClient, DocketApiError } from './sdk/client.js';
export { PermanentError, TransientError, TimeoutError, CancelledError, LeaseLostError, ShutdownError } from './sdk/errors.js';
export type { ClaimedJob, WorkerTransport } from './sdk/transport.js';
export type { Job, Json, JobError, JobProgress } from './domain/job.js';
export type { JobInput } from './domain/job-input.js';
export type { JobState } from './domain/states.js';
export type { Backoff } from './domain/backoff.js';
