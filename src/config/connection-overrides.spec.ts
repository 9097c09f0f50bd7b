import { buildConfiguration } from './configuration';
import { DEFAULT_STATUS_CALLBACK_OVERRIDES, parseConnectionOverrides } from './connection-overrides';

const parse = (raw: string) => parseConnectionOverrides('STATUS_CALLBACK_CONNECTION_OVERRIDES', raw);

describe('status callback connection overrides', () => {
  it('by default asks Twilio to retry a callback 3 times on a timeout or a 5xx, as the URL fragment', () => {
    const config = buildConfiguration({ NODE_ENV: 'test' });
    expect(config.twilio.statusCallbackTarget).toBe(`${config.twilio.statusCallbackUrl}#rc=3&rp=ct,rt,5xx`);
    expect(DEFAULT_STATUS_CALLBACK_OVERRIDES).toBe('rc=3&rp=ct,rt,5xx');
  });

  it('takes any overrides within Twilio’s limits, a leading # allowed, and none turns them off', () => {
    expect(parse('#rc=5&rp=all&ct=10000&rt=15000&tt=15000')).toBe('rc=5&rp=all&ct=10000&rt=15000&tt=15000');
    expect(parse('rc=0')).toBe('rc=0');
    const off = buildConfiguration({ NODE_ENV: 'test', STATUS_CALLBACK_CONNECTION_OVERRIDES: 'none' });
    expect(off.twilio.statusCallbackTarget).toBe(off.twilio.statusCallbackUrl);
  });

  it.each([
    ['rc=6', 'rc (retry count) must be an integer from 0 to 5'],
    ['rt=20000', 'rt (read timeout in ms) must be an integer from 100 to 15000'],
    ['ct=50', 'ct (connect timeout in ms) must be an integer from 100 to 10000'],
    ['rc=three', 'rc (retry count) must be an integer'],
    ['rp=5xx,never', 'rp must list retry policies among 4xx, 5xx, ct, rt, all, not never'],
    ['rx=3', 'has unknown override "rx"'],
    ['rc', 'has "rc", not key=value'],
    ['rc=1&rc=2', 'sets rc twice'],
  ])('refuses %s at boot with one line naming the variable', (value, why) => {
    expect(() => buildConfiguration({ NODE_ENV: 'test', STATUS_CALLBACK_CONNECTION_OVERRIDES: value })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining(`STATUS_CALLBACK_CONNECTION_OVERRIDES ${why}`) }),
    );
  });

  it('refuses a STATUS_CALLBACK_URL with its own fragment', () => {
    expect(() => buildConfiguration({ NODE_ENV: 'test', STATUS_CALLBACK_URL: 'https://api.example.com/status#rc=2' })).toThrow(/STATUS_CALLBACK_CONNECTION_OVERRIDES/);
  });
});
