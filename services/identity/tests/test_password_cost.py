"""Argon2id's parameters are a setting: standard everywhere that matters, cheap only for tests."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from pydantic import ValidationError

from hbs_identity.accounts import passwords
from hbs_identity.settings import IdentitySettings


def test_production_refuses_the_test_cost_and_defaults_to_the_standard_one() -> None:
    assert IdentitySettings.model_fields["password_hash_cost"].default == "standard"
    with pytest.raises(ValidationError, match="HBS_IDENTITY_PASSWORD_HASH_COST must be standard"):
        IdentitySettings(
            environment="production",
            password_hash_cost="test",
            database_url="postgresql+asyncpg://identity@db/identity",
            jwt_private_key="x",
            totp_encryption_key="bm90LWEtcmVhbC1rZXktYnV0LTMyLWJ5dGVzLWxvbmc=",
        )
    with pytest.raises(ValidationError, match="password_hash_cost"):
        IdentitySettings(password_hash_cost="cheap")


def test_each_cost_hashes_with_its_parameters_and_a_stored_hash_keeps_its_own() -> None:
    try:
        passwords.use_cost("standard")
        standard = passwords.hash_password("mat-khau-dai-2026")
        passwords.use_cost("test")
        cheap = passwords.hash_password("mat-khau-dai-2026")
        assert (extract_parameters(standard).time_cost, extract_parameters(standard).memory_cost) == (
            3,
            65536,
        )
        assert (extract_parameters(cheap).time_cost, extract_parameters(cheap).memory_cost) == (1, 8192)
        # A hash made under the other cost still verifies: it carries its own parameters.
        assert passwords.verify_password(standard, "mat-khau-dai-2026")
        assert not passwords.verify_password(standard, "sai")
    finally:
        passwords.use_cost("test")
