import { MessageStatus } from './message-status';

/** The body of POST /whatsapp/send's success. */
export interface SendAnswerBody {
  success: true;
  id: string;
  messageSid: string | null;
  status: MessageStatus;
}

/**
 * What POST /whatsapp/send answers about a stored message: 201 once it has Twilio's SID (sent
 * before the answer), 202 while it waits for a worker.
 */
export function sendAnswerFor(message: { id: string; messageSid: string | null; status: string }): { status: 201 | 202; body: SendAnswerBody } {
  return {
    status: message.messageSid ? 201 : 202,
    body: { success: true, id: message.id, messageSid: message.messageSid, status: message.status as MessageStatus },
  };
}
