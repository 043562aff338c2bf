from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from eco12369 import crypto


def test_round_trip_and_not_clear() -> None:
    token = crypto.encrypt("张三 13812341234")
    assert token.startswith("enc1:") and "张三" not in token
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
