"""Every route in the URL map: the public ones are listed here; every other one refuses an
anonymous caller (401) and every role below its own (403), and lets its own role through."""

import re

import pytest

from platesvc.staff import accounts
from platesvc.store.models import Role

# What residents and map clients reach without an account, by endpoint (or blueprint, ending in ".").
PUBLIC = ("static", "health.healthz", "health.readyz", "api.plate", "api.nearby", "api.search", "api.reverse",
          "api.route", "openapi.", "ogc.", "tiles.",
          "pages.", "reports.", "open311.discovery",
          "open311.services", "open311.service_definition", "open311.list_requests",
          "open311.one_request", "staff.sign_in.",
          "open311.create_request")  # needs an api_key, refused with Open311's 403 (test_reports.py)
# Staff may change these of their own with any role; every other change needs an operator at least.
SELF_SERVICE = {"staff.users.change_password", "staff.users.create_token", "staff.users.revoke_token"}
# Placeholders for every URL argument: none names a real record, so no request changes anything.
PLACEHOLDERS = {"int": "999999", "default": "999999-ZZZZZ-Z"}


def _is_public(endpoint: str) -> bool:
    return any(endpoint == name or (name.endswith(".") and endpoint.startswith(name)) for name in PUBLIC)


def _staff_routes(app):
    for rule in app.url_map.iter_rules():
        if _is_public(rule.endpoint):
            continue
        path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
                      lambda m: PLACEHOLDERS.get(m.group(1), PLACEHOLDERS["default"]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def _required_role(app, endpoint: str) -> Role:
    return getattr(app.view_functions[endpoint], "required_role", Role.VIEWER)  # /metrics: any staff user


def test_every_staff_route_refuses_anonymous_and_lower_roles(app, tokens):
    client = app.test_client()
    walked = 0
    for endpoint, method, path in _staff_routes(app):
        walked += 1
        anonymous = client.open(path, method=method)
        assert anonymous.status_code == 401, f"{method} {path} ({endpoint}) answers {anonymous.status_code} anonymously"
        required = _required_role(app, endpoint)
        if method != "GET" and endpoint not in SELF_SERVICE:
            assert accounts.may(required, Role.OPERATOR), f"{endpoint} changes data for a {required}"
        for role in Role:
            answer = client.open(path, method=method, headers={"Authorization": f"Bearer {tokens[role]}"})
            if accounts.may(role, required):
                assert answer.status_code not in (401, 403), f"{method} {path}: a {role} is refused"
            else:
                assert answer.status_code == 403, f"{method} {path} lets a {role} through ({answer.status_code})"
    assert walked > 40


def test_the_public_routes_need_no_account(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules() if _is_public(rule.endpoint)}
    assert {"pages.plate", "api.plate", "reports.submit", "ogc.items_plates", "tiles.tile"} <= public
    assert not any(endpoint.startswith(("staff.plates", "staff.data", "staff_api", "staff.users"))
                   for endpoint in public)


def test_a_wrong_or_malformed_token_is_refused_not_ignored(app, tokens):
    client = app.test_client()
    for header in ("Bearer pst_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "):
        answer = client.get("/api/v1/staff/me", headers={"Authorization": header})
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {tokens[Role.VIEWER]}"}).json[
        "role"] == "viewer"


@pytest.mark.parametrize("path", ["/staff/", "/staff/reports"])
def test_an_anonymous_browser_gets_the_sign_in_page(client, app, path):
    answer = client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 401 and "工作人员登录" in answer.text
    assert f'name="next" value="{path}"' in answer.text
