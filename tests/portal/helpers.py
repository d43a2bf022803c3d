"""Small helpers shared by the portal's view tests."""

import io
import re
import uuid

from openpyxl import Workbook

SITE2DC = "8c34e27ed6644bbfbce93a41a05cb7ab"
SITE2SITE = "3f1c0d2a9b8e4c7d8e6f5a4b3c2d1e0f"
INACTIVE = "0badc0de0badc0de0badc0de0badc0de"


def csrf(client, url: str = "/services/") -> str:
    """A CSRF token as a browser would have it: from a rendered form, or the cookie."""
    if "csrftoken" not in client.cookies:
        client.get(url)
    return client.cookies["csrftoken"].value


def post(client, url: str, data: dict | None = None, **extra):
    data = dict(data or {})
    data["csrfmiddlewaretoken"] = csrf(client)
    return client.post(url, data, **extra)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def site2dc_form(**overrides) -> dict:
    vpn = unique("T2DC")
    values = {
        "service_name": "site2dc_" + vpn.lower(),
        "description": "test order",
        "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70",
        "CloudVpnName": vpn,
        "VNI": "2236",
        "CPE_A_Site": "siteDC201705071132",
        "CPE_A_Type": "AR169FGW-L",
        "CPE_A_ESN": "21500102003GG3000704",
        "CPE_A_Position": "siteDC201705071132",
        "CPE_A_POP": "Manager_VPC",
        "Bandwidth_0": "60",
        "Bandwidth_1": "Mbit/s",
        "cidr": "163.113.12.1",
        "cidrBlockSize": "24",
    }
    values.update(overrides)
    return values


def start_wizard(client, definition_id: str = SITE2DC) -> str:
    answer = post(client, f"/catalog/definitions/{definition_id}/order/")
    assert answer.status_code == 302, answer
    match = re.search(r"/catalog/orders/new/([^/]+)/$", answer["Location"])
    assert match, answer["Location"]
    return match.group(1)


def xlsx_bytes(rows) -> bytes:
    """A one-sheet .xlsx file of these rows, as an admin's spreadsheet program would save it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def tenant_on_simulator(sim, name: str, username: str, user_model):
    """A portal tenant for a new tenant of `sim`, a member user, and a client logged in as them."""
    from django.test import Client

    from portal.tenants.models import Membership, Tenant

    creds = sim.new_tenant(name)
    tenant = Tenant.objects.create(name=name, ies_base_url=sim.base_url)
    tenant.set_credentials(token=creds["token"], bearer=creds["bearer"])
    tenant.save()
    user = user_model.objects.create_user(username, password=f"{username}-password-123")
    Membership.objects.create(user=user, tenant=tenant)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return tenant, client
