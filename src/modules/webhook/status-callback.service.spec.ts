import { statusTime } from './status-callback.service';

describe('statusTime (RawDlrDoneDate)', () => {
  const received = new Date('2026-11-28T15:04:42.123Z');

  it('uses the arrival time when the delivery report agrees with it (same minute)', () => {
    expect(statusTime('delivered', '2611281504', received)).toBe(received);
  });

  it('uses the delivery report time when the callback arrived late', () => {
    expect(statusTime('delivered', '2611281458', received)).toEqual(new Date('2026-11-28T14:58:00Z'));
    expect(statusTime('undelivered', '2611271200', received)).toEqual(new Date('2026-11-27T12:00:00Z'));
  });

  it('ignores it for statuses it does not describe, and when malformed', () => {
    expect(statusTime('read', '2611281458', received)).toBe(received);
    expect(statusTime('delivered', 'garbage', received)).toBe(received);
    expect(statusTime('delivered', '2613991458', received)).toBe(received);
    expect(statusTime('delivered', undefined, received)).toBe(received);
  });
});
