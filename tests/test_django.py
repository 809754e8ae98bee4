"""respguard.django: the middleware under Django's WSGI and ASGI handlers, through django.test clients.

Django is configured here, once per process (``settings.configure``), with an in-memory SQLite
database, ``django.contrib.auth`` and sessions. Each test builds its own client, so each gets a
fresh middleware chain, and with it a guard built from that test's ``RESPGUARD``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

django = pytest.importorskip("django")

from asgiref.sync import async_to_sync  # noqa: E402
from conftest import SECRET, kinds  # noqa: E402
from django.conf import settings  # noqa: E402

from respguard import AuditEvent, BlockPage, JsonBodyOwner, JsonKeys, PathOwner  # noqa: E402

BLOCK = BlockPage().body
EVENTS: list[AuditEvent] = []
WRITES: list[str] = []
try:
    import rest_framework  # noqa: F401

    HAVE_DRF = True
except ImportError:  # pragma: no cover - djangorestframework is in the dev extra
    HAVE_DRF = False


def base_options(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "extractors": [JsonKeys("user_id", "owner_id")],
        "on_event": EVENTS.append,
        "inbound": [PathOwner("/records/{owner_id}/"), JsonBodyOwner("owner_id")],
    }
    options.update(overrides)
    return options


if not settings.configured:
    settings.configure(
        SECRET_KEY=SECRET,
        DEBUG=False,
        ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],  # the example's clients and the demo's server
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "respguard.django.RespGuardConfig",
            *(["rest_framework"] if HAVE_DRF else []),
        ],
        MIDDLEWARE=[
            "respguard.django.RespGuardMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": "file:respguard-django-tests?mode=memory&cache=shared",
                "OPTIONS": {"uri": True},
            }
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast, for tests only
        USE_TZ=True,
        RESPGUARD=base_options(),
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()

from django.contrib.auth import authenticate, login, logout  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

import respguard  # noqa: E402
from respguard.django import RespGuardMiddleware, check_configuration  # noqa: E402

# --------------------------------------------------------------------------- the app's views


def me(request: Any) -> HttpResponse:
    """The buggy "My page": ``?as=<pk>`` renders someone else's record (the leak under test)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=401)
    shown = int(request.GET.get("as", request.user.pk))
    return JsonResponse({"user_id": shown, "name": User.objects.get(pk=shown).username})


def do_login(request: Any) -> HttpResponse:
    user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
    if user is None:
        return JsonResponse({"error": "bad credentials"}, status=401)
    login(request, user)
    return JsonResponse({"user_id": user.pk})


def do_logout(request: Any) -> HttpResponse:
    logout(request)
    return HttpResponse(status=204)


def write_record(request: Any, owner_id: int) -> HttpResponse:
    WRITES.append(str(owner_id))
    return JsonResponse({"owner_id": owner_id, "saved": True})


def write_json(request: Any) -> HttpResponse:
    WRITES.append("json")
    return JsonResponse({"saved": True})


def stream_lines(request: Any) -> StreamingHttpResponse:
    """JSON lines, streamed; ``?with=<pk>`` puts that user's record third."""
    owners = [request.user.pk, request.user.pk, int(request.GET.get("with", request.user.pk))]

    def lines() -> Iterator[bytes]:
        for owner in owners:
            yield json.dumps({"owner_id": owner}).encode() + b"\n"

    return StreamingHttpResponse(lines(), content_type="application/x-ndjson")


def streamed_document(request: Any) -> StreamingHttpResponse:
    """A JSON document in pieces (held whole, then decided)."""
    owner = int(request.GET.get("as", request.user.pk))
    body = json.dumps({"user_id": owner, "padding": "x" * 100}).encode()
    response = StreamingHttpResponse(body[i : i + 16] for i in range(0, len(body), 16))
    response["Content-Type"] = "application/json"
    return response


def file_view(request: Any) -> FileResponse:
    owner = int(request.GET.get("as", request.user.pk))
    return FileResponse(io.BytesIO(json.dumps({"user_id": owner}).encode()), content_type="application/json")


