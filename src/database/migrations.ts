import { Initial1764340000000 } from '../../migrations/1764340000000-Initial';
import { IdempotencyKeys1764350000000 } from '../../migrations/1764350000000-IdempotencyKeys';
import { DispatchTracking1764360000000 } from '../../migrations/1764360000000-DispatchTracking';
import { DeliveryRollups1764380000000 } from '../../migrations/1764380000000-DeliveryRollups';
import { RollupJournal1764390000000 } from '../../migrations/1764390000000-RollupJournal';
import { AttachSid1764400000000 } from '../../migrations/1764400000000-AttachSid';
import { ClientReference1764425000000 } from '../../migrations/1764425000000-ClientReference';
import { IdempotencyKeyMessage1764430000000 } from '../../migrations/1764430000000-IdempotencyKeyMessage';
import { ApiKeys1764440000000 } from '../../migrations/1764440000000-ApiKeys';
import { OutboundWebhooks1764450000000 } from '../../migrations/1764450000000-OutboundWebhooks';
import { ScheduledSends1764460000000 } from '../../migrations/1764460000000-ScheduledSends';

/** In order. The TypeORM CLI generates new files in migrations/; add each one here. */
export const MIGRATIONS = [
  Initial1764340000000,
  IdempotencyKeys1764350000000,
  DispatchTracking1764360000000,
  DeliveryRollups1764380000000,
  RollupJournal1764390000000,
  AttachSid1764400000000,
  ClientReference1764425000000,
  IdempotencyKeyMessage1764430000000,
  ApiKeys1764440000000,
  OutboundWebhooks1764450000000,
  ScheduledSends1764460000000,
];
