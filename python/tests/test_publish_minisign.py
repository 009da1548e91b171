"""minisign compatibility, both ways, with the real `minisign` binary (Debian package 0.11)."""

from __future__ import annotations

import base64
import stat

import pytest
from litecnn.publish import minisign
from litecnn.publish.cli import main
from litecnn.publish.errors import KeyFileError
from litecnn.publish.pipeline import export_bundle


@pytest.fixture
def our_key(tmp_path):
    path = tmp_path / "publish.key"
    minisign.write_key_pair(path)
    return path


@pytest.fixture
def their_key(tmp_path, minisign_bin, run_tool):
    """An unencrypted key pair made by `minisign -G -W`."""
    secret, public = tmp_path / "theirs.key", tmp_path / "theirs.pub"
    made = run_tool([minisign_bin, "-G", "-W", "-s", secret, "-p", public])
    assert made.returncode == 0, made.stderr
    return secret, public


def sign_file(path, key_path):
    signature = minisign.sign(
        path.read_bytes(), minisign.read_secret_key(key_path), f"file:{path.name}", "test"
    )
    path.with_name(path.name + ".minisig").write_text(signature)


def test_keygen_writes_a_private_secret_key_and_a_public_key(tmp_path, capsys):
    key = tmp_path / "keys" / "publish.key"
    key.parent.mkdir()
    assert main(["keygen", "--out", str(key)]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public_text = (tmp_path / "keys" / "publish.key.pub").read_text()
    assert public_text.startswith("untrusted comment: minisign public key ")
    assert capsys.readouterr().out.strip() == public_text.splitlines()[1]
    secret = base64.b64decode(key.read_text().splitlines()[1])
    assert secret[:6] == b"Ed\0\0B2"  # Ed25519, no KDF (unencrypted), BLAKE2b checksum


def test_keygen_never_overwrites(our_key, capsys):
    before = our_key.read_bytes()
    assert main(["keygen", "--out", str(our_key)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert our_key.read_bytes() == before


def test_our_signature_verifies_with_minisign(tmp_path, our_key, minisign_bin, run_tool):
    message = tmp_path / "SHA256SUMS"
    message.write_bytes(b"0" * 64 + b"  model.onnx\n")
    sign_file(message, our_key)
    public = f"{our_key}.pub"
    verified = run_tool([minisign_bin, "-V", "-p", public, "-m", message])
    assert verified.returncode == 0, verified.stderr
    assert "Trusted comment: file:SHA256SUMS" in verified.stdout

    message.write_bytes(b"1" * 64 + b"  model.onnx\n")
    tampered = run_tool([minisign_bin, "-V", "-p", public, "-m", message])
    assert tampered.returncode != 0


def test_minisign_key_pair_signs_with_us(tmp_path, their_key, minisign_bin, run_tool):
    secret, public = their_key
    message = tmp_path / "data"
    message.write_bytes(b"hello\n")
    sign_file(message, secret)
    verified = run_tool([minisign_bin, "-V", "-p", public, "-m", message])
    assert verified.returncode == 0, verified.stderr
    ours = minisign.read_public_key(public)
    assert minisign.verify(b"hello\n", (tmp_path / "data.minisig").read_text(), ours)


def test_minisign_signs_with_our_key_and_we_verify(tmp_path, our_key, minisign_bin, run_tool):
    message = tmp_path / "data"
    message.write_bytes(b"from minisign\n")
    signed = run_tool([minisign_bin, "-S", "-s", our_key, "-m", message, "-t", "made by minisign"])
    assert signed.returncode == 0, signed.stderr
    public = minisign.read_public_key(our_key.with_name(our_key.name + ".pub"))
    text = (tmp_path / "data.minisig").read_text()
    assert minisign.verify(message.read_bytes(), text, public) == "made by minisign"
    with pytest.raises(KeyFileError, match="verification failed"):
        minisign.verify(b"something else", text, public)


def test_public_key_as_bare_base64(our_key):
    public = minisign.read_public_key(our_key.with_name(our_key.name + ".pub"))
    assert minisign.decode_public_key(public.encode(), "--pubkey") == public


def test_encrypted_key_is_refused_with_a_hint(tmp_path, their_key):
    lines = their_key[0].read_text().splitlines()
    body = bytearray(base64.b64decode(lines[1]))
    body[2:4] = b"Sc"  # what `minisign -G` (with a password) writes
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_text(f"{lines[0]}\n{base64.b64encode(bytes(body)).decode()}\n")
    with pytest.raises(KeyFileError, match="encrypted with a password") as caught:
        minisign.read_secret_key(encrypted)
    assert "minisign -C -W" in caught.value.hint


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda lines: [lines[0], "not base64!"], "not valid base64"),
        (lambda lines: ["comment", lines[1]], "no untrusted comment line"),
        (lambda lines: [lines[0], lines[1][:-8] + "AAAAAAA="], "checksum mismatch"),
        (lambda lines: [lines[0], base64.b64encode(b"Ed" + bytes(10)).decode()], "is 12 bytes"),
    ],
)
def test_damaged_secret_keys_are_errors(tmp_path, our_key, mangle, message):
    damaged = tmp_path / "damaged.key"
    damaged.write_text("\n".join(mangle(our_key.read_text().splitlines())) + "\n")
    with pytest.raises(KeyFileError, match=message):
        minisign.read_secret_key(damaged)


def test_signed_bundle_verifies_with_minisign(make_options, their_key, minisign_bin, run_tool):
    secret, public = their_key
    published = export_bundle(make_options(sign_key=secret))
    assert published.signed
    sums = published.path / "SHA256SUMS"
    verified = run_tool([minisign_bin, "-V", "-p", public, "-m", sums])
    assert verified.returncode == 0, verified.stderr
    assert "file:SHA256SUMS" in verified.stdout
