import { MessageStatus } from './message-status';

/** The body of POST /whatsapp/send's success. */
export interface SendAnswerBody {
  success: true;
  id: string;
  messageSid: string | null;
  status: MessageStatus;
  /** A scheduled send's time. */
  scheduledAt?: string;
}

/**
 * What POST /whatsapp/send answers about a stored message: 201 once it has Twilio's SID (sent
 * before the answer), 202 while it waits for a worker or its time (scheduled).
 */
export function sendAnswerFor(message: { id: string; messageSid: string | null; status: string; scheduledAt?: Date | null }): { status: 201 | 202; body: SendAnswerBody } {
  return {
    status: message.messageSid ? 201 : 202,
    body: {
      success: true,
      id: message.id,
      messageSid: message.messageSid,
      status: message.status as MessageStatus,
      ...(message.scheduledAt ? { scheduledAt: new Date(message.scheduledAt).toISOString() } : {}),
    },
  };
}
