import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PHONE_ASSET_DIR, PHONE_PAGE_FAILURES, PHONE_PAGE_HOLDS, buildPhonePage } from './phone-page';

const asset = (name: string): string => readFileSync(join(PHONE_ASSET_DIR, name), 'utf8');
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');
/** The contents of the one element matched, e.g. the inline <style>. */
function inline(html: string, pattern: RegExp): string {
  const matches = [...html.matchAll(pattern)];
  expect(matches).toHaveLength(1);
  return matches[0][1];
}

describe('buildPhonePage', () => {
  const page = buildPhonePage();

  it('inlines phone.css and phone.js where phone.html links them, and leaves no link to fetch', () => {
    expect(inline(page.html, /<style>([\s\S]*?)<\/style>/g)).toBe(asset('phone.css'));
    expect(inline(page.html, /<script>([\s\S]*?)<\/script>/g)).toBe(asset('phone.js'));
    expect(page.html).not.toMatch(/<link rel="stylesheet"|<script src=/);
    expect(page.html.startsWith('<!doctype html>')).toBe(true);
  });

  it('lets only that inline script and style run, by hash', () => {
    const style = inline(page.html, /<style>([\s\S]*?)<\/style>/g);
    const script = inline(page.html, /<script>([\s\S]*?)<\/script>/g);
    expect(page.csp.split('; ')).toEqual([
      "default-src 'none'",
      `script-src 'sha256-${sha256(script)}'`,
      `style-src 'sha256-${sha256(style)}'`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
  });

  it('embeds the configuration phone.js reads', () => {
    const json = inline(page.html, /<script type="application\/json" id="phone-config">([\s\S]*?)<\/script>/g);
    expect(JSON.parse(json)).toEqual({
      controlPrefix: '/sandbox/control',
      pollIntervalMs: 500,
      defaultSender: 'whatsapp:+14155238886',
      failures: PHONE_PAGE_FAILURES,
      holds: PHONE_PAGE_HOLDS,
    });
  });

  it('has every element phone.js looks up by id, once', () => {
    const html = asset('phone.html');
    const looked = [...asset('phone.js').matchAll(/byId\('([^']+)'\)/g)].map((match) => match[1]);
    expect(looked.length).toBeGreaterThan(5);
    for (const id of looked) {
      expect({ id, count: html.split(`id="${id}"`).length - 1 }).toEqual({ id, count: 1 });
    }
  });

  it('refuses a phone.html that no longer links phone.js', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phone-page-'));
    for (const name of ['phone.css', 'phone.js']) copyFileSync(join(PHONE_ASSET_DIR, name), join(dir, name));
    writeFileSync(join(dir, 'phone.html'), asset('phone.html').replace('<script src="phone.js"></script>', ''));
    expect(() => buildPhonePage(dir)).toThrow('phone.html must contain <script src="phone.js"></script> exactly once');
  });
});
