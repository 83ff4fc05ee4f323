"""VERP addresses: a delivery id in, the same id out; forgeries out."""

import pytest

from deliverability.verp import delivery_id_from_verp, verp_address


@pytest.fixture(autouse=True)
def _bounce_domain(settings):
    settings.BOUNCE_DOMAIN = "bounces.mailsite.test"


@pytest.mark.parametrize("delivery_id", [1, 2, 255, 256, 65_537, 10**9, 2**62])
def test_round_trip(delivery_id):
    address = verp_address(delivery_id)
    local, _, domain = address.partition("@")
    assert domain == "bounces.mailsite.test"
    assert local.startswith("b-") and local == local.lower()
    assert len(local) <= 2 + 30
    assert delivery_id_from_verp(address) == delivery_id


def test_case_and_angle_brackets_do_not_matter():
    address = verp_address(4242)
    assert delivery_id_from_verp(f"<{address.upper()}>") == 4242


def test_forged_and_garbled_addresses_are_refused():
    address = verp_address(4242)
    local, _, domain = address.partition("@")
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b")
    assert delivery_id_from_verp(f"{flipped}@{domain}") is None
    assert delivery_id_from_verp(local[:-3] + "@" + domain) is None
    assert delivery_id_from_verp("b-@x") is None
    assert delivery_id_from_verp("b-!!!!@x") is None
    assert delivery_id_from_verp("someone@example.com") is None
    assert delivery_id_from_verp("") is None
    # A token for one id does not name another.
    other = verp_address(4243)
    assert delivery_id_from_verp(other) == 4243 != delivery_id_from_verp(address)


def test_tokens_depend_on_the_secret_key(settings):
    address = verp_address(7)
    settings.SECRET_KEY = "another-secret"
    assert delivery_id_from_verp(address) is None


def test_an_id_that_is_not_positive_is_refused():
    with pytest.raises(ValueError):
        verp_address(0)
