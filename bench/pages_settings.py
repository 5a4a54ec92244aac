"""Settings for bench/bench_pages.py's server: the app's own, plus one extra static folder that
holds the full plotly.js bundle (the baseline the partial bundle is compared with). Only the
benchmark's server uses this module; the app never serves the full bundle."""

import os

from config.settings import *  # noqa: F403
from config.settings import STATICFILES_DIRS

STATICFILES_DIRS = [*STATICFILES_DIRS, os.environ["BENCH_BASELINE_STATIC"]]
