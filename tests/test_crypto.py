"""Field encryption, key handling, blind indexes and signed tokens."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.crypto import (
    KEY_FILE_NAME,
    DecryptionError,
    MasterKey,
    blind_index,
    decrypt,
    encrypt,
    load_or_create_master_key,
    new_data_key,
    normalize_identity,
    random_token,
    sign_token,
    token_digest,
    unwrap_key,
    verify_token,
    wrap_key,
)
from tutela.errors import ConfigurationError, IntegrityError, VerificationFailed

MASTER = MasterKey(bytes(range(32)))
OTHER = MasterKey(bytes(range(1, 33)))
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)

# ---------------------------------------------------------------- master key


def test_master_key_base64_round_trip() -> None:
    key = MasterKey.generate()
    assert MasterKey.from_b64(key.to_b64()).to_b64() == key.to_b64()
    assert len(base64.b64decode(key.to_b64())) == 32
    assert MasterKey.generate().to_b64() != key.to_b64()


def test_master_key_accepts_url_safe_base64_and_whitespace() -> None:
    raw = bytes([0xFB] * 32)
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert "-" in urlsafe or "_" in urlsafe
    assert MasterKey.from_b64(f"  {urlsafe}\n").to_b64() == base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "text",
    ["", "not base64!", base64.b64encode(b"x" * 16).decode(), base64.b64encode(b"x" * 33).decode()],
)
def test_master_key_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="master key"):
        MasterKey.from_b64(text)


def test_master_key_repr_does_not_reveal_the_key() -> None:
    text = repr(MASTER)
    assert MASTER.to_b64() not in text
    assert MASTER.fingerprint in text
    assert MASTER.fingerprint != OTHER.fingerprint


def test_subkeys_differ_per_purpose_and_from_the_master() -> None:
    subkeys = {MASTER.subkey(p) for p in ("wrap", "index", "token", "fingerprint")}
    assert len(subkeys) == 4
    assert bytes(range(32)) not in subkeys
    assert all(len(k) == 32 for k in subkeys)
    assert MASTER.subkey("wrap") != OTHER.subkey("wrap")


def test_configured_key_wins_over_the_key_file(tmp_path: Path) -> None:
    stored = load_or_create_master_key(tmp_path, None)
    configured = MasterKey.generate()
    loaded = load_or_create_master_key(tmp_path, configured.to_b64())
    assert loaded.to_b64() == configured.to_b64() != stored.to_b64()


def test_configured_key_does_not_create_a_file(tmp_path: Path) -> None:
    load_or_create_master_key(tmp_path / "data", MasterKey.generate().to_b64())
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("configured", ["", "abc", base64.b64encode(b"k" * 31).decode()])
def test_malformed_configured_key_explains_the_fix(tmp_path: Path, configured: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_or_create_master_key(tmp_path, configured)
    detail = info.value.detail
    assert "TUTELA_MASTER_KEY" in detail
    assert "32" in detail
    assert "base64" in detail
    assert "os.urandom(32)" in detail
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    first = load_or_create_master_key(data_dir, None)
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.to_b64()
    second = load_or_create_master_key(data_dir, None)
    assert second.to_b64() == first.to_b64()
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE_NAME]


def test_key_file_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_master_key(tmp_path, None)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    known = MasterKey.generate()
    path.write_text(known.to_b64() + "\n")
    path.chmod(0o600)
    assert load_or_create_master_key(tmp_path, None).to_b64() == known.to_b64()
    assert path.read_text() == known.to_b64() + "\n"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
def test_key_file_with_loose_permissions_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text(MasterKey.generate().to_b64())
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match="chmod 600") as info:
        load_or_create_master_key(tmp_path, None)
    assert str(path) in info.value.detail


def test_corrupt_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text("garbage")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="restore it from your backup"):
        load_or_create_master_key(tmp_path, None)
    assert path.read_text() == "garbage"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigurationError, match="writable"):
            load_or_create_master_key(locked, None)
    finally:
        locked.chmod(0o700)


def test_permission_denied_is_reported_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tutela.crypto.os.open", refuse)
    with pytest.raises(ConfigurationError) as info:
        load_or_create_master_key(tmp_path, None)
    assert info.value.detail == (
        f"Cannot create the master key in {tmp_path} (Permission denied); make the directory "
        "writable for the Tutela user or set TUTELA_MASTER_KEY."
    )
    assert info.value.extra == {"field": "data_dir"}


def test_concurrent_first_runs_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(
            pool.map(lambda _: load_or_create_master_key(tmp_path, None).to_b64(), range(16))
        )
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE_NAME]


def test_data_dir_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError) as info:
        load_or_create_master_key(blocker / "data", None)
    detail = info.value.detail
    assert "Cannot create the master key" in detail
    assert "writable" in detail
    assert "TUTELA_MASTER_KEY" in detail
    assert detail.count(". ") == 0  # one sentence


# ---------------------------------------------------------------- AEAD


@pytest.mark.promise("P19")
def test_encrypt_round_trip_and_fresh_nonce() -> None:
    key = new_data_key()
    first = encrypt(key, b"ada@example.org", context=b"identity:email")
    second = encrypt(key, b"ada@example.org", context=b"identity:email")
    assert first != second
    assert b"ada@example.org" not in first
    assert first[0] == 1
    assert len(first) == 1 + 12 + len(b"ada@example.org") + 16
    assert decrypt(key, first, context=b"identity:email") == b"ada@example.org"
    assert decrypt(key, second, context=b"identity:email") == b"ada@example.org"


def test_wrong_context_is_refused() -> None:
    key = new_data_key()
    blob = encrypt(key, b"secret", context=b"subject:1")
    with pytest.raises(DecryptionError, match="does not authenticate"):
        decrypt(key, blob, context=b"subject:2")
    with pytest.raises(DecryptionError):
        decrypt(key, blob)


def test_wrong_key_is_refused_with_an_integrity_error() -> None:
    blob = encrypt(new_data_key(), b"secret")
    with pytest.raises(IntegrityError):
        decrypt(new_data_key(), blob)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + bytes(27), b"\x02" + bytes(40)])
def test_truncated_or_unknown_format_is_refused(blob: bytes) -> None:
    with pytest.raises(DecryptionError, match="truncated or in an unknown format"):
        decrypt(new_data_key(), blob)


def test_keys_of_the_wrong_size_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(b"short", b"x")
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey(b"short")


@settings(max_examples=100, deadline=None)
@given(plaintext=st.binary(max_size=2048), context=st.binary(max_size=64))
def test_encrypt_decrypt_round_trip_property(plaintext: bytes, context: bytes) -> None:
    key = new_data_key()
    assert decrypt(key, encrypt(key, plaintext, context=context), context=context) == plaintext


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=64), data=st.data())
def test_flipping_any_bit_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    key = bytes(32)
    blob = bytearray(encrypt(key, plaintext, context=b"ctx"))
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    blob[index] ^= 1 << bit
    with pytest.raises(DecryptionError):
        decrypt(key, bytes(blob), context=b"ctx")


# ---------------------------------------------------------------- key wrapping


@pytest.mark.promise("P19")
def test_wrap_unwrap_round_trip() -> None:
    data_key = new_data_key()
    wrapped = wrap_key(MASTER, data_key, key_id="subject-42")
    assert data_key not in wrapped
    assert unwrap_key(MASTER, wrapped, key_id="subject-42") == data_key


def test_wrapped_key_is_bound_to_its_id_and_master() -> None:
    wrapped = wrap_key(MASTER, new_data_key(), key_id="subject-42")
    with pytest.raises(DecryptionError, match="'subject-43' cannot be unwrapped"):
        unwrap_key(MASTER, wrapped, key_id="subject-43")
    with pytest.raises(DecryptionError, match="another master key"):
        unwrap_key(OTHER, wrapped, key_id="subject-42")


def test_wrap_key_does_not_use_the_master_directly() -> None:
    data_key = new_data_key()
    wrapped = wrap_key(MASTER, data_key, key_id="k")
    with pytest.raises(DecryptionError):
        decrypt(bytes(range(32)), wrapped, context=b"tutela/v1/data-key\x00k")
    assert decrypt(MASTER.subkey("wrap"), wrapped, context=b"tutela/v1/data-key\x00k") == data_key


def test_wrap_key_validates_its_input() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_key(MASTER, b"too short", key_id="k")
    with pytest.raises(ValueError, match="key_id"):
        wrap_key(MASTER, new_data_key(), key_id="")


def test_unwrap_refuses_a_sealed_value_of_the_wrong_length() -> None:
    sealed = encrypt(MASTER.subkey("wrap"), b"short", context=b"tutela/v1/data-key\x00k")
    with pytest.raises(DecryptionError, match="wrong length"):
        unwrap_key(MASTER, sealed, key_id="k")


# ---------------------------------------------------------------- blind index


@pytest.mark.parametrize(
    ("kind", "left", "right"),
    [
        ("email", " A@B.de ", "a@b.de"),
        ("email", "Straße@Example.ORG", "strasse@example.org"),
        ("phone", "+49 (30) 123-456", "+4930123456"),
        ("phone", "030 / 123 456", "030123456"),
        ("customer_id", "  C-1001\t", "C-1001"),
        ("customer_id", "cafe\u0301", "caf\u00e9"),
    ],
)
def test_blind_index_normalises(kind: str, left: str, right: str) -> None:
    assert blind_index(MASTER, kind, left) == blind_index(MASTER, kind, right)


def test_blind_index_keeps_meaningful_differences() -> None:
    assert blind_index(MASTER, "customer_id", "C-1001") != blind_index(
        MASTER, "customer_id", "c-1001"
    )
    assert blind_index(MASTER, "phone", "+4930123") != blind_index(MASTER, "phone", "4930123")


def test_normalize_identity() -> None:
    assert normalize_identity("email", "  Ada@Example.ORG ") == "ada@example.org"
    assert normalize_identity("phone", " +49 170 1234-567 ") == "+491701234567"
    assert normalize_identity("phone", "ext. only") == ""
    assert normalize_identity("other", " x ") == "x"


def test_blind_index_is_keyed_deterministic_hex() -> None:
    value = blind_index(MASTER, "email", "ada@example.org")
    assert value == blind_index(MASTER, "email", "ada@example.org")
    assert value != blind_index(OTHER, "email", "ada@example.org")
    assert len(value) == 64
    assert int(value, 16) >= 0
    assert value != hashlib.sha256(b"ada@example.org").hexdigest()


def test_blind_index_refuses_empty_values_and_bad_kinds() -> None:
    with pytest.raises(ValueError, match="empty after normalisation"):
        blind_index(MASTER, "email", "   ")
    with pytest.raises(ValueError, match="Identity kind"):
        blind_index(MASTER, "E-Mail", "a@b.de")
    with pytest.raises(ValueError, match="Identity kind"):
        blind_index(MASTER, "", "a@b.de")


kinds = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(first=kinds, second=kinds, value=st.text(min_size=1, max_size=40).filter(str.strip))
def test_different_kinds_never_collide(first: str, second: str, value: str) -> None:
    if first == second:
        return
    assert blind_index(MASTER, first, value) != blind_index(MASTER, second, value)


@settings(max_examples=200, deadline=None)
@given(
    local=st.from_regex(r"[A-Za-z0-9._]{1,12}", fullmatch=True), pad=st.text(" \t\n", max_size=3)
)
def test_email_index_ignores_case_and_padding(local: str, pad: str) -> None:
    address = f"{local}@Example.de"
    assert blind_index(MASTER, "email", pad + address.upper() + pad) == blind_index(
        MASTER, "email", address.lower()
    )


# ---------------------------------------------------------------- signed tokens


def test_token_round_trip_is_url_safe() -> None:
    token = sign_token(MASTER, purpose="unsubscribe", subject="sub_Ü/42?", expires_at=LATER)
    assert all(ch.isalnum() or ch in "-_." for ch in token)
    assert verify_token(MASTER, token, purpose="unsubscribe", now=NOW) == "sub_Ü/42?"


def test_token_is_bound_to_its_purpose_and_key() -> None:
    token = sign_token(MASTER, purpose="unsubscribe", subject="s1", expires_at=LATER)
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, token, purpose="doi", now=NOW)
    with pytest.raises(VerificationFailed):
        verify_token(OTHER, token, purpose="unsubscribe", now=NOW)


def test_token_expiry_uses_the_passed_clock() -> None:
    token = sign_token(MASTER, purpose="doi", subject="s1", expires_at=LATER)
    just_before = LATER - dt.timedelta(seconds=1)
    assert verify_token(MASTER, token, purpose="doi", now=just_before) == "s1"
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, token, purpose="doi", now=LATER)
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, token, purpose="doi", now=LATER + dt.timedelta(days=3))


def test_token_expiry_respects_time_zones() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    token = sign_token(MASTER, purpose="doi", subject="s1", expires_at=LATER.astimezone(berlin))
    assert verify_token(MASTER, token, purpose="doi", now=NOW.astimezone(berlin)) == "s1"
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, token, purpose="doi", now=LATER.astimezone(berlin))


def test_every_failure_gives_the_same_message() -> None:
    good = sign_token(MASTER, purpose="doi", subject="s1", expires_at=LATER)
    expired = sign_token(MASTER, purpose="doi", subject="s1", expires_at=NOW)
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    messages = set()
    for token, purpose in [
        (good, "unsubscribe"),
        (expired, "doi"),
        (tampered, "doi"),
        ("", "doi"),
        ("garbage", "doi"),
        ("1.a.b.c.d", "doi"),
        ("ä" * 10, "doi"),
        ("x" * 10_000, "doi"),
    ]:
        with pytest.raises(VerificationFailed) as info:
            verify_token(MASTER, token, purpose=purpose, now=NOW)
        messages.add(info.value.detail)
    assert len(messages) == 1


def test_forged_expiry_is_refused() -> None:
    token = sign_token(MASTER, purpose="doi", subject="s1", expires_at=NOW)
    version, subject, expiry, mac = token.split(".")
    forged = ".".join([version, subject, str(int(expiry) + 86_400), mac])
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, forged, purpose="doi", now=NOW)


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_token(MASTER, purpose="doi", subject="s", expires_at=dt.datetime(2030, 1, 1))
    token = sign_token(MASTER, purpose="doi", subject="s", expires_at=LATER)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_token(MASTER, token, purpose="doi", now=dt.datetime(2026, 1, 1))


alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=~+/ é"


@settings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=30), data=st.data())
def test_any_single_character_change_fails(subject: str, data: st.DataObject) -> None:
    token = sign_token(MASTER, purpose="doi", subject=subject, expires_at=LATER)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda ch: ch != token[index]))
    changed = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(VerificationFailed):
        verify_token(MASTER, changed, purpose="doi", now=NOW)


@settings(max_examples=100, deadline=None)
@given(subject=st.text(max_size=60), purpose=st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True))
def test_token_round_trip_property(subject: str, purpose: str) -> None:
    token = sign_token(MASTER, purpose=purpose, subject=subject, expires_at=LATER)
    assert verify_token(MASTER, token, purpose=purpose, now=NOW) == subject


def test_random_token_and_digest() -> None:
    token = random_token()
    assert len(token) >= 43
    assert token != random_token()
    assert all(ch.isalnum() or ch in "-_" for ch in token)
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token_digest(token) != token_digest(random_token())
    with pytest.raises(ValueError, match="at least 16 bytes"):
        random_token(8)
