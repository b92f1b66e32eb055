"""The organisation's signing key: made, kept in a file, and used to sign and check compact JWS.

One key pair serves the audit trail's checkpoints and the Open Badges credentials. The private
key lives only in a PEM file, owner-only, never in the store; the store keeps the public key as a
JWK, and the keys it replaced, so that a signature is checked with the key its `kid` names.
Everything cryptographic is joserfc's (on `cryptography`), imported only by the commands that
sign or verify. Every failure is a `DataError` (exit 6) or `UsageError` (exit 2) saying why.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from certcli.errors import DataError, StateError, UsageError

if TYPE_CHECKING:
    from certcli.model import Document

KEY_FILE_MODE = 0o600  # the private key: its owner alone may read it
KEY_TYPES = ("rsa", "ed25519")
ALGORITHMS = {"RSA": "RS256", "OKP": "EdDSA"}  # the two Open Badges 3.0 names (RS256 required, EdDSA allowed)
RSA_BITS = 3072
KID_PREFIX = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"  # RFC 9278: a URI naming the key itself
KEY_ENVIRONMENT = "CERTCLI_SIGNING_KEY"


class Trust(NamedTuple):
    """The public keys a check accepts signatures of, by `kid`, and whether they were given (with
    `--key`, kept apart from the store) rather than kept in the store (current and retired)."""

    keys: dict[str, dict[str, str]]
    given: bool

    @property
    def whose(self) -> str:
        return "the keys given" if self.given else "the organisation's keys"


def trust(given: dict[str, dict[str, str]], doc: Document) -> Trust:
    """The keys given with `--key` when there are any (they replace the store's, which whoever can
    write the store can replace too), else every key the organisation kept."""
    return Trust(given, True) if given else Trust(doc.org_keys(), False)


class SigningKey(NamedTuple):
    """A private key read from its file, with its algorithm and public JWK (which carries its `kid`)."""

    key: Any  # a joserfc key
    algorithm: str
    public: dict[str, str]


def public_jwk(key: Any) -> dict[str, str]:
    """The public half of `key` as a JWK with `kid` (its RFC 7638 thumbprint URI), `alg` and `use`."""
    data = _bare({name: str(value) for name, value in key.as_dict(private=False).items()})
    data["kid"] = KID_PREFIX + key.thumbprint()
    data["alg"] = ALGORITHMS[data["kty"]]
    data["use"] = "sig"
    return data


def generate(kind: str) -> tuple[bytes, dict[str, str]]:
    """A new key pair of `kind` ("rsa" or "ed25519"): the private key as PKCS #8 PEM, the public as a JWK."""
    from joserfc.jwk import OKPKey, RSAKey

    key = RSAKey.generate_key(RSA_BITS) if kind == "rsa" else OKPKey.generate_key("Ed25519")
    return key.as_pem(private=True), public_jwk(key)


