"""The package's version: that of the libanoma it is made for (meson.build's
project version). The package loads only a library of this version."""
VERSION = "0.1.0"
