import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainException } from '../errors/domain.exception';
import { ErrorCode } from '../errors/error-code';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: string;
  details?: unknown;
  requestId?: string;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.ValidationFailed,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.ServiceUnavailable,
};

/**
 * One error shape for every failure. Unknown errors answer a plain 500 with the request id;
 * their stack goes to the log only.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const body = this.toBody(exception);
    body.requestId = request?.id;
    if (body.statusCode >= 500) {
      this.logger.error(
        `${request?.method} ${request?.url} -> ${body.statusCode} [${request?.id}]`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainException) {
      const status = exception.httpStatus;
      return {
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message: exception.message,
        code: exception.code,
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const r = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
      const rawMessage = r.message ?? (typeof response === 'string' ? response : exception.message);
      const message = Array.isArray(rawMessage) ? rawMessage.join('; ') : String(rawMessage);
      return {
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message,
        code: typeof r.code === 'string' ? r.code : (CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.InternalError : 'HTTP_' + status)),
        ...(r.details !== undefined ? { details: r.details } : {}),
      };
    }
    // Fastify's own errors (body too large, bad JSON, wrong content type) carry a statusCode.
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (fastifyError && typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
      const status = fastifyError.statusCode;
      return {
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message: fastifyError.message ?? 'Bad request',
        code: CODE_BY_STATUS[status] ?? 'HTTP_' + status,
      };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'Internal Server Error',
      message: 'Internal server error',
      code: ErrorCode.InternalError,
    };
  }
}
