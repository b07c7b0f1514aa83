"""Where an Item may point (core/href_policy.py): each spelling of a private host, each way out."""

from __future__ import annotations

import pytest

from scoresby.core.catalogue_items import geometry_problem, item_problem
from scoresby.core.href_policy import HrefRefused, allow_entry_problem, allow_list, check_href, host_problem

ITEM_URL = "https://cat.example.com/collections/c/items/X"


def no_dns(host: str) -> tuple[str, ...]:
    return ()


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "2852039166",
        "0251.0376.0251.0376",
        "0xa9fea9fe",
        "169.254.43518",
        "[fd00:ec2::254]",
        "[::ffff:a9fe:a9fe]",
        "127.0.0.1",
        "127.1",
        "0177.0.0.1",
        "[::1]",
        "0.0.0.0",  # noqa: S104 - a host an Item names, not one bound to
        "0",
        "localhost",
        "LOCALHOST.",
        "db.localhost",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "100.64.0.1",
        "[fc00::1]",
        "[fe80::1]",
        "224.0.0.1",
    ],
)
def test_private_hosts_are_refused_in_every_spelling(host: str) -> None:
    with pytest.raises(HrefRefused, match="an Item from a catalogue may not name it"):
        check_href(f"https://{host}/B04.tif", None, remote=True, resolve=no_dns)


@pytest.mark.parametrize(
    "href",
    [
        "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/36/Q/WD/B04.tif",
        "https://landsatlook.usgs.gov/data/collection02/level-2/B4.TIF",
        "s3://usgs-landsat/collection02/level-2/B4.TIF",
        "https://93.184.216.34:8443/B04.tif",
        "HTTPS://Example.COM/B04.tif",
    ],
)
def test_public_remote_hrefs_are_allowed(href: str) -> None:
    assert check_href(href, ITEM_URL, remote=True, resolve=no_dns) == href


@pytest.mark.parametrize(
    ("href", "fragment"),
    [
        ("/etc/passwd", "is a local file"),
        ("file:///etc/passwd", "is a local file"),
        ("FILE:/etc/passwd", "is a local file"),
        ("http://example.com/B04.tif", "scheme 'http'"),
        ("gs://bucket/B04.tif", "scheme 'gs'"),
        ("/vsicurl/https://example.com/B04.tif", "is a GDAL path"),
        ("https://user:pw@example.com/B04.tif", "no plain host"),
        ("https://example.com%2f@10.0.0.1/B04.tif", "no plain host"),
        ("https://exa mple.com/B04.tif", "characters no asset URL has"),
        ("https://example.com/B04.tif\n", "characters no asset URL has"),
        ("s3://../B04.tif", "is not s3://bucket/key"),
        ("s3://bucket/a/../../other-bucket/B04.tif", "is not s3://bucket/key"),
        ("../B04.tif", "climbs out"),
        ("a/../../B04.tif", "climbs out"),
        ("%2E%2E/B04.tif", "climbs out"),
        ("..%2fB04.tif", "climbs out"),
        ("//evil.example.com/B04.tif", "names another host"),
        (None, "is not a URL or path"),
        ("", "is not a URL or path"),
        (["https://example.com/B04.tif"], "is not a URL or path"),
    ],
)
def test_what_an_item_from_a_catalogue_may_not_name(href: object, fragment: str) -> None:
    with pytest.raises(HrefRefused, match=fragment):
        check_href(href, ITEM_URL, remote=True, resolve=no_dns)


def test_relative_hrefs_resolve_below_the_item() -> None:
    assert check_href("B04.tif", ITEM_URL, remote=True, resolve=no_dns) == (
        "https://cat.example.com/collections/c/items/B04.tif"
    )
    assert check_href("./sub/B04.tif", "s3://bucket/scene/item.json", remote=True, resolve=no_dns) == (
        "s3://bucket/scene/sub/B04.tif"
    )
    with pytest.raises(HrefRefused, match="relative but the Item has no location"):
        check_href("B04.tif", None, remote=True)


def test_names_resolving_to_private_addresses_and_the_allow_list() -> None:
    def dns(host: str) -> tuple[str, ...]:
        return {"inside.example": ("10.1.1.1", "93.184.216.34")}.get(host, ())

    assert host_problem("inside.example", (), dns) == "a name for 10.1.1.1, a private address"
    assert host_problem("inside.example", ("10.0.0.0/8",), dns) is None
    assert host_problem("inside.example", ("inside.example",), dns) is None
    assert host_problem("10.1.1.1", ("10.1.1.1",), dns) is None
    assert host_problem("2852039166", ("169.254.169.254",), dns) is None  # the address, however spelt
    assert host_problem("127.0.0.1", ("localhost",), dns) is not None  # a name does not allow an address
    # S3 by name stays allowed where an interface endpoint makes it resolve privately (a VPC)
    private = {
        "sentinel-cogs.s3.us-west-2.amazonaws.com": ("10.0.0.9",),
        "s3.amazonaws.com.evil.io": ("10.0.0.9",),
    }
    assert host_problem("sentinel-cogs.s3.us-west-2.amazonaws.com", (), lambda h: private.get(h, ())) is None
    assert host_problem("s3.amazonaws.com.evil.io", (), lambda h: private.get(h, ())) is not None
    assert allow_list(["a.example"], {"SCORESBY_ALLOW_HOSTS": " 127.0.0.1, ,10.0.0.0/8"}) == (
        "a.example",
        "127.0.0.1",
        "10.0.0.0/8",
    )
    assert allow_entry_problem("10.0.0.0/8") is None and allow_entry_problem("[::1]") is None
    assert allow_entry_problem("user@host") is not None and allow_entry_problem(5) is not None


def test_the_loopback_name_of_this_machine_is_refused_through_the_resolver() -> None:
    assert host_problem("localhost", ()) == "this machine (loopback)"


def test_items_a_catalogue_sent_are_checked_field_by_field() -> None:
    good = {
        "type": "Feature",
        "id": "S2A_OK",
        "geometry": {"type": "Point", "coordinates": [10.0, 60.0]},
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"red": {"href": "s3://b-u-c/k/B04.tif"}},
    }
    assert item_problem(good) is None
    assert item_problem({**good, "geometry": None}) is None
    assert "is not a usable scene id" in str(item_problem({**good, "id": "a/b"}))
    assert "is not a usable scene id" in str(item_problem({**good, "id": 7}))
    assert "links" in str(item_problem({**good, "links": ["x"]}))
    assert "assets" in str(item_problem({**good, "assets": {}}))
    assert "alternate" in str(
        item_problem({**good, "assets": {"red": {"href": "s3://b-u-c/k", "alternate": 3}}})
    )
    assert geometry_problem({"type": "Polygon", "coordinates": [[[0, 0], [1, float("nan")]]]}) is not None
    assert geometry_problem({"type": "Point", "coordinates": [190, 0]}) is not None
    assert geometry_problem({"type": "GeometryCollection", "geometries": []}) is not None
    assert (
        geometry_problem({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1], [0, 1], [0, 0]]]]})
        is None
    )
