import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildConfiguration } from '../src/config/configuration';
import { ROOT } from './support/built-code';

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  profiles?: string[];
  depends_on?: Record<string, unknown>;
}

/**
 * docker-compose.yml describes the split deployment: Postgres, Redis kept as BullMQ needs it,
 * 2 API and 2 worker processes with valid configurations. `docker compose config` checks it where
 * Docker's compose plugin exists; this reads it everywhere.
 */
describe('docker-compose.yml', () => {
  const file = join(ROOT, 'docker-compose.yml');
  // Compose resolves anchors and merge keys (<<) like YAML 1.1; so does this parser with `merge`.
  const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const { services } = compose;
  /** The environment a container gets with no variables set on the host: ${VAR:-default} resolved. */
  const envOf = (service: ComposeService) =>
    Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')]));

  it('is valid for docker compose, where its compose plugin is installed', () => {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (version.status !== 0) return; // no compose plugin here: the checks below still read the file
    const config = spawnSync('docker', ['compose', '-f', file, '--profile', 'scale', 'config', '--quiet'], { encoding: 'utf8' });
    expect({ status: config.status, stderr: config.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('runs Redis with append-only persistence and no eviction', () => {
    const command = services.redis.command!.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(services.postgres).toBeDefined();
  });

  it('runs 2 API processes and 2 workers on the built service, each with a valid configuration', () => {
    for (const [name, role] of [['api', 'api'], ['worker', 'worker']] as const) {
      const service = services[name];
      expect({ name, replicas: service.deploy?.replicas, role: service.environment?.APP_ROLE }).toEqual({ name, replicas: 2, role });
      expect(service.command).toEqual(['node', 'dist/src/main.js']);
      expect(Object.keys(service.depends_on ?? {}).sort()).toEqual(['postgres', 'redis', 'twilio-sandbox']);
      const config = buildConfiguration(envOf(service));
      expect({ name, role: config.app.role, database: config.database.url, redis: config.redis.url }).toEqual({
        name,
        role,
        database: 'postgres://postgres@postgres:5432/whatsapp',
        redis: 'redis://redis:6379',
      });
    }
    // One deployment, one signing secret: a token from either API works on the other.
    expect(envOf(services.api).JWT_SECRET).toBe(envOf(services.worker).JWT_SECRET);
    expect(services['twilio-sandbox'].command?.[1]).toBe('dist/libs/twilio-sandbox/sandbox.cli.js');
  });

  it('leaves `docker compose up` with no profile to Postgres and Redis, for npm start on the host', () => {
    const always = Object.entries(services).filter(([, s]) => !s.profiles?.length).map(([name]) => name).sort();
    expect(always).toEqual(['postgres', 'redis']);
  });
});
