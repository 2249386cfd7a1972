"""Become methods: the command prefix that gains privilege, and how its password is asked for.

What is specific to a method lives in METHODS, one row each; the rest is shared: a
password is never put on a command line, and it is written to the command's stdin only
after the method's own prompt appeared on stderr (`transport.base.Answer`). A host that
never prompts (an echoing login shell, an appliance CLI) is never sent it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.plan import Become
from fleetcheck.transport.base import Answer
from fleetcheck.transport.quote import sh_join


@dataclass(frozen=True, slots=True)
class Prompt:
    """A per-run prompt: `argument` goes on the command line, `shown` is what the method prints.

    They differ on purpose (sudo turns `%%` into `%`): a host that echoes its command
    line back does not print `shown`, so it is not taken for the method asking.
    """

    argument: str
    shown: str


@dataclass(frozen=True, slots=True)
class Method:
    """One become method: its argv prefix without a password (never asks) and with one."""

    name: str
    no_password: Callable[[str], list[str]]  # user -> argv prefix that fails rather than ask
    with_password: Callable[[str, Prompt], list[str]]  # user, prompt -> argv prefix
    prompt: Callable[[str], Prompt]  # nonce -> the prompt to wait for
    word: str  # what the method's own error messages start with (to tell its refusals)


def _sudo_prompt(nonce: str) -> Prompt:
    return Prompt(f"[fleetcheck {nonce}%%] password: ", f"[fleetcheck {nonce}%] password: ")


METHODS: dict[str, Method] = {
    "sudo": Method(
        "sudo",
        no_password=lambda user: ["sudo", "-n", "-u", user, "--"],
        # -S: the prompt goes to stderr and the password is read from stdin.
        with_password=lambda user, p: ["sudo", "-S", "-p", p.argument, "-u", user, "--"],
        prompt=_sudo_prompt,
        word="sudo",
    ),
}


def method_of(become: Become) -> Method:
    """The Method for `become`; UNSUPPORTED for a method fleetcheck does not know."""
    method = METHODS.get(become.method)
    if method is None:
        raise HostFailure(ErrorKind.UNSUPPORTED,
                          f"become method {become.method!r} is not supported "
                          f"(known: {', '.join(METHODS)})")
    return method


def become_command(argv: list[str], become: Become) -> tuple[str, Answer | None]:
    """The command line running `argv` with privilege, and the Answer for its stdin (if any).

    With a password, the privileged command's own stdin is /dev/null: whether or not the
    method asked, nothing it runs can read (or wait for) what fleetcheck writes.
    """
    method = method_of(become)
    if become.password is None:
        return sh_join([*method.no_password(become.user), *argv]), None
    prompt = method.prompt(secrets.token_hex(8))
    shell, flag, script, *pieces = argv
    closed = [shell, flag, f"exec </dev/null; {script}", *pieces]
    command = sh_join([*method.with_password(become.user, prompt), *closed])
    return command, Answer(prompt.shown.encode(), (become.password + "\n").encode())
