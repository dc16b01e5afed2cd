"""How long the fuzz tests run: briefly in CI, longer by hand.

CI runs a fixed, derandomized set of examples with a per-example deadline, so a run is
reproducible and bounded. `MAILBOT_FUZZ_EXAMPLES=20000 .venv/bin/pytest --timeout=0 tests/fuzz`
runs more, from a random seed each time (hypothesis prints the smallest failing input).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("MAILBOT_FUZZ_EXAMPLES", "0"))

fuzz = settings(
    max_examples=EXAMPLES or 120,
    derandomize=not EXAMPLES,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
