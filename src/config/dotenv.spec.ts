import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDotEnv } from './configuration';

describe('loadDotEnv', () => {
  it('reads .env when present, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'WA_TEST_FROM_FILE=file\nWA_TEST_BOTH=file\n# a comment\n');
    process.env.WA_TEST_BOTH = 'environment';
    loadDotEnv(file);
    expect(process.env.WA_TEST_FROM_FILE).toBe('file');
    expect(process.env.WA_TEST_BOTH).toBe('environment');
    delete process.env.WA_TEST_FROM_FILE;
    delete process.env.WA_TEST_BOTH;
  });

  it('does nothing without a file', () => {
    expect(() => loadDotEnv(join(tmpdir(), 'no-such-dir-for-wa', '.env'))).not.toThrow();
  });
});
