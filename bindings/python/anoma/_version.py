"""The package's version, never typed by hand.

An installed package has the version meson wrote into its _install module
(meson.build's project version, the library's too) and loads only a library
of that version. Run from the source tree (PYTHONPATH=bindings/python) there
is no _install module: VERSION is None and the package takes the version of
the library it loads (anoma.__version__ is always the loaded library's)."""
try:
    from ._install import VERSION
except ImportError:
    VERSION = None
