// A broker restart can leave the idempotent producer's sequence out of order; the broker then
// refuses every send of that producer id (OUT_OF_ORDER_SEQUENCE_NUMBER, canRetry false), and a
// relay that kept the producer stalled for good (seen in the chaos suite). The bus renews its
// producer on exactly these errors: this is the classifier it uses, on the error shape the client
// raised there (nested AggregateErrors), and on errors that must not renew it.
import { describe, expect, it } from 'vitest';
import { producerStateLost } from '../src/adapters/kafka/kafka-event-bus.js';

const protocolError = (apiId: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error('broker refused'), { apiId, code: 'PLT_KFK_PROTOCOL', canRetry: false, producerFenced: false, ...extra });
const aggregate = (...errors: Error[]) => Object.assign(new AggregateError(errors, 'multiple errors'), { aggregateErrors: errors });

describe('Kafka producer: when its idempotence state is lost', () => {
  it('recognises the out-of-order sequence the chaos run met, nested two AggregateErrors deep', () => {
    expect(producerStateLost(aggregate(aggregate(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER'))))).toBe(true);
    expect(producerStateLost(aggregate(protocolError('UNKNOWN_PRODUCER_ID')))).toBe(true);
    expect(producerStateLost(protocolError('SOME_ERROR', { producerFenced: true }))).toBe(true);
  });

  it('leaves the producer alone for errors a retry can get past', () => {
    expect(producerStateLost(aggregate(aggregate(protocolError('NOT_LEADER_OR_FOLLOWER'))))).toBe(false);
    expect(producerStateLost(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(producerStateLost(undefined)).toBe(false);
  });
});
