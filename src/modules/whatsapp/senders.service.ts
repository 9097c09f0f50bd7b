import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../../config/configuration';
import { SenderRateLimiter } from '../twilio/sender-rate-limiter';
import { SenderDto } from './dto/sender.dto';
import { WhatsAppMessage } from './entities/whatsapp-message.entity';
import { MessageStatus } from './message-status';

/** The configured senders with their throughput and what is waiting for them. */
@Injectable()
export class SendersService {
  constructor(
    @InjectRepository(WhatsAppMessage) private readonly messages: Repository<WhatsAppMessage>,
    private readonly rateLimiter: SenderRateLimiter,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  async list(): Promise<SenderDto[]> {
    const { whatsappFrom, messagingServiceSid } = this.config.get('twilio', { infer: true });
    const { mps } = this.config.get('whatsapp', { infer: true });
    const senders = whatsappFrom.length > 0 ? whatsappFrom : [messagingServiceSid!];
    // Backlog: accepted, not yet answered by Twilio (served by the status+createdAt index).
    const rows: { from: string; count: number }[] = await this.messages
      .createQueryBuilder('m')
      .select('m.from', 'from')
      .addSelect('count(*)::int', 'count')
      .where(`m.status = :queued AND m."messageSid" IS NULL AND m.direction = 'outbound'`, { queued: MessageStatus.Queued })
      .groupBy('m.from')
      .getRawMany();
    const backlog = new Map(rows.map((r) => [r.from, r.count]));
    return Promise.all(
      senders.map(async (sender, i) => ({
        sender,
        default: i === 0,
        mps,
        backlog: backlog.get(sender) ?? 0,
        backlogSeconds: Math.ceil((backlog.get(sender) ?? 0) / mps),
        nextSlotInMs: await this.rateLimiter.nextSlotDelayMs(sender),
      })),
    );
  }
}
