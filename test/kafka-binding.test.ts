// A Kafka record read as a CloudEvent (CloudEvents Kafka protocol binding 1.0, docs/ingestion.md):
// binary mode (ce_ headers, the value is the data) and structured mode (the value is the event).
// What an operator sees: the event the rules get, or the issues the dead-letter record names.
import { describe, expect, it } from 'vitest';
import { cloudEventOfRecord } from '../src/domain/ingest/kafka-binding.js';

const receivedAt = '2026-12-07T12:00:00.000Z';
const ce = (extra: Record<string, string> = {}) =>
  new Map(Object.entries({ ce_specversion: '1.0', ce_id: 'e1', ce_source: '/shop', ce_type: 'order.placed', ce_tenant: 'acme', ...extra }));
const read = (value: string | null, headers: Map<string, string>) => cloudEventOfRecord(value, headers, receivedAt);

describe('binary mode', () => {
  it('attributes come from ce_ headers, whatever their case; ce_linkid is linkId; the time defaults to the receipt', () => {
    const r = read('{"orderId":7}', new Map(Object.entries({ CE_SpecVersion: '1.0', ce_ID: 'e1', ce_source: '/shop', ce_type: 'order.placed', ce_tenant: 'acme', ce_linkid: 'L1', other: 'x' })));
    expect(r).toEqual({ ok: true, event: expect.objectContaining({ specversion: '1.0', id: 'e1', source: '/shop', type: 'order.placed', tenant: 'acme', linkId: 'L1', time: receivedAt, data: { orderId: 7 } }) });
    expect(r.ok && 'other' in r.event).toBe(false);
  });

  it('a null value is null data', () => {
    const r = read(null, ce());
    expect(r.ok && r.event.data).toBe(null);
  });

  it('JSON content types are parsed (application/json, +json suffixes, text/json); the content type is datacontenttype', () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/vnd.shop+json', 'text/json']) {
      const r = read('{"a":[1,2]}', ce({ 'content-type': type }));
      expect(r.ok && r.event, type).toMatchObject({ datacontenttype: type, data: { a: [1, 2] } });
    }
  });

  it('another content type keeps the value as text', () => {
    const r = read('{"a":1}', ce({ 'content-type': 'text/plain' }));
    expect(r.ok && r.event).toMatchObject({ datacontenttype: 'text/plain', data: '{"a":1}' });
  });

  it('a value that is not JSON though its content type says so: an issue at /data naming the content type', () => {
    const r = read('not json', ce({ 'content-type': 'application/json' }));
    expect(r).toEqual({ ok: false, tenant: 'acme', issues: [{ path: '/data', message: expect.stringMatching(/^the value is not JSON \(.+\) though its content type is application\/json$/) }] });
    const unset = read('not json', ce());
    expect(!unset.ok && unset.issues[0]!.message).toMatch(/though its content type is not set \(JSON is assumed\)$/);
  });

  it('a data problem is reported with the attributes\' issues, and the tenant is kept for the dead letter', () => {
    const headers = ce({ 'content-type': 'application/json' });
    headers.delete('ce_id');
    const r = read('{', headers);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.tenant).toBe('acme');
    expect(r.issues.map((i) => i.path)).toEqual(['/data', '/id']);
  });
});

describe('structured mode', () => {
  it('the value is the whole event', () => {
    const value = JSON.stringify({ specversion: '1.0', id: 'e2', source: '/shop', type: 'order.paid', tenant: 'acme', data: { n: 1 } });
    expect(read(value, new Map([['content-type', 'application/cloudevents+json']]))).toEqual({ ok: true, event: expect.objectContaining({ id: 'e2', tenant: 'acme', data: { n: 1 } }) });
  });

  it('no value and no ce_specversion header: refused, saying it is neither mode', () => {
    expect(read(null, new Map())).toEqual({ ok: false, tenant: null, issues: [{ path: '', message: expect.stringMatching(/no value .*not a binary-mode event/) }] });
  });

  it('a value that is not JSON: refused, saying it is neither a structured- nor a binary-mode event', () => {
    const r = read('hello', new Map());
    expect(r).toEqual({ ok: false, tenant: null, issues: [{ path: '', message: expect.stringMatching(/^the value is not JSON \(.+\) and the record has no ce_specversion header/) }] });
  });
});
