"""The nearmiss exception tree. Catch at the level you care about::

    NearmissError                      anything nearmiss raises on purpose
    ├── ReportInvalidError             a report (file or message) breaks the schema
    ├── ConfigError                    a config or key file is missing or wrong
    ├── AuthenticationError            the caller or a signature cannot be authenticated
    │   └── SignatureError             a report / receipt / tree-head signature is bad
    ├── PermissionDeniedError          authenticated, but not allowed to do this
    ├── ConflictError                  same id already stored with different content
    ├── NotFoundError                  no such report, receipt, case, alert...
    ├── RateLimitedError               the caller is over its rate limit
    ├── PreconditionError              the state does not allow it (e.g. privacy budget)
    ├── UnavailableError               a dependency (database, peer) is down; retry later
    └── VerificationError              a proof, receipt or tree head does not check out

Every message is written for a person and never contains report text: callers put
only field names, ids, sizes and reasons in them. ``nearmiss.rpc_errors`` maps this
tree to gRPC status codes, in one place.
"""

from __future__ import annotations


class NearmissError(Exception):
    """Base class. ``str(error)`` is a complete sentence a person can act on."""

    def explain(self) -> str:
        return str(self)


class ReportInvalidError(NearmissError):
    """A report breaks the schema. Names where (file, field path) and why.

    ``problems`` lists every (field, reason) found, so a person can fix them all at once.
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        source: str | None = None,
        problems: list[tuple[str | None, str]] | None = None,
    ):
        self.reason = reason
        self.field = field
        self.source = source
        self.problems = problems if problems is not None else [(field, reason)]
        where = ", ".join(
            part for part in (source and f"file {source}", field and f"field {field}") if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)

    @classmethod
    def from_problems(
        cls, problems: list[tuple[str | None, str]], *, source: str | None = None
    ) -> ReportInvalidError:
        first_field, first_reason = problems[0]
        if len(problems) == 1:
            return cls(first_reason, field=first_field, source=source, problems=problems)
        listed = "; ".join(f"field {f}: {r}" if f else r for f, r in problems)
        error = cls(f"{len(problems)} problems: {listed}", source=source, problems=problems)
        error.field = first_field
        return error

    def with_source(self, source: str) -> ReportInvalidError:
        """The same problems, attributed to a file."""
        return ReportInvalidError.from_problems(self.problems, source=source)


class ConfigError(NearmissError):
    """A configuration or key file is missing, unreadable or has a bad value."""

    def __init__(self, reason: str, *, source: str | None = None, key: str | None = None):
        self.reason = reason
        self.source = source
        self.key = key
        where = ", ".join(
            part for part in (source and f"file {source}", key and f"key {key}") if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)


class AuthenticationError(NearmissError):
    pass


class SignatureError(AuthenticationError):
    pass


class PermissionDeniedError(NearmissError):
    pass


class ConflictError(NearmissError):
    pass


class NotFoundError(NearmissError):
    pass


class RateLimitedError(NearmissError):
    pass


class PreconditionError(NearmissError):
    pass


class UnavailableError(NearmissError):
    pass


class VerificationError(NearmissError):
    pass
