import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { ConflictError, DocketError, ForbiddenError, IdempotencyConflictError, NotFoundError, PayloadTooLargeError, ValidationError, type Issue } from '../../domain/errors.js';
import { NAME_PATTERN } from '../../domain/job-input.js';
import { describeFailure, type TransitionFailure } from '../../domain/outcomes.js';
import { noteFailure } from './failed-requests.js';
import { sendIfOutage } from './outage-reply.js';

/**
 * RFC 9457 problem details for every error the API returns. Bad input of any kind is a 4xx that
 * names the offending field; a 500 means a bug in Docket, and its detail says nothing internal.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: Issue[];
  /** For a 409 about a job: the state it is in now (so a worker need not read it back). */
  state?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A guarded move that did not apply (stale lease, job already finished, unknown id). */
export class TransitionRejected extends Error {
  readonly status: number;
  constructor(
    readonly jobId: string,
    readonly failure: TransitionFailure,
  ) {
    super(describeFailure(jobId, failure));
    this.status = failure.reason === 'not_found' ? 404 : 409;
  }
}

/** Throws TransitionRejected when the move did not apply; returns the job otherwise. */
export function applied<T extends { ok: boolean }>(id: string, result: T): Extract<T, { ok: true }> {
  if (!result.ok) throw new TransitionRejected(id, result as unknown as TransitionFailure);
  return result as Extract<T, { ok: true }>;
}

export function installProblemHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    // An engine outage is a 503 with Retry-After, not a 500 (outage-reply.ts).
    const outage = sendIfOutage(error, request, reply);
    if (outage) return outage;
    const problem = toProblem(error, request);
    if (problem.status >= 500) noteFailure(request, { err: error });
    return sendProblem(reply, problem);
  });
  // Unknown routes (404, 405) and the router's own refusals: framework-errors.ts.
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status >= 500) noteFailure(reply.request, { detail: problem.detail });
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

function toProblem(error: FastifyError | Error, request: FastifyRequest): Problem {
  const fe = error as FastifyError & { validation?: { instancePath: string; message?: string }[]; validationContext?: string };
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({ path: v.instancePath, message: v.message ?? 'invalid' }));
    const where = fe.validationContext === 'body' ? 'request body' : (fe.validationContext ?? 'request');
    return problemOf(request, 400, 'invalid-input', 'Invalid input', `invalid ${where}: ${summary(errors)}`, errors);
  }
  if (error instanceof ValidationError) return problemOf(request, 400, 'invalid-input', 'Invalid input', error.message, error.issues);
  if (error instanceof PayloadTooLargeError) {
    return problemOf(request, 413, 'payload-too-large', 'Payload Too Large', error.message, [{ path: error.path, message: `over the limit of ${error.limit} bytes` }]);
  }
  if (error instanceof NotFoundError) return problemOf(request, 404, 'not-found', 'Not Found', error.message);
  if (error instanceof ForbiddenError) return problemOf(request, 403, 'forbidden', 'Forbidden', error.message);
  if (error instanceof ConflictError) return problemOf(request, 409, error.code.replace(/_/g, '-'), 'Conflict', error.message, error.issues);
  if (error instanceof IdempotencyConflictError) return problemOf(request, 422, 'idempotency-key-reused', 'Unprocessable Content', error.message);
  if (error instanceof TransitionRejected) {
    const slug = error.status === 404 ? 'not-found' : error.failure.reason.replace(/_/g, '-');
    const problem = problemOf(request, error.status, slug, error.status === 404 ? 'Not Found' : 'Conflict', error.message);
    if ('state' in error.failure) problem.state = error.failure.state;
    return problem;
  }
  if (error instanceof DocketError) return problemOf(request, 400, error.code.replace(/_/g, '-'), 'Bad Request', error.message);
  // Fastify's own client errors: malformed JSON, body too large, unsupported media type...
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const known = FASTIFY_CODES[fe.code ?? ''];
    return problemOf(request, status, known?.slug ?? 'bad-request', known?.title ?? 'Bad Request', clientDetail(fe, request));
  }
  return problemOf(request, 500, 'internal', 'Internal Server Error', 'the server failed to handle the request; see its log');
}

