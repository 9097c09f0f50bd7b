import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPhonePage } from '../libs/twilio-sandbox/phone-page';
import { copyAssets } from '../scripts/copy-assets';

const ROOT = resolve(__dirname, '..');

describe('the build’s asset copy', () => {
  it('puts the phone page’s files beside the compiled sandbox, so dist serves the same page', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'build-assets-'));
    const copied = copyAssets(ROOT, outDir);
    expect(copied.sort()).toEqual([
      'libs/twilio-sandbox/phone/phone.css',
      'libs/twilio-sandbox/phone/phone.html',
      'libs/twilio-sandbox/phone/phone.js',
    ]);
    // dist/libs/twilio-sandbox/phone-page.js reads from its own directory's phone/.
    expect(buildPhonePage(join(outDir, 'libs/twilio-sandbox/phone'))).toEqual(buildPhonePage());
  });
});
