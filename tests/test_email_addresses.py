"""E-mail addresses: the lookup form, which never refuses, and the check of a new address."""

import pytest
from email_validator import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.email_addresses import (
    EmailNotValidError,
    normalise_email,
    simple_email,
    validated_email,
)

from .profiles import examples


@pytest.mark.parametrize("typed, stored", [
    (" Ana@Example.ORG ", "ana@example.org"), ("ana\x00@example.org", "ana@example.org"),
    ("not an address", "not an address"), ("", ""),
])
def test_the_lookup_form_is_trimmed_lower_case_and_without_nul_and_checks_nothing(typed, stored):
    assert normalise_email(typed) == stored


def test_a_valid_address_is_stored_trimmed_and_in_lower_case():
    assert validated_email("  Mia.Chen@Example.ORG ") == "mia.chen@example.org"


@pytest.mark.parametrize("text", ["a@b", "a@localhost", "a@b.invalid", "a@intranet.local",
                                  "no-at-sign.example.org", "a\x00@example.org", ""])
def test_what_is_not_an_address_is_refused_with_a_reason(text):
    with pytest.raises(EmailNotValidError) as raised:
        validated_email(text, allow_test_domain=True)
    assert str(raised.value)


def test_the_test_domain_is_refused_unless_allowed():
    with pytest.raises(EmailNotValidError):
        validated_email("ana@example.test")
    assert validated_email("Ana@Example.TEST", allow_test_domain=True) == "ana@example.test"


def test_internationalised_addresses_go_through_the_full_check():
    assert simple_email("zoë@example.com") is None
    assert validated_email("Zoë@Example.com") == "zoë@example.com"


ADDRESS_PARTS = st.sampled_from(
    list("aZ09.-_+@!#'`{|}~") + ["--", ".test", ".local", ".com", "xn--", "@x.", ".invalid",
                                 "localhost", "a" * 64, ".a1", " ", "ä"]
)


@settings(max_examples=examples(3000))
@given(st.lists(ADDRESS_PARTS, max_size=25).map("".join), st.booleans())
def test_the_fast_path_accepts_only_what_email_validator_accepts_and_normalises_the_same(
        raw, allow_test_domain):
    fast = simple_email(raw, allow_test_domain=allow_test_domain)
    if fast is not None:
        full = validate_email(raw, check_deliverability=False,
                              test_environment=allow_test_domain)
        assert full.normalized.lower() == fast
