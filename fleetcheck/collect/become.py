"""Become methods: the command that gains privilege, and how its password is asked for.

What is specific to a method lives in METHODS, one row each; the rest is shared: a
password is never put on a command line, and it is written to the command's stdin only
after the method's own prompt appeared (`transport.base.Answer`). A host that never
prompts (an echoing login shell, an appliance CLI) is never sent it.

sudo reads the password from stdin (`-S`) and prints a prompt fleetcheck chooses per
command on stderr. su and doas read it from a terminal: with a password the command
runs on a pseudo-terminal, where stdout and stderr merge and the line discipline would
rewrite newlines, so the privileged shell first turns that off (`stty -echo -opost`),
then prints a per-run line saying it is running (`ready`), and sends its own stderr to
/dev/null: what came before `ready` is the method's chatter, what follows is exactly
the probe's stdout. Without a password (sudo -n, doas -n, su as root) nothing waits
for a terminal and the streams stay apart.

A sudo that demands a terminal (`Defaults requiretty`) refuses even `sudo -n` without one;
Ansible always asks ssh for a terminal, so it never meets that refusal. fleetcheck keeps
the streams apart where it can and runs the command again on a terminal, the way su's
runs, only for a host whose sudo said so (`Method.wants_tty`, `terminal=True`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.frozen import frozen
from fleetcheck.plan import Become
from fleetcheck.plan.variables import BECOME_METHODS
from fleetcheck.transport.base import Answer
from fleetcheck.transport.quote import sh_join, sh_quote


@frozen
class Prompt:
    """A per-run prompt: `argument` goes on the command line, `shown` is what the method prints.

    They differ on purpose (sudo turns `%%` into `%`): a host that echoes its command
    line back does not print `shown`, so it is not taken for the method asking.
    """

    argument: str
    shown: str


@frozen
class Method:
    """One become method: the command running argv with privilege, and how it asks.

    `command(become, argv, prompt)` is the whole argv; with `prompt` None it must fail
    rather than ask. `prompt(nonce)` is the per-run prompt a method lets fleetcheck choose
    (None: the method prints its own, matched by `asks`). `tty`: it reads the password
    from a terminal.
    """

    name: str
    command: Callable[[Become, list[str], Prompt | None], list[str]]
    word: str  # what the method's own error messages start with (to tell its refusals)
    prompt: Callable[[str], Prompt] | None = None
    asks: re.Pattern[bytes] | None = None  # the method's own prompt (it then waits for input)
    tty: bool = False
    # What the method says when it will run only on a terminal (sudo's requiretty), and
    # its command for such a host (same arguments as `command`).
    wants_tty: re.Pattern[str] | None = None
    on_terminal: Callable[[Become, list[str], Prompt | None], list[str]] | None = None


def _sudo_prompt(nonce: str) -> Prompt:
    return Prompt(f"[fleetcheck {nonce}%%] password: ", f"[fleetcheck {nonce}%] password: ")


def _flags(become: Become, *, password: bool) -> list[str]:
    """ansible_become_flags; with a password, without `-n` (as ansible-core drops it)."""
    if not password:
        return list(become.flags)
    return [f for f in become.flags if f not in ("-n", "--non-interactive")]


# sudo's options that take no argument: a cluster of them (`-Hi`) is read letter by letter.
_SUDO_LONE = frozenset("AbEeHiKklnPSsVv")


def _no_shell(flags: list[str]) -> list[str]:
    """`flags` without sudo's -i/-s (--login/--shell), even inside a cluster like `-Hi`.

    With them sudo hands the command to a shell as one line, escaping every character but
    `$`: that shell expands the probe's `$1`, `"$@"`, ... before it runs (Ansible's own
    command has no `$`). The probe needs no login environment of root's, so they go.
    """
    kept = []
    for flag in flags:
        if flag in ("--login", "--shell"):
            continue
        letters = flag[1:]
        if flag.startswith("-") and letters and set(letters) <= _SUDO_LONE:
            rest = letters.replace("i", "").replace("s", "")
            kept += [f"-{rest}"] if rest else []
        else:
            kept.append(flag)
    return kept


def _sudo(become: Become, argv: list[str], prompt: Prompt | None) -> list[str]:
    # -S: the prompt goes to stderr and the password is read from stdin.
    asking = ["-S", "-p", prompt.argument] if prompt is not None else ["-n"]
    return _sudo_argv(become, argv, asking, password=prompt is not None)


def _sudo_on_terminal(become: Become, argv: list[str], prompt: Prompt | None) -> list[str]:
    # No -S: sudo reads the password from the terminal with its echo turned off.
    asking = ["-p", prompt.argument] if prompt is not None else ["-n"]
    return _sudo_argv(become, argv, asking, password=prompt is not None)


def _sudo_argv(become: Become, argv: list[str], asking: list[str], *,
               password: bool) -> list[str]:
    exe = list(become.exe) or ["sudo"]
    return [*exe, *_no_shell(_flags(become, password=password)), *asking,
            "-u", become.user, "--", *argv]


# su and doas print their prompts in the C locale: that is what is looked for.
_C_LOCALE = ["env", "LC_ALL=C"]


def _su(become: Become, argv: list[str], prompt: Prompt | None) -> list[str]:
    if become.user.startswith("-"):  # su would read it as an option
        raise HostFailure(ErrorKind.INVENTORY, f"become user {become.user!r} cannot be given "
                                               "to su (it starts with '-')")
    exe = list(become.exe) or ["su"]
    # su runs `-c STRING` with the target user's shell: the argv goes as one quoted line.
    return [*_C_LOCALE, *exe, *become.flags, become.user, "-c", sh_join(argv)]


def _doas(become: Become, argv: list[str], prompt: Prompt | None) -> list[str]:
    exe = list(become.exe) or ["doas"]
    password = prompt is not None or bool(become.password)
    return [*_C_LOCALE, *exe, *_flags(become, password=password),
            *([] if password else ["-n"]), "-u", become.user, *argv]


METHODS: dict[str, Method] = {
    "sudo": Method("sudo", _sudo, "sudo", prompt=_sudo_prompt,
                   wants_tty=re.compile(r"you must have a tty to run sudo"),
                   on_terminal=_sudo_on_terminal),
    # PAM's prompt in the C locale (util-linux and BSD su alike).
    "su": Method("su", _su, "su", asks=re.compile(rb"Password: ?"), tty=True),
    # OpenBSD doas and OpenDoas: "doas (login@host) password: ".
    "doas": Method("doas", _doas, "doas", tty=True,
                   asks=re.compile(rb"\r?doas \([^()\n]{1,300}\) password: ?")),
}
assert tuple(METHODS) == BECOME_METHODS  # planning refuses the methods not served here


SCRIPT_END = "END_OF_PROBE"  # the here-document's end in a record: never a probe's line


@frozen
class Becoming:
    """A becoming command line, what its stdin answers, (on a terminal) its ready line, and
    the method's prompt (fleetcheck's text or the method's own: no evidence of the host);
    or, without become, the command line and the `script` it reads on its stdin."""

    command: str
    answer: Answer | None = None
    ready: bytes | None = None  # the line the privileged shell prints once it runs (tty)
    prompt: bytes | re.Pattern[bytes] | None = None
    script: str | None = None  # sent on stdin, with a line end, then end-of-file

    @property
    def stdin(self) -> bytes | Answer | None:
        """What the transport writes to the command's stdin."""
        return self.answer if self.script is None else f"{self.script}\n".encode()

    @property
    def recorded(self) -> str:
        """The command as its record keeps it: with the script sent on stdin written as a
        here-document, a command line that runs exactly what ran (`script` is one line)."""
        if self.script is None:
            return self.command
        return f"{self.command} <<'{SCRIPT_END}'\n{self.script}\n{SCRIPT_END}"

    def unprompted(self, text: bytes) -> bytes:
        """`text` without the method's prompts."""
        if self.prompt is None:
            return text
        if isinstance(self.prompt, bytes):
            return text.replace(self.prompt, b"")
        return self.prompt.sub(b"", text)


