"""Print the folder /usr/bin/python3 imports a prefix's modules from (used
by meson.build to install the package there)."""
import sys
import sysconfig

prefix = sys.argv[1]
if "deb_system" in sysconfig.get_scheme_names():  # Debian's Python
    if prefix == "/usr":
        print(sysconfig.get_path("purelib", "deb_system", vars={"base": prefix, "platbase": prefix}))
    else:
        print("%s/lib/python%d.%d/dist-packages" % (prefix, *sys.version_info[:2]))
else:
    print(sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix}))
