import { checkReceiverUrl, guardedLookup, isForbiddenAddress, parseReceiverUrl, UrlRefusal, WebhookUrlError } from './url-policy';

const PRODUCTION = { allowPrivate: false, requireHttps: true };
const DEVELOPMENT = { allowPrivate: true, requireHttps: false };

function refusal(fn: () => unknown): UrlRefusal | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (err instanceof WebhookUrlError) return err.refusal;
    throw err;
  }
}

describe('webhook receiver URL policy', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.5',
    '172.16.3.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    'not-an-address',
  ])('refuses %s as a receiver address', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('accepts the public address %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    ['https://127.0.0.1/hook', UrlRefusal.Forbidden],
    ['https://[::1]:8443/hook', UrlRefusal.Forbidden],
    ['https://169.254.169.254/latest/meta-data', UrlRefusal.Forbidden],
    ['https://10.0.0.7/hook', UrlRefusal.Forbidden],
    ['https://[fd00::7]/hook', UrlRefusal.Forbidden],
    ['https://localhost/hook', UrlRefusal.Forbidden],
    ['https://api.localhost/hook', UrlRefusal.Forbidden],
    ['http://93.184.216.34/hook', UrlRefusal.Forbidden],
    ['https://93.184.216.34/hook', 'accepted'],
    ['ftp://93.184.216.34/hook', UrlRefusal.Invalid],
    ['/relative/path', UrlRefusal.Invalid],
    ['https://user:pw@93.184.216.34/hook', UrlRefusal.Invalid],
    [`https://93.184.216.34/${'a'.repeat(2100)}`, UrlRefusal.Invalid],
  ])('in production: %s -> %s', (url, expected) => {
    expect(refusal(() => parseReceiverUrl(url, PRODUCTION))).toBe(expected);
  });

  it('allows loopback, private addresses and plain http in development', () => {
    for (const url of ['http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://10.0.0.7/hook', 'http://[::1]/hook']) {
      expect(refusal(() => parseReceiverUrl(url, DEVELOPMENT))).toBe('accepted');
    }
  });

  it('refuses a name that resolves to a loopback address, and one that does not resolve', async () => {
    await expect(checkReceiverUrl('https://localhost./hook', PRODUCTION)).rejects.toMatchObject({ refusal: UrlRefusal.Forbidden });
    await expect(checkReceiverUrl('https://no-such-host.invalid/hook', PRODUCTION)).rejects.toMatchObject({ refusal: UrlRefusal.Invalid });
  });

  it('refuses at connection time a name that resolves to a loopback address', async () => {
    const outcome = await new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guardedLookup('localhost', { all: true }, (err, address) => resolve({ err, address })),
    );
    expect(outcome.err?.code).toBe('EWEBHOOKFORBIDDEN');
  });
});
