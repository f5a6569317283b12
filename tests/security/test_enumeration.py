"""Issue 10 (low): strangers cannot tell which addresses have accounts, nor squat one."""

from __future__ import annotations

import email
import time
from typing import Any

from tests.security.conftest import PASSWORD


def _shape(r: Any) -> tuple[int, str, list[Any]]:
    body = r.json()
    error = body.get("error")
    return (r.status_code, error["code"], error["details"]) if error else (r.status_code, "", [])


def _mails_to(murmur: Any, to: str) -> list[str]:
    subjects = []
    for path in sorted(murmur.outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        if msg["To"] == to:
            subjects.append(str(msg["Subject"]))
    return subjects


def test_sign_up_resend_and_verify_answer_alike_for_taken_and_free_addresses(start_murmur):
    murmur = start_murmur()
    with murmur.party("10.0.0.1") as owner, murmur.party("10.0.0.66") as prober:
        murmur.verified_user(owner, "owner", "owner@example.com")
        murmur.sign_up(owner, "pending", "pending@example.com")

        taken = prober.post(
            "/auth/user/signup",
            json={"user_name": "probe1", "email": "owner@example.com", "password": PASSWORD},
        )
        free = prober.post(
            "/auth/user/signup",
            json={"user_name": "probe2", "email": "free@example.com", "password": PASSWORD},
        )
        assert taken.status_code == free.status_code == 201
        assert set(taken.json()) == set(free.json())
        assert taken.json()["email_verified"] is free.json()["email_verified"] is False
        # The owner hears of it; the prober got no code for someone else's address.
        assert _mails_to(murmur, "owner@example.com")[-1].startswith("Someone tried")

        for who in ("owner@example.com", "pending@example.com", "ghost@example.com"):
            r = prober.post("/auth/resend-otp", json={"user_name": who})
            assert (r.status_code, r.json()) == (202, {"sent": True}), who
        unknown = prober.post("/auth/verify-otp", json={"user_name": "ghost", "otp": "123456"})
        verified = prober.post("/auth/verify-otp", json={"user_name": "owner", "otp": "123456"})
        assert _shape(unknown) == _shape(verified) == (400, "otp_invalid", [])
        assert unknown.json()["error"]["message"] == verified.json()["error"]["message"]


def test_an_unconfirmed_account_expires_and_frees_the_address(start_murmur):
    murmur = start_murmur(UNVERIFIED_ACCOUNT_TTL_SECONDS="1")
    with murmur.party("10.0.0.66") as squatter, murmur.party("10.0.0.1") as owner:
        murmur.sign_up(squatter, "squatter", "mine@example.com")  # never confirmed
        # The owner signs up for real once the claim has expired (a code mail, not a notice).
        deadline = time.monotonic() + 15
        attempt = 0
        while len([s for s in _mails_to(murmur, "mine@example.com") if "code" in s]) < 2:
            assert time.monotonic() < deadline, _mails_to(murmur, "mine@example.com")
            attempt += 1
            r = owner.post(
                "/auth/user/signup",
                json={
                    "user_name": f"owner{attempt}",
                    "email": "mine@example.com",
                    "password": PASSWORD,
                },
            )
            assert r.status_code == 201, r.text
            time.sleep(0.2)  # between sign-up attempts, not waiting on a result
        code = murmur.code("mine@example.com")
        r = owner.post("/auth/verify-otp", json={"user_name": f"owner{attempt}", "otp": code})
        assert r.status_code == 200, r.text
        # The squatter's password opens nothing, and its name is free again.
        r = squatter.post("/auth/login", json={"user_name": "squatter", "password": PASSWORD})
        assert r.status_code == 401, r.text
