import { Queue } from 'bullmq';
import { DomainEvents } from '../../common/events/domain-events';
import { OutboxBacklog } from '../../database/outbox/outbox-backlog';
import { MetricName, PrometheusMetricsService, stagesReached, TWILIO_WEBHOOK_TIMEOUT_SECONDS } from './prometheus-metrics.service';

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

describe('webhook handling time', () => {
  const metrics = new PrometheusMetricsService(new DomainEvents(), { count: async () => 0 } as unknown as OutboxBacklog, { name: 'whatsapp' } as unknown as Queue);
  const gauge = async (kind: string) => (await metrics.registry.getSingleMetric(MetricName.WebhookConsecutiveTimeouts)!.get()).values.find((v) => v.labels.kind === kind)?.value;
  const slow = TWILIO_WEBHOOK_TIMEOUT_SECONDS + 0.5;

  it('counts webhooks answered after Twilio gave up, in a row per kind, and a timely answer resets the count', async () => {
    expect(await gauge('status')).toBe(0);
    for (let i = 0; i < 4; i++) metrics.observeHttp('POST', '/api/v1/whatsapp/status', 200, slow);
    metrics.observeHttp('POST', '/api/v1/whatsapp/webhook', 200, slow);
    expect([await gauge('status'), await gauge('inbound')]).toEqual([4, 1]);
    metrics.observeHttp('POST', '/api/v1/whatsapp/status', 200, 0.02);
    expect([await gauge('status'), await gauge('inbound')]).toEqual([0, 1]);
  });

  it('leaves other routes and unsigned GET probes out', async () => {
    metrics.observeHttp('GET', '/api/v1/whatsapp/status', 403, slow);
    metrics.observeHttp('POST', '/api/v1/whatsapp/send', 202, slow);
    const durations = (await metrics.registry.getSingleMetric(MetricName.WebhookDuration)!.get()).values;
    const count = (kind: string) => durations.find((v) => (v as { metricName?: string }).metricName === `${MetricName.WebhookDuration}_count` && v.labels.kind === kind)?.value;
    expect([count('status'), count('inbound'), await gauge('status')]).toEqual([5, 1, 0]);
  });
});
