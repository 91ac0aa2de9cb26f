"""HTTPS as a trusted proxy reports it: the real `lifeceo serve`, whose uvicorn believes
X-Forwarded-Proto only from LIFECEO_FORWARDED_ALLOW_IPS, gives HSTS and Secure cookies to those
requests alone."""

from collections.abc import Iterator

import httpx
import pytest
from tests.serving import environment, serving

pytestmark = pytest.mark.slow

PASSWORD = "forwarded-password"
TRUSTED_PROXY = "127.0.0.1"
# Also this machine's loopback, but not in the allowed list: a client that claims HTTPS.
UNTRUSTED_CLIENT = "127.0.0.2"


@pytest.fixture(scope="module")
def server_url(database_url: str, tmp_path_factory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("serve-https")
    env = environment(data_dir=str(directory / "data"), database_url=database_url,
                      forwarded_allow_ips=TRUSTED_PROXY, jobs_worker_in_serve="false")
    with serving(directory / "serve.log", env) as served:
        yield served.url


def login(http: httpx.Client, username: str) -> httpx.Response:
    registered = http.post("/api/v1/auth/register", json={
        "username": username, "email": f"{username}@example.org", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    response = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def secure_flags(response: httpx.Response) -> list[bool]:
    return ["secure" in {part.strip().lower() for part in cookie.split(";")}
            for cookie in response.headers.get_list("set-cookie")]


@pytest.mark.parametrize(("client_address", "https"), [
    (TRUSTED_PROXY, True), (UNTRUSTED_CLIENT, False)])
def test_hsts_and_secure_cookies_only_when_a_trusted_proxy_says_https(server_url, client_address,
                                                                      https):
    transport = httpx.HTTPTransport(local_address=client_address)
    with httpx.Client(base_url=server_url, transport=transport,
                      headers={"X-Forwarded-Proto": "https"}) as http:
        response = login(http, f"forwarded{client_address.replace('.', '')}")
        health = http.get("/api/health")
    assert secure_flags(response) == [https, https]
    for answer in (response, health):
        assert ("strict-transport-security" in answer.headers) is https, answer.headers
        assert answer.headers["x-content-type-options"] == "nosniff"
    if https:
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_documentation_page_loads_from_the_server_alone(server_url):
    # The page and every file it names come from this server: nothing leaves the machine.
    with httpx.Client(base_url=server_url) as http:
        page = http.get("/docs")
        assert page.status_code == 200
        for reference in ("/docs/vendor/swagger-ui-bundle.js", "/docs/vendor/swagger-ui.css",
                          "/docs/static/swagger-init.js"):
            assert f'"{reference}"' in page.text
            assert http.get(reference).status_code == 200
        assert "http://" not in page.text and "https://" not in page.text
