"""respguard.pytest_plugin, run on small apps' own test suites (pytester).

Each suite has one test that fetches another user's page and asserts it got it (the app's
bug, unnoticed by the suite): with ``--respguard`` exactly that test fails, with the event in
its report and in the summary; a clean suite reports nothing; without the option nothing changes.
The inner runs use the plugin through its installed ``pytest11`` entry point.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ("pytester",)

INI = """
[pytest]
addopts = -p no:cacheprovider -p no:hypothesispytest
filterwarnings = error
respguard_options = app:respguard_options
"""

OPTIONS = '''
import respguard

def respguard_options():
    """Owners are "user_id" in JSON; the requester is the X-User header the tests send."""
    return {"extractors": [respguard.JsonKeys("user_id")], "requester": lambda info: info.headers.get("x-user")}
'''

FLASK_APP = (
    OPTIONS
    + """
from flask import Flask, jsonify

app = Flask(__name__)

@app.get("/users/<uid>")
def user(uid):
    return jsonify({"user_id": uid, "name": uid.title()})
"""
)

STARLETTE_APP = (
    OPTIONS
    + """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def user(request):
    uid = request.path_params["uid"]
    return JSONResponse({"user_id": uid, "name": uid.title()})

app = Starlette(routes=[Route("/users/{uid}", user)])
"""
)

DJANGO_APP = (
    OPTIONS
    + """
from django.conf import settings

settings.configure(
    SECRET_KEY="plugin-test", ALLOWED_HOSTS=["testserver"], ROOT_URLCONF="app",
    INSTALLED_APPS=[], MIDDLEWARE=[], DATABASES={},
)
import django
django.setup()

from django.http import JsonResponse
from django.urls import path

def user(request, uid):
    return JsonResponse({"user_id": uid, "name": uid.title()})

urlpatterns = [path("users/<str:uid>", user)]
"""
)

CLIENTS = {
    "flask": (FLASK_APP, "from app import app\nclient = app.test_client()\n"),
    "starlette": (
        STARLETTE_APP,
        "from starlette.testclient import TestClient\nfrom app import app\nclient = TestClient(app)\n",
    ),
    "django": (DJANGO_APP, "import app\nfrom django.test import Client\nclient = Client()\n"),
}

SUITE = """
def test_own_page():
    response = client.get("/users/alice", headers={"X-User": "alice"})
    assert response.status_code == 200

def test_another_users_page():
    response = client.get("/users/bob", headers={"X-User": "alice"})
    assert response.status_code == 200   # the bug: alice sees bob's page, and the suite is happy

def test_no_personal_data():
    assert client.get("/users/", headers={"X-User": "alice"}).status_code == 404
"""

CLEAN = """
def test_own_page():
    assert client.get("/users/alice", headers={"X-User": "alice"}).status_code == 200

def test_own_page_again():
    assert client.get("/users/carol", headers={"X-User": "carol"}).status_code == 200
