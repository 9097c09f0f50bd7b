import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Locator, Page, chromium } from 'playwright-core';
import { startTestApp, TestApp, waitFor } from './support/test-app';

// Debian's package; npm test's pretest step installs it. Playwright's own browser downloads are not reachable from CI.
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Overwritten on every run; look at it after a change to the page.
const SCREENSHOT_PATH = join(tmpdir(), 'sandbox-phone-page.png');
const PHONE_VIEWPORT = { width: 390, height: 844 };
const UI_TIMEOUT_MS = 10_000;

describe('the sandbox phone page in a browser, driving the real service (e2e)', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM_PATH}: the phone page test needs it. ` +
          'Install it with `apt-get update && apt-get install -y chromium` (npm test does), or set CHROMIUM_PATH.',
      );
    }
    t = await startTestApp();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: PHONE_VIEWPORT });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // CSP violations and failed page requests show up as console errors.
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const send = (to: string, message: string) => t.api('/api/v1/whatsapp/send', { body: { to, message }, token: t.adminToken });
  const deliveryStatus = async (id: string) => (await t.api(`/api/v1/whatsapp/delivery-status/${id}`, { token: t.adminToken })).body;
  const serviceReaches = (id: string, status: string) =>
    waitFor(async () => {
      const current = await deliveryStatus(id);
      return current.status === status ? current : undefined;
    }, `the service to report ${id} as ${status}`);
  const sidOf = async (id: string): Promise<string> =>
    waitFor(async () => (await deliveryStatus(id)).messageSid as string | null, `a Twilio SID for ${id}`);
  const bubble = (sid: string): Locator => page.locator(`li.msg[data-sid="${sid}"]`);
  const bubbleReaches = (sid: string, status: string) => page.locator(`li.msg[data-sid="${sid}"][data-status="${status}"]`).waitFor();

  it('shows sent messages with live ticks, simulates the recipient, and replies through the signed webhook', async () => {
    const to = '+14155550170';
    const chat = page.locator(`section.chat[data-number="${to}"]`);

    // 1. A message through the service's API; its body is user content, so it must come out as text.
    const first = await send(to, 'Your order <b>#42</b> & <img src=x onerror=alert(1)> has shipped');
    expect(first.status).toBe(202);
    const firstSid = await sidOf(first.body.id);

    await page.goto(`${t.sandbox.baseUrl}/sandbox`);
    await page.getByRole('button', { name: new RegExp(`^${to.replace('+', '\\+')}`) }).click();
    await expect(chat.isVisible()).resolves.toBe(true);
    await bubbleReaches(firstSid, 'read');
    await expect(bubble(firstSid).locator('.text').textContent()).resolves.toBe('Your order <b>#42</b> & <img src=x onerror=alert(1)> has shipped');
    expect(await bubble(firstSid).locator('.text b, .text img').count()).toBe(0);
    await expect(bubble(firstSid).locator('.status').textContent()).resolves.toBe('✓✓read');
    await expect(bubble(firstSid).locator('.status').getAttribute('class')).resolves.toBe('status read');
    expect(await bubble(firstSid).getByRole('button').count()).toBe(0); // nothing left to simulate on a read message
    await serviceReaches(first.body.id, 'read');

    // 2. Hold the next message at delivered from the page, then read it by hand.
    await chat.getByLabel('New messages stop at').selectOption('delivered');
    await waitFor(async () => (await controlNumbers()).fates[to]?.status === 'delivered', 'the fate to reach the sandbox');
    const second = await send(to, 'Your courier is 10 minutes away');
    const secondSid = await sidOf(second.body.id);
    await bubbleReaches(secondSid, 'delivered');
    await expect(bubble(secondSid).locator('.status').textContent()).resolves.toBe('✓✓delivered');
    await serviceReaches(second.body.id, 'delivered');
    await bubble(secondSid).getByRole('button', { name: 'Mark read' }).click();
    await bubbleReaches(secondSid, 'read');
    const secondFinal = await serviceReaches(second.body.id, 'read');
    expect(secondFinal.timestamps.read).toEqual(expect.any(String));

    // 3. Phone offline: the next message stops at sent, then fails with the code picked on the page.
    await chat.getByLabel('New messages stop at').selectOption('sent');
    await waitFor(async () => (await controlNumbers()).fates[to]?.status === 'sent', 'the fate to reach the sandbox');
    const third = await send(to, 'We could not reach you');
    const thirdSid = await sidOf(third.body.id);
    await bubbleReaches(thirdSid, 'sent');
    await serviceReaches(third.body.id, 'sent');
    await bubble(thirdSid).getByLabel('Error to fail with').selectOption({ label: '30003 unreachable (undelivered)' });
    await bubble(thirdSid).getByRole('button', { name: 'Fail' }).click();
    await bubbleReaches(thirdSid, 'undelivered');
    await expect(bubble(thirdSid).locator('.status').textContent()).resolves.toBe('✗undelivered');
    await expect(bubble(thirdSid).locator('.error').textContent()).resolves.toBe('Error 30003: Unreachable destination handset');
    const thirdFinal = await serviceReaches(third.body.id, 'undelivered');
    expect(thirdFinal).toMatchObject({ errorCode: 30003, timestamps: { failed: expect.any(String) } });

    // 4. Reply as the user: a signed inbound webhook the service stores.
    await chat.getByLabel('New messages stop at').selectOption('read');
    const replyText = 'Yes please <script>alert("x")</script>, leave it at the door';
    await chat.getByLabel(`Reply as ${to}`).fill(replyText);
    await chat.getByRole('button', { name: 'Send' }).click();
    await chat.locator('.note', { hasText: 'Delivered to the service (HTTP 200).' }).waitFor();
    const inbound = await waitFor(async () => {
      const res = await t.api('/api/v1/whatsapp/messages?direction=inbound', { token: t.adminToken });
      return (res.body.data as { from: string; body: string; messageSid: string }[]).find((m) => m.from === `whatsapp:${to}`);
    }, 'the reply to reach the service');
    expect(inbound).toMatchObject({ body: replyText, to: 'whatsapp:+14155238886', direction: 'inbound', status: 'received' });
    const reply = bubble(inbound.messageSid);
    await reply.waitFor();
    await expect(reply.getAttribute('data-direction')).resolves.toBe('inbound');
    await expect(reply.locator('.text').textContent()).resolves.toBe(replyText);
    expect(await chat.locator('.messages script').count()).toBe(0);

    // Oldest first, one bubble per message.
    await expect(chat.locator('li.msg').evaluateAll((items) => items.map((item) => item.getAttribute('data-sid')))).resolves.toEqual([
      firstSid,
      secondSid,
      thirdSid,
      inbound.messageSid,
    ]);

    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('starts a chat as a new number and writes first', async () => {
    const from = '+14155550171';
    await page.goto(`${t.sandbox.baseUrl}/sandbox`);
    await page.getByLabel('Write as').fill(from);
    await page.getByRole('button', { name: 'Open chat' }).click();
    const chat = page.locator(`section.chat[data-number="${from}"]`);
    await chat.getByLabel(`Reply as ${from}`).fill('Hi, is my order ready?');
    await chat.getByLabel(`Reply as ${from}`).press('Enter');
    await chat.locator('li.msg[data-direction="inbound"]', { hasText: 'Hi, is my order ready?' }).waitFor();
    const contact = await t.api(`/api/v1/whatsapp/contacts/${encodeURIComponent(from)}`, { token: t.adminToken });
    expect(contact.body).toMatchObject({ phone: from, sessionWindowOpen: true });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('serves the page with a CSP that allows only its own inline code, and the message list with an ETag', async () => {
    const res = await fetch(`${t.sandbox.baseUrl}/sandbox`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);

    const list = await fetch(`${t.sandbox.baseUrl}/sandbox/control/messages`);
    const etag = list.headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    const unchanged = await fetch(`${t.sandbox.baseUrl}/sandbox/control/messages`, { headers: { 'If-None-Match': etag! } });
    expect(unchanged.status).toBe(304);
    await t.sandbox.inbound.send({ from: '+14155550172', to: 'whatsapp:+14155238886', body: 'news' });
    const changed = await fetch(`${t.sandbox.baseUrl}/sandbox/control/messages`, { headers: { 'If-None-Match': etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  async function controlNumbers(): Promise<{ fates: Record<string, { status: string }> }> {
    const res = await fetch(`${t.sandbox.baseUrl}/sandbox/control/numbers`);
    return (await res.json()) as { fates: Record<string, { status: string }> };
  }
});
