import { ThrottledLog } from './throttled-log';

describe('ThrottledLog', () => {
  it('writes the first line, then one per interval carrying how many were left out', () => {
    const lines: string[] = [];
    let now = 1_000_000;
    const log = new ThrottledLog((line) => lines.push(line), 10_000, () => now);

    log.log('Redis is down');
    for (let i = 0; i < 500; i++) log.log('Redis is down');
    expect(lines).toEqual(['Redis is down']);

    now += 10_000;
    log.log('Redis is still down');
    expect(lines).toEqual(['Redis is down', 'Redis is still down (and 500 more like it in the last 10 s)']);

    now += 60_000;
    log.log('Redis is back?');
    expect(lines[2]).toBe('Redis is back?');
  });
});
