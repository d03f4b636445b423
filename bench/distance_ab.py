"""One detector of bench/distance.py on one data set, measured as that
bench measures it (a fresh subprocess per fit, CPU seconds), for several
libanoma builds against scikit-learn in the same run: rounds alternate
scikit-learn and each build, and the medians are printed, so that a
change is measured before and after under the same load. Not a test.

    /usr/bin/python3 bench/distance_ab.py [--detector D] [--data NAME] [--rounds N] LIBRARY...

D defaults to mahalanobis, NAME to random:100000x10 (bench/distance.py's
names), N to 11.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distance  # noqa: E402


def option(args, name, default):
    if name in args:
        at = args.index(name)
        value = args[at + 1]
        del args[at:at + 2]
        return value
    return default


def main(args):
    detector = option(args, "--detector", "mahalanobis")
    name = option(args, "--data", "random:100000x10")
    rounds = int(option(args, "--rounds", "11"))
    libraries = [os.path.abspath(a) for a in args]
    if not libraries:
        sys.exit(__doc__)
    theirs, ours = [], {lib: [] for lib in libraries}
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    for _ in range(rounds):
        theirs.append(distance.run(libraries[0], "sklearn", detector, name))
        for lib in libraries:
            ours[lib].append(distance.run(lib, "anoma", detector, name))

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    print("| %s %s | fit s | score 2000 s | peak MiB | ratio (fit+score) |" % (detector, name))
    print("|---|---:|---:|---:|---:|")
    print("| scikit-learn | %.4f | %.5f | %.1f | |" % (
        median(theirs, "fit"), median(theirs, "score"), median(theirs, "peak")))
    peer = median(theirs, "fit") + median(theirs, "score")
    for lib in libraries:
        runs = ours[lib]
        print("| %s | %.4f | %.5f | %.1f | %.2fx |" % (
            lib, median(runs, "fit"), median(runs, "score"), median(runs, "peak"),
            peer / (median(runs, "fit") + median(runs, "score"))))
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main(sys.argv[1:])
