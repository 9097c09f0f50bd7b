/** A control request the sandbox cannot apply; answered with httpStatus and the reason. */
export class SandboxControlError extends Error {
  constructor(
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'SandboxControlError';
  }
}
