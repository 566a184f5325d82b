"""The one place where nearmiss errors become gRPC status codes, and back.

Servicers raise our own errors; ``status_for`` picks the code. Anything that is not a
``NearmissError`` is a bug: it becomes INTERNAL with a fixed message, so no stack trace
or report text reaches a client.
"""

from __future__ import annotations

import grpc

from nearmiss import errors

_STATUS_BY_ERROR: tuple[tuple[type[errors.NearmissError], grpc.StatusCode], ...] = (
    (errors.ReportInvalidError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (errors.ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.PreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.UnavailableError, grpc.StatusCode.UNAVAILABLE),
    (errors.VerificationError, grpc.StatusCode.INVALID_ARGUMENT),
)

INTERNAL_MESSAGE = "internal error; the authority logged it without request content"


def status_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and the person-readable message for ``error``."""
    for error_type, code in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return code, str(error)
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def error_for(code: grpc.StatusCode, message: str) -> errors.NearmissError:
    """The client-side counterpart: a status from the wire as one of our errors."""
    for error_type, mapped in _STATUS_BY_ERROR:
        if mapped == code and error_type is not errors.ConfigError:
            if error_type is errors.ReportInvalidError:
                return errors.ReportInvalidError(message)
            return error_type(message)
    if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return errors.UnavailableError(message)
    return errors.NearmissError(f"{code.name}: {message}")
