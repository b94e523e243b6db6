"""Every feature refuses a change with a DomainError, which a form shows beside its field."""

import pytest

from surveyapp.accounts.operations import AccountError, EmailTaken
from surveyapp.auth.operations import InvalidCredentials, SignInError
from surveyapp.directory.operations import DirectoryError
from surveyapp.domain import DomainError
from surveyapp.instrument import InstrumentError
from surveyapp.rounds.operations import RoundError


@pytest.mark.parametrize("kind, field", [
    (DirectoryError, "name"), (AccountError, "role"), (RoundError, "closes_on"),
    (InstrumentError, None),
])
def test_a_feature_error_is_a_domain_error_with_its_message_and_field(kind, field):
    error = kind("Say what is wrong.", field)

    assert isinstance(error, DomainError)
    assert (str(error), error.field) == ("Say what is wrong.", field)


def test_the_specific_errors_keep_their_fields():
    assert EmailTaken().field == "email"
    assert InstrumentError("A statement needs at least 10 characters.").field is None


def test_an_instrument_error_is_still_a_value_error():
    with pytest.raises(ValueError):
        raise InstrumentError("The scale must run 1, 2, ... n.")


def test_a_sign_in_error_names_no_field():
    error = InvalidCredentials()
    assert isinstance(error, SignInError) and isinstance(error, DomainError)
    assert error.field is None
