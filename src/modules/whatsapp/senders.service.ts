import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../../config/configuration';
import { SenderRateLimiter } from '../twilio/sender-rate-limiter';
import { SenderDto } from './dto/sender.dto';
import { WhatsAppMessageRepository } from './messages/whatsapp-message.repository';

/** The configured senders with their throughput and what is waiting for them. */
@Injectable()
export class SendersService {
  constructor(
    private readonly messages: WhatsAppMessageRepository,
    private readonly rateLimiter: SenderRateLimiter,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async list(): Promise<SenderDto[]> {
    const { whatsappFrom, messagingServiceSid } = this.config.get('twilio', { infer: true });
    const senders = whatsappFrom.length > 0 ? whatsappFrom : [messagingServiceSid!];
    const backlog = await this.messages.unsentBacklogBySender();
    return Promise.all(
      senders.map(async (sender, i) => {
        const mps = this.rateLimiter.mpsOf(sender);
        return {
          sender,
          default: i === 0,
          mps,
          backlog: backlog.get(sender) ?? 0,
          backlogSeconds: Math.ceil((backlog.get(sender) ?? 0) / mps),
          nextSlotInMs: await this.rateLimiter.nextSlotDelayMs(sender),
        };
      }),
    );
  }
}
