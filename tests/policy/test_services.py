"""The port table: the shipped table first, the system's services database for the rest."""

from __future__ import annotations

from pathlib import Path

from fleetcheck import services


def test_spice_is_1923_on_both_protocols() -> None:
    assert services.resolve_service("spice") == {("tcp", 1923), ("udp", 1923)}
    assert services.resolve_service("SPICE") == {("tcp", 1923), ("udp", 1923)}
    assert services.name_for_port(1923, "tcp") == "spice"


def test_notable_ports_and_aliases() -> None:
    assert services.resolve_service("node-exporter") == {("tcp", 9100)}
    assert services.resolve_service("rdp") == {("tcp", 3389), ("udp", 3389)}
    assert services.resolve_service("memcached") == {("tcp", 11211), ("udp", 11211)}
    assert services.resolve_service("postgresql") == {("tcp", 5432)}
    assert services.resolve_service("no-such-service") == frozenset()


def test_shipped_table_wins_and_the_system_database_adds(tmp_path: Path) -> None:
    db = tmp_path / "services"
    db.write_text("# comment\n"
                  "spice        9999/tcp            # a local override fleetcheck ignores\n"
                  "acme-api     4567/tcp   acme  # the system adds names\n"
                  "acme-api     4567/udp\n"
                  "broken       notaport/tcp\n"
                  "ddp-only     3/ddp\n")
    assert services.resolve_service("spice", system=db) == {("tcp", 1923), ("udp", 1923)}
    assert services.resolve_service("acme-api", system=db) == {("tcp", 4567), ("udp", 4567)}
    assert services.resolve_service("acme", system=db) == {("tcp", 4567)}  # alias on tcp only
    assert services.resolve_service("ddp-only", system=db) == frozenset()
    assert "acme-api" in services.known_service_names(system=db)
    assert services.system_table(tmp_path / "absent").by_name == {}


def test_parsers_map_printed_names_back_to_ports() -> None:
    assert services.port_for_name("ssh", "tcp") == 22
    assert services.port_for_name("bootpc", "udp") == 68
    assert services.port_for_name("nonsense", "tcp") is None
