from tracker.privacy import hashing


def test_fnv1a32_matches_the_reference_vectors() -> None:
    assert hashing.fnv1a32("") == 0x811C9DC5
    assert hashing.fnv1a32("a") == 0xE40C292C
    assert hashing.fnv1a32("foobar") == 0xBF9CF968


def test_short_hash_is_base36_of_fnv() -> None:
    assert hashing.short_hash("a") == hashing.base36(0xE40C292C)
    assert hashing.base36(35) == "z" and hashing.base36(36) == "10"


def test_ip_hash_chains_four_hashes() -> None:
    h1 = hashing.short_hash("1.2.3.4")
    h2 = hashing.short_hash("1.2.3.4" + h1)
    h3 = hashing.short_hash("1.2.3.4" + h1 + h2)
    h4 = hashing.short_hash("1.2.3.4" + h1 + h2 + h3)
    assert hashing.ip_hash("1.2.3.4") == h1 + h2 + h3 + h4


def test_sha_is_url_safe_base64_sha1_with_padding() -> None:
    assert hashing.sha("abc") == "qZk-NkcGgWq6PiVxeFDCbJzQ2J0="
    assert hashing.private_hash("salt", "  A@B.com ") == hashing.sha("salta@b.com")
