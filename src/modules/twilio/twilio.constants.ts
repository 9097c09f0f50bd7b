/** Injection token of the official `twilio` client. */
export const TWILIO_CLIENT = Symbol('TWILIO_CLIENT');
