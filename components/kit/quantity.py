"""Kubernetes resource quantities (`500m`, `1.5`, `2Gi`, `1e3`), parsed by the API server's grammar.

    quantity ::= <signedNumber><suffix>
    suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | <decimalExponent>

(k8s.io/apimachinery/pkg/api/resource). Parsed to an exact Decimal, so a limit derived from a
request (`twice the CPU`) is computed, not pattern-matched.
"""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

QUANTITY_HELP = "a number with an optional unit: Ki, Mi, Gi, Ti (binary), m, k, M, G, T (decimal) or an exponent"


class QuantityError(ValueError):
    pass


def parse_quantity(text: str) -> Decimal:
    """The exact value of a Kubernetes quantity; QuantityError if it is not one."""
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    if match is None:
        raise QuantityError(f"not a Kubernetes quantity ({QUANTITY_HELP}, e.g. 500m, 2Gi)")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    if suffix:
        return number.scaleb(int(suffix[1:]))
    return number


def cpu(text: str) -> str:
    """A CPU quantity the scheduler can honour: positive, at least one millicore."""
    value = parse_quantity(text)
    if value < Decimal("0.001"):
        raise QuantityError("must be at least 1m (one millicore)")
    return text


def memory(text: str) -> str:
    """A memory quantity: positive, at least one mebibyte (anything less is a unit mistake)."""
    value = parse_quantity(text)
    if value < 2**20:
        raise QuantityError("must be at least 1Mi (a bare number is bytes: write 512Mi or 2Gi)")
    return text


def scale_cpu(text: str, factor: int) -> str:
    """`factor` times a CPU quantity, in the unit it was written in (millicores stay millicores)."""
    value = parse_quantity(text) * factor
    if text.endswith("m") or value != value.to_integral_value():
        millicores = (value * 1000).to_integral_value()
        return f"{millicores}m"
    return str(value.to_integral_value())
