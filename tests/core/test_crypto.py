from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from eco12369 import crypto


def test_round_trip_and_not_clear() -> None:
    token = crypto.encrypt("张三 13812341234")
    assert token.startswith("enc2:") and "张三" not in token  # SM4-GCM, the default
    assert crypto.decrypt(token) == "张三 13812341234"
    assert crypto.encrypt("") == ""


def test_rotation_keeps_old_values_readable() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(ECO_FIELD_KEYS=old):
        token = crypto.encrypt("13800000000")
    with override_settings(ECO_FIELD_KEYS=f"{new},{old}"):
        assert crypto.decrypt(token) == "13800000000"
        rotated = crypto.rotate(token)
    with override_settings(ECO_FIELD_KEYS=new):
        assert crypto.decrypt(rotated) == "13800000000"
        with pytest.raises(ValueError, match="密钥不匹配"):
            crypto.decrypt(token)


def test_blind_index_is_keyed_and_stable() -> None:
    default = crypto.blind_index("oABC")
    assert default == crypto.blind_index("oABC")
    assert default != crypto.blind_index("oABD")
    with override_settings(ECO_INDEX_KEY="another"):
        assert crypto.blind_index("oABC") != default


def test_sm4_gcm_is_the_default_and_fernet_stays_readable_and_selectable(settings: object) -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = Fernet.generate_key().decode()
    with override_settings(ECO_FIELD_KEYS=key):
        token = crypto.encrypt("李四 13912345678")
        kid, payload = token.removeprefix("enc2:").split(":")
        assert kid == crypto.key_id(key)
        # Decrypt it here with SM4-GCM from the cryptography package directly: it is what it says it is.
        import base64

        data = base64.urlsafe_b64decode(payload)
        sm4_key = crypto._sm4_key(key)[1]
        dec = Cipher(algorithms.SM4(sm4_key), modes.GCM(data[:12], data[-16:])).decryptor()
        dec.authenticate_additional_data(f"enc2:{kid}".encode())
        assert (dec.update(data[12:-16]) + dec.finalize()).decode() == "李四 13912345678"
        with override_settings(ECO_FIELD_CIPHER="fernet"):
            old = crypto.encrypt("李四 13912345678")
            assert old.startswith("enc1:") and crypto.is_current(old)
        assert crypto.decrypt(old) == "李四 13912345678" and not crypto.is_current(old)
        assert crypto.rotate(old).startswith(f"enc2:{kid}:")


def test_an_altered_sm4_gcm_value_is_refused() -> None:
    token = crypto.encrypt("王五")
    head, payload = token.rsplit(":", 1)
    # A character inside the payload: near the end, base64 padding bits may absorb the change (34 bytes end in
    # "==", and the character before it carries 4 unused bits), so the value would decode the same.
    middle = len(payload) // 2
    flipped = payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1 :]
    with pytest.raises(ValueError, match="篡改"):
        crypto.decrypt(f"{head}:{flipped}")