async def async_me(request: Any) -> HttpResponse:
    from asgiref.sync import sync_to_async

    user = await sync_to_async(lambda: request.user._wrapped if request.user.is_authenticated else request.user)()
    if not user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=401)
    shown = int(request.GET.get("as", user.pk))
    return JsonResponse({"user_id": shown})


CLOSED: list[str] = []


class ClosingChunks:
    """A streamed JSON document whose ``close()`` is recorded (the app's resource)."""

    def __init__(self, owner: int) -> None:
        self.chunks = iter([b'{"user_id": ', str(owner).encode(), b"}"])

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        CLOSED.append("closed")


class FailingChunks(ClosingChunks):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"user_id": '
        raise OSError("the disk went away")


def closing_stream(request: Any) -> StreamingHttpResponse:
    owner = int(request.GET.get("as", request.user.pk))
    chunks = FailingChunks(owner) if request.GET.get("fail") else ClosingChunks(owner)
    return StreamingHttpResponse(chunks, content_type="application/json")


async def async_stream(request: Any) -> StreamingHttpResponse:
    """An async iterator: a JSON document in pieces, or (``?lines=1``) JSON lines."""
    from asgiref.sync import sync_to_async

    me = await sync_to_async(lambda: request.user.pk)()
    other = int(request.GET.get("as", me))

    async def document() -> Any:
        for piece in (b'{"user_id": ', str(other).encode(), b"}"):
            yield piece

    async def lines() -> Any:
        for owner in (me, other):
            yield json.dumps({"owner_id": owner}).encode() + b"\n"

    if request.GET.get("lines"):
        return StreamingHttpResponse(lines(), content_type="application/x-ndjson")
    return StreamingHttpResponse(document(), content_type="application/json")


def told(request: Any) -> HttpResponse:
    """The view tells respguard itself (an app without django.contrib.auth's login)."""
    respguard.set_requester(request, request.GET["me"])
    return JsonResponse({"user_id": request.GET["shown"]})


urlpatterns = [
    path("me/", me),
    path("login/", do_login),
    path("logout/", do_logout),
    path("records/<int:owner_id>/", write_record),
    path("json-write/", write_json),
    path("lines/", stream_lines),
    path("doc/", streamed_document),
    path("file/", file_view),
    path("async-me/", async_me),
    path("told/", told),
    path("closing/", closing_stream),
    path("async-stream/", async_stream),
]

if HAVE_DRF:
    from rest_framework.response import Response as DRFResponse
    from rest_framework.views import APIView

    class DRFMe(APIView):
        def get(self, request: Any) -> DRFResponse:
            shown = int(request.query_params.get("as", request.user.pk))
            return DRFResponse({"user_id": shown})

    class DRFRecord(APIView):
        def post(self, request: Any, owner_id: int) -> DRFResponse:
            WRITES.append(f"drf {owner_id}")
            return DRFResponse({"owner_id": owner_id, "saved": True})

    urlpatterns.append(path("drf/me/", DRFMe.as_view()))
    urlpatterns.append(path("drf/records/<int:owner_id>/", DRFRecord.as_view()))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def users() -> dict[str, Any]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    alice = User.objects.filter(username="alice").first() or User.objects.create_user("alice", password="pw-a")
    bob = User.objects.filter(username="bob").first() or User.objects.create_user("bob", password="pw-b")
    return {"alice": alice, "bob": bob}


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    EVENTS.clear()
    WRITES.clear()
    yield
    EVENTS.clear()