def write_private(path: Path, pem: bytes) -> None:
    """Create `path` holding `pem`, owner-only from the first byte; an existing file is never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        hint = "a key file is never overwritten: choose another path"
        raise StateError(f"{path} already exists", hint=hint) from None
    except OSError as exc:
        raise DataError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise DataError(f"cannot write key file {path}: {exc.strerror}") from None


def key_file(given: Path | None) -> Path:
    """The key file named per command, else by CERTCLI_SIGNING_KEY; a usage error when neither names one."""
    if given is not None:
        return given
    named = os.environ.get(KEY_ENVIRONMENT)
    if named:
        return Path(named)
    hint = f"pass the key file (made by `certcli org keygen -o FILE`) or set {KEY_ENVIRONMENT}"
    raise UsageError("no signing key", hint=hint)


def read_token(path: Path, what: str) -> str:
    """A compact JWS kept in a file (a checkpoint, a signed badge), as text."""
    try:
        return _read(path).decode("ascii").strip()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not {what}: it is not ASCII text") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def load_private(path: Path) -> SigningKey:
    """The private key in the PEM file `path`; `DataError` when it holds none certcli can sign with."""
    from joserfc.jwk import OKPKey, RSAKey

    raw = _read(path)
    for kind in (RSAKey, OKPKey):
        try:
            key = kind.import_key(raw)
        except Exception:  # noqa: BLE001 - joserfc and cryptography raise many kinds for a key of another type
            continue
        if key.is_private:
            return SigningKey(key, ALGORITHMS[key.key_type], public_jwk(key))
    raise DataError(f"{path} holds no RSA or Ed25519 private key", hint="make one with `certcli org keygen -o FILE`")


def load_trusted(paths: Sequence[Path]) -> dict[str, dict[str, str]]:
    """The public keys to verify with, by `kid`, from key files given with `--key`: each the public
    half of a private key file, a public JWK, a JWK Set, or a saved `org show --json` (its key and
    its retired keys)."""
    return {key["kid"]: key for path in paths for key in _keys_in(path)}


def _keys_in(path: Path) -> list[dict[str, str]]:
    raw = _read(path)
    try:
        data = json.loads(raw)
    except ValueError:
        return [load_private(path).public]
    found = _jwks(data)
    if not found or not all(isinstance(jwk, dict) and isinstance(jwk.get("kty"), str) for jwk in found):
        raise DataError(f"{path} holds neither a private key nor a public JWK")
    return [_checked_public(jwk, path) for jwk in found]


def _jwks(data: Any) -> list[Any]:
    """The JWKs of a JWK Set, of a saved `org show --json` (its key and retired keys), or the one JWK."""
    if not isinstance(data, dict):
        return [data]
    if isinstance(data.get("keys"), list):
        return list(data["keys"])
    if isinstance(data.get("key"), dict):
        retired = data.get("retired_keys") or []
        return [data["key"], *(retired if isinstance(retired, list) else [retired])]
    return [data]


def _checked_public(jwk: dict[str, Any], path: Path) -> dict[str, str]:
    from joserfc.jwk import import_key

    kind = jwk["kty"]
    if kind not in ALGORITHMS or (kind == "OKP" and jwk.get("crv") != "Ed25519"):
        described = f"{kind} ({jwk.get('crv')})" if kind == "OKP" else str(kind)
        raise UsageError(
            f"{path} holds a key of type {described}, which certcli does not sign or verify with",
            hint="pass the organisation's RSA or Ed25519 public key (`certcli org show --json` shows it)",
        )
    try:
        key = import_key({k: v for k, v in jwk.items() if k not in ("kid", "alg", "use")})
    except Exception:  # noqa: BLE001 - joserfc raises many kinds for a malformed key
        raise DataError(f"{path} holds a JWK that is not an RSA or Ed25519 public key") from None
    return public_jwk(key)


def sign(payload: dict[str, Any], signing: SigningKey, typ: str) -> str:
    """`payload` as a compact JWS, its header naming the algorithm, the key (`kid`) and `typ`."""
    from joserfc import jws

    header = {"alg": signing.algorithm, "typ": typ, "kid": signing.public["kid"]}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with warnings.catch_warnings():  # RFC 9864 deprecates the name EdDSA, which Open Badges 3.0 uses
        warnings.simplefilter("ignore")
        return str(jws.serialize_compact(header, body, signing.key, algorithms=[signing.algorithm]))


def _bare(jwk: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in jwk.items() if name in ("kty", "crv", "n", "e", "x")}


def verify(token: str, trust: Trust) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and JSON payload of the compact JWS `token` when the key it names (`kid`) is one
    `trust` holds and signed it; else `ValueError` saying why (not a JWS, another key, a signature
    that does not match). A token naming no key may match any of them."""
    trusted = trust.keys
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("it is not a compact JWS (three parts separated by dots)")
    named = _unverified_part(parts[0]).get("kid")
    if named is not None and named not in trusted:
        advice = " (pass every key it signed with, or a saved `org show --json` holding them)" if trust.given else ""
        raise ValueError(f"it names another key ({named}), none of {trust.whose}{advice}")
    candidates = [trusted[named]] if named is not None else list(trusted.values())
    if not candidates:
        raise ValueError(f"there is no key to check it with ({trust.whose}: none)")
    failure = ValueError("it cannot be checked")
    for candidate in candidates:
        try:
            return _verified(token.strip(), candidate)
        except ValueError as exc:
            failure = exc
    raise failure


def _verified(token: str, trusted: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import import_key

    algorithm = ALGORITHMS.get(trusted.get("kty", ""))
    if algorithm is None:
        raise ValueError(f"its key {trusted.get('kid')} is of type {trusted.get('kty')}, which certcli cannot check")
    try:
        key = import_key({**_bare(trusted)})
        with warnings.catch_warnings():  # RFC 9864 deprecates the name EdDSA, which Open Badges 3.0 uses
            warnings.simplefilter("ignore")
            found = jws.deserialize_compact(token, key, algorithms=[algorithm])
    except JoseError as exc:
        raise ValueError(_reason(exc)) from None
    except (ValueError, TypeError, KeyError):
        raise ValueError("it is not a well-formed compact JWS") from None
    header = found.headers()
    try:
        payload = json.loads(found.payload)
    except ValueError:
        raise ValueError("its payload is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("its payload is not a JSON object")
    return header, payload


def _reason(error: Exception) -> str:
    from joserfc.errors import BadSignatureError

    if isinstance(error, BadSignatureError):
        return "its signature does not match: it was changed after signing, or signed by another key"
    return f"it cannot be checked: {error}"


def unverified_claims(token: str) -> dict[str, Any]:
    """The JSON payload of a compact JWS already verified, read again without the key ({} if unreadable)."""
    parts = token.split(".")
    return _unverified_part(parts[1]) if len(parts) == 3 else {}


def _unverified_part(part: str) -> dict[str, Any]:
    """A base64url JSON object of a compact JWS, unchecked ({} if it is not one)."""
    import base64

    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
