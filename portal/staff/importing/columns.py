"""The preset table's vocabulary: its columns, their names in English and Chinese, and the words
accepted for a scenario, a role and a service kind (shared by parsing and the export)."""

import re

from portal.tenants.models import Role, Scenario

# Column keys, in the order of the deck's table (bearer and role are the portal's additions).
COLUMNS = ("users", "tenant", "token", "bearer", "kind", "service_id", "service_name", "cloud_vpn_name",
           "scenarios", "role")
REQUIRED_COLUMNS = ("users", "tenant")
# Values that are opaque (base64-ish): they may legitimately start with + or -.
OPAQUE_COLUMNS = ("token", "bearer", "service_id")
SECRET_COLUMNS = ("token", "bearer")
TENANT_COLUMNS = ("kind", "service_id", "service_name", "cloud_vpn_name", "scenarios")

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "users": ("user", "users", "username", "usernames", "用户", "用户名", "测试用户", "账号", "帐号"),
    # The deck prints "IES Tenant name" and "IES Tenant Token".
    "tenant": ("tenant", "iestenant", "tenantname", "iestenantname", "租户", "ies租户", "租户名", "租户名称",
               "ies租户名", "ies租户名称"),
    "token": ("token", "xauthtoken", "authtoken", "iestoken", "tenanttoken", "iestenanttoken", "令牌",
              "租户令牌", "ies令牌", "ies租户令牌", "租户token", "ies租户token"),
    "bearer": ("bearer", "bearertoken"),
    # The deck's "CloudVPN" column holds the kind (Site2Site / Site2DC); its CloudVpnName has a column of its own.
    "kind": ("kind", "type", "servicekind", "servicetype", "cloudvpn", "cloudvpntype", "cloudvpn类型", "类型",
             "业务类型"),
    "service_id": ("serviceid", "业务id", "服务id"),
    "service_name": ("servicename", "业务名称", "服务名称", "业务名"),
    "cloud_vpn_name": ("cloudvpnname", "vpnname", "cloudvpn名称"),
    "scenarios": ("scenarios", "scenario", "recommendedscenarios", "recommendedscenario", "推荐场景", "场景",
                  "适用场景", "推荐使用场景"),
    "role": ("role", "角色"),
}
IGNORED_HEADERS = ("notes", "note", "comment", "comments", "备注", "说明")

EXPORT_HEADERS = {
    "en": {"users": "Users", "tenant": "Tenant", "token": "Token", "kind": "Kind", "service_id": "Service ID",
           "service_name": "Service name", "cloud_vpn_name": "CloudVpnName", "scenarios": "Recommended scenarios",
           "role": "Role"},
    "zh": {"users": "用户", "tenant": "租户", "token": "Token", "kind": "类型", "service_id": "业务ID",
           "service_name": "业务名称", "cloud_vpn_name": "CloudVpnName", "scenarios": "推荐场景", "role": "角色"},
}
EXPORT_COLUMNS = ("users", "tenant", "token", "kind", "service_id", "service_name", "cloud_vpn_name", "scenarios",
                  "role")
SCENARIO_WORDS = {
    Scenario.CREATE: ("create & activate", "create&activate", "create and activate", "create", "创建&激活",
                      "创建并激活", "创建和激活", "创建", "create_activate"),
    Scenario.SCALE: ("scale", "elastic scaling", "scaling", "elastic scale", "弹性扩展", "弹性伸缩", "扩展", "扩容"),
}
SCENARIO_EXPORT = {"en": {Scenario.CREATE: "create & activate", Scenario.SCALE: "scale"},
                   "zh": {Scenario.CREATE: "创建&激活", Scenario.SCALE: "弹性扩展"}}
ROLE_WORDS = {
    Role.MEMBER: ("member", "成员", "tenant member", "order and manage"),
    Role.VIEWER: ("viewer", "read-only", "readonly", "read only", "只读", "查看者", "观察者"),
}
KINDS = {"site2dc": "Site2DC", "site2site": "Site2Site"}
# Columns whose value is one word: a line break inside is where a slide or a narrow cell wrapped it.
ONE_LINE_COLUMNS = ("tenant", "token", "bearer", "kind", "service_id", "service_name", "cloud_vpn_name", "role")
# A name ending in a number (user12): user ranges are read and written with it.
NUMBERED_NAME = re.compile(r"^(.*?)(\d+)$")
