"""Issue 10, item 2: a one-time code never reaches the server's log."""

from __future__ import annotations


def test_the_log_says_a_code_was_sent_but_never_the_code(start_murmur):
    murmur = start_murmur(LOG_LEVEL="INFO")
    with murmur.party() as client:
        email = murmur.sign_up(client, "logged")
        first = murmur.code(email)
        assert client.post("/auth/resend-otp", json={"user_name": "logged"}).status_code == 202
        second = murmur.code(email)
    log = murmur.log_path.read_text()
    assert "mail to logged@example.com written to" in log  # the lines are there...
    for code in {first, second}:
        assert code not in log  # ...without the code
