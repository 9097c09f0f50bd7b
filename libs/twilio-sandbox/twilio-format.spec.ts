import { MessageChannel } from './sandbox.types';
import {
  SidPrefix,
  countSegments,
  isE164,
  newSid,
  numberKey,
  parseAddress,
  toRawDlrDoneDate,
  toRfc2822,
  toWhatsAppAddress,
} from './twilio-format';

describe('twilio-format', () => {
  it('makes SIDs of a prefix and 32 lowercase hex digits', () => {
    expect(newSid(SidPrefix.Message)).toMatch(/^SM[0-9a-f]{32}$/);
    expect(newSid(SidPrefix.ChannelInstall)).toMatch(/^XE[0-9a-f]{32}$/);
    expect(newSid(SidPrefix.Message)).not.toBe(newSid(SidPrefix.Message));
  });

  it('formats dates the way Twilio’s resources do', () => {
    const date = new Date(Date.UTC(2026, 10, 28, 15, 4, 2));
    expect(toRfc2822(date)).toBe('Sat, 28 Nov 2026 15:04:02 +0000');
    expect(toRawDlrDoneDate(date)).toBe('2611281504');
  });

  it('splits channel addresses and keys numbers without their channel', () => {
    expect(parseAddress('whatsapp:+15551234567')).toEqual({ channel: MessageChannel.WhatsApp, number: '+15551234567' });
    expect(parseAddress('+15551234567')).toEqual({ channel: MessageChannel.Sms, number: '+15551234567' });
    expect(numberKey('whatsapp:+15551234567')).toBe(numberKey('+15551234567'));
    expect(toWhatsAppAddress('+15551234567')).toBe('whatsapp:+15551234567');
    expect(toWhatsAppAddress('whatsapp:+15551234567')).toBe('whatsapp:+15551234567');
  });

  it('accepts only E.164 numbers', () => {
    expect(isE164('+15551234567')).toBe(true);
    expect(isE164('15551234567')).toBe(false);
    expect(isE164('+0123')).toBe(false);
    expect(isE164('+1234567890123456')).toBe(false);
  });

  it('counts SMS segments for GSM-7 and UCS-2, and one for WhatsApp', () => {
    expect(countSegments('a'.repeat(160), MessageChannel.Sms)).toBe(1);
    expect(countSegments('a'.repeat(161), MessageChannel.Sms)).toBe(2);
    expect(countSegments('é'.repeat(160), MessageChannel.Sms)).toBe(1);
    expect(countSegments('😀'.repeat(36), MessageChannel.Sms)).toBe(2);
    expect(countSegments('a'.repeat(1600), MessageChannel.WhatsApp)).toBe(1);
  });
});
