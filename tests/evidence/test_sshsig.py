"""SSHSIG as OpenSSH makes it: fleetcheck's signatures verify with the real `ssh-keygen -Y
verify`, `ssh-keygen -Y sign`'s verify with fleetcheck, for key files and a real ssh-agent;
every edited byte of a signature is caught; allowed_signers lines mean what OpenSSH says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fleetcheck.errors import InputError
from fleetcheck.evidence import signers, sshsig
from tests.evidence.keys import (
    KEYGEN_TYPES,
    agent,
    allowed_line,
    fingerprint,
    keygen,
    keygen_sign,
    keygen_verify,
)

MESSAGE = b"0123abcd  run.json\n"
PASSPHRASE = "correct horse"  # noqa: S105  # a test key's passphrase


@pytest.mark.parametrize("kind", sorted(KEYGEN_TYPES))
def test_fleetcheck_signs_what_ssh_keygen_verifies(kind: str, tmp_path: Path) -> None:
    key = keygen(tmp_path, "k", kind, comment="sre@example.net")
    signing = sshsig.load_signing_key(key)
    sig = tmp_path / "m.sig"
    sig.write_text(sshsig.sign(MESSAGE, signing.key))
    allowed = tmp_path / "allowed"
    allowed.write_text(allowed_line("sre@example.net", key) + "\n")
    good = keygen_verify(allowed, "sre@example.net", sig, MESSAGE)
    assert good.returncode == 0, good.stderr
    assert 'Good "fleetcheck" signature for sre@example.net' in good.stdout
    assert fingerprint(key) in good.stdout
    bad = keygen_verify(allowed, "sre@example.net", sig, MESSAGE + b"x")
    assert bad.returncode != 0
    assert sshsig.describe(signing.key.asbytes()).endswith(fingerprint(key))


@pytest.mark.parametrize("kind", sorted(KEYGEN_TYPES))
def test_ssh_keygen_signs_what_fleetcheck_verifies(kind: str, tmp_path: Path) -> None:
    key = keygen(tmp_path, "k", kind)
    data = tmp_path / "SHA256SUMS"
    data.write_bytes(MESSAGE)
    sig = sshsig.parse(keygen_sign(key, data).read_bytes())
    assert (sig.namespace, sig.hash_alg) == ("fleetcheck", "sha512")
    assert sig.verifies(MESSAGE)
    assert not sig.verifies(MESSAGE.replace(b"0", b"1", 1))
    assert sshsig.fingerprint(sig.public_key) == fingerprint(key)


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_an_agent_key_signs_through_its_public_key_file(kind: str, tmp_path: Path) -> None:
    key = keygen(tmp_path, "k", kind, passphrase=PASSPHRASE)
    with agent(key, passphrase=PASSPHRASE) as sock:
        for named in (Path(f"{key}.pub"), key):  # the .pub, or the encrypted private key
            signing = sshsig.load_signing_key(named, agent_socket=sock)
            try:
                sig = tmp_path / "m.sig"
                sig.write_text(sshsig.sign(MESSAGE, signing.key))
            finally:
                signing.close()
            allowed = tmp_path / "allowed"
            allowed.write_text(allowed_line("ops", key) + "\n")
            done = keygen_verify(allowed, "ops", sig, MESSAGE)
            assert done.returncode == 0, (named, done.stderr)


def test_keys_that_cannot_sign_say_why(tmp_path: Path) -> None:
    key = keygen(tmp_path, "k", passphrase=PASSPHRASE)
    with pytest.raises(sshsig.KeyProblem, match="encrypted: set FLEETCHECK_KEY_PASSPHRASE"):
        sshsig.load_signing_key(key)
    assert sshsig.load_signing_key(key, passphrase=PASSPHRASE).key.can_sign()
    with pytest.raises(sshsig.KeyProblem, match="cannot decrypt the signing key with the "
                                                 "passphrase given"):
        sshsig.load_signing_key(key, passphrase=PASSPHRASE + "x")
    with pytest.raises(sshsig.KeyProblem, match="SSH_AUTH_SOCK is not set"):
        sshsig.load_signing_key(Path(f"{key}.pub"))
    other = keygen(tmp_path, "other")
    with agent(other) as sock, pytest.raises(sshsig.KeyProblem,
                                             match="ssh-agent does not hold the key"):
        sshsig.load_signing_key(Path(f"{key}.pub"), agent_socket=sock)
    with pytest.raises(sshsig.KeyProblem, match="cannot read"):
        sshsig.load_signing_key(tmp_path / "missing")
    (tmp_path / "junk").write_text("not a key\n")
    with pytest.raises(sshsig.KeyProblem, match="not a usable SSH"):
        sshsig.load_signing_key(tmp_path / "junk")


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])  # RSA: 1,400 slow verifications
def test_every_edited_byte_of_a_signature_is_caught(kind: str, tmp_path: Path) -> None:
    """Not only bytes that carry bits: padding bits, lengths, line breaks and the armor."""
    key = keygen(tmp_path, "k", kind)
    text = sshsig.sign(MESSAGE, sshsig.load_signing_key(key).key).encode()
    assert sshsig.parse(text).verifies(MESSAGE)
    for i in range(len(text)):
        for new in {text[i] ^ 1, ord("A") if text[i] != ord("A") else ord("B")}:
            edited = text[:i] + bytes([new]) + text[i + 1:]
            try:
                good = sshsig.parse(edited).verifies(MESSAGE)
            except sshsig.SignatureError:
                continue
            assert not good, f"byte {i} changed to {new} went unnoticed"


def test_malformed_signatures_are_named(tmp_path: Path) -> None:
    for text, message in ((b"", "not an SSH signature"),
                          (b"\xff\xfe", "not ASCII"),
                          (f"{sshsig.HEADER}\nQR==\n{sshsig.FOOTER}\n".encode(),
                           "not in canonical form"),
                          (f"{sshsig.HEADER}\nU1NIU0lH\n{sshsig.FOOTER}\n".encode(),
                           "no SSHSIG preamble"),
                          (f"{sshsig.HEADER}\nQUJD\n{sshsig.FOOTER}\n".encode(),
                           "no SSHSIG preamble")):
        with pytest.raises(sshsig.SignatureError, match=message):
            sshsig.parse(text)


def _signer(line: str) -> signers.AllowedSigner:
    (one,) = signers.parse(line + "\n", "allowed")
    return one


def test_allowed_signers_options_mean_what_openssh_says(tmp_path: Path) -> None:
    key = keygen(tmp_path, "k")
    now = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    assert _signer(allowed_line("*@example.net", key)).refusal(
        "fleetcheck", now, "sre@example.net") is None
    assert "do not include" in (_signer(allowed_line("*@example.net,!bob@example.net", key))
                                .refusal("fleetcheck", now, "bob@example.net") or "")
    assert "exclude 'fleetcheck'" in (_signer(allowed_line(
        "a", key, 'namespaces="git,file"')).refusal("fleetcheck", now, None) or "")
    assert _signer(allowed_line("a", key, 'namespaces="git,fleet*"')).refusal(
        "fleetcheck", now, None) is None
    assert "valid only before" in (_signer(allowed_line(
        "a", key, 'valid-before="20300101Z"')).refusal("fleetcheck", now, None) or "")
    assert "valid only after" in (_signer(allowed_line(
        "a", key, 'valid-after="203101011200Z"')).refusal("fleetcheck", now, None) or "")
    assert _signer(allowed_line("a", key, "cert-authority")).cert_authority  # for certificates


def test_a_malformed_allowed_signers_line_is_bad_input_with_its_line(tmp_path: Path) -> None:
    key = keygen(tmp_path, "k")
    good = allowed_line("sre@example.net", key)
    cases = [("sre ssh-ed25519", "expected 'principals"),
             ("sre bogus=1 ssh-ed25519 AAAA", "unknown option"),
             ("sre ssh-ed25519 !!!notbase64", "not valid base64"),
             (f"sre valid-after=\"tomorrow\" {good.split(' ', 1)[1]}", "bad timestamp"),
             # dates shaped right that no calendar has: were internal errors
             *((f"sre {opt}=\"{when}\" {good.split(' ', 1)[1]}", "no such time")
               for opt, when in (("valid-after", "20300230"), ("valid-before", "20301332Z"),
                                 ("valid-after", "00000101"),
                                 ("valid-before", "203001012460")))]
    for line, message in cases:
        with pytest.raises(InputError, match=message) as err:
            signers.parse(f"# comment\n\n{good}\n{line}\n", "allowed")
        assert err.value.line == 4, line
