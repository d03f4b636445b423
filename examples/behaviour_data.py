#!/usr/bin/python3
"""Write a user-behaviour dataset with planted anomalies, for the end-to-end
example of docs/behaviour.md.

    /usr/bin/python3 examples/behaviour_data.py OUT.csv [--users N] [--seed S]

One line per session of a web shop's user, in time order:

    user_id,device,timestamp,clicks,amount,items,session_seconds,label

Every user has habits of their own: a main device (Desktop, Mobile or
Tablet), hours of the day around a personal peak, a clicking pace and a
typical basket (items and amount). A session follows them with noise. About
3 % of the sessions are anomalies (label 1), three kinds in equal numbers,
each chosen so that the raw numbers alone barely show it:

- night burst: between 01:00 and 04:30, a short session with many clicks
  (ten times the user's pace): unusual in time and in clicks per second;
- amount far above the user's own baseline: 5 to 8 times what this user
  spends, for users who spend little, so the amount is ordinary for the
  shop as a whole (only the user's own history shows it); only after the
  user's tenth session, so there is a history;
- a rare device: "Emulator", never used in normal sessions; every number
  is ordinary.

The file is the same for the same arguments on every machine (numpy's
PCG64 generator with a fixed seed; numpy only).
"""
import argparse

import numpy as np

DEVICES = np.array(["Desktop", "Mobile", "Tablet"])
START = np.datetime64("2024-03-04T00:00:00")  # a Monday
DAYS = 28
KINDS = ("night_burst", "amount_spike", "rare_device")


def users(rng, n):
    """Per-user habits, as arrays of length n."""
    return {
        "id": np.array(["u%03d" % u for u in range(n)]),
        "device": rng.choice(3, n, p=[0.5, 0.4, 0.1]),
        "peak_hour": rng.uniform(9, 21, n),
        "clicks_per_minute": rng.uniform(1, 4, n),
        "items": 1 + rng.poisson(1.5, n),
        "amount": np.exp(rng.normal(3.2, 0.7, n)),  # median about 25
    }


def sessions(rng, habits):
    """Normal sessions of every user, with the user index of each."""
    n_users = len(habits["id"])
    per_user = rng.poisson(60, n_users) + 15
    user = np.repeat(np.arange(n_users), per_user)
    n = len(user)
    day = rng.integers(0, DAYS, n)
    hour = rng.normal(habits["peak_hour"][user], 2.5)
    awake = (hour >= 6) & (hour < 24)
    hour = np.where(awake, hour, rng.uniform(6, 24, n))  # nobody shops at night
    seconds = np.exp(rng.normal(np.log(300), 0.5, n))
    clicks = rng.poisson(habits["clicks_per_minute"][user] * seconds / 60) + 1
    items = np.maximum(1, rng.poisson(habits["items"][user]))
    amount = habits["amount"][user] * items / habits["items"][user] * np.exp(rng.normal(0, 0.25, n))
    other = (habits["device"][user] + rng.integers(1, 3, n)) % 3  # one of the other two
    device = np.where(rng.random(n) < 0.85, habits["device"][user], other)
    return {"user": user, "day": day, "hour": hour, "seconds": seconds, "clicks": clicks,
            "items": items, "amount": amount, "device": DEVICES[device].astype(object),
            "label": np.zeros(n, dtype=int)}


def plant(rng, s, habits, rate):
    """Turn about `rate` of the sessions into anomalies of the three kinds."""
    n = len(s["user"])
    order = np.lexsort((s["hour"], s["day"], s["user"]))  # each user's sessions in time order
    rank = np.empty(n, dtype=int)
    for u in np.unique(s["user"]):
        mine = order[s["user"][order] == u]
        rank[mine] = np.arange(len(mine))
    cheap = habits["amount"][s["user"]] < np.median(habits["amount"])
    per_kind = int(rate * n / len(KINDS))
    taken = np.zeros(n, dtype=bool)
    for kind in KINDS:
        allowed = ~taken & (rank >= 10)
        if kind == "amount_spike":
            allowed &= cheap
        rows = rng.choice(np.flatnonzero(allowed), per_kind, replace=False)
        taken[rows] = True
        s["label"][rows] = 1
        if kind == "night_burst":
            s["hour"][rows] = rng.uniform(1, 4.5, per_kind)
            s["seconds"][rows] = rng.uniform(20, 60, per_kind)
            pace = 10 * habits["clicks_per_minute"][s["user"][rows]]
            s["clicks"][rows] = rng.poisson(pace * s["seconds"][rows] / 60) + 1
        elif kind == "amount_spike":
            s["amount"][rows] = habits["amount"][s["user"][rows]] * rng.uniform(5, 8, per_kind)
        else:
            s["device"][rows] = "Emulator"


def write(path, s, habits):
    offset = (s["day"] * 86400 + s["hour"] * 3600).astype("int64")
    order = np.argsort(offset, kind="stable")
    stamps = (START + offset.astype("timedelta64[s]")).astype(str)
    with open(path, "w") as f:
        f.write("user_id,device,timestamp,clicks,amount,items,session_seconds,label\n")
        for i in order:
            f.write("%s,%s,%s,%d,%.2f,%d,%.1f,%d\n" % (
                habits["id"][s["user"][i]], s["device"][i], stamps[i].replace("T", " "),
                s["clicks"][i], s["amount"][i], s["items"][i], s["seconds"][i], s["label"][i]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the CSV file to write")
    parser.add_argument("--users", type=int, default=150, help="number of users (150)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--rate", type=float, default=0.03, help="anomaly fraction (0.03)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    habits = users(rng, args.users)
    s = sessions(rng, habits)
    plant(rng, s, habits, args.rate)
    write(args.out, s, habits)


if __name__ == "__main__":
    main()
