"""The account routes are in the OpenAPI document, with their request and response models."""

from __future__ import annotations


async def test_the_account_routes_are_documented_with_models(client):
    doc = (await client.get("/openapi.json")).json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    expected = {
        ("/auth/password/forgot", "post"): ("ForgotPassword", None),
        ("/auth/password/reset", "post"): ("ResetPassword", None),
        ("/auth/login/2fa", "post"): ("SecondFactorLogin", "TokenPair"),
        ("/users/me/password", "post"): ("ChangePassword", None),
        ("/users/me/email", "post"): ("ChangeEmail", None),
        ("/users/me/email/verify", "post"): ("VerifyEmailChange", "Me"),
        ("/users/me/2fa/setup", "post"): (None, "TwoFactorSetup"),
        ("/users/me/2fa/enable", "post"): ("TwoFactorCode", "RecoveryCodes"),
        ("/users/me/2fa/disable", "post"): ("DisableTwoFactor", None),
        ("/users/me/sessions", "get"): (None, "SessionList"),
        ("/users/me/sessions", "delete"): (None, None),
        ("/users/me/sessions/{session_id}", "delete"): (None, None),
        ("/users/me/export", "get"): (None, None),
    }
    for (path, method), (body, response) in expected.items():
        op = paths[path][method]
        if body:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith(f"/{body}") and body in schemas
        if response:
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            assert ok["content"]["application/json"]["schema"]["$ref"].endswith(f"/{response}")
    assert paths["/users/me/2fa/setup"]["post"]["security"] == [{"bearer": []}]
