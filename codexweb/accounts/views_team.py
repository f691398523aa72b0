"""Team pages: members and roles, invitations, named domain lists.

Everyone in the team sees the members; only admins change anything (others get 404 for those
URLs, like any page that isn't theirs). Destructive actions ask for confirmation first.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from codexweb.accounts.confirm import confirm_page, confirm_then_do
from codexweb.accounts.current import (
    current_admin_team,
    current_admin_team_row,
    current_team,
    current_team_set,
)
from codexweb.accounts.forms_team import DomainListForm, InviteForm, RoleForm
from codexweb.accounts.http import AuthedRequest
from codexweb.accounts.invites import (
    InviteError,
    invite_accept,
    invite_by_token,
    invite_create,
    invite_is_open,
    invite_revoke,
    invites_for_user,
    open_invites,
)
from codexweb.accounts.models import DomainList, Invite, Membership, Team
from codexweb.accounts.selectors import is_team_admin
from codexweb.accounts.team_services import (
    TeamError,
    domain_list_delete,
    domain_list_save,
    membership_remove,
    membership_role_change,
)
from repos.domains import DomainError


def _team(request: AuthedRequest) -> Team:
    team = current_team(request)
    if team is None:
        raise Http404("You belong to no team.")
    return team


def team_members(request: AuthedRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:  # someone who belongs to no team may still have invitations
        return render(
            request, "accounts/team_members.html", {"my_invites": invites_for_user(request.user)}
        )
    is_admin = is_team_admin(request.user, team)
    members = team.memberships.select_related("user").order_by("user__username")
    context = {
        "team": team,
        "members": members,
        "is_admin": is_admin,
        "invites": open_invites(team) if is_admin else [],
        "invite_form": InviteForm() if is_admin else None,
        "my_invites": invites_for_user(request.user),
        "roles": Membership.Role.choices,
        "admin_count": sum(1 for m in members if m.is_admin),
    }
    return render(request, "accounts/team_members.html", context)


@require_POST
def invite_new(request: AuthedRequest) -> HttpResponse:
    team = current_admin_team(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            created = invite_create(team=team, actor=request.user, **form.cleaned_data)
        except InviteError as exc:
            form.add_error("invitee", str(exc))
        else:
            link = request.build_absolute_uri(
                reverse("accounts:invite_accept", args=[created.token])
            )
            return render(
                request,
                "accounts/team_invite_created.html",
                {"team": team, "invite": created.invite, "link": link},
            )
    messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("accounts:team")


@require_POST
def invite_withdraw(request: AuthedRequest, pk: int) -> HttpResponse:
    invite = current_admin_team_row(request, Invite, pk)
    try:
        invite_revoke(invite=invite, actor=request.user)
    except InviteError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Invitation withdrawn.")
    return redirect("accounts:team")


def _joined(request: AuthedRequest, invite: Invite, then: str) -> HttpResponse:
    """After accepting `invite`: its team becomes the current one, welcome, go to `then`."""
    current_team_set(request, invite.team)
    messages.success(request, f"Welcome to {invite.team.name}.")
    return redirect(then)


def _accepted(request: AuthedRequest, invite: Invite, *, then: str, back: str) -> HttpResponse:
    """Accept `invite` for the signed-in person and go to `then`; or say why not and go `back`."""
    try:
        invite_accept(invite=invite, user=request.user)
    except InviteError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return _joined(request, invite, then)


def invite_open(request: AuthedRequest, token: str) -> HttpResponse:
    """The invitation link: shows the team, and joins it on POST."""
    invite = invite_by_token(token)
    if invite is None:
        raise Http404("No such invitation.")
    if request.method == "POST":
        back = reverse("accounts:invite_accept", args=[token])
        return _accepted(request, invite, then="tasks:home", back=back)
    if invite.accepted_by_id == request.user.pk:
        # Signing in through the link already accepted it (codexweb/accounts/pipeline.py).
        return _joined(request, invite, "tasks:home")
    return render(
        request,
        "accounts/team_invite_accept.html",
        {"invite": invite, "usable": invite_is_open(invite), "token": token},
    )


@require_POST
def invite_accept_mine(request: AuthedRequest, pk: int) -> HttpResponse:
    """Accept a github/email invitation that names the signed-in person (no link needed)."""
    invite = next((i for i in invites_for_user(request.user) if i.pk == pk), None)
    if invite is None:
        raise Http404("No such invitation.")
    return _accepted(request, invite, then="accounts:team", back="accounts:team")


@require_POST
def member_role(request: AuthedRequest, pk: int) -> HttpResponse:
    membership = current_admin_team_row(request, Membership, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin or member.")
        return redirect("accounts:team")
    try:
        membership_role_change(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{membership.user.get_username()} is now {membership.get_role_display().lower()}.",
        )
    return redirect("accounts:team")


def member_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST removes. Admins remove anyone; members may leave."""
    team = _team(request)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk, team=team)
    leaving = membership.user_id == request.user.pk
    if not leaving and not is_team_admin(request.user, team):
        raise Http404("Only team admins can remove members.")
    if request.method == "POST":
        try:
            membership_remove(membership=membership, actor=request.user)
        except TeamError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:team")
        if leaving:
            messages.success(request, f"You left {team.name}.")
            return redirect("tasks:home")
        messages.success(request, f"{membership.user.get_username()} was removed from {team.name}.")
        return redirect("accounts:team")
    return confirm_page(
        request,
        title="Leave the team" if leaving else "Remove a member",
        question=(
            f"Leave {team.name}? You will lose access to its repositories and tasks."
            if leaving
            else f"Remove {membership.user.get_username()} from {team.name}? They lose access "
            "to its repositories and tasks; their tasks stay in the history."
        ),
        action=reverse("accounts:member_remove", args=[membership.pk]),
        button="Leave" if leaving else "Remove",
    )


