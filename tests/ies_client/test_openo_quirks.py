"""Quirks of an IES that the simulator does not reproduce, against a tiny real HTTP server.

The simulator follows the deck (``/details``, a parameter schema, JSON everywhere). A real IES built
on OPEN-O may serve only ``/detail``, send no schema, answer an HTML page from a proxy, or redirect.
This server answers exactly those, over real HTTP on loopback: the client's code paths for them
run for real (no mocking of requests).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ies_client.client import IESClient
from ies_client.errors import IESNotFound, IESProtocolError
from ies_client.models import IESCredentials, ServiceKind

TOKEN = "MIIE" + "q" * 60
BEARER = "6f1c2d3e-0000-4000-8000-1234567890ab"
DEF_ID = "8c34e27ed6644bbfbce93a41a05cb7ab"


class OpenOLikeIES(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, dict[str, str]]] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json", headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        OpenOLikeIES.seen.append((self.path, dict(self.headers)))
        path = self.path.split("?")[0]
        if path == f"/rest/catalog/v1/servicedefs/{DEF_ID}/detail":
            body = {"serviceDefId": DEF_ID, "name": "CloudVPN", "domain": "Site2DC", "status": "active",
                    "templates": [{"id": "e77fc5e21e1e42c9933ec9574c33a5d8", "name": "t", "url": "/x"}]}
            return self._send(200, json.dumps(body).encode())
        if path == "/rest/catalog/v1/servicedefs/unknown/detail":
            return self._send(404, json.dumps({"exceptionId": "servicemgr.template.not_exist"}).encode())
        if path == "/rest/servicemanager/v1/services/FLAT":
            body = {"service": {"service_id": "FLAT", "service_name": "flat", "CloudVpnName": "V1",
                                "Bandwidth": "30000", "status": "Completed", "active_status": "Active"}}
            return self._send(200, json.dumps(body).encode())
        if path == "/rest/servicemanager/v1/services":
            return self._send(200, b"<html><body>Please log in</body></html>", "text/html")
        if path == "/rest/servicemanager/v1/services/REDIRECT":
            return self._send(302, headers={"Location": "http://127.0.0.2:1/steal"})
        if path == "/rest/servicemanager/v1/services/ARRAY":
            return self._send(200, b"[1, 2, 3]")
        if path == "/wrong/rest/servicemanager/v1/services":  # a wrong base URL behind a proxy
            return self._send(404, b"<html><body>Not Found</body></html>", "text/html")
        return self._send(404)


@pytest.fixture(scope="module")
def openo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenOLikeIES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = IESClient(f"http://127.0.0.1:{server.server_port}/rest", IESCredentials(TOKEN, BEARER, "t1"),
                       retries=0)
    yield client
    client.close()
    server.shutdown()
    server.server_close()


def test_it_falls_back_to_detail_and_to_built_in_fields(openo):
    detail = openo.get_service_definition(DEF_ID)
    assert detail.kind is ServiceKind.SITE2DC and detail.list_key == "Site2DCList"
    assert not detail.schema_from_ies and detail.field("Bandwidth").unit == "kbit/s"
    assert detail.template_id == "e77fc5e21e1e42c9933ec9574c33a5d8"
    paths = [p for p, _ in OpenOLikeIES.seen]
    assert paths[-2:] == [f"/rest/catalog/v1/servicedefs/{DEF_ID}/details",
                          f"/rest/catalog/v1/servicedefs/{DEF_ID}/detail"]
    openo.get_service_definition(DEF_ID)  # remembered: straight to /detail
    assert OpenOLikeIES.seen[-1][0].endswith("/detail")


def test_an_unknown_definition_on_detail_is_not_found(openo):
    with pytest.raises(IESNotFound):
        openo.get_service_definition("unknown")


def test_it_reads_a_flat_service_detail(openo):
    s = openo.get_service("FLAT")
    assert (s.name, s.cloud_vpn_name, s.bandwidth_kbps, s.parameters) == ("flat", "V1", 30000, {})


def test_it_sends_the_headers_of_ies_and_nothing_secret_in_the_url(openo):
    openo.get_service("FLAT")
    path, headers = OpenOLikeIES.seen[-1]
    assert headers["X-Auth-Token"] == TOKEN and headers["Authorization"] == f"Bearer {BEARER}"
    assert headers["X-Tenant-Id"] == "t1" and headers["Accept"] == "application/json"
    assert TOKEN not in path and BEARER not in path


def test_an_html_page_is_a_protocol_error(openo):
    with pytest.raises(IESProtocolError):
        openo.list_services()


def test_json_of_the_wrong_shape_is_a_protocol_error(openo):
    with pytest.raises(IESProtocolError):
        openo.get_service("ARRAY")


def test_a_redirect_is_not_followed_so_the_token_stays_home(openo):
    with pytest.raises(IESProtocolError) as info:
        openo.get_service("REDIRECT")
    assert info.value.status == 302



def test_a_proxys_html_404_is_not_an_empty_service_list(openo):
    # A wrong base URL: the proxy in front answers its own HTML 404. Read as "no services", it would
    # make the portal mark every service of the tenant gone.
    wrong = IESClient(openo.base_url.replace("/rest", "/wrong/rest"), openo.credentials, retries=0)
    with pytest.raises(IESNotFound):
        wrong.list_services()
    wrong.close()
