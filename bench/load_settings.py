"""Settings for bench/bench_load.py's server: the app's own, plus one bare JSON endpoint (the
baseline the diary writes are compared with; bench/load_urls.py). Only the benchmark's server
uses this module; the app never serves that endpoint."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"

# Served as production serves it: each worker keeps its database connection (the test settings
# open one per request).
DATABASES["default"]["CONN_MAX_AGE"] = PRODUCTION_CONN_MAX_AGE  # noqa: F405
