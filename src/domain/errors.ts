/** Typed errors. Interfaces map them to HTTP problem+json responses and CLI exit codes. */

export interface Issue {
  /** JSON-pointer-like path of the offending field, e.g. `/priority` or `/jobs/3/timeoutMs`. */
  path: string;
  message: string;
}

export class DocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule: says which fields and why. Nothing was written. */
export class ValidationError extends DocketError {
  constructor(readonly issues: Issue[]) {
    super('invalid_input', issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; '));
  }
}

export class PayloadTooLargeError extends DocketError {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('payload_too_large', `${path}: ${size} bytes of JSON, over the limit of ${limit} bytes`);
  }
}

export class NotFoundError extends DocketError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${id} not found`);
  }
}

/** An Idempotency-Key reused with a different request body. */
export class IdempotencyConflictError extends DocketError {
  constructor(readonly key: string) {
    super('idempotency_key_reused', `Idempotency-Key "${key}" was already used with a different request body; use a new key for a new request`);
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends DocketError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/**
 * The request is valid but the resource's state refuses it (a retired template, a template still in
 * use): HTTP 409. `issues` name the request fields concerned, when there are any.
 */
export class ConflictError extends DocketError {
  constructor(
    code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(code, message);
  }
}
