"""The export: the portal's tenants and memberships as the preset table, in .csv or .xlsx (tokens
left out; every cell neutralised so that a spreadsheet never runs it as a formula)."""

import csv
import io

from portal.audit.exporting import spreadsheet_safe
from portal.core.natural import natural_sorted
from portal.staff.importing.columns import EXPORT_COLUMNS, EXPORT_HEADERS, NUMBERED_NAME, SCENARIO_EXPORT
from portal.tenants.models import Role, Tenant


def compress_users(usernames: list[str]) -> str:
    """["user2", "user3", "user4", "bob"] → "user2~user4, bob" (a run of three or more becomes a range)."""
    parts: list[str] = []
    numbered: dict[str, list[int]] = {}
    others: list[str] = []
    for name in usernames:
        match = NUMBERED_NAME.match(name)
        if match and not (len(match.group(2)) > 1 and match.group(2).startswith("0")):
            numbered.setdefault(match.group(1), []).append(int(match.group(2)))
        else:
            others.append(name)
    for prefix in natural_sorted(numbered):
        numbers = sorted(set(numbered[prefix]))
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            if prev - start >= 2:
                parts.append(f"{prefix}{start}~{prefix}{prev}")
            else:
                parts.extend(f"{prefix}{k}" for k in range(start, prev + 1))
            if n is not None:
                start = prev = n
    parts.extend(natural_sorted(others))
    return ", ".join(parts)


def export_table(*, language: str = "en") -> list[list[str]]:
    """The portal's tenants and memberships as the preset table (header first), tokens left out."""
    lang = "zh" if language.lower().startswith("zh") else "en"
    header = [EXPORT_HEADERS[lang][key] for key in EXPORT_COLUMNS]
    table = [header]
    for tenant in natural_sorted(Tenant.objects.prefetch_related("memberships__user"), key=lambda t: t.name):
        by_role: dict[str, list[str]] = {}
        for membership in tenant.memberships.all():
            by_role.setdefault(membership.role, []).append(membership.user.get_username())
        groups = [(role, by_role[role]) for role in Role.values if role in by_role] or [(Role.MEMBER, [])]
        scenarios = "; ".join(SCENARIO_EXPORT[lang].get(s, s) for s in tenant.scenarios)
        for role, usernames in groups:
            values = {"users": compress_users(usernames), "tenant": tenant.name, "token": "",
                      "kind": tenant.ref_kind, "service_id": tenant.ref_service_id,
                      "service_name": tenant.ref_service_name, "cloud_vpn_name": tenant.ref_cloud_vpn_name,
                      "scenarios": scenarios, "role": role}
            table.append([spreadsheet_safe(values[key]) for key in EXPORT_COLUMNS])
    return table


def export_csv(table: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8 (Chinese)


def export_xlsx(table: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Presets")
    for values in table:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula (the values are neutralised as well)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
