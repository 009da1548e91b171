"""minisign key pairs and signatures, compatible with the reference `minisign` tool.

Formats (https://jedisct1.github.io/minisign/), all base64 lines under an `untrusted comment:`:

- public key: ``"Ed" || key_id[8] || ed25519_public[32]``
- secret key: ``"Ed" || kdf[2] || "B2" || salt[32] || opslimit[8] || memlimit[8] ||
  key_id[8] || ed25519_secret[64] || checksum[32]``; only unencrypted keys (kdf ``\\0\\0``) are
  used here, and the checksum is BLAKE2b-256 of ``"Ed" || key_id || ed25519_secret``
  (`minisign -G -W` leaves it zero, which is accepted too)
- signature: ``"ED" || key_id[8] || ed25519(BLAKE2b-512(file))[64]`` (the prehashed algorithm),
  then a ``trusted comment:`` line and the global signature ``ed25519(signature || comment)``.

The ed25519 secret is libsodium's 64-byte form ``seed || public``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import KeyFileError

SIG_ALG = b"Ed"
PREHASHED_SIG_ALG = b"ED"
KDF_NONE = b"\0\0"
KDF_SCRYPT = b"Sc"
CHK_ALG = b"B2"
UNTRUSTED_PREFIX = "untrusted comment: "
TRUSTED_PREFIX = "trusted comment: "

_SECRET_KEY_LEN = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32
_PUBLIC_KEY_LEN = 2 + 8 + 32
_SIGNATURE_LEN = 2 + 8 + 64
_KEY_ID_OFFSET = 2 + 2 + 2 + 32 + 8 + 8


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes
    public: bytes

    def encode(self) -> str:
        """The base64 key itself, as `minisign -P` takes it."""
        return base64.b64encode(SIG_ALG + self.key_id + self.public).decode()

    def key_id_hex(self) -> str:
        """The key id as minisign prints it (a little-endian 64-bit number in hex)."""
        return f"{int.from_bytes(self.key_id, 'little'):016X}"


@dataclass(frozen=True)
class SecretKey:
    key_id: bytes
    seed: bytes
    public: bytes

    @classmethod
    def generate(cls) -> SecretKey:
        seed = secrets.token_bytes(32)
        return cls(key_id=secrets.token_bytes(8), seed=seed, public=_public_of(seed))

    def public_key(self) -> PublicKey:
        return PublicKey(key_id=self.key_id, public=self.public)

    def raw_sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def _public_of(seed: bytes) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _checksum(key_id: bytes, secret: bytes) -> bytes:
    return hashlib.blake2b(SIG_ALG + key_id + secret, digest_size=32).digest()


# --- key files -----------------------------------------------------------------------------------


def encode_secret_key(key: SecretKey) -> str:
    secret = key.seed + key.public
    kdf_params = bytes(32 + 8 + 8)  # salt, opslimit, memlimit: unused without a KDF
    body = SIG_ALG + KDF_NONE + CHK_ALG + kdf_params + key.key_id + secret
    body += _checksum(key.key_id, secret)
    return f"{UNTRUSTED_PREFIX}minisign secret key (unencrypted)\n{_b64(body)}\n"


def encode_public_key(key: PublicKey) -> str:
    return f"{UNTRUSTED_PREFIX}minisign public key {key.key_id_hex()}\n{key.encode()}\n"


def decode_secret_key(text: str, source: str) -> SecretKey:
    body = _decode_box(text, source, _SECRET_KEY_LEN, "secret key")
    if body[:2] != SIG_ALG or body[4:6] != CHK_ALG:
        raise KeyFileError(f"{source}: not a minisign Ed25519 secret key")
    if body[2:4] == KDF_SCRYPT:
        raise KeyFileError(
            f"{source}: the secret key is encrypted with a password; the publisher needs an "
            "unencrypted key",
            hint=f"make one with `litecnn-publish keygen`, or remove the password with "
            f"`minisign -C -W -s {source}`",
        )
    if body[2:4] != KDF_NONE:
        raise KeyFileError(f"{source}: unknown key derivation algorithm {body[2:4]!r}")
    key_id = body[_KEY_ID_OFFSET : _KEY_ID_OFFSET + 8]
    secret = body[_KEY_ID_OFFSET + 8 : _KEY_ID_OFFSET + 72]
    checksum = body[_KEY_ID_OFFSET + 72 :]
    if checksum != bytes(32) and not hmac.compare_digest(checksum, _checksum(key_id, secret)):
        raise KeyFileError(f"{source}: secret key checksum mismatch (corrupted key file)")
    seed, public = secret[:32], secret[32:]
    if _public_of(seed) != public:
        raise KeyFileError(f"{source}: secret key is inconsistent (corrupted key file)")
    return SecretKey(key_id=key_id, seed=seed, public=public)


def decode_public_key(text: str, source: str) -> PublicKey:
    """A public key file's text, or the bare base64 key."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    box = text if len(lines) > 1 else f"{UNTRUSTED_PREFIX}\n{text.strip()}\n"
    body = _decode_box(box, source, _PUBLIC_KEY_LEN, "public key")
    if body[:2] != SIG_ALG:
        raise KeyFileError(f"{source}: not a minisign Ed25519 public key")
    return PublicKey(key_id=body[2:10], public=body[10:])


