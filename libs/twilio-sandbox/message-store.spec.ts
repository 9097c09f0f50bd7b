import { MessageStore } from './message-store';
import { MessageChannel, SandboxMessage, TwilioMessageDirection, TwilioMessageStatus } from './sandbox.types';
import { toRfc2822 } from './twilio-format';

function message(sid: string, to: string, sentAt: Date | null): SandboxMessage {
  return {
    sid,
    channel: MessageChannel.WhatsApp,
    statusCallback: null,
    contentSid: null,
    contentVariables: null,
    mediaUrls: [],
    statusHistory: [],
    resource: {
      account_sid: 'AC00000000000000000000000000000000',
      api_version: '2010-04-01',
      body: sid,
      date_created: toRfc2822(new Date()),
      date_sent: sentAt ? toRfc2822(sentAt) : null,
      date_updated: toRfc2822(new Date()),
      direction: TwilioMessageDirection.OutboundApi,
      error_code: null,
      error_message: null,
      from: 'whatsapp:+14155238886',
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: TwilioMessageStatus.Sent,
      subresource_uris: { media: '', feedback: '' },
      to,
      uri: '',
    },
  };
}

describe('MessageStore', () => {
  const store = new MessageStore();
  const day1 = new Date(Date.UTC(2026, 0, 1, 10));
  const day2 = new Date(Date.UTC(2026, 0, 2, 10));

  beforeAll(() => {
    store.add(message('SM1', 'whatsapp:+1555', day1));
    store.add(message('SM2', 'whatsapp:+1555', day2));
    store.add(message('SM3', 'whatsapp:+1666', day2));
    store.add(message('SM4', 'whatsapp:+1555', null));
  });

  const sids = (page: { messages: SandboxMessage[] }) => page.messages.map((item) => item.sid);

  it('lists newest first and pages with after/before tokens', () => {
    const first = store.list({ pageSize: 2, page: 0 });
    expect(sids(first)).toEqual(['SM4', 'SM3']);
    expect(first.nextPageToken).toBe('PASM3');
    expect(first.previousPageToken).toBeNull();
    const second = store.list({ pageSize: 2, page: 1, pageToken: first.nextPageToken! });
    expect(sids(second)).toEqual(['SM2', 'SM1']);
    expect(second.nextPageToken).toBeNull();
    expect(second.previousPageToken).toBe('PBSM2');
    expect(sids(store.list({ pageSize: 2, page: 0, pageToken: second.previousPageToken! }))).toEqual(['SM4', 'SM3']);
  });

  it('keeps paging stable when messages arrive between pages', () => {
    const local = new MessageStore();
    ['SMa', 'SMb', 'SMc'].forEach((sid) => local.add(message(sid, 'whatsapp:+1', day1)));
    const first = local.list({ pageSize: 2, page: 0 });
    local.add(message('SMd', 'whatsapp:+1', day1));
    expect(sids(local.list({ pageSize: 2, page: 1, pageToken: first.nextPageToken! }))).toEqual(['SMa']);
  });

  it('filters by To and by sent date (day, on-or-before, on-or-after), skipping unsent messages', () => {
    expect(sids(store.list({ pageSize: 50, page: 0, to: 'whatsapp:+1555' }))).toEqual(['SM4', 'SM2', 'SM1']);
    expect(sids(store.list({ pageSize: 50, page: 0, dateSent: '2026-01-02' }))).toEqual(['SM3', 'SM2']);
    expect(sids(store.list({ pageSize: 50, page: 0, dateSent: '2026-01-02T23:59:00Z' }))).toEqual(['SM3', 'SM2']);
    expect(sids(store.list({ pageSize: 50, page: 0, dateSentBefore: '2026-01-01' }))).toEqual(['SM1']);
    expect(sids(store.list({ pageSize: 50, page: 0, dateSentAfter: '2026-01-02' }))).toEqual(['SM3', 'SM2']);
    expect(sids(store.list({ pageSize: 50, page: 0, dateSentAfter: '2026-01-02T12:00:00Z' }))).toEqual([]);
  });

  it('moves its revision on every add, in-place change, delete and clear, and only then', () => {
    const local = new MessageStore();
    const seen = [local.revision];
    local.add(message('SMx', 'whatsapp:+1', day1));
    seen.push(local.revision);
    local.markChanged();
    seen.push(local.revision);
    local.list({ pageSize: 50, page: 0 });
    local.get('SMx');
    local.delete('SMunknown');
    expect(local.revision).toBe(seen[seen.length - 1]);
    local.delete('SMx');
    seen.push(local.revision);
    local.clear();
    seen.push(local.revision);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
