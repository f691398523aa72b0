"""Error pages look like the app and say what happened, and never show a traceback: DEBUG is
off unless DEBUG=1 is set (tests/core/test_embedded_stack.py checks it in the running stack)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import bad_request, permission_denied, server_error

from tests.support.manage import manage


def test_debug_is_off_unless_asked_for(tmp_path):
    show = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    default = manage("shell", "-c", show, CODEXWEB_VAR_DIR=str(tmp_path))
    assert "DEBUG False" in default.stdout, default.stdout + default.stderr
    asked = manage("shell", "-c", show, CODEXWEB_VAR_DIR=str(tmp_path), DEBUG="1")
    assert "DEBUG True" in asked.stdout, asked.stdout + asked.stderr


@pytest.mark.django_db
def test_a_missing_page_is_the_apps_own(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()
    assert "css/app.css" in response.content.decode()


def test_a_server_error_page_needs_no_context_and_looks_like_the_app():
    # Django renders 500.html with no request context: no user, no database.
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "css/app.css" in page


def test_refused_and_bad_requests_have_pages_too():
    request = RequestFactory().get("/")
    assert "You may not do this" in permission_denied(request, Exception()).content.decode()
    assert "could not understand this request" in bad_request(request, Exception()).content.decode()
