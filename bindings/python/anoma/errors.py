"""Exceptions raised for libanoma status codes.

Codes and their names come from the library (``_library.STATUS``, read with
``anoma_status_str``); each Python class is tied to a status by name.
"""
import errno
import sys
import threading

from ._library import ANOMA_OK, STATUS, lib, text

__all__ = ["AnomaError", "InvalidArgumentError", "ShapeError", "NonFiniteError",
           "EmptyInputError", "UnknownParameterError", "ParameterValueError",
           "UnknownNameError", "NotFittedError", "ModelFileNotFoundError", "CancelledError",
           "check"]


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
    ValueError and an AttributeError. When scikit-learn is loaded, the error
    raised is also an instance of ``sklearn.exceptions.NotFittedError``."""


class CancelledError(AnomaError):
    """ANOMA_ERR_CANCELLED: a progress callback (``Model.set_progress``) asked
    the call to stop. A cancelled fit leaves the model unfitted."""


class ModelFileNotFoundError(AnomaError, FileNotFoundError):
    """A model file that does not exist (ANOMA_ERR_IO from the library); also
    a FileNotFoundError, with ``errno``, ``strerror`` and ``filename`` set."""

    def __init__(self, status, message=None, filename=None):
        AnomaError.__init__(self, status, message)
        self.errno = errno.ENOENT
        self.strerror = self.message
        self.filename = filename

    def __str__(self):
        return AnomaError.__str__(self)

    def __reduce__(self):
        return type(self), (self.status, self.message, self.filename)


_BY_NAME = {"ANOMA_ERR_INVALID_ARGUMENT": InvalidArgumentError, "ANOMA_ERR_SHAPE": ShapeError,
            "ANOMA_ERR_NONFINITE": NonFiniteError, "ANOMA_ERR_EMPTY": EmptyInputError,
            "ANOMA_ERR_UNKNOWN_PARAM": UnknownParameterError,
            "ANOMA_ERR_PARAM_VALUE": ParameterValueError,
            "ANOMA_ERR_NOT_FITTED": NotFittedError, "ANOMA_ERR_UNKNOWN_NAME": UnknownNameError,
            "ANOMA_ERR_CANCELLED": CancelledError}
_BY_STATUS = {STATUS[name]: cls for name, cls in _BY_NAME.items()}

_sklearn_not_fitted = {}


def _not_fitted_class():
    """NotFittedError, or a subclass that is also scikit-learn's when
    scikit-learn is loaded (never imported here: numpy is the only import)."""
    exceptions = sys.modules.get("sklearn.exceptions")
    base = getattr(exceptions, "NotFittedError", None)
    if base is None:
        return NotFittedError
    cls = _sklearn_not_fitted.get(base)
    if cls is None:
        cls = type("NotFittedError", (NotFittedError, base),
                   {"__module__": __name__, "__doc__": NotFittedError.__doc__,
                    "__reduce__": lambda self: (not_fitted, (self.message,))})
        _sklearn_not_fitted[base] = cls
    return cls


def not_fitted(message):
    """The NotFittedError (not raised) for an estimator or model used before fit."""
    return _not_fitted_class()(STATUS["ANOMA_ERR_NOT_FITTED"], message)


def error_for(status, message=None):
    """The exception (not raised) for a status code."""
    cls = _BY_STATUS.get(status, AnomaError)
    if cls is NotFittedError:
        cls = _not_fitted_class()
    return cls(status, message)


# An exception raised inside a callback the library called cannot cross the
# C frames: it is kept here (per thread: the library calls back on the thread
# that made the call) and raised by the check() that follows that call.
_callback = threading.local()


def keep_callback_error(error):
    """Keep an exception raised in a callback, for check() to raise."""
    if getattr(_callback, "error", None) is None:
        _callback.error = error


def check(status):
    """Raise the exception a callback raised during the call just made, if
    any (as itself); else the matching AnomaError when status is not
    ANOMA_OK."""
    error = getattr(_callback, "error", None)
    if error is not None:
        _callback.error = None
        try:
            raise error
        finally:
            del error  # no reference cycle through the traceback
    if status != ANOMA_OK:
        raise error_for(status)
