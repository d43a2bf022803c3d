"""The deck's preset table ("预置数据介绍" slide) as an admin copies it: the deck's own headers, its
shortened tokens, the kind in the "CloudVPN" column, and the scenario sentences."""

HEADER = ["User", "IES Tenant name", "IES Tenant Token", "CloudVPN", "ServiceID", "ServiceName", "CloudVpnName",
          "Recommended scenarios"]
BOTH = 'Support "Create & activate CloudVPN service" and "Elastically scale CloudVPN network " scenarios'
SCALE = 'Support  "Elastically scale CloudVPN network " scenarios'
# The tokens exactly as far as the slide prints them: a few dozen characters of a much longer token.
TOKENS = {
    "nbitest_11": "MIIETAYJKoZIhvcNAQcCoIIEPTCCBDkCAQExDTALBglghkgBZQMEAgEwggKaBgkqhkiG9w0BBwGgggKLBIICh3siZXhwaXJl"
                  "c19hdCI6IjIwMTctMDQtMjVUMjE6NTE6",
    "nbitest_12": "MjguMTM1IiwiaXNzdWVkX2F0IjoiMjAxNy0wNC0yNFQyMTo1MToyOC4xMzUiLCJtZXRob2RzIjpudWxsLCJ1c2VyIjp7Im"
                  "lkIjoiMzg4NzUiLCJuYW1lIjoiZnVqaWFu",
    "nbitest_13": "ZmVuZyJ9LCJwcm9qZWN0Ijp7ImlkIjoiZ2xvYmFsIiwibmFtZSI6IkRlZmF1bHQgRG9tYWluIn0sImRvbWFpbiI6bnVsbC"
                  "wib2RvbWFpbiI6eyJpZCI6IjAiLCJuYW1l",
    "nbitest_14": "IjoiRGVmYXVsdCBEb21haW4ifSwiZW1haWwiOm51bGwsInRlbGVwaG9uZSI6bnVsbCwiY2F0YWxvZyI6bnVsbCwicm9sZX"
                  "MiOlt7ImlkIjoiNTg1NiIsIm5hbWUiOiJn",
    "nbitest_15": "YXRld2F5LmFwaXMucGF0Y2hPcGVyYXRpb24ifSx7ImlkIjoiNTg4MyIsIm5hbWUiOiJnYXRld2F5LmFwaXMucG9zdE9wZXJh"
                  "dGlvbiJ9LHsiaWQiOiI1ODg0IiwibmFt",
    "nbitest_16": "ZSI6ImdhdGV3YXkuYXBpcy5kZWxldGVPcGVyYXRpb24ifSx7ImlkIjoiNTg4NSIsIm5hbWUiOiJnYXRld2F5LmFwaXMuZ2V0"
                  "T3BlcmF0aW9uIn0seyJpZCI6IjU4ODYi",
}
ROWS = [
    ["User 1", "nbitest_11", TOKENS["nbitest_11"], "Site2Site ", "8hiqoNgCSZmrlD1MyROJbg", "s2s_201705061433",
     "VPNS2S201705061433", BOTH],
    ["User 2~User 4", "nbitest_12", TOKENS["nbitest_12"], "Site2DC ", "9LbuAd11Qe-cuGnVONz6qw",
     "site2dc_201705071132", "0S2DC201705071132", SCALE],
    ["User 5~User 7", "nbitest_13", TOKENS["nbitest_13"], "Site2DC ", "FLAUUc8NT0qN-mNTM_lcfw",
     "site2dc3_201705081840", "0S2DC3201705081840", SCALE],
    ["User 8~User 11", "nbitest_14", TOKENS["nbitest_14"], "Site2DC ", "L8YNdmm4Rg-SJcMnlicUQA",
     "site2dc4_201705071158", "0S2DC4201705092039", SCALE],
    ["User12~User15", "nbitest_15", TOKENS["nbitest_15"], "Site2DC ", "FbqROiHgSyGhZpzJPXH_BA",
     "site2dc5_201705071256", "0S2DC5201705071256", SCALE],
    ["User 16", "nbitest_16", TOKENS["nbitest_16"], "Site2DC ", "BkLfGSbKQXybr0kkj8MQTQ", "site2dc6_201705071300",
     "0S2DC6201705071300", BOTH],
]


def pasted(header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> str:
    """The table as a presentation or a spreadsheet puts it on the clipboard: tab-separated lines."""
    return "\n".join("\t".join(cells) for cells in [header, *rows]) + "\n"