const FASTIFY_CODES: Record<string, { slug: string; title: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { slug: 'malformed-json', title: 'Malformed JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'malformed-json', title: 'Malformed JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'payload-too-large', title: 'Payload Too Large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported Media Type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { slug: 'bad-request', title: 'Bad Request' },
};

function clientDetail(fe: FastifyError, request: FastifyRequest): string {
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `request body over the limit of ${request.routeOptions.bodyLimit} bytes`;
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return `content-type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json`;
  return fe.message;
}

export function problemOf(request: FastifyRequest, status: number, slug: string, title: string, detail: string, errors?: Issue[]): Problem {
  const problem: Problem = { type: `urn:docket:problem:${slug}`, title, status, detail, instance: request.url.split('?')[0] ?? request.url };
  if (errors && errors.length > 0) problem.errors = errors;
  return problem;
}

function summary(errors: Issue[]): string {
  const shown = errors.slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  return shown.join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : '');
}

/**
 * Validates request parts with TypeBox, the engine the domain uses for job input, so the HTTP layer
 * and the service give the same answer. Fastify's default Ajv setup would silently drop unknown
 * fields (removeAdditional) and coerce body types ("5" -> 5); here bodies are checked as sent, and
 * only the querystring and path params (text by nature) are converted to their declared types.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params';
  return (input: unknown) => {
    const value = convert ? Value.Convert(schema, input) : input;
    if (check.Check(value)) return { value };
    return { error: issuesOf([...check.Errors(value)]).map((i) => ({ instancePath: i.path, message: i.message })) as never };
  };
};

/** One issue per failing field, with a message a person can act on. */
export function issuesOf(errors: ValueError[]): Issue[] {
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const e of errors.flatMap(narrow)) {
    if (seen.has(e.path)) continue; // several rules on one field: the first says enough
    seen.add(e.path);
    out.push({ path: e.path, message: explain(e) });
  }
  return out;
}

/**
 * A union (backoff, state) reports one vague error. For literal unions say which values are
 * allowed; otherwise report the errors of the variant that came closest (fewest errors).
 */
function narrow(e: ValueError): ValueError[] {
  if (e.errors.length === 0) return [e];
  const variants = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? [];
  if (variants.length > 0 && variants.every((v) => v.const !== undefined)) {
    return [{ ...e, message: `must be one of ${variants.map((v) => JSON.stringify(v.const)).join(', ')}` }];
  }
  const lists = e.errors.map((it) => [...it]);
  const best = lists.reduce((a, b) => (b.length < a.length ? b : a));
  return best.length === 0 ? [e] : best.flatMap(narrow);
}

function explain(e: ValueError): string {
  const schema = e.schema as { minimum?: number; maximum?: number; type?: string; pattern?: string; description?: string; patternProperties?: object };
  const got = e.value === undefined ? '' : ` (got ${(JSON.stringify(e.value) ?? String(e.value)).slice(0, 80)})`;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      // A Record with typed keys (labels) reports a bad key this way too.
      return schema.patternProperties ? `"${e.path.split('/').pop()}" is not a valid key (${NAME_RULE})` : 'unknown field';
    case ValueErrorType.ObjectRequiredProperty:
      return 'required';
    case ValueErrorType.StringFormat:
      return `"${String(e.value)}" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z`;
    case ValueErrorType.StringPattern:
      return schema.pattern === NAME_PATTERN ? `"${String(e.value)}" is not a valid name (${NAME_RULE})` : `"${String(e.value)}" is not valid: ${schema.description ?? `must match ${schema.pattern}`} (${NAME_RULE})`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.Integer:
      if (schema.minimum !== undefined && schema.maximum !== undefined) {
        return `must be ${schema.type === 'integer' ? 'a whole number' : 'a number'} from ${schema.minimum} to ${schema.maximum}${got}`;
      }
      return `${e.message}${got}`;
    default:
      return `${e.message}${got}`;
  }
}

const NAME_RULE = 'letters, digits and _ . : -, up to 128, starting with a letter or digit';
