"""Cron schedules of CronJobs, checked the way Kubernetes reads them.

Kubernetes parses `spec.schedule` with robfig/cron's standard parser: five fields (minute, hour,
day of month, month, day of week) or a macro, day of week 0-6, no seconds, no `L`/`W`/`#`, and no
`TZ=` prefix (a CronJob has `spec.timeZone` for that). Field ranges and names are checked by a real
cron parser (cronsim); a schedule that can never fire (31 February) is refused too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from .spec import Issue, fail

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
FIELDS = ("minute", "hour", "day of month", "month", "day of week")
ALLOWED = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-6 or SUN-SAT")
CRONSIM_FIELD = {"minute": 0, "hour": 1, "day-of-month": 2, "month": 3, "day-of-week": 4}
NON_STANDARD = re.compile(r"(^|[,/-])(\d*L|\d+W|LW|\d+#\d+)($|[,/-])")


def cron_problem(value: str) -> str | None:
    """What is wrong with a schedule, or None if Kubernetes would run it."""
    schedule = value.strip()
    if schedule.startswith("@"):
        return None if schedule in MACROS else f"unknown macro; Kubernetes knows {', '.join(MACROS)}"
    if re.match(r"^(CRON_)?TZ=", schedule):
        return "Kubernetes refuses a TZ= prefix: set the schedule in UTC (or the CronJob's timeZone)"
    fields = schedule.split()
    if len(fields) != 5:
        return f"has {len(fields)} fields; Kubernetes needs five ({', '.join(FIELDS)}) or a macro such as @hourly"
    for name, field in zip(FIELDS, fields, strict=True):
        if NON_STANDARD.search(field.upper()):
            return f"{name} field {field!r} uses L, W or #, which Kubernetes does not support"
    if re.search(r"(^|[,-])7($|[,/-])", fields[4]):
        return "day of week 7 is not accepted by Kubernetes: Sunday is 0"
    # `?` means "any" in the day fields for Kubernetes' parser; cronsim spells it `*`.
    standard = " ".join(f.replace("?", "*") if i in (2, 4) else f for i, f in enumerate(fields))
    try:
        CronSim(standard, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        bad = str(error).lower().removeprefix("bad ").rstrip(".")
        index = CRONSIM_FIELD.get(bad)
        if index is None:
            return str(error)
        if index == 2 and all(1 <= int(n) <= 31 for n in re.findall(r"\d+", fields[2])):
            return f"never fires: no month in {fields[3]!r} has day {fields[2]}"
        return f"{FIELDS[index]} field {fields[index]!r} is out of range or malformed (allowed: {ALLOWED[index]})"
    return None


def cron(value: str) -> str:
    """A pydantic validator: the schedule or every problem with it."""
    problem = cron_problem(value)
    if problem is not None:
        fail([Issue((), value, problem)])
    return value
