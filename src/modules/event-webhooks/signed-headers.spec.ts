import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signedHeaders } from './webhook-delivery.service';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('signedHeaders (Standard Webhooks)', () => {
  it('signs "id.timestamp.body" with HMAC-SHA256 of the base64 secret, and a receiver\'s library verifies it', () => {
    const body = JSON.stringify({ type: 'message.status', timestamp: '2026-11-29T10:00:00.000Z', data: { id: 'm1' } });
    const at = new Date();
    const headers = signedHeaders([SECRET], 'msg_1', at, body);
    const seconds = String(Math.floor(at.getTime() / 1000));
    const expected = createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64')).update(`msg_1.${seconds}.${body}`).digest('base64');
    expect(headers).toEqual({ 'webhook-id': 'msg_1', 'webhook-timestamp': seconds, 'webhook-signature': `v1,${expected}` });
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('does not verify with another secret or a changed body', () => {
    const body = '{"type":"message.inbound"}';
    const headers = signedHeaders([SECRET], 'msg_2', new Date(), body);
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(body, headers)).toThrow();
    expect(() => new Webhook(SECRET).verify('{"type":"message.status"}', headers)).toThrow();
  });

  it('signs once per secret after a rotation: a receiver with either secret verifies', () => {
    const rotated = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
    const body = '{"type":"message.status"}';
    const headers = signedHeaders([rotated, SECRET], 'msg_3', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(rotated).verify(body, headers)).toEqual({ type: 'message.status' });
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ type: 'message.status' });
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(body, headers)).toThrow();
  });
});