def _domain_list_saved(
    request: AuthedRequest,
    form: DomainListForm,
    team: Team,
    domain_list: DomainList | None = None,
) -> bool:
    """Save the valid form as a new list (or into `domain_list`); False, with the reason on the
    form, when the service refuses it."""
    try:
        saved = domain_list_save(
            team=team, actor=request.user, domain_list=domain_list, **form.cleaned_data
        )
    except (TeamError, DomainError) as exc:
        form.add_error(None, str(exc))
        return False
    messages.success(request, f"Domain list {saved.name} saved.")
    return True


def domain_lists(request: AuthedRequest) -> HttpResponse:
    team = _team(request)
    is_admin = is_team_admin(request.user, team)
    form = DomainListForm(request.POST or None)
    if request.method == "POST":
        if not is_admin:
            raise Http404("Only team admins can change domain lists.")
        if form.is_valid() and _domain_list_saved(request, form, team):
            return redirect("accounts:domain_lists")
    return render(
        request,
        "accounts/team_domain_lists.html",
        {
            "team": team,
            "lists": DomainList.objects.filter(team=team),
            "form": form,
            "is_admin": is_admin,
        },
        status=400 if request.method == "POST" else 200,
    )


def domain_list_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    domain_list = current_admin_team_row(request, DomainList, pk)
    team = domain_list.team
    initial = {"name": domain_list.name, "domains": "\n".join(domain_list.domains)}
    form = DomainListForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _domain_list_saved(
        request, form, team, domain_list
    ):
        return redirect("accounts:domain_lists")
    return render(
        request,
        "accounts/team_domain_list_edit.html",
        {"team": team, "domain_list": domain_list, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def domain_list_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    domain_list = current_admin_team_row(request, DomainList, pk)

    def delete() -> str:
        domain_list_delete(domain_list=domain_list, actor=request.user)
        return f"Domain list {domain_list.name} deleted."

    used = domain_list.environments.count() + domain_list.setup_environments.count()
    in_use = f" {used} environment setting(s) use it; they stop allowing its domains."
    return confirm_then_do(
        request,
        delete,
        then="accounts:domain_lists",
        title="Delete a domain list",
        question=f"Delete the domain list {domain_list.name}?{in_use if used else ''}",
        action=reverse("accounts:domain_list_delete", args=[domain_list.pk]),
        button="Delete",
    )
