"""The probe's Linux step for other network namespaces: containers' listeners, same round trip.

After the host's own listing worked, `fc_ns TOOL COMMAND` looks whether any container
runtime's cgroup exists (`_UNDER_ROOTS` under each cgroup root, shell globs: on a host
without containers that is all it costs, and no command runs). If one does, without root
it says `netns unread`; as root it compares every process's network namespace with the
probe's (`test -ef`, a builtin) and prints, fenced like every section:

- `cgroups`: the cgroup lines that name a container runtime (`grep -H` of /proc/*/cgroup,
  every process: a hostNetwork pod's processes share the host's namespace);
- `netns.members` ('PID REP': each such process outside the host's namespace and the
  process chosen to stand for its namespace) and `netns.inodes` (`ls -l` of the
  representatives' /proc/PID/ns/net: the namespace inodes);
- per namespace `ns-REP.addrs` (its addresses: /proc/REP/net/fib_trie and if_inet6) and
  its listing: the host's own tool run inside it (`nsenter -t REP -n`), and when that
  is missing or fails the namespace's /proc/REP/net tables (`ns-REP.proc-net-tcp` ...)
  with the owner tables once (`nsowners.proc-*`); a namespace whose last process ended
  meanwhile is reported `nsgone REP`;
- what says which host ports reach a container: `nat.iptables`, `nat.ip6tables`
  (iptables-save, ip6tables-save), `nat.nft` (`nft list ruleset`), `docker-proxy` (the
  proxies' command lines); and one listing per runtime whose cgroups were seen
  (`runtime.docker`, `runtime.crictl`, `runtime.podman`), each a single call.

The shell picks namespaces loosely (a runtime's name anywhere in a cgroup line, but
never a path outside the host's cgroup namespace, '/..': other machines' containers
seen through a shared /proc are not read); which
of them are a container's of this host is decided in Python (`parsers.containers`),
which only believes paths that start where each runtime puts its containers. No step
changes a socket (no `ss -K`), a rule or a container. Without root the namespaces of
other users' processes cannot be read: the probe says `netns unread`.
"""

from __future__ import annotations

# Where runtimes put their containers' cgroups, under the root of the hierarchies mounted
# (cgroup v2 at /sys/fs/cgroup, or a hybrid's at /sys/fs/cgroup/unified; with cgroup v1
# runtimes make every container's cgroup in every hierarchy, so the named systemd one and
# memory's stand for them all): one of them existing is what makes the step look
# further. Mostly plain names (one lstat each) and a few globs over small directories, so
# a host without containers pays next to nothing; together they cover every path
# `parsers.containers.cgroup_container` recognises.
_V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")  # cgroup v2; a hybrid's v2
_V1_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/memory")  # runtimes make both
_UNDER_ROOTS = ("system.slice/docker-*", "system.slice/nerdctl-*", "docker", "kubepods",
                "kubepods.slice", "machine.slice", "libpod_parent", "lxc", "lxc.payload",
                "lxc.payload.*", "user.slice/user-*.slice/user@*.service/user.slice/libpod-*")
# Walked as a loop over the roots: the probe's text costs every host's login shell and sh
# time to read, and written out the paths were a sixth of it.
_CGROUP_LOOKS = f"""
fc_g=
for fc_b in {" ".join((*_V2_ROOTS, *_V1_ROOTS))}; do
  for fc_x in {" ".join(f"$fc_b/{where}" for where in _UNDER_ROOTS)}; do
    [ -e "$fc_x" ] && {{ fc_g=1; break 2; }}
  done
done
"""
# net-tools and BusyBox netstat name a process by its command line (argv[0], the base name
# only when it starts with '/'), so a daemon that retitles itself shows as 'sshd: /usr/sbin'
# or 'nginx: master pr' where ss, lsof and /proc show its kernel name (comm). After a
# netstat listing (in $o) the probe reads each listed pid's /proc/PID/stat too, in one
# `cat $fc_p`. The pids are the words of $o that are digits then '/', read with globbing
# off (a process name may hold '*'); the patterns spell out 1 to 7 digits (pid_max is at
# most 2^22) because a negated bracket needs '!', which csh would expand.
# A listing longer than _WORDS_READ bytes is not read word by word (dash takes ~0.13 s a
# megabyte of ss rows): a flood of output must reach the output limit, not the command
# timeout; the processes of so long a listing keep the names the tool printed.
_WORDS_READ = 2 * 1024 * 1024
_PID_WORDS = "|".join("[0-9]" * n + "/*" for n in range(1, 8))
_FC_PIDS = (f'fc_pids() {{ fc_p=; [ ${{#o}} -le {_WORDS_READ} ] || return 0; set -f; '
            f'for fc_w in $o; do case $fc_w in {_PID_WORDS}) '
            'case "$fc_p " in *" /proc/${fc_w%%/*}/stat "*) ;; '
            '*) fc_p="$fc_p /proc/${fc_w%%/*}/stat";; esac;; esac; done; set +f; }')
