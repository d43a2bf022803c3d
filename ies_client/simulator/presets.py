"""The deck's preset environment: six tenants, each with the service of its table row.

Loaded once, on the first start of an empty data file. Services were created in May 2017 at the
time their names carry (Asia/Shanghai local time) and have had one or two bandwidth changes since,
recorded as Update operations and in the bandwidth history, so traffic charts show steps. The
parameters follow the deck's create body; tokens are random per data file.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import catalog
from .ids import new_bearer, new_id, new_tenant_id, new_token
from .store import Store

SHANGHAI = timezone(timedelta(hours=8))  # China has kept UTC+8 without DST since 1991
CREATE_SECONDS = 612
UPDATE_SECONDS = 236
TENANT_NAMES = tuple(f"nbitest_{n}" for n in range(11, 17))


@dataclass(frozen=True, slots=True)
class PresetService:
    tenant: str
    kind: str
    service_id: str
    name: str
    cloud_vpn_name: str
    # (Asia/Shanghai local time "YYYYmmddHHMM", kbit/s): the first is the creation.
    bandwidth: tuple[tuple[str, int], ...]
    number: int  # distinguishes VNI, ESN and subnet of each preset


def _stamp(name: str) -> str:
    return name.rsplit("_", 1)[1]


PRESETS: tuple[PresetService, ...] = (
    PresetService("nbitest_11", "Site2Site", "8hiqoNgCSZmrlD1MyROJbg", "s2s_201705061433", "VPNS2S201705061433",
                  (("201705061433", 20000), ("201705101012", 50000), ("201705151640", 80000)), 1),
    PresetService("nbitest_12", "Site2DC", "9LbuAd11Qe-cuGnVONz6qw", "site2dc_201705071132", "0S2DC201705071132",
                  (("201705071132", 40000), ("201705120930", 60000)), 2),
    PresetService("nbitest_13", "Site2DC", "FLAUUc8NT0qN-mNTM_lcfw", "site2dc3_201705081840", "0S2DC3201705081840",
                  (("201705081840", 30000), ("201705111405", 100000), ("201705161120", 70000)), 3),
    PresetService("nbitest_14", "Site2DC", "L8YNdmm4Rg-SJcMnlicUQA", "site2dc4_201705071158", "0S2DC4201705092039",
                  (("201705071158", 60000), ("201705131000", 80000)), 4),
    PresetService("nbitest_15", "Site2DC", "FbqROiHgSyGhZpzJPXH_BA", "site2dc5_201705071256", "0S2DC5201705071256",
                  (("201705071256", 50000), ("201705141830", 20000), ("201705160900", 40000)), 5),
    PresetService("nbitest_16", "Site2DC", "BkLfGSbKQXybr0kkj8MQTQ", "site2dc6_201705071300", "0S2DC6201705071300",
                  (("201705071300", 100000), ("201705121745", 60000)), 6),
)


def local_ms(stamp: str) -> int:
    """Epoch milliseconds of a "YYYYmmddHHMM" Asia/Shanghai local time."""
    return int(datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=SHANGHAI).timestamp() * 1000)


def parameters(preset: PresetService) -> dict[str, str]:
    """One entry of the service's parameter list, in the style of the deck's create body."""
    n, stamp = preset.number, _stamp(preset.name)
    common = {
        "CloudVpnName": preset.cloud_vpn_name,
        "VNI": str(2230 + n),
        "Bandwidth": str(preset.bandwidth[0][1]),
    }
    if preset.kind == "Site2DC":
        site = f"siteDC{stamp}"
        return {
            "VPC_ID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ies-sim:vpc:{preset.name}")),
            **common,
            "CPE_A_Site": site,
            "CPE_A_Type": "AR169FGW-L",
            "CPE_A_ESN": f"21500102003GG3000{700 + n}",
            "CPE_A_Position": site,
            "CPE_A_POP": "Manager_VPC",
            "cidr": f"163.113.{10 + n}.1",
            "cidrBlockSize": "24",
        }
    return {
        **common,
        "CPE_A_Site": f"siteA{stamp}",
        "CPE_A_Type": "AR169FGW-L",
        "CPE_A_ESN": f"21500102003GG3000{800 + n}",
        "CPE_A_Position": f"siteA{stamp}",
        "CPE_A_POP": "Manager_VPC",
        "cidr_A": f"10.{10 + n}.1.0",
        "cidrBlockSize_A": "24",
        "CPE_B_Site": f"siteB{stamp}",
        "CPE_B_Type": "AR161FGW-L",
        "CPE_B_ESN": f"21500102003GG3000{900 + n}",
        "CPE_B_Position": f"siteB{stamp}",
        "CPE_B_POP": "Manager_VPC",
        "cidr_B": f"10.{10 + n}.2.0",
        "cidrBlockSize_B": "24",
    }


def load(store: Store) -> bool:
    """Create the preset tenants and services unless this data file already has them."""
    if store.meta_get("presets") == "1":
        return False
    with store.write() as conn:
        tenant_ids: dict[str, str] = {}
        for name in TENANT_NAMES:
            existing = conn.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()
            if existing:
                tenant_ids[name] = existing[0]
                continue
            tenant_ids[name] = new_tenant_id()
            store.insert_tenant(conn, id=tenant_ids[name], name=name, token=new_token(), bearer=new_bearer(),
                                created_at=local_ms("201705010900"))
        for preset in PRESETS:
            _load_service(store, conn, preset, tenant_ids[preset.tenant])
        store.meta_set(conn, "presets", "1")
    return True


def _load_service(store: Store, conn: sqlite3.Connection, preset: PresetService, tenant_id: str) -> None:
    definition = catalog.for_kind(preset.kind)
    created = local_ms(preset.bandwidth[0][0])
    active_from = created + CREATE_SECONDS * 1000
    entry = parameters(preset)
    final = dict(entry, Bandwidth=str(preset.bandwidth[-1][1]))
    last_change = local_ms(preset.bandwidth[-1][0]) if len(preset.bandwidth) > 1 else active_from
    service = {
        "id": preset.service_id,
        "tenant_id": tenant_id,
        "definition_id": definition.id,
        "template_id": definition.template_id,
        "kind": preset.kind,
        "name": preset.name,
        "description": f"Preset {preset.kind} service of {preset.tenant}",
        "created_at": created,
        "updated_at": last_change,
        "status": "Completed",
        "active_status": "Active",
        "params": {definition.list_key: [final]},
        "onfailure": "rollback",
    }
    store.insert_service(conn, **service)

    def done(kind: str, start: int, end: int, content: str) -> None:
        store.insert_operation(conn, id=new_id(), service_id=preset.service_id, tenant_id=tenant_id, kind=kind,
                               user_id=preset.tenant, content=content, operate_at=start, due_at=end, will_fail=0,
                               progress="done", result="success", finished_at=end)

    done("Create", created, active_from,
         f"Create {preset.kind} service {preset.name} ({preset.cloud_vpn_name} {preset.bandwidth[0][1]} kbit/s)")
    done("Activate", active_from, active_from, f"Activate service {preset.name} (part of its creation)")
    connection_id = store.insert_connection(conn, tenant_id=tenant_id, name=preset.cloud_vpn_name,
                                            service_id=preset.service_id, started_at=active_from // 1000,
                                            kbps=preset.bandwidth[0][1])
    previous = preset.bandwidth[0][1]
    for stamp, kbps in preset.bandwidth[1:]:
        end = local_ms(stamp)
        done("Update", end - UPDATE_SECONDS * 1000, end,
             f"Update service {preset.name}: {preset.cloud_vpn_name} Bandwidth {previous} -> {kbps} kbit/s")
        conn.execute("INSERT INTO bandwidth_changes (connection_id, at, kbps) VALUES (?, ?, ?)",
                     (connection_id, end // 1000, kbps))
        previous = kbps
