"""Issue 10 (low): cost limits — deep pages, anonymous reads, searches, name checks."""

from __future__ import annotations

import base64


def test_deep_offset_pages_are_refused_and_the_cursor_still_works(start_murmur):
    murmur = start_murmur(RATE_LIMITS_ENABLED="false")
    with murmur.party() as client:
        for path in ("/tweets", "/search/tweets?q=hello", "/search/tweets?q=hello&sort=latest"):
            sep = "&" if "?" in path else "?"
            r = client.get(f"{path}{sep}page=10000&limit=100")  # a million rows skipped
            assert r.status_code == 400, (path, r.text)
            assert r.json()["error"]["code"] == "page_too_deep"
            assert client.get(f"{path}{sep}page=10&limit=100").status_code == 200
        # A rank cursor pointing far away is refused the same way.
        far = base64.urlsafe_b64encode(b"rank:999999").decode()
        r = client.get("/search/tweets", params={"q": "hello", "cursor": far})
        assert r.status_code == 400 and r.json()["error"]["code"] == "page_too_deep"


def test_anonymous_reads_searches_and_name_checks_are_limited_per_address(start_murmur):
    murmur = start_murmur(
        RATE_LIMIT_ANONYMOUS_READ="5/minute",
        RATE_LIMIT_SEARCH="3/minute",
        RATE_LIMIT_USERNAME_CHECK="3/minute",
        RATE_LIMIT_PEOPLE_SEARCH="3/minute",
    )
    with murmur.party("10.6.0.1") as scraper, murmur.party("10.6.0.2") as someone:
        pair = murmur.verified_user(someone, "reader")
        reads = [scraper.get("/tweets").status_code for _ in range(6)]
        assert reads == [200] * 5 + [429], reads
        # Signed in, the same address reads on (its own limits apply to accounts).
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        assert scraper.get("/tweets", headers=headers).status_code == 200
        searches = [
            scraper.get("/search/tweets", params={"q": "x"}, headers=headers).status_code
            for _ in range(4)
        ]
        assert searches == [200] * 3 + [429], searches
        checks = [
            scraper.get("/auth/username-availability", params={"username": f"n{i}xx"}).status_code
            for i in range(4)
        ]
        assert checks == [200] * 3 + [429], checks
        # People and tag search (autocomplete) share one limit: per address signed out
        # (within the anonymous read limit, which that address has not used)...
        with murmur.party("10.6.0.3") as typist:
            paths = ["/users/search", "/tags/search"] * 2
            finds = [typist.get(p, params={"q": "re"}).status_code for p in paths]
            assert finds == [200] * 3 + [429], finds
        # ...per account signed in, whatever the address.
        r = scraper.get("/users/search", params={"q": "re"}, headers=headers)
        assert r.status_code == 200 and r.json()["items"] == []
        # Another address is not affected.
        assert someone.get("/tweets").status_code == 200
