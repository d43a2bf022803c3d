"""The deck's preset test environment: six IES tenants and sixteen users mapped onto them."""

from dataclasses import dataclass

from portal.tenants.models import Scenario


@dataclass(frozen=True)
class PresetTenant:
    name: str
    users: tuple[int, ...]
    scenarios: tuple[str, ...]
    kind: str
    service_name: str
    cloud_vpn_name: str
    service_id: str = ""


PRESET_TENANTS: tuple[PresetTenant, ...] = (
    PresetTenant("nbitest_11", (1,), (Scenario.CREATE, Scenario.SCALE), "Site2Site", "s2s_201705061433",
                 "VPNS2S201705061433", "8hiqoNgCSZmrlD1MyROJbg"),
    PresetTenant("nbitest_12", (2, 3, 4), (Scenario.SCALE,), "Site2DC", "site2dc_201705071132",
                 "0S2DC201705071132", "9LbuAd11Qe-cuGnVONz6qw"),
    PresetTenant("nbitest_13", (5, 6, 7), (Scenario.SCALE,), "Site2DC", "site2dc3_201705081840",
                 "0S2DC3201705081840", "FLAUUc8NT0qN-mNTM_lcfw"),
    PresetTenant("nbitest_14", (8, 9, 10, 11), (Scenario.SCALE,), "Site2DC", "site2dc4_201705071158",
                 "0S2DC4201705092039", "L8YNdmm4Rg-SJcMnlicUQA"),
    PresetTenant("nbitest_15", (12, 13, 14, 15), (Scenario.SCALE,), "Site2DC", "site2dc5_201705071256",
                 "0S2DC5201705071256", "FbqROiHgSyGhZpzJPXH_BA"),
    PresetTenant("nbitest_16", (16,), (Scenario.CREATE, Scenario.SCALE), "Site2DC", "site2dc6_201705071300",
                 "0S2DC6201705071300", "BkLfGSbKQXybr0kkj8MQTQ"),
)

ADMIN_USERNAME = "admin"


def preset_username(number: int) -> str:
    return f"user{number}"