def logged_in(name: str, password: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": name, "password": password})
    assert response.status_code == 200
    return client


def hashed(pk: int) -> str:
    from respguard import Guard

    return Guard(secret_key=SECRET, extractors=[JsonKeys("x")]).hasher(str(pk))


def assert_blocked(response: Any, kind: str = "owner_mismatch") -> None:
    assert response.status_code == 403
    assert response.content == BLOCK
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Length"] == str(len(BLOCK))
    assert response["Cache-Control"] == "private, no-store"
    assert (kind, "blocked") in kinds(EVENTS)


# --------------------------------------------------------------------------- reads


def test_own_page_passes_and_binds_the_browser(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    response = client.get("/me/")
    assert response.status_code == 200
    assert response.json() == {"user_id": users["alice"].pk, "name": "alice"}
    assert response["Cache-Control"] == "private, no-store"
    assert "respguard_bind" in client.cookies and client.cookies["respguard_bind"].value
    assert EVENTS == []


def test_another_users_page_is_blocked_with_the_exact_event(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    client.get("/me/")
    response = client.get(f"/me/?as={users['bob'].pk}")
    assert_blocked(response)
    assert kinds(EVENTS) == [("owner_mismatch", "blocked")]
    event = EVENTS[0]
    assert (event.method, event.path, event.status) == ("GET", "/me/", 200)
    assert event.owners == (hashed(users["bob"].pk),)
    assert event.requester == hashed(users["alice"].pk)
    assert "sessionid" not in response.cookies  # none of the app's own headers or cookies survive


def test_anonymous_personal_data_is_blocked(users: dict[str, Any]) -> None:
    response = Client().get(f"/told/?me=&shown={users['bob'].pk}")
    assert_blocked(response, "anonymous_personal_data")


def test_set_requester_in_the_view_wins(users: dict[str, Any]) -> None:
    assert Client().get("/told/?me=7&shown=7").status_code == 200
    assert_blocked(Client().get("/told/?me=7&shown=8"))


def test_streamed_document_is_held_and_decided(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    own = client.get("/doc/")
    assert own.status_code == 200 and json.loads(b"".join(own.streaming_content))["user_id"] == users["alice"].pk
    assert_blocked(client.get(f"/doc/?as={users['bob'].pk}"))


def test_json_lines_stream_is_cut_before_the_foreign_line(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    alice, bob = users["alice"].pk, users["bob"].pk
    response = client.get(f"/lines/?with={bob}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (json.dumps({"owner_id": alice}).encode() + b"\n") * 2
    assert kinds(EVENTS) == [("owner_mismatch", "blocked")]


def test_file_response_is_scanned(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    own = client.get("/file/")
    assert own.status_code == 200
    assert b"".join(own.streaming_content) == json.dumps({"user_id": users["alice"].pk}).encode()
    assert_blocked(client.get(f"/file/?as={users['bob'].pk}"))


def test_a_blocked_stream_is_still_closed(users: dict[str, Any]) -> None:
    CLOSED.clear()
    client = logged_in("alice", "pw-a")
    response = client.get(f"/closing/?as={users['bob'].pk}")
    assert_blocked(response)
    assert CLOSED == ["closed"]  # the app's iterator, closed with the block page that replaced it
    own = client.get("/closing/")
    assert b"".join(own.streaming_content) == b'{"user_id": %d}' % users["alice"].pk
    own.close()
    assert CLOSED == ["closed", "closed"]
    with pytest.raises(OSError, match="the disk went away"):
        client.get("/closing/?fail=1")
    assert CLOSED == ["closed", "closed", "closed"]


def test_report_mode_lets_it_through_and_reports(users: dict[str, Any]) -> None:
    with override_settings(RESPGUARD=base_options(mode="report")):
        client = logged_in("alice", "pw-a")
        response = client.get(f"/me/?as={users['bob'].pk}")
    assert response.status_code == 200
    assert kinds(EVENTS) == [("owner_mismatch", "reported")]


# --------------------------------------------------------------------------- log-in re-binding


def test_login_as_someone_else_rebinds_without_drift(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    assert client.get("/me/").status_code == 200
    assert client.post("/logout/").status_code == 204
    assert client.post("/login/", {"username": "bob", "password": "pw-b"}).status_code == 200
    response = client.get("/me/")
    assert response.status_code == 200 and response.json()["user_id"] == users["bob"].pk
    assert EVENTS == []


def test_without_the_login_signal_the_switch_is_drift(users: dict[str, Any]) -> None:
    from django.contrib.auth.signals import user_logged_in, user_logged_out

    from respguard.django import _logged_in, _logged_out

    client = logged_in("alice", "pw-a")
    assert client.get("/me/").status_code == 200
    user_logged_in.disconnect(dispatch_uid="respguard.django.rebind")
    user_logged_out.disconnect(dispatch_uid="respguard.django.unbind")
    try:
        client.post("/logout/")
        response = client.post("/login/", {"username": "bob", "password": "pw-b"})
    finally:
        user_logged_in.connect(_logged_in, dispatch_uid="respguard.django.rebind")
        user_logged_out.connect(_logged_out, dispatch_uid="respguard.django.unbind")
    assert_blocked(response, "session_drift")


# --------------------------------------------------------------------------- writes


def test_a_write_to_another_users_record_is_refused_before_the_view(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    client.get("/me/")
    response = client.post(f"/records/{users['bob'].pk}/", {"note": "hi"})
    assert_blocked(response, "cross_owner_write")
    assert WRITES == []
    assert kinds(EVENTS) == [("cross_owner_write", "blocked")]
    assert EVENTS[0].owners == (hashed(users["bob"].pk),)
    own = client.post(f"/records/{users['alice'].pk}/", {"note": "hi"})
    assert own.status_code == 200 and WRITES == [str(users["alice"].pk)]


def test_django_s_request_logger_never_logs_a_blocked_path(users: dict[str, Any], caplog: Any) -> None:
    """A block page is logged once, by respguard's audit event (the path's ids redacted): Django's
    request logger had added "Forbidden: /records/<bob's id>/" for every refused write."""
    client = logged_in("alice", "pw-a")
    client.get("/me/")
    with caplog.at_level("INFO", logger="django.request"):
        assert_blocked(client.post(f"/records/{users['bob'].pk}/", {"note": "hi"}), "cross_owner_write")
        assert_blocked(client.get(f"/me/?as={users['bob'].pk}"))
        missing = client.get("/no-such-page/")  # the app's own 404: Django logs it as ever
    assert missing.status_code == 404
    assert [record.getMessage() for record in caplog.records if record.name == "django.request"] == [
        "Not Found: /no-such-page/"
    ]
    assert [e.path for e in EVENTS if e.action.value == "blocked"] == ["/records/{id}/", "/me/"]


class SetsACookie:
    """An inner middleware that adds a cookie to every response, the block page included."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> HttpResponse:
        response = self.get_response(request)
        response.set_cookie("inner", "1")
        response["X-Inner"] = "1"
        return response


def test_a_refusal_is_exactly_the_block_page_on_its_way_out(users: dict[str, Any]) -> None:
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.SetsACookie"]):
        client = logged_in("alice", "pw-a")
        response = client.post(f"/records/{users['bob'].pk}/")
    assert_blocked(response, "cross_owner_write")
    assert "inner" not in response.cookies and not response.has_header("X-Inner")
    assert WRITES == []


@pytest.mark.parametrize(
    "body",
    [
        '{"owner_id": %(alice)d, "owner_id": %(bob)d}',  # repeated key: Python keeps the last
        '{"owner_id": true}',
        '{"owner_id": %(alice)d.5}',
        '{"owner_id": {"id": %(alice)d}}',
        '{"owner_id": [%(alice)d, {"id": %(bob)d}]}',
        '{"owner_id": %(alice)d.0}',  # Pydantic or a view may read it as the int; another may not
    ],
)
def test_ambiguous_json_owner_fails_closed(users: dict[str, Any], body: str) -> None:
    """The same value rules as every framework's write check: refused as a cross-owner write."""
    client = logged_in("alice", "pw-a")
    data = body % {"alice": users["alice"].pk, "bob": users["bob"].pk}
    response = client.post("/json-write/", data, content_type="application/json")
    assert_blocked(response, "cross_owner_write")
    assert WRITES == []


def test_malformed_json_write_is_a_scan_error(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    response = client.post("/json-write/", '{"owner_id": ', content_type="application/json")
    assert_blocked(response, "scan_error")
    assert WRITES == []


def test_json_list_holding_a_foreign_owner_is_refused(users: dict[str, Any]) -> None:
    client = logged_in("alice", "pw-a")
    data = json.dumps({"items": [{"owner_id": users["alice"].pk}, {"owner_id": str(users["bob"].pk)}]})
    assert_blocked(client.post("/json-write/", data, content_type="application/json"), "cross_owner_write")
    own = json.dumps({"owner_id": [users["alice"].pk, str(users["alice"].pk)]})
    assert client.post("/json-write/", own, content_type="application/json").status_code == 200
    assert WRITES == ["json"]


def test_form_and_query_owners_are_read_from_django_s_parse(users: dict[str, Any]) -> None:
    from respguard import FormOwner, QueryOwner

    alice, bob = str(users["alice"].pk), str(users["bob"].pk)
    with override_settings(RESPGUARD=base_options(inbound=[FormOwner("owner_id"), QueryOwner("owner_id")])):
        client = logged_in("alice", "pw-a")
        assert client.post("/json-write/", {"owner_id": alice}).status_code == 200
        assert_blocked(client.post("/json-write/", {"owner_id": bob}), "cross_owner_write")
        assert_blocked(client.post(f"/json-write/?owner_id={bob}", {"owner_id": alice}), "cross_owner_write")
        # A repeated field: request.POST["owner_id"] is the last, getlist() both: refused either way.
        assert_blocked(client.post("/json-write/", {"owner_id": [alice, bob]}), "cross_owner_write")
        assert_blocked(client.post("/json-write/", {"owner_id": [alice, alice]}), "cross_owner_write")
        multipart = client.post("/json-write/", {"owner_id": bob, "file": io.BytesIO(b"x")})  # multipart
        assert_blocked(multipart, "cross_owner_write")
    assert WRITES == ["json"]


# --------------------------------------------------------------------------- ASGI


def test_asgi_handler_blocks_and_passes(users: dict[str, Any]) -> None:
    client = AsyncClient()
    assert client.login(username="alice", password="pw-a")

    async def scenario() -> tuple[Any, Any, Any]:
        own = await client.get("/async-me/")
        sync_view = await client.get(f"/me/?as={users['bob'].pk}")
        leak = await client.get(f"/async-me/?as={users['bob'].pk}")
        return own, sync_view, leak

    own, sync_view, leak = async_to_sync(scenario)()
    assert own.status_code == 200 and own.json() == {"user_id": users["alice"].pk}
    assert_blocked(sync_view)
    assert_blocked(leak)
    # The test client keeps a cleared cookie (as "respguard_bind="): ignored, as a browser would drop it.
    assert [k for k in kinds(EVENTS) if k[1] != "ignored"] == [("owner_mismatch", "blocked")] * 2


def test_asgi_async_streams_are_read_with_async_for(users: dict[str, Any]) -> None:
    client = AsyncClient()
    assert client.login(username="alice", password="pw-a")
    alice, bob = users["alice"].pk, users["bob"].pk

    async def body(response: Any) -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    async def scenario() -> tuple[Any, bytes, Any, bytes]:
        own = await client.get("/async-stream/")
        own_body = await body(own)
        leak = await client.get(f"/async-stream/?as={bob}")
        cut = await client.get(f"/async-stream/?lines=1&as={bob}")
        return own, own_body, leak, await body(cut)

    own, own_body, leak, cut_body = async_to_sync(scenario)()
    assert own.status_code == 200 and own_body == b'{"user_id": %d}' % alice
    assert_blocked(leak)
    assert cut_body == json.dumps({"owner_id": alice}).encode() + b"\n"  # cut before bob's line
    assert [k for k in kinds(EVENTS) if k[1] != "ignored"] == [("owner_mismatch", "blocked")] * 2


def test_asgi_write_is_refused_before_the_view(users: dict[str, Any]) -> None:
    client = AsyncClient()
    assert client.login(username="alice", password="pw-a")

    async def scenario() -> Any:
        return await client.post(f"/records/{users['bob'].pk}/", {"note": "x"})

    assert_blocked(async_to_sync(scenario)(), "cross_owner_write")
    assert WRITES == []


def test_middleware_is_sync_and_async_capable() -> None:
    assert RespGuardMiddleware.sync_capable and RespGuardMiddleware.async_capable

    async def get_response(request: Any) -> HttpResponse:
        return HttpResponse()

    from asgiref.sync import iscoroutinefunction

    assert iscoroutinefunction(RespGuardMiddleware(get_response))
    assert not iscoroutinefunction(RespGuardMiddleware(lambda request: HttpResponse()))


# --------------------------------------------------------------------------- DRF


@pytest.mark.skipif(not HAVE_DRF, reason="djangorestframework is not installed")
def test_drf_view_authenticated_inside_the_view(users: dict[str, Any]) -> None:
    client = Client()
    auth = {"HTTP_AUTHORIZATION": "Basic " + __import__("base64").b64encode(b"alice:pw-a").decode()}
    own = client.get("/drf/me/", **auth)
    assert own.status_code == 200 and own.json() == {"user_id": users["alice"].pk}
    assert_blocked(client.get(f"/drf/me/?as={users['bob'].pk}", **auth))


@pytest.mark.skipif(not HAVE_DRF, reason="djangorestframework is not installed")
def test_drf_write_is_checked_with_the_views_own_authentication(users: dict[str, Any]) -> None:
    import base64

    alice, bob = users["alice"].pk, users["bob"].pk
    with override_settings(RESPGUARD=base_options(inbound=[PathOwner("/drf/records/{owner_id}/")])):
        client = Client()  # no session, no binding cookie: only the Basic credentials say who this is
        auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:pw-a").decode()}
        assert_blocked(client.post(f"/drf/records/{bob}/", **auth), "cross_owner_write")
        assert WRITES == []
        own = Client().post(f"/drf/records/{alice}/", **auth)
        assert own.status_code == 200 and own.json() == {"owner_id": alice, "saved": True}
        wrong = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:nope").decode()}
        assert_blocked(Client().post(f"/drf/records/{alice}/", **wrong), "cross_owner_write")  # nobody
    assert WRITES == [f"drf {alice}"]


# --------------------------------------------------------------------------- configuration


def test_options_are_validated_like_guard() -> None:
    with override_settings(RESPGUARD=base_options(mode="loud")):
        with pytest.raises(ValueError, match="^mode must be 'enforce' or 'report', not 'loud'$"):
            RespGuardMiddleware(lambda request: HttpResponse())
    with override_settings(RESPGUARD={**base_options(), "colour": 1}):
        with pytest.raises(ValueError, match=r"unknown option\(s\) \['colour'\]"):
            RespGuardMiddleware(lambda request: HttpResponse())


def test_secret_key_defaults_to_django_secret_key() -> None:
    middleware = RespGuardMiddleware(lambda request: HttpResponse())
    assert middleware.guard.hasher("x") == hashed_text("x")


def hashed_text(text: str) -> str:
    from respguard import Guard

    return Guard(secret_key=SECRET, extractors=[JsonKeys("x")]).hasher(text)


def test_system_checks() -> None:
    assert check_configuration() == []
    with override_settings(RESPGUARD=base_options(max_body_bytes=0)):
        assert [(m.id, m.msg) for m in check_configuration()] == [
            ("respguard.E001", "settings.RESPGUARD: max_body_bytes must be a positive int")
        ]
    with override_settings(MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"]):
        assert [m.id for m in check_configuration()] == ["respguard.W001"]
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]):
        assert [m.id for m in check_configuration()] == ["respguard.W002"]
    from django.core import checks

    assert [m.id for m in checks.run_checks(tags=["respguard"])] == []


# --------------------------------------------------------------------------- the example shop on Django


def _shop_client(app: Any) -> Any:
    from werkzeug.test import Client as WerkzeugClient

    return WerkzeugClient(app)


@pytest.mark.parametrize("guard", [False, True])
def test_example_shared_state_leaks_without_the_guard_and_is_blocked_with_it(guard: bool) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from examples import django_app

    app = django_app.create_app(bug="shared-state", guard=guard)
    browsers = [_shop_client(app), _shop_client(app)]
    for browser, cid in zip(browsers, ("c0001", "c0002"), strict=True):
        assert browser.post("/login", json={"customer_id": cid, "password": "pw-" + cid}).status_code == 200
    barrier = threading.Barrier(2)
    app.shop.io = lambda: barrier.wait(5)  # both requests load their customer before either renders
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda b: b.get("/api/me"), browsers))
    bodies = sorted((r.status_code, r.get_data()) for r in replies)
    second = json.dumps(__import__("examples.customers").customers.make_record(2)).encode()
    if guard:
        assert bodies == [(200, second), (403, BLOCK)]  # c0001 was about to get c0002's record
    else:
        assert bodies == [(200, second), (200, second)]  # the leak


def test_example_cross_owner_write_is_refused_before_the_view() -> None:
    from examples import django_app

    app = django_app.create_app(bug="cross-owner-write")
    attacker = _shop_client(app)
    attacker.post("/login", json={"customer_id": "c0001", "password": "pw-c0001"})
    before = app.shop.records["c0002"]["card_last4"]
    reply = attacker.post("/api/customers/c0002/card", json={"card_last4": "0000"})
    assert (reply.status_code, reply.get_data()) == (403, BLOCK)
    assert app.shop.records["c0002"]["card_last4"] == before and app.shop.card_writes["c0002"] == 0
    own = attacker.post("/api/customers/c0001/card", json={"card_last4": "4321"})
    assert own.status_code == 200 and own.get_json() == {"customer_id": "c0001", "card_last4": "4321"}


def test_example_login_logout_and_pages() -> None:
    from examples import customers, django_app

    app = django_app.create_app()
    browser = _shop_client(app)
    assert browser.get("/api/me").status_code == 401
    assert browser.post("/login", json={"customer_id": "c0003", "password": "nope"}).status_code == 401
    assert browser.post("/login", json={"customer_id": "c0003", "password": "pw-c0003"}).status_code == 200
    assert browser.get("/mypage").get_data() == customers.render_mypage(customers.make_record(3)).encode()
    assert browser.post("/logout").status_code == 204
    assert browser.post("/login", json={"customer_id": "c0004", "password": "pw-c0004"}).status_code == 200
    assert browser.get("/api/me").get_json() == customers.make_record(4)  # re-bound, no drift
    assert browser.get("/healthz").get_data() == b"ok"


def test_the_demo_runs_the_django_example(capsys: pytest.CaptureFixture[str]) -> None:
    from respguard.__main__ import main as cli_main

    status = cli_main(["demo", "--browsers", "6", "--rounds", "2", "--think-ms", "0", "--app", "django"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0, out
    assert [line.split()[:3] for line in out[3:5]] == [["django", "off", "24"], ["django", "on", "24"]]
    assert out[-1].startswith("OK: without the guard ")


# --------------------------------------------------------------------------- the README quickstart


def doc_block(first_line: str) -> str:
    """The code block of README.md whose first line is ``first_line``."""
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    for body in re.findall(r"```\w+\n(.*?)```", text, re.S):
        if body.startswith(first_line):
            return str(body)
    raise AssertionError(f"no block starting with {first_line!r}")


def test_the_django_quickstart(users: dict[str, Any]) -> None:
    import sys
    import types

    project: dict[str, Any] = {}
    exec(doc_block("# settings.py"), project)
    views: dict[str, Any] = {"__name__": "quickstart_views"}
    exec(doc_block("# views.py"), views)
    assert set(project["INSTALLED_APPS"]) <= set(settings.INSTALLED_APPS)
    urls = types.ModuleType("respguard_quickstart_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("login/", do_login),
        path("me/", views["me"]),
        path("records/<int:owner_id>/", views["save_record"]),
    ]
    sys.modules[urls.__name__] = urls
    options = {**project["RESPGUARD"], "on_event": EVENTS.append}
    try:
        with override_settings(ROOT_URLCONF=urls.__name__, MIDDLEWARE=project["MIDDLEWARE"], RESPGUARD=options):
            assert check_configuration() == []
            client = logged_in("alice", "pw-a")
            alice, bob = users["alice"].pk, users["bob"].pk
            assert client.get("/me/").json() == {"user_id": alice, "name": "alice"}
            assert_blocked(client.post(f"/records/{bob}/"), "cross_owner_write")
            assert client.post(f"/records/{alice}/").json() == {"owner_id": alice, "saved": True}
    finally:
        del sys.modules[urls.__name__]
    assert kinds(EVENTS) == [("cross_owner_write", "blocked")]
