/** Every BullMQ queue of the service. The jobs on them belong to the feature modules. */
export enum QueueName {
  WhatsApp = 'whatsapp',
  /** Outbound webhook deliveries (event subscriptions). */
  Webhooks = 'webhooks',
}
