import { LogSampler, truncateForLog } from './log-sampler';

describe('LogSampler', () => {
  it('lets the first lines of a window through and reports the rest with the next one', () => {
    let now = 0;
    const sampler = new LogSampler(2, 10_000, () => now);
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) sampler.log((l) => lines.push(l), `refused ${i}`);
    expect(lines).toEqual(['refused 0', 'refused 1']);
    now = 10_000;
    sampler.log((l) => lines.push(l), 'refused again');
    expect(lines[2]).toBe('refused again (998 similar lines left out in the last 10 s)');
  });
});

describe('truncateForLog', () => {
  it('keeps short text and cuts long text, saying by how much', () => {
    expect(truncateForLog('short')).toBe('short');
    expect(truncateForLog('x'.repeat(15_000), 100)).toBe(`${'x'.repeat(100)}…(+14900 chars)`);
  });
});
