"""One line naming the OpenBLAS build and the core type it detected, for
the head of a benchmark's output (the core type decides its kernels)."""
import os


def openblas_line():
    try:
        from threadpoolctl import threadpool_info
        blas = [p for p in threadpool_info() if p.get("internal_api") == "openblas"]
        if blas:
            return "OpenBLAS %s, core type %s (threadpoolctl); OPENBLAS_CORETYPE=%s" % (
                blas[0]["version"], blas[0]["architecture"],
                os.environ.get("OPENBLAS_CORETYPE", "unset"))
    except ImportError:
        pass
    try:  # without threadpoolctl: ask the library itself
        import ctypes
        blas = ctypes.CDLL("libopenblas.so.0")
        blas.openblas_get_config.restype = ctypes.c_char_p
        blas.openblas_get_corename.restype = ctypes.c_char_p
        return "%s, core type %s (openblas_get_corename); OPENBLAS_CORETYPE=%s" % (
            blas.openblas_get_config().decode(), blas.openblas_get_corename().decode(),
            os.environ.get("OPENBLAS_CORETYPE", "unset"))
    except (OSError, AttributeError):
        pass
    return "OpenBLAS core type unknown (no threadpoolctl, no libopenblas.so.0)"
