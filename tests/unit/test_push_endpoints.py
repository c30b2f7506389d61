"""The address rule for push endpoints: only an address on the public internet, judged by the IPv4 it carries."""

from __future__ import annotations

import pytest

from backend.notify.endpoints import is_public_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.18.0.3",
        "192.168.1.10",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1%eth0",
        "fd00::8",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.8",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:8",  # NAT64 around 10.0.0.8
        "2001:db8::1",
    ],
)
def test_an_address_inside_a_network_or_special_is_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address", ["142.250.1.1", "2607:f8b0:4005:80c::200a", "::ffff:142.250.1.1", "64:ff9b::8efa:101"]
)
def test_an_address_on_the_internet_is_public(address: str) -> None:
    assert is_public_address(address)
