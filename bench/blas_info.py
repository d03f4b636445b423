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
    return "OpenBLAS core type unknown (no threadpoolctl)"
