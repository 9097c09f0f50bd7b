import { Injectable } from '@nestjs/common';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { ApplyResult, EventSource, MessageLifecycleService } from '../whatsapp/lifecycle/message-lifecycle.service';
import { MessageStatus } from '../whatsapp/message-status';

/** Statuses for which Twilio's RawDlrDoneDate (the carrier's delivery report time) applies. */
const DLR_STATUSES = new Set<string>([MessageStatus.Delivered, MessageStatus.Undelivered, MessageStatus.Failed]);

/**
 * RawDlrDoneDate is YYMMDDhhmm in UTC, minute precision. When it agrees with the arrival time
 * (same minute) the arrival time is the better clock; when the callback came late it is the truth.
 */
export function statusTime(status: string, rawDlrDoneDate: string | undefined, receivedAt: Date): Date {
  if (!rawDlrDoneDate || !DLR_STATUSES.has(status)) return receivedAt;
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(rawDlrDoneDate.trim());
  if (!m) return receivedAt;
  const [year, month, day, hour, minute] = m.slice(1).map(Number);
  const dlr = new Date(Date.UTC(2000 + year, month - 1, day, hour, minute));
  // Date.UTC rolls 13/32/25:61 over into the next unit; such a value is not a date at all.
  if (dlr.getUTCMonth() !== month - 1 || dlr.getUTCDate() !== day || dlr.getUTCHours() !== hour || dlr.getUTCMinutes() !== minute) {
    return receivedAt;
  }
  return Math.abs(receivedAt.getTime() - dlr.getTime()) < 60_000 ? receivedAt : dlr;
}

@Injectable()
export class StatusCallbackService {
  constructor(private readonly lifecycle: MessageLifecycleService) {}

  handle(params: Record<string, string>, tokenIndex: number | null): Promise<ApplyResult> {
    const sid = params.MessageSid ?? params.SmsSid;
    const status = (params.MessageStatus ?? params.SmsStatus ?? '').toLowerCase();
    if (!sid || !status) {
      throw new DomainException(ErrorCode.ValidationFailed, 'Status callback needs MessageSid and MessageStatus', {
        missing: [!sid ? 'MessageSid' : null, !status ? 'MessageStatus' : null].filter(Boolean),
      });
    }
    const errorCode = params.ErrorCode ? Number.parseInt(params.ErrorCode, 10) : null;
    const receivedAt = new Date();
    return this.lifecycle.applyStatusEvent({
      messageSid: sid,
      status,
      errorCode: Number.isFinite(errorCode) ? errorCode : null,
      errorMessage: params.ErrorMessage ?? null,
      source: EventSource.Callback,
      at: statusTime(status, params.RawDlrDoneDate, receivedAt),
      raw: params,
      tokenIndex,
    });
  }
}
