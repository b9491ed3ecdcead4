"""Checks motcua's Open311 GeoReport v2 face with independent clients.

GETs go through PyPI's `georeport` client (GeoReport.get_service_list,
get_service_definition, get_service_requests, get_service_request). That
client (0.3.1) has no POST method, so the request is created with plain
`requests.post(data=...)`, form-encoded as the spec says.

Usage: MOTCUA_GATEWAY=http://127.0.0.1:8099 python open311_check.py
"""
import os
import sys

import requests
from georeport import GeoReport

gw = os.environ.get("MOTCUA_GATEWAY", "http://127.0.0.1:8080").rstrip("/")
root = gw + "/function/feedback/open311/v2"
client = GeoReport(root, jurisdiction="motcua", api_key="clients-check-key")

REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


services = client.get_service_list()
check(len(services) >= 30, f"{len(services)} services (fields) listed")
codes = {s["service_code"] for s in services}
check("RAC_THAI" in codes, "service RAC_THAI present")
check(all({"service_code", "service_name", "metadata", "type"} <= s.keys() for s in services), "services carry the spec's fields")

definition = client.get_service_definition("RAC_THAI")
check(definition["service_code"] == "RAC_THAI" and definition["attributes"], "service definition with attributes")
kind = next(a for a in definition["attributes"] if a["code"] == "kind")
check(kind["datatype"] == "singlevaluelist" and {v["key"] for v in kind["values"]} == {"regulation", "conduct"}, "kind attribute values")

res = requests.post(root + "/requests.json", data={
    "api_key": client.api_key, "jurisdiction_id": "motcua", "service_code": "RAC_THAI",
    "lat": "21.1375", "long": "105.8842", "address_string": "Thôn 2, xã Việt Hùng",
    "description": "Rác tồn đọng ba ngày ở đầu thôn 2, gây mùi hôi (kiểm tra Open311).",
    "first_name": "An", "last_name": "Nguyễn", "phone": "0912345678", "attribute[kind]": "regulation",
}, timeout=30)
check(res.status_code == 201, f"POST requests.json → {res.status_code} {res.text[:200]}")
created = res.json()
check(isinstance(created, list) and len(created) == 1 and created[0]["service_request_id"], "POST answers [{service_request_id}]")
rid = created[0]["service_request_id"]
check("service_notice" in created[0] and "account_id" in created[0], "POST answer has service_notice and account_id")

one = client.get_service_request(rid)
check(one["service_request_id"] == rid and one["status"] == "open", "GET requests/{id}.json: open")
check(set(one.keys()) == REQUEST_FIELDS, f"request fields are the spec's: {sorted(one.keys())}")
check(one["requested_datetime"].endswith("+07:00"), "datetimes carry the +07:00 offset")

many = client.get_service_requests(service_request_id=rid)
check(len(many) == 1 and many[0]["service_request_id"] == rid, "GET requests.json?service_request_id=")
listed = client.get_service_requests(service_code="RAC_THAI", status="open,closed")
check(isinstance(listed, list), "GET requests.json with service_code and status filters")

bad = requests.post(root + "/requests.json", data={"service_code": "RAC_THAI"}, timeout=30)
err = bad.json()
check(bad.status_code == 400 and err[0]["code"] == 400 and "api_key" in err[0]["description"], "missing api_key → error list")
try:
    client.get_service_request("PAKN-000000-00000000")
    check(False, "unknown request raises")
except requests.HTTPError as e:
    check(e.response.status_code == 404 and e.response.json()[0]["code"] == 404, "unknown request → 404 error list")
print("open311: all checks passed")