PID_STATS = "fc_pids"  # sets $fc_p from $o; defined once, with fc_ns
# ss reads a process's name from /proc/PID/stat up to its first ')' ('pa(re)n' shows as
# 'pa(re', 'x)y' as 'x'), and ss of iproute2 7 also prints each byte that is no ASCII as
# '?' and each control byte as '.'. Neither can be seen in the listing, so the probe reads
# the comm of every pid it names (`pid=N` in users:(...)) and `combine` names a process by
# it where it is what ss printed of it. ss prints each holder as `("name",pid=N,fd=M)`:
# the listing is split at '=' (not into words: a third of the pieces, and no inner loop),
# and a piece that is digits then ',fd' holds a pid. A name may hold such text: only 1 to
# 7 digits make a pid (a forged one only adds a file to read), and globbing is off while
# the pieces are read. IFS is the shell's default again after (saved, not written out:
# the script is one line, for csh too). A socket held by several processes prints '),('
# between them: only then are the holders' ages needed, and $fc_ages asks for them.
_PID_NUMBERS = "|".join("[0-9]" * n for n in range(1, 8))
_FC_SSPIDS = (f'fc_sspids() {{ fc_p=; fc_ages=; [ ${{#o}} -le {_WORDS_READ} ] || return 0; '
              "case $o in *'),('*) fc_ages=1;; esac; set -f; "
              'fc_i=$IFS; IFS==; for fc_w in $o; do case $fc_w in [0-9]*,fd) '
              f'fc_x=${{fc_w%%,*}}; case $fc_x in {_PID_NUMBERS}) '
              'case "$fc_p " in *" /proc/$fc_x/stat "*) ;; '
              '*) fc_p="$fc_p /proc/$fc_x/stat";; esac;; esac;; esac; done; IFS=$fc_i; set +f; }')
SS_PID_STATS = "fc_sspids"  # sets $fc_p from an ss listing in $o; defined with fc_ns
# Prints 'PID PPID START COMM' for each /proc/PID/stat in $fc_p: the comm read from
# /proc/PID/comm by the shell itself (a `cat` of the stat files cost each host a process,
# ~1 ms of CPU; the shell's reads ~0.03 ms a pid), and where $fc_ages asks (some socket has
# several holders) the parent and start time (fields 4 and 22) from the stat, which tell
# a socket's oldest holder (collect/holders.py); '- -' otherwise, or where the stat does
# not start with that pid and comm (the pid was reused between the two reads, say). A
# stat costs dash ~0.15 ms to read (a byte a read call), so hosts without a shared socket
# are spared it; its fields are split after that known prefix (a pattern such as '##*) '
# cost 0.3 ms more, matched anew at every length of the line). A comm holding a newline
# is not printed (a second line read): its first line could be what the tool printed
# ('a)b' of 'a)b\nc', which ss and lsof print as 'a'), and the tool's name stands
# (`combine`).
_FC_COMMS = (r"""fc_comms() { set -f; for fc_f in $fc_p; do fc_x=${fc_f#/proc/}; """
             r"""fc_x=${fc_x%/stat}; fc_n=; { IFS= read -r fc_c && { IFS= read -r fc_d || """
             r"""fc_n=1; }; } < "/proc/$fc_x/comm"; [ -n "$fc_n" ] || continue; fc_t='- -'; """
             r"""[ -n "$fc_ages" ] && { IFS= read -r fc_s; } < "$fc_f" && case $fc_s in """
             r""""$fc_x ($fc_c) "*) set -- ${fc_s#"$fc_x ($fc_c) "}; """
             r"""[ $# -ge 20 ] && fc_t="$2 ${20}";; esac; """
             r"""printf '%s %s %s\n' "$fc_x" "$fc_t" "$fc_c"; done 2>/dev/null; set +f; }""")
COMMS = "fc_comms"  # prints each $fc_p pid's comm (and age, where asked); defined with fc_ns
# Words that any container runtime's cgroup path holds: a loose preselection.
_RUNTIME_WORDS = "docker|kubepods|libpod|machine[.]slice|lxc|nerdctl|crio|containerd"
# One call per runtime lists every container, with the Kubernetes labels that name pods.
# Each JSON value of docker's listing is printed by its own template so that no name can
# break the row; `timeout` keeps a hung daemon from holding the probe where it exists.
_DOCKER_FORMAT = ('[{{json .ID}},{{json .Names}},{{json .Image}},'
                  '{{json (.Label "io.kubernetes.pod.name")}},'
                  '{{json (.Label "io.kubernetes.pod.namespace")}},'
                  '{{json (.Label "io.kubernetes.container.name")}}]')
