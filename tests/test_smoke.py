async def test_signup_login_and_tweet(client, make_user, make_tweet):
    alice = await make_user("Alice")
    tweet = await make_tweet(alice, "hi **there** #Hello @bob")
    assert tweet["tags"] == ["hello"]
    assert tweet["mentions"] == ["bob"]
    assert "<strong>there</strong>" in tweet["html"]
    r = await client.get(f"/tweets/{tweet['tweet_id']}")
    assert r.status_code == 200
    assert r.json()["tweet_id"] == tweet["tweet_id"]
    r = await client.get("/users/me", headers=alice.headers)
    assert r.json()["tweet_count"] == 1
