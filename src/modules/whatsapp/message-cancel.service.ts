import { Injectable, Logger } from '@nestjs/common';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents } from '../../common/events/domain-events';
import { MessageChangeHooks } from '../../common/events/message-change-hooks';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { AuthenticatedUser } from '../auth/auth.types';
import { DeliveryStatusDto } from './dto/delivery-status.dto';
import { PendingSendJobs } from './jobs/pending-send-jobs';
import { sendJobId } from './jobs/whatsapp-jobs';
import { EventSource, MessageLifecycleService } from './lifecycle/message-lifecycle.service';
import { MessageQueryService } from './message-query.service';
import { MessageStatus } from './message-status';
import { MessageEventRepository } from './messages/message-event.repository';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';

/**
 * Cancels messages that have not reached Twilio: scheduled ones before their time, queued ones
 * no worker has claimed. The guarded UPDATE is what makes it correct (cancel and claim lock the
 * same row, exactly one wins); dropping the waiting jobs only saves the workers a look.
 */
@Injectable()
export class MessageCancelService {
  private readonly logger = new Logger(MessageCancelService.name);

  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly messageEvents: MessageEventRepository,
    private readonly query: MessageQueryService,
    private readonly outbox: OutboxWriter,
    private readonly pendingJobs: PendingSendJobs,
    private readonly events: DomainEvents,
    private readonly hooks: MessageChangeHooks,
  ) {}

  /**
   * The canceled message. Canceling a canceled message answers it again (idempotent: a client
   * that lost the first answer may retry). A message at Twilio, or being sent right now, is
   * MESSAGE_NOT_CANCELABLE with its status; one the viewer may not see is MESSAGE_NOT_FOUND.
   */
  async cancel(idOrSid: string, viewer: AuthenticatedUser): Promise<DeliveryStatusDto> {
    const found = await this.query.findByIdOrSid(idOrSid, viewer);
    const canceled = await this.messages.transaction(async (tx) => {
      const row = await this.messages.cancel(tx, found.id);
      if (!row) return null;
      // In the status history like any other status change; there is no SID to file it under.
      await this.messageEvents.insertManyUnlessSeen(tx, [
        {
          messageId: row.id,
          messageSid: null,
          status: MessageStatus.Canceled,
          errorCode: null,
          errorMessage: null,
          source: EventSource.Api,
          tokenIndex: null,
          raw: { canceledBy: viewer.id },
          receivedAt: row.canceledAt!,
          applied: true,
        },
      ]);
      // Outbound webhooks record their message.status event with the cancel.
      await this.hooks.statusesApplied(tx, [MessageLifecycleService.appliedEvent(row, found.status, true)]);
      // A scheduled send's job waits in the outbox until its time: it goes with the cancel.
      await this.outbox.cancel(tx, sendJobId(row.id));
      return row;
    });

    if (canceled) {
      this.events.publish(MessageLifecycleService.appliedEvent(canceled, found.status, true));
      await this.pendingJobs.discard(canceled);
      this.logger.log(`Message ${canceled.id} canceled (was ${found.status})`);
      return MessageQueryService.deliveryStatusOf(canceled);
    }
    const current = (await this.messages.findById(found.id)) ?? found;
    if (current.status === MessageStatus.Canceled) return MessageQueryService.deliveryStatusOf(current);
    throw new DomainException(
      ErrorCode.MessageNotCancelable,
      current.messageSid || current.status !== MessageStatus.Queued
        ? `Message ${current.id} is ${current.status}: it can no longer be canceled`
        : `Message ${current.id} is being sent to Twilio: it can no longer be canceled`,
      { id: current.id, status: current.status, messageSid: current.messageSid },
    );
  }
}