def _decode_box(text: str, source: str, length: int, what: str) -> bytes:
    lines = text.splitlines()
    if len(lines) < 2 or not lines[0].startswith(UNTRUSTED_PREFIX):
        raise KeyFileError(f"{source}: not a minisign {what} file (no untrusted comment line)")
    try:
        body = base64.b64decode(lines[1].strip(), validate=True)
    except binascii.Error as err:
        raise KeyFileError(f"{source}: the {what} line is not valid base64") from err
    if len(body) != length:
        raise KeyFileError(f"{source}: {what} is {len(body)} bytes, expected {length}")
    return body


def read_secret_key(path: Path) -> SecretKey:
    return decode_secret_key(_read_text(path, "secret key"), str(path))


def read_public_key(path: Path) -> PublicKey:
    return decode_public_key(_read_text(path, "public key"), str(path))


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise KeyFileError(f"{path}: {what} file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise KeyFileError(f"{path}: cannot read the {what} file: {err}") from err


def write_key_pair(path: Path) -> SecretKey:
    """Write a new unencrypted key pair: `path` (mode 0600) and `path`.pub; never overwrite."""
    public_path = path.with_name(path.name + ".pub")
    for existing in (path, public_path):
        if existing.exists():
            raise KeyFileError(
                f"{existing} already exists; not overwriting a key",
                hint="choose another --out, or remove the old key pair first",
            )
    key = SecretKey.generate()
    _write_new(path, encode_secret_key(key), 0o600)
    _write_new(public_path, encode_public_key(key.public_key()), 0o644)
    return key


def _write_new(path: Path, text: str, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as err:
        raise KeyFileError(f"{path}: cannot create the key file: {err.strerror}") from err
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), mode)  # exact mode, whatever the umask
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


# --- signatures ----------------------------------------------------------------------------------


def sign(data: bytes, key: SecretKey, trusted_comment: str, untrusted_comment: str) -> str:
    """The `.minisig` text for `data` (prehashed algorithm, as `minisign -S` writes by default)."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    signature = key.raw_sign(hashlib.blake2b(data, digest_size=64).digest())
    global_signature = key.raw_sign(signature + trusted_comment.encode())
    return (
        f"{UNTRUSTED_PREFIX}{untrusted_comment}\n"
        f"{_b64(PREHASHED_SIG_ALG + key.key_id + signature)}\n"
        f"{TRUSTED_PREFIX}{trusted_comment}\n"
        f"{_b64(global_signature)}\n"
    )


def verify(data: bytes, minisig: str, key: PublicKey) -> str:
    """Check a `.minisig` text against `data`; return its trusted comment. Raises KeyFileError."""
    lines = minisig.splitlines()
    if len(lines) < 4 or not lines[2].startswith(TRUSTED_PREFIX):
        raise KeyFileError("signature: expected 4 lines (comment, signature, trusted comment, sig)")
    body = _decode_box("\n".join(lines[:2]), "signature", _SIGNATURE_LEN, "signature")
    if body[2:10] != key.key_id:
        raise KeyFileError("signature: made with another key (key ids differ)")
    message = hashlib.blake2b(data, digest_size=64).digest() if body[:2] == b"ED" else data
    comment = lines[2][len(TRUSTED_PREFIX) :]
    public = Ed25519PublicKey.from_public_bytes(key.public)
    try:
        public.verify(body[10:], message)
        public.verify(base64.b64decode(lines[3]), body[10:] + comment.encode())
    except (InvalidSignature, binascii.Error) as err:
        raise KeyFileError("signature: verification failed") from err
    return comment


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
