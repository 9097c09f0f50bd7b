import { MESSAGE_STATUSES, MessageStatus as S } from '../message-status';
import { decideTransition, isFinalStatus, STATUS_TABLE, StatusKind } from './status-transitions';

// Columns of the matrix below, in this order.
const INCOMING: S[] = [S.Queued, S.Accepted, S.Scheduled, S.Sending, S.Sent, S.PartiallyDelivered, S.Delivered, S.Read, S.Failed, S.Undelivered, S.Canceled, S.Receiving, S.Received];
const ABBR: Record<string, S> = { q: S.Queued, a: S.Accepted, sc: S.Scheduled, sg: S.Sending, s: S.Sent, pd: S.PartiallyDelivered, d: S.Delivered, r: S.Read, f: S.Failed, u: S.Undelivered, c: S.Canceled, rc: S.Receiving, rd: S.Received };

/**
 * Expected status after each (current, incoming) pair. '.' = unchanged.
 * Written out by hand from the rules, so a change to the table has to be a deliberate change here.
 */
const EXPECTED: Record<string, string> = {
  //              q  a  sc  sg  s   pd  d  r  f  u  c  rc rd
  [S.Queued]:    '.  .  .   sg  s   pd  d  r  f  u  c  .  .',
  [S.Accepted]:  '.  .  .   sg  s   pd  d  r  f  u  c  .  .',
  [S.Scheduled]: '.  .  .   sg  s   pd  d  r  f  u  c  .  .',
  [S.Sending]:   '.  .  .   .   s   pd  d  r  f  u  .  .  .',
  [S.Sent]:      '.  .  .   .   .   pd  d  r  f  u  .  .  .',
  [S.PartiallyDelivered]: '.  .  .   .   .   .   d  r  .  .  .  .  .',
  [S.Delivered]: '.  .  .   .   .   .   .  r  .  .  .  .  .',
  [S.Read]:      '.  .  .   .   .   .   .  .  .  .  .  .  .',
  [S.Failed]:    '.  .  .   .   .   .   .  .  .  .  .  .  .',
  [S.Undelivered]: '.  .  .   .   .   .   .  .  .  .  .  .  .',
  [S.Canceled]:  '.  .  .   .   .   .   .  .  .  .  .  .  .',
  [S.Receiving]: 'q  a  sc  sg  s   pd  d  r  f  u  .  .  rd',
  [S.Received]:  '.  .  .   sg  s   pd  d  r  f  u  .  .  .',
};

describe('decideTransition', () => {
  it('has an expectation for every status', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...MESSAGE_STATUSES].sort());
  });

  const pairs = MESSAGE_STATUSES.flatMap((current) => INCOMING.map((incoming, col) => ({ current, incoming, col })));
  it.each(pairs)('$current + $incoming', ({ current, incoming, col }) => {
    const cell = EXPECTED[current].trim().split(/\s+/)[col];
    const expected = cell === '.' ? current : ABBR[cell];
    const d = decideTransition(current, incoming);
    expect(d.status).toBe(expected);
    expect(d.statusChanged).toBe(expected !== current);
  });

  it('never moves a progress status backwards and never revives a final one', () => {
    for (const current of MESSAGE_STATUSES) {
      for (const incoming of MESSAGE_STATUSES) {
        const d = decideTransition(current, incoming);
        if (STATUS_TABLE[current].kind !== StatusKind.Progress) expect(d.status).toBe(current);
        if (d.statusChanged && STATUS_TABLE[incoming].kind === StatusKind.Progress) {
          expect(STATUS_TABLE[incoming].rank).toBeGreaterThan(STATUS_TABLE[current].rank);
        }
      }
    }
  });

  it('read before delivered also marks delivered as reached, and a delivery the send', () => {
    expect(decideTransition(S.Sent, S.Read).reached).toEqual([S.Sent, S.Delivered, S.Read]);
    expect(decideTransition(S.Queued, S.Delivered).reached).toEqual([S.Sent, S.Delivered]);
    expect(decideTransition(S.Queued, S.PartiallyDelivered).reached).toEqual([S.Sent, S.PartiallyDelivered]);
    expect(decideTransition(S.Queued, S.Sent).reached).toEqual([S.Sent]);
  });

  it('a late sent after delivered still records when it was sent', () => {
    expect(decideTransition(S.Delivered, S.Sent)).toEqual({ status: S.Delivered, statusChanged: false, reached: [S.Sent] });
  });

  it('a late sent after failed records the send time but keeps the failure', () => {
    expect(decideTransition(S.Failed, S.Sent)).toEqual({ status: S.Failed, statusChanged: false, reached: [S.Sent] });
    expect(decideTransition(S.Undelivered, S.Delivered).reached).toEqual([]);
  });

  it('a late failure after delivery leaves no trace on the message', () => {
    expect(decideTransition(S.Delivered, S.Failed)).toEqual({ status: S.Delivered, statusChanged: false, reached: [] });
    expect(decideTransition(S.Read, S.Undelivered).reached).toEqual([]);
  });

  it('knows which statuses are final', () => {
    expect(MESSAGE_STATUSES.filter(isFinalStatus).sort()).toEqual([S.Canceled, S.Failed, S.Read, S.Undelivered].sort());
  });
});
