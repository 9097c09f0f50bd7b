import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { EnvironmentVariables } from './env.validation';

describe('.env.example', () => {
  it('lists every variable the service reads, each with a comment above it', () => {
    const lines = readFileSync(resolve(__dirname, '../../.env.example'), 'utf8').split('\n');
    const listed = new Map<string, number>();
    lines.forEach((line, i) => {
      const m = /^([A-Z][A-Z0-9_]*)=/.exec(line);
      if (m) listed.set(m[1], i);
    });
    const read = new Set(getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false).map((m) => m.propertyName));
    expect([...read].sort()).toEqual([...listed.keys()].sort());
    for (const [name, i] of listed) {
      // The comment may sit above a group of related variables.
      const above = lines.slice(0, i).reverse().find((l) => !/^[A-Z]/.test(l));
      expect({ name, commented: above?.startsWith('#') ?? false }).toEqual({ name, commented: true });
    }
  });

  it('the README documents every variable', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    const read = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false).map((m) => m.propertyName);
    expect([...new Set(read)].filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
