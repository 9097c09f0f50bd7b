/** Injection token of the official `twilio` client. */
export const TWILIO_CLIENT = Symbol('TWILIO_CLIENT');

/** Injection token of the TwilioEndpoint the client is pointed at. */
export const TWILIO_ENDPOINT = Symbol('TWILIO_ENDPOINT');

/** The origin the official client sends Messages API requests to. */
export const TWILIO_API_ORIGIN = 'https://api.twilio.com';