RUNTIMES: tuple[tuple[str, str, str], ...] = (  # (section, shell case pattern, command)
    ("docker", "*docker*", f"docker ps --no-trunc --format '{_DOCKER_FORMAT}'"),
    ("crictl", "*kubepods*", "crictl ps -o json"),
    ("podman", "*libpod*", "podman ps --format json"),
)
# The NAT rules, read without loading anything: `iptables-save` without `-t` dumps only
# the tables the kernel already has (asking for `-t nat` would load legacy iptables' NAT
# and conntrack modules on a host that never used them), and nft runs only where
# nf_tables is loaded already or built in (a kernel without /proc/modules loads nothing).
NAT: tuple[tuple[str, str, str], ...] = (  # (section, guard, command)
    ("iptables", "command -v iptables-save", "iptables-save"),
    ("ip6tables", "command -v ip6tables-save", "ip6tables-save"),
    ("nft", '[ -n "$fc_nft" ] && command -v nft', "nft list ruleset"),
)


def _runtime_calls() -> str:
    calls = []
    for section, pattern, command in RUNTIMES:
        binary = command.split()[0]
        calls.append(
            f'case "$fc_cg" in {pattern}) if command -v {binary} >/dev/null 2>&1; then '
            f'echo "$M begin runtime.{section}"; $fc_to {command} 2>/dev/null; '
            f'echo "$M end runtime.{section} $?"; fi;; esac')
    return "\n".join(calls)


def _nat_calls() -> str:
    return "\n".join(
        f'if {guard} >/dev/null 2>&1; then '
        f'echo "$M begin nat.{section}"; {command} 2>/dev/null; '
        f'echo "$M end nat.{section} $?"; fi' for section, guard, command in NAT)


