import httpx
import pytest

pytestmark = pytest.mark.live


async def test_live_process_serves_over_real_sockets(live_app, redis_server):
    proc = live_app(redis_url=redis_server.url)
    async with httpx.AsyncClient(base_url=proc.url) as http:
        r = await http.get("/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "database": "ok"}
        r = await http.post("/tweets", json={"content": "x"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
