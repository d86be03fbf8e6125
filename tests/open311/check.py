#!/usr/bin/env python3
"""The demo's Open311 GeoReport v2 server, checked from outside:

1. A real client library from PyPI (`georeport`) reads services, a service definition, the
   requests and one request, in JSON and in XML, for each jurisdiction.
2. Every JSON answer validates against the JSON Schemas of ../shared/fixtures/open311/
   (Draft 4, as they declare), and the XML answer of the same resource carries the same content
   (read back by the Spark convention the spec names).
3. A report posted with the demo's API key (from demo-tokens.json) reads back, without any of
   the reporter's personal fields.

Usage: tests/open311/check.py BASE_URL DEMO_TOKENS FIXTURES_DIR
"""
import json
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import jsonschema
from georeport import GeoReport
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

base, tokens_path, fixtures = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
api = f"{base}/open311/v2/"
tokens = json.load(open(tokens_path, encoding="utf-8"))
key = tokens["open311"]["api_key"]

schemas = {name: json.load(open(f"{fixtures}/{name}", encoding="utf-8")) for name in ["service.json", "services.json", "service-definition.json", "request.json", "requests.json"]}
registry = Registry().with_resources((name, Resource.from_contents(s, default_specification=DRAFT4)) for name, s in schemas.items())


def validate(name, value):
    jsonschema.Draft4Validator(schemas[name], registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(value)


def fetch(path):
    with urllib.request.urlopen(api + path, timeout=20) as r:
        return r.read().decode("utf-8"), r.headers["Content-Type"]


LISTS = {"services", "service_requests", "attributes", "values", "errors", "endpoints", "formats", "service_request_updates"}


def spark(element):
    """XML read back into JSON by the Spark convention."""
    if element.tag in LISTS:
        return [spark(child) for child in element]
    if len(element) == 0:
        return element.text if element.text else None
    return {child.tag: spark(child) for child in element}


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    return value


def same_content(path):
    """The JSON and the XML answer of one resource; returns the JSON."""
    body, content_type = fetch(path.format(fmt="json"))
    assert content_type == "application/json; charset=utf-8", content_type
    as_json = json.loads(body)
    xml, content_type = fetch(path.format(fmt="xml"))
    assert content_type == "text/xml; charset=utf-8", content_type
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>'), xml[:80]
    read_back = spark(ET.fromstring(xml.encode("utf-8")))
    assert read_back == as_text(as_json), f"{path}: XML and JSON differ"
    return as_json


checked = 0
for jurisdiction in ["leipzig", "halle"]:
    q = f"?jurisdiction_id={jurisdiction}"
    # 2. The schemas, and XML against JSON, for every resource.
    services = same_content("services.{fmt}" + q)
    validate("services.json", services)
    for s in services:
        definition = same_content(f"services/{s['service_code']}.{{fmt}}" + q)
        validate("service-definition.json", definition)
        assert definition["service_code"] == s["service_code"]
    requests_ = same_content("requests.{fmt}" + q)
    validate("requests.json", requests_)
    assert len(requests_) >= 2, "the demo has requests"
    for r in requests_[:20]:
        one = same_content(f"requests/{r['service_request_id']}.{{fmt}}" + q)
        validate("requests.json", one)
        validate("request.json", one[0])
    checked += len(services) + len(requests_)

    # 1. The client library, in both formats.
    for fmt in ("json", "xml"):
        client = GeoReport(api, jurisdiction=jurisdiction, output_format=fmt)
        listed = client.get_service_list()
        listed = listed if isinstance(listed, list) else [listed]
        assert len(listed) >= 2, listed
        code = next(s["service_code"] for s in listed if str(s["metadata"]).lower() == "true")
        definition = client.get_service_definition(code)
        assert definition["service_code"] == code, definition
        open_requests = client.get_service_requests(status="open")
        open_requests = open_requests if isinstance(open_requests, list) else [open_requests]
        assert open_requests and all(r["status"] == "open" for r in open_requests)
        one = client.get_service_request(open_requests[0]["service_request_id"])
        assert one["service_request_id"] == open_requests[0]["service_request_id"], one
        print(f"==> georeport ({fmt}, {jurisdiction}): {len(listed)} services, definition of {code}, {len(open_requests)} open requests, one read back")

# 3. A post with the demo's key, read back without the reporter.
form = {
    "api_key": key,
    "jurisdiction_id": "leipzig",
    "service_code": "beleuchtung",
    "attribute[fehler][]": "aus",
    "address_string": "Grimmaische Straße 3",
    "description": "Laterne dunkel (Prüfung von außen)",
    "email": "pruefung.aussen@example.org",
    "first_name": "Pruefvorname",
    "last_name": "Pruefnachname",
    "phone": "0341 9998877",
}
request = urllib.request.Request(api + "requests.json", data=urllib.parse.urlencode(form).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
with urllib.request.urlopen(request, timeout=20) as r:
    posted = json.load(r)
new_id = posted[0]["service_request_id"]
read, _ = fetch(f"requests/{new_id}.json?jurisdiction_id=leipzig")
one = json.loads(read)
validate("requests.json", one)
assert one[0]["address"].startswith("Grimmaische Straße 3,"), one
for secret in ["pruefung.aussen@example.org", "Pruefvorname", "Pruefnachname", "0341 9998877"]:
    assert secret not in read, "a personal field in a public answer"
print(f"==> Open311: {checked} resources valid against ../shared/fixtures/open311 with the same content in XML and JSON; report {new_id} posted with the demo's key and read back without its reporter")