"""


def _suite(pytester: pytest.Pytester, framework: str, tests: str, ini: str = INI) -> None:
    app, client = CLIENTS[framework]
    pytester.makeini(ini)
    pytester.makepyfile(app=app, test_app=client + textwrap.dedent(tests))
    pytester.syspathinsert()


def _run(pytester: pytest.Pytester, framework: str, *args: str) -> pytest.RunResult:
    if framework == "django":  # settings.configure is once per process: its own interpreter
        return pytester.runpytest_subprocess(*args)
    return pytester.runpytest_inprocess(*args)


@pytest.mark.parametrize("framework", ["flask", "starlette", "django"])
def test_exactly_the_leaking_test_is_reported(pytester: pytest.Pytester, framework: str) -> None:
    _suite(pytester, framework, SUITE)
    result = _run(pytester, framework, "--respguard")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*respguard: a response would have been blocked*",
            "*owner_mismatch: GET /users/{id} (status 200, owners ????????????????????????????????) - "
            "response carries another owner's data*",
            "*= respguard =*",
            "respguard: 1 response(s) in 1 test(s) would have been blocked",
            "test_app.py::test_another_users_page: owner_mismatch: GET /users/{id}*",
            "FAILED test_app.py::test_another_users_page - respguard: a response would hav*",
        ]
    )
    assert "bob" not in result.stdout.str().split("= respguard =")[1]  # hashes only, never the ids


@pytest.mark.parametrize("framework", ["flask", "starlette", "django"])
def test_a_clean_suite_reports_nothing(pytester: pytest.Pytester, framework: str) -> None:
    _suite(pytester, framework, CLEAN)
    result = _run(pytester, framework, "--respguard")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["respguard: no response would have been blocked"])


def test_inactive_without_the_option(pytester: pytest.Pytester) -> None:
    _suite(pytester, "flask", SUITE)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=3)
    assert "would have been blocked" not in result.stdout.str()


def test_the_ini_option_turns_it_on(pytester: pytest.Pytester) -> None:
    _suite(pytester, "flask", SUITE, INI + "respguard = true\n")
    pytester.runpytest_inprocess().assert_outcomes(passed=2, failed=1)


def test_the_fixture_overrides_the_ini_factory(pytester: pytest.Pytester) -> None:
    _suite(pytester, "flask", SUITE, INI.replace("respguard_options = app:respguard_options\n", ""))
    pytester.makeconftest(
        """
        import pytest, respguard

        @pytest.fixture
        def respguard_options():
            return {"extractors": [respguard.JsonKeys("name")], "requester": lambda info: "Alice"}
        """
    )
    result = pytester.runpytest_inprocess("--respguard")
    result.assert_outcomes(passed=2, failed=1)  # "Bob" is foreign to "Alice", by the name key this time
    result.stdout.fnmatch_lines(["*FAILED test_app.py::test_another_users_page*"])


def test_no_options_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _suite(pytester, "flask", SUITE, "[pytest]\naddopts = -p no:cacheprovider -p no:hypothesispytest\n")
    result = pytester.runpytest_inprocess("--respguard")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*respguard: name your options in the ini option respguard_options*"])


def _doc_block(first_line: str) -> str:
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    for body in re.findall(r"```\w+\n(.*?)```", text, re.S):
        if body.startswith(first_line):
            return str(body)
    raise AssertionError(f"no block starting with {first_line!r}")


def test_the_plugin_quickstart(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest=_doc_block("# pytest.ini"))
    pytester.mkpydir("myapp")
    pytester.path.joinpath("myapp", "testing.py").write_text(_doc_block("# myapp/testing.py"))
    app, client = CLIENTS["flask"]
    pytester.makepyfile(app=app, test_app=client + textwrap.dedent(SUITE))
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "--respguard", "-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-W", "error"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "respguard: 1 response(s) in 1 test(s) would have been blocked",
            "test_app.py::test_another_users_page: owner_mismatch: GET /users/{id} (status 200, owners *) - "
            "response carries another owner's data",
            "FAILED test_app.py::test_another_users_page - respguard: a response would hav*",
        ]
    )


EXAMPLE_SUITE = '''
import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

from examples import customers, django_app, flask_app, starlette_app

APPS = {"flask": flask_app, "starlette": starlette_app, "django": django_app}


def shop_of(app):
    if hasattr(app, "extensions"):
        return app.extensions["example_shop"]
    return app.shop if hasattr(app, "shop") else app.state.shop


@pytest.fixture(params=sorted(APPS))
def make_app(request):
    return lambda bug="none": APPS[request.param].create_app(bug=bug, guard=False)  # no respguard in the app


@pytest.fixture
def shop():
    return {}


@pytest.fixture
def respguard_options(shop):
    """The example's own extractors; the requester is whoever the app's session cookie says.

    A log-in response names the customer before the session cookie exists, and these apps
    don't tell respguard who logged in: their log-in paths are exempt.
    """
    options = customers.guard_options(customers.DEMO_SECRET)
    return {
        **options,
        "requester": lambda request: shop["shop"].requester_from_session(request),
        "exempt_paths": ["/login", "/signup"],
    }


def browser(app, shop, cid):
    shop["shop"] = shop_of(app)
    client = TestClient(app) if app.__class__.__name__ == "Starlette" else Client(app)
    assert client.post("/login", json={"customer_id": cid, "password": "pw-" + cid}).status_code == 200
    return client


def test_my_page_and_my_record(make_app, shop):
    client = browser(make_app(), shop, "c0001")
    assert client.get("/api/me").status_code == 200
    assert client.get("/mypage").status_code == 200
    assert client.get("/api/newsletter/preview").status_code == 200


def test_my_card(make_app, shop):
    client = browser(make_app(), shop, "c0002")
    assert client.post("/api/customers/c0002/card", json={"card_last4": "1234"}).status_code == 200
    assert client.post("/logout").status_code == 204


def test_the_idor_nobody_noticed(make_app, shop):
    client = browser(make_app("cross-owner-write"), shop, "c0003")
    # The suite only checks that the write "worked": the response carries c0004's record.
    assert client.post("/api/customers/c0004/card", json={"card_last4": "9999"}).status_code == 200
'''


def test_the_example_apps_suites(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.replace("respguard_options = app:respguard_options\n", ""))
    pytester.makepyfile(test_examples_suite=EXAMPLE_SUITE)
    result = pytester.runpytest_inprocess("--respguard")
    result.assert_outcomes(passed=6, failed=3)
    result.stdout.fnmatch_lines(
        [
            "respguard: 3 response(s) in 3 test(s) would have been blocked",
            "test_examples_suite.py::test_the_idor_nobody_noticed[[]django[]]: owner_mismatch: "
            "POST /api/customers/{id}/card (status 200, owners *",
            "test_examples_suite.py::test_the_idor_nobody_noticed[[]flask[]]: owner_mismatch: *",
            "test_examples_suite.py::test_the_idor_nobody_noticed[[]starlette[]]: owner_mismatch: *",
        ]
    )
    assert result.stdout.str().count("FAILED test_examples_suite.py::test_the_idor_nobody_noticed") == 3
