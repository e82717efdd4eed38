import type { FastifyInstance } from 'fastify';
import { DocketError } from '../../domain/errors.js';

/**
 * Deepest nesting of objects and arrays a request body may have (the body itself is level 1, so a
 * job's payload gets 99). Parsing, the prototype-poisoning scan and validation all recurse per
 * level: a body nested 5,000 levels overflowed the stack and answered 500 (issue 19). No API body
 * needs more than a handful of levels; 100 leaves payloads room.
 */
export const MAX_JSON_DEPTH = 100;

/** A body nested deeper than MAX_JSON_DEPTH; answered 400 (problem type `json-too-deep`). */
export class JsonTooDeepError extends DocketError {
  constructor(readonly limit: number) {
    super('json_too_deep', `the request body nests objects and arrays more than ${limit} levels deep; flatten it`);
  }
}

/** A body holding U+0000 (`\u0000` in a string): PostgreSQL stores no NUL in text or jsonb, so neither mode takes it. */
export class JsonNulError extends DocketError {
  constructor() {
    super('nul-character', 'the request body holds a NUL character (\\u0000), which Docket does not store; remove it');
  }
}

/**
 * What a body holds that no parser should see: nesting of `[` / `{` deeper than `limit` (brackets
 * inside strings not counted), or a `\u0000` escape in a string. One pass over the characters,
 * before anything recursive sees them; malformed JSON is left to the parser.
 */
export function scanJson(text: string, limit: number): 'too-deep' | 'nul' | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */ && text.slice(i + 2, i + 6) === '0000') return 'nul';
        i++;
      } else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return 'too-deep';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return null;
}

/**
 * The one body parser of the API: JSON only (any other media type, text/plain included, gets 415),
 * depth-limited, refusing `__proto__` / `constructor` poisoning. Many clients send
 * content-type: application/json on a POST without a body (cancel): that reads as no body, and
 * where a body is required validation answers 400 naming it.
 */
export function installJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text === '') return done(null, undefined);
    const found = scanJson(text, MAX_JSON_DEPTH);
    if (found === 'too-deep') return done(new JsonTooDeepError(MAX_JSON_DEPTH), undefined);
    if (found === 'nul') return done(new JsonNulError(), undefined);
    return parseJson(request, text, done);
  });
}
