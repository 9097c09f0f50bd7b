import { ConnectionOptions, Processor, Worker, WorkerOptions } from 'bullmq';

/**
 * The connection options a worker needs, from the ones its queue was registered with. The queue
 * (the producer side) fails fast while Redis is down (`enableOfflineQueue: false`), so the outbox
 * relay backs off instead of piling commands up; a worker on those options gets "Stream isn't
 * writeable" at once from every fetch, which BullMQ treats as a job error rather than a lost
 * connection and retries with no pause: one core at 100%, /health starved and an error event per
 * turn, for good. BullMQ's blocking clients want the offline queue on and no per-request limit,
 * so a fetch simply waits for the reconnect. A ready-made client is left as it is.
 */
export function workerConnection(connection: ConnectionOptions): ConnectionOptions {
  if (isClientInstance(connection)) return connection;
  return { ...connection, enableOfflineQueue: true, maxRetriesPerRequest: null } as ConnectionOptions;
}

function isClientInstance(connection: ConnectionOptions): boolean {
  // ioredis and BullMQ's client adapters are objects with methods; options are plain data.
  return typeof (connection as { duplicate?: unknown }).duplicate === 'function' || typeof (connection as { sendCommand?: unknown }).sendCommand === 'function';
}

/**
 * @nestjs/bullmq creates each @Processor's worker with its queue's connection options; this class
 * (installed with BullModule.workerClass) gives the worker its own, per workerConnection, and the
 * configured job lock (QUEUE_LOCK_DURATION_MS), which QueueModule sets before any worker exists.
 */
export class QueueWorker extends Worker {
  static jobLockMs = 30_000;

  constructor(name: string, processor: string | URL | null | Processor | undefined, opts: WorkerOptions) {
    const lock = { lockDuration: QueueWorker.jobLockMs, stalledInterval: QueueWorker.jobLockMs };
    super(name, processor, { ...lock, ...opts, connection: workerConnection(opts.connection) });
  }
}
