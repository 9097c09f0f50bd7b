import { stagesReached } from './prometheus-metrics.service';

describe('stagesReached', () => {
  it.each([
    ['queued', 'sent', ['sent']],
    ['queued', 'sending', []],
    ['sent', 'delivered', ['delivered']],
    ['delivered', 'read', ['read']],
    ['queued', 'read', ['sent', 'delivered', 'read']], // callbacks lost or late: read proves the rest
    ['accepted', 'delivered', ['sent', 'delivered']],
    ['partially_delivered', 'delivered', ['delivered']],
    ['sent', 'failed', ['failed']],
    ['queued', 'undelivered', ['failed']],
    ['failed', 'undelivered', []],
    ['queued', 'canceled', []],
  ])('%s -> %s reaches %j', (previous, current, stages) => {
    expect(stagesReached(previous, current)).toEqual(stages);
  });
});
