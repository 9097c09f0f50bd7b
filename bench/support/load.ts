import autocannon from 'autocannon';
import { sleep, withClient } from './infra';
import { Contention, LockSampler } from './lock-sampler';
import { round, summarize } from './stats';

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Builds each request's body and headers; returns null when there is nothing left to send. */
  next: () => NextRequest | null;
  /** Called with the status of every answered request that `next` tagged. */
  onAnswer?: (status: number, tag: number) => void;
}

export interface NextRequest {
  body: string;
  headers?: Record<string, string>;
  tag?: number;
}

export interface LoadResult {
  durationS: number;
  /** Answered requests (any status). */
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx answers per second: refused requests do not count as throughput. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
  /** The request source ran dry before the time was up (the run stopped early). */
  exhausted: boolean;
}

interface TaggedContext {
  tag?: number;
}

/** One autocannon run: `connections` keep-alive connections, each sending its next request as soon as the last is answered. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let exhausted = false;
  let last: autocannon.Request | undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationS,
        timeout: 30,
        requests: [
          {
            method: spec.method,
            setupRequest: (req, context) => {
              const next = spec.next();
              if (!next) {
                // The few connections still running until stop() takes effect repeat the last request.
                if (!exhausted) {
                  exhausted = true;
                  setImmediate(() => instance.stop());
                }
                return last ?? req;
              }
              (context as TaggedContext).tag = next.tag;
              last = { ...req, body: next.body, headers: { ...spec.headers, ...next.headers } };
              return last;
            },
            onResponse: spec.onAnswer
              ? (status, _body, context) => {
                  const tag = (context as TaggedContext).tag;
                  if (tag !== undefined) spec.onAnswer!(status, tag);
                }
              : undefined,
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const latency = summarize(latencies);
        const durationS = (result.finish.getTime() - result.start.getTime()) / 1000;
        const ok = result['2xx'];
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
        resolve({
          durationS: round(durationS, 2),
          requests: ok + result.non2xx,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          reqPerSec: round(ok / durationS, 1),
          p50Ms: latency.p50Ms,
          p99Ms: latency.p99Ms,
          maxMs: latency.maxMs,
          statusCodes,
          exhausted,
        });
      },
    );
    // autocannon's own histogram is in whole milliseconds; these are exact. 2xx only, like autocannon's.
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

export interface MeasuredLoad {
  load: LoadResult;
  contention: Contention;
}

/**
 * Waits until the database has no statement running or transaction open (at most `maxMs`): the
 * server goes on with the requests a stopped run left in flight, which must not count in the next.
 */
export async function settle(adminUrl: string, database: string, maxMs = 10_000): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')`,
        [database],
      );
      if (rows[0].n === 0) return;
      await sleep(50);
    }
  });
}

/**
 * A warm-up run (JIT, connection pools, caches), then the measured run while the database's
 * active backends are sampled for lock waits.
 */
export async function measureLoad(
  spec: Omit<LoadSpec, 'durationS'>,
  timing: { warmupS: number; durationS: number },
  sampling: { adminUrl: string; database: string },
): Promise<MeasuredLoad> {
  if (timing.warmupS > 0) {
    await runLoad({ ...spec, durationS: timing.warmupS });
    await settle(sampling.adminUrl, sampling.database);
  }
  const sampler = new LockSampler(sampling.adminUrl, sampling.database);
  await sampler.start();
  let load: LoadResult;
  try {
    load = await runLoad({ ...spec, durationS: timing.durationS });
  } catch (err) {
    await sampler.stop();
    throw err;
  }
  return { load, contention: await sampler.stop() };
}
