"""Settings → API tokens: create (the token is shown once) and revoke personal tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.http import AuthedRequest
from codexweb.api.models import ApiToken
from codexweb.api.tokens import TokenError, api_token_create, api_token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="Where you will use it, e.g. 'laptop CLI' or 'CI'.",
    )


def token_list(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = api_token_create(user=request.user, name=form.cleaned_data["name"])
        except TokenError as exc:
            form.add_error("name", str(exc))
        else:
            form = TokenForm()
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.filter(user=request.user),
            "created": created,
            "server_url": request.build_absolute_uri("/").rstrip("/"),
        },
        status=400 if request.method == "POST" and created is None else 200,
    )
    # The page that shows a new token must not be cached anywhere.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked; it no longer works.")
    return redirect("api_tokens:list")
