"""net-tools netstat's words in the languages it is translated to (its message catalogs:
cs, de, et, fr, ja, pt_BR), for output captured with LANGUAGE set.

fleetcheck's own probe runs netstat with LC_ALL=C, which makes gettext print English;
these are for `fleetcheck parse` of what a user captured in their own language.
"""

from __future__ import annotations

# TCP states as printed -> the state they name. Czech writes LAST_ACK as two words.
STATES: dict[str, str] = {
    **{s: s for s in ("ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                      "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
                      "UNKNOWN")},
    # cs
    "SPOJENO": "ESTABLISHED", "ZAVŘEN": "CLOSE", "POSLEDNÍ ACK": "LAST_ACK",
    "NASLOUCHÁ": "LISTEN", "ZAVÍRÁ": "CLOSING", "NEZNÁM": "UNKNOWN",
    # de, et, fr, ja
    "VERBUNDEN": "ESTABLISHED", "UNBEKANNT": "UNKNOWN", "TUNDMATU": "UNKNOWN",
    "INCONNU": "UNKNOWN", "不明": "UNKNOWN",
    # pt_BR
    "ESTABELECIDA": "ESTABLISHED", "SYN_ENVIADO": "SYN_SENT", "SYN_RECEBIDO": "SYN_RECV",
    "ESPERA_FIN1": "FIN_WAIT1", "ESPERA_FIN2": "FIN_WAIT2", "FECHAR": "CLOSE",
    "ESPERANDO_FECHAR": "CLOSE_WAIT", "ÚLTIMO_ACK": "LAST_ACK", "OUÇA": "LISTEN",
    "FECHANDO": "CLOSING", "DESCONHECIDA": "UNKNOWN",
}
# The first words of states of two words.
STATE_HEADS = frozenset(s.split()[0] for s in STATES if " " in s)

# -o's Timer column, 'off (0.00/0/0)': the words before the '(', in every language, and
# the prefixes of the numbered ones ('unkn-3', 'on2').
TIMER_WORDS = frozenset({
    "off", "on", "keepalive", "timewait", "probe",  # en
    "vyp", "zapnut",  # cs
    "aus", "ein",  # de
    "eikäi", "käib",  # et
    "オフ", "オン", "キープアライブ", "時間待ち",  # ja
    "desligado", "em", "ligado",  # pt_BR ('ligado 2 (...)': its number stands apart)
})
TIMER_PREFIXES = ("unkn-", "on", "nezn-", "zap", "ein", "eitea-", "käib-", "不明-", "オン",
                  "desconh.-")
