"""Shared pytest configuration."""

import os

from hypothesis import settings

# CI replays the same examples every run (reproducible results); local runs keep exploring new
# random examples, which is how new failures are found.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
