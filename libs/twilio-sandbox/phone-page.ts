import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PREFIX } from './control-api.routes';
import { DEFAULT_WHATSAPP_SENDER } from './delivery-simulation';
import { PhoneFailureOption, PhoneHoldOption, PhonePageConfig } from './phone/phone-config';
import { TwilioMessageStatus } from './sandbox.types';
import { SimulatedErrorCode } from './simulated-errors';

/**
 * phone.html, phone.css and phone.js, read from beside this file: the build copies them
 * next to the compiled code (scripts/copy-assets.ts).
 */
export const PHONE_ASSET_DIR = join(__dirname, 'phone');

// Twice a second feels live, and a 304 from the ETag'd message list makes an idle poll nearly free.
export const PHONE_PAGE_POLL_INTERVAL_MS = 500;

export const PHONE_PAGE_FAILURES: readonly PhoneFailureOption[] = [
  { status: TwilioMessageStatus.Undelivered, code: SimulatedErrorCode.UnreachableHandset, label: 'unreachable (undelivered)' },
  { status: TwilioMessageStatus.Undelivered, code: SimulatedErrorCode.UnknownDestination, label: 'unknown number (undelivered)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.OutsideSessionWindow, label: 'outside 24h window (failed)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.InvalidRecipient, label: 'invalid recipient (failed)' },
  { status: TwilioMessageStatus.Failed, code: SimulatedErrorCode.UnknownError, label: 'unknown error (failed)' },
];

export const PHONE_PAGE_HOLDS: readonly PhoneHoldOption[] = [
  { value: TwilioMessageStatus.Read, label: 'read (normal)' },
  { value: TwilioMessageStatus.Delivered, label: 'delivered (not read)' },
  { value: TwilioMessageStatus.Sent, label: 'sent (phone offline)' },
];

const PHONE_PAGE_CONFIG: PhonePageConfig = {
  controlPrefix: CONTROL_PREFIX,
  pollIntervalMs: PHONE_PAGE_POLL_INTERVAL_MS,
  defaultSender: DEFAULT_WHATSAPP_SENDER,
  failures: [...PHONE_PAGE_FAILURES],
  holds: [...PHONE_PAGE_HOLDS],
};

export interface PhonePage {
  html: string;
  csp: string;
}

function jsonForScriptTag(value: unknown): string {
  // Inside <script>, "</script>" or "<!--" in a string would end or confuse the element.
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const cspHash = (source: string): string => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** Replaces the one `placeholder` in `html`; a page that lost or doubled it must not be served half-built. */
function replaceOnce(html: string, placeholder: string, replacement: string): string {
  const at = html.indexOf(placeholder);
  if (at === -1 || html.indexOf(placeholder, at + 1) !== -1) {
    throw new Error(`phone.html must contain ${placeholder} exactly once`);
  }
  return html.slice(0, at) + replacement + html.slice(at + placeholder.length);
}

/**
 * One self-contained document: phone.css and phone.js inlined where phone.html links them,
 * and the page's configuration in #phone-config. Only that inline script and style may run
 * (by hash), so a message body that ever slipped past the text-node rendering still could not.
 */
export function buildPhonePage(assetDir: string = PHONE_ASSET_DIR): PhonePage {
  const read = (name: string): string => readFileSync(join(assetDir, name), 'utf8');
  const style = read('phone.css');
  const script = read('phone.js');
  if (/<\/style/i.test(style) || /<\/script/i.test(script)) {
    throw new Error('phone.css and phone.js must not contain a closing </style> or </script>');
  }
  let html = read('phone.html');
  html = replaceOnce(html, '<link rel="stylesheet" href="phone.css">', `<style>${style}</style>`);
  html = replaceOnce(
    html,
    '<script type="application/json" id="phone-config"></script>',
    `<script type="application/json" id="phone-config">${jsonForScriptTag(PHONE_PAGE_CONFIG)}</script>`,
  );
  html = replaceOnce(html, '<script src="phone.js"></script>', `<script>${script}</script>`);
  const csp = [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
