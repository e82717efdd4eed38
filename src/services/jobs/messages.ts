/**
 * Error and progress messages are kept to a readable size: a stack trace must not stop a failure
 * being recorded, and every lifecycle event carrying one must fit in a Kafka record.
 */
export const MAX_MESSAGE = 10_000;

export function clip(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters cut)`;
}