def method_of(become: Become) -> Method:
    """The Method for `become`; UNSUPPORTED for a method fleetcheck does not know."""
    method = METHODS.get(become.method)
    if method is None:
        raise HostFailure(ErrorKind.UNSUPPORTED,
                          f"become method {become.method!r} is not supported "
                          f"(fleetcheck becomes with {', '.join(METHODS)})")
    return method


def become_command(argv: list[str], become: Become, nonce: str | None = None, *,
                   terminal: bool = False) -> Becoming:
    """The command line running `argv` (`[shell, -c, script]`) with privilege, and the Answer
    for its stdin (if any); with `terminal`, on a terminal even where the method needs none.

    With a password, the privileged command's own stdin is /dev/null: whether or not the
    method asked, nothing it runs can read (or wait for) what fleetcheck writes.
    """
    method = method_of(become)
    if terminal and method.on_terminal is not None:
        return _on_terminal(argv, become, nonce, method, method.on_terminal)
    if become.password is None:
        return Becoming(sh_join(method.command(become, argv, None)), prompt=method.asks)
    shell, flag, script, *pieces = argv  # pieces: the script's own arguments ($0, $1, ...)
    if method.prompt is not None:
        prompt = method.prompt(secrets.token_hex(8))
        closed = [shell, flag, f"exec </dev/null; {script}", *pieces]
        shown = prompt.shown.encode()
        return Becoming(sh_join(method.command(become, closed, prompt)),
                        Answer(shown, (become.password + "\n").encode()), prompt=shown)
    return _on_terminal(argv, become, nonce, method, method.command)


