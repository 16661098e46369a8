"""Cron schedules of CronJobs, checked the way Kubernetes reads them."""

from __future__ import annotations

import re

from .spec import Issue, fail

CRON = re.compile(r"^(\S+\s+){4}\S+$")


def cron(value: str) -> str:
    if not CRON.match(value.strip()):
        fail([Issue((), value, "must be a five-field cron schedule, e.g. '0 3 * * *'")])
    return value
