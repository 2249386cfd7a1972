"""What the probe fetches after a Linux tool listed the host, in the same round trip: the
names of the uids that own listening sockets, and the names of the processes a tool
named by their command line or masked (`FOLLOW_UPS`, by tool)."""

from __future__ import annotations

from fleetcheck.collect.nsprobe import COMMS, PID_STATS, SS_PID_STATS
from fleetcheck.frozen import frozen

# The passwd entries of the uids in $u: getent asks NSS (LDAP/SSSD users too) for just
# those; where getent is missing /etc/passwd is the whole answer.
USER_LOOKUP = ("if command -v getent >/dev/null 2>&1; then getent passwd $u; "
               "else cat /etc/passwd; fi 2>/dev/null")
# The non-root uids owning sockets in the kernel's tables (column 8), each once, in $u.
TABLE_UIDS = ("fc_a='FNR > 1 && $8 ~ /^[1-9][0-9]*$/ && s[$8]++ == 0 {printf \"%s \", $8}'; "
              'u=$(awk "$fc_a" /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 '
              "2>/dev/null)")

# After a tool worked, what else the same round trip should fetch: the names of the uids
# that own listening sockets. ss -e shows uids (even without root); net-tools netstat -e
# under -n shows numbers in its User column (6th field of a UDP row without State, else
# 7th; counting from the end fails on program names with spaces). The uids come from
# the output already captured in $o (running the tool twice doubled the probe's cost),
# each once; only the last uid: of an ss row is real, a process name may hold the text.
# uid 0 is root everywhere, so hosts where only root listens run no lookup at all (ss
# rows of other users carry 'uid:', so without it not even the lister runs);
# `getent passwd UIDS` asks NSS (LDAP/SSSD users too) for just the others, and where
# getent is missing /etc/passwd is the whole answer. The part always ends with 0.
# No '!' before a word: csh expands history even in `csh -c` and inside quotes.
_UID_LISTERS = {  # tool -> (text without which no uid but root's is shown, or "", the lister)
    "ss": ("uid:", "awk '{u=\"\"; for (i = 1; i <= NF; i++) "
                   "if ($i ~ /^uid:[0-9]+$/) u = substr($i, 5); "
                   "if (u ~ /^[1-9][0-9]*$/ && s[u]++ == 0) printf \"%s \", u}'"),
    "netstat": ("", "awk '/^(tcp|udp)/ {u = ($6 ~ /^[0-9]+$/) ? $6 : $7; "
               "if (u ~ /^[1-9][0-9]*$/ && s[u]++ == 0) printf \"%s \", u}'"),
}
# ss's uids are read by the shell itself, from the words of $o: awk cost every host with a
# non-root listener (most real ones: a resolver, a time daemon) a fork and an exec,
# ~1.6 ms, where the words cost ~6 µs a row. Over _UIDS_READ bytes (~250 rows) awk is the
# cheaper again and reads them. Every `uid:N` word is taken, the last of a row (the real
# one) with any a process name holds: such a name costs a lookup, and hides nothing. The
# digits are spelled out (dash knows no '^' in a bracket, and csh expands '!').
_UIDS_READ = 32768
_UID_WORD = "|".join("uid:[1-9]" + "[0-9]" * k for k in range(10))  # uids are 32-bit
SS_UIDS = f"""
fc_ssuids() {{
  u=
  if [ ${{#o}} -gt {_UIDS_READ} ]; then
    u=$(printf '%s\\n' "$o" | {_UID_LISTERS["ss"][1]}); return 0
  fi
  set -f
  for fc_w in $o; do
    case $fc_w in
    {_UID_WORD}) case " $u" in *" ${{fc_w#uid:}} "*) ;; *) u="$u${{fc_w#uid:}} ";; esac;;
    esac
  done
  set +f
}}
"""


@frozen
class FollowUp:
    """A part read after a tool succeeded: `prepare` (from the tool's output in $o), then
    `command` when `needed` holds (always when empty); the part always ends with 0."""

    part: str
    prepare: str
    needed: str
    command: str


def _users(marker: str, lister: str) -> FollowUp:
    """The passwd entries of the non-root uids `lister` finds in $o."""
    uids = f"u=$(printf '%s\\n' \"$o\" | {lister})"
    if marker:  # without the marker the output names no uid but root's: skip the lister
        uids = f"u=; case \"$o\" in *{marker}*) {uids};; esac"
    return FollowUp("users", uids, '[ -n "$u" ]', USER_LOOKUP)


# netstat names processes by their command line: each listed pid's comm is read too
# (nsprobe.PID_STATS says why and how); so is it where ss masked a name (SS_PID_STATS).
_NAMES = FollowUp("names", PID_STATS, '[ -n "$fc_p" ]', "cat $fc_p 2>/dev/null")
FOLLOW_UPS: dict[str, tuple[FollowUp, ...]] = {
    "ss": (FollowUp("users", 'u=; case "$o" in *uid:*) fc_ssuids;; esac', '[ -n "$u" ]',
                    USER_LOOKUP),
           FollowUp("names", SS_PID_STATS, '[ -n "$fc_p" ]', COMMS)),
    "netstat": (_users(*_UID_LISTERS["netstat"]),),
}
FOLLOW_UPS["netstat"] += (_NAMES,)
FOLLOW_UPS["busybox-netstat"] = (_NAMES,)
# lsof on Linux leaves out a process whose name leaves a '(' unclosed ('a(b', 'a((b)') or
# goes on after a ')' with the word 'Z' ('a)Z b': it misreads its /proc/PID/stat), so any
# user could hide a listener from it: the kernel's own tables are read too, and a socket
# lsof did not list is reported with the owner the tables give (its uid, looked up as the
# /proc fallback does) and no process.
# lsof reads a name from /proc/PID/stat up to the ')' closing its '(' ('a)b' shows as 'a'),
# as ss does: each listed pid's comm is read too (`combine` names the process by it where
# it is what lsof printed of it). lsof prints a name as one word (escaped), so the pid is
# a row's second word; awk reads them (lsof itself costs far more than its one exec).
# Every holder's age is read too (`fc_ages`; nsprobe says why only where asked).
LSOF_PIDS = ("fc_p=$(printf '%s\\n' \"$o\" | awk '$2 ~ /^[0-9]+$/ && length($2) < 8 "
             "&& s[$2]++ == 0 {printf \" /proc/%s/stat\", $2}'); fc_ages=1")
FOLLOW_UPS["lsof"] = (FollowUp("tables", "", "", "cat /proc/net/tcp /proc/net/tcp6 "
                                                 "/proc/net/udp /proc/net/udp6 2>/dev/null"),
                      FollowUp("users", TABLE_UIDS, '[ -n "$u" ]', USER_LOOKUP),
                      FollowUp("names", LSOF_PIDS, '[ -n "$fc_p" ]', COMMS))