def _on_terminal(argv: list[str], become: Become, nonce: str | None, method: Method,
                 command: Callable[[Become, list[str], Prompt | None], list[str]]) -> Becoming:
    """`argv` run by `command` (one of `method`'s) on a terminal: the privileged shell makes
    the terminal pass output unchanged, then prints its ready line; fleetcheck's own prompt
    is awaited where the method lets it choose one (sudo), else the method's own (`asks`)."""
    shell, flag, script, *pieces = argv
    mark = f"@@fleetcheck:{nonce or secrets.token_hex(8)}"
    ready = f"{mark} ready\n".encode()
    # printf's format keeps the ready line itself off the command line (an echoing host
    # prints the command line, never the line).
    opening = (f"stty -echo -opost 2>/dev/null; printf '%s ready\\n' {sh_quote(mark)}; "
               "exec </dev/null 2>/dev/null")
    inner = [shell, flag, f"{opening}; {script}", *pieces]
    if become.password is None:
        # Nothing to type (sudo -n): the terminal is all the method wants; the ready line
        # is the "prompt" answered with nothing.
        return Becoming(sh_join(command(become, inner, None)), Answer(ready, b"", tty=True),
                        ready, method.asks)
    prompt = method.prompt(secrets.token_hex(8)) if method.prompt is not None else None
    asks = prompt.shown.encode() if prompt is not None else method.asks
    assert asks is not None
    return Becoming(sh_join(command(become, inner, prompt)),
                    Answer(asks, terminal_line(become.password), tty=True), ready, asks)


def terminal_line(text: str) -> bytes:
    """`text` typed as one line on a terminal: each control character is preceded by the
    terminal's literal-next (^V), so the line discipline takes none for an edit or a signal."""
    data = text.encode()
    return b"".join(b"\x16" + bytes([c]) if c < 0x20 or c == 0x7F else bytes([c])
                    for c in data) + b"\n"
