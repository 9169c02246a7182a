"""CORS on vendor endpoints (the brand's pages call them), and no cross-origin use of the control plane."""

from __future__ import annotations

import httpx

ORIGIN = "https://www.brand.example"


def test_vendor_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/iadvize/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, accept",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_vendor_answer_exposes_the_diagnosis_to_scripts(client: httpx.Client) -> None:
    response = client.post(
        "/iadvize/graphql",
        json={
            "query": 'mutation { visitorAuthenticateFromCredentials(input: {projectId: 7011, credentials: "x"}) '
            "{ visitorSessionToken { accessToken } } }"
        },
        headers={"Origin": ORIGIN},
    )
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-emulator-diagnosis" in exposed and "x-emulator-journal-id" in exposed
    assert response.headers["x-emulator-diagnosis"].startswith("jwe_format: ")


def test_control_plane_refuses_other_origins(client: httpx.Client) -> None:
    assert client.post("/_emulator/reset", headers={"Origin": ORIGIN}).status_code == 403
    assert client.get("/_emulator/journal", headers={"Origin": ORIGIN}).status_code == 403
    put = client.put("/_emulator/tenants/iadvize/555", json={"brandPublicKeys": []}, headers={"Origin": ORIGIN})
    assert put.status_code == 403
    assert client.get("/_emulator/tenants/iadvize/555").status_code == 404
    assert "access-control-allow-origin" not in client.get("/_emulator/health").headers


def test_control_plane_accepts_its_own_origin_and_no_origin(client: httpx.Client) -> None:
    host = client.base_url.netloc.decode()
    assert client.get("/_emulator/health", headers={"Origin": f"http://{host}"}).status_code == 200
    assert client.get("/_emulator/health").status_code == 200
