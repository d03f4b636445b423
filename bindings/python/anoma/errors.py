"""Exceptions raised for libanoma status codes."""
from ._library import lib, text

__all__ = ["AnomaError", "InvalidArgumentError", "ShapeError", "NonFiniteError",
           "EmptyInputError", "UnknownParameterError", "ParameterValueError",
           "UnknownNameError", "NotFittedError", "check"]


class AnomaError(Exception):
    """A libanoma call failed.

    ``status`` is the C status code (negative int), ``name`` its C name (such
    as "ANOMA_ERR_SHAPE") and ``message`` the library's detail for the call.
    """

    def __init__(self, status, message=None):
        status = int(status)
        if message is None:
            message = text(lib.anoma_last_error()) or text(lib.anoma_status_text(status))
        super().__init__(status, message)
        self.status = status
        self.name = text(lib.anoma_status_str(status))
        self.message = message

    def __str__(self):
        return "%s (%s)" % (self.message, self.name)

    def __reduce__(self):
        return type(self), (self.status, self.message)


class InvalidArgumentError(AnomaError, ValueError):
    """ANOMA_ERR_INVALID_ARGUMENT."""


class ShapeError(AnomaError, ValueError):
    """ANOMA_ERR_SHAPE: wrong number of rows or columns."""


class NonFiniteError(AnomaError, ValueError):
    """ANOMA_ERR_NONFINITE: +-Inf (or NaN where not allowed) in the input."""


class EmptyInputError(AnomaError, ValueError):
    """ANOMA_ERR_EMPTY: no rows, no columns or no detector."""


class UnknownParameterError(AnomaError, ValueError):
    """ANOMA_ERR_UNKNOWN_PARAM: the message names the key and the known keys."""


class ParameterValueError(AnomaError, ValueError):
    """ANOMA_ERR_PARAM_VALUE: the message names the key and the accepted range."""


class UnknownNameError(AnomaError, ValueError):
    """ANOMA_ERR_UNKNOWN_NAME: unknown detector or component name."""


class NotFittedError(AnomaError, ValueError, AttributeError):
    """ANOMA_ERR_NOT_FITTED; like scikit-learn's NotFittedError it is also a
    ValueError and an AttributeError."""


_BY_STATUS = {-1: InvalidArgumentError, -2: ShapeError, -3: NonFiniteError,
              -4: EmptyInputError, -5: UnknownParameterError, -6: ParameterValueError,
              -7: NotFittedError, -12: UnknownNameError}


def error_for(status, message=None):
    """The exception (not raised) for a status code."""
    return _BY_STATUS.get(status, AnomaError)(status, message)


def check(status):
    """Raise the matching AnomaError when status is not ANOMA_OK."""
    if status != 0:
        raise error_for(status)
