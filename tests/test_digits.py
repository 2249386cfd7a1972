"""Numbers a user, an inventory or a host writes are ASCII digits, on every Python.

`\\d` and int() take any script's digits ('٨٠' is 80), and which characters are digits
depends on the interpreter's Unicode version (Kawi's, U+11F50.., from Python 3.12 on): a
port, a review period, a shard or a host-name range must not change with either.
"""

from __future__ import annotations

import pytest

from fleetcheck.engine.shards import parse_fraction
from fleetcheck.errors import InputError
from fleetcheck.parsers.common import family_for
from fleetcheck.policy.review import parse_period
from fleetcheck.render.groups import compact_hosts, count_hosts
from tests.policy.helpers import rule

# Arabic-Indic (digits on every Python), Kawi (from Unicode 15, Python 3.12), and one
# of each mixed with ASCII.
OTHER_DIGITS = ["\u0668\u0660", "\U00011f58\U00011f50", "8\u0660", "\U00011f58" + "0"]


@pytest.mark.parametrize("digits", OTHER_DIGITS)
def test_other_scripts_digits_are_no_number(digits: str) -> None:
    with pytest.raises(InputError, match="port must be a number"):
        rule(f"port: '{digits}'")
    with pytest.raises(InputError, match="port must be a number"):
        rule(f"port: '{digits}-90'")
    with pytest.raises(ValueError, match="not a review period"):
        parse_period(f"{digits} days")
    with pytest.raises(InputError, match="expected K/N"):
        parse_fraction(f"1/{digits}")
    assert family_for(f"{digits}.0.0.1", 6) == 6
    # Host names that differ only in such digits are listed as they are, never as a range
    # of ASCII numbers another host may bear.
    names = [f"web{digits}", "web81", "web82", "web83"]
    assert sorted(compact_hosts(names)) == sorted([f"web{digits}", "web[81:83]"])
    assert count_hosts([f"web[{digits}:90]"]) == 1


def test_ascii_digits_still_are() -> None:
    assert rule("port: ' 80 - 90 '").match.ports == ((80, 90),)
    assert parse_period("6 months").count == 6
    assert parse_fraction("2/4") == (2, 4)
    assert family_for("10.0.0.1", 6) == 4
    assert compact_hosts(["web80", "web81", "web82"]) == ["web[80:82]"]
