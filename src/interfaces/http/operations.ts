/**
 * The name and one-line summary of every operation in /openapi.json, by method and path: what
 * generated clients name their methods after (`client.submitJob(...)`) and what API browsers list.
 * One table, so names stay consistent (verb + noun, camelCase, as the CLI says them); a route added
 * without an entry fails test/openapi-operations.test.ts. A route may declare its own
 * `operationId` and `summary` in its schema; those win.
 */
export const OPERATIONS: Record<string, [operationId: string, summary: string]> = {
  'GET /healthz': ['getHealth', 'Liveness: the process answers'],
  'GET /readyz': ['getReadiness', 'Readiness: the engines answer and the node can take traffic'],

  'POST /v1/jobs': ['submitJob', 'Submit a job'],
  'GET /v1/jobs': ['listJobs', 'List jobs, newest first'],
  'POST /v1/jobs/bulk': ['submitJobs', 'Submit up to 1000 jobs, all or none'],
  'GET /v1/jobs/{id}': ['getJob', 'Get a job'],
  'POST /v1/jobs/{id}/cancel': ['cancelJob', 'Cancel a job that has not finished'],
  'POST /v1/jobs/{id}/resubmit': ['resubmitJob', 'Submit a finished job again as a new job'],
  'GET /v1/jobs/{id}/progress': ['getJobProgress', "Get a job's state and progress"],
  'POST /v1/jobs/{id}/progress': ['reportJobProgress', 'Worker: report the progress of a claimed job'],
  'GET /v1/jobs/{id}/dependencies': ['getJobDependencies', "Get a job's dependencies and dependents"],
  'POST /v1/jobs/{id}/complete': ['completeJob', 'Worker: complete a claimed job with its result'],
  'POST /v1/jobs/{id}/fail': ['failJob', 'Worker: fail the attempt of a claimed job'],
  'POST /v1/jobs/{id}/release': ['releaseJob', 'Worker: give a claimed job back without counting the attempt'],
  'POST /v1/jobs/{id}/retry': ['retryJob', 'Retry a failed job in place (same id, a fresh attempt budget)'],
  'POST /v1/jobs/actions': ['actOnJobs', 'Cancel, retry or delete many jobs by id or filter (dry run counts them)'],
  'GET /v1/jobs/{id}/logs': ['getJobLogs', "Read a job's log lines"],
  'POST /v1/jobs/{id}/logs': ['appendJobLogs', "Worker: send a claimed job's log lines"],
  'GET /v1/jobs/{id}/logs/stream': ['streamJobLogs', "Follow a job's log lines (server-sent events)"],

  'GET /v1/queues': ['listQueues', 'List queues with job counts per state'],
  'GET /v1/queues/stats': ['getQueueStats', 'Queue statistics: throughput, wait and run times'],
  'POST /v1/queues/{queue}/pause': ['pauseQueue', 'Pause a queue: no job is handed out'],
  'POST /v1/queues/{queue}/resume': ['resumeQueue', 'Resume a paused queue'],
  'POST /v1/queues/{queue}/claim': ['claimJobs', 'Worker: claim ready jobs of a queue (long poll)'],
  'POST /v1/claims': ['claimJobsOfQueues', 'Worker: claim ready jobs of any number of queues named in the body (long poll)'],

  'GET /v1/dead-letters': ['listDeadLetters', 'List failed jobs, newest first'],
  'GET /v1/dead-letters/{id}': ['getDeadLetter', 'Get a failed job with its error history'],
  'POST /v1/dead-letters/requeue': ['requeueDeadLetters', 'Requeue failed jobs with a fresh attempt budget'],
  'POST /v1/dead-letters/purge': ['purgeDeadLetters', 'Delete failed jobs for good'],

  'GET /v1/conditions': ['listConditions', 'List open recovery conditions'],
  'GET /v1/conditions/{key}': ['getCondition', 'Get a recovery condition'],
  'POST /v1/conditions/{key}/release': ['releaseCondition', 'Declare a condition cleared: release its parked jobs at the throttled rate'],
  'POST /v1/conditions/{key}/drain': ['drainCondition', "Send a condition's parked jobs back to the queue at once"],
  'POST /v1/conditions/{key}/fail': ['failCondition', "Fail a condition's parked jobs"],

  'POST /v1/workers': ['registerWorker', 'Worker: register'],
  'GET /v1/workers': ['listWorkers', 'List remote workers'],
  'DELETE /v1/workers/{id}': ['deregisterWorker', 'Worker: deregister'],
  'POST /v1/workers/{id}/heartbeat': ['heartbeatWorker', 'Worker: heartbeat, extending the leases of its jobs'],

  'POST /v1/schedules': ['createSchedule', 'Create a cron schedule'],
  'GET /v1/schedules': ['listSchedules', 'List schedules'],
  'POST /v1/schedules/preview': ['previewSchedule', 'Preview the fire times of a cron expression'],
  'GET /v1/schedules/{id}': ['getSchedule', 'Get a schedule with its next fire times'],
  'PATCH /v1/schedules/{id}': ['updateSchedule', 'Update a schedule'],
  'DELETE /v1/schedules/{id}': ['deleteSchedule', 'Delete a schedule'],
  'POST /v1/schedules/{id}/pause': ['pauseSchedule', 'Pause a schedule'],
  'POST /v1/schedules/{id}/resume': ['resumeSchedule', 'Resume a schedule'],
  'GET /v1/schedules/{id}/fires': ['listScheduleFires', 'List the latest fires of a schedule'],

  'POST /v1/events': ['submitEvent', 'Submit a CloudEvent to the ingest rules (501 without rules)'],
  'GET /v1/events/stream': ['streamEvents', 'Stream job events (server-sent events)'],

  'GET /v1/templates': ['listTemplates', 'List job templates'],
  'POST /v1/templates': ['createTemplate', 'Create a job template'],
  'GET /v1/templates/{id}': ['getTemplate', 'Get a template with its latest version'],
  'DELETE /v1/templates/{id}': ['deleteTemplate', 'Delete a template no job was created from'],
  'GET /v1/templates/{id}/versions/{version}': ['getTemplateVersion', 'Get one version of a template'],
  'POST /v1/templates/{id}/versions': ['addTemplateVersion', 'Add the next version of a template'],
  'POST /v1/templates/{id}/retire': ['retireTemplate', 'Retire a template'],

  'POST /v1/webhooks': ['createWebhook', 'Subscribe a URL to job events'],
  'GET /v1/webhooks': ['listWebhooks', 'List webhook subscriptions'],
  'GET /v1/webhooks/callback-secret': ['getCallbackSecret', "Get the tenant's job-callback signing secret"],
  'POST /v1/webhooks/callback-secret/rotate': ['rotateCallbackSecret', "Rotate the tenant's job-callback signing secret"],
  'GET /v1/webhooks/{id}': ['getWebhook', 'Get a webhook subscription'],
  'PATCH /v1/webhooks/{id}': ['updateWebhook', 'Update a webhook subscription'],
  'DELETE /v1/webhooks/{id}': ['deleteWebhook', 'Delete a webhook subscription'],
  'POST /v1/webhooks/{id}/enable': ['enableWebhook', 'Enable a disabled webhook subscription'],
  'POST /v1/webhooks/{id}/rotate-secret': ['rotateWebhookSecret', "Rotate a subscription's signing secret"],
  'POST /v1/webhooks/{id}/test': ['testWebhook', 'Send a signed ping to a subscription'],
  'GET /v1/webhooks/{id}/deliveries': ['listWebhookDeliveries', "List a subscription's deliveries"],

  'GET /v1/alerts': ['listAlerts', 'List alerts, newest first'],
};

/** The document's tags, in the order API browsers show them. */
export const TAGS = [
  { name: 'jobs', description: 'submit, read, list and cancel jobs; workers report outcomes here too' },
  { name: 'queues', description: 'queue depths, pause and resume; workers claim jobs here' },
  { name: 'workers', description: 'register remote workers and keep them alive' },
  { name: 'claims', description: 'workers claim jobs of many queues at once' },
  { name: 'dead-letters', description: 'failed jobs: inspect, requeue, purge' },
  { name: 'conditions', description: 'recovery conditions that park jobs while a dependency is down' },
  { name: 'schedules', description: 'cron schedules' },
  { name: 'templates', description: 'named, versioned job defaults' },
  { name: 'events', description: 'business events in (ingest rules) and job events out (SSE)' },
  { name: 'webhooks', description: 'signed HTTP deliveries of job events' },
  { name: 'alerts', description: 'alerts raised by the alert rules' },
  { name: 'health', description: 'probes for load balancers; no token needed' },
];
