"""Issue 10, item 3: the 5-try limit on e-mail codes holds under concurrency and resends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.security.conftest import Murmur

WRONG = 50


def _wrong_codes(right: str, n: int) -> list[str]:
    return [c for c in (f"{i:06d}" for i in range(n + 1)) if c != right][:n]


async def _burst(
    apps: list[Murmur], name: str, right: str, at: int
) -> list[tuple[str, httpx.Response]]:
    """50 wrong codes and the right one (sent ``at``-th), all in flight at once, over the apps."""
    guesses = _wrong_codes(right, WRONG)
    guesses.insert(at, right)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as http:

        async def guess(i: int, code: str) -> tuple[str, httpx.Response]:
            url = apps[i % len(apps)].url + "/auth/verify-otp"
            headers = {"X-Forwarded-For": f"10.1.{i // 250}.{i % 250}"}
            return code, await http.post(
                url, json={"user_name": name, "otp": code}, headers=headers
            )

        return await asyncio.gather(*(guess(i, c) for i, c in enumerate(guesses)))


def test_parallel_guesses_across_two_processes_never_exceed_the_limit(start_murmur):
    # Limits high enough that every guess reaches the code check: this is about the count.
    env: dict[str, Any] = {
        "RATE_LIMIT_OTP_VERIFY_ACCOUNT": "10000/day",
        "RATE_LIMIT_OTP_VERIFY_ADDRESS": "10000/hour",
    }
    apps = [start_murmur(**env), start_murmur(**env)]
    outcomes = {"right accepted": 0, "right refused": 0}
    with apps[0].party() as client:
        for round_, at in enumerate((WRONG, WRONG, WRONG // 2, 0)):
            name = f"target{round_}"
            right = apps[0].code(apps[0].sign_up(client, name))
            results = asyncio.run(_burst(apps, name, right, at))
            assert all(r.status_code < 500 for _, r in results), [r.text for _, r in results]
            evaluated = [
                r.json()["error"]["details"][0]["attempts_left"]
                for code, r in results
                if code != right and r.json()["error"]["details"]
            ]
            # Each compared guess took its own try (the right one too): at most five, each
            # counted once.
            assert len(set(evaluated)) == len(evaluated) <= 5, evaluated
            assert all(0 <= left <= 4 for left in evaluated), evaluated
            accepted = [r for code, r in results if code == right and r.status_code == 200]
            if len(evaluated) == 5:
                assert not accepted, "the right code was accepted after five wrong ones"
            if accepted:
                assert len(evaluated) <= 4
                outcomes["right accepted"] += 1
            else:
                outcomes["right refused"] += 1
                r = next(r for code, r in results if code == right)
                assert r.json()["error"]["code"] in ("otp_locked", "otp_missing"), r.text
            # The refusals that were never compared say so, and nothing else got in.
            assert sum(r.status_code == 200 for _, r in results) == len(accepted)
    assert sum(outcomes.values()) == 4, outcomes


def test_resending_does_not_give_unbounded_tries_and_guesses_are_limited_per_address(
    start_murmur,
):
    murmur = start_murmur(
        RATE_LIMIT_OTP_VERIFY_ACCOUNT="8/day", RATE_LIMIT_OTP_VERIFY_ADDRESS="12/hour"
    )
    with murmur.party("10.0.0.1") as owner, murmur.party("10.0.0.66") as attacker:
        email = murmur.sign_up(owner, "patient")
        statuses = []
        for _ in range(5):
            r = attacker.post("/auth/verify-otp", json={"user_name": "patient", "otp": "000000"})
            statuses.append(r.json()["error"]["code"])
        assert statuses[-1] == "otp_locked"
        # A resend gives the code fresh tries, but the account's daily bound still holds.
        assert owner.post("/auth/resend-otp", json={"user_name": "patient"}).status_code == 202
        for _ in range(3):
            r = attacker.post("/auth/verify-otp", json={"user_name": "patient", "otp": "000000"})
            assert r.status_code == 400, r.text
        right = murmur.code(email)
        r = attacker.post("/auth/verify-otp", json={"user_name": "patient", "otp": right})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited", r.text

        # Per address: one address guessing across many accounts is slowed down too.
        for i in range(4):
            murmur.sign_up(owner, f"other{i}")
        codes = []
        for i in range(4):
            r = attacker.post("/auth/verify-otp", json={"user_name": f"other{i}", "otp": "000000"})
            codes.append(r.status_code)
        assert codes[-1] == 429, codes  # 9 + 4 guesses from one address: over 12/hour
        # Someone else's address is not affected.
        r = owner.post(
            "/auth/verify-otp",
            json={"user_name": "other0", "otp": murmur.code("other0@example.com")},
        )
        assert r.status_code == 200, r.text