# Shell: defines fc_ns. $1 is the host's tool (ss, netstat, busybox-netstat, proc, lsof),
# $2 the command that lists sockets with it (empty: read /proc tables). A namespace listed
# by netstat (or by an ss that masked a name) gets its pids' /proc/PID/stat too
# (`.names`), as the host's listing does. No
# comments inside: the script is joined into one line (probe.one_line). The runtimes'
# listings (fc_rt) are read even where no container has a namespace of its own: they
# name the host's hostNetwork pods and `--network host` containers. `fc_live REP` sets
# $fc_e to a live process of REP's namespace (REP itself, else another member): a
# namespace is read through whichever of its processes still runs, and is `nsgone` only
# when none does (its last process ended while the probe ran: nothing listens there).
FC_NS = r"""
FC_PIDS
FC_SSPIDS
FC_COMMS
fc_rt() {
RUNTIMES
}
fc_live() {
[ -e /proc/$1/net/tcp ] && { fc_e=$1; return 0; }
for fc_x in $fc_mem; do
  case $fc_x in *:$1) [ -e /proc/${fc_x%%:*}/net/tcp ] && { fc_e=${fc_x%%:*}; return 0; };; esac
done
return 1
}
fc_ns() {
CGROUP_LOOKS
[ -n "$fc_g" ] || return 0
if [ "$U" != 0 ]; then echo "$M netns unread"; return 0; fi
fc_cg=$(grep -H -s -E 'WORDS' /proc/[0-9]*/cgroup)
[ -n "$fc_cg" ] || return 0
echo "$M begin cgroups"; printf '%s\n' "$fc_cg"; echo "$M end cgroups 0"
fc_to=; command -v timeout >/dev/null 2>&1 && fc_to="timeout 10"
[ -e /proc/$$/ns/net ] || { fc_rt; return 0; }
fc_o=
for fc_d in /proc/[0-9]*; do
  [ "$fc_d/ns/net" -ef /proc/$$/ns/net ] || fc_o="$fc_o ${fc_d#/proc/} "
done
fc_reps=; fc_mem=
echo "$M begin netns.members"
for fc_p in $(printf '%s\n' "$fc_cg" |
  sed -n '\|^/proc/[0-9]*/cgroup:[^:]*:[^:]*:/\.\.|d; s|^/proc/\([0-9]*\)/cgroup:.*|\1|p' |
  uniq); do
  case "$fc_o" in *" $fc_p "*) ;; *) continue;; esac
  fc_r=
  for fc_q in $fc_reps; do
    if [ /proc/$fc_p/ns/net -ef /proc/$fc_q/ns/net ]; then fc_r=$fc_q; break; fi
  done
  if [ -z "$fc_r" ]; then fc_r=$fc_p; fc_reps="$fc_reps $fc_p"; fi
  echo "$fc_p $fc_r"; fc_mem="$fc_mem $fc_p:$fc_r"
done
echo "$M end netns.members 0"
[ -n "$fc_reps" ] || { fc_rt; return 0; }
echo "$M begin netns.inodes"; for fc_r in $fc_reps; do ls -l /proc/$fc_r/ns/net; done 2>/dev/null
echo "$M end netns.inodes 0"
fc_enter=; [ -n "$2" ] && command -v nsenter >/dev/null 2>&1 && fc_enter=1
fc_owners=
for fc_r in $fc_reps; do
  fc_live $fc_r || { echo "$M nsgone $fc_r"; continue; }
  echo "$M begin ns-$fc_r.addrs"; cat /proc/$fc_e/net/fib_trie /proc/$fc_e/net/if_inet6 2>/dev/null
  echo "$M end ns-$fc_r.addrs 0"
  if [ -n "$fc_enter" ]; then
    case "$1" in
      netstat|busybox-netstat|ss)
        o=$(nsenter -t $fc_e -n $2); fc_rc=$?
        [ "$fc_rc" -eq 0 ] || fc_live $fc_r || { echo "$M nsgone $fc_r"; continue; }
        printf '%s\n' "$M begin ns-$fc_r.$1" "$o" "$M end ns-$fc_r.$1 $fc_rc"
        if [ "$fc_rc" -eq 0 ]; then
          echo "$M begin ns-$fc_r.$1.names"
          if [ "$1" = ss ]; then SS_PID_STATS; [ -n "$fc_p" ] && fc_comms
          else PID_STATS; [ -n "$fc_p" ] && cat $fc_p 2>/dev/null; fi
          echo "$M end ns-$fc_r.$1.names 0"; continue
        fi;;
      *)
        echo "$M begin ns-$fc_r.$1"; nsenter -t $fc_e -n $2; fc_rc=$?
        echo "$M end ns-$fc_r.$1 $fc_rc"
        [ "$fc_rc" -eq 0 ] && continue
        fc_live $fc_r || { echo "$M nsgone $fc_r"; continue; };;
    esac
  fi
  fc_ok=1
  for fc_f in tcp tcp6 udp udp6; do
    if [ -e /proc/$fc_e/net/$fc_f ]; then
      echo "$M begin ns-$fc_r.proc-net-$fc_f"; cat /proc/$fc_e/net/$fc_f; fc_rc=$?
      [ "$fc_rc" -eq 0 ] || fc_ok=; echo "$M end ns-$fc_r.proc-net-$fc_f $fc_rc"
    else fc_ok=; fi
  done
  [ -n "$fc_ok" ] || fc_live $fc_r || echo "$M nsgone $fc_r"
  fc_owners=1
done
if [ -n "$fc_owners" ]; then
  echo "$M begin nsowners.proc-stat"; cat /proc/[0-9]*/stat 2>/dev/null
  echo "$M end nsowners.proc-stat 0"
  echo "$M begin nsowners.proc-owners"; ls -ld /proc/[0-9]* 2>/dev/null
  echo "$M end nsowners.proc-owners 0"
  echo "$M begin nsowners.proc-fds"; QUOTING_STYLE=escape ls -l /proc/[0-9]*/fd 2>/dev/null
  echo "$M end nsowners.proc-fds 0"
  echo "$M begin nsowners.proc-alive"; echo /proc/[0-9]*; echo "$M end nsowners.proc-alive 0"
fi
fc_nft=1; [ -e /proc/modules ] && fc_nft=; [ -d /sys/module/nf_tables ] && fc_nft=1
NATS
echo "$M begin docker-proxy"
for fc_f in $(grep -l -s -x docker-proxy /proc/[0-9]*/comm); do
  tr '\0' ' ' < "${fc_f%comm}cmdline" 2>/dev/null; echo
done
echo "$M end docker-proxy 0"
fc_rt
}
""".replace("WORDS", _RUNTIME_WORDS).replace("CGROUP_LOOKS", _CGROUP_LOOKS) \
    .replace("SS_PID_STATS", SS_PID_STATS).replace("PID_STATS", PID_STATS) \
    .replace("FC_SSPIDS", _FC_SSPIDS).replace("FC_PIDS", _FC_PIDS) \
    .replace("FC_COMMS", _FC_COMMS) \
    .replace("NATS", _nat_calls()).replace("RUNTIMES", _runtime_calls())


def ns_call(tool: str, command: str) -> str:
    """The shell that reads other namespaces after `tool` (running `command`) listed the host's."""
    return f"fc_ns {tool} '{command}'" if command else f"fc_ns {tool} ''"
