"""Make realistic symptom reports sampled from the sync model: the demo file, or a big benchmark.

Each report is one case drawn from the model; the person answered a random subset of the
questions (the common ones more often), in the varied spellings people use ("Yes", "no",
"TRUE", "y"). A ticket id, a received date and a free-text note (commas, quotes, the odd line
break, "NA") come along; `--bad` rows get an answer that is not a state. Deterministic per seed.

    python benchmarks/make_reports.py                       # models/icloud_sync.reports.csv
    python benchmarks/make_reports.py --rows 5000000 --bad 0 -o /tmp/reports-5m.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import syncdx
from syncdx.network._sampling import sample

#: How often each kind of question is answered: a support form asks these first.
COMMON = {
    "paused_banner": 0.85,
    "affected_devices": 0.8,
    "internet_works": 0.7,
    "other_icloud_sync_failing": 0.6,
    "system_status": 0.35,
    "storage_full_alert": 0.3,
}
OTHER = 0.1
YES = ["yes"] * 10 + ["Yes"] * 6 + ["YES", "y", "Y", "TRUE", "true", "1", " yes"]
NO = ["no"] * 10 + ["No"] * 6 + ["NO", "n", "N", "FALSE", "false", "0", "no "]
NOTES = [
    'Customer says "Syncing with iCloud paused" on her Mac, iPhone fine',
    "Messages missing on iPad, arrived on iPhone",
    "Tried restarting, no change; asked to check Send & Receive",
    'Says it "just stopped", after the weekend',
    "NA",
    "None",
    "",
    "Old texts only show up, new ones don't",
    "Work laptop on office Wi-Fi, home is fine",
    'Storage bar "almost full", will upgrade later',
    "Called twice.\nSecond call: still paused",
    "Changed password last week, on the Mac",
]
BAD = ["maybe", "not sure", "yes?", "2 devices", "green", "unknown", "idk", "sometimes"]


def reports(rows: int, bad: int, seed: int) -> pd.DataFrame:
    """`rows` reports as text columns; `bad` of them with one answer that is not a state."""
    rng = np.random.default_rng(seed)
    model = syncdx.load_model()
    network = model.network
    draws = sample(network, rows, rng)
    frame = pd.DataFrame(
        {
            "ticket": [f"T-{i:06d}" for i in range(1, rows + 1)],
            "received_at": _dates(rows, rng),
            "customer_note": np.asarray(NOTES, dtype=object)[rng.integers(len(NOTES), size=rows)],
        }
    )
    for name in model.observations:
        states = draws[:, network.index[name]]
        frame[name] = _answers(model.states(name), states, COMMON.get(name, OTHER), rng)
    for row in rng.choice(rows, size=min(bad, rows), replace=False):
        name = list(COMMON)[rng.integers(len(COMMON))]
        frame.loc[row, name] = BAD[rng.integers(len(BAD))]
    return frame


def _dates(rows: int, rng: np.random.Generator) -> np.ndarray:
    seconds = np.sort(rng.integers(0, 90 * 86400, size=rows))
    stamps = np.datetime64("2025-03-01T08:00:00") + seconds.astype("timedelta64[s]")
    return np.datetime_as_string(stamps, unit="m")


def _answers(
    states: tuple[str, ...], drawn: np.ndarray, answered: float, rng: np.random.Generator
) -> np.ndarray:
    """The drawn states in people's spellings, blank where the question went unanswered."""
    if states == ("yes", "no"):
        spellings = [np.asarray(YES, dtype=object), np.asarray(NO, dtype=object)]
        pick = rng.integers(len(YES), size=len(drawn))
        text = np.where(drawn == 0, spellings[0][pick], spellings[1][pick % len(NO)])
    else:
        names = np.asarray(states, dtype=object)
        text = np.where(
            rng.random(len(drawn)) < 0.9, names[drawn], np.char.upper(names[drawn].astype(str))
        )
    return np.where(rng.random(len(drawn)) < answered, text, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--bad", type=int, default=8, help="rows with an answer not a state")
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("-o", "--output", default="models/icloud_sync.reports.csv")
    args = parser.parse_args(argv)
    frame = reports(args.rows, args.bad, args.seed)
    if args.output.endswith(".parquet"):
        frame.to_parquet(args.output, index=False, row_group_size=100_000)
    else:
        frame.to_csv(args.output, index=False)
    print(f"wrote {len(frame):,} reports to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
